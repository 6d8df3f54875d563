"""`metafas evaluate`: a trained run's checkpoint scored on its protocol's target test set."""

from pathlib import Path

import torch

from metafas.data.atomic import atomic_write_json
from metafas.data.loader import FrameReader, protocol_frames
from metafas.data.protocols import get_protocol
from metafas.data.simulated import open_store
from metafas.evaluation.scoring import evaluate_frames
from metafas.training.checkpoint import latest_checkpoint
from metafas.training.config import config_from_dict
from metafas.training.hardware import resolve_device
from metafas.training.runs import load_method


def find_checkpoint(path: Path) -> Path:
    """A checkpoint directory itself, or a run directory's latest checkpoint."""
    if (path / "state.json").exists():
        return path
    if not path.exists():
        raise FileNotFoundError(f"no run or checkpoint at {path}")
    return latest_checkpoint(path)


def evaluate_run(
    path: Path,
    store: str | None = None,
    protocol: str | None = None,
    device: str = "auto",
    threads: int | None = None,
) -> list[dict]:
    """Evaluate and write evaluation.json (`evaluation_path`); returns the records.

    Args:
        device: "auto" (CUDA when present), "cpu" or "cuda"; the checkpoint's train.precision
            is resolved for it.
        threads: PyTorch's CPU threads for this process (None: leave them).
    """
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)
    checkpoint = find_checkpoint(Path(path))
    method, state = load_method(checkpoint, device=str(resolve_device(device)))
    config = config_from_dict(state["config"])
    store_path = config.data.store if store is None else store
    data = open_store(store_path, config.model.input_size)
    name = protocol or config.data.protocol
    frames = protocol_frames(
        data, get_protocol(name, config.data.protocols_file or None), config.data.val_fraction
    )
    reader = FrameReader(data.root, config.model.input_size)
    common = {
        "checkpoint": str(checkpoint),
        "step": state["step"],
        "protocol": name,
        "method": config.method,
        "seed": config.train.seed,
        "selection": "last",
    }
    records = [{**common, **r} for r in evaluate_frames(method, frames, reader)]
    atomic_write_json(evaluation_path(checkpoint), records)
    return records


def evaluation_path(checkpoint: Path) -> Path:
    """Where evaluation.json goes: in the run directory for a checkpoint of a run
    (RUN/checkpoints/step_N), in the checkpoint directory itself for a standalone one."""
    run_dir = checkpoint.parent.parent
    if checkpoint.parent.name == "checkpoints" and (run_dir / "config.json").is_file():
        return run_dir / "evaluation.json"
    return checkpoint / "evaluation.json"


def format_records(records: list[dict]) -> str:
    """A plain-text table: level, threshold rule, HTER, AUC, EER, APCER, BPCER, ACER."""
    names = ("HTER", "AUC", "EER", "APCER", "BPCER", "ACER")
    head = f"{'level':6} {'threshold rule':24} " + " ".join(f"{n:>6}" for n in names)
    lines = [head, "-" * len(head)]
    for r in records:
        m = r["metrics"]
        rule = r["threshold_rule"] + (" (oracle)" if r["oracle"] else "")
        values = " ".join(f"{100 * m[k]:6.2f}" for k in names)
        lines.append(f"{r['level']:6} {rule:24} {values}")
    return "\n".join(lines) + "\n(percent; target test set)"
