"""Scoring through ONNX Runtime (the `onnx` extra): the exported F -> M -> sigmoid graph.

The CUDA execution provider is used where the device resolves to CUDA and ONNX Runtime has it
(the `onnxruntime-gpu` package); the CPU provider is always listed last as the fallback.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from metafas.deploy.artifacts import Artifact
from metafas.deploy.scorer import Scorer, Threshold
from metafas.extras import import_extra
from metafas.media.errors import describe
from metafas.training.hardware import resolve_device

logger = logging.getLogger(__name__)

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"


def execution_providers(device: str, available: list[str]) -> list:
    """The providers for `device` ("auto", "cpu" or "cuda"): CUDA first where the device
    resolves to CUDA and ONNX Runtime has its provider, then the CPU.

    Raises:
        RuntimeError: "cuda" was asked for but there is no CUDA device or no CUDA provider.
    """
    if resolve_device(device).type != "cuda":
        return [CPU_PROVIDER]
    if CUDA_PROVIDER in available:
        return [CUDA_PROVIDER, CPU_PROVIDER]
    hint = "the onnxruntime-gpu package brings it (in place of onnxruntime)"
    if device == "cuda":
        raise RuntimeError(
            f"device 'cuda' was asked for but ONNX Runtime has no CUDA provider "
            f"(it has {', '.join(available)}); {hint}"
        )
    logger.info("ONNX Runtime has no CUDA provider (%s): scoring on the CPU", hint)
    return [CPU_PROVIDER]


def onnx_session(model: Path, threads: int | None = None, device: str = "cpu", exact: bool = False):
    """An ONNX Runtime session on the model's bytes (the file may be deleted afterwards).

    Args:
        threads: intra-op threads of the CPU provider (None: ONNX Runtime's default).
        device: "auto", "cpu" or "cuda" (see `execution_providers`).
        exact: keep float32 arithmetic on the GPU (no TF32 convolutions), for parity checks.
    """
    ort = import_extra("onnxruntime", "onnx", "scoring with ONNX Runtime")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only; warnings about unused initializers are noise
    providers = execution_providers(device, ort.get_available_providers())
    cuda_options = {"use_tf32": "0"} if exact else {}
    try:
        session = ort.InferenceSession(
            Path(model).read_bytes(),
            sess_options=options,
            providers=[(p, cuda_options if p == CUDA_PROVIDER else {}) for p in providers],
        )
    except OSError as error:
        raise OSError(f"cannot read {model}: {error.strerror or error}") from error
    except Exception as error:  # ONNX Runtime's own error types (InvalidProtobuf, Fail, ...)
        reason = f"{model} is not a loadable ONNX model ({describe(error)})"
        raise ValueError(f"{reason}; re-run metafas export") from error
    if CUDA_PROVIDER in providers and CUDA_PROVIDER not in session.get_providers():
        message = "ONNX Runtime could not start its CUDA provider (see its log above)"
        if device == "cuda":
            raise RuntimeError(f"device 'cuda' was asked for but {message}")
        logger.warning("%s: scoring on the CPU", message)
    return session


class OnnxScorer(Scorer):
    """Runs `model.onnx`; its single input takes (B, 3, S, S) RGB in [0, 1]."""

    runtime = "onnx"

    def __init__(
        self,
        model: Path,
        artifact: Artifact,
        threshold: Threshold,
        threads: int | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__(artifact.path, artifact.metadata, threshold)
        self.session = onnx_session(model, threads, device)
        self.providers = self.session.get_providers()
        self.input_name = self.session.get_inputs()[0].name
        shape = self.session.get_inputs()[0].shape
        if shape[2:] != [self.input_size, self.input_size]:
            raise ValueError(
                f"{model} takes input {shape}, but its metadata says input_size "
                f"{self.input_size}; re-run metafas export"
            )
        logger.info("ONNX Runtime scores %s with %s", artifact.path, ", ".join(self.providers))

    @property
    def device(self) -> str:
        return "cuda" if CUDA_PROVIDER in self.providers else "cpu"

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        (probabilities,) = self.session.run(None, {self.input_name: images})
        return probabilities.astype(np.float32)
