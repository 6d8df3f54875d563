"""One video through preparation: decode sampled frames, crop the face, render depth for live
frames, write the video to the store. Unreadable input is reported, never raised."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metafas.data.store import StoreWriter
from metafas.datasets import VideoRecord
from metafas.faces import CropSettings, NoFaceError, crop_face
from metafas.media import FrameSampling, InputError, read_frames, read_image
from metafas.media.sampling import evenly_spaced
from metafas.prepare.domains import video_meta
from metafas.prepare.report import VideoReport, write_report
from metafas.prepare.settings import FaceTools

DAMAGE_LOGGER = "metafas.media.video"
"""The logger on which decoding warns that a video is damaged or truncated (frames kept)."""


@dataclass(frozen=True)
class Job:
    """What every video of a run shares; sent once to each worker process."""

    out: Path
    sampling: FrameSampling
    crop: CropSettings
    tools: FaceTools


def frame_picks(total: int, sampling: FrameSampling) -> tuple[int, ...]:
    """Indices of the frames to keep among `total` image frames (same rules as for videos)."""
    if sampling.count is not None:
        return evenly_spaced(total, sampling.count)
    if sampling.every is not None:
        return tuple(range(0, total, sampling.every))
    return tuple(i for i in sampling.indices or () if i < total)


def sampled_frames(
    record: VideoRecord, sampling: FrameSampling, failures: list[tuple[str, str]]
) -> Iterator[tuple[int, np.ndarray]]:
    """(index, uint8 RGB) of the sampled frames. Unreadable image frames are appended to
    `failures` and skipped; an unreadable video raises InputError."""
    if not record.frames:
        yield from read_frames(record.path, sampling)
        return
    for index in frame_picks(len(record.frames), sampling):
        try:
            image = read_image(record.frames[index])
        except InputError as err:
            failures.append((str(err.path), err.reason))
            continue
        yield index, image


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def damage_warnings() -> Iterator[list[str]]:
    """Collect the decoder's damage warnings (a truncated video still yields its frames)."""
    handler = _Collect()
    logger = logging.getLogger(DAMAGE_LOGGER)
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


class VideoWorker:
    """Prepares videos one at a time with its own detector (one per process)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.detector = job.tools.build_detector(job.crop.min_score)
        self.writer = StoreWriter(job.out)

    def __call__(self, record: VideoRecord) -> VideoReport:
        """Prepare one video; its report is written before the video's files are committed."""
        started = time.perf_counter()
        meta = video_meta(record)
        report = VideoReport(record.video_id, record.dataset, meta.domain, str(record.path))
        frames, depths = self.crop_all(record, report)
        report.seconds = time.perf_counter() - started
        if report.sampled == 0 and report.failures:
            report.status = "failed"
            write_report(self.job.out, report)
            return report
        write_report(self.job.out, report)
        self.writer.add_video(meta, frames, depths)
        return report

    def crop_all(self, record: VideoRecord, report: VideoReport) -> tuple[list, list]:
        """Crops (index, image) and depth maps of the frames with a usable face."""
        frames: list[tuple[int, np.ndarray]] = []
        depths: list[np.ndarray | None] = []
        tools = self.job.tools
        depth = tools.depth if record.label == 1 else tools.spoof_check
        with damage_warnings() as damage:
            try:
                for index, image in sampled_frames(record, self.job.sampling, report.failures):
                    report.sampled += 1
                    try:
                        crop = crop_face(image, self.detector, self.job.crop, depth)
                    except (NoFaceError, ValueError) as err:
                        report.skipped.append((index, getattr(err, "reason", str(err))))
                        continue
                    frames.append((index, crop.image))
                    depths.append(crop.depth)
                    if not crop.has_mesh:
                        report.no_mesh.append(index)
            except InputError as err:
                report.failures.append((str(err.path), err.reason))
        prefix = f"{record.path}: "
        report.failures += [
            (str(record.path), "damaged: " + m.removeprefix(prefix)) for m in damage
        ]
        report.kept = len(frames)
        return frames, depths


_WORKER: dict[str, VideoWorker] = {}


def init_worker(job: Job) -> None:
    """Process-pool initializer: build this process's detector once."""
    _WORKER["worker"] = VideoWorker(job)


def prepare_in_worker(record: VideoRecord) -> VideoReport:
    return _WORKER["worker"](record)
