"""Data-parallel training on 2 gloo ranks (CPU) against its documented single-process meaning.

DeepAll: 2 ranks equal one process over the global batch (both ranks' per-domain batches), with
BatchNorm statistics per (domain, rank) chunk of 2k frames in both runs.
RFM: 2 ranks equal one process minimising the mean of the ranks' RFM objectives (each rank's
inner step on its own batches, one meta-train/meta-test split for all, averaged outer gradient).
BatchNorm running statistics: the moving average of the ranks' mean chunk statistics.
The comparisons run in float64: in float32, Adam's normalisation turns rounding noise in
gradients that are zero in exact arithmetic (conv biases before BatchNorm) into visible steps.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file
from torch import nn

from metafas.data.batch import Batch
from metafas.data.loader import FrameReader, SourceBatches, protocol_frames
from metafas.data.protocols import get_protocol
from metafas.data.simulated import open_store
from metafas.methods import Method
from metafas.methods.base import NonFiniteLossError
from metafas.training.checkpoint import latest_checkpoint, mark_latest, read_state
from metafas.training.config import RunConfig, resolve_config
from metafas.training.distributed import (
    DistributedError,
    Ranks,
    all_reduce_step,
    average_buffers,
    broadcast_module,
    gradient_sync,
    launched_ranks,
    process_group,
)
from metafas.training.loop import RunDirError, resume
from metafas.training.runs import build_method

WORLD = 2
STEPS = 3


def tiny_config(store: Path, method: str) -> RunConfig:
    return resolve_config("tiny", [f'data.store="{store}"', f'method="{method}"'])


def rank_sources(config: RunConfig, rank: int | None) -> SourceBatches:
    """`rank`'s sampler; None builds it as single-process code does (no rank argument)."""
    store = open_store(config.data.store, config.model.input_size, progress=False)
    frames = protocol_frames(store, get_protocol(config.data.protocol), config.data.val_fraction)
    reader = FrameReader(store.root, config.model.input_size)
    args = (frames.train, reader, config.train.k, config.train.seed)
    return SourceBatches(*args) if rank is None else SourceBatches(*args, rank)


def rank_batches(config: RunConfig, rank: int) -> Iterator[list[Batch]]:
    """What `rank` trains on, step by step, in float64."""
    sources = rank_sources(config, rank)
    while True:
        yield [double(batch.to("cpu")) for batch in sources.next()]


def double(batch: Batch) -> Batch:
    return batch._replace(
        image=batch.image.double(), depth=batch.depth.double(), label=batch.label.double()
    )


def float64_method(config: RunConfig) -> Method:
    return build_method(config).double()


def snapshot(method: Method) -> dict[str, torch.Tensor]:
    """Network state (weights and BatchNorm buffers) and Adam state."""
    state = {f"network.{k}": v.detach().clone() for k, v in method.network.state_dict().items()}
    for index, slots in method.optimizer.state_dict()["state"].items():
        state.update({f"adam.{index}.{name}": v.clone() for name, v in slots.items()})
    return state


def is_buffer(key: str) -> bool:
    return "running_" in key or "num_batches_tracked" in key


# ---- the ranks (spawned processes) ---------------------------------------------------------


