"""Turn a decoded PIL image of any mode into a uint8 (H, W, 3) RGB array.

Choices, so that every mode lands on the same scale a camera frame would:
- alpha (RGBA, LA, PA, RGBa, palette or colour-key transparency) is composited on black, i.e.
  RGB * alpha / 255. Transparent pixels often hide arbitrary encoder leftovers; a viewer never
  sees them, so neither should a model. Opaque images are unchanged by this.
- 16-bit samples (I;16, I;16B, I;16L, and "I", which Pillow uses for 16-bit PNG/TIFF grayscale)
  are rescaled with round(v * 255 / 65535), so 65535 maps to 255 instead of being clipped.
- 32-bit float ("F") is read as [0, 1] when its maximum is at most 1, else as [0, 255].
- CMYK, YCbCr, 1-bit, L and P go through Pillow's own conversion (no ICC colour management).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """Convert a loaded PIL image to uint8 RGB of shape (H, W, 3); see the module docstring."""
    if image.mode in SIXTEEN_BIT_MODES:
        return gray_to_rgb(scale_16_bit(np.asarray(image)))
    if image.mode == "F":
        return gray_to_rgb(scale_float(np.asarray(image)))
    if image.mode in ALPHA_MODES or image.has_transparency_data:
        return composite_on_black(np.asarray(image.convert("RGBA")))
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def scale_16_bit(values: np.ndarray) -> np.ndarray:
    """Map 16-bit samples to 8 bit with rounding (0 -> 0, 65535 -> 255); out-of-range clipped."""
    wide = np.clip(values.astype(np.int64), 0, 65535)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def scale_float(values: np.ndarray) -> np.ndarray:
    """Map float samples to 8 bit: [0, 1] if the largest finite value is <= 1, else [0, 255]."""
    clean = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    scale = 255.0 if clean.size and clean.max() <= 1.0 else 1.0
    return np.clip(np.rint(clean * scale), 0, 255).astype(np.uint8)


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """Repeat a (H, W) uint8 channel into (H, W, 3)."""
    return np.repeat(gray[:, :, None], 3, axis=2)


def composite_on_black(rgba: np.ndarray) -> np.ndarray:
    """Composite (H, W, 4) uint8 RGBA on black: RGB * A / 255, rounded."""
    rgb = rgba[:, :, :3].astype(np.uint16)
    alpha = rgba[:, :, 3:4].astype(np.uint16)
    return ((rgb * alpha + 127) // 255).astype(np.uint8)
