"""The prepared-data store: one format for simulated and real data.

Layout of a store directory:
    store.json            format version and what wrote it
    manifest.csv          one row per frame (MANIFEST_FIELDS); written last, atomically
    parts/<video>.csv     the rows of one finished video (lets an interrupted writer resume)
    images/<video>/<frame>.png, depth/<video>/<frame>.png   8-bit RGB crops, 8-bit depth maps
A directory without manifest.csv is an unfinished store and is refused by `read_store`.
"""

import csv
import hashlib
import io
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from PIL import Image

from metafas.data.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


class StoreError(ValueError):
    """A store directory is missing, unfinished or inconsistent."""


@dataclass(frozen=True)
class FrameRecord:
    """One frame of the manifest. label: 1 = live, 0 = spoof; depth is "" for spoofs."""

    domain: str
    split: str
    subject: str
    video_id: str
    frame: int
    label: int
    attack: str
    image: str
    depth: str


MANIFEST_FIELDS = tuple(f.name for f in fields(FrameRecord))


@dataclass(frozen=True)
class VideoMeta:
    domain: str
    split: str
    subject: str
    video_id: str
    label: int
    attack: str


# A plain part: ASCII letters, digits, '.', '-' and single inner '_', not starting with '.'.
PLAIN_PART = re.compile(r"(?!\.)[A-Za-z0-9.-]+(?:_[A-Za-z0-9.-]+)*")
MAX_PART = 100  # characters of a name kept; file systems allow 255 bytes
HASH_CHARS = 12  # hex digits of SHA-256 that tell two sanitised names apart


def video_dir(video_id: str) -> str:
    """The store's relative directory for a video id: safe (no absolute paths, no '..') and
    one per id, so no two videos ever share files.

    An id whose '/'-separated parts are all plain keeps its path. Any other id (other
    characters such as spaces or non-ASCII letters, '__', parts that are empty, start with '.'
    or are very long) gets sanitised parts, and its last part a '~' and a hash of the whole
    id: `folder/a b.jpg` -> `folder/a_b.jpg~3f2a...`. A plain part never holds '~', so the
    naming cannot collide, and the flat names of part files ('/' as '__') stay distinct. The
    id itself, in the manifest, is what names the video; this is only where its files are.
    """
    parts = video_id.split("/")
    if not video_id.strip("/"):
        raise StoreError(f"empty video id {video_id!r}")
    if all(PLAIN_PART.fullmatch(p) and len(p) <= MAX_PART for p in parts):
        return video_id
    safe = [re.sub(r"[^A-Za-z0-9.-]+", "_", p).lstrip(".")[:MAX_PART] or "_" for p in parts]
    digest = hashlib.sha256(video_id.encode("utf-8", "surrogatepass")).hexdigest()
    safe[-1] += "~" + digest[:HASH_CHARS]
    return "/".join(safe)


def flat_name(video_id: str) -> str:
    """The video's directory as one file name ('/' as '__'), for per-video files."""
    return video_dir(video_id).replace("/", "__")


