"""Colours and materials of a simulated identity, painted onto the face surface."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .face import (
    CLOTHES,
    FACE,
    HAIR,
    NECK,
    Expression,
    FaceShape,
    SurfaceView,
    draw_shape,
    mouth_line,
)
from .sampling import Range, draw
from .textures import fractal_noise, lookup, streaks

# Linear reflectance of very light and very dark skin (interpolated in log space).
SKIN_LIGHT = np.array([0.62, 0.45, 0.37], np.float32)
SKIN_DARK = np.array([0.17, 0.10, 0.07], np.float32)
HAIR_COLOURS = {
    "black": (0.03, 0.025, 0.02),
    "dark_brown": (0.07, 0.045, 0.03),
    "brown": (0.15, 0.09, 0.05),
    "blond": (0.45, 0.33, 0.18),
    "auburn": (0.28, 0.11, 0.05),
    "grey": (0.35, 0.34, 0.33),
}
IRIS_COLOURS = {
    "dark": (0.05, 0.035, 0.025),
    "brown": (0.14, 0.08, 0.04),
    "hazel": (0.22, 0.16, 0.07),
    "green": (0.16, 0.22, 0.13),
    "blue": (0.18, 0.27, 0.38),
    "grey": (0.28, 0.3, 0.31),
}
SCLERA = np.array([0.62, 0.6, 0.56], np.float32)
TEXTURE_EXTENT = 1.6  # identity textures cover [-1.6, 1.6]^2 in face units


@dataclass(frozen=True, eq=False)
class Identity:
    """A simulated person: geometry, colours, and surface textures."""

    shape: FaceShape
    skin: np.ndarray  # (3,) linear reflectance
    lips: np.ndarray
    hair: np.ndarray
    iris: np.ndarray
    clothes: np.ndarray
    blush: float
    beard: float
    brow_density: float
    oiliness: float
    skin_texture: np.ndarray  # (64, 64) blotches and pores
    hair_texture: np.ndarray  # (128, 128) strands


def draw_identity(rng: np.random.Generator, skin_tone: Range) -> Identity:
    """Draws a person; darker skin tones draw from darker hair and iris colours."""
    tone = draw(rng, skin_tone)
    skin = np.exp((1 - tone) * np.log(SKIN_LIGHT) + tone * np.log(SKIN_DARK))
    skin = skin * (1.0 + rng.uniform(-1, 1) * np.array([0.06, -0.02, -0.04]))
    skin = skin * (1.0 + rng.uniform(-1, 1) * np.array([0.02, 0.02, -0.08]))
    dark = tone > 0.4
    hair_name = rng.choice(["black", "dark_brown", "grey"] if dark else list(HAIR_COLOURS))
    iris_name = rng.choice(["dark", "brown"] if dark else list(IRIS_COLOURS))
    return Identity(
        shape=draw_shape(rng),
        skin=skin.astype(np.float32),
        lips=(skin * np.array([0.85, 0.55, 0.57]) * rng.uniform(0.8, 1.0)).astype(np.float32),
        hair=np.array(HAIR_COLOURS[hair_name], np.float32) * rng.uniform(0.8, 1.2),
        iris=np.array(IRIS_COLOURS[iris_name], np.float32),
        clothes=np.clip(rng.uniform(0.03, 0.8) * (1 + rng.uniform(-0.5, 0.5, 3)), 0.02, 0.9).astype(
            np.float32
        ),
        blush=rng.uniform(0.0, 1.0),
        beard=rng.uniform(0.0, 0.8) * (rng.random() < 0.3),
        brow_density=rng.uniform(0.5, 1.0),
        oiliness=rng.uniform(0.5, 1.5),
        skin_texture=fractal_noise(rng, 64, 6),
        hair_texture=streaks(rng, 128, across=48, along=6),
    )


@dataclass(frozen=True, eq=False)
class Materials:
    """Per-pixel surface properties of a rendered face."""

    albedo: np.ndarray  # (n, n, 3) linear diffuse reflectance
    gloss: np.ndarray  # (n, n) specular strength
    shininess: np.ndarray  # (n, n) Blinn-Phong exponent


def _ramp(distance: np.ndarray, soft: float) -> np.ndarray:
    """Antialiased inside-mask of a signed distance (positive inside), ``soft`` wide."""
    return np.clip(0.5 + distance / (2.0 * soft), 0.0, 1.0)


def _mix(base: np.ndarray, colour: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Blends ``colour`` over ``base`` with per-pixel ``weight``."""
    return base + weight[..., None] * (colour - base)


