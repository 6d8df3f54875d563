"""Face crops at prediction time, cut exactly as `prepare` cut the training frames.

The crop settings come from the checkpoint's `store_info` (written by `prepare`); without them
the defaults of `CropSettings` apply, with the crop side set to the model's input size. Crops
are then resized to the model input with bilinear filtering, as the training loader does.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image

from metafas.faces import CropSettings, FaceDetector, crop_face
from metafas.training.model_card import is_simulated

logger = logging.getLogger(__name__)

SETTING_NAMES = tuple(field.name for field in dataclasses.fields(CropSettings))


@dataclass(frozen=True)
class FaceInput:
    """One frame ready for the network.

    Attributes:
        image: (S, S, 3) uint8 RGB at the model's input size.
        box: the face box in image pixels (x0, y0, x1, y1); the whole frame with --no-detect.
        score: the detector's confidence, None when detection was skipped.
    """

    image: np.ndarray
    box: tuple[float, float, float, float]
    score: float | None


def crop_settings(store_info: dict, input_size: int) -> CropSettings:
    """The crop settings the training frames were made with, else defaults at the input size.

    `prepare` records them in the store info under preprocessing.crop (a "crop" entry at the
    top level is accepted too).
    """
    recorded = _recorded_crop(store_info)
    if recorded is None:
        return CropSettings(size=input_size)
    values = {name: recorded[name] for name in SETTING_NAMES if name in recorded}
    try:
        return CropSettings(**values)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"checkpoint store_info has invalid crop settings {values}: {error}"
        ) from None


def warn_about_training_data(model_card: dict | None, store_info: dict) -> None:
    """Warn (through logging) when the model card, or without one the store info, says the
    training frames were simulated. Scorers call this when they load a model."""
    if model_card is not None:
        simulated = bool((model_card.get("training_data") or {}).get("simulated"))
        where = "its model card says so"
    else:
        simulated, where = is_simulated(store_info), "store_info source=simulator"
    if simulated:
        logger.warning(
            "this model was trained on simulated faces (%s), not on detected real face crops: "
            "its scores on real images are not meaningful",
            where,
        )


def describe_training_data(store_info: dict, detect: bool) -> None:
    """Warn when the training faces were detected but their crop settings are not recorded.

    (The warning about simulated training data comes when the model loads:
    `warn_about_training_data`.)
    """
    if detect and not is_simulated(store_info) and _recorded_crop(store_info) is None:
        logger.warning(
            "the checkpoint does not record how its training faces were cropped; using the "
            "default crop settings, which may not match"
        )


def _recorded_crop(store_info: dict) -> dict | None:
    """The crop settings `prepare` recorded (under preprocessing.crop), or None."""
    for holder in (store_info.get("preprocessing"), store_info):
        crop = holder.get("crop") if isinstance(holder, dict) else None
        if isinstance(crop, dict) and "margin" in crop:
            return crop
    return None


def default_detector(settings: CropSettings, store_info: dict) -> FaceDetector:
    """The MediaPipe detector `prepare` uses (the `faces` extra), built the same way.

    It keeps faces down to a score of 0.3 so that crop_face can name a low-confidence face
    ("low confidence 0.42 < 0.6") instead of reporting no face at all.
    """
    from metafas.prepare.settings import build_mediapipe

    recorded = (store_info.get("preprocessing") or {}).get("detector")
    if isinstance(recorded, str) and not recorded.startswith("mediapipe"):
        logger.warning("the training faces were found by %r; using MediaPipe here", recorded)
    return build_mediapipe(settings.min_score)


def face_input(
    image: np.ndarray, detector: FaceDetector | None, settings: CropSettings, input_size: int
) -> FaceInput:
    """Crop the best face (or take the whole frame if `detector` is None) at the model size.

    Raises:
        NoFaceError: no face, or one below the settings' min_score.
    """
    if detector is None:
        height, width = image.shape[:2]
        return FaceInput(resize(image, input_size), (0.0, 0.0, float(width), float(height)), None)
    crop = crop_face(image, detector, settings)
    box = tuple(float(v) for v in crop.box)
    return FaceInput(resize(crop.image, input_size), box, float(crop.score))


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Square uint8 RGB at `size` with bilinear filtering (as the training loader resizes)."""
    if image.shape[:2] == (size, size):
        return image
    resized = Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)
