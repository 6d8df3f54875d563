"""The one step-based training loop; it knows nothing about methods beyond their contract."""

import json
import logging
import time
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from metafas.atomic import append_line, atomic_write_json
from metafas.checkpoint import mark_latest, save_checkpoint
from metafas.config import RunConfig
from metafas.data.loader import FrameReader, ProtocolFrames, SourceBatches, protocol_frames
from metafas.data.simulated import open_store
from metafas.evaluate import records_from_scores, score_protocol, write_scores
from metafas.methods import Method
from metafas.protocols import get_protocol
from metafas.runs import build_method, resolve_device

log = logging.getLogger(__name__)


class RunDirError(ValueError):
    """A run directory cannot be used (e.g. it already holds another run)."""


def start_run_dir(run_dir: Path, config: RunConfig) -> Path:
    """Create the run directory and write the resolved config; never overwrite another run."""
    run_dir = Path(run_dir)
    if (run_dir / "config.json").exists():
        raise RunDirError(f"{run_dir} already holds a run; choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / "config.json", config.to_dict())
    return run_dir


def train(config: RunConfig, run_dir: Path, progress: bool = True) -> Path:
    """Train `config.method` on the protocol's sources; evaluate on its target; write the run."""
    run_dir = start_run_dir(run_dir, config)
    store = open_store(config.data.store, config.model.input_size, progress=progress)
    frames = protocol_frames(store, get_protocol(config.data.protocol), config.data.val_fraction)
    reader = FrameReader(store.root, config.model.input_size)
    sources = SourceBatches(frames.train, reader, config.train.k, config.train.seed)
    device = resolve_device(config.train.device)
    method = build_method(config).to(device)
    writer = SummaryWriter(str(run_dir / "tensorboard"))
    steps = tqdm(range(1, config.train.steps + 1), desc=config.method, disable=not progress)
    started = time.perf_counter()
    for step in steps:
        terms = method.update([batch.to(device) for batch in sources.next()])
        if step % config.train.log_every == 0 or step == config.train.steps:
            log_terms(writer, steps, terms, step)
        if step % config.train.eval_every == 0 or step == config.train.steps:
            records = evaluate_step(method, frames, reader, config, run_dir, step)
            log_eval(writer, records, step)
        if step % config.train.checkpoint_every == 0 or step == config.train.steps:
            state = training_state(config, step, sources, method, records_threshold(run_dir))
            checkpoint(run_dir, method, state)
    writer.close()
    log.info(
        "trained %s for %d steps in %.1f s", config.method, step, time.perf_counter() - started
    )
    return run_dir


def log_terms(writer: SummaryWriter, steps: tqdm, terms: dict[str, float], step: int) -> None:
    for name, value in terms.items():
        writer.add_scalar(f"train/{name}", value, step)
    steps.set_postfix({k: f"{v:.3f}" for k, v in terms.items()}, refresh=False)


def evaluate_step(
    method: Method, frames: ProtocolFrames, reader: FrameReader, config, run_dir, step
):
    """Evaluate now: frame scores to scores/, one results.jsonl record per (level, rule)."""
    scored = score_protocol(method, frames, reader)
    write_scores(run_dir / "scores" / f"step_{step:07d}.csv", scored)
    records = records_from_scores(scored)
    common = {
        "step": step,
        "seed": config.train.seed,
        "method": config.method,
        "protocol": config.data.protocol,
        "selection": "last",
        "config": config.to_dict(),
    }
    for record in records:
        append_line(run_dir / "results.jsonl", json.dumps({**common, **record}))
    return records


def log_eval(writer: SummaryWriter, records: list[dict], step: int) -> None:
    for record in records:
        if record["level"] == "video":
            tag = f"target/{record['threshold_rule']}"
            writer.add_scalar(f"{tag}/HTER", record["metrics"]["HTER"], step)
            writer.add_scalar("target/AUC", record["metrics"]["AUC"], step)
            writer.add_scalar("source_val/AUC", record["source_val_auc"], step)


def records_threshold(run_dir: Path) -> dict | None:
    """The latest video-level source-validation EER threshold recorded in results.jsonl."""
    path = run_dir / "results.jsonl"
    if not path.exists():
        return None
    latest = None
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["level"] == "video" and record["threshold_rule"] == "source_val_eer":
            latest = record
    if latest is None:
        return None
    return {
        "rule": "source_val_eer",
        "value": latest["threshold"],
        "level": "video",
        "step": latest["step"],
    }


def training_state(config, step: int, sources: SourceBatches, method: Method, threshold) -> dict:
    return {
        "step": step,
        "config": config.to_dict(),
        "samplers": sources.state(),
        "method_state": method.extra_state(),
        "torch_rng": torch.get_rng_state().tolist(),
        "threshold": threshold,
    }


def checkpoint(run_dir: Path, method: Method, state: dict) -> Path:
    checkpoints = run_dir / "checkpoints"
    directory = save_checkpoint(
        checkpoints / f"step_{state['step']:07d}", method.network, state, method.optimizer
    )
    mark_latest(checkpoints, directory)
    return directory
