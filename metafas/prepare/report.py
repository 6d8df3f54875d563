"""What preparation did: one report per video (kept in the store), the store-wide lists of
failed inputs and skipped frames, and the summary of a run."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path

from metafas.data.atomic import atomic_write_json, atomic_write_text
from metafas.data.store import flat_name
from metafas.datasets import ScanResult
from metafas.datasets.records import printable
from metafas.datasets.report import format_reasons

logger = logging.getLogger(__name__)

REPORTS_DIR = "prepare/videos"
FAILURES_FILE = "failures.jsonl"
SKIPPED_FILE = "skipped_frames.jsonl"
EXIT_SOME_FAILED = 3
"""Exit status of `metafas prepare` when some inputs could not be read (the rest is stored)."""
SHOWN_FAILURES = 5  # unreadable files named in the summary; all are in failures.jsonl
SHOWN_FOLDERS = 20  # unreadable folders named in the summary


@dataclass
class VideoReport:
    """One video's preparation.

    Attributes:
        status: "done" (its frames are in the store, possibly none) or "failed" (unreadable:
            nothing stored; a rerun tries again).
        sampled: frames decoded; kept: frames with a usable face, stored.
        skipped: (frame index, reason) of frames without a usable face.
        failures: (file, reason) of unreadable inputs: the video, image frames of an image
            sequence, or a damaged video whose decodable frames were kept.
        no_mesh: indices of kept frames whose face had no face mesh (cropped from the
            detector's box; a live one has the box template as its depth map).
    """

    video_id: str
    dataset: str
    domain: str
    path: str
    status: str = "done"
    sampled: int = 0
    kept: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    no_mesh: list[int] = field(default_factory=list)


def report_path(out: Path, video_id: str) -> Path:
    return Path(out) / REPORTS_DIR / (flat_name(video_id) + ".json")


def write_report(out: Path, report: VideoReport) -> None:
    atomic_write_json(report_path(out, report.video_id), asdict(report))


def read_reports(out: Path) -> list[VideoReport]:
    """The store's video reports. A damaged one, or one filed under an older naming of the
    video's files (that video is prepared again), is left out with a warning."""
    reports = []
    for path in sorted((Path(out) / REPORTS_DIR).glob("*.json")):
        try:
            data = json.loads(path.read_bytes())
            data["skipped"] = [tuple(x) for x in data["skipped"]]
            data["failures"] = [tuple(x) for x in data["failures"]]
            report = VideoReport(**data)
        except (ValueError, TypeError, KeyError) as error:
            logger.warning("%s: damaged video report, left out (%s)", path, error)
            continue
        if report_path(out, report.video_id) == path:
            reports.append(report)
    return reports


def scan_path(out: Path, dataset: str) -> Path:
    return Path(out) / "prepare" / f"scan_{dataset}.json"


def write_scan(out: Path, result: ScanResult) -> None:
    """Keep what the scan of a dataset could not read, for the store's failures listing."""
    unreadable = [
        {"path": printable(str(result.root / rel)), "reason": reason}
        for rel, reason in result.unreadable
    ]
    atomic_write_json(scan_path(out, result.dataset), {"unreadable": unreadable})


def scan_failures(out: Path) -> list[dict]:
    """Failure rows of the folders and list files the last scan of each dataset could not
    read (no video id: their videos are unknown)."""
    rows = []
    for path in sorted((Path(out) / "prepare").glob("scan_*.json")):
        dataset = path.stem.removeprefix("scan_")
        try:
            unreadable = json.loads(path.read_bytes())["unreadable"]
        except (ValueError, TypeError, KeyError) as error:
            logger.warning("%s: damaged scan record, left out (%s)", path, error)
            continue
        for item in unreadable:
            rows.append({"dataset": dataset, "video_id": "", "whole_video": True, **item})
    return rows


def reason_group(reason: str) -> str:
    """The reason without its numbers: 'low confidence 0.42 < 0.6' -> 'low confidence'."""
    words = []
    for word in reason.split():
        if re.search(r"\d", word):
            break
        words.append(word)
    return " ".join(words) or reason


def write_listings(
    out: Path, dataset: str, scanned: Collection[str], finished: Callable[[str], bool]
) -> list[dict]:
    """Write `failures.jsonl` and `skipped_frames.jsonl` for the whole store; return the
    failures of `dataset`. Reports of `dataset` videos no longer found by the scan, and of
    videos interrupted before their files were committed, are left out."""
    failures, skipped = scan_failures(out), []
    for report in read_reports(out):
        if report.dataset == dataset and report.video_id not in scanned:
            continue
        if report.status == "done" and not finished(report.video_id):
            continue
        base = {"dataset": report.dataset, "video_id": report.video_id}
        whole = report.status == "failed"
        failures += [
            {**base, "path": printable(p), "reason": r, "whole_video": whole}
            for p, r in report.failures
        ]
        skipped += [{**base, "frame": i, "reason": r} for i, r in report.skipped]
    _write_jsonl(Path(out) / FAILURES_FILE, failures)
    _write_jsonl(Path(out) / SKIPPED_FILE, skipped)
    return [f for f in failures if f["dataset"] == dataset]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))


