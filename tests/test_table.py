"""The results table: built from saved scores, mean +/- std over seeds, oracle blocks labelled."""

import argparse
import csv
import io
import json
import logging

import numpy as np
import pytest
from test_selection import step_scores

from metafas.cli import reporting
from metafas.evaluation.paired import ComparisonError
from metafas.evaluation.scoring import write_scores
from metafas.evaluation.table import TableError, build_table, collect_results, summarize
from metafas.training.config import resolve_config
from metafas.training.loop import train

# Not separated perfectly (a spoof ties the lowest live), so source_val_eer is the EER threshold
# 0.8; a perfect separation would put it at the gap midpoint instead (test_thresholds.py).
VAL = [(1, [0.8]), (1, [0.9]), (0, [0.1]), (0, [0.8])]
# Target EER thresholds: 0.85 for both, so the threshold gap is -0.05.
TARGETS = {
    0: [(1, [0.85]), (1, [0.7]), (0, [0.3]), (0, [0.9])],  # at 0.8: APCER 1/2, BPCER 1/2
    1: [(1, [0.85]), (1, [0.95]), (0, [0.3]), (0, [0.1])],  # at 0.8: no error
}


def make_run(
    run_dir, method: str, protocol: str, seed: int, target: list, steps=(2,), extra=()
) -> None:
    """A run directory holding only what the table reads: config.json and scores/."""
    overrides = [f'method="{method}"', f'data.protocol="{protocol}"', f"train.seed={seed}"]
    overrides += list(extra)
    config = resolve_config("tiny", overrides + [f"train.steps={max(steps)}"])
    (run_dir / "scores").mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict()))
    for step in steps:
        write_scores(run_dir / "scores" / f"step_{step:07d}.csv", step_scores(VAL, target))


@pytest.fixture
def sweep_dir(tmp_path):
    for seed in (0, 1):
        make_run(tmp_path / f"a-deepall-{seed}", "deepall", "sim_OCI_M", seed, TARGETS[seed])
        make_run(tmp_path / f"a-rfm-{seed}", "rfm", "sim_OCI_M", seed, TARGETS[1])
    make_run(tmp_path / "b-rfm-0", "rfm", "sim_OMI_C", 0, TARGETS[0])
    return tmp_path


def find(rows, **keys):
    return [r for r in rows if all(r[k] == v for k, v in keys.items())]


def test_mean_and_std_over_seeds(sweep_dir):
    rows = summarize(collect_results([sweep_dir]))
    honest = dict(selection="source_val", threshold_rule="source_val_eer", protocol="sim_OCI_M")
    (deepall,) = find(rows, method="deepall", **honest)
    assert deepall["n_seeds"] == 2 and deepall["seeds"] == [0, 1]
    assert deepall["HTER_pct_mean"] == pytest.approx(25.0)
    assert deepall["HTER_pct_std"] == pytest.approx(np.std([50.0, 0.0], ddof=1))
    (rfm,) = find(rows, method="rfm", **honest)
    assert rfm["HTER_pct_mean"] == 0 and rfm["AUC_pct_mean"] == 100
    (single,) = find(rows, method="rfm", protocol="sim_OMI_C", selection="last",
                     threshold_rule="source_val_eer")  # fmt: skip
    assert single["n_seeds"] == 1 and np.isnan(single["HTER_pct_std"])
    assert {r["oracle"] for r in find(rows, threshold_rule="target_eer")} == {True}
    assert {r["oracle"] for r in find(rows, selection="oracle")} == {True}


def test_markdown_labels_oracle_blocks_and_shows_uneven_seed_counts(sweep_dir):
    text = build_table([sweep_dir], "md")
    titles = [line for line in text.splitlines() if line.startswith("### ")]
    assert len(titles) == 6
    for title in titles:
        assert title.endswith("(oracle)") == (
            "oracle" in title.split(",")[1] or "target_eer" in title
        )
    block = text.split("### Video level, selection source_val, threshold source_val_eer\n")[1]
    assert "| deepall | 25.00 ± 35.36 | 75.00 ± 35.36 | -0.050 ± 0.000 | - | - | - |" in block
    assert "| rfm | 0.00 ± 0.00 | 100.00 ± 0.00 | -0.050 ± 0.000 | 50.00 (n=1) |" in block


def test_csv_and_latex(sweep_dir):
    rows = list(csv.DictReader(io.StringIO(build_table([sweep_dir], "csv"))))
    assert len(rows) == 3 * 2 * 3  # selections x threshold rules x (method, protocol) cells
    assert {r["oracle"] for r in rows if r["threshold_rule"] == "target_eer"} == {"True"}
    latex = build_table([sweep_dir], "latex", fixed=0.5)
    assert latex.count(r"\begin{tabular}") == 9 and r"sim\_OCI\_M" in latex
    assert r"\caption{Video level, selection oracle, threshold fixed (oracle)}" in latex


