"""The default face detector: MediaPipe face detection (BlazeFace), then a face mesh on the
detected region for the eye centres, 3D landmarks and a roll-independent face box. Needs the
`faces` extra."""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import numpy as np
from PIL import Image

from metafas.extras import import_extra
from metafas.faces.align import check_image
from metafas.faces.face import Face, FaceDetector
from metafas.faces.native_output import captured_native_output
from metafas.media.limits import MAX_SIDE

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "the MediaPipe face detector needs the faces extra: pip install 'metafas[faces]' "
    "(mediapipe==0.10.21, the last release that ships its face models)"
)

MESH_REGION_SCALE = 2.0
"""The face mesh runs on a square of this many detector-box sides around the box centre."""

MESH_MAX_FACES = 3
"""Meshes per region: a background face can share the region, so the one on the box wins."""

WARM_UP_IMAGE = np.zeros((64, 64, 3), np.uint8)
"""Run through both graphs when they are built: their models load (and log) in their own
threads, and a first frame waits for that, so their notices fall inside the capture."""


def mediapipe_detector(
    min_score: float = 0.5, *, full_range: bool = False, max_faces: int = 1, mesh: bool = True
) -> FaceDetector:
    """Build a MediaPipe face detector (models bundled in the wheel; nothing is downloaded).

    Args:
        min_score: the detector drops faces scoring below this.
        full_range: use the full-range model (faces up to ~5 m) instead of the short-range one
            (within ~2 m, selfies and webcams; higher scores and tighter boxes on those).
        max_faces: how many of the best-scoring faces to return (each costs one mesh run).
        mesh: run the face mesh for eye centres, `landmarks3d` and the box of
            `mesh_face_box`. Where the mesh fails (or is off), a face keeps BlazeFace's box
            and eye keypoints, has no `landmarks3d`, and crops about 5% tighter and lower.

    Raises:
        ImportError: mediapipe is missing, or a release without the bundled face models.
    """
    mp = import_extra("mediapipe", "faces", "the MediaPipe face detector")
    return MediapipeDetector(mp, min_score, full_range=full_range, max_faces=max_faces, mesh=mesh)


class MediapipeDetector:
    """A FaceDetector over MediaPipe's legacy `solutions` API. Not thread-safe: use one per
    worker process."""

    def __init__(
        self, mp: ModuleType, min_score: float, *, full_range: bool, max_faces: int, mesh: bool
    ) -> None:
        if max_faces < 1:
            raise ValueError(f"max_faces must be at least 1, got {max_faces}")
        with captured_native_output(logger):
            connections = self._build(mp, min_score, full_range, mesh)
        # MediaPipe names eyes from the subject's side: its RIGHT_EYE is our left_eye.
        self._left_eye = sorted({i for edge in connections.FACEMESH_RIGHT_EYE for i in edge})
        self._right_eye = sorted({i for edge in connections.FACEMESH_LEFT_EYE for i in edge})
        self._max_faces = max_faces
        self._meshed = not mesh  # the first face mesh logs once more: captured until then
        logger.info(
            "MediaPipe %s face detector ready (full_range=%s, mesh=%s)",
            getattr(mp, "__version__", "?"),
            full_range,
            mesh,
        )

    def _build(self, mp: ModuleType, min_score: float, full_range: bool, mesh: bool) -> Any:
        """The detection and mesh graphs, run once on a blank frame; the mesh's connections."""
        try:
            solutions = mp.solutions
            self._detection = solutions.face_detection.FaceDetection(
                model_selection=int(full_range), min_detection_confidence=min_score
            )
            self._mesh = (
                solutions.face_mesh.FaceMesh(
                    static_image_mode=True, max_num_faces=MESH_MAX_FACES, refine_landmarks=False
                )
                if mesh
                else None
            )
            self._detection.process(WARM_UP_IMAGE)
            if self._mesh is not None:
                self._mesh.process(WARM_UP_IMAGE)
            return solutions.face_mesh_connections
        except (AttributeError, RuntimeError, FileNotFoundError) as err:
            version = getattr(mp, "__version__", "unknown")
            raise ImportError(
                f"mediapipe {version} cannot load its face models; {INSTALL_HINT}"
            ) from err

    def __call__(self, image: np.ndarray) -> list[Face]:
        """Detect faces in a uint8 RGB image, best score first."""
        check_image(image)
        image = np.ascontiguousarray(image)
        if self._meshed:
            return self._detect(image)
        with captured_native_output(logger):
            return self._detect(image)

    def _detect(self, image: np.ndarray) -> list[Face]:
        found = self._detection.process(within_side_limit(image)).detections or []
        found = sorted(found, key=lambda d: d.score[0], reverse=True)[: self._max_faces]
        faces = [self._face_from_detection(d, image.shape) for d in found]
        return [self._add_mesh(image, face) for face in faces] if self._mesh else faces

    def close(self) -> None:
        """Release the MediaPipe graphs."""
        self._detection.close()
        if self._mesh is not None:
            self._mesh.close()

    @staticmethod
    def _face_from_detection(detection: Any, shape: tuple[int, ...]) -> Face:
        """Convert a detection (relative coordinates) to a Face in pixels."""
        height, width = shape[:2]
        data = detection.location_data
        rel = data.relative_bounding_box
        box = (
            rel.xmin * width,
            rel.ymin * height,
            (rel.xmin + rel.width) * width,
            (rel.ymin + rel.height) * height,
        )
        # Keypoint 0 is the subject's right eye (image left), 1 the subject's left eye.
        eyes = [(k.x * width, k.y * height) for k in data.relative_keypoints[:2]]
        return Face(box, float(detection.score[0]), eyes[0], eyes[1])

    def _add_mesh(self, image: np.ndarray, face: Face) -> Face:
        """Run the face mesh around the face; keep the detector's eyes if it fails."""
        x0, y0, x1, y1 = face.box
        side = int(round(max(x1 - x0, y1 - y0) * MESH_REGION_SCALE))
        left, top = int(round((x0 + x1 - side) / 2)), int(round((y0 + y1 - side) / 2))
        region = mesh_region(image, left, top, side)
        meshes = self._mesh.process(region).multi_face_landmarks or []
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        best, best_distance = None, np.inf
        for mesh in meshes:
            marks = _mesh_in_image(mesh, left, top, side)
            eyes = marks[self._left_eye, :2].mean(0), marks[self._right_eye, :2].mean(0)
            middle = (eyes[0] + eyes[1]) / 2
            distance = float(np.linalg.norm(middle - centre))
            if x0 <= middle[0] <= x1 and y0 <= middle[1] <= y1 and distance < best_distance:
                best, best_distance = (marks, *eyes), distance
        self._meshed = self._meshed or bool(meshes)
        if best is None:
            logger.debug("no face mesh on the detected face %s", face.box)
            return face
        marks, left_eye, right_eye = best
        box = mesh_face_box(marks[:, :2], left_eye, right_eye)
        return Face(box, face.score, tuple(left_eye), tuple(right_eye), marks)


