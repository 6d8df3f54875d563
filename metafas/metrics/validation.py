"""Input checks shared by the PAD metrics: turn array-likes into clean 1-D arrays or fail loudly."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

CLASS_NAMES = {0: "spoof (0)", 1: "live (1)"}


def as_labels_scores(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert labels (1 = live, 0 = spoof) and live scores.

    Returns:
        labels as an int8 array of 0/1 and scores as a float64 array, both 1-D.

    Raises:
        ValueError: on non 1-D input, mismatched lengths, empty input, labels outside {0, 1}
            or non-finite scores.
    """
    labels_arr = np.asarray(labels)
    scores_arr = np.asarray(scores, dtype=np.float64)
    if labels_arr.ndim != 1 or scores_arr.ndim != 1:
        raise ValueError(
            f"labels and scores must be 1-D; got shapes {labels_arr.shape} and {scores_arr.shape}"
        )
    check_same_length(labels=labels_arr, scores=scores_arr)
    if labels_arr.size == 0:
        raise ValueError("empty input: labels and scores have no samples")
    bad = ~np.isin(labels_arr, (0, 1))
    if bad.any():
        found = np.unique(labels_arr[bad])[:5].tolist()
        raise ValueError(f"labels must be 0 (spoof) or 1 (live); found {found}")
    check_finite(scores_arr, "scores")
    return labels_arr.astype(np.int8), scores_arr


def check_same_length(**arrays: np.ndarray) -> None:
    """Raise ValueError naming the arrays unless all have the same length."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"inputs have different lengths: {described}")


def check_finite(values: np.ndarray, name: str) -> None:
    """Raise ValueError if `values` holds NaN or infinity, saying where."""
    nan = np.isnan(values)
    if nan.any():
        raise ValueError(f"{name} contain {nan.sum()} NaN value(s), first at index {nan.argmax()}")
    inf = np.isinf(values)
    if inf.any():
        raise ValueError(
            f"{name} contain {inf.sum()} infinite value(s), first at index {inf.argmax()}"
        )


def require_classes(labels: np.ndarray, metric: str, needed: tuple[int, ...] = (0, 1)) -> None:
    """Raise ValueError if a class that `metric` needs is absent from `labels`."""
    for cls in needed:
        if not (labels == cls).any():
            raise ValueError(f"{metric} needs {CLASS_NAMES[cls]} samples; none were given")


def check_threshold(threshold: float) -> float:
    """Return `threshold` as a float, rejecting NaN (which would accept nothing silently)."""
    value = float(threshold)
    if np.isnan(value):
        raise ValueError("threshold is NaN; pass a number (decision: live iff score >= threshold)")
    return value


def check_rate(rate: float, name: str) -> float:
    """Return an error-rate target as a float, requiring it to lie in [0, 1]."""
    value = float(rate)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a rate in [0, 1]; got {rate!r}")
    return value
