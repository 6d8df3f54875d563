"""Replay attacks: a recorded video of the subject shown on a display, seen by the camera.

Display: the video is sampled at each display pixel (upscaled when its resolution is lower),
decoded with the display gamma, saturation and white point, and emitted through an RGB
subpixel-stripe grid with a black matrix between rows. The grid is evaluated where each
sensor pixel looks and attenuated by the camera MTF per harmonic, so it aliases into colour
moire when the pitch nears the sensor's. Then backlight glow and black level, matte haze,
rolling-shutter banding from a PWM backlight, reflections of the room, and the device bezel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from .camera import Camera, pattern_contrast
from .instruments import DisplaySpec
from .medium import PlaneView
from .sampling import draw
from .scene import LUMA, Light, kelvin_rgb
from .textures import value_noise

WALL_ALBEDO = 0.4  # typical reflectance of the room mirrored in the screen
STRIPE_HARMONICS = 3
ROW_HARMONICS = 2


@dataclass(frozen=True, eq=False)
class Screen:
    """One drawn display, fixed for a video."""

    spec: DisplaySpec
    pitch: float  # display pixel pitch, medium units
    stripe: float
    row_fill: float
    gamma: float
    white: np.ndarray  # (3,) white point
    saturation: float
    black: float
    glow: float
    haze: float
    reflectivity: float
    flicker: float  # banding amplitude (0 = none)
    flicker_period: float  # sensor rows per band
    flicker_phase: float
    active: float  # half-extent of the active area, medium units
    bezel: float  # half-extent of the device body
    brightness: float  # white emission relative to the scene's key plus ambient light


def draw_screen(spec: DisplaySpec, rng: np.random.Generator, pitch: float, active: float) -> Screen:
    """Draws display settings; ``pitch`` and ``active`` come from the placement geometry."""
    return Screen(
        spec=spec,
        pitch=pitch,
        stripe=draw(rng, spec.stripe),
        row_fill=draw(rng, spec.row_fill),
        gamma=draw(rng, spec.gamma),
        white=kelvin_rgb(draw(rng, spec.kelvin)),
        saturation=draw(rng, spec.saturation),
        black=draw(rng, spec.black),
        glow=draw(rng, spec.glow),
        haze=draw(rng, spec.haze),
        reflectivity=draw(rng, spec.reflectivity),
        flicker=_flicker(spec, rng),
        flicker_period=rng.uniform(6.0, 30.0),
        flicker_phase=rng.uniform(0.0, 2.0 * np.pi),
        active=active,
        bezel=active + rng.uniform(0.08, 0.3),
        brightness=rng.uniform(0.8, 2.0),
    )


def _flicker(spec: DisplaySpec, rng: np.random.Generator) -> float:
    """Banding amplitude of a PWM backlight, or 0; the same draws either way."""
    flickers, amplitude = rng.random() < spec.flicker_prob, rng.uniform(0.02, 0.1)
    return amplitude if flickers else 0.0


def _pixel_values(screen: Screen, content: np.ndarray, extent: float, view: PlaneView):
    """Video values ``(n, n, 3)`` at the centre of the display pixel under each sensor pixel."""
    p = screen.pitch
    centre_s = (np.floor(view.s / p) + 0.5) * p
    centre_t = (np.floor(view.t / p) + 0.5) * p
    scale = (content.shape[0] - 1) / (2.0 * extent)
    coords = np.stack([(centre_t + extent) * scale, (centre_s + extent) * scale])
    channels = [map_coordinates(content[..., c], coords, order=1, mode="nearest") for c in range(3)]
    return np.stack(channels, axis=-1)


def _subpixel_grid(screen: Screen, view: PlaneView, camera: Camera) -> np.ndarray:
    """Emission mask ``(n, n, 3)`` of the RGB stripes and row gaps, mean 1 per channel."""
    per_px = view.pixel / screen.pitch  # display pixels per sensor pixel
    phase, row = view.s / screen.pitch, view.t / screen.pitch - 0.5
    rows = np.ones_like(phase)
    for k in range(1, ROW_HARMONICS + 1):
        amp = screen.spec.grid * np.sinc(k * screen.row_fill) * 2.0
        amp *= pattern_contrast(k * per_px, camera)
        rows += amp * np.cos(2.0 * np.pi * k * row)
    stripes = np.ones(phase.shape + (3,), np.float32)
    offsets = 2.0 * np.pi * (np.arange(3, dtype=np.float32) + 0.5) / 3.0
    for k in range(1, STRIPE_HARMONICS + 1):
        amp = screen.spec.grid * np.sinc(k * screen.stripe) * 2.0
        amp *= pattern_contrast(k * per_px, camera)
        cos_k, sin_k = np.cos(2.0 * np.pi * k * phase), np.sin(2.0 * np.pi * k * phase)
        # cos(k (phase - offset)) expanded so the per-pixel cosines are computed once per k
        stripes += amp * (
            cos_k[..., None] * np.cos(k * offsets) + sin_k[..., None] * np.sin(k * offsets)
        )
    return np.clip(rows[..., None] * stripes, 0.0, None)


def emission(
    screen: Screen, content: np.ndarray, extent: float, view: PlaneView, camera: Camera
) -> np.ndarray:
    """Light ``(n, n, 3)`` emitted by the active area toward the camera (before the room)."""
    values = _pixel_values(screen, content, extent, view)
    luma = (values @ LUMA)[..., None]
    values = np.clip(luma + screen.saturation * (values - luma), 0.0, 1.0)
    light = values**screen.gamma * screen.white
    if screen.haze > 0:
        sigma = screen.haze * screen.pitch / view.pixel
        light = gaussian_filter(light, (sigma, sigma, 0.0))
    light = light * _subpixel_grid(screen, view, camera)
    n = light.shape[0]
    light += screen.glow * gaussian_filter(light, (0.08 * n, 0.08 * n, 0.0))
    light += screen.black * screen.white
    if screen.flicker > 0:
        rows = np.arange(n, dtype=np.float32)[:, None, None]
        light *= 1.0 + screen.flicker * np.sin(
            2 * np.pi * rows / screen.flicker_period + screen.flicker_phase
        )
    return light


def reflection_map(rng: np.random.Generator, n: int) -> np.ndarray:
    """Out-of-focus room reflected in a glossy screen: smooth clutter plus a bright window."""
    room = 1.0 + 0.4 * value_noise(rng, (n, n), (4, 4))
    c = (np.arange(n, dtype=np.float32) + 0.5) / n * 2.0 - 1.0
    cx, cy, half = rng.uniform(-1.2, 1.2), rng.uniform(-1.2, 1.2), rng.uniform(0.2, 0.6)
    window = (np.abs(c[None, :] - cx) < half) & (np.abs(c[:, None] - cy) < 0.7 * half)
    window = gaussian_filter(window.astype(np.float32), 0.05 * n)
    return np.clip(room + rng.uniform(0.5, 3.0) * window, 0.0, None)


def view_screen(
    screen: Screen,
    content: np.ndarray,
    extent: float,
    view: PlaneView,
    camera: Camera,
    light: Light,
    surround: np.ndarray,
    reflection: np.ndarray,
) -> np.ndarray:
    """Scene radiance ``(n, n, 3)``: screen, bezel and, beyond the device, the room."""
    irradiance = light.ambient + light.key
    shown = emission(screen, content, extent, view, camera) * (screen.brightness * irradiance)
    mirrored = screen.reflectivity * WALL_ALBEDO * reflection[..., None] * irradiance * light.colour
    body = np.array(screen.spec.bezel_colour, np.float32) * 0.8 * irradiance * light.colour
    edge = np.maximum(np.abs(view.s), np.abs(view.t))
    in_active = np.clip((screen.active - edge) / view.pixel + 0.5, 0.0, 1.0)[..., None]
    on_device = np.clip((screen.bezel - edge) / view.pixel + 0.5, 0.0, 1.0)[..., None]
    device = in_active * (shown + mirrored) + (1.0 - in_active) * (body + 2.0 * mirrored)
    return on_device * device + (1.0 - on_device) * surround
