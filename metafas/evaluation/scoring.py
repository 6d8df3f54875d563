"""Scoring frames, aggregating per video, and metrics under named threshold rules.

Threshold rules:
    source_val_eer  the EER threshold on held-out videos of the source domains (realistic);
    target_eer      the EER threshold on the target test set itself (the paper convention;
                    it looks at target labels, so it is labelled oracle everywhere).
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from metafas import metrics
from metafas.data.atomic import atomic_write_text
from metafas.data.batch import unit_float
from metafas.data.loader import FrameReader, ProtocolFrames, ordered_batches
from metafas.data.store import MANIFEST_FIELDS, FrameRecord
from metafas.methods import Method

THRESHOLD_RULES = {"source_val_eer": False, "target_eer": True}  # rule -> oracle


def score_frames(
    method: Method, frames: Sequence[FrameRecord], reader: FrameReader, batch_size: int = 64
) -> np.ndarray:
    """Live probability of every frame, in order."""
    device = next(method.parameters()).device
    scores = [
        method.predict(unit_float(images.to(device))).cpu()
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


@dataclass
class ScoredFrames:
    """Frames with the model's live probability for each."""

    frames: list[FrameRecord]
    scores: np.ndarray


SCORE_SETS = ("source_val", "target_test")
SCORE_FIELDS = ("set", *MANIFEST_FIELDS, "score")


def score_protocol(
    method: Method, frames: ProtocolFrames, reader: FrameReader
) -> dict[str, ScoredFrames]:
    """Scores of the source-validation and the target-test frames."""
    sets = {"source_val": frames.source_val, "target_test": frames.target_test}
    return {name: ScoredFrames(f, score_frames(method, f, reader)) for name, f in sets.items()}


def records_from_scores(scored: dict[str, ScoredFrames]) -> list[dict]:
    """Metrics on the target test set, at frame and video level, for every threshold rule."""
    records = []
    for level in ("video", "frame"):
        val = grouped(scored["source_val"].frames, scored["source_val"].scores, level)
        test = grouped(scored["target_test"].frames, scored["target_test"].scores, level)
        found = thresholds(val, test)
        for rule, threshold in found.items():
            test_metrics = metrics.pad_metrics(test.labels, test.scores, threshold, test.attacks)
            records.append(
                {
                    "level": level,
                    "threshold_rule": rule,
                    "oracle": THRESHOLD_RULES[rule],
                    "threshold": threshold,
                    "threshold_gap": threshold - found["target_eer"],
                    "source_val_auc": metrics.roc_auc(val.labels, val.scores),
                    "metrics": test_metrics,
                }
            )
    return records


def evaluate_frames(method: Method, frames: ProtocolFrames, reader: FrameReader) -> list[dict]:
    return records_from_scores(score_protocol(method, frames, reader))


def write_scores(path: Path, scored: dict[str, ScoredFrames]) -> Path:
    """Frame scores as CSV (one row per frame, with its manifest fields), written atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SCORE_FIELDS, lineterminator="\n")
    writer.writeheader()
    for name, item in scored.items():
        for frame, score in zip(item.frames, item.scores, strict=True):
            writer.writerow({"set": name, **asdict(frame), "score": repr(float(score))})
    return atomic_write_text(path, buffer.getvalue())


def read_scores(path: Path) -> dict[str, ScoredFrames]:
    """The inverse of `write_scores`."""
    rows: dict[str, list] = {name: [] for name in SCORE_SETS}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            frame = FrameRecord(
                **{k: row[k] for k in MANIFEST_FIELDS if k not in ("frame", "label")},
                frame=int(row["frame"]),
                label=int(row["label"]),
            )
            rows[row["set"]].append((frame, float(row["score"])))
    return {
        name: ScoredFrames([f for f, _ in items], np.array([s for _, s in items]))
        for name, items in rows.items()
    }