def encode_png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def rows_to_csv(rows: Sequence[FrameRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    return buffer.getvalue()


def csv_to_rows(text: str, source: Path) -> list[FrameRecord]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != MANIFEST_FIELDS:
        raise StoreError(f"{source}: columns {reader.fieldnames} differ from {MANIFEST_FIELDS}")
    rows = []
    for row in reader:
        try:
            rows.append(
                FrameRecord(**{**row, "frame": int(row["frame"]), "label": int(row["label"])})
            )
        except (TypeError, ValueError) as error:
            raise StoreError(
                f"{source}, line {reader.line_num}: not a manifest row ({error}); the file is "
                "damaged: rerun the command that wrote the store"
            ) from None
    return rows


def read_csv(path: Path) -> list[FrameRecord]:
    """The rows of a manifest or part file (read as bytes: names may hold any character)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise StoreError(f"{path}: not UTF-8 text ({error}); the file is damaged") from None
    return csv_to_rows(text, path)


class StoreWriter:
    """Writes videos into a store; resumable: finished videos are kept and can be skipped."""

    def __init__(self, root: Path, info: dict | None = None):
        self.root = Path(root)
        self.info = {"format_version": FORMAT_VERSION, **(info or {})}
        (self.root / "parts").mkdir(parents=True, exist_ok=True)

    def part_path(self, video_id: str) -> Path:
        return self.root / "parts" / (flat_name(video_id) + ".csv")

    def has_video(self, video_id: str) -> bool:
        return self.part_path(video_id).exists()

    def add_video(
        self,
        meta: VideoMeta,
        frames: Sequence[tuple[int, np.ndarray]],
        depths: Sequence[np.ndarray | None],
    ) -> list[FrameRecord]:
        """Write the frames (uint8 RGB) and depth maps (float in [0, 1] or None) of one video."""
        rows = []
        for (index, image), depth in zip(frames, depths, strict=True):
            name = f"{video_dir(meta.video_id)}/{index:06d}.png"
            atomic_write_bytes(self.root / "images" / name, encode_png(image))
            depth_name = ""
            if depth is not None:
                depth_name = f"depth/{name}"
                depth_u8 = np.clip(np.rint(depth * 255), 0, 255).astype(np.uint8)
                atomic_write_bytes(self.root / depth_name, encode_png(depth_u8))
            fields_ = {k: v for k, v in asdict(meta).items()}
            rows.append(
                FrameRecord(**fields_, frame=index, image=f"images/{name}", depth=depth_name)
            )
        atomic_write_text(self.part_path(meta.video_id), rows_to_csv(rows))
        return rows

    def finish(self) -> Path:
        """Join the finished videos into manifest.csv (atomically) and write store.json.

        A part file whose rows belong to a video named otherwise (written by an older naming
        of `video_dir`) is left out with a warning; that video is prepared again under its
        own name.
        """
        rows = []
        for part in sorted((self.root / "parts").glob("*.csv")):
            found = read_csv(part)
            stale = [r.video_id for r in found if self.part_path(r.video_id) != part]
            if stale:
                log.warning(
                    "%s: holds frames of %r, stored elsewhere now; left out", part, stale[0]
                )
                continue
            rows.extend(found)
        atomic_write_json(self.root / "store.json", self.info)
        return atomic_write_text(self.root / "manifest.csv", rows_to_csv(rows))


@dataclass
class Store:
    root: Path
    info: dict
    frames: list[FrameRecord]

    @property
    def domains(self) -> list[str]:
        return sorted({f.domain for f in self.frames})

    def select(self, domain: str, splits: Sequence[str]) -> list[FrameRecord]:
        return [f for f in self.frames if f.domain == domain and f.split in splits]


def read_store(root: Path) -> Store:
    """Open a finished store; refuses a missing or unfinished one with the reason."""
    root = Path(root)
    manifest = root / "manifest.csv"
    if not root.is_dir():
        raise StoreError(f"no prepared-data store at {root}")
    if not manifest.exists():
        raise StoreError(
            f"{root} is an unfinished store (no manifest.csv); rerun the command that wrote it"
        )
    info = read_info(root)
    version = info.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise StoreError(f"{root}: store format {version!r} is not {FORMAT_VERSION} or older")
    frames = read_csv(manifest)
    check_files(root, frames)
    return Store(root, info, frames)


def read_info(root: Path) -> dict:
    """The store's store.json ({} when there is none); StoreError naming it when damaged."""
    path = Path(root) / "store.json"
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_bytes())
    except ValueError as error:
        raise StoreError(f"{path}: not valid JSON ({error}); the file is damaged") from None
    if not isinstance(info, dict):
        raise StoreError(f"{path}: expected a JSON object, got {type(info).__name__}")
    return info


def check_files(root: Path, frames: Sequence[FrameRecord]) -> None:
    """Every image and depth file of the manifest lies inside the store and exists."""
    paths = [p for f in frames for p in (f.image, f.depth) if p]
    outside = [p for p in paths if Path(p).is_absolute() or ".." in Path(p).parts]
    if outside:
        raise StoreError(f"{root}/manifest.csv points outside the store: {outside[:3]}")
    missing = [p for p in paths if not (root / p).is_file()]
    if missing:
        raise StoreError(
            f"{root}/manifest.csv lists {len(missing)} missing file(s), e.g. {missing[:3]}; "
            "rerun the command that wrote the store"
        )
