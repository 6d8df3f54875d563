"""Plain folder layout for users' own data: `<domain>/[<split>/]<live|spoof>/...` files.

Every video file is a video and every image a one-frame video: the extensions `metafas
predict` reads (`metafas.media`), images only where a decoder is installed (`.heic` needs
pillow-heif). Folder names are matched in any case (`Live/`, `TEST/`). Under `spoof/` an
optional `print/` or `replay/` folder names the attack family; otherwise it is `unknown`. The
first folder below the class (and attack) folder, if any, is the subject; else the file's stem
is. Without a split folder every video is in split `train`. Hidden files and folders (a name
starting with `.`) are ignored, as `predict` ignores them in folders.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import PurePosixPath

from metafas.datasets.records import (
    LIVE,
    Attack,
    DatasetReader,
    Parsed,
    ScanContext,
    make_record,
    printable,
    split_name,
)
from metafas.media import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, decodable_image_extensions
from metafas.media.formats import PLUGIN_HINTS

CLASS_FOLDERS = {"live": 1, "spoof": 0}
SPLIT_FOLDERS = {"train": "train", "dev": "dev", "devel": "dev", "val": "dev", "test": "test"}
ATTACK_FOLDERS = {"print": Attack("print", "print"), "replay": Attack("replay", "replay")}
UNKNOWN_ATTACK = Attack("spoof", "unknown")
DEFAULT_SPLIT = "train"
LAYOUT = "<domain>/[train|dev|test/]<live|spoof>/... images or videos"


@cache
def image_extensions() -> frozenset[str]:
    """Image extensions read here: those with a decoder installed."""
    return decodable_image_extensions()


def _locate(parts: tuple[str, ...]) -> tuple[str, int] | None:
    """(split, index of the class folder) for a path's parts, or None if not in the layout."""
    folders = [part.lower() for part in parts[:3]]
    if len(parts) >= 3 and folders[1] in CLASS_FOLDERS:
        return DEFAULT_SPLIT, 1
    if len(parts) >= 4 and folders[1] in SPLIT_FOLDERS and folders[2] in CLASS_FOLDERS:
        return SPLIT_FOLDERS[folders[1]], 2
    return None


def _hidden(rel: PurePosixPath) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def parse(rel: PurePosixPath, ctx: ScanContext) -> Parsed | None:
    """Recognise one video or image of the folder layout; None for any other file."""
    stem, ext = split_name(rel)
    located = _locate(rel.parts)
    image = ext in image_extensions()
    if located is None or not (image or ext in VIDEO_EXTENSIONS) or _hidden(rel):
        return None
    split, class_index = located
    below = rel.parts[class_index + 1 :]
    attack = LIVE
    if not CLASS_FOLDERS[rel.parts[class_index].lower()]:
        named = ATTACK_FOLDERS.get(below[0].lower()) if len(below) > 1 else None
        attack, below = (named, below[1:]) if named else (UNKNOWN_ATTACK, below)
    domain = rel.parts[0]
    canonical = str(rel.with_suffix(ext))
    record = make_record(
        ctx,
        rel,
        dataset="folder",
        split=split,
        subject=printable(f"{domain}/{below[0] if len(below) > 1 else stem}"),
        video_id=printable(f"folder/{canonical}"),
        attack=attack,
        domain=printable(domain),
    )
    if image:
        record = replace(record, frames=(record.path,))
    return Parsed(canonical, record)


def ignore_reason(rel: PurePosixPath) -> str:
    """Why `parse` ignores a file, in words shared by every file ignored for that reason."""
    ext = rel.suffix.lower()
    if _hidden(rel):
        return "hidden (a name starting with '.')"
    if ext in IMAGE_EXTENSIONS and ext not in image_extensions():
        return f"{ext} images: no decoder installed; {PLUGIN_HINTS.get(ext, 'Pillow lacks one')}"
    if ext not in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS:
        return "not an image or video extension"
    return f"outside {LAYOUT.split('/...')[0]}/"


READER = DatasetReader(
    name="folder",
    title="plain folder",
    layout=LAYOUT,
    parse=parse,
    ignore_reason=ignore_reason,
)
