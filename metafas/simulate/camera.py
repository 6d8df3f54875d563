"""The capturing camera: optics, exposure, sensor noise, colour processing, JPEG and crop resize.

Scene radiance is sampled at the camera's native resolution of the face crop (relative to the
output size, so the look does not depend on ``size``), processed like a consumer camera
pipeline, JPEG-compressed, and finally resized to the output crop as a face aligner would.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.ndimage import convolve, gaussian_filter, map_coordinates

from .sampling import Range, draw, draw_int
from .scene import LUMA

# Final crop resize. "point" samples bilinearly at the output pixel centres without an
# anti-aliasing prefilter (like OpenCV's INTER_LINEAR when shrinking), so fine patterns alias.
RESAMPLE = {
    "point": None,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
_DEMOSAIC_RB = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4.0
_DEMOSAIC_G = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float32) / 4.0
PIXEL_FILL = 0.8  # width of a sensor pixel's light-collecting area, in pixels


@dataclass(frozen=True)
class CameraSpec:
    """Ranges of one domain's camera(s)."""

    sensor_scale: Range  # native face-crop pixels per output pixel
    blur_px: Range  # optical blur sigma, native pixels
    motion_blur_px: Range
    read_noise: Range  # additive noise std at unit gain (linear signal)
    shot_noise: Range  # signal-dependent noise variance per unit signal at unit gain
    exposure: Range  # auto-exposure target for the metered linear luminance
    awb_strength: Range  # 0 keeps the estimated light colour, 1 removes it completely
    awb_greyworld: Range  # weight of the image's mean colour in the light estimate (grey world)
    cast: tuple[float, float, float]  # residual colour cast of this camera model
    saturation: Range
    hue_rotation: Range  # degrees: the colour matrix turns chroma about the grey axis
    contrast: Range  # strength of the S-shaped tone curve
    sharpen: Range  # unsharp-mask amount
    vignette: Range
    flare: Range  # veiling glare: fraction of the mean scene light added everywhere
    auto_levels: Range  # strength of the black-point stretch of the tone mapping (0..1)
    jpeg_quality: tuple[int, int]
    chroma_subsampling: int  # Pillow JPEG: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0
    resample: str  # filter of the final resize to the output crop, a key of RESAMPLE


@dataclass(frozen=True)
class Camera:
    """One drawn camera setting, fixed for a video."""

    native: int
    blur: float
    motion: tuple[float, float]  # extra blur sigma along (rows, cols)
    read_noise: float
    shot_noise: float
    exposure: float
    awb_strength: float
    awb_greyworld: float
    cast: tuple[float, float, float]
    saturation: float
    hue_rotation: float
    contrast: float
    sharpen: float
    vignette: float
    vignette_centre: tuple[float, float]
    flare: float
    auto_levels: float
    jpeg_quality: int
    chroma_subsampling: int
    resample: str


def draw_camera(spec: CameraSpec, size: int, rng: np.random.Generator) -> Camera:
    """Draws a camera setting; ``native`` scales with the output ``size``."""
    motion, angle = draw(rng, spec.motion_blur_px), rng.uniform(0.0, np.pi)
    cast = np.array(spec.cast) * (1.0 + rng.normal(0.0, 0.05, size=3))
    return Camera(
        native=max(16, int(round(size * draw(rng, spec.sensor_scale)))),
        blur=draw(rng, spec.blur_px),
        motion=(motion * abs(np.sin(angle)), motion * abs(np.cos(angle))),
        read_noise=draw(rng, spec.read_noise),
        shot_noise=draw(rng, spec.shot_noise),
        exposure=draw(rng, spec.exposure),
        awb_strength=draw(rng, spec.awb_strength),
        awb_greyworld=draw(rng, spec.awb_greyworld),
        cast=tuple(float(c) for c in cast),
        saturation=draw(rng, spec.saturation),
        hue_rotation=draw(rng, spec.hue_rotation),
        contrast=draw(rng, spec.contrast),
        sharpen=draw(rng, spec.sharpen),
        vignette=draw(rng, spec.vignette),
        vignette_centre=(rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)),
        flare=draw(rng, spec.flare),
        auto_levels=draw(rng, spec.auto_levels),
        jpeg_quality=draw_int(rng, spec.jpeg_quality),
        chroma_subsampling=spec.chroma_subsampling,
        resample=spec.resample,
    )


def pattern_contrast(frequency: float, camera: Camera) -> float:
    """Contrast kept of a fine pattern of ``frequency`` cycles per native pixel, before blur.

    Patterns (halftone, display subpixels) are evaluated at the sensor pixel centres, where a
    frequency ``f`` above Nyquist shows up at its alias ``f_a``. ``capture`` blurs the sampled
    image afterwards, attenuating by ``exp(-2 pi^2 sigma^2 f_a^2)``; the optics really attenuate
    by ``exp(-2 pi^2 sigma^2 f^2)``, so this factor supplies the difference, times the box
    aperture of a pixel.
    """
    alias = abs(frequency - round(frequency))
    aperture = np.sinc(PIXEL_FILL * frequency)  # negative lobes reverse contrast
    optics = np.exp(-2.0 * np.pi**2 * camera.blur**2 * (frequency**2 - alias**2))
    return float(aperture * optics)


def develop(
    raw: np.ndarray, camera: Camera, illuminant: np.ndarray, rng: np.random.Generator | None
) -> np.ndarray:
    """Auto exposure, sensor readout (when ``rng`` is given), white balance, colour and tone.

    White balance divides out ``awb_strength`` of an estimate of the light's colour: the scene
    ``illuminant`` blended with the image's mean colour (grey world, weight ``awb_greyworld``),
    so a spoof medium's own colour cast is partly kept, as with real cameras. Returns
    display-referred values in [0, 1], ``(n, n, 3)``.
    """
    n = raw.shape[0]
    centre = raw[n // 5 : n - n // 5, n // 5 : n - n // 5]
    gain = camera.exposure / max(float((centre @ LUMA).mean()), 1e-4)
    signal = raw * gain
    if rng is not None:
        signal = sensor_readout(signal, camera, gain, rng)
    signal = _white_balance(signal, camera, illuminant)
    signal = signal @ colour_matrix(camera.saturation, camera.hue_rotation).T
    signal = _stretch_levels(signal, (signal @ LUMA)[..., None], camera.auto_levels)
    encoded = np.clip(signal, 0.0, 1.0) ** (1.0 / 2.2)
    encoded = encoded + camera.contrast * (encoded * encoded * (3.0 - 2.0 * encoded) - encoded)
    if camera.sharpen > 0:
        encoded = encoded + camera.sharpen * (encoded - gaussian_filter(encoded, (1.0, 1.0, 0)))
    return np.clip(encoded, 0.0, 1.0).astype(np.float32)


def colour_matrix(saturation: float, hue_deg: float) -> np.ndarray:
    """Sensor-to-output colour matrix: keeps luminance, scales and turns chroma.

    Chroma (the colour minus its luminance) is rotated about the grey axis by ``hue_deg``
    (Rodrigues' formula) and scaled by ``saturation``.
    """
    axis = np.full(3, 1.0 / np.sqrt(3.0))
    theta = np.radians(hue_deg)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotate = np.cos(theta) * np.eye(3) + np.sin(theta) * cross
    rotate += (1.0 - np.cos(theta)) * np.outer(axis, axis)
    to_grey = np.outer(np.ones(3), LUMA)
    chroma = np.eye(3) - to_grey
    return (to_grey + saturation * chroma @ rotate @ chroma).astype(np.float32)


def _white_balance(signal: np.ndarray, camera: Camera, illuminant: np.ndarray) -> np.ndarray:
    """Divides out part of the estimated light colour; keeps the luminance."""
    means = signal.reshape(-1, 3).mean(axis=0).astype(np.float64).clip(1e-6)
    grey_world = means / (means @ LUMA)
    weight = camera.awb_greyworld
    estimate = np.asarray(illuminant, np.float64) ** (1.0 - weight) * grey_world**weight
    balance = estimate**-camera.awb_strength * np.array(camera.cast)
    return signal * (balance / (balance @ LUMA)).astype(np.float32)


def _stretch_levels(signal: np.ndarray, luma: np.ndarray, strength: float) -> np.ndarray:
    """Pulls the darkest percentile toward black, keeping the mean (global tone mapping)."""
    if strength <= 0:
        return signal
    mean = float(luma.mean())
    black = strength * min(float(np.percentile(luma, 1.0)), 0.8 * mean)
    return (signal - black) * (mean / (mean - black))


def bayer_masks(n: int) -> np.ndarray:
    """``(n, n, 3)`` 0/1 masks of an RGGB colour filter array."""
    even = np.arange(n) % 2 == 0
    red = even[:, None] & even[None, :]
    blue = ~even[:, None] & ~even[None, :]
    return np.stack([red, ~(red | blue), blue], axis=-1).astype(np.float32)


def sensor_readout(
    signal: np.ndarray, camera: Camera, gain: float, rng: np.random.Generator
) -> np.ndarray:
    """Bayer mosaic, shot and read noise, and bilinear demosaicing.

    Each colour is sampled on its own sparse grid, so fine patterns (halftone dots, display
    subpixels) alias into colour moire, as in real recaptures; noise is correlated after
    demosaicing, as in real cameras.
    """
    masks = bayer_masks(signal.shape[0])
    mosaic = (signal * masks).sum(axis=-1)
    g = float(np.clip(gain, 0.5, 3.0))
    variance = camera.shot_noise * g * np.clip(mosaic, 0.0, None) + (camera.read_noise * g) ** 2
    mosaic += np.sqrt(variance) * rng.standard_normal(mosaic.shape, np.float32)
    kernels = (_DEMOSAIC_RB, _DEMOSAIC_G, _DEMOSAIC_RB)
    planes = [convolve(mosaic * masks[..., c], kernels[c], mode="mirror") for c in range(3)]
    return np.stack(planes, axis=-1)


def encode_jpeg(image: np.ndarray, quality: int, subsampling: int) -> np.ndarray:
    """Round-trips a uint8 RGB image through JPEG."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality, subsampling=subsampling)
    return np.asarray(Image.open(buffer).convert("RGB"))


def capture(
    radiance: np.ndarray,
    camera: Camera,
    illuminant: np.ndarray,
    rng: np.random.Generator,
    size: int | None = None,
) -> np.ndarray:
    """Captures scene radiance ``(native, native, 3)`` lit by ``illuminant`` into a uint8 crop.

    With ``size=None`` the JPEG-decoded native image is returned (a recorded video frame).
    """
    sigma = (camera.blur + camera.motion[0], camera.blur + camera.motion[1], 0.0)
    optical = gaussian_filter(radiance, sigma)
    optical += camera.flare * optical.reshape(-1, 3).mean(axis=0)
    optical *= _vignetting(camera)[..., None]
    encoded = develop(optical, camera, illuminant, rng)
    quantized = np.round(encoded * 255.0).astype(np.uint8)
    decoded = encode_jpeg(quantized, camera.jpeg_quality, camera.chroma_subsampling)
    if size is None or size == camera.native:
        return decoded
    return resize_crop(decoded, size, camera.resample)


def resize_crop(image: np.ndarray, size: int, resample: str) -> np.ndarray:
    """Resizes a uint8 ``(n, n, 3)`` crop to ``(size, size, 3)`` with a RESAMPLE filter."""
    if RESAMPLE[resample] is not None:
        return np.asarray(Image.fromarray(image).resize((size, size), RESAMPLE[resample]))
    n = image.shape[0]
    c = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0.0, n - 1.0)
    rows, cols = np.meshgrid(c, c, indexing="ij")
    planes = [map_coordinates(image[..., k], [rows, cols], order=1) for k in range(3)]
    return np.stack(planes, axis=-1)


def _vignetting(camera: Camera) -> np.ndarray:
    """Light falloff over the crop, centred on the (off-crop) optical axis."""
    n = camera.native
    c = (np.arange(n, dtype=np.float32) + 0.5) / n * 2.0 - 1.0
    cx, cy = camera.vignette_centre
    r2 = ((c[None, :] - cx) ** 2 + (c[:, None] - cy) ** 2) / 8.0
    return 1.0 - camera.vignette * r2
