"""Sweeps: spec checking, deterministic plans, skipping, resuming and moving runs aside."""

import argparse
import json

import pytest

from metafas.cli import reporting
from metafas.training.sweep import (
    SweepError,
    eta_seconds,
    format_eta,
    load_spec,
    plan,
    run_sweep,
)

SPEC = """
preset = "tiny"
protocols = ["sim_OCI_M"]
methods = ["deepall", "rfm"]
seeds = [0, 1]
overrides = ['data.store="{store}"', "rfm.inner_lr=0.01"]
[ablations]
first_order = ["rfm.first_order=true"]
"""


def write_spec(path, store, text=SPEC):
    path.write_text(text.replace("{store}", str(store)))
    return path


def test_plan_names_runs_and_applies_method_overrides_only_to_their_method(tmp_path):
    runs = plan(load_spec(write_spec(tmp_path / "sweep.toml", "/nowhere")))
    assert [r.name for r in runs] == [
        "sim_OCI_M-deepall-seed0",
        "sim_OCI_M-deepall-seed1",
        "sim_OCI_M-rfm-seed0",
        "sim_OCI_M-rfm-seed1",
        "sim_OCI_M-rfm+first_order-seed0",
        "sim_OCI_M-rfm+first_order-seed1",
    ]
    configs = {r.name: r.config for r in runs}
    assert configs["sim_OCI_M-rfm-seed1"].train.seed == 1
    assert configs["sim_OCI_M-rfm-seed0"].method_options.inner_lr == 0.01
    assert not configs["sim_OCI_M-rfm-seed0"].method_options.first_order
    assert configs["sim_OCI_M-rfm+first_order-seed0"].method_options.first_order
    assert configs["sim_OCI_M-deepall-seed0"].data.store == "/nowhere"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("protocols = ['sim_OCI_M']\nmethods = ['rfm']\nseeds = [0]\nsteps = 3", "unknown key"),
        ("protocols = ['sim_OCI_M']\nmethods = []\nseeds = [0]", "non-empty list `methods`"),
        (
            "protocols = ['sim_OCI_M']\nmethods = ['rfm']\nseeds = [0]\n[ablations]\n'a b' = []",
            "letters",
        ),
        ("protocols = ['sim_XYZ']\nmethods = ['rfm']\nseeds = [0]", "unknown protocol 'sim_XYZ'"),
    ],
)
def test_bad_sweep_files_are_refused_before_anything_runs(tmp_path, text, message):
    path = write_spec(tmp_path / "sweep.toml", "", text)
    with pytest.raises(ValueError, match=message):
        plan(load_spec(path))
    assert not (tmp_path / "out").exists()


@pytest.fixture
def spec(tmp_path, tiny_store):
    text = 'preset = "tiny"\nprotocols = ["sim_OCI_M"]\nmethods = ["deepall", "rfm"]\nseeds = [0]\n'
    text += 'overrides = [\'data.store="{store}"\', "train.steps=2"]\n'
    return load_spec(write_spec(tmp_path / "sweep.toml", tiny_store, text))


def test_sweep_runs_then_skips_resumes_and_moves_aside(spec, tmp_path):
    out = tmp_path / "out"
    assert set(run_sweep(spec, out, progress=False).values()) == {"trained"}
    done = out / "sim_OCI_M-rfm-seed0" / "done.json"
    stamp = done.stat().st_mtime_ns
    assert set(run_sweep(spec, out, progress=False).values()) == {"skipped"}
    assert done.stat().st_mtime_ns == stamp
    done.unlink()  # as if killed before the end: same config, so it is resumed
    assert run_sweep(spec, out, progress=False)["sim_OCI_M-rfm-seed0"] == "resumed"
    assert done.exists()
    stale = out / "sim_OCI_M-deepall-seed0"
    config = json.loads((stale / "config.json").read_text())
    (stale / "config.json").write_text(json.dumps({**config, "train": {**config["train"], "k": 9}}))
    (stale / "done.json").unlink()  # interrupted, with another config: moved aside, retrained
    assert run_sweep(spec, out, progress=False)["sim_OCI_M-deepall-seed0"] == "trained"
    assert (out / "sim_OCI_M-deepall-seed0.interrupted-1" / "config.json").exists()
    assert json.loads((stale / "config.json").read_text()) == config
    meta = json.loads((stale / "sweep_run.json").read_text())
    assert meta == {"name": stale.name, "protocol": "sim_OCI_M", "method": "deepall"} | {
        "ablation": None,
        "seed": 0,
    }
    assert json.loads((out / "sweep.json").read_text())["runs"] == [
        "sim_OCI_M-deepall-seed0",
        "sim_OCI_M-rfm-seed0",
    ]


