"""Intervals over seeds and videos, one method's summary and the paired comparison."""

import numpy as np
import pytest
from test_table import TARGETS, make_run

from metafas import metrics
from metafas.cli import demo
from metafas.evaluation.paired import (
    ComparisonError,
    SeedScores,
    compare,
    group_runs,
    paired_difference,
    summary,
    verdict,
)
from metafas.evaluation.selection import read_run
from metafas.evaluation.table import finished_runs
from metafas.metrics.paired import seed_video_bootstrap
from metafas.training.config import resolve_config
from metafas.training.loop import train

LABELS = np.array([1, 1, 1, 0, 0, 0])


def seed_scores(scores: list[list[float]], thresholds: list[float]) -> SeedScores:
    ids = np.array([f"v{i}" for i in range(len(LABELS))])
    rules = {"source_val_eer": np.array(thresholds), "target_eer": np.array(thresholds)}
    return SeedScores(ids, LABELS, np.array(scores, dtype=float), rules)


def test_bootstrap_of_the_live_share_brackets_it():
    share = lambda seeds, videos: LABELS[videos].mean()  # noqa: E731
    observed, low, high = seed_video_bootstrap(share, LABELS, n_seeds=1, n_boot=200)
    assert observed == 0.5 and 0 < low <= 0.5 <= high < 1


def test_a_method_against_itself_differs_by_exactly_nothing():
    runs = seed_scores([[0.9, 0.8, 0.3, 0.6, 0.2, 0.1], [0.7, 0.9, 0.4, 0.5, 0.3, 0.2]], [0.5, 0.5])
    paired = paired_difference(runs, runs, n_boot=200)
    for name in ("HTER", "AUC"):
        assert paired[name]["difference"] == 0 and paired[name]["ci"] == [0, 0]
        assert paired[name]["within_noise"]


def test_summary_is_the_mean_over_seeds_of_each_seeds_metrics():
    rows = [[0.9, 0.8, 0.3, 0.6, 0.2, 0.1], [0.7, 0.9, 0.4, 0.5, 0.3, 0.2]]
    runs = seed_scores(rows, [0.5, 0.35])
    result = summary(runs, n_boot=200)
    hters = [metrics.hter(LABELS, runs.scores[s], t) for s, t in enumerate([0.5, 0.35])]
    assert result["HTER"]["mean"] == pytest.approx(np.mean(hters))
    assert result["HTER"]["sd"] == pytest.approx(np.std(hters, ddof=1))
    aucs = [metrics.roc_auc(LABELS, row) for row in runs.scores]
    assert result["AUC"]["mean"] == pytest.approx(np.mean(aucs))
    low, high = result["AUC"]["ci"]
    assert low <= result["AUC"]["mean"] <= high and result["seeds"] == 2


def test_a_clearly_better_method_is_outside_noise():
    perfect = seed_scores([[0.9, 0.8, 0.7, 0.2, 0.1, 0.3]] * 2, [0.5, 0.5])
    chance = seed_scores([[0.2, 0.8, 0.1, 0.9, 0.3, 0.7]] * 2, [0.5, 0.5])
    hter = paired_difference(perfect, chance, n_boot=300)["HTER"]
    assert hter["difference"] < 0 and hter["ci"][1] < 0 and not hter["within_noise"]


def last_scores(run_dir):
    by_step = read_run(run_dir).scores
    return by_step[max(by_step)]


