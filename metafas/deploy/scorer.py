"""Scorers: face crops in, live probabilities out, through PyTorch or ONNX Runtime, with the
threshold (and the rule it came from) that turns a probability into a decision."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from metafas.deploy.artifacts import Artifact
from metafas.training.checkpoint import CheckpointError
from metafas.training.runs import load_method

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
BATCH = 32  # frames per forward pass, bounding memory on long videos


@dataclass(frozen=True)
class Threshold:
    """A live/spoof threshold and the rule that chose it.

    Rules: `source_val_eer` (EER on held-out source videos, from training), `fixed` (given by
    the user) or `default_0.5` (the checkpoint has none). A score >= value is live.
    """

    value: float
    rule: str

    def decide(self, probability: float) -> str:
        return "live" if probability >= self.value else "spoof"


def choose_threshold(metadata: dict, fixed: float | None = None) -> Threshold:
    """The user's fixed threshold, else the checkpoint's, else 0.5 labelled `default_0.5`."""
    if fixed is not None:
        if not 0 <= fixed <= 1:
            raise ValueError(f"--threshold must be in [0, 1] (a live probability), got {fixed}")
        return Threshold(float(fixed), "fixed")
    stored = metadata.get("threshold")
    if not stored:
        return Threshold(DEFAULT_THRESHOLD, "default_0.5")
    value = stored.get("value")
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CheckpointError(f"checkpoint threshold {stored!r} has no finite value")
    return Threshold(float(value), str(stored.get("rule", "stored")))


class Scorer:
    """Scores uint8 RGB face crops of the model's input size; subclasses run the network.

    Attributes:
        runtime: "torch" or "onnx".
        source: the checkpoint or export directory.
        metadata: its state.json or metadata.json (config, threshold, store_info).
        threshold: the decision threshold and its rule.
    """

    runtime = "none"

    def __init__(self, source: Path, metadata: dict, threshold: Threshold) -> None:
        self.source = source
        self.metadata = metadata
        self.threshold = threshold

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

    def __init__(self, artifact: Artifact, threshold: Threshold) -> None:
        super().__init__(artifact.path, artifact.metadata, threshold)
        self.method, _ = load_method(artifact.path, "cpu")

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return self.method.predict(torch.from_numpy(images)).numpy()
