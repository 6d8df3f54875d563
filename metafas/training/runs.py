"""Building a method from a resolved config, and loading one back from a checkpoint."""

import logging
from pathlib import Path

import torch

from metafas.data.protocols import get_protocol
from metafas.methods import Method, method_class
from metafas.training.checkpoint import load_into, load_weights, read_state
from metafas.training.config import RunConfig, config_from_dict
from metafas.training.hardware import describe, resolve_device, resolve_precision, runtime_record

log = logging.getLogger(__name__)


def build_method(config: RunConfig, device: torch.device | str | None = None) -> Method:
    """A fresh method (network and optimizer) seeded by train.seed, compiled if asked, on
    `device` (default: train.device), with train.precision resolved for that device."""
    device = resolve_device(config.train.device) if device is None else torch.device(device)
    torch.manual_seed(config.train.seed)
    method = method_class(config.method)(
        config.model,
        config.method_options,
        lr=config.train.lr,
        precision=resolve_precision(config.train.precision, device),
        seed=config.train.seed,
        batched_domains=config.train.batched_domains,
        source_domains=len(
            get_protocol(config.data.protocol, config.data.protocols_file or None).sources
        ),
    ).to(device)
    if config.train.compile != "off":
        compile_networks(method, config.train.compile)
    return method


def compile_networks(method: Method, backend: str) -> None:
    """torch.compile F and D in place (state dict keys unchanged). M stays eager: the inner step
    needs its double backward, which compiled graphs do not support. A graph that fails to
    compile falls back to eager with a logged warning instead of stopping the run."""
    torch._dynamo.config.suppress_errors = True
    for module in (method.feature_extractor, method.depth_estimator):
        module.compile(backend=backend, dynamic=False)


def load_method(checkpoint: Path, device: str = "cpu") -> tuple[Method, dict]:
    """The method stored in a checkpoint directory, in eval mode, and the checkpoint's state."""
    state = read_state(checkpoint)
    config = config_from_dict(state["config"])
    method = build_method(config, device)
    load_into(method.network, load_weights(checkpoint), Path(checkpoint) / "model.safetensors")
    runtime = runtime_record(torch.device(device), config.train.precision, method.precision)
    log.info("loaded %s on %s", checkpoint, describe(runtime))
    return method.eval(), state
