"""Deployment: score images and videos with a checkpoint, export it to ONNX, serve it over HTTP.

Nothing here unpickles: checkpoints are read from safetensors and JSON, exports from ONNX and
JSON. The ONNX runtime needs the `onnx` extra, the HTTP service the `serve` extra.
"""

from metafas.deploy.artifacts import Artifact, resolve_artifact
from metafas.deploy.loading import load_scorer
from metafas.deploy.predict import Prediction, Predictor, collect_inputs
from metafas.deploy.scorer import Scorer, Threshold, choose_threshold

__all__ = [
    "Artifact",
    "Prediction",
    "Predictor",
    "Scorer",
    "Threshold",
    "choose_threshold",
    "collect_inputs",
    "load_scorer",
    "resolve_artifact",
]
