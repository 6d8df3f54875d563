"""3-D face surface of a simulated identity: shape, expression, head pose, and the depth label.

Coordinates: ``u`` to the right and ``v`` down in face units (the face oval is about 0.6 wide
and 0.8 tall, half-extents), ``z`` toward the camera. The surface is a height field
``z(u, v)``; a posed view is found by inverting the rotation per pixel (fixed-point iteration),
which is accurate for the small head rotations of a face-crop video.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .sampling import Range, draw
from .textures import lookup

BACKGROUND, FACE, NECK, CLOTHES, HAIR = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class FaceShape:
    """Identity-specific geometry (face units)."""

    width: float  # half-width of the face oval
    length: float  # half-height of the face oval
    depth: float  # head bulge toward the camera
    jaw: float  # narrowing of the lower face
    nose: float  # nose height
    nose_width: float
    brow: float  # brow ridge height
    socket: float  # eye socket depth
    eye_spacing: float
    cheek: float
    lips: float
    chin: float
    hairline: float  # v of the hairline at the centre (more negative = higher)
    hair_length: float  # v where the side hair ends
    hair_volume: float


SHAPE_RANGES: dict[str, Range] = {
    "width": (0.54, 0.63),
    "length": (0.74, 0.84),
    "depth": (0.48, 0.6),
    "jaw": (0.05, 0.25),
    "nose": (0.09, 0.16),
    "nose_width": (0.85, 1.25),
    "brow": (0.02, 0.06),
    "socket": (0.04, 0.08),
    "eye_spacing": (0.92, 1.08),
    "cheek": (0.02, 0.06),
    "lips": (0.025, 0.045),
    "chin": (0.025, 0.06),
    "hairline": (-0.75, -0.42),
    "hair_length": (-0.1, 1.1),
    "hair_volume": (0.3, 1.6),
}


def draw_shape(rng: np.random.Generator) -> FaceShape:
    """Draws an identity's face geometry from ``SHAPE_RANGES``."""
    return FaceShape(**{f.name: draw(rng, SHAPE_RANGES[f.name]) for f in fields(FaceShape)})


@dataclass(frozen=True)
class Expression:
    """Non-rigid state of the face in one frame."""

    smile: float = 0.0  # 0..1, raises the mouth corners and cheeks
    mouth_open: float = 0.0  # gap between the lips, face units
    blink: float = 0.0  # 0 open .. 1 closed
    brow_raise: float = 0.0  # -1..1
    gaze: tuple[float, float] = (0.0, 0.0)  # iris offset, face units


@dataclass(frozen=True)
class Pose:
    """Rigid head pose in the crop: rotations in degrees, shift and scale in crop units."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0


def _bump(u: np.ndarray, v: np.ndarray, cu: float, cv: float, su: float, sv: float):
    """Gaussian bump centred at ``(cu, cv)`` with widths ``(su, sv)``."""
    return np.exp(-(((u - cu) / su) ** 2) - ((v - cv) / sv) ** 2)


def mouth_line(u: np.ndarray, expr: Expression) -> np.ndarray:
    """``v`` of the line between the lips; a smile lifts its corners."""
    return 0.45 + 0.5 * expr.mouth_open - 0.05 * expr.smile * (u / 0.12) ** 2


def head_height(u: np.ndarray, v: np.ndarray, s: FaceShape, e: Expression) -> np.ndarray:
    """Height of the face surface alone (no hair or neck): the source of the depth label."""
    jaw = 1.0 - s.jaw * np.clip((v - 0.1) / 0.7, 0.0, 1.0)
    r = np.sqrt((u / (s.width * jaw)) ** 2 + ((v - 0.05) / s.length) ** 2)
    r = np.minimum(r, 1.0)
    fade = np.clip((1.0 - r) / 0.35, 0.0, 1.0)
    return s.depth * np.cos(0.5 * np.pi * r) + fade * _features(u, v, s, e)


def _features(u: np.ndarray, v: np.ndarray, s: FaceShape, e: Expression) -> np.ndarray:
    """Nose, brow ridge, eye sockets, cheekbones, lips and chin as smooth bumps."""
    au, ex = np.abs(u), 0.22 * s.eye_spacing
    ramp = np.clip((v + 0.18) / 0.36, 0.0, 1.0)
    below_tip = np.exp(-((np.maximum(v - 0.19, 0.0) / 0.035) ** 2))
    bridge = ramp * np.exp(-((u / (0.04 + 0.045 * ramp * s.nose_width)) ** 2)) * below_tip
    nose = s.nose * (bridge + 0.35 * _bump(u, v, 0.0, 0.16, 0.06 * s.nose_width, 0.055))
    nose += 0.3 * s.nose * _bump(au, v, 0.065 * s.nose_width, 0.2, 0.035, 0.03)
    brow_v = v + 0.25 + 0.03 * e.brow_raise
    brow = s.brow * np.exp(-((brow_v / 0.06) ** 2) - (u / 0.32) ** 4)
    eyes = s.socket * (
        0.5 * _bump(au, v, ex, -0.11, 0.065, 0.035) - _bump(au, v, ex, -0.11, 0.1, 0.065)
    )
    cheeks = s.cheek * (1.0 + e.smile) * _bump(au, v, 0.29, 0.08 - 0.03 * e.smile, 0.12, 0.1)
    line = mouth_line(u, e)
    lips = _bump(u, v, 0.0, 0.415, 0.12, 0.03) + _bump(
        u, v, 0.0, 0.485 + e.mouth_open, 0.105, 0.032
    )
    gap = np.exp(-((u / 0.13) ** 2) - ((v - line) / (0.012 + 0.5 * e.mouth_open)) ** 2)
    chin = s.chin * _bump(u, v, 0.0, 0.69 + 0.3 * e.mouth_open, 0.12, 0.07)
    return nose + brow + eyes + cheeks + s.lips * (lips - 0.7 * gap) + chin


def _hair_height(u: np.ndarray, v: np.ndarray, s: FaceShape) -> np.ndarray:
    """Height of the hair layer, -1 where there is no hair."""
    grow = 0.04 * s.hair_volume
    ru = u / (s.width * 1.08 + grow)
    rv = (v + 0.03) / (s.length * 1.06 + grow)
    r = np.minimum(np.sqrt(ru**2 + rv**2), 1.0)
    cap = (s.depth + grow) * np.cos(0.5 * np.pi * r) + 0.01
    au = np.abs(u)
    top = v < s.hairline + 0.25 * (u / s.width) ** 2
    sides = (au > 0.8 * s.width) & (v < s.hair_length)
    hair = np.where((r < 1.0) & (top | sides), cap, -1.0)
    hanging = (
        (au > 0.75 * s.width) & (au < s.width * 1.12 + grow) & (v > -0.1) & (v < s.hair_length)
    )
    return np.where(hanging & (hair < 0), 0.05, hair)


def surface_height(u: np.ndarray, v: np.ndarray, s: FaceShape, e: Expression):
    """Visible height of head, neck, clothes and hair, the layer on top, and the head alone."""
    head = head_height(u, v, s, e)
    z = head
    layer = np.where(z > 1e-4, FACE, BACKGROUND).astype(np.uint8)
    au = np.abs(u)
    neck = np.where(v > 0.35, 0.12 * np.sqrt(np.clip(1.0 - (u / 0.3) ** 2, 0.0, None)), 0.0)
    clothes = np.where(v > 1.12 - 0.3 * np.clip(au - 0.25, 0.0, 0.7), 0.16, 0.0)
    for layer_id, height in ((NECK, neck), (CLOTHES, clothes), (HAIR, _hair_height(u, v, s))):
        top = height > z
        z = np.where(top, height, z)
        layer[top] = layer_id
    return z.astype(np.float32), layer, head.astype(np.float32)


@dataclass(frozen=True, eq=False)
class SurfaceView:
    """A face surface seen from the camera, sampled on an ``(n, n)`` pixel grid."""

    u: np.ndarray  # face coordinates behind each pixel
    v: np.ndarray
    depth: np.ndarray  # image-space depth of the visible surface, larger = nearer
    layer: np.ndarray  # uint8 layer id (BACKGROUND, FACE, NECK, CLOTHES, HAIR)
    label: np.ndarray  # float32 depth label in [0, 1]: face only, background 0
    pixel: float  # face units per pixel


def rotation(pose: Pose) -> np.ndarray:
    """Rotation matrix of a pose: pitch about x, then yaw about y, then roll in the image."""
    p, y, r = np.radians([pose.pitch, pose.yaw, pose.roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def pixel_grid(n: int, extent: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(x, y)`` of an ``(n, n)`` grid covering ``[-extent, extent]``."""
    c = ((np.arange(n, dtype=np.float32) + 0.5) / n * 2.0 - 1.0) * extent
    x, y = np.meshgrid(c, c)
    return x, y


