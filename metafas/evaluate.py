"""Scoring frames, aggregating per video, and metrics under named threshold rules.

Threshold rules:
    source_val_eer  the EER threshold on held-out videos of the source domains (realistic);
    target_eer      the EER threshold on the target test set itself (the paper convention;
                    it looks at target labels, so it is labelled oracle everywhere).
"""

from collections.abc import Sequence

import numpy as np
import torch

from metafas import metrics
from metafas.data.loader import FrameReader, ProtocolFrames, ordered_batches
from metafas.data.store import FrameRecord
from metafas.methods import Method

THRESHOLD_RULES = {"source_val_eer": False, "target_eer": True}  # rule -> oracle


def score_frames(
    method: Method, frames: Sequence[FrameRecord], reader: FrameReader, batch_size: int = 64
) -> np.ndarray:
    """Live probability of every frame, in order."""
    device = next(method.parameters()).device
    scores = [
        method.predict(images.to(device)).cpu()
        for images in ordered_batches(frames, reader, batch_size)
    ]
    return torch.cat(scores).numpy().astype(np.float64)


def grouped(frames: Sequence[FrameRecord], scores: np.ndarray, level: str) -> metrics.VideoScores:
    """Frame-level scores as they are, or the mean score per video."""
    labels = [f.label for f in frames]
    attacks = [f.attack for f in frames]
    ids = [f.video_id for f in frames]
    if level == "frame":
        ids = [f"{f.video_id}#{f.frame}" for f in frames]
    return metrics.aggregate_by_video(labels, scores, ids, attacks)


def thresholds(val: metrics.VideoScores, test: metrics.VideoScores) -> dict[str, float]:
    return {
        "source_val_eer": metrics.eer(val.labels, val.scores)[1],
        "target_eer": metrics.eer(test.labels, test.scores)[1],
    }


def evaluate_frames(method: Method, frames: ProtocolFrames, reader: FrameReader) -> list[dict]:
    """Metrics on the target test set, at frame and video level, for every threshold rule."""
    val_scores = score_frames(method, frames.source_val, reader)
    test_scores = score_frames(method, frames.target_test, reader)
    records = []
    for level in ("video", "frame"):
        val = grouped(frames.source_val, val_scores, level)
        test = grouped(frames.target_test, test_scores, level)
        found = thresholds(val, test)
        for rule, threshold in found.items():
            records.append(
                {
                    "level": level,
                    "threshold_rule": rule,
                    "oracle": THRESHOLD_RULES[rule],
                    "threshold": threshold,
                    "threshold_gap": threshold - found["target_eer"],
                    "source_val_auc": metrics.roc_auc(val.labels, val.scores),
                    "metrics": metrics.pad_metrics(
                        test.labels, test.scores, threshold, test.attacks
                    ),
                }
            )
    return records
