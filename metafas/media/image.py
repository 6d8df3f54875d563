"""Read one image file into upright uint8 RGB, refusing bombs, truncation and non-images."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from metafas.media.color import to_rgb_array
from metafas.media.errors import InputError, check_file, describe
from metafas.media.formats import IMAGE_EXTENSIONS, PIL_FORMATS, PLUGIN_HINTS
from metafas.media.limits import DEFAULT_MAX_PIXELS, check_dimensions

logger = logging.getLogger(__name__)

EXIF_ORIENTATION = 0x0112
BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)
_truncation_lock = threading.Lock()


def read_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image file, detected by content, into uint8 RGB of shape (H, W, 3).

    EXIF orientation is applied, so a phone photo comes back upright. Modes are converted as
    described in `metafas.media.color` (alpha composited on black, 16 bit rescaled).

    Args:
        path: the image file; its extension is ignored.
        max_pixels: refuse images whose header claims more pixels than this, before decoding
            (a side over `metafas.media.limits.MAX_SIDE` is refused whatever this says).

    Raises:
        InputError: zero bytes, unreadable, not an image, too large, truncated or otherwise
            corrupt.
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    path = check_file(path)
    with _open(path) as image:
        check_size(path, image.size, max_pixels)
        _load(path, image)
        upright = _exif_upright(path, image)
        try:
            return to_rgb_array(upright)
        except Exception as exc:
            raise InputError(
                path, f"cannot convert mode {image.mode} to RGB: {describe(exc)}"
            ) from exc


def looks_like_image(path: str | os.PathLike[str]) -> bool:
    """Whether Pillow recognises the content as one of the accepted image formats (header only)."""
    try:
        with Image.open(path, formats=_registered_formats()):
            return True
    except BOMB_ERRORS:
        return True  # an image, just too large; read_image says so
    except Exception:
        return False


def image_header(path: Path) -> tuple[str, tuple[int, int], int]:
    """(format, stored (width, height), EXIF orientation 1-8) without decoding the pixels."""
    with _open(path) as image:
        try:
            orientation = int(image.getexif().get(EXIF_ORIENTATION, 1))
        except Exception:
            orientation = 1
        return image.format or "image", image.size, orientation


def decodable_image_extensions() -> frozenset[str]:
    """The IMAGE_EXTENSIONS whose format can be decoded here: `.heic` and `.heif` only with
    the pillow-heif plugin installed (it is not a dependency)."""
    formats = set(_registered_formats())
    known = Image.registered_extensions()
    return frozenset(ext for ext in IMAGE_EXTENSIONS if known.get(ext) in formats)


def _registered_formats() -> list[str]:
    """The accepted formats Pillow can open now (HEIF only once a plugin registers it)."""
    _register_plugins()
    return [name for name in PIL_FORMATS if name in Image.OPEN]


@functools.cache
def _register_plugins() -> None:
    """Register the pillow-heif plugin with Pillow when it is installed."""
    Image.init()
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


def check_size(path: Path, size: tuple[int, int], max_pixels: int) -> None:
    """Raise InputError for empty images, a side over MAX_SIDE or more than max_pixels pixels."""
    width, height = size
    if width < 1 or height < 1:
        raise InputError(path, f"empty image: {width}x{height} pixels")
    check_dimensions(path, "image", width, height, max_pixels)


@contextmanager
def _open(path: Path) -> Iterator[Image.Image]:
    """Open lazily (header only) with the accepted formats; map failures to InputError."""
    try:
        image = Image.open(path, formats=_registered_formats())
    except BOMB_ERRORS as exc:
        raise InputError(path, f"image too large: {describe(exc)}") from exc
    except UnidentifiedImageError as exc:
        hint = PLUGIN_HINTS.get(path.suffix.lower())
        raise InputError(path, f"not an image ({hint})" if hint else "not an image") from exc
    except (PermissionError, FileNotFoundError) as exc:  # changed since check_file
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from exc
    except Exception as exc:
        raise InputError(path, _damage_reason(exc, "image")) from exc
    with image:
        yield image


def _load(path: Path, image: Image.Image) -> None:
    """Decode the pixels, treating a short file as an error whatever PIL's global switch says."""
    try:
        with _truncated_images_refused():
            image.load()
    except BOMB_ERRORS as exc:
        raise InputError(path, f"image too large: {describe(exc)}") from exc
    except Exception as exc:
        raise InputError(path, _damage_reason(exc, image.format or "image")) from exc


def _exif_upright(path: Path, image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag; on broken EXIF keep the pixels as stored and warn."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception as exc:
        logger.warning("%s: ignoring unreadable EXIF orientation (%s)", path, describe(exc))
        return image


def _damage_reason(exc: Exception, kind: str) -> str:
    """'truncated JPEG' when PIL ran out of data, else 'corrupt JPEG: <what PIL said>'."""
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return f"truncated {kind}"
    return f"corrupt {kind}: {describe(exc)}"


@contextmanager
def _truncated_images_refused() -> Iterator[None]:
    """Force PIL's module-global LOAD_TRUNCATED_IMAGES off while decoding.

    The default is already off, so normally nothing changes. If an application switched it on,
    we flip it off under a lock and restore it; PIL offers no per-image setting.
    """
    if not ImageFile.LOAD_TRUNCATED_IMAGES:
        yield
        return
    with _truncation_lock:
        previous, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous
