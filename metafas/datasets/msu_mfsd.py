"""MSU-MFSD reader: `scene01/{real,attack}/*` videos, split by the release's subject lists.

The split comes from `train_sub_list.txt` and `test_sub_list.txt` in the root when present,
else from the same official lists embedded below (public 35-subject release).
"""

from __future__ import annotations

import re
from functools import lru_cache
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

SUBJECTS = {
    "train": (2, 3, 5, 6, 7, 8, 9, 11, 12, 21, 22, 34, 53, 54, 55),
    "test": (1, 13, 14, 23, 24, 26, 28, 29, 30, 32, 33, 35, 36, 37, 39, 42, 48, 49, 50, 51),
}
OFFICIAL_SPLITS = {subject: split for split, subjects in SUBJECTS.items() for subject in subjects}
SUBJECT_LISTS = {"train": "train_sub_list.txt", "test": "test_sub_list.txt"}
CAMERA_EXTS = {"android": ".mp4", "laptop": ".mov"}  # the camera that filmed the access
ATTACKS = {
    "printed_photo": Attack("printed_photo", "print"),
    "ipad_video": Attack("ipad_video", "replay"),
    "iphone_video": Attack("iphone_video", "replay"),
}
SCENE = "scene01"
NAME = re.compile(
    r"(?P<kind>real|attack)_client(?P<client>\d{3})_(?P<camera>android|laptop)_SD"
    r"(?:_(?P<attack>printed_photo|ipad_video|iphone_video))?_scene01"
)


@lru_cache(maxsize=8)
def _subject_splits(train_lines: tuple[str, ...], test_lines: tuple[str, ...]) -> dict[int, str]:
    """Subject number -> split from the lines of the two lists (ids like `02`)."""
    splits = {}
    for split, lines in (("train", train_lines), ("test", test_lines)):
        for line in lines:
            if number := re.search(r"\d+", line):
                splits[int(number.group())] = split
    return splits


def subject_splits(ctx: ScanContext) -> dict[int, str]:
    """The split of every subject: the root's lists if both are there, else the embedded ones."""
    lines = [tuple(ctx.lists.get(name, ())) for name in SUBJECT_LISTS.values()]
    return _subject_splits(*lines) if all(lines) else OFFICIAL_SPLITS


def parse(rel: PurePosixPath, ctx: ScanContext) -> Parsed | None:
    """Recognise one MSU-MFSD video; None for any other file or a subject in no list."""
    parts = tail(rel, 3)
    stem, ext = split_name(rel)
    match = NAME.fullmatch(stem)
    if parts is None or parts[0] != SCENE or match is None or parts[1] != match["kind"]:
        return None
    split = subject_splits(ctx).get(int(match["client"]))
    live = match["kind"] == "real"
    if ext not in CAMERA_EXTS.values() or split is None or live != (match["attack"] is None):
        return None
    record = make_record(
        ctx,
        rel,
        dataset="msu_mfsd",
        split=split,
        subject=f"client{match['client']}",
        video_id=f"msu_mfsd/{stem}",
        attack=LIVE if live else ATTACKS[match["attack"]],
    )
    return Parsed(canonical_path(parts[:2], stem, ext), record)


def expected(ctx: ScanContext) -> set[str]:
    """The 280 official names; notes whether the root's subject lists were used."""
    found = [name for name in SUBJECT_LISTS.values() if name in ctx.lists]
    if len(found) < len(SUBJECT_LISTS):
        ctx.notes.append(
            "train_sub_list.txt/test_sub_list.txt not both in the root: "
            "split taken from the embedded official subject lists"
        )
    elif subject_splits(ctx) != OFFICIAL_SPLITS:
        ctx.notes.append("the root's subject lists differ from the official ones: using them")
    kinds = [("real", "")] + [("attack", f"_{name}") for name in ATTACKS]
    return {
        f"{SCENE}/{kind}/{kind}_client{subject:03d}_{camera}_SD{attack}_{SCENE}{ext}"
        for subjects in SUBJECTS.values()
        for subject in subjects
        for camera, ext in CAMERA_EXTS.items()
        for kind, attack in kinds
    }


READER = DatasetReader(
    name="msu_mfsd",
    title="MSU-MFSD",
    layout="scene01/real/ and scene01/attack/ videos, train_sub_list.txt and test_sub_list.txt",
    parse=parse,
    expected=expected,
    list_files=r"((?:train|test)_sub_list\.txt)",
)
