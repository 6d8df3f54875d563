"""Scoring image and video files: read frames, crop the face as `prepare` did, score, decide.

A video's live probability is the mean over its sampled frames that show a face (the
video-level convention of evaluation) and is judged at the video-level threshold; a single
image is judged at the frame-level threshold. Every input gets a `Prediction`; failures are
recorded in it, never raised, so one bad file does not stop the others.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from metafas.datasets.records import printable
from metafas.deploy.crops import FaceInput, crop_settings, default_detector, face_input
from metafas.deploy.scorer import Scorer, Threshold
from metafas.faces import FaceDetector, NoFaceError
from metafas.media import FrameSampling, InputError, is_image, is_video, read_frames
from metafas.media.image import DEFAULT_MAX_PIXELS, looks_like_image

logger = logging.getLogger(__name__)


@dataclass
class Prediction:
    """The outcome for one input file; `error` is set (and the scores are None) on failure.

    Attributes:
        threshold, threshold_rule: the threshold applied and its rule (see `Threshold`).
        error_kind: "input" (unreadable or unsupported) or "no_face".
        frames: per scored frame: index, live_probability, face_box, face_score.
        level: "frame" for a single image, "video" for a video's mean score.
        threshold_level: the level that threshold was calibrated at (None for fixed and
            default thresholds); it differs from `level` only for an old checkpoint.
        threshold_choice: "eer" or "gap_midpoint_logit" (for source_val_eer thresholds).
        threshold_note: why that threshold serves here, when it is not the obvious one.
    """

    path: str
    live_probability: float | None
    decision: str | None
    threshold: float
    threshold_rule: str
    frames_sampled: int = 0
    frames: list[dict] | None = None
    error: str | None = None
    error_kind: str | None = None
    level: str | None = None
    threshold_level: str | None = None
    threshold_choice: str | None = None
    threshold_note: str | None = None

    @property
    def scored(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return asdict(self)


class Predictor:
    """Face crops and scores for frames, with one scorer, detector and crop settings.

    Args:
        scorer: the model and its threshold.
        detector: a face detector, None to skip detection (inputs are already face crops),
            or "default" for the MediaPipe detector `prepare` uses.
        sampling: which frames of a video to score.
        max_pixels: larger images and video frames are refused before decoding.
    """

    def __init__(
        self,
        scorer: Scorer,
        detector: FaceDetector | str | None = "default",
        sampling: FrameSampling | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.scorer = scorer
        self.settings = crop_settings(scorer.store_info, scorer.input_size)
        if detector == "default":
            detector = default_detector(self.settings, scorer.store_info)
        self.detector = detector
        self.sampling = sampling or FrameSampling(count=8)
        self.max_pixels = max_pixels

    def predict_file(self, path: str | os.PathLike[str]) -> Prediction:
        """Score one image or video file; errors are recorded in the Prediction."""
        level = input_level(path)
        try:
            frames = list(read_frames(path, self.sampling, self.max_pixels))
        except InputError as error:
            return self.failure(path, error.reason, "input", level=level)
        return self.predict_frames(path, frames, level)

    def predict_frames(
        self,
        path: str | os.PathLike[str],
        frames: list[tuple[int, np.ndarray]],
        level: str | None = None,
    ) -> Prediction:
        """Score (index, uint8 RGB image) frames of one input: mean over frames with a face.

        `level` picks the threshold: "frame" (an image) or "video" (a video's mean); by
        default "frame" for one frame and "video" for several.
        """
        level = level or ("frame" if len(frames) == 1 else "video")
        faces, reasons = self.face_inputs(frames)
        if not faces:
            where = "the image" if len(frames) == 1 else f"any of {len(frames)} sampled frames"
            detail = f" ({reasons[0]})" if reasons and reasons[0] != "no face" else ""
            reason = f"no face in {where}{detail}"
            return self.failure(path, reason, "no_face", len(frames), level)
        scores = self.scorer.score(np.stack([face.image for _, face in faces]))
        return self.success(path, faces, scores, len(frames), level)

    def face_inputs(
        self, frames: list[tuple[int, np.ndarray]]
    ) -> tuple[list[tuple[int, FaceInput]], list[str]]:
        """(index, crop) of the frames with a face, and why the others have none."""
        faces, reasons = [], []
        for index, image in frames:
            try:
                faces.append((index, face_input(image, self.detector, self.settings, self.size)))
            except NoFaceError as error:
                reasons.append(error.reason)
        return faces, reasons

    @property
    def size(self) -> int:
        return self.scorer.input_size

    def success(
        self,
        path,
        faces: list[tuple[int, FaceInput]],
        scores: np.ndarray,
        sampled: int,
        level: str,
    ) -> Prediction:
        probability = float(np.mean(scores))
        threshold = self.scorer.thresholds.at(level)
        frames = [
            {
                "index": index,
                "live_probability": float(score),
                "face_box": list(face.box),
                "face_score": face.score,
            }
            for (index, face), score in zip(faces, scores, strict=True)
        ]
        return Prediction(
            path=str(path),
            live_probability=probability,
            decision=threshold.decide(probability),
            frames_sampled=sampled,
            frames=frames,
            **threshold_fields(threshold, level),
        )

    def failure(
        self, path, reason: str, kind: str, sampled: int = 0, level: str = "video"
    ) -> Prediction:
        return Prediction(
            path=str(path),
            live_probability=None,
            decision=None,
            frames_sampled=sampled,
            error=reason,
            error_kind=kind,
            **threshold_fields(self.scorer.thresholds.at(level), level),
        )


def threshold_fields(threshold: Threshold, level: str) -> dict:
    """The Prediction fields that say which threshold judged an input at `level`, and why."""
    return {
        "threshold": threshold.value,
        "threshold_rule": threshold.rule,
        "level": level,
        "threshold_level": threshold.level,
        "threshold_choice": threshold.choice,
        "threshold_note": threshold.note,
    }


def input_level(path: str | os.PathLike[str]) -> str:
    """The level an input is judged at: "frame" for an image, "video" for anything else (the
    content decides, as in `read_frames`)."""
    return "frame" if looks_like_image(path) or is_image(path) else "video"


def collect_inputs(
    paths: Iterable[str | os.PathLike[str]], unreadable: list[tuple[Path, str]] | None = None
) -> list[Path]:
    """Files as given (in order), and the image and video files under folders (sorted).

    Files inside folders without an image or video extension, and hidden files, are skipped;
    a file named directly is always tried, so an unsupported one gets an error line (as does a
    path that cannot even be looked at). Folders that cannot be listed are appended to
    `unreadable` as (folder, reason) and logged; the others are collected all the same.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if not _is_dir(path):
            found.append(path)
            continue
        inside = [p for p in _files_under(path, unreadable) if not _hidden(p, path)]
        media = [p for p in inside if is_image(p) or is_video(p)]
        if len(media) < len(inside):
            logger.info("%s: skipped %d non-media files", shown(path), len(inside) - len(media))
        if not media:
            logger.warning("%s: no image or video files inside", shown(path))
        found.extend(media)
    return found


def _is_dir(path: Path) -> bool:
    """Path.is_dir, False where the path cannot be looked at (reading it then says why)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _files_under(root: Path, unreadable: list[tuple[Path, str]] | None) -> list[Path]:
    """The files below `root`, sorted; folders that cannot be listed go to `unreadable`."""

    def refused(error: OSError) -> None:
        folder = Path(error.filename or root)
        reason = f"cannot list folder: {error.strerror or error}"
        logger.warning("%s: %s", shown(folder), reason)
        if unreadable is not None:
            unreadable.append((folder, reason))

    files = []
    for folder, _, names in os.walk(root, onerror=refused):
        files.extend(Path(folder) / name for name in names)
    return sorted(files)


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def predict_inputs(
    predictor: Predictor, paths: Iterable[str | os.PathLike[str]]
) -> Iterator[Prediction]:
    """A Prediction per input file of `collect_inputs`, and a failed one (kind "input") per
    folder that could not be listed, so that nothing is left out unseen.

    Raises:
        ValueError: the inputs hold no image or video file and no unreadable folder.
    """
    paths, unreadable = list(paths), []
    files = collect_inputs(paths, unreadable)
    if not files and not unreadable:
        raise ValueError(f"no image or video files found in {' '.join(map(shown, paths))}")
    for folder, reason in unreadable:
        yield predictor.failure(folder, reason, "input")
    for path in files:
        yield predictor.predict_file(path)


def shown(path: str | os.PathLike[str]) -> str:
    """A path as one printable line of UTF-8: bytes that are not UTF-8 as `\\xNN` (as
    `prepare` names them) and control characters escaped (`\\n`, `\\t`, `\\x1b`), so that
    no name breaks or forges a line of the text, CSV or JSON output."""
    return CONTROL_CHARACTERS.sub(_escape, printable(os.fspath(path)))


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return ESCAPES.get(match.group()) or (f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}")


def collect_crops(predictor: Predictor, paths: Iterable[str | os.PathLike[str]]) -> np.ndarray:
    """(N, S, S, 3) face crops of every readable frame with a face under `paths` (e.g. for an
    export's parity check); unreadable files and faceless frames are skipped with a log line."""
    crops = []
    for path in collect_inputs(paths):
        try:
            frames = list(read_frames(path, predictor.sampling, predictor.max_pixels))
        except InputError as error:
            logger.warning("skipping %s", error)
            continue
        faces, reasons = predictor.face_inputs(frames)
        if reasons:
            logger.info("%s: %d frames without a face (%s)", path, len(reasons), reasons[0])
        crops.extend(face.image for _, face in faces)
    size = predictor.size
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)
