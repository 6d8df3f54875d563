"""`read_frames`: sampled, upright RGB frames from a video, or from an image as a 1-frame video.

`count` sampling needs the number of frames before the first one is picked. Headers can be
missing (Matroska/WebM) or wrong (damaged files, AVI), so we take the header count when there is
one, else count packets in a demux-only pass (no decoding, so cheap). We then decode once,
keeping only the picked frames (memory: `count` frames), and compare the number of frames
actually decoded with the expected one. Only if they differ (truncation, hidden codec frames)
do we decode a second time with the true count, so the picks are always exactly the segment
centres of the frames that decode.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from metafas.media.errors import check_file
from metafas.media.formats import is_image
from metafas.media.image import DEFAULT_MAX_PIXELS, looks_like_image, read_image
from metafas.media.sampling import FrameSampling, evenly_spaced
from metafas.media.video import (
    DecodeReport,
    count_packets,
    decode,
    finish,
    frame_to_rgb,
    open_video,
)

logger = logging.getLogger(__name__)

Frames = Iterator[tuple[int, np.ndarray]]


def read_frames(
    path: str | os.PathLike[str],
    sampling: FrameSampling,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Frames:
    """Yield (frame index, uint8 RGB (H, W, 3)) for the sampled frames, in increasing index.

    The content decides: anything Pillow recognises as an image is a 1-frame video (index 0),
    whatever its name; other files go to FFmpeg, except those with an image extension, which
    fail as "not an image". Video frames are rotated upright from the container's
    display matrix. A truncated video yields the frames that decode and logs a warning.

    Raises:
        InputError: (on first iteration) unreadable, empty, too large, or no frames decoded.
    """
    path = check_file(path)
    if looks_like_image(path) or is_image(path):
        yield from _image_frames(path, sampling, max_pixels)
    elif sampling.count is not None:
        yield from _counted_frames(path, sampling.count, max_pixels)
    else:
        yield from _streamed_frames(path, sampling, max_pixels)


def _image_frames(path: Path, sampling: FrameSampling, max_pixels: int) -> Frames:
    """An image is frame 0 of a 1-frame video."""
    if sampling.indices is not None and 0 not in sampling.indices:
        _warn_beyond_end(path, sampling.indices, total=1)
        return
    yield 0, read_image(path, max_pixels)


def _streamed_frames(path: Path, sampling: FrameSampling, max_pixels: int) -> Frames:
    """`every` and `indices`: one decoding pass, converting only the picked frames."""
    wanted = frozenset(sampling.indices or ())
    last_wanted = max(wanted, default=None)
    report = DecodeReport()
    with open_video(path, max_pixels) as (container, stream):
        for index, frame in enumerate(decode(path, container, stream, report)):
            if index in wanted or (sampling.every and index % sampling.every == 0):
                yield index, frame_to_rgb(path, frame, stream, max_pixels)
            if index == last_wanted:
                return
        finish(path, report, stream.frames)
    if sampling.indices is not None:
        _warn_beyond_end(path, sampling.indices, total=report.decoded)


def _counted_frames(path: Path, count: int, max_pixels: int) -> Frames:
    """`count`: picks from the expected total, re-decoded once if the total was off."""
    expected = _expected_total(path, max_pixels)
    picked, decoded = _decode_picks(path, evenly_spaced(expected, count), max_pixels, True)
    if decoded != expected:
        logger.info("%s: %d frames decode, %d expected; re-picking", path, decoded, expected)
        picked, _ = _decode_picks(path, evenly_spaced(decoded, count), max_pixels, False)
    if decoded < count:
        logger.info("%s: only %d frames, fewer than the %d requested", path, decoded, count)
    yield from picked


def _expected_total(path: Path, max_pixels: int) -> int:
    """The header's frame count, else a demux-only packet count."""
    with open_video(path, max_pixels) as (_, stream):
        header_frames = stream.frames
    return header_frames if header_frames > 0 else count_packets(path, max_pixels)


def _decode_picks(
    path: Path, picks: tuple[int, ...], max_pixels: int, report_damage: bool
) -> tuple[list[tuple[int, np.ndarray]], int]:
    """Decode the whole video, converting the frames at `picks`; return them and the total."""
    wanted = frozenset(picks)
    picked = []
    report = DecodeReport()
    with open_video(path, max_pixels) as (container, stream):
        for index, frame in enumerate(decode(path, container, stream, report)):
            if index in wanted:
                picked.append((index, frame_to_rgb(path, frame, stream, max_pixels)))
        if report_damage:
            finish(path, report, stream.frames)
    return picked, report.decoded


def _warn_beyond_end(path: Path, indices: tuple[int, ...], total: int) -> None:
    missing = [index for index in indices if index >= total]
    if missing:
        logger.warning(
            "%s: has %d frames; skipped indices beyond the end: %s", path, total, missing
        )
