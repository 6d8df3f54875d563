"""Reliability of runs and checkpoints (issue 13): finite weights, one writer per directory,
checks before a run directory exists, evaluation.json's place, unfinished reports, and damaged
state, records and scores refused naming the file and field."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from metafas.data.lock import DirectoryLockedError, directory_lock
from metafas.data.simulated import write_simulated
from metafas.deploy import export as export_module
from metafas.deploy.export import ParityError, check_parity, export_checkpoint
from metafas.deploy.loading import load_scorer
from metafas.evaluation.report.build import write_report
from metafas.evaluation.table import build_table
from metafas.methods.base import NonFiniteLossError
from metafas.training.checkpoint import CheckpointError, latest_checkpoint, load_weights
from metafas.training.config import resolve_config
from metafas.training.evaluate_run import evaluate_run
from metafas.training.loop import resume, train


def tiny_config(store: Path, *overrides: str):
    return resolve_config("tiny", [f"data.store={json.dumps(str(store))}", *overrides])


@pytest.fixture(scope="module")
def trained(tiny_store, tmp_path_factory) -> Path:
    """A finished tiny run: 4 steps, evaluated and checkpointed at steps 2 and 4."""
    run = tmp_path_factory.mktemp("runs") / "run"
    return train(tiny_config(tiny_store, "method=deepall"), run, progress=False)


def copy_run(trained: Path, tmp_path: Path, finished: bool = True) -> Path:
    run = Path(shutil.copytree(trained, tmp_path / "run"))
    if not finished:
        (run / "done.json").unlink()
    return run


def edit_state(checkpoint: Path, **fields) -> None:
    path = checkpoint / "state.json"
    state = json.loads(path.read_text())
    for name, value in fields.items():
        if value is None:
            state.pop(name)
        else:
            state[name] = value
    path.write_text(json.dumps(state))


def poison(path: Path) -> str:
    """Set one weight of a safetensors file to NaN; returns its name."""
    tensors = load_file(path)
    name = next(n for n, t in tensors.items() if t.is_floating_point() and t.dim() > 1)
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, path)
    return name


# Cause 3: NaN or Inf weights.


def test_a_checkpoint_with_nan_weights_is_refused_by_predict_export_evaluate_resume(
    trained, tmp_path
):
    run = copy_run(trained, tmp_path, finished=False)
    checkpoint = latest_checkpoint(run)
    name = poison(checkpoint / "model.safetensors")
    for load in (
        lambda: load_scorer(checkpoint, runtime="torch"),  # predict, serve, metafas.load
        lambda: export_checkpoint(checkpoint, tmp_path / "export"),
        lambda: evaluate_run(checkpoint),
        lambda: resume(run, progress=False),
    ):
        with pytest.raises(CheckpointError, match=f"{name}.*NaN or infinite"):
            load()
    assert not (tmp_path / "export" / "metadata.json").exists()


def test_export_parity_refuses_a_nan_difference(monkeypatch, tmp_path):
    class NaNSession:
        def run(self, outputs, feeds):
            return [np.full(len(feeds["image"]), np.nan, np.float32)]

    monkeypatch.setattr(export_module, "onnx_session", lambda *args, **kwargs: NaNSession())
    inputs = {"random": np.zeros((2, 3, 8, 8), np.float32)}
    with pytest.raises(ParityError, match="nan"):
        check_parity(lambda x: x.mean((1, 2, 3)), tmp_path / "model.onnx", inputs)


def test_a_step_to_nan_weights_stops_training_before_its_checkpoint(
    tiny_store, tmp_path, monkeypatch
):
    step = torch.optim.Adam.step
    calls = []

    def poisoned_step(self, *args, **kwargs):
        result = step(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 3:  # the third step sets a weight to infinity; its loss stays finite
            with torch.no_grad():
                self.param_groups[0]["params"][0].view(-1)[0] = float("inf")
        return result

    monkeypatch.setattr(torch.optim.Adam, "step", poisoned_step)
    run = tmp_path / "run"
    config = tiny_config(tiny_store, "method=deepall", "train.checkpoint_every=1")
    with pytest.raises(NonFiniteLossError, match="step 3: the optimizer step made .* NaN or inf"):
        train(config, run, progress=False)
    checkpoint = latest_checkpoint(run)
    assert checkpoint.name == "step_0000002"
    load_weights(checkpoint)  # the last good checkpoint is good


# Cause 5: one writer per run and store directory.


def test_two_trainings_into_one_out_let_exactly_one_run(tiny_store, tmp_path):
    run = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--store", str(tiny_store), "--out", str(run)]
    command = [sys.executable, "-m", "metafas.cli", *args, "--method", "deepall"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two processes on a small machine
    processes = [
        subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    outcomes = [(p.wait(timeout=300), p.communicate()[1]) for p in processes]
    assert sorted(code == 0 for code, _ in outcomes) == [False, True], outcomes
    refused = next(err for code, err in outcomes if code)
    assert "already holds a run" in refused or "another metafas process" in refused
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2] * 4 + [4] * 4


def test_resume_is_refused_while_the_run_is_being_written(trained, tmp_path):
    run = copy_run(trained, tmp_path, finished=False)
    with directory_lock(run, "run directory"):  # as the training process holds it
        with pytest.raises(DirectoryLockedError, match=f"pid {os.getpid()}"):
            resume(run, progress=False)
    assert not (run / "done.json").exists()


def test_a_store_being_written_is_refused_to_a_second_writer(tmp_path):
    store = tmp_path / "store"
    with directory_lock(store, "store"):
        with pytest.raises(DirectoryLockedError, match="is in use"):
            write_simulated(store, domains=("sim_o",), size=16, subjects=1, progress=False)


def test_the_lock_dies_with_its_process(tmp_path):
    holder = (
        "import sys, time; from metafas.data.lock import directory_lock\n"
        "with directory_lock(sys.argv[1], 'store'):\n    print('held', flush=True); time.sleep(60)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", holder, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    with pytest.raises(DirectoryLockedError, match=f"pid {process.pid}"):
        with directory_lock(tmp_path, "store"):
            pass
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with directory_lock(tmp_path, "store"):  # free again: no stale lock after kill -9
        pass


# Cause 12: evaluate on a standalone checkpoint.


def test_evaluate_a_standalone_checkpoint_writes_beside_it(trained, tmp_path):
    checkpoint = Path(shutil.copytree(latest_checkpoint(trained), tmp_path / "models" / "ckpt"))
    records = evaluate_run(checkpoint)
    assert json.loads((checkpoint / "evaluation.json").read_text()) == json.loads(
        json.dumps(records)
    )
    assert not (tmp_path / "evaluation.json").exists()
    assert not (tmp_path / "models" / "evaluation.json").exists()


# Cause 13: everything checked before the run directory exists.


def test_a_refused_run_leaves_no_directory_and_the_rerun_works(tiny_store, tmp_path):
    protocols = tmp_path / "one.toml"
    protocols.write_text("[protocols.ONE]\nsources = ['sim_o']\ntarget = 'sim_m'\n")
    run = tmp_path / "run"
    fields = [f"data.protocols_file={json.dumps(str(protocols))}", 'data.protocol="ONE"']
    with pytest.raises(ValueError, match="rfm needs at least 2 source domains"):
        train(tiny_config(tiny_store, "method=rfm", *fields), run, progress=False)
    assert not run.exists()
    train(tiny_config(tiny_store, "method=deepall", *fields), run, progress=False)
    assert (run / "done.json").exists()


# Cause 16: a report of a killed run says so.


def test_report_of_an_unfinished_run_says_it_is_unfinished(trained, tmp_path):
    run = copy_run(trained, tmp_path, finished=False)
    (run / "scores" / "step_0000004.csv").unlink()  # killed before the last evaluation
    page = write_report(run, tmp_path / "report", n_boot=10).read_text()
    assert "UNFINISHED RUN" in page and "up to step 2 of 4" in page
    finished = write_report(trained, tmp_path / "finished", n_boot=10).read_text()
    assert "UNFINISHED" not in finished


# Cause 10: damaged run and checkpoint state, named by file and field.


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"config": None}, 'field "config" is missing'),
        ({"version": "2"}, 'field "version" must be an integer'),
        ({"store_info": [1]}, 'field "store_info" must be an object or null'),
        ({"step": "91"}, 'field "step" must be an integer, got "91"'),
    ],
)
def test_damaged_checkpoint_state_names_file_and_field(trained, tmp_path, fields, message):
    checkpoint = Path(shutil.copytree(latest_checkpoint(trained), tmp_path / "ckpt"))
    edit_state(checkpoint, **fields)
    with pytest.raises(CheckpointError, match=message) as caught:
        load_scorer(checkpoint, runtime="torch")
    assert str(checkpoint / "state.json") in str(caught.value)


def test_a_corrupt_optimizer_file_on_resume_names_the_file(trained, tmp_path):
    run = copy_run(trained, tmp_path, finished=False)
    path = latest_checkpoint(run) / "optimizer.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="optimizer.safetensors"):
        resume(run, progress=False)


@pytest.mark.parametrize("line", ['{"hello": 1}', '["x"]', "not json", '{"step": "2"}'])
def test_a_foreign_line_in_results_names_file_and_line(trained, tmp_path, line):
    run = copy_run(trained, tmp_path, finished=False)
    results = run / "results.jsonl"
    lines = results.read_text().splitlines()
    results.write_text("\n".join([lines[0], line, *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match=f"{results} line 2"):
        resume(run, progress=False)
    with pytest.raises(ValueError, match=f"{results} line 2"):
        write_report(run, tmp_path / "report", n_boot=10)


def test_a_torn_last_results_line_is_still_dropped_on_resume(trained, tmp_path):
    run = copy_run(trained, tmp_path, finished=False)
    results = run / "results.jsonl"
    results.write_text(results.read_text() + '{"step": 6, "lev')
    resume(run, progress=False)
    assert all(json.loads(line)["step"] <= 4 for line in results.read_text().splitlines())


def test_a_truncated_scores_file_names_file_and_line(trained, tmp_path):
    run = copy_run(trained, tmp_path)
    scores = run / "scores" / "step_0000004.csv"
    text = scores.read_text()
    scores.write_text(text[: len(text) // 2].rsplit(",", 3)[0] + "\n")
    with pytest.raises(ValueError, match=f"{scores} line \\d+: .*truncated"):
        build_table([run])
    with pytest.raises(ValueError, match=f"{scores} line \\d+"):
        write_report(run, tmp_path / "report", n_boot=10)


def test_lock_refuses_quickly_instead_of_hanging(tmp_path):
    started = time.monotonic()
    with directory_lock(tmp_path, "run directory"):
        with pytest.raises(DirectoryLockedError):
            with directory_lock(tmp_path, "run directory"):
                pass
    assert time.monotonic() - started < 5
