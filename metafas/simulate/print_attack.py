"""Print attacks: a photo through a printer model, then a paper sheet lit by the scene.

Printer: print blur, driver saturation, CMYK separation with under-colour removal, dot gain,
halftone screening (a periodic AM dot screen per ink at its own angle, or stochastic inkjet
dots) and subtractive inks of limited density on a paper white (gamut and contrast loss).
Sheet: paper fibre texture, white margin, the room around the sheet edge, a single scene
irradiance over the flat or bent sheet (no 3-D shading change across the face), and glare.
The halftone is evaluated where each sensor pixel looks, attenuated by the camera's MTF at the
screen frequency, so patterns above the sensor's Nyquist rate alias as they do in real recaptures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from .camera import Camera, pattern_contrast
from .instruments import PrintSpec
from .medium import PlaneView
from .sampling import draw
from .scene import LUMA, Light, light_gradient
from .textures import fractal_noise, lookup

# Fraction of red, green and blue light absorbed by full cyan, magenta, yellow and black ink.
INK_ABSORPTION = np.array(
    [[0.85, 0.3, 0.08], [0.12, 0.85, 0.3], [0.03, 0.1, 0.85], [0.9, 0.9, 0.9]], np.float32
)
SCREEN_ANGLES = np.radians([15.0, 75.0, 0.0, 45.0])  # classic C, M, Y, K screen angles
UNDER_COLOUR_REMOVAL = 0.7


def _spot_quantiles(samples: int = 256) -> np.ndarray:
    """Sorted values of the round-dot spot function over one screen cell (for equalising)."""
    phase = 2.0 * np.pi * (np.arange(samples) + 0.5) / samples
    spot = 0.5 + 0.25 * (np.cos(phase)[:, None] + np.cos(phase)[None, :])
    return np.sort(spot.ravel())[:: samples // 4]


SPOT_QUANTILES = _spot_quantiles()


@dataclass(frozen=True, eq=False)
class PrintedSheet:
    """A printed photo: ink coverage raster plus the paper it is on."""

    spec: PrintSpec
    coverage: np.ndarray  # (H, W, 4) C, M, Y, K coverage over [-extent, extent]^2
    tone: np.ndarray  # (H, W, 3) mean reflectance relative to paper white (colour managed)
    extent: float  # half-extent of the printed photo, face units
    sheet: float  # half-extent of the sheet (photo plus white margin)
    dots_per_unit: float  # halftone frequency on paper, per face unit
    dot_seed: int  # keys the random thresholds of stochastic (inkjet) dots
    fibres: np.ndarray  # (64, 64) paper texture over the sheet
    softness: float
    ink_density: float
    paper_white: np.ndarray  # (3,)
    texture: float
    gloss: float
    angle: float  # screen rotation


def print_photo(
    photo: np.ndarray,
    extent: float,
    spec: PrintSpec,
    dots_per_unit: float,
    rng: np.random.Generator,
) -> PrintedSheet:
    """Prints a display-referred photo ``(H, W, 3)`` covering ``[-extent, extent]^2``."""
    blur = draw(rng, spec.blur_px)
    rgb = gaussian_filter(photo, (blur, blur, 0.0))
    luma = (rgb @ LUMA)[..., None]
    rgb = np.clip(luma + draw(rng, spec.saturation) * (rgb - luma), 0.0, 1.0)
    linear = rgb ** draw(rng, spec.tone)  # the driver linearises to reflectance
    black_point = draw(rng, spec.black_point)
    tone = black_point + (1.0 - black_point) * linear
    cmy = 1.0 - linear
    black = UNDER_COLOUR_REMOVAL * cmy.min(axis=-1, keepdims=True)
    coverage = np.concatenate([cmy - black, black], axis=-1)
    coverage += draw(rng, spec.dot_gain) * coverage * (1.0 - coverage)
    sheet = extent + rng.uniform(0.05, 0.3)
    return PrintedSheet(
        spec=spec,
        coverage=coverage.astype(np.float32),
        tone=tone.astype(np.float32),
        extent=extent,
        sheet=sheet,
        dots_per_unit=dots_per_unit,
        dot_seed=int(rng.integers(0, 2**31)),
        fibres=fractal_noise(rng, 64, 16, octaves=2),
        softness=draw(rng, spec.softness),
        ink_density=draw(rng, spec.ink_density),
        paper_white=np.array(spec.paper_white, np.float32) * rng.uniform(0.97, 1.03),
        texture=draw(rng, spec.texture),
        gloss=draw(rng, spec.gloss),
        angle=rng.uniform(0.0, np.pi / 2),
    )


def hash_uniform(rows: np.ndarray, cols: np.ndarray, seed: int) -> np.ndarray:
    """Uniform [0, 1) numbers fixed to integer paper cells (an integer hash, no stored raster)."""
    x = rows.astype(np.uint32) * np.uint32(0x9E3779B1) ^ cols.astype(np.uint32) * np.uint32(
        0x85EBCA77
    )
    x ^= np.uint32(seed & 0xFFFFFFFF)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x2C1B3C6D)
    x ^= x >> np.uint32(12)
    x *= np.uint32(0x297A2D39)
    x ^= x >> np.uint32(15)
    return x.astype(np.float32) / np.float32(2**32)


def _screen(sheet: PrintedSheet, s: np.ndarray, t: np.ndarray, ink: int) -> np.ndarray:
    """Halftone threshold in [0, 1] of one ink at medium coordinates ``(s, t)``."""
    f = sheet.dots_per_unit
    if sheet.spec.screen == "stochastic":
        cols = np.floor((s + sheet.sheet) * f).astype(np.int64)
        rows = np.floor((t + sheet.sheet) * f).astype(np.int64)
        return hash_uniform(rows, cols, sheet.dot_seed + ink)
    theta = sheet.angle + SCREEN_ANGLES[ink]
    a = f * (np.cos(theta) * s + np.sin(theta) * t)
    b = f * (-np.sin(theta) * s + np.cos(theta) * t)
    spot = 0.5 + 0.25 * (np.cos(2.0 * np.pi * a) + np.cos(2.0 * np.pi * b))
    # Equalised so a fraction ``c`` of each cell lies below threshold ``c``: dots cover ``c``.
    levels = np.linspace(0.0, 1.0, SPOT_QUANTILES.size, dtype=np.float32)
    return np.interp(spot, SPOT_QUANTILES, levels).astype(np.float32)


def _dot_contrast(sheet: PrintedSheet, view: PlaneView, camera: Camera) -> float:
    """Contrast of the halftone left after a sensor pixel integrates it.

    A periodic screen follows the camera MTF at its frequency. Random inkjet dots are
    broadband: a pixel averages about ``f^2`` independent dots (``f`` dots per pixel), so their
    grain keeps ``1 / f`` of its contrast; the camera blur then acts on the sampled grain.
    """
    per_pixel = sheet.dots_per_unit * view.pixel
    if sheet.spec.screen == "stochastic":
        return float(min(1.0, 1.0 / per_pixel))
    return pattern_contrast(per_pixel, camera)


def paper_reflectance(sheet: PrintedSheet, view: PlaneView, camera: Camera) -> np.ndarray:
    """Reflectance ``(n, n, 3)`` of the printed sheet where each sensor pixel looks."""
    s, t = view.s, view.t
    scale = (sheet.coverage.shape[0] - 1) / (2.0 * sheet.extent)
    coords = np.stack([(t + sheet.extent) * scale, (s + sheet.extent) * scale])
    contrast = _dot_contrast(sheet, view, camera)
    dotted = np.ones(s.shape + (3,), np.float32)
    smooth = np.ones(s.shape + (3,), np.float32)
    for ink in range(4):
        cover = map_coordinates(sheet.coverage[..., ink], coords, order=1, mode="nearest")
        dots = np.clip((cover - _screen(sheet, s, t, ink)) / sheet.softness + 0.5, 0.0, 1.0)
        dotted *= 1.0 - sheet.ink_density * dots[..., None] * INK_ABSORPTION[ink]
        smooth *= 1.0 - sheet.ink_density * cover[..., None] * INK_ABSORPTION[ink]
    # Mean tone from the colour-managed target; the ink dots only modulate around it.
    modulation = np.clip(dotted / np.maximum(smooth, 0.02), 0.0, 3.0)
    tone = np.stack(
        [map_coordinates(sheet.tone[..., c], coords, order=1, mode="nearest") for c in range(3)],
        axis=-1,
    )
    contrast *= sheet.spec.halftone
    reflectance = sheet.paper_white * tone * (1.0 + contrast * (modulation - 1.0))
    edge = np.maximum(np.abs(s), np.abs(t))
    in_photo = np.clip((sheet.extent - edge) / view.pixel + 0.5, 0.0, 1.0)[..., None]
    reflectance = in_photo * reflectance + (1.0 - in_photo) * sheet.paper_white
    fibres = lookup(sheet.fibres, sheet.sheet, s, t)
    return reflectance * (1.0 + sheet.texture * fibres)[..., None]


def view_print(
    sheet: PrintedSheet,
    view: PlaneView,
    camera: Camera,
    light: Light,
    surround: np.ndarray,
    glare_centre: tuple[float, float],
) -> np.ndarray:
    """Scene radiance ``(n, n, 3)`` of the sheet; the room's radiance ``surround`` beyond it."""
    n = view.s.shape[0]
    irradiance = light.ambient + light.key * np.clip(view.normal @ light.direction, 0.0, None)
    radiance = paper_reflectance(sheet, view, camera) * irradiance[..., None]
    c = (np.arange(n, dtype=np.float32) + 0.5) / n * 2.0 - 1.0
    r2 = (c[None, :] - glare_centre[0]) ** 2 + (c[:, None] - glare_centre[1]) ** 2
    radiance += (sheet.gloss * light.key * np.exp(-r2 / 0.15))[..., None]
    radiance *= light_gradient(light, n)[..., None] * light.colour
    edge = np.maximum(np.abs(view.s), np.abs(view.t))
    on_sheet = np.clip((sheet.sheet - edge) / view.pixel + 0.5, 0.0, 1.0)[..., None]
    return on_sheet * radiance + (1.0 - on_sheet) * surround