def within_side_limit(image: np.ndarray) -> np.ndarray:
    """The image, shrunk (keeping its aspect) if a side exceeds MAX_SIDE.

    OpenCV inside MediaPipe aborts the process on a side of 32767 pixels or more. MediaPipe
    returns coordinates relative to its input, so shrinking changes nothing for the caller
    (the detector looks at 128 pixels anyway). The readers of `metafas.media` already refuse
    larger images; this guards direct callers.
    """
    scale = MAX_SIDE / max(image.shape[:2])
    if scale >= 1:
        return image
    picture = Image.fromarray(image)
    size = tuple(max(1, round(side * scale)) for side in picture.size)
    return np.asarray(picture.resize(size, Image.Resampling.BOX))


def mesh_region(image: np.ndarray, left: int, top: int, side: int) -> np.ndarray:
    """The square (left, top, side) of the image, padded with black where it leaves the image.

    A region wider than MAX_SIDE (it is twice the face box) is cut from a shrunk image, at
    MAX_SIDE: the mesh's landmarks are relative to the region, so they stay valid.
    """
    picture = Image.fromarray(image)
    scale = MAX_SIDE / max(side, 1)
    if scale < 1:
        size = tuple(max(1, round(length * scale)) for length in picture.size)
        picture = picture.resize(size, Image.Resampling.BOX)
        left, top, side = round(left * scale), round(top * scale), MAX_SIDE
    # PIL pads a crop that leaves the image with black, keeping the region square.
    return np.asarray(picture.crop((left, top, left + side, top + side)))


def _mesh_in_image(mesh: Any, left: int, top: int, side: int) -> np.ndarray:
    """(468, 3) landmarks of a mesh found in a square region, in image pixels, nearer = larger z."""
    relative = np.array([(p.x, p.y, p.z) for p in mesh.landmark])
    # x, y scale with the region side; MediaPipe's z uses the x scale, smaller = nearer.
    marks = relative * side + np.array([left, top, 0.0])
    marks[:, 2] = -relative[:, 2] * side
    return marks


def mesh_face_box(
    points: np.ndarray, left_eye: np.ndarray, right_eye: np.ndarray
) -> tuple[float, float, float, float]:
    """A square face box from mesh points that does not depend on the head's roll.

    BlazeFace's box shrinks as the head rolls (by 14-18% at 30 degrees on our samples), which
    would zoom the crop in, and it cuts the forehead. Here the mesh extent is measured along
    and across the eye line: the side is the larger extent, the centre the middle of both
    (it drifts by under 8% up to 45 degrees of roll).

    Args:
        points: (K, 2) mesh points in image pixels.
        left_eye: (2,) centre of the eye on the image's left of the upright face.
        right_eye: (2,) centre of the other eye.
    """
    along = (right_eye - left_eye) / np.linalg.norm(right_eye - left_eye)
    across = np.array([-along[1], along[0]])
    u, v = points @ along, points @ across  # (K,) coordinates in the face's own axes
    side = max(np.ptp(u), np.ptp(v))
    cx, cy = along * (u.min() + u.max()) / 2 + across * (v.min() + v.max()) / 2
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
