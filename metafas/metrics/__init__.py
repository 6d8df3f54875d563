"""Face anti-spoofing (PAD) metrics in pure numpy.

Convention everywhere: label 1 = live (bona fide), 0 = spoof (attack); score = live
probability; a sample is accepted as live iff score >= threshold. APCER = spoofs accepted,
BPCER = lives rejected. Functions taking a `threshold` leave its choice to the caller.
"""

from metafas.metrics.aggregate import VideoScores, aggregate_by_video
from metafas.metrics.bootstrap import bootstrap_ci
from metafas.metrics.curves import (
    bpcer_at_apcer,
    det_curve,
    eer,
    roc_auc,
    roc_curve,
    threshold_at_apcer,
    tpr_at_fpr,
)
from metafas.metrics.rates import acer, apcer_per_attack, error_rates, hter
from metafas.metrics.report import pad_metrics

__all__ = [
    "VideoScores",
    "acer",
    "aggregate_by_video",
    "apcer_per_attack",
    "bootstrap_ci",
    "bpcer_at_apcer",
    "det_curve",
    "eer",
    "error_rates",
    "hter",
    "pad_metrics",
    "roc_auc",
    "roc_curve",
    "threshold_at_apcer",
    "tpr_at_fpr",
]
