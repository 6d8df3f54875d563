"""Scene light and backgrounds shared by live captures and by the spoof media shown in them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .sampling import Range, draw, draw_int
from .textures import resize_rgb, value_noise

# Approximate RGB of black-body light at a colour temperature, normalised per row below.
_KELVIN = np.array([2500.0, 3000.0, 4000.0, 5000.0, 6500.0, 8000.0, 10000.0])
_KELVIN_RGB = np.array(
    [
        [1.00, 0.62, 0.32],
        [1.00, 0.70, 0.44],
        [1.00, 0.81, 0.64],
        [1.00, 0.89, 0.80],
        [1.00, 0.98, 0.98],
        [0.86, 0.91, 1.00],
        [0.76, 0.84, 1.00],
    ]
)
LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def kelvin_rgb(kelvin: float) -> np.ndarray:
    """RGB multipliers of light at ``kelvin``, scaled to unit luminance."""
    rgb = np.array([np.interp(kelvin, _KELVIN, _KELVIN_RGB[:, c]) for c in range(3)])
    return (rgb / (rgb @ LUMA)).astype(np.float32)


@dataclass(frozen=True)
class LightSpec:
    """Ranges of the scene illumination of one domain."""

    key: Range  # intensity of the directional key light
    ambient: Range  # intensity of the ambient / fill light
    azimuth_deg: Range  # key light direction, left (-) to right (+)
    elevation_deg: Range  # key light above (+) or below (-) the camera axis
    kelvin: Range  # colour temperature
    falloff: Range  # linear irradiance gradient across the frame (near light source)
    skin_gloss: Range  # specular strength on skin


@dataclass(frozen=True, eq=False)
class Light:
    """One drawn illumination: a directional key light plus ambient light, in one colour."""

    direction: np.ndarray  # unit vector; x right, y down, z toward the camera
    key: float
    ambient: float
    colour: np.ndarray  # (3,) unit-luminance RGB
    falloff: np.ndarray  # (2,) irradiance gradient along x and y
    skin_gloss: float


def draw_light(rng: np.random.Generator, spec: LightSpec) -> Light:
    """Draws a light from the domain's ranges."""
    azimuth = np.radians(draw(rng, spec.azimuth_deg))
    elevation = np.radians(draw(rng, spec.elevation_deg))
    direction = np.array(
        [
            np.sin(azimuth) * np.cos(elevation),
            -np.sin(elevation),
            np.cos(azimuth) * np.cos(elevation),
        ],
        np.float32,
    )
    angle = rng.uniform(0, 2 * np.pi)
    falloff = draw(rng, spec.falloff) * np.array([np.cos(angle), np.sin(angle)], np.float32)
    return Light(
        direction=direction,
        key=draw(rng, spec.key),
        ambient=draw(rng, spec.ambient),
        colour=kelvin_rgb(draw(rng, spec.kelvin)),
        falloff=falloff,
        skin_gloss=draw(rng, spec.skin_gloss),
    )


def light_gradient(light: Light, n: int, extent: float = 1.0) -> np.ndarray:
    """Irradiance multiplier ``(n, n)`` of a light that is not infinitely far away."""
    c = ((np.arange(n, dtype=np.float32) + 0.5) / n * 2.0 - 1.0) * extent
    ramp = 1.0 + light.falloff[0] * c[None, :] + light.falloff[1] * c[:, None]
    return np.clip(ramp, 0.3, None)


def lit_backdrop(
    backdrop: np.ndarray, light: Light, shadow: np.ndarray | float = 1.0, extent: float = 1.0
) -> np.ndarray:
    """Radiance ``(n, n, 3)`` of a background wall: ambient plus (partly shadowed) key light."""
    irradiance = light.ambient + 0.8 * light.key * shadow
    gradient = light_gradient(light, backdrop.shape[0], extent)
    return backdrop * (irradiance * gradient)[..., None] * light.colour


def background(
    rng: np.random.Generator, n: int, clutter: tuple[int, int], extent: float = 1.0
) -> np.ndarray:
    """A defocused indoor background ``(n, n, 3)`` of linear reflectances.

    A wall colour with a gradient and a few blurred rectangles (doors, shelves, posters), drawn
    on a coarse canvas and upsampled so edges look out of focus.
    """
    cells = max(4, int(round(12 * extent)))
    wall = _pastel(rng, value=(0.15, 0.75))
    canvas = np.ones((cells, cells, 3), np.float32) * wall
    for _ in range(draw_int(rng, clutter)):
        r0, c0 = rng.integers(0, cells, size=2)
        r1, c1 = r0 + rng.integers(1, cells // 2 + 2), c0 + rng.integers(1, cells // 3 + 2)
        canvas[r0:r1, c0:c1] = _pastel(rng, value=(0.05, 0.85))
    ramp = np.linspace(-0.5, 0.5, cells, dtype=np.float32)
    tilt = rng.uniform(-0.4, 0.4, size=2)
    canvas *= (1.0 + tilt[0] * ramp[None, :, None] + tilt[1] * ramp[:, None, None]).clip(0.2)
    image = resize_rgb(canvas, (n, n))
    grain = value_noise(rng, (n, n), (max(n // 4, 2), max(n // 4, 2)))
    return np.clip(image * (1.0 + 0.03 * grain[..., None]), 0.02, 0.95)


def _pastel(rng: np.random.Generator, value: Range) -> np.ndarray:
    """A random reflectance colour of moderate saturation."""
    level = draw(rng, value)
    tint = rng.uniform(-0.35, 0.35, size=3) * rng.uniform(0.0, 1.0)
    return np.clip(level * (1.0 + tint), 0.02, 0.95).astype(np.float32)