def test_demo_table_from_tiny_runs(tiny_store, tmp_path):
    runs = {"rfm": [], "deepall": []}
    for seed in (0, 1):
        for method in runs:
            overrides = [f'method="{method}"', f'data.store="{tiny_store}"', f"train.seed={seed}"]
            config = resolve_config("tiny", overrides)
            runs[method].append(train(config, tmp_path / f"{method}-{seed}", progress=False))
    summaries, paired = demo.compare(runs)
    by_step = read_run(runs["rfm"][0]).scores
    single = SeedScores.from_runs([by_step[max(by_step)]])
    assert summaries["rfm"]["videos"] == len(single.labels) and summaries["rfm"]["seeds"] == 2
    expected = summaries["rfm"]["HTER"]["mean"] - summaries["deepall"]["HTER"]["mean"]
    assert paired["HTER"]["difference"] == pytest.approx(expected)
    table = demo.format_comparison(summaries, paired)
    assert "HTER source-thr [95% CI]" in table and "HTER oracle" in table
    assert "RFM - DeepAll HTER" in table and "2 seed(s)" in table
    assert ("within noise" in table) or ("outside noise" in table)
    assert demo.SINGLE_SEED_CAVEAT not in table  # two seeds: training noise is in the interval
    first_seed = {
        m: summary(SeedScores.from_runs([last_scores(r[0])]), 100) for m, r in runs.items()
    }
    assert demo.SINGLE_SEED_CAVEAT in demo.format_comparison(first_seed, paired)


def test_summary_and_difference_carry_the_oracle_hter_at_the_target_eer_threshold():
    runs = seed_scores([[0.9, 0.8, 0.3, 0.6, 0.2, 0.1]], [0.05])  # source threshold: all live
    thresholds = {**runs.thresholds, "target_eer": np.array([0.5])}
    runs = SeedScores(runs.video_ids, runs.labels, runs.scores, thresholds)
    result = summary(runs, n_boot=100)
    assert result["HTER"]["mean"] == pytest.approx(0.5)  # every spoof accepted
    oracle = metrics.hter(LABELS, runs.scores[0], 0.5)
    assert result["HTER_oracle"]["mean"] == pytest.approx(oracle) and oracle < 0.5
    assert result["HTER_oracle"]["ci"][0] <= oracle <= result["HTER_oracle"]["ci"][1]
    difference = paired_difference(runs, seed_scores([[0.9] * 3 + [0.1] * 3], [0.05]), 100)
    assert difference["HTER_oracle"]["difference"] == pytest.approx(oracle - 0.5)


@pytest.mark.parametrize(
    ("name", "difference", "ci", "words"),
    [
        ("HTER", -0.1, [-0.2, -0.01], "excludes 0: lower (better)"),
        ("HTER", 0.1, [0.01, 0.2], "excludes 0: higher (worse)"),
        ("AUC", -0.1, [-0.2, -0.01], "excludes 0: lower (worse)"),
        ("AUC", 0.05, [-0.01, 0.1], "holds 0"),
    ],
)
def test_verdict_says_in_words_whether_the_interval_holds_0(name, difference, ci, words):
    entry = {"difference": difference, "ci": ci, "within_noise": ci[0] <= 0 <= ci[1]}
    assert verdict(entry, name) == words


def test_compare_pairs_seed_s_with_seed_s_of_the_reference(tmp_path):
    targets = {0: TARGETS[0], 1: TARGETS[1], 2: TARGETS[0]}
    for seed, target in targets.items():
        make_run(tmp_path / f"deepall-{seed}", "deepall", "sim_OCI_M", seed, target)
    make_run(tmp_path / "rfm-1", "rfm", "sim_OCI_M", 1, TARGETS[1])  # = deepall's seed 1
    groups = group_runs(finished_runs([tmp_path]))
    row = compare(groups, "rfm", "deepall", "sim_OCI_M", "last", n_boot=50)
    assert row["seeds"] == [1]
    for name in ("HTER", "AUC", "HTER_oracle"):
        assert row[name]["difference"] == 0 and row[name]["ci"] == [0, 0]
    with pytest.raises(ComparisonError, match=r"seeds \[2\] that the reference 'rfm' lacks"):
        compare(groups, "deepall", "rfm", "sim_OCI_M", "last", 50, seeds=[1, 2])


def test_demo_help_states_the_demo_default_steps(capsys):
    from metafas.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--help"])
    assert f"{demo.DEMO_STEPS})" in capsys.readouterr().out
