"""--device and --threads for predict, evaluate, export and serve: the model on the chosen device
with the checkpoint's precision resolved for it, ONNX Runtime's providers, CPU threads. CPU
paths run everywhere; the CUDA ones are `gpu`-marked."""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pytest
import torch
from test_predict import PREPARED, make_checkpoint, photo

import metafas
from metafas.cli import build_parser
from metafas.deploy import load_scorer
from metafas.deploy.onnx_runtime import CPU_PROVIDER, CUDA_PROVIDER, execution_providers
from metafas.deploy.server import serving_app
from metafas.training.checkpoint import save_checkpoint
from metafas.training.config import resolve_config
from metafas.training.runs import build_method

COMMANDS = {  # each with the arguments it needs
    "predict": ["CKPT", "x.jpg"],
    "evaluate": ["RUN"],
    "export": ["CKPT", "--out", "o"],
    "serve": ["CKPT"],
}
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA errors")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("dev") / "step_0000001", store_info=PREPARED)


@pytest.fixture
def threads():
    """Restores torch's thread count after a test that sets it."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def subcommand(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_scoring_command_takes_device_and_threads(command, capsys):
    parser, needed = subcommand(command), COMMANDS[command]
    assert (parser.parse_args(needed).device, parser.parse_args(needed).threads) == ("auto", None)
    args = parser.parse_args([*needed, "--device", "cpu", "--threads", "3"])
    assert (args.device, args.threads) == ("cpu", 3)
    for bad, why in [(["--device", "tpu"], "invalid choice"), (["--threads", "0"], "at least 1")]:
        with pytest.raises(SystemExit):
            parser.parse_args([*needed, *bad])
        assert why in capsys.readouterr().err


def test_torch_scorer_on_the_cpu_with_threads(checkpoint, threads):
    scorer = load_scorer(checkpoint, "torch", device="cpu", threads=2)
    assert scorer.device == "cpu" and torch.get_num_threads() == 2
    crops = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    assert scorer.score(crops).shape == (3,)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        load_scorer(checkpoint, device="cpu", threads=0)
    with pytest.raises(ValueError, match="unknown device 'tpu'; known: auto, cpu, cuda"):
        load_scorer(checkpoint, device="tpu")


@pytest.mark.parametrize(("native", "precision"), [(True, "bf16"), (False, "fp32")])
def test_precision_is_resolved_for_the_device(tmp_path, monkeypatch, native, precision):
    """train.precision=auto follows what the device computes natively, as in training."""
    config = resolve_config("tiny", ['train.precision="auto"'])
    state = {"step": 1, "config": config.to_dict(), "threshold": None, "store_info": PREPARED}
    checkpoint = save_checkpoint(tmp_path / "ckpt", build_method(config).network, state)
    monkeypatch.setattr("metafas.training.hardware.native_bf16", lambda device: native)
    assert load_scorer(checkpoint, device="cpu").method.precision == precision


def test_onnx_scorer_threads_and_providers(checkpoint):
    scorer = load_scorer(checkpoint, "onnx", device="cpu", threads=2)
    assert scorer.providers == [CPU_PROVIDER] and scorer.device == "cpu"
    assert scorer.session.get_session_options().intra_op_num_threads == 2


def test_execution_providers_put_cuda_first_where_there_is_one(monkeypatch, caplog):
    both = [CUDA_PROVIDER, CPU_PROVIDER]
    assert execution_providers("cpu", both) == [CPU_PROVIDER]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert execution_providers("auto", both) == both
    assert execution_providers("cuda", both) == both
    with caplog.at_level(logging.INFO):
        assert execution_providers("auto", [CPU_PROVIDER]) == [CPU_PROVIDER]
    assert "no CUDA provider" in caplog.text and "onnxruntime-gpu" in caplog.text
    with pytest.raises(RuntimeError, match="ONNX Runtime has no CUDA provider.*onnxruntime-gpu"):
        execution_providers("cuda", [CPU_PROVIDER])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert execution_providers("auto", both) == [CPU_PROVIDER]


@NO_CUDA
def test_cuda_without_a_cuda_device_is_an_error(checkpoint, tmp_path, capsys):
    with pytest.raises(RuntimeError, match="no CUDA device is available"):
        load_scorer(checkpoint, device="cuda")
    image = photo(tmp_path / "a.png")
    argv = ["predict", str(checkpoint), str(image), "--no-detect", "--device", "cuda"]
    assert metafas.cli.main(argv) == 2
    assert "no CUDA device is available" in capsys.readouterr().err


def test_auto_is_the_cpu_without_cuda(checkpoint, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert load_scorer(checkpoint, device="auto").device == "cpu"


def test_evaluate_passes_device_and_threads(monkeypatch, tmp_path, threads):
    seen = {}

    def stop(checkpoint, device):
        seen["device"] = device
        raise RuntimeError("stop here")

    monkeypatch.setattr("metafas.training.evaluate_run.load_method", stop)
    monkeypatch.setattr("metafas.training.evaluate_run.find_checkpoint", lambda path: path)
    assert metafas.cli.main(["evaluate", str(tmp_path), "--device", "cpu", "--threads", "2"]) == 2
    assert seen["device"] == "cpu" and torch.get_num_threads() == 2


def test_serve_and_export_pass_device_and_threads(checkpoint, monkeypatch):
    seen = {}
    monkeypatch.setattr("metafas.deploy.server.serve", lambda *a, **k: seen.update(serve=k))
    argv = ["serve", str(checkpoint), "--device", "cpu", "--threads", "1", "--no-detect"]
    assert metafas.cli.main(argv) == 0
    assert (seen["serve"]["device"], seen["serve"]["threads"]) == ("cpu", 1)

    def export(checkpoint, out, crops, device, threads):
        seen["export"] = (device, threads)
        raise RuntimeError("stop here")

    monkeypatch.setattr("metafas.deploy.export.export_checkpoint", export)
    argv = ["export", str(checkpoint), "--out", "x", "--device", "cpu", "--threads", "1"]
    assert metafas.cli.main(argv) == 2
    assert seen["export"] == ("cpu", 1)


def test_serving_app_loads_on_the_device(checkpoint, caplog):
    with caplog.at_level(logging.INFO):
        serving_app(checkpoint, detect=False, device="cpu", threads=1)
    assert "torch runtime on cpu" in caplog.text


@pytest.mark.gpu
def test_torch_scorer_on_cuda_matches_the_cpu(checkpoint):
    crops = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)
    on_gpu = load_scorer(checkpoint, "torch", device="cuda")
    assert on_gpu.device.startswith("cuda")
    assert next(on_gpu.method.parameters()).is_cuda
    cpu = load_scorer(checkpoint, "torch", device="cpu").score(crops)
    assert np.allclose(on_gpu.score(crops), cpu, atol=2e-3)  # bf16 autocast where native
    assert load_scorer(checkpoint, device="auto").device.startswith("cuda")


@pytest.mark.gpu
def test_onnx_runtime_on_cuda_matches_the_cpu(checkpoint):
    ort = pytest.importorskip("onnxruntime")
    if CUDA_PROVIDER not in ort.get_available_providers():
        pytest.skip("onnxruntime has no CUDA provider here (onnxruntime-gpu brings it)")
    crops = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)
    on_gpu = load_scorer(checkpoint, "onnx", device="cuda")
    assert on_gpu.providers[0] == CUDA_PROVIDER and on_gpu.device == "cuda"
    cpu = load_scorer(checkpoint, "onnx", device="cpu").score(crops)
    assert np.allclose(on_gpu.score(crops), cpu, atol=1e-3)


@pytest.mark.gpu
def test_export_parity_on_cuda(checkpoint, tmp_path):
    from metafas.deploy.export import PARITY_TOLERANCE, export_checkpoint

    ort = pytest.importorskip("onnxruntime")
    if CUDA_PROVIDER not in ort.get_available_providers():
        pytest.skip("onnxruntime has no CUDA provider here (onnxruntime-gpu brings it)")
    result = export_checkpoint(checkpoint, tmp_path / "onnx", device="cuda")
    assert max(result.parity.values()) < PARITY_TOLERANCE


@pytest.mark.gpu
def test_predict_on_cuda(checkpoint, tmp_path, capsys):
    image = photo(tmp_path / "a.png")
    argv = ["predict", str(checkpoint), str(image), "--no-detect", "--device", "cuda"]
    assert metafas.cli.main(argv) == 0
    assert "a.png" in capsys.readouterr().out
