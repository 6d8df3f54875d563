"""Cheap facts about a video: size, frame rate, frame count (maybe estimated), rotation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av

from metafas.media.errors import check_file
from metafas.media.image import image_header, looks_like_image
from metafas.media.orientation import display_matrix, tag_rotation
from metafas.media.video import DecodeReport, decode, open_video

# Counter-clockwise degrees for EXIF orientations; 2, 4, 5 and 7 also mirror.
EXIF_ROTATION = {3: 180, 4: 180, 5: -90, 6: -90, 7: 90, 8: 90}


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its first video stream.

    Attributes:
        frames: frame count from the header, else round(duration * fps), else 0.
        frames_estimated: True unless `frames` came from the header. Headers can still be
            wrong (damaged files, AVI); `read_frames` never relies on them for indexing.
        fps: average frame rate, or None when unknown. Variable-rate videos report the mean.
        width, height: coded size in pixels, before rotation.
        duration: seconds, or None when unknown.
        rotation: counter-clockwise degrees that make the first frame upright (PyAV's
            `VideoFrame.rotation` sign; a phone portrait video is usually -90), 0 without
            rotation metadata, None if no frame could be decoded to tell.
        codec: FFmpeg codec name, e.g. "h264".
    """

    frames: int
    frames_estimated: bool
    fps: float | None
    width: int
    height: int
    duration: float | None
    rotation: int | None
    codec: str

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) of the frames `read_frames` yields."""
        quarter_turn = self.rotation is not None and abs(self.rotation) % 180 == 90
        return (self.height, self.width) if quarter_turn else (self.width, self.height)


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read the header of a video (and decode at most one frame, for its rotation).

    An image (detected by content) is described as the 1-frame video `read_frames` makes of
    it, with its EXIF orientation as `rotation` (from the header: any size is described).

    Raises:
        InputError: missing, empty, unreadable, neither image nor video, no video stream, or
            frames with a side over `metafas.media.limits.MAX_SIDE` (its first frame would be
            decoded for the rotation).
    """
    path = check_file(path)
    if looks_like_image(path):
        return _probe_image(path)
    with open_video(path, max_pixels=2**62) as (container, stream):
        fps = _fps(stream)
        duration = _duration(container, stream)
        frames, estimated = _frame_count(stream, fps, duration)
        return VideoInfo(
            frames=frames,
            frames_estimated=estimated,
            fps=fps,
            width=stream.width,
            height=stream.height,
            duration=duration,
            rotation=_first_frame_rotation(path, container, stream),
            codec=stream.codec_context.name,
        )


def _probe_image(path: Path) -> VideoInfo:
    image_format, (width, height), orientation = image_header(path)
    return VideoInfo(
        frames=1,
        frames_estimated=False,
        fps=None,
        width=width,
        height=height,
        duration=None,
        rotation=EXIF_ROTATION.get(orientation, 0),
        codec=image_format.lower(),
    )


def _fps(stream: av.VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _frame_count(
    stream: av.VideoStream, fps: float | None, duration: float | None
) -> tuple[int, bool]:
    if stream.frames > 0:
        return stream.frames, False
    if fps and duration:
        return round(duration * fps), True
    return 0, True


def _first_frame_rotation(
    path: os.PathLike[str], container: av.container.InputContainer, stream: av.VideoStream
) -> int | None:
    """Rotation of the first decodable frame, from its display matrix or the legacy tag."""
    frame = next(decode(path, container, stream, DecodeReport()), None)
    if frame is None:
        return None
    if display_matrix(frame) is not None:
        return int(frame.rotation)
    return tag_rotation(stream.metadata)
