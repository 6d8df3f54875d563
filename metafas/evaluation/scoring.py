"""Scoring frames, aggregating per video, and metrics under named threshold rules.

Threshold rules:
    source_val_eer  the EER threshold on held-out videos of the source domains (realistic);
                    when they separate live from spoof perfectly, the midpoint of the gap in
                    logit space (see `source_val_threshold`);
    target_eer      the EER threshold on the target test set itself (the paper convention;
                    it looks at target labels, so it is labelled oracle everywhere).
The source_val_eer records also carry the threshold's calibration (`calibrate`): how it was
chosen, from how many videos and frames, and a bootstrap interval; checkpoints store it per
level (`checkpoint_threshold`).
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
LEVELS = ("video", "frame")
# How a source_val_eer threshold was placed (the "choice" of a calibration):
THRESHOLD_CHOICES = {
    "eer": "the EER point of metrics.eer (the lowest validation score minimising |APCER-BPCER|)",
    "gap_midpoint_logit": "live and spoof separated perfectly: the midpoint of the gap between "
    "the highest spoof and the lowest live score, in logit space",
}
# Scores of exactly 0 or 1 (a saturated sigmoid) have no finite logit; they are clipped to
# [2^-40, 1 - 2^-40] (a power of two, so 1 - LOGIT_CLIP is exact and the clip symmetric).
LOGIT_CLIP = 2.0**-40
THRESHOLD_BOOTSTRAP = {"n_boot": 1000, "alpha": 0.05, "seed": 0}


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


def source_val_threshold(labels: np.ndarray, scores: np.ndarray) -> tuple[float, str]:
    """The source-validation threshold and its choice ("eer" or "gap_midpoint_logit").

    Label 1 = live; accepted as live iff score >= threshold. It is the EER threshold of
    `metrics.eer`, except when every live score lies above every spoof score: then every value
    in the gap (highest spoof, lowest live] has no validation error, and metrics.eer's
    tie-break would sit on the gap's edge, at the lowest live score. We take the midpoint of
    the gap in logit space (the network's output before its sigmoid), the same margin from
    both classes in the units the network separates them in.
    """
    threshold = metrics.eer(labels, scores)[1]  # also validates the input
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    highest_spoof, lowest_live = scores[labels == 0].max(), scores[labels == 1].min()
    if highest_spoof >= lowest_live:
        return threshold, "eer"
    return gap_midpoint(highest_spoof, lowest_live), "gap_midpoint_logit"


def gap_midpoint(low: float, high: float) -> float:
    """sigmoid(mean(logit(low), logit(high))), kept in (low, high] (else `high`, the EER point)."""
    ends = np.clip(np.array([low, high], dtype=np.float64), LOGIT_CLIP, 1 - LOGIT_CLIP)
    logits = np.log(ends) - np.log1p(-ends)
    middle = float(1 / (1 + np.exp(-logits.mean())))
    return middle if low < middle <= high else float(high)


def calibrate(val: metrics.VideoScores, frames: Sequence[FrameRecord], level: str) -> dict:
    """The source_val_eer threshold at one level, with how it was chosen and how uncertain it is.

    `val` holds the source-validation scores at `level` (from `grouped`), `frames` the frames
    they came from. The interval is a percentile bootstrap of the threshold (same rule on each
    resample), resampling whole validation videos (frames of a video are not independent).
    """
    value, choice = source_val_threshold(val.labels, val.scores)
    videos = {f.video_id: f.label for f in frames}
    groups = val.video_ids if level == "video" else np.array([f.video_id for f in frames])
    low, high = metrics.bootstrap_ci(
        lambda y, s: source_val_threshold(y, s)[0],
        val.labels,
        val.scores,
        groups,
        **THRESHOLD_BOOTSTRAP,
    )
    separated = choice == "gap_midpoint_logit"
    return {
        "rule": "source_val_eer",
        "level": level,
        "value": value,
        "choice": choice,
        "gap": gap_ends(val) if separated else None,
        "eer": metrics.eer(val.labels, val.scores)[0],
        "auc": metrics.roc_auc(val.labels, val.scores),
        "videos": len(videos),
        "live_videos": sum(videos.values()),
        "spoof_videos": len(videos) - sum(videos.values()),
        "frames": len(frames),
        "interval": {"low": low, "high": high, **THRESHOLD_BOOTSTRAP, "resampled": "video"},
    }


def gap_ends(val: metrics.VideoScores) -> list[float]:
    """[highest spoof score, lowest live score]."""
    return [float(val.scores[val.labels == 0].max()), float(val.scores[val.labels == 1].min())]


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
    for level in LEVELS:
        val = grouped(scored["source_val"].frames, scored["source_val"].scores, level)
        test = grouped(scored["target_test"].frames, scored["target_test"].scores, level)
        calibration = calibrate(val, scored["source_val"].frames, level)
        found = {
            "source_val_eer": calibration["value"],
            "target_eer": metrics.eer(test.labels, test.scores)[1],
        }
        for rule, threshold in found.items():
            test_metrics = metrics.pad_metrics(test.labels, test.scores, threshold, test.attacks)
            record = {
                "level": level,
                "threshold_rule": rule,
                "oracle": THRESHOLD_RULES[rule],
                "threshold": threshold,
                "threshold_gap": threshold - found["target_eer"],
                "source_val_auc": calibration["auc"],
                "metrics": test_metrics,
            }
            if rule == "source_val_eer":
                record["calibration"] = calibration
            records.append(record)
    return records


def checkpoint_threshold(records: Sequence[dict]) -> dict | None:
    """The thresholds a checkpoint carries, from the records of one evaluation step.

    `levels` holds the frame and video calibrations (see `calibrate`). `rule`, `value`,
    `level` and `step` at the top repeat the video-level one, which is what checkpoints held
    before thresholds per level (older readers use those). None without a source_val_eer record.
    """
    found = [r for r in records if r["threshold_rule"] == "source_val_eer"]
    video = [r for r in found if r["level"] == "video"]
    if not video:
        return None
    threshold = {"rule": "source_val_eer", "value": video[-1]["threshold"], "level": "video"}
    threshold["step"] = video[-1].get("step")
    levels = {r["level"]: r["calibration"] for r in found if "calibration" in r}
    return {**threshold, "levels": levels} if levels else threshold


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


class ScoresError(ValueError):
    """A scores CSV is damaged or not one `write_scores` wrote."""


def read_scores(path: Path) -> dict[str, ScoredFrames]:
    """The inverse of `write_scores`; a damaged file is refused naming its line."""
    rows: dict[str, list] = {name: [] for name in SCORE_SETS}
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or set(SCORE_FIELDS) - set(reader.fieldnames):
                raise ScoresError(f"{path} is not a scores file (needs {', '.join(SCORE_FIELDS)})")
            for row in reader:
                frame, score = score_row(row, f"{path} line {reader.line_num}")
                rows[row["set"]].append((frame, score))
    except (UnicodeDecodeError, csv.Error) as error:
        raise ScoresError(f"{path} is not a readable scores file: {error}") from None
    return {
        name: ScoredFrames([f for f, _ in items], np.array([s for _, s in items]))
        for name, items in rows.items()
    }


def score_row(row: dict, where: str) -> tuple[FrameRecord, float]:
    """One row of a scores file as (frame, score); ScoresError names `where` when it is not."""
    if None in row.values() or None in row:
        raise ScoresError(
            f"{where}: {len([v for v in row.values() if v is not None])} fields, "
            f"expected {len(SCORE_FIELDS)} (a truncated or damaged file)"
        )
    if row["set"] not in SCORE_SETS:
        raise ScoresError(f"{where}: unknown set {row['set']!r}; known: {', '.join(SCORE_SETS)}")
    try:
        frame = FrameRecord(
            **{k: row[k] for k in MANIFEST_FIELDS if k not in ("frame", "label")},
            frame=int(row["frame"]),
            label=int(row["label"]),
        )
        score = float(row["score"])
    except ValueError as error:
        raise ScoresError(f"{where}: {error}") from None
    if frame.label not in (0, 1) or not 0 <= score <= 1:
        raise ScoresError(f"{where}: label {frame.label} or score {score} out of range")
    return frame, score
