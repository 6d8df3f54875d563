"""The Python API: `metafas.load(path)` gives a `Detector`, whose `score` judges a face.

    import metafas
    detector = metafas.load("runs/demo/rfm")
    result = detector.score("face.jpg")
    print(result.decision, result.live_probability, result.threshold, result.threshold_rule)

It is `load_scorer` plus a `Predictor`, so a photo, video or frame is cropped, scored and
decided exactly as `metafas predict` does it, and the same warnings about the checkpoint (e.g. a
model trained on simulated faces) are logged through `logging` when it is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from metafas.deploy.crops import describe_training_data
from metafas.deploy.loading import load_scorer
from metafas.deploy.predict import Prediction, Predictor
from metafas.deploy.scorer import Scorer
from metafas.extras import MissingExtraError
from metafas.faces import FaceDetector, NoFaceError
from metafas.media import DEFAULT_MAX_PIXELS, FrameSampling, InputError
from metafas.media.color import to_rgb_array

Frame = np.ndarray | Image.Image
Media = str | os.PathLike | Frame | Sequence[Frame]

PASSED = (
    "live_probability",
    "decision",
    "threshold",
    "threshold_rule",
    "level",
    "threshold_level",
    "threshold_choice",
    "threshold_note",
    "frames_sampled",
)
"""The fields of a `Prediction` that a `Result` carries as they are."""


@dataclass(frozen=True)
class Result:
    """The judgement of one input (an image, a video, or a list of frames).

    Attributes:
        live_probability: the model's live probability; a video's or a frame list's is the
            mean over its frames with a face.
        decision: "live" (live_probability >= threshold) or "spoof".
        threshold: the decision threshold, from the rule `threshold_rule` (`source_val_eer`,
            `fixed` or `default_0.5`; see `metafas.deploy.Threshold`).
        level: "frame" for one image (judged with the frame-level threshold), "video" for a
            video's or a frame list's mean (the video-level one).
        threshold_level: the level the threshold was calibrated at (None for fixed and default
            thresholds); it differs from `level` only for a checkpoint from before thresholds
            per level, and `threshold_note` then says so.
        threshold_choice: how a source_val_eer threshold was placed: "eer", or
            "gap_midpoint_logit" where source validation separated perfectly.
        face_box: (x0, y0, x1, y1) in pixels of the first scored frame's face (the whole frame
            without detection).
        face_score: the detector's confidence for that face (None without detection).
        frames: per scored frame: index, live_probability, face_box, face_score.
        frames_sampled: frames looked at (those without a face are not scored).
    """

    live_probability: float
    decision: str
    threshold: float
    threshold_rule: str
    level: str
    threshold_level: str | None
    threshold_choice: str | None
    threshold_note: str | None
    face_box: tuple[float, float, float, float]
    face_score: float | None
    frames: tuple[dict, ...]
    frames_sampled: int

    @property
    def is_live(self) -> bool:
        return self.decision == "live"

    @classmethod
    def from_prediction(cls, prediction: Prediction) -> Result:
        """The result of a scored prediction, with the first frame's face."""
        copied = {f.name: getattr(prediction, f.name) for f in fields(cls) if f.name in PASSED}
        first = prediction.frames[0]
        return cls(
            **copied,
            face_box=tuple(first["face_box"]),
            face_score=first["face_score"],
            frames=tuple(prediction.frames),
        )


