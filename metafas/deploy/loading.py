"""Loading a scorer for a checkpoint, run directory or export, through PyTorch or ONNX Runtime.

It sits above the scorers and the exporter (an ONNX scorer on a checkpoint exports it first), so
that none of them imports another in a circle.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from metafas.deploy.artifacts import Artifact, resolve_artifact
from metafas.deploy.export import export_network
from metafas.deploy.onnx_runtime import OnnxScorer
from metafas.deploy.scorer import Scorer, Threshold, TorchScorer, choose_threshold
from metafas.training.checkpoint import CheckpointError
from metafas.training.runs import load_method

logger = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "onnx")


def load_scorer(
    path: str | Path,
    runtime: str = "auto",
    threshold: float | None = None,
    threads: int | None = None,
) -> Scorer:
    """Load a checkpoint, run directory or export for scoring.

    Args:
        path: checkpoint dir, run dir (its latest checkpoint) or `metafas export` dir.
        runtime: "torch", "onnx", or "auto" (onnx for an export, torch for a checkpoint). ONNX
            on a checkpoint exports it to a temporary file first.
        threshold: a fixed threshold overriding the stored one.
        threads: ONNX Runtime intra-op threads (None: its default).
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    artifact = resolve_artifact(path)
    chosen = choose_threshold(artifact.metadata, threshold)
    if runtime == "auto":
        runtime = "onnx" if artifact.kind == "export" else "torch"
    if runtime == "torch":
        if artifact.kind == "export":
            raise CheckpointError(
                f"{artifact.path} is an ONNX export; use --runtime onnx, or give a checkpoint"
            )
        return TorchScorer(artifact, chosen)
    if artifact.kind == "export":
        return OnnxScorer(artifact.path / "model.onnx", artifact, chosen, threads)
    return _onnx_from_checkpoint(artifact, chosen, threads)


def _onnx_from_checkpoint(artifact: Artifact, threshold: Threshold, threads: int | None):
    """Export a checkpoint to a temporary ONNX file and load it (ONNX Runtime keeps it)."""
    logger.info("exporting %s to ONNX for this run (metafas export saves it)", artifact.path)
    method, _ = load_method(artifact.path, "cpu")
    with tempfile.TemporaryDirectory(prefix="metafas-onnx-") as tmp:
        onnx_path = export_network(method.network, Path(tmp) / "model.onnx")
        return OnnxScorer(onnx_path, artifact, threshold, threads)
