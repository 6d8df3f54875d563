"""The work one uploaded video may cost the service: frames and seconds of decoding, checked by
a decoding pass that converts nothing, before a predictor (and its face detector) is used.

A video of one keyframe and 640,000 tiny P-frames is 9 MiB and takes 16 s to decode; with a
budget it is refused after `max_frames` frames or `max_seconds` seconds, whichever comes first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import av

from metafas.media.video import check_frame_size, open_video


class OverBudget(Exception):
    """A video needs more work than one request may take; the message says which budget."""


def check_video_work(
    path: str | os.PathLike[str], max_pixels: int, max_frames: int, max_seconds: float
) -> int:
    """Decode every frame of `path` once and return how many there are.

    Packets count as frames (undecodable ones too), so a flood of broken packets is bounded
    as well. Damage is left to the decoding that follows, which reports it.

    Raises:
        OverBudget: more than `max_frames` frames or packets, or more than `max_seconds`
            seconds of opening, demuxing and decoding.
        InputError: not a readable video, or a frame over `max_pixels` or
            `metafas.media.MAX_SIDE` (from the header, then per decoded frame).
    """
    path = Path(path)
    deadline = time.monotonic() + max_seconds
    frames = packets = 0
    with open_video(path, max_pixels) as (container, stream):
        for packet in _packets(container, stream):
            packets += packet.size > 0
            for frame in _decoded(packet):
                check_frame_size(path, frame.width, frame.height, max_pixels)
                frames += 1
            if max(frames, packets) > max_frames:
                raise OverBudget(f"video too long: more than {max_frames} frames per request")
            if time.monotonic() > deadline:
                raise OverBudget(
                    f"video too slow to decode: over {max_seconds:g} s per request "
                    f"(after {frames} frames)"
                )
    return frames


def _packets(container: av.container.InputContainer, stream: av.VideoStream) -> Iterator:
    """The stream's packets, ending quietly where demuxing fails."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except Exception:  # StopIteration included
            return
        yield packet


def _decoded(packet: av.Packet) -> list[av.VideoFrame]:
    try:
        return packet.decode()
    except Exception:
        return []
