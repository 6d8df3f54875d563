"""Plain folder layout for users' own data: `<domain>/[<split>/]<live|spoof>/...` files.

Every video file is a video and every image a one-frame video. Under `spoof/` an optional
`print/` or `replay/` folder names the attack family; otherwise it is `unknown`. The first
folder below the class (and attack) folder, if any, is the subject; else the file's stem is.
Without a split folder every video is in split `train`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath

from metafas.datasets.records import (
    LIVE,
    Attack,
    DatasetReader,
    Parsed,
    ScanContext,
    make_record,
    split_name,
)

CLASS_FOLDERS = {"live": 1, "spoof": 0}
SPLIT_FOLDERS = {"train": "train", "dev": "dev", "devel": "dev", "val": "dev", "test": "test"}
ATTACK_FOLDERS = {"print": Attack("print", "print"), "replay": Attack("replay", "replay")}
UNKNOWN_ATTACK = Attack("spoof", "unknown")
DEFAULT_SPLIT = "train"
VIDEO_EXTS = frozenset({".avi", ".mov", ".mp4", ".m4v", ".mkv", ".webm", ".wmv"})
IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def _locate(parts: tuple[str, ...]) -> tuple[str, int] | None:
    """(split, index of the class folder) for a path's parts, or None if not in the layout."""
    if len(parts) >= 3 and parts[1] in CLASS_FOLDERS:
        return DEFAULT_SPLIT, 1
    if len(parts) >= 4 and parts[1] in SPLIT_FOLDERS and parts[2] in CLASS_FOLDERS:
        return SPLIT_FOLDERS[parts[1]], 2
    return None


def parse(rel: PurePosixPath, ctx: ScanContext) -> Parsed | None:
    """Recognise one video or image of the folder layout; None for any other file."""
    stem, ext = split_name(rel)
    located = _locate(rel.parts)
    if located is None or ext not in VIDEO_EXTS | IMAGE_EXTS or stem.startswith("."):
        return None
    split, class_index = located
    below = rel.parts[class_index + 1 :]
    attack = LIVE
    if not CLASS_FOLDERS[rel.parts[class_index]]:
        attack = ATTACK_FOLDERS.get(below[0], UNKNOWN_ATTACK) if len(below) > 1 else UNKNOWN_ATTACK
        below = below[1:] if attack != UNKNOWN_ATTACK else below
    domain = rel.parts[0]
    canonical = str(rel.with_suffix(ext))
    record = make_record(
        ctx,
        rel,
        dataset="folder",
        split=split,
        subject=f"{domain}/{below[0] if len(below) > 1 else stem}",
        video_id=f"folder/{canonical}",
        attack=attack,
        domain=domain,
    )
    if ext in IMAGE_EXTS:
        record = replace(record, frames=(record.path,))
    return Parsed(canonical, record)


READER = DatasetReader(
    name="folder",
    title="plain folder",
    layout="<domain>/[train|dev|test/]<live|spoof>/... images or videos",
    parse=parse,
)
