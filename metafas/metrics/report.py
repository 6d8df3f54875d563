"""Everything a PAD evaluation reports, in one flat dict with stable keys.

Convention: label 1 = live (bona fide), 0 = spoof (attack); score = live probability; a sample
is accepted as live iff score >= threshold.
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from metafas.metrics.curves import bpcer_at_apcer, eer, roc_auc, tpr_at_fpr
from metafas.metrics.rates import apcer_per_attack, error_rates
from metafas.metrics.validation import as_labels_scores, require_classes

APCER_TARGETS = (0.01, 0.05, 0.10)
FPR_TARGETS = (0.01,)


def pad_metrics(
    labels: ArrayLike,
    scores: ArrayLike,
    threshold: float,
    attacks: ArrayLike | None = None,
) -> dict[str, float]:
    """AUC, EER, HTER, APCER, BPCER, ACER, per-attack APCER and fixed-APCER operating points.

    Label 1 = live, 0 = spoof; accepted as live iff score >= threshold. `threshold` is chosen by
    the caller and used for HTER, APCER, BPCER and ACER; AUC, EER, ``BPCER@APCER=x%`` and
    ``TPR@FPR=x%`` pick their own points on these labels (oracle when these are test labels).

    Keys: ``AUC``, ``EER``, ``HTER`` = (APCER_pooled + BPCER) / 2 with all spoofs pooled,
    ``APCER_pooled``, ``APCER`` = the worst species' APCER (ISO/IEC 30107-3; the pooled one when
    `attacks` is None), ``BPCER``, ``ACER`` = (APCER + BPCER) / 2, ``APCER[<attack>]`` per
    species when `attacks` is given, ``BPCER@APCER=1%``, ``=5%``, ``=10%`` and ``TPR@FPR=1%``.
    """
    labels, scores = as_labels_scores(labels, scores)
    require_classes(labels, "pad_metrics")
    pooled_apcer, bpcer = error_rates(labels, scores, threshold)
    per_attack = {} if attacks is None else apcer_per_attack(labels, scores, attacks, threshold)
    worst_apcer = max(per_attack.values(), default=pooled_apcer)
    metrics = {
        "AUC": roc_auc(labels, scores),
        "EER": eer(labels, scores)[0],
        "HTER": (pooled_apcer + bpcer) / 2.0,
        "APCER_pooled": pooled_apcer,
        "APCER": worst_apcer,
        "BPCER": bpcer,
        "ACER": (worst_apcer + bpcer) / 2.0,
    }
    metrics.update({f"APCER[{name}]": value for name, value in per_attack.items()})
    for target in APCER_TARGETS:
        metrics[f"BPCER@APCER={target:.0%}"] = bpcer_at_apcer(labels, scores, target)
    for target in FPR_TARGETS:
        metrics[f"TPR@FPR={target:.0%}"] = tpr_at_fpr(labels, scores, target)
    return metrics
