"""End to end through the console entry point: simulate -> train -> evaluate, and --help."""

import json

import pytest

from metafas.cli import SUBCOMMANDS, main
from metafas.training.checkpoint import latest_checkpoint, read_state


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_help_of_every_subcommand(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: metafas {command}" in out and "--" in out


def test_train_then_evaluate_writes_the_run(tiny_store, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--store", str(tiny_store), "--out", str(run)]
    assert main(args + ["--method", "deepall", "--set", "train.steps=3"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["method"] == "deepall" and config["train"]["steps"] == 3
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert {r["step"] for r in records} == {2, 3}
    assert {(r["level"], r["threshold_rule"], r["oracle"]) for r in records} == {
        ("video", "source_val_eer", False),
        ("video", "target_eer", True),
        ("frame", "source_val_eer", False),
        ("frame", "target_eer", True),
    }
    runtime = config.pop("runtime")
    assert runtime["precision"] == "fp32" and runtime["device"] == "cpu"
    assert all(0 <= r["metrics"]["HTER"] <= 1 and r["config"] == config for r in records)
    assert all(r["runtime"] == runtime for r in records)
    checkpoint = latest_checkpoint(run)
    assert checkpoint.name == "step_0000003"
    assert {p.name for p in checkpoint.iterdir()} == {
        "model.safetensors",
        "optimizer.safetensors",
        "state.json",
        "model_card.json",
        "model_card.md",
    }
    state = read_state(checkpoint)
    assert state["threshold"]["rule"] == "source_val_eer" and state["config"] == config
    assert list(run.glob("tensorboard/events.out.tfevents.*"))
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert "target_eer (oracle)" in out and "source_val_eer" in out
    assert len(json.loads((run / "evaluation.json").read_text())) == 4


def test_train_refuses_an_existing_run_and_bad_fields(tiny_store, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--store", str(tiny_store), "--out", str(run)]
    assert main(args) == 0
    assert main(args) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(args[:-1] + [str(tmp_path / "other"), "--set", "train.stepz=1"]) == 2
    assert "unknown field(s) ['stepz'] in [train]" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_simulate_then_train_on_it(tmp_path, capsys):
    store = tmp_path / "sim"
    assert (
        main(
            [
                "simulate",
                "--out",
                str(store),
                "--size",
                "32",
                "--subjects",
                "4",
                "--domains",
                "sim_o,sim_c,sim_i,sim_m",
            ]
        )
        == 0
    )
    assert (store / "manifest.csv").exists() and (store / "store.json").exists()
    run = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--store", str(store), "--out", str(run)]) == 0
    assert (run / "results.jsonl").exists()