def rank_worker(rank: int, port: int, store: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    ranks = launched_ranks()
    with process_group(ranks, torch.device("cpu")):
        result = {name: train_rank(Path(store), name, ranks) for name in ("deepall", "rfm")}
        result["nan_error"] = nan_on_rank_1(Path(store), ranks)
        result["unused"] = gradients_of_unused_parameters(ranks)
    torch.save(result, Path(out) / f"rank{rank}.pt")


def train_rank(store: Path, name: str, ranks: Ranks) -> dict:
    config = tiny_config(store, name)
    method = float64_method(config)
    method.gradient_sync = gradient_sync(ranks)
    broadcast_module(ranks, method)
    batches = rank_batches(config, ranks.rank)
    terms = [method.update(next(batches)) for _ in range(STEPS)]
    before = {k: v for k, v in snapshot(method).items() if is_buffer(k)}
    average_buffers(ranks, method)
    return {"terms": terms, "state": snapshot(method), "buffers_before_averaging": before}


def nan_on_rank_1(store: Path, ranks: Ranks) -> str:
    """A loss that is NaN on rank 1 only must stop both ranks, neither left waiting."""
    config = tiny_config(store, "deepall")
    method = float64_method(config)
    method.gradient_sync = gradient_sync(ranks)
    batches = next(rank_batches(config, ranks.rank))
    if ranks.rank == 1:
        batches[0] = batches[0]._replace(depth=batches[0].depth * float("nan"))
    try:
        method.update(batches)
    except NonFiniteLossError as error:
        return str(error)
    return "no error"


def gradients_of_unused_parameters(ranks: Ranks) -> list:
    """Three layers: both ranks use the first, rank 0 alone the second, none the third."""
    layers = nn.ModuleList(nn.Linear(2, 1, bias=False) for _ in range(3))
    for layer in layers:
        nn.init.constant_(layer.weight, 1.0)
    x = torch.full((1, 2), float(ranks.rank + 1))
    loss = layers[0](x).sum() + (layers[1](x).sum() if ranks.rank == 0 else 0)
    loss.backward()
    all_reduce_step(layers, {"loss": loss.detach()}, ranks.world_size)
    return [None if layer.weight.grad is None else layer.weight.grad.tolist() for layer in layers]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def rank_results(tiny_store, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("ranks")
    args = (free_port(), str(tiny_store), str(out))
    context = mp.start_processes(rank_worker, args, nprocs=WORLD, join=False, start_method="spawn")
    deadline = time.monotonic() + 180
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the ranks did not finish: one is waiting in a collective")
    return [torch.load(out / f"rank{rank}.pt") for rank in range(WORLD)]


# ---- the single-process references ---------------------------------------------------------


class RankMeanRunningStatistics:
    """Reference running statistics, from forward hooks on every BatchNorm of a single-process
    run whose calls are rank 0's chunks, then rank 1's: after each step, one moving-average
    update per chunk position with the mean over ranks of that position's chunk statistics."""

    def __init__(self, network: nn.Module):
        norms = {n: m for n, m in network.named_modules() if isinstance(m, nn.BatchNorm2d)}
        self.momentum = {n: m.momentum for n, m in norms.items()}
        self.expected = {}
        for name, norm in norms.items():
            self.expected[f"network.{name}.running_mean"] = norm.running_mean.clone()
            self.expected[f"network.{name}.running_var"] = norm.running_var.clone()
            self.expected[f"network.{name}.num_batches_tracked"] = torch.tensor(0)
            norm.register_forward_hook(partial(self.record, name))
        self.chunks: dict[str, list] = defaultdict(list)

    def record(self, name: str, norm: nn.BatchNorm2d, inputs, output) -> None:
        for chunk in inputs[0].detach().chunk(norm.domains):  # (n, C, H, W) per domain chunk
            self.chunks[name].append((chunk.mean((0, 2, 3)), chunk.var((0, 2, 3))))

    def end_step(self) -> None:
        for name, chunks in self.chunks.items():
            per_rank = len(chunks) // WORLD
            m = self.momentum[name]
            for j in range(per_rank):
                for slot, key in enumerate(("running_mean", "running_var")):
                    mean = sum(chunks[r * per_rank + j][slot] for r in range(WORLD)) / WORLD
                    previous = self.expected[f"network.{name}.{key}"]
                    self.expected[f"network.{name}.{key}"] = (1 - m) * previous + m * mean
            self.expected[f"network.{name}.num_batches_tracked"] += per_rank
        self.chunks.clear()


def reference(store: Path, name: str, step: Callable) -> tuple[dict, list, dict]:
    """One process, `step(method, per_rank_batches)` per step, on both ranks' batches."""
    config = tiny_config(store, name)
    method = float64_method(config)
    statistics = RankMeanRunningStatistics(method.network)
    streams = [rank_batches(config, rank) for rank in range(WORLD)]
    terms = []
    for _ in range(STEPS):
        terms.append(step(method, [next(stream) for stream in streams]))
        statistics.end_step()
    return snapshot(method), terms, statistics.expected


def global_batch_update(method: Method, per_rank: list[list[Batch]]) -> dict[str, float]:
    """The global batch, one BatchNorm chunk per (rank, domain): 2 x 3 chunks of 2k frames."""
    return method.update([batch for batches in per_rank for batch in batches])


def merged_domains_update(method: Method, per_rank: list[list[Batch]]) -> dict[str, float]:
    """The global batch with one BatchNorm chunk per domain (4k frames): NOT what 2 ranks do."""
    merged = [
        Batch(*(torch.cat(field) for field in list(zip(*same_domain, strict=True))[:3]), "", ())
        for same_domain in zip(*per_rank, strict=True)
    ]
    return method.update(merged)


def averaged_objectives_update(method: Method, per_rank: list[list[Batch]]) -> dict[str, float]:
    """RFM: the mean over ranks of each rank's objective, every rank on the same split."""
    method.train()
    method.optimizer.zero_grad(set_to_none=True)
    (meta_test,) = method.meta_test_domains(len(per_rank[0]))
    objectives = [method.loss(batches, meta_test=meta_test) for batches in per_rank]
    terms = {k: sum(o[k] for o in objectives) / len(objectives) for k in objectives[0]}
    terms["loss"].backward()
    method.optimizer.step()
    return {k: v.item() for k, v in terms.items()}


def assert_trained_alike(state: dict, expected: dict) -> None:
    """Weights and Adam state equal within float64 tolerance."""
    keys = [k for k in expected if not is_buffer(k)]
    assert keys and set(keys) == {k for k in state if not is_buffer(k)}
    for key in keys:
        torch.testing.assert_close(state[key], expected[key], msg=key)


def max_difference(state: dict, expected: dict) -> float:
    return max((state[k] - expected[k]).abs().max().item() for k in expected if not is_buffer(k))


# ---- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, Ranks()), ({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}, Ranks(3, 4, 1))],
)
def test_ranks_come_from_the_torchrun_environment(environ, expected):
    assert launched_ranks(environ) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"WORLD_SIZE": "2"}, "launch with torchrun"),
        ({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}, "does not fit a world of 2"),
    ],
)
def test_a_broken_torchrun_environment_is_refused(environ, message):
    with pytest.raises(DistributedError, match=message):
        launched_ranks(environ)


