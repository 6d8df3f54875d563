"""Head pose and expression over the frames of a video (a sitting subject, mostly still)."""

from __future__ import annotations

import numpy as np

from .face import Expression, Pose
from .sampling import Range, draw


def draw_pose(rng: np.random.Generator, face_scale: Range, spread: float = 1.0) -> Pose:
    """A resting head pose: a few degrees off frontal, the face roughly centred by the aligner."""
    return Pose(
        yaw=spread * rng.normal(0.0, 7.0),
        pitch=spread * rng.normal(0.0, 5.0),
        roll=spread * rng.normal(0.0, 4.0),
        shift=(rng.normal(0.0, 0.025), rng.normal(0.0, 0.025)),
        scale=draw(rng, face_scale),
    )


def pose_track(rng: np.random.Generator, rest: Pose, frames: int, motion_deg: float) -> list[Pose]:
    """Smooth small head motion around ``rest``: one random sinusoid per degree of freedom."""
    t = np.arange(frames, dtype=np.float64)
    amp = motion_deg * rng.uniform(0.3, 1.0, size=5)
    omega = rng.uniform(0.3, 1.2, size=5)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=5)
    wave = amp[:, None] * np.sin(omega[:, None] * t[None, :] + phase[:, None])
    return [
        Pose(
            yaw=rest.yaw + wave[0, k],
            pitch=rest.pitch + 0.7 * wave[1, k],
            roll=rest.roll + 0.5 * wave[2, k],
            shift=(rest.shift[0] + 0.004 * wave[3, k], rest.shift[1] + 0.004 * wave[4, k]),
            scale=rest.scale,
        )
        for k in range(frames)
    ]


def draw_expression(rng: np.random.Generator) -> Expression:
    """A resting expression: neutral to a light smile, eyes open."""
    return Expression(
        smile=rng.uniform(0.0, 0.7) * (rng.random() < 0.6),
        mouth_open=rng.uniform(0.0, 0.03) * (rng.random() < 0.3),
        brow_raise=rng.uniform(-0.5, 0.8),
        gaze=(rng.normal(0.0, 0.01), rng.normal(0.0, 0.006)),
    )


def expression_track(rng: np.random.Generator, rest: Expression, frames: int) -> list[Expression]:
    """Talking, blinking and glancing around ``rest``."""
    track = []
    for _ in range(frames):
        blink = rng.uniform(0.5, 1.0) if rng.random() < 0.15 else 0.0
        track.append(
            Expression(
                smile=float(np.clip(rest.smile + rng.normal(0.0, 0.08), 0.0, 1.0)),
                mouth_open=float(np.clip(rest.mouth_open + rng.normal(0.0, 0.008), 0.0, 0.05)),
                blink=blink,
                brow_raise=rest.brow_raise + rng.normal(0.0, 0.1),
                gaze=(rest.gaze[0] + rng.normal(0.0, 0.005), rest.gaze[1] + rng.normal(0.0, 0.003)),
            )
        )
    return track