def test_a_finished_run_of_another_config_is_an_error(spec, tmp_path):
    run_dir = tmp_path / "out" / "sim_OCI_M-deepall-seed0"
    run_dir.mkdir(parents=True)
    config = plan(spec)[0].config.to_dict()
    (run_dir / "config.json").write_text(
        json.dumps({**config, "train": {**config["train"], "k": 3}})
    )
    (run_dir / "done.json").write_text("{}")
    with pytest.raises(SweepError, match="different config"):
        run_sweep(spec, tmp_path / "out", progress=False)
    assert not (run_dir / "scores").exists()


def test_sweep_command_dry_run_and_run(tmp_path, tiny_store, capsys):
    spec_path = write_spec(tmp_path / "sweep.toml", tiny_store)
    parser = argparse.ArgumentParser()
    reporting.add_sweep_args(parser)
    args = parser.parse_args([str(spec_path), "--out", str(tmp_path / "out"), "--dry-run"])
    assert reporting.run_sweep(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and all(line.endswith(": new") for line in lines)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["sweep", "table", "report"])
def test_help_of_the_reporting_commands(name, capsys):
    parser = argparse.ArgumentParser(prog=f"metafas {name}")
    getattr(reporting, f"add_{name}_args")(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    assert "--out" in capsys.readouterr().out
    assert getattr(reporting, f"run_{name}").__doc__


NARROWED = """
preset = "tiny"
protocols = ["sim_OCI_M", "sim_MI_C"]
methods = ["deepall", "rfm"]
seeds = [0, 1, 2]
overrides = ["train.k=3"]
[protocol_overrides]
sim_MI_C = ["train.k=4", "rfm.inner_lr=0.02"]
[ablations]
first_order = ["rfm.first_order=true"]
[ablations.binary]
overrides = ["deepall.depth_weight=0", "train.k=5"]
seeds = [1]
[ablations.pooled]
overrides = ["rfm.fine_grained=false"]
protocols = ["sim_OCI_M"]
seeds = [0, 2]
"""


def test_ablation_tables_narrow_seeds_and_protocols_and_protocol_overrides_apply(tmp_path):
    runs = plan(load_spec(write_spec(tmp_path / "sweep.toml", "", NARROWED)))
    names = [r.name for r in runs]
    assert names[:6] == [
        "sim_OCI_M-deepall-seed0",
        "sim_OCI_M-deepall-seed1",
        "sim_OCI_M-deepall-seed2",
        "sim_OCI_M-deepall+binary-seed1",
        "sim_OCI_M-rfm-seed0",
        "sim_OCI_M-rfm-seed1",
    ]
    assert "sim_OCI_M-rfm+pooled-seed2" in names and "sim_OCI_M-rfm+pooled-seed1" not in names
    assert not [n for n in names if n.startswith("sim_MI_C-rfm+pooled")]
    assert len(runs) == 2 * (3 + 1 + 3 + 3) + 2  # base and first_order everywhere; narrowed
    configs = {r.name: r.config for r in runs}
    assert configs["sim_OCI_M-rfm-seed0"].train.k == 3
    assert configs["sim_MI_C-rfm-seed0"].train.k == 4  # the protocol's override
    assert configs["sim_MI_C-rfm-seed0"].method_options.inner_lr == 0.02
    assert configs["sim_OCI_M-rfm-seed0"].method_options.inner_lr == 1e-3
    assert configs["sim_MI_C-deepall+binary-seed1"].train.k == 5  # the ablation wins
    assert configs["sim_MI_C-deepall+binary-seed1"].method_options.depth_weight == 0
    assert not configs["sim_OCI_M-rfm+pooled-seed0"].method_options.fine_grained


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "[ablations.a]\noverrides = []\nprotocols = ['sim_OMI_C']",
            "ablation 'a' names protocols",
        ),
        ("[protocol_overrides]\nsim_OMI_C = ['train.k=2']", r"\[protocol_overrides\] names"),
        ("[ablations.a]\noverrides = []\nsteps = 3", "allows only overrides, seeds, protocols"),
        ("[ablations.a]\nseeds = [0]", "needs `overrides`"),
        ("[ablations.a]\noverrides = []\nseeds = [0.5]", "whole numbers"),
        ("[protocol_overrides]\nsim_OCI_M = 'train.k=2'", "lists of overrides"),
    ],
)
def test_bad_ablation_tables_and_protocol_overrides_are_refused(tmp_path, table, message):
    text = "protocols = ['sim_OCI_M']\nmethods = ['rfm']\nseeds = [0]\n" + table
    with pytest.raises(SweepError, match=message):
        load_spec(write_spec(tmp_path / "sweep.toml", "", text))


def test_eta_counts_only_trained_runs():
    assert eta_seconds([], [10, 10]) is None and eta_seconds([], []) == 0.0
    assert eta_seconds([(10, 30.0), (20, 30.0)], [10, 5]) == pytest.approx(30.0)
    assert [format_eta(s) for s in (None, 42, 600, 3900)] == ["unknown", "42 s", "10 min"] + [
        "1 h 05 min"
    ]
