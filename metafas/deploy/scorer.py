"""Scorers: face crops in, live probabilities out, through PyTorch or ONNX Runtime, with the
thresholds (and the rules they came from) that turn a probability into a decision: one for a
single image (frame level) and one for a video's mean score (video level)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from metafas.deploy.artifacts import Artifact, read_model_card
from metafas.deploy.crops import warn_about_training_data
from metafas.training.checkpoint import CheckpointError
from metafas.training.hardware import resolve_device
from metafas.training.runs import load_method

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
BATCH = 32  # frames per forward pass, bounding memory on long videos


LEVELS = ("frame", "video")
NO_FRAME_THRESHOLD = (
    "the checkpoint stores only a video-level threshold (written before thresholds per level): "
    "a single image is judged with it"
)


@dataclass(frozen=True)
class Threshold:
    """A live/spoof threshold and the rule that chose it. A score >= value is live.

    Attributes:
        rule: `source_val_eer` (calibrated on held-out source videos by training), `fixed`
            (given by the user) or `default_0.5` (the checkpoint has none).
        level: the level it was calibrated at, "frame" or "video"; None for fixed and default.
        choice: how a source_val_eer threshold was placed: "eer", or "gap_midpoint_logit"
            when source validation separated live from spoof perfectly
            (metafas.evaluation.scoring.source_val_threshold).
        interval: its 95% bootstrap interval (low, high) over validation videos, if known.
        note: why it is used where it is (e.g. a video-level threshold for a single image).
    """

    value: float
    rule: str
    level: str | None = None
    choice: str | None = None
    interval: tuple[float, float] | None = None
    note: str | None = None

    def decide(self, probability: float) -> str:
        return "live" if probability >= self.value else "spoof"

    def describe(self) -> str:
        """e.g. "frame-level source_val_eer" or "video-level source_val_eer, gap midpoint"."""
        if self.level is None:
            return self.rule
        text = f"{self.level}-level {self.rule}"
        if self.choice == "gap_midpoint_logit":
            text += ", gap midpoint: validation separated perfectly"
        return text + ("; no frame-level threshold stored" if self.note else "")


@dataclass(frozen=True)
class LevelThresholds:
    """The threshold for a single image ("frame") and for a video's mean score ("video")."""

    frame: Threshold
    video: Threshold

    def at(self, level: str) -> Threshold:
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}; known: {', '.join(LEVELS)}")
        return self.frame if level == "frame" else self.video


def choose_threshold(metadata: dict, fixed: float | None = None, level: str = "video") -> Threshold:
    """The user's fixed threshold, else the checkpoint's for `level`, else 0.5 (`default_0.5`).

    A checkpoint from before thresholds per level holds one video-level threshold; it serves
    the frame level too, with a note saying so.
    """
    if fixed is not None:
        if not 0 <= fixed <= 1:
            raise ValueError(f"--threshold must be in [0, 1] (a live probability), got {fixed}")
        return Threshold(float(fixed), "fixed")
    stored = metadata.get("threshold")
    if not stored:
        return Threshold(DEFAULT_THRESHOLD, "default_0.5")
    levels = stored.get("levels") or {}
    if level in levels:
        return stored_threshold(levels[level], level)
    note = NO_FRAME_THRESHOLD if level == "frame" else None
    return stored_threshold(stored, stored.get("level", "video"), note)


def stored_threshold(entry: dict, level: str, note: str | None = None) -> Threshold:
    """A Threshold from a checkpoint's record of one (see scoring.checkpoint_threshold)."""
    value = entry.get("value")
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CheckpointError(f"checkpoint threshold {entry!r} has no finite value")
    interval = entry.get("interval")
    return Threshold(
        float(value),
        str(entry.get("rule", "stored")),
        level,
        entry.get("choice", "eer"),
        (interval["low"], interval["high"]) if interval else None,
        note,
    )


def choose_thresholds(metadata: dict, fixed: float | None = None) -> LevelThresholds:
    """`choose_threshold` at both levels."""
    return LevelThresholds(*(choose_threshold(metadata, fixed, level) for level in LEVELS))


def log_thresholds(thresholds: LevelThresholds) -> None:
    """Log both thresholds with their intervals; warn when an image gets a video threshold."""
    for level, what in (("frame", "a single image"), ("video", "a video's mean score")):
        chosen = thresholds.at(level)
        span = ""
        if chosen.interval:
            span = ", 95% interval [{:.4f}, {:.4f}]".format(*chosen.interval)
        logger.info("threshold for %s: %.4f (%s%s)", what, chosen.value, chosen.describe(), span)
    if thresholds.frame.note:
        logger.warning(thresholds.frame.note)


class Scorer:
    """Scores uint8 RGB face crops of the model's input size; subclasses run the network.

    Attributes:
        runtime: "torch" or "onnx".
        device: where the network runs ("cpu" or a CUDA device).
        source: the checkpoint or export directory.
        metadata: its state.json or metadata.json (config, threshold, store_info).
        thresholds: the decision thresholds per level, with their rules.
        model_card: its model_card.json (None for artifacts written before model cards).
    """

    runtime = "none"
    device = "cpu"

    def __init__(
        self, source: Path, metadata: dict, threshold: LevelThresholds | Threshold
    ) -> None:
        self.source = source
        self.metadata = metadata
        if isinstance(threshold, Threshold):  # choose_threshold's: fixed, or the stored video one
            fixed = threshold.value if threshold.rule == "fixed" else None
            threshold = choose_thresholds(metadata, fixed)
        self.thresholds = threshold
        self.model_card = read_model_card(source)
        warn_about_training_data(self.model_card, self.store_info)
        log_thresholds(threshold)

    @property
    def threshold(self) -> Threshold:
        """The video-level threshold (a video's mean score); `thresholds.at(level)` for others."""
        return self.thresholds.video

    @property
    def input_size(self) -> int:
        return int(self.metadata["config"]["model"]["input_size"])

    @property
    def store_info(self) -> dict:
        return self.metadata.get("store_info") or {}

    def score(self, crops: np.ndarray) -> np.ndarray:
        """(B, S, S, 3) uint8 RGB -> (B,) float live probabilities."""
        size = self.input_size
        if crops.ndim != 4 or crops.shape[1:] != (size, size, 3):
            raise ValueError(f"expected crops of shape (B, {size}, {size}, 3), got {crops.shape}")
        chunks = [
            self.probabilities(crops[i : i + BATCH].transpose(0, 3, 1, 2).astype(np.float32) / 255)
            for i in range(0, len(crops), BATCH)
        ]
        return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(B, 3, S, S) float32 RGB in [0, 1] -> (B,) live probabilities."""
        raise NotImplementedError


class TorchScorer(Scorer):
    """The method's own `predict` (so bf16-trained checkpoints score as they were evaluated)."""

    runtime = "torch"

    def __init__(self, artifact: Artifact, threshold: Threshold, device: str = "cpu") -> None:
        super().__init__(artifact.path, artifact.metadata, threshold)
        # train.precision is resolved for this device (bf16 only where it is native).
        self.method, _ = load_method(artifact.path, str(resolve_device(device)))
        self.device = str(next(self.method.parameters()).device)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return self.method.predict(torch.from_numpy(images).to(self.device)).cpu().numpy()
