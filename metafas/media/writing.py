"""Write small videos from arrays: for tests and simulated data, not for archival quality."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    fps: int = 10,
    codec: str = "libx264",
    timestamps_ms: Sequence[int] | None = None,
    rotation: int = 0,
    mirror: bool = False,
    codec_options: dict[str, str] | None = None,
) -> Path:
    """Encode uint8 RGB frames (H, W, 3), H and W even, into a video file.

    Args:
        path: output file; the extension picks the container (.mp4, .mkv, .webm, .avi, ...).
        frames: the frames, all of one size.
        fps: nominal frame rate.
        codec: FFmpeg encoder name.
        timestamps_ms: optional presentation time of each frame in milliseconds, increasing;
            irregular values make a variable-frame-rate video.
        rotation: counter-clockwise display rotation stored in the container (mp4/mov).
        mirror: also store a horizontal mirror, applied after the rotation.
        codec_options: encoder options, e.g. {"g": "1"} for intra-only video.
    """
    path = Path(path)
    options = {"movflags": "faststart"} if path.suffix.lower() in (".mp4", ".mov") else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream(codec, rate=fps, options=codec_options or {})
        stream.pix_fmt = "yuv420p"
        if timestamps_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for index, rgb in enumerate(frames):
            if index == 0:
                stream.height, stream.width = rgb.shape[:2]
                if rotation or mirror:
                    stream.set_display_rotation(rotation, hflip=mirror)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if timestamps_ms is not None:
                frame.pts, frame.time_base = timestamps_ms[index], Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
