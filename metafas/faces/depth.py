"""Pseudo-depth maps from a face mesh: the auxiliary supervision for live faces (RFM used PRNet
depth; here the mesh's relative depth is rendered with a z-buffer)."""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay, QhullError

from metafas.faces.face import CropTransform, Face, NoFaceError

FACE_EDGE_DEPTH = 0.1
"""Depth given to the farthest mesh point, so the face stays distinct from the background (0)."""


def mesh_depth(
    face: Face, transform: CropTransform, size: int, *, edge: float = FACE_EDGE_DEPTH
) -> np.ndarray:
    """Render the face mesh's depth into the crop window at `size` x `size`.

    The mesh needs no known topology: it is triangulated (Delaunay) in its own frontal plane,
    where a face is a height field, then its triangles are drawn into the crop keeping the
    nearest surface per pixel, so parts hidden by a turned head do not show. Depth is rescaled
    so the nearest mesh point is 1 and the farthest `edge`; pixels off the face are 0.

    Args:
        face: a face with `landmarks3d` (z larger = nearer).
        transform: the image-to-crop transform of the crop the map belongs to.
        size: side of the depth map.
        edge: depth of the farthest mesh point, in (0, 1).

    Returns:
        float32 (size, size) in [0, 1].

    Raises:
        NoFaceError: the face has no mesh (the caller records it and skips the frame).
        ValueError: the mesh is degenerate (flat in depth, or its points on a line).
    """
    if face.landmarks3d is None:
        raise NoFaceError("no face mesh for the depth map")
    if not 0 < edge < 1:
        raise ValueError(f"edge must be in (0, 1), got {edge}")
    marks = np.asarray(face.landmarks3d, dtype=np.float64)
    nearness = _normalise(marks[:, 2], edge)
    triangles = _frontal_triangles(marks)
    points = transform.resized(size).apply(marks[:, :2])  # (K, 2) in depth-map pixels
    return _rasterise_nearest(points[triangles], nearness[triangles], size)


def box_depth(
    face: Face, transform: CropTransform, size: int, *, edge: float = FACE_EDGE_DEPTH
) -> np.ndarray:
    """A template depth map for a face without a mesh: half an ellipsoid over the face box.

    The ellipse is the one inscribed in the face box, mapped into the crop (whose axes follow
    the eye line); depth is 1 at its centre, falls to `edge` at its rim like a sphere's
    height, and is 0 outside, on the scale of `mesh_depth`. It carries no shape beyond "a face
    is a convex surface where the box is", which is what tells a live face from a flat attack.

    Returns:
        float32 (size, size) in [0, 1].
    """
    if not 0 < edge < 1:
        raise ValueError(f"edge must be in (0, 1), got {edge}")
    x0, y0, x1, y1 = face.box
    resized = transform.resized(size)
    centre = resized.apply(np.array([[(x0 + x1) / 2, (y0 + y1) / 2]]))[0]
    radii = np.array([x1 - x0, y1 - y0]) / 2 * resized.scale
    pixels = np.stack(np.mgrid[0:size, 0:size][::-1], axis=-1) + 0.5  # (size, size, 2): x, y
    reach = (((pixels - centre) / radii) ** 2).sum(axis=-1)  # < 1 inside the ellipse
    height = np.sqrt(np.clip(1 - reach, 0, None))
    return np.where(reach < 1, edge + (1 - edge) * height, 0.0).astype(np.float32)


def face_depth(face: Face, transform: CropTransform, size: int) -> np.ndarray:
    """`mesh_depth` of the face, or its `box_depth` when it has no mesh (a masked face, say)
    or a degenerate one, so that every face `predict` would score keeps a depth target."""
    if face.landmarks3d is not None:
        try:
            return mesh_depth(face, transform, size)
        except ValueError:
            pass  # a flat or collinear mesh: the box is the better guess
    return box_depth(face, transform, size)


def _normalise(z: np.ndarray, edge: float) -> np.ndarray:
    """Map z linearly so its maximum becomes 1 and its minimum `edge`."""
    low, high = float(z.min()), float(z.max())
    if high - low <= 1e-9:
        raise ValueError("the mesh is flat: all landmarks3d have the same depth")
    return edge + (1 - edge) * (z - low) / (high - low)


def _frontal_triangles(marks: np.ndarray) -> np.ndarray:
    """(T, 3) vertex indices of a Delaunay triangulation in the mesh's own frontal plane.

    The frontal plane is spanned by the two principal axes of largest spread: a face is wider
    and taller than it is deep, whatever way the head is turned.
    """
    centred = marks - marks.mean(axis=0)
    _, axes = np.linalg.eigh(centred.T @ centred)  # columns by increasing variance
    frontal = centred @ axes[:, 1:]  # (K, 2)
    try:
        return Delaunay(frontal).simplices
    except QhullError as err:
        raise ValueError(f"cannot triangulate the {len(marks)} mesh points: {err}") from err


def _rasterise_nearest(corners: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Draw triangles into a (size, size) map, keeping the largest interpolated value per pixel.

    Args:
        corners: (T, 3, 2) vertex positions in pixels (pixel centres at i + 0.5).
        values: (T, 3) vertex values, all positive (the background stays 0).
    """
    tri, px, py = _candidate_pixels(corners, size)
    a, b, c = corners[tri, 0], corners[tri, 1], corners[tri, 2]  # (N, 2) each
    p = np.stack([px, py], axis=1) + 0.5
    area = _cross(b - a, c - a)
    valid = np.abs(area) > 1e-12
    area = np.where(valid, area, 1.0)
    weights = np.stack([_cross(b - p, c - p), _cross(c - p, a - p), _cross(a - p, b - p)], 1)
    weights = weights / area[:, None]  # (N, 3) barycentric coordinates
    inside = valid & (weights >= -1e-9).all(axis=1)
    value = (weights * values[tri]).sum(axis=1)
    depth = np.zeros(size * size)
    np.maximum.at(depth, (py * size + px)[inside], value[inside])
    return np.clip(depth, 0.0, 1.0).reshape(size, size).astype(np.float32)


def _candidate_pixels(corners: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """(triangle index, x, y) of every pixel whose centre lies in a triangle's bounding box."""
    low = np.clip(np.ceil(corners.min(axis=1) - 0.5), 0, size).astype(int)  # (T, 2)
    high = np.clip(np.floor(corners.max(axis=1) - 0.5), -1, size - 1).astype(int)
    span = np.maximum(high - low + 1, 0)  # (T, 2) pixels per axis
    count = span[:, 0] * span[:, 1]
    tri = np.repeat(np.arange(len(corners)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    width = span[tri, 0]
    return tri, low[tri, 0] + k % width, low[tri, 1] + k // width


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """z component of the 2D cross product of rows of u and v."""
    return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