def paint(view: SurfaceView, expr: Expression, ident: Identity) -> Materials:
    """Paints skin, eyes, brows, lips, hair and clothes, and assigns their glossiness."""
    u, v, soft = view.u, view.v, max(view.pixel, 0.004)
    grain = lookup(ident.skin_texture, TEXTURE_EXTENT, u, v)
    albedo = ident.skin * (1.0 + 0.07 * grain[..., None])
    albedo = _paint_skin_details(albedo, u, v, ident)
    albedo, lip = _paint_mouth(albedo, u, v, expr, ident, soft)
    albedo = _paint_brows(albedo, u, v, expr, ident, soft)
    albedo, eye = _paint_eyes(albedo, u, v, expr, ident, soft)
    strands = lookup(ident.hair_texture, TEXTURE_EXTENT, u, v)
    hair = ident.hair * np.clip(1.0 + 0.45 * strands, 0.2, None)[..., None]
    layer = view.layer[..., None]
    albedo = np.where(layer == NECK, albedo * 0.9, albedo)
    albedo = np.where(layer == HAIR, hair, albedo)
    albedo = np.where(layer == CLOTHES, ident.clothes * (1.0 + 0.08 * grain[..., None]), albedo)
    t_zone = np.exp(-((u / 0.15) ** 2)) * (v < 0.25)
    gloss = np.where(view.layer == FACE, 0.6 + 0.6 * t_zone + 0.5 * lip, 0.12) * ident.oiliness
    gloss = np.where(view.layer == CLOTHES, 0.02, gloss) + 3.0 * eye
    shininess = np.where(view.layer == HAIR, 6.0, 12.0 + 400.0 * eye)
    return Materials(albedo.astype(np.float32), gloss.astype(np.float32), shininess)


def _paint_skin_details(albedo: np.ndarray, u: np.ndarray, v: np.ndarray, ident: Identity):
    """Cheek blush, nostrils and beard shadow."""
    au, nw = np.abs(u), ident.shape.nose_width
    flush = ident.blush * np.exp(-(((au - 0.28) / 0.1) ** 2) - ((v - 0.1) / 0.08) ** 2)
    albedo = albedo * (1.0 + flush[..., None] * np.array([0.12, -0.05, -0.05], np.float32))
    nostril = np.exp(-(((au - 0.032 * nw) / 0.017) ** 2) - ((v - 0.205) / 0.009) ** 2)
    albedo = _mix(albedo, ident.skin * 0.15, 0.9 * nostril)
    if ident.beard > 0:
        lower = np.clip((v - 0.3) / 0.12, 0.0, 1.0) * np.clip((0.5 - au) / 0.1, 0.0, 1.0)
        albedo = _mix(albedo, ident.hair, ident.beard * lower)
    return albedo


def _paint_mouth(albedo, u, v, expr: Expression, ident: Identity, soft: float):
    """Lips, the dark mouth opening and teeth; returns the lip mask for glossiness."""
    line = mouth_line(u, expr)
    width = 0.12 * (1.0 + 0.15 * expr.smile)
    rim = 1.0 - np.sqrt((u / width) ** 2 + ((v - line) / (0.042 + 0.5 * expr.mouth_open)) ** 2)
    lip = _ramp(rim * 0.04, soft)
    albedo = _mix(albedo, ident.lips, lip)
    gap = 1.0 - np.sqrt(
        (u / (0.09 * width / 0.12)) ** 2 + ((v - line) / (0.5 * expr.mouth_open + 1e-4)) ** 2
    )
    opening = _ramp(gap * 0.5 * expr.mouth_open, soft) * (expr.mouth_open > 0.004)
    teeth = (v < line - 0.15 * expr.mouth_open) * opening
    albedo = _mix(albedo, np.array([0.05, 0.02, 0.02], np.float32), opening)
    albedo = _mix(albedo, np.array([0.6, 0.57, 0.5], np.float32), 0.8 * teeth)
    return albedo, lip


def _paint_brows(albedo, u, v, expr: Expression, ident: Identity, soft: float) -> np.ndarray:
    """Eyebrows: tapering dark arcs above the eyes."""
    du = np.abs(u) - 0.21 * ident.shape.eye_spacing
    arc = -0.215 - 0.035 * expr.brow_raise - 0.022 * (1.0 - (du / 0.1) ** 2)
    thick = 0.014 * (1.0 - 0.5 * np.clip(du / 0.11, 0.0, 1.0))
    brow = _ramp(thick - np.abs(v - arc), soft) * _ramp(0.11 - np.abs(du), soft)
    return _mix(albedo, ident.hair * 0.9, 0.85 * ident.brow_density * brow)


def _paint_eyes(albedo, u, v, expr: Expression, ident: Identity, soft: float):
    """Almond eye openings with sclera, iris, pupil and lash line; returns the eye mask."""
    ex, ey = 0.22 * ident.shape.eye_spacing, -0.11
    du, dv = np.abs(u) - ex, v - ey
    half = 0.034 * (1.0 - expr.blink) * np.clip(1.0 - (du / 0.075) ** 2, 0.0, None)
    eye = np.clip((half - np.abs(dv)) / soft, 0.0, 1.0)
    di = np.hypot(u - np.sign(u) * ex - expr.gaze[0], v - ey - expr.gaze[1])
    iris, pupil = _ramp(0.03 - di, soft), _ramp(0.012 - di, soft)
    ball = _mix(np.broadcast_to(SCLERA, albedo.shape), ident.iris, iris)
    ball = _mix(ball, np.array([0.015, 0.015, 0.015], np.float32), pupil)
    albedo = _mix(albedo, ball, eye)
    lash = np.exp(-(((dv + half) / (0.006 + soft)) ** 2)) * (np.abs(du) < 0.075)
    return _mix(albedo, ident.hair * 0.4, 0.8 * lash), eye