def test_refuses_duplicates_and_leaves_out_unfinished_runs(sweep_dir, tmp_path, caplog):
    make_run(tmp_path / "late", "rfm", "sim_ICM_O", 0, TARGETS[0], steps=(2,))
    config = json.loads((tmp_path / "late" / "config.json").read_text())
    config["train"]["steps"] = 4  # the final step 4 was never evaluated
    (tmp_path / "late" / "config.json").write_text(json.dumps(config))
    with caplog.at_level(logging.WARNING):
        text = build_table([sweep_dir], "md")
    assert "sim_ICM_O" not in text and "unfinished" in caplog.text
    make_run(tmp_path / "copy", "rfm", "sim_OMI_C", 0, TARGETS[1])
    with pytest.raises(TableError, match="pass only one"):
        build_table([sweep_dir], "md")
    with pytest.raises(TableError, match="no finished runs"):
        build_table([tmp_path / "late"], "md")


def test_table_command_matches_what_training_recorded(tiny_store, tmp_path):
    config = resolve_config("tiny", [f'data.store="{tiny_store}"', 'method="deepall"'])
    run_dir = train(config, tmp_path / "runs" / "one", progress=False)
    parser = argparse.ArgumentParser()
    reporting.add_table_args(parser)
    out = tmp_path / "table.csv"
    args = parser.parse_args([str(tmp_path / "runs"), "--format", "csv", "--out", str(out)])
    assert reporting.run_table(args) == 0
    rows = list(csv.DictReader(out.open()))
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    for rule in ("source_val_eer", "target_eer"):
        (recorded,) = [
            r for r in records if (r["step"], r["level"], r["threshold_rule"]) == (4, "video", rule)
        ]
        (row,) = [r for r in rows if (r["selection"], r["threshold_rule"]) == ("last", rule)]
        assert float(row["HTER_pct_mean"]) == pytest.approx(100 * recorded["metrics"]["HTER"])
        assert float(row["AUC_pct_mean"]) == pytest.approx(100 * recorded["metrics"]["AUC"])


def test_runs_that_differ_in_more_than_the_seed_become_variants_named_by_the_fields(tmp_path):
    for seed in (0, 1):
        make_run(tmp_path / f"weighted-{seed}", "deepall", "sim_OCI_M", seed, TARGETS[seed])
    extra = ["deepall.depth_weight=0", "train.lr=0.01"]
    make_run(tmp_path / "binary-0", "deepall", "sim_OCI_M", 0, TARGETS[1], extra=extra)
    rows = summarize(collect_results([tmp_path]))
    honest = find(rows, selection="last", threshold_rule="source_val_eer")
    labels = {r["method"]: r["n_seeds"] for r in honest}
    assert labels == {
        "deepall [deepall.depth_weight=10.0, train.lr=0.001]": 2,
        "deepall [deepall.depth_weight=0.0, train.lr=0.01]": 1,
    }


@pytest.fixture
def paired_dir(tmp_path):
    for seed in (0, 1):
        make_run(tmp_path / f"deepall-{seed}", "deepall", "sim_OCI_M", seed, TARGETS[seed])
        make_run(tmp_path / f"rfm-{seed}", "rfm", "sim_OCI_M", seed, TARGETS[1])
    return tmp_path


def test_compare_gives_each_variants_paired_difference_and_says_if_it_holds_0(paired_dir):
    # At the source threshold 0.8: deepall HTER 50 % (seed 0) and 0 (seed 1), rfm 0 and 0;
    # AUC: deepall 50 % and 100 %, rfm 100 %. So rfm - deepall: HTER -25, AUC +25 points.
    rows = list(csv.DictReader(io.StringIO(build_table([paired_dir], "csv", compare="deepall"))))
    assert [(r["selection"], r["variant"], r["seeds"]) for r in rows] == [
        ("source_val", "rfm", "0 1"),
        ("last", "rfm", "0 1"),
    ]
    for row in rows:
        assert float(row["HTER_diff_pp"]) == pytest.approx(-25.0)
        assert float(row["AUC_diff_pp"]) == pytest.approx(25.0)
        low, high = float(row["HTER_low_pp"]), float(row["HTER_high_pp"])
        assert low <= -25.0 <= high
        expected = "holds 0" if low <= 0 <= high else "excludes 0: lower (better)"
        assert row["HTER_interval"] == expected
    text = build_table([paired_dir], "md", compare="deepall", n_boot=200)
    assert "### Video level, selection source_val, threshold source_val_eer" in text
    assert "### Paired differences to deepall, video level, selection source_val" in text
    assert "| sim_OCI_M | rfm | 2 | -25.00 [" in text and "oracle (pp)" in text


def test_compare_names_what_is_missing(paired_dir):
    make_run(paired_dir / "rfm-c", "rfm", "sim_OMI_C", 0, TARGETS[1])
    with pytest.raises(ComparisonError, match="'deepall' has no finished runs on sim_OMI_C"):
        build_table([paired_dir], "md", compare="deepall", n_boot=10)
    (paired_dir / "rfm-c" / "config.json").unlink()
    make_run(paired_dir / "rfm-2", "rfm", "sim_OCI_M", 2, TARGETS[1])
    with pytest.raises(ComparisonError, match=r"seeds \[2\] that the reference 'deepall' lacks"):
        build_table([paired_dir], "csv", compare="deepall", n_boot=10)
    with pytest.raises(ComparisonError, match="variants found: deepall, rfm"):
        build_table([paired_dir], "md", compare="deepal", n_boot=10)
    with pytest.raises(TableError, match="md or csv"):
        build_table([paired_dir], "latex", compare="deepall")