def view_surface(s: FaceShape, e: Expression, pose: Pose, n: int, extent: float) -> SurfaceView:
    """Finds the surface point behind every pixel of a posed face (weak perspective).

    The height field is tabulated once on a face-coordinate grid as fine as the pixels, then
    looked up while the rotation is inverted by fixed-point iteration.
    """
    x, y = pixel_grid(n, extent)
    rot = rotation(pose).astype(np.float32)
    xs, ys = (x - pose.shift[0]) / pose.scale, (y - pose.shift[1]) / pose.scale
    pixel = 2.0 * extent / (n * pose.scale)
    reach = float(max(np.abs(xs).max(), np.abs(ys).max())) + 0.3
    # The surface is smooth: a table 1.5 pixels apart, interpolated bilinearly, is plenty.
    c = np.linspace(-reach, reach, int(np.ceil(reach / (0.75 * pixel))) + 1, dtype=np.float32)
    table_z, table_layer, table_head = surface_height(*np.meshgrid(c, c), s, e)
    inverse = np.linalg.inv(rot[:2, :2])
    u, v = xs.copy(), ys.copy()
    for _ in range(4):
        z = lookup(table_z, reach, u, v)
        ex = xs - (rot[0, 0] * u + rot[0, 1] * v + rot[0, 2] * z)
        ey = ys - (rot[1, 0] * u + rot[1, 1] * v + rot[1, 2] * z)
        u, v = (
            u + inverse[0, 0] * ex + inverse[0, 1] * ey,
            v + inverse[1, 0] * ex + inverse[1, 1] * ey,
        )
    z, layer = lookup(table_z, reach, u, v), lookup(table_layer, reach, u, v, order=0)
    depth = pose.scale * (rot[2, 0] * u + rot[2, 1] * v + rot[2, 2] * z)
    label = _depth_label(u, v, lookup(table_head, reach, u, v), rot)
    depth = np.where(layer == BACKGROUND, depth[layer != BACKGROUND].min(initial=0.0), depth)
    return SurfaceView(u, v, depth, layer, label, pixel)


def _depth_label(u: np.ndarray, v: np.ndarray, head: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Face-only depth normalised to [0, 1] (nearer = larger), 0 off the face."""
    face = head > 2e-3
    if not face.any():
        return np.zeros_like(u, dtype=np.float32)
    depth = rot[2, 0] * u + rot[2, 1] * v + rot[2, 2] * head
    depth = np.where(face, depth - depth[face].min(), 0.0)
    return (depth / max(float(depth.max()), 1e-6)).astype(np.float32)