class Detector:
    """Scores faces with one model; build it with `metafas.load`.

    Attributes:
        predictor: the `Predictor` doing the work (crop settings, face detector, sampling).
        scorer: the model, its runtime and device, and its threshold.
    """

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor

    @property
    def scorer(self) -> Scorer:
        return self.predictor.scorer

    def __repr__(self) -> str:
        threshold = self.scorer.threshold
        return (
            f"Detector({str(self.scorer.source)!r}, runtime={self.scorer.runtime!r}, "
            f"device={self.scorer.device!r}, threshold={threshold.value:.4g} "
            f"({threshold.rule}), detect={self.predictor.detector is not None})"
        )

    def score(self, media: Media) -> Result:
        """Judge one input: a path to an image or video file, a PIL image, an (H, W, 3) uint8
        RGB array, or a list of such frames (scored as one video: the mean over its frames).

        Raises:
            InputError: the file cannot be read, or an array is not (H, W, 3) uint8.
            NoFaceError: no face in the image or in any of the frames.
        """
        if isinstance(media, (str, os.PathLike)):
            return self._result(self.predictor.predict_file(media))
        if isinstance(media, (np.ndarray, Image.Image)) and not _is_frame_stack(media):
            return self._result(self.predictor.predict_frames("<image>", [(0, self._rgb(media))]))
        if isinstance(media, (Sequence, np.ndarray)) and len(media) > 0:
            frames = [(index, self._rgb(frame)) for index, frame in enumerate(media)]
            return self._result(self.predictor.predict_frames("<frames>", frames))
        raise TypeError(
            "score takes a path, a PIL image, an (H, W, 3) uint8 array or a non-empty list of "
            f"frames, not {type(media).__name__}"
        )

    def _rgb(self, frame: Frame) -> np.ndarray:
        """An upright uint8 RGB array, with the size limit that files get."""
        if isinstance(frame, Image.Image):
            frame = to_rgb_array(ImageOps.exif_transpose(frame))
        elif not isinstance(frame, np.ndarray):
            raise TypeError(f"a frame is a PIL image or a numpy array, not {type(frame).__name__}")
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InputError(
                "<array>", f"expected (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}"
            )
        height, width = frame.shape[:2]
        if height * width > self.predictor.max_pixels:
            limit = self.predictor.max_pixels
            raise InputError("<array>", f"image too large: {width}x{height} (limit {limit})")
        return frame

    @staticmethod
    def _result(prediction: Prediction) -> Result:
        if prediction.error_kind == "no_face":
            raise NoFaceError(prediction.error)
        if not prediction.scored:
            raise InputError(prediction.path, prediction.error)
        return Result.from_prediction(prediction)


def _is_frame_stack(media) -> bool:
    """(N, H, W, 3) arrays are frames; a 3-D array or a PIL image is one frame."""
    return isinstance(media, np.ndarray) and media.ndim == 4


def load(
    path: str | os.PathLike,
    *,
    runtime: str = "auto",
    device: str = "auto",
    threshold: float | None = None,
    detect: bool | FaceDetector = True,
    sampling: str | FrameSampling = "count:8",
    threads: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Detector:
    """Load a run directory (its latest checkpoint), a checkpoint or a `metafas export`.

    Args:
        runtime: "auto" (ONNX Runtime for an export, PyTorch for a checkpoint), "torch", "onnx".
        device: "auto" (CUDA when present), "cpu" or "cuda".
        threshold: a fixed live threshold (rule `fixed`); default the checkpoint's, else 0.5.
        detect: True to find and crop the face as `prepare` did (MediaPipe: the `faces`
            extra), False when the inputs are face crops already, or a face detector to use.
        sampling: frames scored per video file: "count:N", "every:K" or "indices:I,J".
        threads: CPU threads for PyTorch (process-wide) and ONNX Runtime.
        max_pixels: larger images and video frames are refused.
    """
    scorer = load_scorer(Path(path), runtime, threshold, threads, device)
    describe_training_data(scorer.store_info, detect=detect is not False)
    if isinstance(sampling, str):
        sampling = FrameSampling.parse(sampling)
    detector = "default" if detect is True else (detect or None)
    try:
        return Detector(Predictor(scorer, detector, sampling, max_pixels))
    except MissingExtraError as error:
        hint = "or load(..., detect=False) if the inputs are face crops already"
        raise MissingExtraError(f"{error}; {hint}") from None
