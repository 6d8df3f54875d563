"""Bootstrap intervals over seeds and videos, for one method's mean or a paired difference.

Runs of several seeds score the same target videos. A statistic of (seed indices, video
indices), such as "mean over the seeds of method A's HTER minus method B's HTER on those
videos", is recomputed on resamples that draw seeds and videos with replacement; the same
resample serves both methods, so the interval of a difference is paired.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from metafas.metrics.validation import as_labels_scores, require_classes

Statistic = Callable[[np.ndarray, np.ndarray], float]


def seed_video_bootstrap(
    statistic: Statistic,
    labels: ArrayLike,
    n_seeds: int,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(statistic on all seeds and videos, low, high): a percentile (1 - alpha) interval.

    `labels` are the videos' labels (1 = live, 0 = spoof); `statistic(seeds, videos)` gets
    index arrays. Resamples without both classes are skipped. With one seed only videos are
    resampled. Deterministic given `seed`.
    """
    labels, _ = as_labels_scores(labels, np.zeros(len(np.asarray(labels))))
    require_classes(labels, "seed_video_bootstrap")
    if n_seeds < 1 or n_boot < 1 or not 0 < alpha < 1:
        raise ValueError(
            f"need n_seeds, n_boot >= 1 and 0 < alpha < 1; got {n_seeds}, {n_boot}, {alpha}"
        )
    observed = float(statistic(np.arange(n_seeds), np.arange(len(labels))))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        seeds = rng.integers(0, n_seeds, n_seeds)
        videos = rng.integers(0, len(labels), len(labels))
        if 0 < labels[videos].sum() < len(videos):
            values.append(float(statistic(seeds, videos)))
    if not values:
        raise ValueError("seed_video_bootstrap: every resample lacked live or spoof videos")
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return observed, float(low), float(high)
