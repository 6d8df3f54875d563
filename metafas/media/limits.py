"""Size limits of images and video frames, checked from the header before any decoder, OpenCV
or MediaPipe sees the pixels."""

from __future__ import annotations

import os

from metafas.media.errors import InputError

DEFAULT_MAX_PIXELS = 40_000_000
"""Default cap on width x height (callers may lower or raise it)."""

MAX_SIDE = 16_384
"""Longest side accepted, whatever the pixel cap. OpenCV, inside MediaPipe, aborts the whole
process (SIGABRT, which Python cannot catch) on an image with a side of 32767 pixels or more
(`dst.cols < SHRT_MAX`); a 32768x8 PNG is 869 bytes and 262,144 pixels. Half of that limit
leaves room for the detector's own padding and regions."""


def check_dimensions(
    path: str | os.PathLike[str], what: str, width: int, height: int, max_pixels: int
) -> None:
    """Raise InputError(path, "<what> too large: WxH pixels (...)") past either limit.

    Args:
        what: "image" or "video frame", for the message.
    """
    if max(width, height) > MAX_SIDE:
        raise InputError(
            path, f"{what} too large: {width}x{height} pixels (limit {MAX_SIDE} pixels per side)"
        )
    if width * height > max_pixels:
        raise InputError(path, f"{what} too large: {width}x{height} pixels (limit {max_pixels})")
