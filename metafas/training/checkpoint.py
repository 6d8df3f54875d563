"""Checkpoints without pickle: weights and optimizer tensors in safetensors, the rest in JSON.

A checkpoint is a directory written under a temporary name and renamed when complete:
    model.safetensors      the network's state dict (weights and BatchNorm buffers)
    optimizer.safetensors  the optimizer's tensors (absent in an exported model)
    state.json             format, step, resolved config, RNG and sampler states, threshold
    model_card.json, .md   what the model is and is not for (metafas.training.model_card)

Every file goes through metafas.data.atomic, so it follows the umask (safetensors' own save_file
writes mode 0o600 whatever the umask).
"""

import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save

from metafas.data.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from metafas.data.json_document import DocumentError
from metafas.data.json_document import read_json_document as read_document
from metafas.methods.base import non_finite_tensors

FORMAT = "metafas-checkpoint"
VERSION = 1


class CheckpointError(DocumentError):
    """A checkpoint directory is missing, incomplete, damaged or not a metafas checkpoint."""


# The state.json fields that loading uses, and their JSON types (checked when it is read).
STATE_FIELDS = {"step": int, "config": dict}
STATE_OPTIONAL = {
    "store_info": (dict, type(None)),
    "threshold": (dict, type(None)),
    "world_size": int,
    "samplers": dict,
    "rank_samplers": list,
    "method_state": dict,
    "torch_rng": list,
    "optimizer": dict,
}


def flatten_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer state dict into named tensors and JSON-serialisable groups."""
    tensors = {
        f"state.{index}.{name}": value.detach().clone().contiguous()
        for index, slots in state_dict["state"].items()
        for name, value in slots.items()
    }
    return tensors, {"param_groups": state_dict["param_groups"]}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], groups: dict) -> dict:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": groups["param_groups"]}


def save_checkpoint(
    directory: Path,
    network: torch.nn.Module,
    state: dict,
    optimizer=None,
    auxiliary: torch.nn.Module | None = None,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write a checkpoint directory atomically (complete or absent, never half-written).

    `auxiliary`: the method's modules beside the network (auxiliary.safetensors, for resume).
    `extra_files`: file name -> text written beside them (e.g. the model card).
    """
    directory = Path(directory)
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name, text in (extra_files or {}).items():
        atomic_write_text(partial / name, text)
    atomic_write_bytes(partial / "model.safetensors", save(tensors_of(network)))
    if auxiliary is not None and auxiliary.state_dict():
        atomic_write_bytes(partial / "auxiliary.safetensors", save(tensors_of(auxiliary)))
    if optimizer is not None:
        tensors, groups = flatten_optimizer(optimizer.state_dict())
        atomic_write_bytes(partial / "optimizer.safetensors", save(tensors))
        state = {**state, "optimizer": groups}
    atomic_write_json(partial / "state.json", {"format": FORMAT, "version": VERSION, **state})
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(partial, directory)
    return directory


def tensors_of(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def read_state(directory: Path) -> dict:
    """The JSON state of a checkpoint; refuses anything that is not a finished checkpoint."""
    directory = Path(directory)
    path = directory / "state.json"
    if not path.is_file() or not (directory / "model.safetensors").is_file():
        raise CheckpointError(
            f"{directory} is not a metafas checkpoint (needs state.json and model.safetensors)"
        )
    return read_json_document(path, FORMAT, VERSION, "checkpoint", STATE_FIELDS, STATE_OPTIONAL)


def read_json_document(
    path: Path, format_name: str, version: int, what: str, fields=None, optional=None
) -> dict:
    """metafas.data.json_document.read_json_document raising CheckpointError."""
    return read_document(path, format_name, version, what, fields, optional, CheckpointError)


def load_weights(directory: Path) -> dict[str, torch.Tensor]:
    """The network's state dict; refuses one with a NaN or infinite weight or buffer."""
    return load_tensors(Path(directory) / "model.safetensors")


def load_auxiliary(directory: Path) -> dict[str, torch.Tensor]:
    """The method's auxiliary modules' state ({} if the method has none)."""
    path = Path(directory) / "auxiliary.safetensors"
    return load_tensors(path) if path.exists() else {}


def load_into(module: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """`module.load_state_dict(tensors)`, or one line naming the first key whose presence or
    shape differs (the checkpoint was made for another architecture or config)."""
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    stored = {k: tuple(v.shape) for k, v in tensors.items()}
    for key in sorted(expected.keys() | stored.keys()):
        if expected.get(key) != stored.get(key):
            found, wanted = stored.get(key, "absent"), expected.get(key, "absent")
            raise CheckpointError(
                f"{path} holds another architecture than its config builds: {key} is {found} "
                f"in the file but {wanted} in the network"
            )
    module.load_state_dict(tensors)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors, all finite (the check every checkpoint load goes through)."""
    try:
        tensors = load_file(path)
    except Exception as error:  # safetensors raises its own error types
        raise CheckpointError(f"cannot read {path}: {error}") from None
    bad = non_finite_tensors(tensors)
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise CheckpointError(
            f"{path}: {bad[0]}{more} hold NaN or infinite values; this model cannot score. "
            "Use an earlier checkpoint, or retrain"
        )
    return tensors


def load_optimizer(directory: Path, state: dict) -> dict | None:
    """The optimizer's state dict (None without optimizer.safetensors)."""
    path = Path(directory) / "optimizer.safetensors"
    if not path.exists():
        return None
    if "optimizer" not in state:
        raise CheckpointError(f'{directory}/state.json: field "optimizer" is missing')
    tensors = load_tensors(path)
    try:
        return unflatten_optimizer(tensors, state["optimizer"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} does not match state.json's optimizer: {error}") from None


def mark_latest(checkpoints: Path, directory: Path, keep: int = 2) -> None:
    """Point checkpoints/latest at `directory` and prune older step directories beyond `keep`."""
    atomic_write_text(checkpoints / "latest", directory.name + "\n")
    steps = sorted(p for p in checkpoints.glob("step_*") if p.is_dir() and "." not in p.name)
    for old in steps[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(run_dir: Path) -> Path:
    pointer = Path(run_dir) / "checkpoints" / "latest"
    if not pointer.is_file():
        raise CheckpointError(f"{run_dir} has no checkpoint (missing checkpoints/latest)")
    name = pointer.read_text(errors="replace").strip()
    if not name.startswith("step_") or "/" in name or not (pointer.parent / name).is_dir():
        raise CheckpointError(f"{pointer} names {name[:60]!r}, not a checkpoint beside it")
    return pointer.parent / name
