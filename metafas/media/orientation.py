"""Bring decoded video frames upright from the container's display matrix (phone videos).

FFmpeg exports a 3x3 display matrix (16.16 fixed point, row-vector convention) mapping a
coded pixel (x, y), y pointing down, to the displayed one: x' = a*x + c*y, y' = b*x + d*y with
a, b, c, d = m[0], m[1], m[3], m[4]. Phones store quarter turns, sometimes with a mirror. We snap
to the nearest quarter turn and apply it as a transpose plus flips, which reproduces the
`ffmpeg` command line's autorotate (transpose clock / cclock / *_flip, hflip, vflip).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import av
import numpy as np

DISPLAY_MATRIX = av.sidedata.sidedata.Type.DISPLAYMATRIX


def display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
    """The frame's 9-entry display matrix, or None when the container has none."""
    side_data = frame.side_data.get(DISPLAY_MATRIX)
    if side_data is None or len(bytes(side_data)) != 36:
        return None
    return tuple(int(value) for value in np.frombuffer(bytes(side_data), dtype="<i4"))


def apply_display_matrix(rgb: np.ndarray, matrix: Sequence[int]) -> np.ndarray:
    """Transform a coded (H, W, C) frame into its displayed orientation."""
    a, b, c, d = matrix[0], matrix[1], matrix[3], matrix[4]
    if abs(a) + abs(d) >= abs(b) + abs(c):
        out = rgb[:, ::-1] if a < 0 else rgb  # x' = a*x: mirror columns
        out = out[::-1] if d < 0 else out  # y' = d*y: mirror rows
    else:
        out = rgb.transpose(1, 0, 2)  # out[x, y] = rgb[y, x]; then y' = b*x, x' = c*y
        out = out[::-1] if b < 0 else out
        out = out[:, ::-1] if c < 0 else out
    return np.ascontiguousarray(out)


def tag_rotation(metadata: Mapping[str, str]) -> int:
    """Counter-clockwise degrees in (-180, 180] from a legacy 'rotate' tag (which is clockwise).

    Older demuxers exported rotation as this tag instead of a display matrix; 0 if absent or
    not a number.
    """
    try:
        clockwise = round(float(metadata.get("rotate", "0")) / 90) * 90
    except ValueError:
        return 0
    counter_clockwise = (-clockwise + 180) % 360 - 180
    return 180 if counter_clockwise == -180 else counter_clockwise


def apply_rotate_tag(rgb: np.ndarray, metadata: Mapping[str, str]) -> np.ndarray:
    """Rotate a frame by its stream's legacy 'rotate' tag, if any."""
    quarter_turns = tag_rotation(metadata) // 90 % 4
    return np.ascontiguousarray(np.rot90(rgb, k=quarter_turns)) if quarter_turns else rgb


def upright(rgb: np.ndarray, frame: av.VideoFrame, metadata: Mapping[str, str]) -> np.ndarray:
    """Apply the frame's display matrix if any, else the stream's legacy 'rotate' tag."""
    matrix = display_matrix(frame)
    if matrix is not None:
        return apply_display_matrix(rgb, matrix)
    return apply_rotate_tag(rgb, metadata)
