"""The vocabulary of face tooling: a detected face, the image-to-crop transform, and the
two injectable interfaces (a face detector and a depth renderer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

Point: TypeAlias = tuple[float, float]


class NoFaceError(Exception):
    """No usable face in an image; `reason` says why (the caller records it and skips)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face, in continuous image pixel coordinates.

    Coordinates put the image's top-left corner at (0, 0), so the centre of pixel column `i`
    is at x = i + 0.5.

    Attributes:
        box: x0, y0, x1, y1 of a box around the face. Cropping centres on it and takes
            max(width, height) as the face size whatever the head's roll, so a detector
            should not return the axis-aligned hull of a rolled face.
        score: detector confidence in [0, 1].
        left_eye: centre of the subject's right eye, i.e. the eye on the image's left when the
            face is upright and the photo is not mirrored. Defined on the face, not on the
            image, so it stays meaningful for faces rotated by any angle.
        right_eye: centre of the subject's left eye (the image's right when upright).
        landmarks3d: (K, 3) face-mesh points: x, y in pixels and a relative depth z in pixels
            where nearer to the camera is larger; None when no mesh ran.
    """

    box: tuple[float, float, float, float]
    score: float
    left_eye: Point
    right_eye: Point
    landmarks3d: np.ndarray | None = None

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.box
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f"face box must have x1 > x0 and y1 > y0, got {self.box}")
        marks = self.landmarks3d
        if marks is not None and (marks.ndim != 2 or marks.shape[1] != 3):
            raise ValueError(f"landmarks3d must have shape (K, 3), got {marks.shape}")


@dataclass(frozen=True, eq=False)
class CropTransform:
    """The affine map from image coordinates to the coordinates of a square crop.

    Attributes:
        matrix: (2, 3) affine matrix, crop_xy = matrix[:, :2] @ image_xy + matrix[:, 2].
        size: side of the crop in pixels that the matrix maps into.
    """

    matrix: np.ndarray
    size: int

    def __post_init__(self) -> None:
        if self.matrix.shape != (2, 3):
            raise ValueError(f"transform matrix must be (2, 3), got {self.matrix.shape}")
        if self.size <= 0:
            raise ValueError(f"crop size must be positive, got {self.size}")

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 2) image points into the crop."""
        points = np.asarray(points, dtype=np.float64)
        return points @ self.matrix[:, :2].T + self.matrix[:, 2]

    def inverse(self) -> np.ndarray:
        """The (2, 3) affine matrix from crop coordinates back to the image."""
        linear = np.linalg.inv(self.matrix[:, :2])
        return np.hstack([linear, -linear @ self.matrix[:, 2:]])

    def resized(self, size: int) -> CropTransform:
        """The same crop window, mapped into a crop of another side (e.g. the depth map)."""
        return CropTransform(self.matrix * (size / self.size), size)

    @property
    def scale(self) -> float:
        """Crop pixels per image pixel."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))


FaceDetector: TypeAlias = Callable[[np.ndarray], list[Face]]
"""uint8 RGB image (H, W, 3) -> the faces found in it, best first."""

DepthRenderer: TypeAlias = Callable[[Face, CropTransform, int], np.ndarray]
"""(face, image-to-crop transform, output side) -> float32 (side, side) depth in [0, 1]."""
