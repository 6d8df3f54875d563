"""Open and decode one video stream with PyAV, in decode order, tolerating damage."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from metafas.media.errors import InputError, describe, wrapped_errors
from metafas.media.formats import VIDEO_DEMUXERS, is_video
from metafas.media.limits import check_dimensions
from metafas.media.orientation import upright

logger = logging.getLogger(__name__)

ATTACHED_PIC = av.stream.Disposition.attached_pic
OPEN_OPTIONS = {"format_whitelist": ",".join(VIDEO_DEMUXERS), "protocol_whitelist": "file"}


@dataclass
class DecodeReport:
    """What happened while decoding: frames out, packets skipped, why demuxing stopped."""

    decoded: int = 0
    skipped_packets: int = 0
    stopped_by: str | None = None


@contextmanager
def open_video(
    path: Path, max_pixels: int
) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    """Open `path` and pick its first real video stream (cover art does not count)."""
    container = _open_container(path)
    with container:
        stream = video_stream(path, container)
        check_frame_size(path, stream.width, stream.height, max_pixels)
        yield container, stream


def _open_container(path: Path) -> av.container.InputContainer:
    """av.open with errors mapped to a reason that says what the file looked like."""
    try:
        return av.open(str(path), mode="r", options=OPEN_OPTIONS, metadata_errors="replace")
    except Exception as exc:
        if is_video(path):
            # FFmpeg answers EINVAL when the content matches no demuxer on our whitelist.
            detail = "unsupported container" if isinstance(exc, av.ArgumentError) else describe(exc)
            raise InputError(path, f"corrupt or unreadable video: {detail}") from exc
        kind = path.suffix.lower() or "no extension"
        raise InputError(
            path, f"unsupported format: {kind} (neither an image nor a supported video container)"
        ) from exc


def video_stream(path: Path, container: av.container.InputContainer) -> av.VideoStream:
    """The first video stream that is not cover art, or InputError naming what is there."""
    for stream in container.streams.video:
        if stream.disposition & ATTACHED_PIC:
            continue
        if stream.codec_context is None:
            raise InputError(path, "unknown or unsupported video codec (no decoder)")
        return stream
    kinds = sorted({"cover art" if s.type == "video" else s.type for s in container.streams})
    found = f"found: {', '.join(kinds)}" if kinds else "the file has no streams"
    raise InputError(path, f"no video stream ({found})")


def check_frame_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    """Refuse frames with a side over MAX_SIDE or more than max_pixels pixels: from the
    stream's header before decoding, and per frame before converting it."""
    check_dimensions(path, "video frame", width, height, max_pixels)


def decode(
    path: Path, container: av.container.InputContainer, stream: av.VideoStream, report: DecodeReport
) -> Iterator[av.VideoFrame]:
    """Yield frames in decode order; skip undecodable packets and stop where demuxing fails.

    Counts go into `report`; call `finish` after the loop to turn them into a warning or error.
    """
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except Exception as exc:
            report.stopped_by = describe(exc)
            return
        try:
            frames = packet.decode()
        except Exception:
            report.skipped_packets += 1
            continue
        for frame in frames:
            report.decoded += 1
            yield frame


def finish(path: Path, report: DecodeReport, header_frames: int) -> None:
    """After a full pass: InputError if nothing decoded, a warning if the file looks damaged."""
    if report.decoded == 0:
        damage = report.stopped_by or (
            f"{report.skipped_packets} undecodable packets" if report.skipped_packets else None
        )
        raise InputError(path, f"no frames decoded ({damage})" if damage else "zero-frame video")
    problems = []
    if report.stopped_by:
        problems.append(f"reading stopped: {report.stopped_by}")
    if report.skipped_packets:
        problems.append(f"{report.skipped_packets} undecodable packets skipped")
    if 0 < report.decoded < header_frames:
        problems.append(f"header lists {header_frames} frames")
    if problems:
        logger.warning(
            "%s: decoded %d frames; file damaged or truncated? (%s)",
            path, report.decoded, "; ".join(problems),
        )  # fmt: skip


def frame_to_rgb(
    path: Path, frame: av.VideoFrame, stream: av.VideoStream, max_pixels: int
) -> np.ndarray:
    """Convert one decoded frame to upright uint8 RGB (H, W, 3)."""
    check_frame_size(path, frame.width, frame.height, max_pixels)
    with wrapped_errors(path, "cannot convert video frame to RGB"):
        rgb = frame.to_ndarray(format="rgb24")
    return upright(rgb, frame, stream.metadata)


def count_packets(path: Path, max_pixels: int) -> int:
    """Number of non-empty packets of the video stream: a cheap demux-only frame count."""
    with open_video(path, max_pixels) as (container, stream):
        count = 0
        try:
            for packet in container.demux(stream):
                count += packet.size > 0
        except Exception as exc:
            logger.debug("%s: packet count stopped early: %s", path, describe(exc))
        return count
