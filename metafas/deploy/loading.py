"""Loading a scorer for a checkpoint, run directory or export, through PyTorch or ONNX Runtime.

It sits above the scorers and the exporter (an ONNX scorer on a checkpoint exports it first), so
that none of them imports another in a circle.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import torch

from metafas.deploy.artifacts import Artifact, resolve_artifact
from metafas.deploy.export import export_network
from metafas.deploy.onnx_runtime import OnnxScorer
from metafas.deploy.scorer import Scorer, Threshold, TorchScorer, choose_threshold
from metafas.training.checkpoint import CheckpointError
from metafas.training.hardware import resolve_device
from metafas.training.runs import load_method

logger = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "onnx")
DEVICES = ("auto", "cpu", "cuda")


def load_scorer(
    path: str | Path,
    runtime: str = "auto",
    threshold: float | None = None,
    threads: int | None = None,
    device: str = "auto",
) -> Scorer:
    """Load a checkpoint, run directory or export for scoring.

    Args:
        path: checkpoint dir, run dir (its latest checkpoint) or `metafas export` dir.
        runtime: "torch", "onnx", or "auto" (onnx for an export, torch for a checkpoint). ONNX
            on a checkpoint exports it to a temporary file first.
        threshold: a fixed threshold overriding the stored one.
        threads: CPU threads: PyTorch's for the process (torch.set_num_threads) and ONNX
            Runtime's intra-op threads (None: leave both at their defaults).
        device: "auto" (CUDA when present), "cpu" or "cuda". PyTorch resolves the checkpoint's
            train.precision for it; ONNX Runtime uses its CUDA provider there when it has one.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; known: {', '.join(DEVICES)}")
    set_threads(threads)
    artifact = resolve_artifact(path)
    chosen = choose_threshold(artifact.metadata, threshold)
    if runtime == "auto":
        runtime = "onnx" if artifact.kind == "export" else "torch"
    if runtime == "torch":
        if artifact.kind == "export":
            raise CheckpointError(
                f"{artifact.path} is an ONNX export; use --runtime onnx, or give a checkpoint"
            )
        return TorchScorer(artifact, chosen, device)
    if artifact.kind == "export":
        return OnnxScorer(artifact.path / "model.onnx", artifact, chosen, threads, device)
    return _onnx_from_checkpoint(artifact, chosen, threads, device)


def set_threads(threads: int | None) -> None:
    """PyTorch's CPU threads for this process; None leaves them as they are."""
    if threads is None:
        return
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)


def _onnx_from_checkpoint(
    artifact: Artifact, threshold: Threshold, threads: int | None, device: str
) -> OnnxScorer:
    """Export a checkpoint to a temporary ONNX file and load it (ONNX Runtime keeps it)."""
    logger.info("exporting %s to ONNX for this run (metafas export saves it)", artifact.path)
    resolve_device(device)  # a missing CUDA device fails before the export, not after it
    method, _ = load_method(artifact.path, "cpu")
    with tempfile.TemporaryDirectory(prefix="metafas-onnx-") as tmp:
        onnx_path = export_network(method.network, Path(tmp) / "model.onnx")
        return OnnxScorer(onnx_path, artifact, threshold, threads, device)
