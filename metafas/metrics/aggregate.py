"""Frame-to-video aggregation: one mean live score per video, as most FAS protocols report."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from metafas.metrics.validation import as_labels_scores, check_same_length


class VideoScores(NamedTuple):
    """Per-video results in first-appearance order; `attacks` is None when none were given."""

    video_ids: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    attacks: np.ndarray | None


def aggregate_by_video(
    labels: ArrayLike,
    scores: ArrayLike,
    video_ids: ArrayLike,
    attacks: ArrayLike | None = None,
) -> VideoScores:
    """Average frame scores per video.

    Label 1 = live, 0 = spoof; score = live probability. No threshold is involved: threshold the
    returned video scores afterwards. Label (and attack, if given) must be constant within a
    video.

    Returns:
        a `VideoScores` with one entry per video, in order of first appearance.

    Raises:
        ValueError: on invalid input, or a video whose frames disagree on label or attack.
    """
    labels, scores = as_labels_scores(labels, scores)
    video_arr = np.asarray(video_ids)
    check_same_length(labels=labels, video_ids=video_arr)
    first, inverse = _first_appearance(video_arr)
    _check_constant(labels, first, inverse, video_arr, "label")
    counts = np.bincount(inverse)
    mean_scores = np.bincount(inverse, weights=scores) / counts
    video_attacks = None
    if attacks is not None:
        attacks_arr = np.asarray(attacks)
        check_same_length(labels=labels, attacks=attacks_arr)
        _check_constant(attacks_arr, first, inverse, video_arr, "attack")
        video_attacks = attacks_arr[first]
    return VideoScores(video_arr[first], labels[first], mean_scores, video_attacks)


def _first_appearance(video_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First index of each video (in appearance order) and each frame's video position."""
    _, first_sorted, inverse_sorted = np.unique(video_ids, return_index=True, return_inverse=True)
    order = np.argsort(first_sorted)  # unique ids sorted by first appearance
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    return first_sorted[order], position[inverse_sorted.reshape(-1)]


def _check_constant(
    values: np.ndarray,
    first: np.ndarray,
    inverse: np.ndarray,
    video_ids: np.ndarray,
    what: str,
) -> None:
    """Raise ValueError naming the first video whose frames disagree on `what`."""
    differs = values != values[first][inverse]
    if differs.any():
        frame = int(differs.argmax())
        video, expected, found = (
            arr[frame : frame + 1].tolist()[0]
            for arr in (video_ids, values[first][inverse], values)
        )
        raise ValueError(
            f"video {video!r} mixes {what}s {expected!r} and {found!r} (frame {frame}); "
            f"{what} must be constant within a video"
        )
