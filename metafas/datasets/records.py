"""Types shared by the database readers: what a scan finds and what a reader must provide."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

SPLITS = ("train", "dev", "test")


class Attack(NamedTuple):
    """An attack type: the database's own name and its family (`none`, `print` or `replay`)."""

    name: str
    family: str


LIVE = Attack("none", "none")


@dataclass(frozen=True)
class VideoRecord:
    """One PAD video (or, for image databases, one group of frames) of a database.

    `label` is 1 for live and 0 for spoof. `path` is the video file, or the first frame for
    image databases, whose ordered frames are in `frames`. `domain` defaults to the dataset.
    """

    path: Path
    dataset: str
    split: str
    subject: str
    video_id: str
    label: int
    attack: str
    attack_family: str
    frames: tuple[Path, ...] = ()
    session: str | None = None
    domain: str = ""

    def __post_init__(self) -> None:
        if not self.domain:
            object.__setattr__(self, "domain", self.dataset)


@dataclass
class ScanResult:
    """What a scan of one database copy found.

    `missing` holds the official-layout relative paths that the official lists promise but the
    copy lacks; `ignored` the first unrelated files found (capped; all are counted in `n_ignored`,
    and per reason in `ignored_reasons`); `unreadable` (relative path, reason) of the folders
    and list files that could not be read, so their videos are unknown; `notes` one-line remarks
    such as excluded non-PAD files or fallbacks taken.
    """

    dataset: str
    root: Path
    records: list[VideoRecord]
    missing: list[str]
    ignored: list[str]
    n_ignored: int = 0
    notes: list[str] = field(default_factory=list)
    ignored_reasons: dict[str, int] = field(default_factory=dict)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ScanContext:
    """What a path parser may consult besides the path: the root and the official lists.

    `lists` maps the key of each official list file found (for example
    `train_sub_list.txt`) to its non-empty, stripped lines. `notes` collects remarks.
    """

    root: Path
    lists: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)

    def path(self, rel: PurePosixPath) -> Path:
        """The absolute path of a file given relative to the root."""
        return self.root.joinpath(*rel.parts)


@dataclass(frozen=True)
class Parsed:
    """What a path parser learned from one file of the database.

    `canonical` is the file's path in the official layout (wrapper folders dropped, extension
    lower case). `excluded` names why a database file is not PAD data (e.g. enrolment video).
    A non-empty `frame_key` marks an image frame: frames sharing a video id form one record,
    ordered by this key.
    """

    canonical: str
    record: VideoRecord
    excluded: str = ""
    frame_key: tuple = ()


def _nothing_expected(ctx: ScanContext) -> set[str]:
    return set()


@dataclass(frozen=True)
class DatasetReader:
    """One database: how to recognise its files and which files its official lists promise.

    Attributes:
        name: registry key, also `VideoRecord.dataset`.
        title: the database's usual name.
        layout: one line telling a user what the root folder must hold.
        parse: path parser; returns None for a file that is not one of the database's videos.
        expected: official-layout relative paths the copy should hold (may add notes).
        list_files: regex matched at the end of each relative path; group 1 is the key of an
            official list file that is read before parsing and is not reported as ignored.
        ignore_reason: why `parse` returned None for a file, a short phrase shared by all
            files ignored for that reason (counted in the summaries); default: unrelated to
            the layout.
    """

    name: str
    title: str
    layout: str
    parse: Callable[[PurePosixPath, ScanContext], Parsed | None]
    expected: Callable[[ScanContext], set[str]] = _nothing_expected
    list_files: str | None = None
    ignore_reason: Callable[[PurePosixPath], str] | None = None

    def why_ignored(self, rel: PurePosixPath) -> str:
        """The reason a file that `parse` did not recognise is ignored."""
        return self.ignore_reason(rel) if self.ignore_reason else f"not in the {self.title} layout"


def printable(name: str) -> str:
    """A file name as text that can be printed and written as UTF-8: the bytes of a name that
    is not valid UTF-8 (which Python holds as surrogate escapes) appear as `\\xNN`."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no file name decodes to
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def split_name(rel: PurePosixPath) -> tuple[str, str]:
    """The file's stem and its lower-case extension (with the dot)."""
    suffix = rel.suffix
    return rel.name[: len(rel.name) - len(suffix)], suffix.lower()


def tail(rel: PurePosixPath, n: int) -> tuple[str, ...] | None:
    """The last `n` parts of a relative path, or None if it is shorter."""
    return tuple(rel.parts[-n:]) if len(rel.parts) >= n else None


def canonical_path(folders: tuple[str, ...], stem: str, ext: str) -> str:
    """An official-layout relative path from its folders, stem and extension."""
    return "/".join((*folders, stem + ext))


def make_record(
    ctx: ScanContext,
    rel: PurePosixPath,
    *,
    dataset: str,
    split: str,
    subject: str,
    video_id: str,
    attack: Attack,
    session: str | None = None,
    domain: str = "",
) -> VideoRecord:
    """A record for file `rel`; the label follows from the attack (`LIVE` is 1, else 0)."""
    return VideoRecord(
        path=ctx.path(rel),
        dataset=dataset,
        split=split,
        subject=subject,
        video_id=video_id,
        label=int(attack == LIVE),
        attack=attack.name,
        attack_family=attack.family,
        session=session,
        domain=domain,
    )
