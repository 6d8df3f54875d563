"""What a CHECKPOINT argument names: a checkpoint, a run (its latest checkpoint) or an export.

Nothing here unpickles. Weights are read only from safetensors files, whose header is checked
first so that a pickle or `torch.save` file in their place is refused with a clear reason
before any library parses it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from metafas.training.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    read_json_document,
    read_state,
)
from metafas.training.model_card import CARD_FORMAT, CARD_JSON, CARD_VERSION

EXPORT_FORMAT = "metafas-onnx"
EXPORT_VERSION = 1
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".tar")
# The metadata.json fields that loading an export uses, and their JSON types.
EXPORT_FIELDS = {"config": dict}
EXPORT_OPTIONAL = {"threshold": (dict, type(None)), "store_info": (dict, type(None))}
MAX_SAFETENSORS_HEADER = 100_000_000  # bytes; safetensors itself refuses larger headers
PICKLE_REFUSED = (
    "metafas never unpickles (unpickling runs arbitrary code); it loads only checkpoint "
    "directories with model.safetensors and state.json, or exports with model.onnx"
)


@dataclass(frozen=True)
class Artifact:
    """A resolved model to load.

    Attributes:
        kind: "checkpoint" (state.json + model.safetensors) or "export" (model.onnx +
            metadata.json).
        path: the checkpoint or export directory.
        metadata: state.json of a checkpoint, metadata.json of an export; both hold `config`,
            `threshold` (per level, see metafas.evaluation.scoring.checkpoint_threshold) and
            `store_info`. Beside it, model_card.json (`read_model_card`).
    """

    kind: str
    path: Path
    metadata: dict


def resolve_artifact(path: str | Path) -> Artifact:
    """Find what `path` names: an export, a checkpoint, or a run directory (latest checkpoint).

    Raises:
        CheckpointError: missing, a pickle file, or a directory that is none of the three.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint, run or export directory")
    if path.is_file():
        raise CheckpointError(_file_reason(path))
    if (path / "model.onnx").is_file():
        return Artifact("export", path, read_export_metadata(path))
    if (path / "checkpoints" / "latest").is_file():
        path = latest_checkpoint(path)
    pickles = [p.name for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES]
    if pickles and not (path / "model.safetensors").exists():
        raise CheckpointError(
            f"{path} holds {pickles[0]} but no model.safetensors; {PICKLE_REFUSED}"
        )
    state = read_state(path)
    check_safetensors(path / "model.safetensors")
    return Artifact("checkpoint", path, state)


def read_export_metadata(directory: Path) -> dict:
    """metadata.json of an exported model, checked for format and version."""
    path = Path(directory) / "metadata.json"
    if not path.is_file():
        raise CheckpointError(f"{directory} has model.onnx but no metadata.json; re-run export")
    return read_json_document(
        path, EXPORT_FORMAT, EXPORT_VERSION, "export", EXPORT_FIELDS, EXPORT_OPTIONAL
    )


def read_model_card(directory: Path) -> dict | None:
    """model_card.json of a checkpoint or export, checked for format and version; None for one
    written before model cards."""
    path = Path(directory) / CARD_JSON
    if not path.is_file():
        return None
    return read_json_document(path, CARD_FORMAT, CARD_VERSION, "model card")


def check_safetensors(path: Path) -> None:
    """Refuse a file that is not safetensors (e.g. a pickle renamed), reading only its header.

    A safetensors file starts with an 8-byte little-endian header length, then a JSON object.
    """
    with open(path, "rb") as file:
        head = file.read(8)
        length = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
        starts = file.read(1) if 1 < length <= MAX_SAFETENSORS_HEADER else b""
    if starts != b"{":
        raise CheckpointError(
            f"{path} is not a safetensors file ({_content_kind(head)}); {PICKLE_REFUSED}"
        )


def _file_reason(path: Path) -> str:
    """Why a single file is not accepted as CHECKPOINT."""
    with open(path, "rb") as file:
        kind = _content_kind(file.read(8))
    if path.suffix.lower() in PICKLE_SUFFIXES or kind != "unknown content":
        return f"{path} is a file ({kind}), refused: {PICKLE_REFUSED}"
    return f"{path} is a file; pass a checkpoint, run or export directory"


def _content_kind(head: bytes) -> str:
    """Name the format of a file from its first bytes, for error messages."""
    if head[:1] == b"\x80" and head[1:2] and head[1] <= 5:
        return f"a pickle, protocol {head[1]}"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive, as torch.save writes"
    return "unknown content"