@dataclass
class PrepareSummary:
    """One run of `prepare_dataset`: `reports` are this run's videos; `failures` all failed
    inputs of the dataset in the store (earlier runs' included), as in `failures.jsonl`."""

    dataset: str
    out: Path
    videos: int
    already_done: int
    reports: list[VideoReport]
    failures: list[dict]
    seconds: float
    workers: int
    ignored: dict[str, int] = field(default_factory=dict)

    @property
    def failed_videos(self) -> int:
        return sum(r.status == "failed" for r in self.reports)

    @property
    def frames(self) -> int:
        return sum(r.sampled for r in self.reports)

    @property
    def faces(self) -> int:
        return sum(r.kept for r in self.reports)

    @property
    def skipped(self) -> Counter[str]:
        return Counter(reason_group(reason) for r in self.reports for _, reason in r.skipped)

    @property
    def no_mesh(self) -> int:
        return sum(len(r.no_mesh) for r in self.reports)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_status(self) -> int:
        return EXIT_SOME_FAILED if self.failures else 0

    def per_domain(self) -> dict[str, tuple[int, int]]:
        """domain -> (faces kept, frames decoded) in this run."""
        counts: dict[str, tuple[int, int]] = {}
        for r in self.reports:
            kept, sampled = counts.get(r.domain, (0, 0))
            counts[r.domain] = (kept + r.kept, sampled + r.sampled)
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "videos": self.videos,
            "already_done": self.already_done,
            "prepared": len(self.reports) - self.failed_videos,
            "failed_videos": self.failed_videos,
            "frames": self.frames,
            "faces": self.faces,
            "skipped": dict(self.skipped),
            "faces_without_mesh": self.no_mesh,
            "ignored_files": self.ignored,
            "per_domain": {d: {"faces": k, "frames": s} for d, (k, s) in self.per_domain().items()},
            "failed_inputs": len(self.failures),
            "seconds": round(self.seconds, 3),
            "frames_per_second": round(self.frames_per_second, 2),
            "workers": self.workers,
        }


def format_summary(summary: PrepareSummary) -> str:
    """A few lines for the terminal."""
    s = summary
    done_now = len(s.reports) - s.failed_videos
    share = f" ({100 * s.faces / s.frames:.1f}%)" if s.frames else ""
    skipped = ", ".join(f"{reason} {n}" for reason, n in s.skipped.most_common()) or "none"
    domains = ", ".join(f"{d} {k}/{n}" for d, (k, n) in s.per_domain().items()) or "none"
    lines = [
        f"{s.dataset} -> {s.out}: {s.videos} videos: {s.already_done} already prepared, "
        f"{done_now} prepared now, {s.failed_videos} failed",
        f"frames: {s.frames} decoded, {s.faces} with a face kept{share}; skipped: {skipped}",
        f"faces kept / frames per domain: {domains}",
        f"time: {s.seconds:.1f} s, {s.frames_per_second:.1f} frames/s with {s.workers} worker(s)",
    ]
    if s.no_mesh:
        lines.append(
            f"faces without a face mesh: {s.no_mesh}, kept (cropped from the detector's box; "
            "live ones get the box depth template)"
        )
    if s.ignored:
        lines.append(f"files ignored: {sum(s.ignored.values())} ({format_reasons(s.ignored)})")
    folders = [f for f in s.failures if not f["video_id"]]
    others = [f for f in s.failures if f["video_id"]]
    if folders:
        lines.append(f"{len(folders)} folders or lists could not be read; videos there unknown:")
        lines += [f"  {f['path']}: {f['reason']}" for f in folders[:SHOWN_FOLDERS]]
        lines += ["  ..."] if len(folders) > SHOWN_FOLDERS else []
    if s.failures:
        lines.append(f"{len(s.failures)} unreadable inputs, listed in {s.out / FAILURES_FILE}")
        lines += [f"  {f['path']}: {f['reason']}" for f in others[:SHOWN_FAILURES]]
        lines += ["  ..."] if len(others) > SHOWN_FAILURES else []
    return "\n".join(printable(line) for line in lines)
