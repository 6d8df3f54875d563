"""Threshold-free PAD metrics: ROC and DET curves, AUC, EER and fixed-APCER operating points.

Convention: label 1 = live (bona fide), 0 = spoof (attack); score = live probability; a sample
is accepted as live iff score >= threshold. APCER = spoofs accepted, BPCER = lives rejected.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metafas.metrics.validation import as_labels_scores, check_rate, require_classes


def operating_points(
    labels: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count errors at every distinct threshold the scores allow.

    The candidates are the distinct scores in increasing order followed by +inf (reject all),
    which covers every achievable (APCER, BPCER) pair. Expects validated arrays.

    Returns:
        thresholds (ascending), spoofs accepted and lives rejected at each, as integer counts.
    """
    thresholds = np.append(np.unique(scores), np.inf)
    spoof_scores = np.sort(scores[labels == 0])
    live_scores = np.sort(scores[labels == 1])
    spoof_accepted = len(spoof_scores) - np.searchsorted(spoof_scores, thresholds, side="left")
    live_rejected = np.searchsorted(live_scores, thresholds, side="left")
    return thresholds, spoof_accepted.astype(np.int64), live_rejected.astype(np.int64)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of `values`, tied values sharing the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)
    return (last_rank - (counts - 1) / 2.0)[inverse]


def roc_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve, P(live score > spoof score) with ties counting half.

    Computed as the Mann-Whitney U statistic from average ranks. Label 1 = live, 0 = spoof;
    score = live probability. Threshold-free: no threshold is involved.

    Raises:
        ValueError: on invalid input or if either class is missing.
    """
    labels, scores = as_labels_scores(labels, scores)
    require_classes(labels, "roc_auc")
    n_live = int(labels.sum())
    n_spoof = len(labels) - n_live
    live_rank_sum = average_ranks(scores)[labels == 1].sum()
    u_statistic = live_rank_sum - n_live * (n_live + 1) / 2.0
    return float(u_statistic / (n_live * n_spoof))


def roc_curve(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve with live as the positive class: FPR = APCER, TPR = 1 - BPCER.

    Label 1 = live, 0 = spoof; accepted as live iff score >= threshold. Thresholds are every
    distinct score in decreasing order, preceded by +inf (accept nothing), as in
    ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``.

    Returns:
        fpr, tpr and thresholds, all of the same length.
    """
    labels, scores = as_labels_scores(labels, scores)
    require_classes(labels, "roc_curve")
    thresholds, spoof_accepted, live_rejected = operating_points(labels, scores)
    fpr = spoof_accepted / np.count_nonzero(labels == 0)
    tpr = 1.0 - live_rejected / np.count_nonzero(labels == 1)
    return fpr[::-1], tpr[::-1], thresholds[::-1]


def det_curve(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DET curve: APCER (spoofs accepted) against BPCER (lives rejected) per threshold.

    Label 1 = live, 0 = spoof; accepted as live iff score >= threshold. Thresholds are every
    distinct score in increasing order followed by +inf, so APCER falls and BPCER rises.

    Returns:
        apcer, bpcer and thresholds, all of the same length.
    """
    labels, scores = as_labels_scores(labels, scores)
    require_classes(labels, "det_curve")
    thresholds, spoof_accepted, live_rejected = operating_points(labels, scores)
    apcer = spoof_accepted / np.count_nonzero(labels == 0)
    bpcer = live_rejected / np.count_nonzero(labels == 1)
    return apcer, bpcer, thresholds


def eer(labels: ArrayLike, scores: ArrayLike) -> tuple[float, float]:
    """Equal error rate and the threshold that achieves it.

    Label 1 = live, 0 = spoof; accepted as live iff score >= threshold. The threshold is chosen
    on these labels (so on test data it is an oracle threshold): among the candidate
    thresholds of `det_curve`, take the one minimising |APCER - BPCER|, breaking ties by the
    smaller APCER + BPCER, then by the lower threshold. The EER is (APCER + BPCER) / 2 there.
    Comparisons use exact integer counts, so the choice is deterministic.

    Returns:
        (eer, threshold); ``error_rates(labels, scores, threshold)`` reproduces the pair.
    """
    labels, scores = as_labels_scores(labels, scores)
    require_classes(labels, "eer")
    n_live = int(labels.sum())
    n_spoof = len(labels) - n_live
    thresholds, spoof_accepted, live_rejected = operating_points(labels, scores)
    # Both rates scaled by n_spoof * n_live, so equal rates compare equal exactly.
    gap = np.abs(spoof_accepted * n_live - live_rejected * n_spoof)
    total = spoof_accepted * n_live + live_rejected * n_spoof
    best = np.lexsort((thresholds, total, gap))[0]
    rate = (spoof_accepted[best] / n_spoof + live_rejected[best] / n_live) / 2.0
    return float(rate), float(thresholds[best])


def threshold_at_apcer(labels: ArrayLike, scores: ArrayLike, apcer_target: float) -> float:
    """Lowest threshold whose APCER is at most `apcer_target` (ISO/IEC 30107-3 style).

    Label 1 = live, 0 = spoof; accepted as live iff score >= threshold. The threshold is chosen
    from these labels and scores; the lowest one meeting the APCER bound has the smallest
    BPCER. Returns +inf (reject all) when no score meets the bound.
    """
    threshold, _ = _point_at_apcer(labels, scores, apcer_target, "threshold_at_apcer")
    return threshold


def bpcer_at_apcer(labels: ArrayLike, scores: ArrayLike, apcer_target: float) -> float:
    """BPCER at the lowest threshold whose APCER is at most `apcer_target`.

    Label 1 = live, 0 = spoof; accepted as live iff score >= threshold, the threshold being
    ``threshold_at_apcer(labels, scores, apcer_target)`` (no interpolation between points).
    """
    _, bpcer = _point_at_apcer(labels, scores, apcer_target, "bpcer_at_apcer")
    return bpcer


def tpr_at_fpr(labels: ArrayLike, scores: ArrayLike, fpr_target: float) -> float:
    """Live acceptance rate (TPR) at the best threshold whose spoof acceptance (FPR) <= target.

    Label 1 = live, 0 = spoof; accepted as live iff score >= threshold, the threshold being
    ``threshold_at_apcer(labels, scores, fpr_target)``. Equals 1 - BPCER@APCER=fpr_target.
    """
    _, bpcer = _point_at_apcer(labels, scores, fpr_target, "tpr_at_fpr")
    return 1.0 - bpcer


def _point_at_apcer(
    labels: ArrayLike, scores: ArrayLike, apcer_target: float, metric: str
) -> tuple[float, float]:
    """(threshold, BPCER) at the lowest threshold with APCER <= apcer_target."""
    target = check_rate(apcer_target, f"{metric} target")
    labels, scores = as_labels_scores(labels, scores)
    require_classes(labels, metric)
    thresholds, spoof_accepted, live_rejected = operating_points(labels, scores)
    apcer = spoof_accepted / np.count_nonzero(labels == 0)
    # APCER never rises with the threshold and is 0 at +inf, so a first match always exists.
    first = int(np.argmax(apcer <= target))
    bpcer = live_rejected[first] / np.count_nonzero(labels == 1)
    return float(thresholds[first]), float(bpcer)
