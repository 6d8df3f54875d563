"""Building a method from a resolved config, and loading one back from a checkpoint."""

from pathlib import Path

import torch

from metafas.checkpoint import load_weights, read_state
from metafas.config import RunConfig, config_from_dict
from metafas.methods import Method, method_class


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is available")
    return torch.device(name)


def build_method(config: RunConfig) -> Method:
    """A fresh method (network and optimizer) seeded by train.seed."""
    torch.manual_seed(config.train.seed)
    return method_class(config.method)(
        config.model,
        config.method_options,
        lr=config.train.lr,
        precision=config.train.precision,
        seed=config.train.seed,
        batched_domains=config.train.batched_domains,
    )


def load_method(checkpoint: Path, device: str = "cpu") -> tuple[Method, dict]:
    """The method stored in a checkpoint directory, in eval mode, and the checkpoint's state."""
    state = read_state(checkpoint)
    config = config_from_dict(state["config"])
    method = build_method(config)
    method.network.load_state_dict(load_weights(checkpoint))
    return method.to(device).eval(), state
