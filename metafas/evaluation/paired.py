"""One method over several seeds, and two methods compared on the same target videos.

Each seed's run gives video-level target scores (the mean of frame scores) and a threshold
from its own source-validation videos. Intervals resample seeds and target videos together
(metafas.metrics.paired), so a difference between two methods is a paired comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from metafas import metrics
from metafas.evaluation.scoring import grouped
from metafas.evaluation.selection import Scores, threshold_for
from metafas.metrics.paired import seed_video_bootstrap


@dataclass(frozen=True)
class SeedScores:
    """Video-level target scores of one method, a row per seed, and each seed's thresholds.

    Attributes:
        video_ids, labels: the target videos (1 = live), (V,).
        scores: live probabilities, (S, V).
        thresholds: rule ("source_val_eer", or "target_eer": oracle) -> (S,) thresholds.
    """

    video_ids: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    thresholds: dict[str, np.ndarray]

    @classmethod
    def from_runs(cls, scores_per_seed: Sequence[Scores]) -> SeedScores:
        """From each seed's scores at the step to report ("source_val" and "target_test")."""
        rows, thresholds, first = [], {"source_val_eer": [], "target_eer": []}, None
        for scores in scores_per_seed:
            val = grouped(scores["source_val"].frames, scores["source_val"].scores, "video")
            test = grouped(scores["target_test"].frames, scores["target_test"].scores, "video")
            first = test if first is None else first
            if not np.array_equal(test.video_ids, first.video_ids):
                raise ValueError("the runs scored different target videos; compare one protocol")
            rows.append(test.scores)
            for rule in thresholds:
                thresholds[rule].append(threshold_for(rule, val, test))
        if first is None:
            raise ValueError("no runs to summarise")
        arrays = {rule: np.array(values) for rule, values in thresholds.items()}
        return cls(first.video_ids, first.labels, np.array(rows), arrays)

    def metric(self, name: str, rule: str = "source_val_eer") -> Callable[[int, np.ndarray], float]:
        """`metric(seed, videos)`: HTER at the seed's threshold of `rule`, or AUC."""
        if name == "AUC":
            return lambda s, v: metrics.roc_auc(self.labels[v], self.scores[s, v])
        threshold = self.thresholds[rule]
        return lambda s, v: metrics.hter(self.labels[v], self.scores[s, v], threshold[s])


def mean_over(metric: Callable[[int, np.ndarray], float]):
    return lambda seeds, videos: float(np.mean([metric(s, videos) for s in seeds]))


def summary(runs: SeedScores, n_boot: int = 1000, seed: int = 0) -> dict:
    """Mean over seeds, 95 % interval (seeds and videos resampled) and spread over seeds of
    HTER at the source-validation threshold and of AUC; the oracle HTER's mean and spread."""
    out = {}
    n_seeds = len(runs.scores)
    for name, metric in (("HTER", runs.metric("HTER")), ("AUC", runs.metric("AUC"))):
        mean, low, high = seed_video_bootstrap(
            mean_over(metric), runs.labels, n_seeds, n_boot, seed=seed
        )
        out[name] = {"mean": mean, "ci": [low, high], "sd": spread(metric, runs)}
    oracle = runs.metric("HTER", "target_eer")
    out["HTER_oracle"] = {
        "mean": mean_over(oracle)(range(n_seeds), all_videos(runs)),
        "sd": spread(oracle, runs),
    }
    return {**out, "seeds": n_seeds, "videos": len(runs.labels)}


def paired_difference(a: SeedScores, b: SeedScores, n_boot: int = 1000, seed: int = 0) -> dict:
    """A minus B in HTER (each at its own source-validation threshold) and in AUC, on the same
    target videos and seeds, with a paired 95 % interval; `within_noise` if it holds 0."""
    if not np.array_equal(a.video_ids, b.video_ids) or len(a.scores) != len(b.scores):
        raise ValueError("a paired comparison needs the same target videos and number of seeds")
    out = {}
    for name in ("HTER", "AUC"):
        difference = mean_over(minus(a.metric(name), b.metric(name)))
        value, low, high = seed_video_bootstrap(
            difference, a.labels, len(a.scores), n_boot, seed=seed
        )
        out[name] = {"difference": value, "ci": [low, high], "within_noise": low <= 0 <= high}
    return out


def minus(first, second) -> Callable[[int, np.ndarray], float]:
    return lambda s, v: first(s, v) - second(s, v)


def spread(metric: Callable[[int, np.ndarray], float], runs: SeedScores) -> float:
    """Standard deviation over seeds (0 for one seed)."""
    values = [metric(s, all_videos(runs)) for s in range(len(runs.scores))]
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def all_videos(runs: SeedScores) -> np.ndarray:
    return np.arange(len(runs.labels))
