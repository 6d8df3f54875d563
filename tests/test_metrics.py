"""Tests for metafas.metrics: hand-computed cases, scikit-learn cross-checks and properties."""

import logging
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from metafas.metrics import (
    acer,
    aggregate_by_video,
    apcer_per_attack,
    bootstrap_ci,
    bpcer_at_apcer,
    det_curve,
    eer,
    error_rates,
    hter,
    pad_metrics,
    roc_auc,
    roc_curve,
    threshold_at_apcer,
    tpr_at_fpr,
)

# Worked example (label 1 = live, 0 = spoof; live iff score >= threshold).
#   lives:         0.9 0.8 0.6 0.3
#   print spoofs:  0.7 0.2 0.1
#   replay spoofs: 0.55 0.52 0.05
# At threshold 0.5:
#   BPCER = lives below 0.5 = {0.3} -> 1/4
#   APCER pooled = spoofs >= 0.5 = {0.7, 0.55, 0.52} -> 3/6 = 1/2; HTER = (1/2 + 1/4)/2 = 3/8
#   APCER[print] = {0.7} -> 1/3; APCER[replay] = {0.55, 0.52} -> 2/3 (worst)
#   ACER = (2/3 + 1/4)/2 = 11/24
# AUC: live-over-spoof pairs 6 + 6 + 5 (0.6 loses to 0.7) + 3 (0.3 beats 0.2, 0.1, 0.05) = 20/24.
# EER: |APCER - BPCER| is smallest (1/12) at both 0.55 (2/6, 1/4) and 0.6 (1/6, 1/4); the tie
#   goes to the smaller sum, so threshold 0.6 and EER = (1/6 + 1/4)/2 = 5/24.
# BPCER@APCER<=10%: APCER first reaches 0 at 0.8 (0.7 is a spoof) -> lives {0.6, 0.3} -> 1/2.
# BPCER@APCER<=20%: threshold 0.6 (APCER 1/6) -> lives {0.3} -> 1/4.
WORKED_LABELS = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
WORKED_SCORES = [0.9, 0.8, 0.6, 0.3, 0.7, 0.2, 0.1, 0.55, 0.52, 0.05]
WORKED_ATTACKS = ["live"] * 4 + ["print"] * 3 + ["replay"] * 3


