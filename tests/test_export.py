"""`metafas export`: ONNX of RGB->HSV, F, M and sigmoid with a dynamic batch, metadata that
carries the checkpoint's config, threshold and store info, and parity with PyTorch; prediction
through ONNX Runtime from an export or a checkpoint."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from metafas.training.checkpoint import CheckpointError, save_checkpoint
from metafas.training.config import resolve_config
from metafas.training.runs import build_method, load_method

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from metafas.cli.deploy import add_export_args, run_export  # noqa: E402
from metafas.deploy import Predictor, load_scorer  # noqa: E402
from metafas.deploy.export import (  # noqa: E402
    PARITY_TOLERANCE,
    ParityError,
    check_parity,
    export_checkpoint,
    parity_inputs,
)
from metafas.faces import Face  # noqa: E402

THRESHOLD = {"rule": "source_val_eer", "value": 0.37, "level": "video", "step": 3}
STORE_INFO = {
    "written_by": "metafas prepare",
    "preprocessing": {"crop": {"size": 40, "margin": 0.3, "min_score": 0.6, "depth_size": 5}},
}


def centre_detector(image: np.ndarray) -> list[Face]:
    h, w = image.shape[:2]
    return [Face((0.2 * w, 0.2 * h, 0.8 * w, 0.8 * h), 0.9, (0.4 * w, 0.4 * h), (0.6 * w, 0.4 * h))]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny checkpoint whose BatchNorm statistics are not the identity (as after training)."""
    config = resolve_config("tiny")
    method = build_method(config)
    generator = torch.Generator().manual_seed(0)
    for module in method.network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
    state = {
        "step": 3,
        "config": config.to_dict(),
        "threshold": THRESHOLD,
        "store_info": STORE_INFO,
    }
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "step_0000003", method.network, state)


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory) -> tuple[Path, str]:
    """`metafas export --check-on` three face images (fake detector): the export, its output."""
    folder = tmp_path_factory.mktemp("faces")
    y, x = np.mgrid[0:64, 0:64] / 64
    blob = np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) * 6)
    for i, tint in enumerate([(0.9, 0.7, 0.6), (0.5, 0.4, 0.35), (1.0, 0.85, 0.8)]):
        Image.fromarray((blob[..., None] * tint * 255).astype(np.uint8)).save(folder / f"{i}.png")
    out = tmp_path_factory.mktemp("export") / "onnx"
    parser = argparse.ArgumentParser()
    add_export_args(parser)
    args = parser.parse_args([str(checkpoint), "--out", str(out), "--check-on", str(folder)])
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()) as text:
        patch.setattr("metafas.deploy.predict.default_detector", lambda *a: centre_detector)
        assert run_export(args) == 0
    return out, text.getvalue()


def test_export_writes_model_and_metadata_with_parity(exported, checkpoint):
    directory, printed = exported
    assert sorted(p.name for p in directory.iterdir()) == [
        "metadata.json",
        "model.onnx",
        "model_card.json",
        "model_card.md",
    ]
    metadata = json.loads((directory / "metadata.json").read_text())
    state = json.loads((checkpoint / "state.json").read_text())
    for key in ("config", "threshold", "store_info", "step"):
        assert metadata[key] == state[key]
    assert metadata["input"]["shape"] == ["batch", 3, 32, 32]
    parity = metadata["parity"]
    assert parity["frames"] == {"random": 8, "edge_colours": 7, "real": 3}
    assert all(diff < PARITY_TOLERANCE for diff in parity["max_abs_diff"].values())
    for name in ("random", "edge_colours", "real"):
        assert f"parity {name}" in printed


@pytest.mark.parametrize("batch", [1, 5])
def test_onnx_batch_size_is_dynamic(exported, checkpoint, batch):
    session = onnxruntime.InferenceSession(str(exported[0] / "model.onnx"))
    images = np.random.default_rng(batch).random((batch, 3, 32, 32), dtype=np.float32)
    (probabilities,) = session.run(None, {"image": images})
    method, _ = load_method(checkpoint)
    expected = method.network(torch.from_numpy(images)).detach().numpy()
    assert probabilities.shape == (batch,)
    np.testing.assert_allclose(probabilities, expected, atol=PARITY_TOLERANCE)


def test_parity_check_catches_a_different_network(exported, checkpoint):
    method, _ = load_method(checkpoint)
    with torch.no_grad():
        method.network.meta_learner.head.bias.add_(0.5)
    with pytest.raises(ParityError, match="differs from PyTorch"):
        check_parity(method.network, exported[0] / "model.onnx", parity_inputs(32, None))


def test_predict_on_export_uses_onnx_runtime_and_matches_torch(exported, checkpoint, tmp_path):
    image = tmp_path / "face.png"
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (60, 50, 3), dtype=np.uint8)).save(image)
    onnx_scorer = load_scorer(exported[0])
    torch_scorer = load_scorer(checkpoint)
    assert (onnx_scorer.runtime, torch_scorer.runtime) == ("onnx", "torch")
    assert (onnx_scorer.threshold.value, onnx_scorer.threshold.rule) == (0.37, "source_val_eer")
    onnx_result = Predictor(onnx_scorer, centre_detector).predict_file(image)
    torch_result = Predictor(torch_scorer, centre_detector).predict_file(image)
    assert onnx_result.frames[0]["face_box"] == torch_result.frames[0]["face_box"]
    assert abs(onnx_result.live_probability - torch_result.live_probability) < PARITY_TOLERANCE


def test_runtime_choices(exported, checkpoint):
    with pytest.raises(CheckpointError, match="is an ONNX export; use --runtime onnx"):
        load_scorer(exported[0], runtime="torch")
    with pytest.raises(CheckpointError, match="already an export"):
        export_checkpoint(exported[0], exported[0].parent / "again")
    scorer = load_scorer(checkpoint, runtime="onnx")  # exported on the fly
    assert scorer.runtime == "onnx"
    assert scorer.score(np.zeros((2, 32, 32, 3), np.uint8)).shape == (2,)
