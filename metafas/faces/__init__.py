"""Face tooling: detection, eye-levelled crops and mesh pseudo-depth behind small interfaces.

`crop_face(image, detector, CropSettings(), depth=mesh_depth)` serves dataset preparation and
single-image prediction alike. Only `mediapipe_detector` needs the `faces` extra, imported
lazily.
"""

from metafas.faces.align import Crop, CropSettings, alignment_transform, crop_face, warp_to_crop
from metafas.faces.depth import box_depth, face_depth, mesh_depth
from metafas.faces.face import CropTransform, DepthRenderer, Face, FaceDetector, NoFaceError
from metafas.faces.mediapipe_detector import mediapipe_detector

__all__ = [
    "Crop",
    "CropSettings",
    "CropTransform",
    "DepthRenderer",
    "Face",
    "FaceDetector",
    "NoFaceError",
    "alignment_transform",
    "box_depth",
    "crop_face",
    "face_depth",
    "mediapipe_detector",
    "mesh_depth",
    "warp_to_crop",
]