def random_scores(seed: int, n: int = 300, decimals: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping live/spoof scores, rounded so that ties occur."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    scores = np.round(rng.normal(loc=labels * 0.8, scale=1.0), decimals)
    return labels, scores


# ---------------------------------------------------------------- hand-computed cases


def test_perfect_separation() -> None:
    labels, scores = [0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]
    assert roc_auc(labels, scores) == 1.0
    assert eer(labels, scores) == (0.0, 0.7)
    assert hter(labels, scores, 0.5) == 0.0
    assert error_rates(labels, scores, 0.5) == (0.0, 0.0)


def test_inverted_scores_give_zero_auc() -> None:
    assert roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0


def test_all_ties() -> None:
    labels, scores = [0, 1, 0, 1, 1], [0.4] * 5
    assert roc_auc(labels, scores) == 0.5
    assert eer(labels, scores) == (0.5, 0.4)


def test_worked_example_rates() -> None:
    assert error_rates(WORKED_LABELS, WORKED_SCORES, 0.5) == pytest.approx((1 / 2, 1 / 4))
    assert hter(WORKED_LABELS, WORKED_SCORES, 0.5) == pytest.approx(3 / 8)
    per_attack = apcer_per_attack(WORKED_LABELS, WORKED_SCORES, WORKED_ATTACKS, 0.5)
    assert per_attack == pytest.approx({"print": 1 / 3, "replay": 2 / 3})
    assert list(per_attack) == ["print", "replay"]
    assert acer(WORKED_LABELS, WORKED_SCORES, WORKED_ATTACKS, 0.5) == pytest.approx(11 / 24)
    assert acer(WORKED_LABELS, WORKED_SCORES, None, 0.5) == pytest.approx(3 / 8)


def test_worked_example_threshold_free() -> None:
    assert roc_auc(WORKED_LABELS, WORKED_SCORES) == pytest.approx(20 / 24)
    rate, threshold = eer(WORKED_LABELS, WORKED_SCORES)
    assert (rate, threshold) == (pytest.approx(5 / 24), 0.6)
    assert threshold_at_apcer(WORKED_LABELS, WORKED_SCORES, 0.10) == 0.8
    assert bpcer_at_apcer(WORKED_LABELS, WORKED_SCORES, 0.10) == 0.5
    assert bpcer_at_apcer(WORKED_LABELS, WORKED_SCORES, 0.20) == 0.25
    assert tpr_at_fpr(WORKED_LABELS, WORKED_SCORES, 0.20) == 0.75


def test_pad_metrics_worked_example() -> None:
    metrics = pad_metrics(WORKED_LABELS, WORKED_SCORES, 0.5, attacks=WORKED_ATTACKS)
    expected = {
        "AUC": 20 / 24,
        "EER": 5 / 24,
        "HTER": 3 / 8,
        "APCER_pooled": 1 / 2,
        "APCER": 2 / 3,
        "BPCER": 1 / 4,
        "ACER": 11 / 24,
        "APCER[print]": 1 / 3,
        "APCER[replay]": 2 / 3,
        "BPCER@APCER=1%": 1 / 2,
        "BPCER@APCER=5%": 1 / 2,
        "BPCER@APCER=10%": 1 / 2,
        "TPR@FPR=1%": 1 / 2,
    }
    assert metrics == pytest.approx(expected)
    assert list(metrics) == list(expected)


def test_pad_metrics_without_attacks_has_stable_keys() -> None:
    metrics = pad_metrics(WORKED_LABELS, WORKED_SCORES, 0.5)
    assert metrics["APCER"] == metrics["APCER_pooled"] == 0.5
    assert metrics["ACER"] == metrics["HTER"]
    assert not any(key.startswith("APCER[") for key in metrics)


def test_threshold_at_apcer_rejects_all_when_top_score_is_a_spoof() -> None:
    labels, scores = [1, 0], [0.3, 0.9]
    assert threshold_at_apcer(labels, scores, 0.0) == math.inf
    assert bpcer_at_apcer(labels, scores, 0.0) == 1.0


def test_det_curve_matches_roc_curve() -> None:
    labels, scores = random_scores(seed=3, n=50)
    fpr, tpr, roc_thresholds = roc_curve(labels, scores)
    apcer, bpcer, det_thresholds = det_curve(labels, scores)
    np.testing.assert_array_equal(det_thresholds, roc_thresholds[::-1])
    np.testing.assert_allclose(apcer, fpr[::-1])
    np.testing.assert_allclose(bpcer, 1.0 - tpr[::-1])
    assert np.all(np.diff(apcer) <= 0) and np.all(np.diff(bpcer) >= 0)


# ---------------------------------------------------------------- scikit-learn cross-checks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_auc_matches_sklearn(seed: int) -> None:
    labels, scores = random_scores(seed)
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_curve_matches_sklearn(seed: int) -> None:
    labels, scores = random_scores(seed)
    ours = roc_curve(labels, scores)
    theirs = sk_roc_curve(labels, scores, drop_intermediate=False)
    for our_values, their_values in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(our_values, their_values)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eer_is_closest_crossing_on_sklearn_curve(seed: int) -> None:
    labels, scores = random_scores(seed)
    fpr, tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    rate, threshold = eer(labels, scores)
    apcer, bpcer = error_rates(labels, scores, threshold)
    assert abs(apcer - bpcer) == pytest.approx(np.min(np.abs(fpr - (1.0 - tpr))))
    assert rate == pytest.approx((apcer + bpcer) / 2)


# ---------------------------------------------------------------- per-attack and aggregation


def test_acer_uses_worst_attack() -> None:
    labels = [1, 1, 0, 0, 0, 0]
    scores = [0.9, 0.9, 0.1, 0.1, 0.8, 0.8]  # the two masks fool the model, prints do not
    attacks = [None, None, "print", "print", "mask", "mask"]
    assert apcer_per_attack(labels, scores, attacks, 0.5) == {"mask": 1.0, "print": 0.0}
    assert acer(labels, scores, attacks, 0.5) == 0.5
    assert hter(labels, scores, 0.5) == 0.25


def test_aggregate_by_video() -> None:
    video = aggregate_by_video(
        labels=[0, 1, 0, 1, 0],
        scores=[0.2, 0.9, 0.4, 0.7, 0.6],
        video_ids=["b", "a", "b", "a", "c"],
        attacks=["print", "live", "print", "live", "replay"],
    )
    assert video.video_ids.tolist() == ["b", "a", "c"]
    assert video.labels.tolist() == [0, 1, 0]
    np.testing.assert_allclose(video.scores, [0.3, 0.8, 0.6])
    assert video.attacks.tolist() == ["print", "live", "replay"]


def test_aggregate_by_video_without_attacks() -> None:
    video = aggregate_by_video([1, 1, 0], [0.5, 1.0, 0.0], [7, 7, 3])
    assert video.video_ids.tolist() == [7, 3]
    assert video.scores.tolist() == [0.75, 0.0]
    assert video.attacks is None


@pytest.mark.parametrize(
    ("labels", "attacks", "message"),
    [
        ([1, 0, 1], None, "video 'v1' mixes labels"),
        ([0, 0, 1], ["print", "replay", "live"], "video 'v1' mixes attacks"),
    ],
)
def test_aggregate_by_video_rejects_inconsistent_video(labels, attacks, message) -> None:
    with pytest.raises(ValueError, match=message):
        aggregate_by_video(labels, [0.1, 0.2, 0.3], ["v1", "v1", "v2"], attacks)


# ---------------------------------------------------------------- bootstrap


def grouped_example() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """40 videos of 5 frames each, scores overlapping between classes."""
    rng = np.random.default_rng(7)
    video_labels = np.tile([0, 1], 20)
    labels = np.repeat(video_labels, 5)
    scores = rng.normal(loc=labels * 1.0, scale=1.0)
    groups = np.repeat(np.arange(40), 5)
    return labels, scores, groups


def test_bootstrap_is_deterministic_and_seed_dependent() -> None:
    labels, scores, groups = grouped_example()
    first = bootstrap_ci(roc_auc, labels, scores, groups, n_boot=200, seed=1)
    assert bootstrap_ci(roc_auc, labels, scores, groups, n_boot=200, seed=1) == first
    assert bootstrap_ci(roc_auc, labels, scores, groups, n_boot=200, seed=2) != first


def test_bootstrap_interval_contains_point_estimate() -> None:
    labels, scores, groups = grouped_example()
    low, high = bootstrap_ci(roc_auc, labels, scores, groups, n_boot=300)
    assert low < roc_auc(labels, scores) < high
    assert 0.0 <= low < high <= 1.0


def test_bootstrap_with_a_threshold_rule() -> None:
    labels, scores, groups = grouped_example()
    low, high = bootstrap_ci(lambda y, s: hter(y, s, 0.5), labels, scores, groups, n_boot=200)
    assert low <= hter(labels, scores, 0.5) <= high


def test_bootstrap_skips_single_class_resamples(caplog) -> None:
    labels, scores, groups = [0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9], ["s", "s", "l", "l"]
    with caplog.at_level(logging.DEBUG, logger="metafas.metrics.bootstrap"):
        assert bootstrap_ci(roc_auc, labels, scores, groups, n_boot=50) == (1.0, 1.0)
    assert "skipped" in caplog.text
    with pytest.raises(ValueError, match="every resample lacked"):
        for seed in range(30):  # each single draw misses a class with probability 1/2
            bootstrap_ci(roc_auc, labels, scores, groups, n_boot=1, seed=seed)


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"n_boot": 0}, "n_boot"), ({"alpha": 1.5}, "alpha")]
)
def test_bootstrap_rejects_bad_arguments(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        bootstrap_ci(roc_auc, [0, 1], [0.1, 0.9], [0, 1], **kwargs)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([0, 1, 1], [0.1, 0.2], "different lengths: labels=3, scores=2"),
        ([], [], "empty input"),
        ([0, 1, 2], [0.1, 0.2, 0.3], r"0 \(spoof\) or 1 \(live\); found \[2\]"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN value.*index 1"),
        ([0, 1, 1], [0.1, np.inf, 0.3], "infinite"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
        ([1, 1], [0.1, 0.2], r"needs spoof \(0\) samples"),
        ([0, 0], [0.1, 0.2], r"needs live \(1\) samples"),
    ],
)
@pytest.mark.parametrize("metric", [roc_auc, eer, roc_curve, det_curve, lambda y, s: hter(y, s, 0)])
def test_invalid_inputs_raise(metric, labels, scores, message) -> None:
    with pytest.raises(ValueError, match=message):
        metric(labels, scores)


def test_one_class_error_names_the_metric() -> None:
    with pytest.raises(ValueError, match="^roc_auc needs"):
        roc_auc([1, 1], [0.2, 0.3])


def test_apcer_per_attack_needs_spoofs_only() -> None:
    assert apcer_per_attack([0, 0], [0.2, 0.7], ["print", "replay"], 0.5) == {
        "print": 0.0,
        "replay": 1.0,
    }
    with pytest.raises(ValueError, match=r"needs spoof \(0\)"):
        apcer_per_attack([1, 1], [0.2, 0.7], ["live", "live"], 0.5)


@pytest.mark.parametrize(
    ("attacks", "message"),
    [(["live", None, "print"], "index 1 has no attack"), (["live", "print"], "attacks=2")],
)
def test_apcer_per_attack_rejects_bad_attacks(attacks, message) -> None:
    with pytest.raises(ValueError, match=message):
        apcer_per_attack([1, 0, 0], [0.2, 0.7, 0.1], attacks, 0.5)


@pytest.mark.parametrize("target", [-0.1, 1.5])
def test_rate_targets_must_be_rates(target: float) -> None:
    with pytest.raises(ValueError, match=r"target must be a rate in \[0, 1\]"):
        bpcer_at_apcer([0, 1], [0.1, 0.9], target)


def test_nan_threshold_rejected() -> None:
    with pytest.raises(ValueError, match="threshold is NaN"):
        error_rates([0, 1], [0.1, 0.9], float("nan"))


# ---------------------------------------------------------------- properties


@st.composite
def labelled_scores(draw, integer_scores: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Both classes present; integer scores (many ties) or arbitrary finite floats."""
    n = draw(st.integers(min_value=2, max_value=40))
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    labels[:2] = [0, 1]
    if integer_scores is None:
        integer_scores = draw(st.booleans())
    values = st.integers(-20, 20) if integer_scores else st.floats(-1e6, 1e6)
    scores = draw(st.lists(values, min_size=n, max_size=n))
    return np.array(labels), np.array(scores, dtype=np.float64)


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


@PROPERTY_SETTINGS
@given(labelled_scores())
def test_auc_of_negated_scores_is_complement(data) -> None:
    labels, scores = data
    assert roc_auc(labels, scores) + roc_auc(labels, -scores) == pytest.approx(1.0)


@PROPERTY_SETTINGS
@given(labelled_scores())
def test_auc_matches_sklearn_property(data) -> None:
    labels, scores = data
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


@PROPERTY_SETTINGS
@given(labelled_scores(integer_scores=True))
def test_auc_invariant_to_increasing_transforms(data) -> None:
    labels, scores = data
    auc = roc_auc(labels, scores)
    assert roc_auc(labels, np.exp(scores / 10.0)) == pytest.approx(auc)
    assert roc_auc(labels, scores**3 - 5.0) == pytest.approx(auc)


@PROPERTY_SETTINGS
@given(labelled_scores(), st.floats(-1e7, 1e7))
def test_hter_is_a_rate(data, threshold: float) -> None:
    labels, scores = data
    assert 0.0 <= hter(labels, scores, threshold) <= 1.0


@PROPERTY_SETTINGS
@given(labelled_scores())
def test_eer_threshold_rates_straddle_eer(data) -> None:
    labels, scores = data
    rate, threshold = eer(labels, scores)
    apcer, bpcer = error_rates(labels, scores, threshold)
    assert min(apcer, bpcer) <= rate <= max(apcer, bpcer)
    assert rate == pytest.approx((apcer + bpcer) / 2)
    det_apcer, det_bpcer, _ = det_curve(labels, scores)
    assert abs(apcer - bpcer) <= np.min(np.abs(det_apcer - det_bpcer)) + 1e-12


@PROPERTY_SETTINGS
@given(labelled_scores(), st.floats(0.0, 1.0))
def test_bpcer_at_apcer_meets_target_with_least_bpcer(data, target: float) -> None:
    labels, scores = data
    threshold = threshold_at_apcer(labels, scores, target)
    apcer, bpcer = error_rates(labels, scores, threshold)
    assert apcer <= target
    assert bpcer == bpcer_at_apcer(labels, scores, target)
    det_apcer, det_bpcer, _ = det_curve(labels, scores)
    assert bpcer == np.min(det_bpcer[det_apcer <= target])
    assert tpr_at_fpr(labels, scores, target) == 1.0 - bpcer
