"""CASIA-FASD reader: `{train,test}_release/<subject>/<code>.avi`, 12 video codes per subject."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from metafas.datasets.records import (
    LIVE,
    Attack,
    DatasetReader,
    Parsed,
    ScanContext,
    VideoRecord,
    canonical_path,
    make_record,
    split_name,
    tail,
)

# Subject numbering restarts in each release, so the subject id keeps the release folder.
RELEASES = {"train_release": ("train", 20), "test_release": ("test", 30)}
WARPED = Attack("warped", "print")  # warped printed photo
CUT = Attack("cut", "print")  # printed photo with the eyes cut out
VIDEO = Attack("video", "replay")  # video shown on a tablet
# code: (attack, quality); qualities follow bob.db.casia_fasd (odd codes normal, even low).
VIDEO_CODES = {
    "1": (LIVE, "normal"),
    "2": (LIVE, "low"),
    "HR_1": (LIVE, "high"),
    "3": (WARPED, "normal"),
    "4": (WARPED, "low"),
    "HR_2": (WARPED, "high"),
    "5": (CUT, "normal"),
    "6": (CUT, "low"),
    "HR_3": (CUT, "high"),
    "7": (VIDEO, "normal"),
    "8": (VIDEO, "low"),
    "HR_4": (VIDEO, "high"),
}
VIDEO_EXT = ".avi"
SUBJECT = re.compile(r"[1-9]\d*")


def parse(rel: PurePosixPath, ctx: ScanContext) -> Parsed | None:
    """Recognise one CASIA-FASD video; None for any other file."""
    parts = tail(rel, 3)
    code, ext = split_name(rel)
    if parts is None or parts[0] not in RELEASES or code not in VIDEO_CODES or ext != VIDEO_EXT:
        return None
    release, subject = parts[:2]
    if not SUBJECT.fullmatch(subject):
        return None
    split = RELEASES[release][0]
    record = make_record(
        ctx,
        rel,
        dataset="casia_fasd",
        split=split,
        subject=f"{release}/{subject}",
        video_id=f"casia_fasd/{split}/{subject}/{code}",
        attack=VIDEO_CODES[code][0],
    )
    return Parsed(canonical_path(parts[:2], code, ext), record)


def expected(ctx: ScanContext) -> set[str]:
    """The 600 official names: every subject of each release has all 12 video codes."""
    return {
        f"{release}/{subject}/{code}{VIDEO_EXT}"
        for release, (_, n_subjects) in RELEASES.items()
        for subject in range(1, n_subjects + 1)
        for code in VIDEO_CODES
    }


def casia_quality(record: VideoRecord) -> str:
    """The image quality (`normal`, `low` or `high`) of a CASIA-FASD record, for its protocols."""
    if record.dataset != "casia_fasd":
        raise ValueError(f"casia_quality needs a casia_fasd record, got {record.dataset!r}")
    return VIDEO_CODES[record.video_id.rsplit("/", 1)[-1]][1]


READER = DatasetReader(
    name="casia_fasd",
    title="CASIA-FASD",
    layout="train_release/ and test_release/ holding <subject>/<code>.avi videos",
    parse=parse,
    expected=expected,
)
