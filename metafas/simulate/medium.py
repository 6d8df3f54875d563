"""Where a spoof medium (printed sheet or screen) sits in front of the camera.

A pinhole camera looks at a plane tilted by a few degrees; each sensor pixel's ray is
intersected with the plane, optionally bent into a cylinder (a warped print), giving the
medium coordinates ``(s, t)`` seen by that pixel. Medium coordinates are face units of the
content shown, so the face in the photo or video lies near the origin, as a face aligner would
crop it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .face import pixel_grid
from .sampling import Range, draw


@dataclass(frozen=True)
class Placement:
    """Pose of a flat or bent medium relative to the camera crop."""

    tilt_x: float  # rotation about the vertical axis, degrees
    tilt_y: float  # rotation about the horizontal axis, degrees
    roll: float  # in-plane rotation, degrees
    zoom: float  # medium units per crop unit (1 / apparent face scale)
    shift: tuple[float, float]  # offset of the content centre, crop units
    perspective: float  # tan of the crop's half field of view; larger = closer camera
    bend: float  # curvature of the sheet about its vertical axis, 1 / medium units


def draw_placement(
    rng: np.random.Generator, tilt_deg: float, bend: Range, face_scale: Range
) -> Placement:
    """A hand-held or mounted medium held roughly facing the camera."""
    return Placement(
        tilt_x=rng.uniform(-tilt_deg, tilt_deg),
        tilt_y=rng.uniform(-tilt_deg, tilt_deg),
        roll=rng.normal(0.0, 4.0),
        zoom=1.0 / draw(rng, face_scale),
        shift=(rng.normal(0.0, 0.025), rng.normal(0.0, 0.025)),
        perspective=rng.uniform(0.1, 0.45),
        bend=draw(rng, bend) * rng.choice([-1.0, 1.0]),
    )


def jitter(placement: Placement, rng: np.random.Generator, degrees: float) -> Placement:
    """The same placement one frame later: hand tremor of about ``degrees``."""
    return replace(
        placement,
        tilt_x=placement.tilt_x + rng.normal(0.0, degrees),
        tilt_y=placement.tilt_y + rng.normal(0.0, degrees),
        roll=placement.roll + rng.normal(0.0, 0.5 * degrees),
        shift=(
            placement.shift[0] + rng.normal(0.0, 0.004 * degrees),
            placement.shift[1] + rng.normal(0.0, 0.004 * degrees),
        ),
    )


@dataclass(frozen=True, eq=False)
class PlaneView:
    """Medium coordinates seen by each sensor pixel."""

    s: np.ndarray  # (n, n) horizontal medium coordinate
    t: np.ndarray  # (n, n) vertical medium coordinate
    normal: np.ndarray  # (n, n, 3) medium normal (x right, y down, z toward the camera)
    pixel: float  # medium units per sensor pixel near the centre


def _tilt_matrix(placement: Placement) -> np.ndarray:
    """Rotation of the medium plane: about y (tilt_x), then about x (tilt_y)."""
    a, b = np.radians([placement.tilt_x, placement.tilt_y])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return (rx @ ry).astype(np.float32)


def view_plane(placement: Placement, n: int) -> PlaneView:
    """Intersects every pixel's ray with the (possibly bent) medium."""
    x, y = pixel_grid(n, 1.0)
    w = placement.perspective
    rot = _tilt_matrix(placement)
    # Camera at the origin looking along -z at the plane through (0, 0, -1).
    rays = np.stack([x * w, y * w, -np.ones_like(x)], axis=-1)
    normal = rot @ np.array([0.0, 0.0, 1.0], np.float32)
    depth = -normal[2] / (rays @ normal)  # ray parameter where it meets the plane
    local = (rays * depth[..., None] + np.array([0.0, 0.0, 1.0], np.float32)) @ rot
    m_x, m_y = local[..., 0] / w, local[..., 1] / w
    arc = _unbend(m_x, placement.bend)
    s, t = _content_coords(arc, m_y, placement)
    angle = arc * placement.bend
    bent = np.stack([np.sin(angle), np.zeros_like(angle), np.cos(angle)], axis=-1)
    normals = bent @ rot.T
    pixel = float(np.hypot(np.gradient(s, axis=1), np.gradient(t, axis=1)).mean())
    return PlaneView(s, t, normals.astype(np.float32), pixel)


def _unbend(m_x: np.ndarray, bend: float) -> np.ndarray:
    """Arc length along a cylinder of curvature ``bend`` whose projection is ``m_x``."""
    if abs(bend) < 1e-3:
        return m_x
    return np.arcsin(np.clip(bend * m_x, -0.999, 0.999)) / bend


def _content_coords(m_x: np.ndarray, m_y: np.ndarray, placement: Placement):
    """Undoes the in-plane shift, roll and zoom, giving face units of the content."""
    dx, dy = m_x - placement.shift[0], m_y - placement.shift[1]
    r = np.radians(placement.roll)
    s = (np.cos(r) * dx + np.sin(r) * dy) * placement.zoom
    t = (-np.sin(r) * dx + np.cos(r) * dy) * placement.zoom
    return s.astype(np.float32), t.astype(np.float32)