def test_each_rank_draws_its_own_batches_and_rank_0_those_of_one_process(tiny_store):
    config = tiny_config(tiny_store, "deepall")
    streams = [rank_sources(config, rank) for rank in (None, 0, 1)]
    drawn = [[[b.video_id for b in s.next()] for _ in range(3)] for s in streams]
    assert drawn[0] == drawn[1] != drawn[2]


def test_two_ranks_keep_identical_weights_and_buffers(rank_results):
    for name in ("deepall", "rfm"):
        first, second = (result[name] for result in rank_results)
        assert first["state"].keys() == second["state"].keys()
        assert all(torch.equal(first["state"][k], second["state"][k]) for k in first["state"])
        assert first["terms"] == second["terms"]
        before = (first["buffers_before_averaging"], second["buffers_before_averaging"])
        assert any(not torch.equal(before[0][k], before[1][k]) for k in before[0]), name


def test_deepall_on_two_ranks_equals_one_process_over_the_global_batch(tiny_store, rank_results):
    state, terms = rank_results[0]["deepall"]["state"], rank_results[0]["deepall"]["terms"]
    expected, expected_terms, buffers = reference(tiny_store, "deepall", global_batch_update)
    assert_trained_alike(state, expected)
    for got, want in zip(terms, expected_terms, strict=True):
        assert got == pytest.approx(want, rel=1e-9)
    for key, value in buffers.items():
        torch.testing.assert_close(state[key], value, msg=key)
    # The test can fail: BatchNorm over whole domains (4k frames) is a different computation.
    merged, _, _ = reference(tiny_store, "deepall", merged_domains_update)
    assert max_difference(state, merged) > 1e-4


def test_rfm_on_two_ranks_equals_one_process_averaging_the_ranks_objectives(
    tiny_store, rank_results
):
    state, terms = rank_results[0]["rfm"]["state"], rank_results[0]["rfm"]["terms"]
    expected, expected_terms, buffers = reference(tiny_store, "rfm", averaged_objectives_update)
    assert_trained_alike(state, expected)
    for got, want in zip(terms, expected_terms, strict=True):
        assert got == pytest.approx(want, rel=1e-9)
    for key, value in buffers.items():
        torch.testing.assert_close(state[key], value, msg=key)
    # Not RFM over the global batch: one inner step per domain on both ranks' frames differs.
    whole, _, _ = reference(tiny_store, "rfm", merged_domains_update)
    assert max_difference(state, whole) > 1e-4


def test_a_non_finite_loss_on_one_rank_stops_every_rank(rank_results):
    for result in rank_results:
        assert "a loss term is not finite on 1 of 2 ranks" in result["nan_error"]


def test_gradients_are_averaged_and_unused_parameters_keep_none(rank_results):
    # Rank r feeds x = r + 1: d(w.x)/dw = x, so layer 0 averages [1, 1] and [2, 2]; layer 1 has
    # rank 0's [1, 1] and rank 1's zeros; layer 2 is used by no rank.
    for result in rank_results:
        assert result["unused"] == [[[1.5, 1.5]], [[0.5, 0.5]], None]


def torchrun(*args: str) -> None:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", str(WORLD), "-m", "metafas.cli", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]


def test_torchrun_rank_0_writes_once_and_the_run_resumes_exactly(tiny_store, tmp_path):
    run = tmp_path / "run"
    settings = ["train.steps=4", "train.eval_every=2", "train.checkpoint_every=2"]
    overrides = [arg for setting in settings for arg in ("--set", setting)]
    torchrun("train", "--preset", "tiny", "--store", str(tiny_store), "--out", str(run), *overrides)
    keys = [(r["step"], r["level"], r["threshold_rule"]) for r in records(run)]
    assert len(keys) == len(set(keys)) == 8 and {r["world_size"] for r in records(run)} == {2}
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 1
    assert json.loads((run / "done.json").read_text())["world_size"] == 2
    state = read_state(latest_checkpoint(run))
    assert state["world_size"] == 2
    assert state["samplers"] == state["rank_samplers"][0] != state["rank_samplers"][1]

    resumed = tmp_path / "resumed"  # as if stopped right after the checkpoint of step 2
    shutil.copytree(run, resumed)
    (resumed / "done.json").unlink()
    shutil.rmtree(resumed / "checkpoints" / "step_0000004")
    mark_latest(resumed / "checkpoints", resumed / "checkpoints" / "step_0000002")
    with pytest.raises(RunDirError, match="written by 2 process"):
        resume(resumed, progress=False)  # a single process cannot continue 2 ranks' run
    torchrun("train", "--resume", str(resumed))
    for name in ("model.safetensors", "optimizer.safetensors"):
        a = load_file(latest_checkpoint(run) / name)
        b = load_file(latest_checkpoint(resumed) / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    assert sorted(keys) == sorted(
        (r["step"], r["level"], r["threshold_rule"]) for r in records(resumed)
    )
