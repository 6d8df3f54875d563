"""Intervals over seeds and videos, one method's summary and the paired comparison."""

import numpy as np
import pytest

from metafas import metrics
from metafas.cli.demo import compare, format_comparison
from metafas.evaluation.paired import SeedScores, paired_difference, summary
from metafas.evaluation.selection import read_run
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


def test_demo_table_from_tiny_runs(tiny_store, tmp_path):
    runs = {"rfm": [], "deepall": []}
    for seed in (0, 1):
        for method in runs:
            overrides = [f'method="{method}"', f'data.store="{tiny_store}"', f"train.seed={seed}"]
            config = resolve_config("tiny", overrides)
            runs[method].append(train(config, tmp_path / f"{method}-{seed}", progress=False))
    summaries, paired = compare(runs)
    by_step = read_run(runs["rfm"][0]).scores
    single = SeedScores.from_runs([by_step[max(by_step)]])
    assert summaries["rfm"]["videos"] == len(single.labels) and summaries["rfm"]["seeds"] == 2
    expected = summaries["rfm"]["HTER"]["mean"] - summaries["deepall"]["HTER"]["mean"]
    assert paired["HTER"]["difference"] == pytest.approx(expected)
    table = format_comparison(summaries, paired)
    assert "HTER source-thr [95% CI]" in table and "HTER oracle" in table
    assert "RFM - DeepAll HTER" in table and "2 seed(s)" in table
    assert ("within noise" in table) or ("outside noise" in table)
