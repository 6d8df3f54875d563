"""ONNX export of the inference path (RGB -> HSV, F, M, sigmoid) with a PyTorch parity check.

We use PyTorch's torch.export-based exporter (`dynamo=True`, the default since PyTorch 2.9;
it needs onnxscript). The older TorchScript exporter also works for DepthNet but warns that it
will be removed. The batch dimension is dynamic; the image side is fixed by the checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from metafas.data.atomic import atomic_write_json, atomic_write_text
from metafas.deploy.artifacts import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    read_model_card,
    resolve_artifact,
)
from metafas.deploy.onnx_runtime import onnx_session
from metafas.extras import require_extra
from metafas.training.checkpoint import CheckpointError
from metafas.training.model_card import card_files, card_from_state

logger = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "live_probability"
PARITY_TOLERANCE = 1e-4


class ParityError(RuntimeError):
    """ONNX Runtime and PyTorch disagree on the exported model's outputs."""


@dataclass(frozen=True)
class ExportResult:
    """Where the export went and how closely ONNX Runtime matches PyTorch (max abs difference
    of the live probability per input set: random, edge colours, and real crops if given)."""

    directory: Path
    parity: dict[str, float]
    frames: dict[str, int]


def export_network(network: nn.Module, path: Path) -> Path:
    """Write `network` (DepthNet: RGB in [0, 1] -> live probability) as one ONNX file."""
    size = network.config.input_size
    example = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    batch = torch.export.Dim("batch", min=1)
    network = network.float().eval()
    require_extra("onnx", "ONNX export")
    with _quiet_exporter():
        torch.onnx.export(
            network,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},),
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    return Path(path)


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    real_crops: np.ndarray | None = None,
    device: str = "cpu",
    threads: int | None = None,
) -> ExportResult:
    """Export a checkpoint (or a run's latest) to `out/model.onnx` + `out/metadata.json`.

    metadata.json carries the checkpoint's config, thresholds (per level) and store_info, so
    an export is all that prediction needs; model_card.json and model_card.md are the
    checkpoint's card with the export added. metadata.json is written last, after the parity
    check passes.

    Args:
        real_crops: (N, S, S, 3) uint8 face crops at the model size for the parity check.
        device: where ONNX Runtime runs the parity check ("auto", "cpu", "cuda"); the
            reference is fp32 PyTorch on the CPU, whatever the device.
        threads: ONNX Runtime's intra-op threads for the check.

    Raises:
        ParityError: ONNX Runtime differs from PyTorch by more than PARITY_TOLERANCE.
    """
    from metafas.training.runs import load_method

    artifact = resolve_artifact(checkpoint)
    if artifact.kind != "checkpoint":
        raise CheckpointError(f"{artifact.path} is already an export; give a checkpoint")
    method, state = load_method(artifact.path, "cpu")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metadata.json").unlink(missing_ok=True)  # an export without it is incomplete
    onnx_path = export_network(method.network, out / "model.onnx")
    inputs = parity_inputs(method.network.config.input_size, real_crops)
    parity = check_parity(method.network, onnx_path, inputs, device, threads)
    frames = {name: len(images) for name, images in inputs.items()}
    write_model_card(out, artifact.path, state, parity)
    atomic_write_json(out / "metadata.json", export_metadata(state, artifact.path, parity, frames))
    logger.info("exported %s to %s", artifact.path, out)
    return ExportResult(out, parity, frames)


def parity_inputs(size: int, real_crops: np.ndarray | None) -> dict[str, np.ndarray]:
    """(N, 3, S, S) float32 test batches: uniform noise, edge colours for the HSV conversion
    (black, white, greys, pure and mixed hues), and real face crops when given."""
    rng = np.random.default_rng(0)
    inputs = {"random": rng.random((8, 3, size, size), dtype=np.float32)}
    colours = [(0, 0, 0), (1, 1, 1), (0.5, 0.5, 0.5), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0)]
    edge = np.broadcast_to(np.array(colours, np.float32)[:, :, None, None], (7, 3, size, size))
    inputs["edge_colours"] = np.ascontiguousarray(edge)
    if real_crops is not None and len(real_crops):
        inputs["real"] = real_crops.transpose(0, 3, 1, 2).astype(np.float32) / 255
    return inputs


def check_parity(
    network: nn.Module,
    onnx_path: Path,
    inputs: dict[str, np.ndarray],
    device: str = "cpu",
    threads: int | None = None,
) -> dict[str, float]:
    """Max abs difference of ONNX Runtime (on `device`, in exact fp32) vs fp32 PyTorch on the
    CPU per input set; raises ParityError."""
    session = onnx_session(onnx_path, threads, device, exact=True)
    parity = {}
    for name, images in inputs.items():
        with torch.no_grad():
            expected = network(torch.from_numpy(images)).numpy()
        (actual,) = session.run(None, {INPUT_NAME: images})
        parity[name] = float(np.max(np.abs(actual - expected)))
        logger.debug(  # metafas export prints these figures from the result
            "parity on %s (%d frames): max |onnx - torch| = %.3g", name, len(images), parity[name]
        )
    # NaN compares false with everything: a NaN difference is the worst and fails the check.
    worst = max(parity, key=lambda name: np.nan_to_num(parity[name], nan=np.inf))
    if not parity[worst] < PARITY_TOLERANCE:
        raise ParityError(
            f"ONNX Runtime differs from PyTorch by {parity[worst]:.3g} on {worst} inputs "
            f"(tolerance {PARITY_TOLERANCE}); the export in {onnx_path.parent} is not usable"
        )
    return parity


def write_model_card(out: Path, checkpoint: Path, state: dict, parity: dict) -> None:
    """The checkpoint's model card (derived from its state.json if it predates model cards),
    with how it was exported, as model_card.json and model_card.md in `out`."""
    card = read_model_card(checkpoint) or card_from_state(state)
    card["export"] = {
        "format": "onnx",
        "source_checkpoint": str(checkpoint),
        "runtime": "ONNX Runtime, fp32",
        "parity_max_abs_diff": parity,
        "parity_tolerance": PARITY_TOLERANCE,
    }
    for name, text in card_files(card).items():
        atomic_write_text(out / name, text)


def export_metadata(state: dict, source: Path, parity: dict, frames: dict) -> dict:
    """metadata.json: what the model expects and everything predict needs from the checkpoint."""
    size = state["config"]["model"]["input_size"]
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "source_checkpoint": str(source),
        "step": state.get("step"),
        "config": state["config"],
        "threshold": state.get("threshold"),
        "store_info": state.get("store_info"),
        "input": {
            "name": INPUT_NAME,
            "shape": ["batch", 3, size, size],
            "layout": "NCHW",
            "colour": "RGB",
            "range": [0, 1],
        },
        "output": {"name": OUTPUT_NAME, "shape": ["batch"], "meaning": "live probability"},
        "exporter": {"torch": torch.__version__, "dynamo": True},
        "parity": {"max_abs_diff": parity, "frames": frames, "tolerance": PARITY_TOLERANCE},
    }


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's progress warnings (e.g. 'torchvision is not installed')."""
    names = ["torch.onnx", "torch.export", "torch._export", "onnxscript", "onnx_ir"]
    loggers = [logging.getLogger(name) for name in names]
    levels = [log.level for log in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for log in loggers:
            log.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for log, level in zip(loggers, levels, strict=True):
                log.setLevel(level)
