"""What a report shows, read from a run directory: curves, thresholds, mistakes, crops."""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metafas.data.simulated import default_store_path
from metafas.evaluation.records import read_records
from metafas.evaluation.scoring import ScoredFrames, grouped
from metafas.evaluation.selection import Run, Scores, select_step, threshold_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thresholds:
    """The source-validation EER threshold and the oracle target EER threshold at one level."""

    source_val_eer: float
    target_eer: float  # oracle: chosen on target labels


def level_thresholds(scores: Scores, level: str) -> Thresholds:
    val = grouped(scores["source_val"].frames, scores["source_val"].scores, level)
    test = grouped(scores["target_test"].frames, scores["target_test"].scores, level)
    return Thresholds(
        threshold_for("source_val_eer", val, test), threshold_for("target_eer", val, test)
    )


def training_scalars(run_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Scalars `train/*` from the tensorboard events: tag -> (steps, values); {} without any."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = Path(run_dir) / "tensorboard"
    if not events.is_dir():
        log.warning("no tensorboard events in %s; training losses left out", run_dir)
        return {}
    accumulator = EventAccumulator(str(events), size_guidance={"scalars": 0})
    accumulator.Reload()
    found = {}
    for tag in accumulator.Tags().get("scalars", []):
        if tag.startswith("train/"):
            points = accumulator.Scalars(tag)
            found[tag] = (np.array([p.step for p in points]), np.array([p.value for p in points]))
    return found


def eval_curves(run_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Video-level evaluation metrics per step from results.jsonl: label -> (steps, values)."""
    curves: dict[str, dict[int, float]] = {}
    for record in read_records(Path(run_dir) / "results.jsonl"):
        if record["level"] != "video":
            continue
        rule = record["threshold_rule"] + (" (oracle)" if record["oracle"] else "")
        step = record["step"]
        curves.setdefault(f"target HTER @ {rule}", {})[step] = record["metrics"]["HTER"]
        curves.setdefault("target AUC", {})[step] = record["metrics"]["AUC"]
        curves.setdefault("source-val AUC", {})[step] = record["source_val_auc"]
    return {
        name: (np.array(sorted(points)), np.array([points[s] for s in sorted(points)]))
        for name, points in curves.items()
    }


def store_root(config: dict) -> Path:
    """The run's prepared-data store; "" is the cached simulated default store."""
    store = config["data"]["store"]
    return Path(store) if store else default_store_path(config["model"]["input_size"])


@dataclass(frozen=True)
class Mistake:
    image: Path
    label: int
    attack: str
    domain: str
    score: float


def confident_mistakes(
    target: ScoredFrames, threshold: float, root: Path, per_kind: int = 8
) -> tuple[list[Mistake], list[Mistake]]:
    """Target frames on the wrong side of `threshold`, most confident first, one per video.

    Returns (lives rejected, lowest score first; spoofs accepted, highest score first).
    """
    labels = np.array([f.label for f in target.frames])
    scores = target.scores
    rejected = np.flatnonzero((labels == 1) & (scores < threshold))
    accepted = np.flatnonzero((labels == 0) & (scores >= threshold))
    rejected = rejected[np.argsort(scores[rejected], kind="stable")]
    accepted = accepted[np.argsort(-scores[accepted], kind="stable")]
    return (
        [mistake(target, i, root) for i in one_per_video(target, rejected)[:per_kind]],
        [mistake(target, i, root) for i in one_per_video(target, accepted)[:per_kind]],
    )


def one_per_video(target: ScoredFrames, indices: np.ndarray) -> list[int]:
    """The first index of each video, keeping the order (so the grid shows distinct videos)."""
    seen: set[str] = set()
    kept = []
    for index in indices:
        video = target.frames[index].video_id
        if video not in seen:
            seen.add(video)
            kept.append(int(index))
    return kept


def mistake(target: ScoredFrames, index: int, root: Path) -> Mistake:
    frame = target.frames[index]
    return Mistake(
        root / frame.image, frame.label, frame.attack, frame.domain, float(target.scores[index])
    )


@dataclass(frozen=True)
class SelectedSteps:
    last: int
    source_val: int
    oracle: int  # chosen on target labels


def selected_steps(run: Run) -> SelectedSteps:
    """The step each selection rule picks (the oracle one from target labels)."""
    return SelectedSteps(
        *(select_step(rule, run.scores) for rule in ("last", "source_val", "oracle"))
    )
