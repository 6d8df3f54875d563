"""NUAA Photograph Imposter reader: `{ClientRaw,ImposterRaw}/<subject>/*.jpg` image frames.

Files are named `<subject>_<glasses>_<pos>_<session>_<picNo>.jpg`. The frames of one subject,
session and class form one "video" (neighbouring frames are near duplicates, so they must never
be split apart). Split follows the official lists' rule: sessions 1-2 train, session 3 test.
The four `*_raw.txt` lists, when present, give the files the copy should hold.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from metafas.datasets.records import (
    LIVE,
    Attack,
    DatasetReader,
    Parsed,
    ScanContext,
    canonical_path,
    make_record,
    split_name,
    tail,
)

# class folder -> (attack, label word used in video ids)
CLASS_FOLDERS = {
    "ClientRaw": (LIVE, "live"),
    "ImposterRaw": (Attack("printed_photo", "print"), "spoof"),
}
# official list file -> class folder its lines are relative to
LIST_FILES = {
    "client_train_raw.txt": "ClientRaw",
    "client_test_raw.txt": "ClientRaw",
    "imposter_train_raw.txt": "ImposterRaw",
    "imposter_test_raw.txt": "ImposterRaw",
}
SESSION_SPLITS = {1: "train", 2: "train", 3: "test"}
IMAGE_EXT = ".jpg"
NAME = re.compile(
    r"(?P<subject>\d{4})_(?P<glasses>\d\d)_(?P<pos>\d\d)_(?P<session>\d\d)_(?P<pic>\d+)"
)


def parse(rel: PurePosixPath, ctx: ScanContext) -> Parsed | None:
    """Recognise one NUAA raw frame; None for any other file."""
    parts = tail(rel, 3)
    stem, ext = split_name(rel)
    match = NAME.fullmatch(stem)
    if parts is None or parts[0] not in CLASS_FOLDERS or ext != IMAGE_EXT or match is None:
        return None
    session = int(match["session"])
    if parts[1] != match["subject"] or session not in SESSION_SPLITS:
        return None
    attack, label_word = CLASS_FOLDERS[parts[0]]
    record = make_record(
        ctx,
        rel,
        dataset="nuaa",
        split=SESSION_SPLITS[session],
        subject=match["subject"],
        video_id=f"nuaa/{label_word}/{match['subject']}/session{session}",
        attack=attack,
        session=str(session),
    )
    frame_key = (match["glasses"], match["pos"], int(match["pic"]))
    return Parsed(canonical_path(parts[:2], stem, ext), record, frame_key=frame_key)


def expected(ctx: ScanContext) -> set[str]:
    """The frames named in the official lists found in the root (lines may use `\\`)."""
    names = {
        f"{folder}/{line.replace(chr(92), '/')}"
        for list_name, folder in LIST_FILES.items()
        for line in ctx.lists.get(list_name, ())
    }
    absent = [name for name in LIST_FILES if name not in ctx.lists]
    if absent:
        ctx.notes.append(
            f"official lists absent ({', '.join(absent)}): their files are not checked for absence"
        )
    return names


READER = DatasetReader(
    name="nuaa",
    title="NUAA Photograph Imposter",
    layout="ClientRaw/ and ImposterRaw/ holding <subject>/<subject>_*_*_<session>_*.jpg frames",
    parse=parse,
    expected=expected,
    list_files=r"((?:client|imposter)_(?:train|test)_raw\.txt)",
)
