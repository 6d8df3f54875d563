"""The prepared-data store: one format for simulated and real data.

Layout of a store directory:
    store.json            format version and what wrote it
    manifest.csv          one row per frame (MANIFEST_FIELDS); written last, atomically
    parts/<video>.csv     the rows of one finished video (lets an interrupted writer resume)
    images/<video>/<frame>.png, depth/<video>/<frame>.png   8-bit RGB crops, 8-bit depth maps
A directory without manifest.csv is an unfinished store and is refused by `read_store`.
"""

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from PIL import Image

from metafas.data.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text

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


def video_dir(video_id: str) -> str:
    """A safe relative directory for a video id (no absolute paths, no '..')."""
    parts = [re.sub(r"[^A-Za-z0-9._-]", "_", p) for p in video_id.split("/") if p]
    parts = ["_" + p if set(p) <= {"."} else p for p in parts]
    if not parts:
        raise StoreError(f"empty video id {video_id!r}")
    return "/".join(parts)


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
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != MANIFEST_FIELDS:
        raise StoreError(f"{source}: columns {reader.fieldnames} differ from {MANIFEST_FIELDS}")
    return [
        FrameRecord(**{**row, "frame": int(row["frame"]), "label": int(row["label"])})
        for row in reader
    ]


class StoreWriter:
    """Writes videos into a store; resumable: finished videos are kept and can be skipped."""

    def __init__(self, root: Path, info: dict | None = None):
        self.root = Path(root)
        self.info = {"format_version": FORMAT_VERSION, **(info or {})}
        (self.root / "parts").mkdir(parents=True, exist_ok=True)

    def part_path(self, video_id: str) -> Path:
        return self.root / "parts" / (video_dir(video_id).replace("/", "__") + ".csv")

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
        """Join the finished videos into manifest.csv (atomically) and write store.json."""
        rows = []
        for part in sorted((self.root / "parts").glob("*.csv")):
            rows.extend(csv_to_rows(part.read_text(), part))
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
    info = json.loads((root / "store.json").read_text()) if (root / "store.json").exists() else {}
    if info.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        raise StoreError(
            f"{root}: store format {info['format_version']} is newer than {FORMAT_VERSION}"
        )
    frames = csv_to_rows(manifest.read_text(), manifest)
    check_files(root, frames)
    return Store(root, info, frames)


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
