"""PAD error rates at a given threshold: APCER, BPCER, HTER, per-attack APCER and ACER.

Convention: label 1 = live (bona fide), 0 = spoof (attack); score = live probability; a sample
is accepted as live iff score >= threshold. The threshold is always an argument: the caller
chooses it by a named rule (fixed 0.5, EER on a dev set, ``oracle`` EER on the test set, ...).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metafas.metrics.validation import (
    as_labels_scores,
    check_same_length,
    check_threshold,
    require_classes,
)


def error_rates(labels: ArrayLike, scores: ArrayLike, threshold: float) -> tuple[float, float]:
    """(APCER, BPCER) at `threshold`, chosen by the caller.

    APCER is the fraction of spoofs (label 0) accepted as live (score >= threshold), also
    called FAR; BPCER is the fraction of lives (label 1) rejected (score < threshold), or FRR.

    Raises:
        ValueError: on invalid input, a NaN threshold, or a missing class.
    """
    threshold = check_threshold(threshold)
    labels, scores = as_labels_scores(labels, scores)
    require_classes(labels, "error_rates")
    apcer = np.mean(scores[labels == 0] >= threshold)
    bpcer = np.mean(scores[labels == 1] < threshold)
    return float(apcer), float(bpcer)


def hter(labels: ArrayLike, scores: ArrayLike, threshold: float) -> float:
    """Half total error rate (APCER + BPCER) / 2, i.e. (FAR + FRR) / 2, at `threshold`.

    Label 1 = live, 0 = spoof; accepted as live iff score >= threshold, chosen by the caller.
    """
    apcer, bpcer = error_rates(labels, scores, threshold)
    return (apcer + bpcer) / 2.0


def apcer_per_attack(
    labels: ArrayLike, scores: ArrayLike, attacks: ArrayLike, threshold: float
) -> dict[str, float]:
    """APCER of each presentation attack instrument (PAI) species, ISO/IEC 30107-3.

    Label 1 = live, 0 = spoof; accepted as live iff score >= threshold, chosen by the caller.
    `attacks` names the species of every sample; entries of live samples are ignored. The
    overall APCER of ISO/IEC 30107-3 is the worst (largest) value.

    Returns:
        species name -> fraction of that species' samples accepted as live, sorted by name.

    Raises:
        ValueError: on invalid input, no spoof sample, or a spoof without an attack name.
    """
    threshold = check_threshold(threshold)
    labels, scores = as_labels_scores(labels, scores)
    require_classes(labels, "apcer_per_attack", needed=(0,))
    spoof_attacks = _spoof_attack_names(labels, attacks)
    spoof_accepted = scores[labels == 0] >= threshold
    return {
        str(name): float(np.mean(spoof_accepted[spoof_attacks == name]))
        for name in np.unique(spoof_attacks)
    }


def acer(
    labels: ArrayLike, scores: ArrayLike, attacks: ArrayLike | None, threshold: float
) -> float:
    """Average classification error rate: (worst per-attack APCER + BPCER) / 2.

    Label 1 = live, 0 = spoof; accepted as live iff score >= threshold, chosen by the caller.
    With ``attacks=None`` all spoofs form one species and ACER equals HTER.
    """
    apcer, bpcer = error_rates(labels, scores, threshold)
    if attacks is not None:
        apcer = max(apcer_per_attack(labels, scores, attacks, threshold).values())
    return (apcer + bpcer) / 2.0


def _spoof_attack_names(labels: np.ndarray, attacks: ArrayLike) -> np.ndarray:
    """Attack names of the spoof samples as strings, refusing missing ones."""
    attacks_arr = np.asarray(attacks, dtype=object)
    if attacks_arr.ndim != 1:
        raise ValueError(f"attacks must be 1-D; got shape {attacks_arr.shape}")
    check_same_length(labels=labels, attacks=attacks_arr)
    spoof_attacks = attacks_arr[labels == 0]
    missing = np.array([name is None or str(name) == "" for name in spoof_attacks], dtype=bool)
    if missing.any():
        index = int(np.flatnonzero(labels == 0)[missing.argmax()])
        raise ValueError(f"spoof sample at index {index} has no attack name")
    return spoof_attacks.astype(str)
