"""Scoring through ONNX Runtime (the `onnx` extra): the exported F -> M -> sigmoid graph."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from metafas.deploy.artifacts import Artifact
from metafas.deploy.scorer import Scorer, Threshold
from metafas.extras import import_extra

logger = logging.getLogger(__name__)


def onnx_session(model: Path, threads: int | None = None):
    """An ONNX Runtime CPU session on the model's bytes (the file may be deleted afterwards)."""
    ort = import_extra("onnxruntime", "onnx", "scoring with ONNX Runtime")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only; warnings about unused initializers are noise
    return ort.InferenceSession(
        Path(model).read_bytes(), sess_options=options, providers=["CPUExecutionProvider"]
    )


class OnnxScorer(Scorer):
    """Runs `model.onnx`; its single input takes (B, 3, S, S) RGB in [0, 1]."""

    runtime = "onnx"

    def __init__(
        self, model: Path, artifact: Artifact, threshold: Threshold, threads: int | None = None
    ) -> None:
        super().__init__(artifact.path, artifact.metadata, threshold)
        self.session = onnx_session(model, threads)
        self.input_name = self.session.get_inputs()[0].name
        shape = self.session.get_inputs()[0].shape
        if shape[2:] != [self.input_size, self.input_size]:
            raise ValueError(
                f"{model} takes input {shape}, but its metadata says input_size "
                f"{self.input_size}; re-run metafas export"
            )
        logger.debug("ONNX Runtime session on %s (input %s)", model, shape)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        (probabilities,) = self.session.run(None, {self.input_name: images})
        return probabilities.astype(np.float32)
