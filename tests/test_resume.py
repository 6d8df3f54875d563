"""Exact resume after a real SIGKILL, the numerical guard, and atomic checkpoint writes."""

import json
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from metafas.methods.base import NonFiniteLossError
from metafas.training.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    read_state,
    save_checkpoint,
)
from metafas.training.config import resolve_config
from metafas.training.loop import RunDirError, resume, train

STEPS = 40


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "metafas.cli", *args]


def train_args(store, out) -> list[str]:
    return [
        "train",
        "--preset",
        "tiny",
        "--store",
        str(store),
        "--out",
        str(out),
        "--set",
        f"train.steps={STEPS}",
        "--set",
        "train.checkpoint_every=1",
        "--set",
        "train.eval_every=10",
    ]


def latest_step(run_dir) -> int:
    try:
        return read_state(latest_checkpoint(run_dir))["step"]
    except (CheckpointError, FileNotFoundError, OSError):
        return 0


def kill_at(store, out, kill_step: int) -> None:
    process = subprocess.Popen(
        cli(*train_args(store, out)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while latest_step(out) < kill_step and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.kill()  # SIGKILL: no cleanup handler runs
    process.wait()


@pytest.mark.parametrize("kill_step", [3, 17])
def test_sigkill_then_resume_ends_with_identical_weights(tiny_store, tmp_path, kill_step):
    subprocess.run(cli(*train_args(tiny_store, tmp_path / "full")), check=True, capture_output=True)
    killed = tmp_path / "killed"
    kill_at(tiny_store, killed, kill_step)
    assert not (killed / "done.json").exists(), "the run finished before it could be killed"
    assert latest_step(killed) >= kill_step
    subprocess.run(cli("train", "--resume", str(killed)), check=True, capture_output=True)
    for name in ("model.safetensors", "optimizer.safetensors"):
        a = load_file(latest_checkpoint(tmp_path / "full") / name)
        b = load_file(latest_checkpoint(killed) / name)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert record_steps(killed) == record_steps(tmp_path / "full")


def record_steps(run_dir) -> list[int]:
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    return sorted(json.loads(line)["step"] for line in lines)


def test_resume_refuses_finished_and_empty_runs(tiny_store, tmp_path):
    config = resolve_config("tiny", [f'data.store="{tiny_store}"'])
    run = train(config, tmp_path / "run", progress=False)
    with pytest.raises(RunDirError, match="already finished"):
        resume(run, progress=False)
    with pytest.raises(RunDirError, match="no run to resume"):
        resume(tmp_path / "nothing", progress=False)


def test_non_finite_loss_stops_with_step_and_term_and_keeps_good_checkpoint(tiny_store, tmp_path):
    config = resolve_config(
        "tiny",
        [
            f'data.store="{tiny_store}"',
            "train.steps=6",
            "train.checkpoint_every=1",
            'method="deepall"',
        ],
    )
    poisoned = {"step": 0}
    original = torch.nn.functional.mse_loss

    def mse_that_turns_nan(*args, **kwargs):
        poisoned["step"] += 1
        value = original(*args, **kwargs)
        return value * float("nan") if poisoned["step"] >= 4 else value

    torch.nn.functional.mse_loss = mse_that_turns_nan
    try:
        with pytest.raises(NonFiniteLossError, match=r"step 4: loss term 'loss' is nan"):
            train(config, tmp_path / "run", progress=False)
    finally:
        torch.nn.functional.mse_loss = original
    assert read_state(latest_checkpoint(tmp_path / "run"))["step"] == 3
    weights = load_file(latest_checkpoint(tmp_path / "run") / "model.safetensors")
    assert all(torch.isfinite(w.float()).all() for w in weights.values())


def test_interrupted_checkpoint_write_keeps_the_previous_one(tmp_path):
    network = torch.nn.Linear(2, 1)
    good = save_checkpoint(tmp_path / "step_1", network, {"step": 1, "config": {}})

    class Boom(torch.nn.Linear):
        def state_dict(self, *args, **kwargs):
            raise KeyboardInterrupt  # interrupted while writing

    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "step_1", Boom(2, 1), {"step": 1, "config": {}})
    assert read_state(good)["step"] == 1
    assert torch.equal(load_file(good / "model.safetensors")["weight"], network.weight.detach())
