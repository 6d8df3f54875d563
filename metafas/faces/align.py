"""Aligned face crops: rotate so the eyes are level, scale the detector's box with a margin,
resample with PIL. The one entry point for dataset preparation and single-image prediction."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from metafas.faces.face import CropTransform, DepthRenderer, Face, FaceDetector, NoFaceError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CropSettings:
    """How to cut a face out of an image.

    Attributes:
        size: side of the square crop in pixels.
        margin: the crop side is max(box width, box height) * (1 + margin); with the
            MediaPipe detector's forehead-to-chin box, 0.4 leaves a band of hair and
            background (about 14% of the side) around the face.
        min_score: faces whose detector score is below this raise NoFaceError.
        depth_size: side of the depth map rendered for the crop.
    """

    size: int = 256
    margin: float = 0.4
    min_score: float = 0.6
    depth_size: int = 32

    def __post_init__(self) -> None:
        if self.size <= 0 or self.depth_size <= 0:
            raise ValueError(
                f"size and depth_size must be positive, got {self.size}, {self.depth_size}"
            )
        if self.margin <= -1:
            raise ValueError(f"margin must be > -1 (0 crops the box exactly), got {self.margin}")
        if not 0 <= self.min_score <= 1:
            raise ValueError(f"min_score must be in [0, 1], got {self.min_score}")


@dataclass(frozen=True, eq=False)
class Crop:
    """An aligned face crop.

    Attributes:
        image: (size, size, 3) uint8 RGB; parts of the window outside the image are black.
        box: the face's box (`Face.box`) in image coordinates.
        score: the detector's score.
        transform: the image-to-crop affine map.
        depth: (depth_size, depth_size) float32 in [0, 1], or None when no renderer was given.
        has_mesh: whether the face came with a face mesh (`Face.landmarks3d`).
    """

    image: np.ndarray
    box: tuple[float, float, float, float]
    score: float
    transform: CropTransform
    depth: np.ndarray | None = None
    has_mesh: bool = False


def alignment_transform(face: Face, settings: CropSettings) -> CropTransform:
    """The transform that levels the eyes and fits the margin-scaled box into the crop.

    The crop is centred on the box centre and rotated by the roll of the line from `left_eye`
    to `right_eye`, so `left_eye` lands on the crop's left.

    Raises:
        NoFaceError: the eyes coincide, so the face has no roll to level.
    """
    (lx, ly), (rx, ry) = face.left_eye, face.right_eye
    if math.isclose(lx, rx) and math.isclose(ly, ry):
        # A usable-face problem like "no face", so prepare skips it and predict reports it.
        raise NoFaceError(f"eyes coincide at {face.left_eye}; cannot find the face's roll")
    roll = math.atan2(ry - ly, rx - lx)
    x0, y0, x1, y1 = face.box
    side = max(x1 - x0, y1 - y0) * (1 + settings.margin)
    scale = settings.size / side
    cos, sin = math.cos(roll) * scale, math.sin(roll) * scale
    linear = np.array([[cos, sin], [-sin, cos]])  # rotate by -roll, then scale
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    shift = settings.size / 2 - linear @ centre
    return CropTransform(np.hstack([linear, shift[:, None]]), settings.size)


def warp_to_crop(image: np.ndarray, transform: CropTransform) -> np.ndarray:
    """Resample an image into the crop with bilinear interpolation, black outside the image.

    When the crop shrinks the face more than 2x, the window is first box-averaged by an
    integer factor (PIL `reduce`) so that bilinear sampling does not alias.
    """
    window = _window(image.shape, transform)
    if window is None:
        return np.zeros((transform.size, transform.size, 3), np.uint8)
    factor = max(1, int(1 / transform.scale))
    x0, y0, x1, y1 = window
    source = Image.fromarray(image[y0:y1, x0:x1])
    if factor > 1:
        source = source.reduce(factor)
    # A reduced pixel j covers image x in [x0 + j f, x0 + (j + 1) f).
    offset = np.array([x0, y0], dtype=np.float64)
    linear = transform.matrix[:, :2] * factor
    shift = transform.matrix[:, 2] + transform.matrix[:, :2] @ offset
    local = CropTransform(np.hstack([linear, shift[:, None]]), transform.size)
    # PIL samples the source at (inverse @ output pixel centre), pixel centres at i + 0.5.
    warped = source.transform(
        (transform.size, transform.size),
        Image.Transform.AFFINE,
        data=tuple(local.inverse().ravel()),
        resample=Image.Resampling.BILINEAR,
        fillcolor=(0, 0, 0),
    )
    return np.asarray(warped, dtype=np.uint8)


def _window(shape: tuple[int, ...], transform: CropTransform) -> tuple[int, int, int, int] | None:
    """The integer image box that the crop sees (one pixel of slack), or None if outside."""
    corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]]) * transform.size
    inverse = transform.inverse()
    seen = corners @ inverse[:, :2].T + inverse[:, 2]
    height, width = shape[:2]
    x0, y0 = np.floor(seen.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(seen.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    return (int(x0), int(y0), int(x1), int(y1)) if x1 > x0 and y1 > y0 else None


def check_image(image: np.ndarray) -> None:
    """Raise ValueError unless `image` is a uint8 RGB array of shape (H, W, 3)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError(
            f"expected a uint8 numpy RGB image, got {type(image).__name__} "
            f"of dtype {getattr(image, 'dtype', None)}"
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got {image.shape}")


def crop_face(
    image: np.ndarray,
    detector: FaceDetector,
    settings: CropSettings,
    depth: DepthRenderer | None = None,
) -> Crop:
    """Detect the best face, align and crop it, and optionally render its depth map.

    Args:
        image: uint8 RGB (H, W, 3), already upright (EXIF orientation applied).
        detector: returns faces best first; only the first is used.
        settings: crop geometry and the score threshold.
        depth: renders the depth map of the crop (e.g. `mesh_depth`); None skips it.

    Raises:
        NoFaceError: "no face", "low confidence 0.42 < 0.6", or eyes at one point; a depth
            renderer may raise it too (e.g. `mesh_depth` when the face mesh did not run).
    """
    check_image(image)
    faces = detector(image)
    if not faces:
        raise NoFaceError("no face")
    face = faces[0]
    if face.score < settings.min_score:
        score = format_below(face.score, settings.min_score)
        raise NoFaceError(f"low confidence {score} < {settings.min_score}")
    transform = alignment_transform(face, settings)
    depth_map = None if depth is None else depth(face, transform, settings.depth_size)
    logger.debug("cropped face with score %.3f from box %s", face.score, face.box)
    image = warp_to_crop(image, transform)
    return Crop(image, face.box, face.score, transform, depth_map, face.landmarks3d is not None)


def format_below(score: float, limit: float) -> str:
    """`score` with the fewest digits (at least 2) that still read as less than `limit`:
    0.42 -> "0.42", but 0.596 -> "0.596" against 0.6, never "0.60 < 0.6"."""
    for digits in range(2, 10):
        text = f"{score:.{digits}f}"
        if float(text) < limit:
            return text
    return repr(score)
