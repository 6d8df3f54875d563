"""Procedural noise fields: smooth value noise, streaks, and lookups in face coordinates."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import map_coordinates


def resize_field(field: np.ndarray, shape: tuple[int, int], smooth: bool = True) -> np.ndarray:
    """Resizes a 2-D float field with Pillow (bicubic, or nearest when ``smooth`` is off)."""
    mode = Image.Resampling.BICUBIC if smooth else Image.Resampling.NEAREST
    image = Image.fromarray(np.ascontiguousarray(field, dtype=np.float32))
    return np.asarray(image.resize((shape[1], shape[0]), mode), dtype=np.float32)


def resize_rgb(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resizes an ``(H, W, 3)`` float image channel by channel (bicubic)."""
    channels = [resize_field(image[..., c], shape) for c in range(image.shape[-1])]
    return np.stack(channels, axis=-1)


def value_noise(
    rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]
) -> np.ndarray:
    """Smooth noise with zero mean and unit std: a random lattice upsampled bicubically.

    Args:
        rng: random stream.
        shape: output ``(rows, cols)``.
        cells: lattice size; fewer cells give smoother, larger features.
    """
    lattice = rng.standard_normal((max(cells[0], 2) + 2, max(cells[1], 2) + 2))
    field = resize_field(lattice.astype(np.float32), shape)
    return (field - field.mean()) / (field.std() + 1e-6)


def fractal_noise(rng: np.random.Generator, size: int, cells: int, octaves: int = 3) -> np.ndarray:
    """Square ``(size, size)`` noise summing octaves of value noise (each half the amplitude)."""
    total = np.zeros((size, size), np.float32)
    for octave in range(octaves):
        lattice = min(cells * 2**octave, size)
        total += 0.5**octave * value_noise(rng, (size, size), (lattice, lattice))
    return total / total.std()


def streaks(rng: np.random.Generator, size: int, across: int, along: int) -> np.ndarray:
    """Anisotropic noise stretched along the rows' direction (hair strands run top to bottom)."""
    fine = value_noise(rng, (size, size), (along, across))
    return 0.7 * fine + 0.3 * value_noise(rng, (size, size), (along, across * 3))


def lookup(
    texture: np.ndarray, extent: float, u: np.ndarray, v: np.ndarray, order: int = 1
) -> np.ndarray:
    """Lookup (bilinear, or nearest with ``order=0``) in a square texture covering
    ``[-extent, extent]^2``, at face coordinates ``(u, v)``."""
    scale = (texture.shape[0] - 1) / (2.0 * extent)
    coords = np.stack([(v + extent) * scale, (u + extent) * scale])
    return map_coordinates(texture, coords, order=order, mode="nearest", prefilter=False)
