"""Percentile bootstrap confidence intervals that resample whole groups (videos or subjects).

Frames of one video are not independent, so resampling frames would give intervals that are
too narrow; resampling groups keeps each video's frames together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from metafas.metrics.validation import as_labels_scores, check_same_length, require_classes

logger = logging.getLogger(__name__)

Metric = Callable[[np.ndarray, np.ndarray], float]


def bootstrap_ci(
    metric: Metric,
    labels: ArrayLike,
    scores: ArrayLike,
    groups: ArrayLike,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile (1 - alpha) interval of `metric` over group-level bootstrap resamples.

    Label 1 = live, 0 = spoof; score = live probability. `metric(labels, scores)` applies its
    own threshold rule, e.g. ``lambda y, s: hter(y, s, 0.5)`` for a fixed threshold. Each
    resample draws as many groups as there are, with replacement; resamples lacking a class
    are skipped (and counted in a debug log line). Deterministic given `seed`.

    Raises:
        ValueError: on invalid input or arguments, or if every resample lacked a class.
    """
    labels, scores = as_labels_scores(labels, scores)
    require_classes(labels, "bootstrap_ci")
    _check_bootstrap_args(n_boot, alpha)
    members = _group_members(groups, labels)
    values = _resampled_values(metric, labels, scores, members, n_boot, seed)
    if not values:
        raise ValueError("bootstrap_ci: every resample lacked live or spoof samples")
    if len(values) < n_boot:
        skipped = n_boot - len(values)
        logger.debug("bootstrap_ci skipped %d of %d single-class resamples", skipped, n_boot)
    low, high = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def _check_bootstrap_args(n_boot: int, alpha: float) -> None:
    """Reject a non-positive resample count or an alpha outside (0, 1)."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive number of resamples; got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), e.g. 0.05 for a 95% interval; got {alpha}")


def _group_members(groups: ArrayLike, labels: np.ndarray) -> list[np.ndarray]:
    """Sample indices of each group, groups in sorted order, indices ascending."""
    groups_arr = np.asarray(groups)
    if groups_arr.ndim != 1:
        raise ValueError(f"groups must be 1-D; got shape {groups_arr.shape}")
    check_same_length(labels=labels, groups=groups_arr)
    _, inverse, counts = np.unique(groups_arr, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    return np.split(order, np.cumsum(counts)[:-1])


def _resampled_values(
    metric: Metric,
    labels: np.ndarray,
    scores: np.ndarray,
    members: list[np.ndarray],
    n_boot: int,
    seed: int,
) -> list[float]:
    """`metric` on each of `n_boot` group resamples that contain both classes."""
    live_per_group = np.array([labels[idx].sum() for idx in members])
    spoof_per_group = np.array([len(idx) for idx in members]) - live_per_group
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        picks = rng.integers(0, len(members), size=len(members))
        if live_per_group[picks].sum() == 0 or spoof_per_group[picks].sum() == 0:
            continue
        idx = np.concatenate([members[g] for g in picks])
        values.append(float(metric(labels[idx], scores[idx])))
    return values
