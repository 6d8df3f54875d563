"""The one step-based training loop; it knows nothing about methods beyond their contract."""

import json
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from metafas.data.atomic import append_line, atomic_write_json, atomic_write_text
from metafas.data.json_document import read_json
from metafas.data.loader import FrameReader, ProtocolFrames, SourceBatches, protocol_frames
from metafas.data.lock import directory_lock
from metafas.data.protocols import get_protocol
from metafas.data.simulated import open_store
from metafas.data.store import Store
from metafas.evaluation.records import read_records
from metafas.evaluation.scoring import (
    checkpoint_threshold,
    records_from_scores,
    score_protocol,
    write_scores,
)
from metafas.methods import Method
from metafas.methods.base import NonFiniteLossError
from metafas.training.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_auxiliary,
    load_into,
    load_optimizer,
    load_weights,
    mark_latest,
    read_state,
    save_checkpoint,
)
from metafas.training.config import RUNTIME_KEY, RunConfig, config_from_dict
from metafas.training.distributed import (
    SINGLE,
    Ranks,
    average_buffers,
    barrier,
    broadcast_module,
    broadcast_object,
    gather_objects,
    gradient_sync,
    process_group,
)
from metafas.training.hardware import describe, resolve_device, runtime_record
from metafas.training.model_card import build_card, card_files, data_summary, evaluation_records
from metafas.training.runs import build_method

log = logging.getLogger(__name__)


class RunDirError(ValueError):
    """A run directory cannot be used (it holds another run, or nothing to resume)."""


@dataclass
class Session:
    """What the loop needs: data, method, where to write, and the first step to run."""

    config: RunConfig
    run_dir: Path
    frames: ProtocolFrames
    reader: FrameReader
    sources: SourceBatches
    method: Method
    device: torch.device
    store_info: dict
    runtime: dict
    first_step: int = 1
    ranks: Ranks = SINGLE


def open_session(
    config: RunConfig,
    run_dir: Path,
    progress: bool,
    ranks: Ranks = SINGLE,
    device: torch.device | None = None,
) -> Session:
    """Check data and device before anything is written, then build the method.

    Data-parallel: each rank draws its own batches and averages gradients with the others.
    """
    store = open_store_in_turn(config, progress, ranks)
    frames = protocol_frames(
        store,
        get_protocol(config.data.protocol, config.data.protocols_file or None),
        config.data.val_fraction,
    )
    reader = FrameReader(store.root, config.model.input_size)
    sources = SourceBatches(frames.train, reader, config.train.k, config.train.seed, ranks.rank)
    device = device or resolve_device(config.train.device)
    method = build_method(config, device)
    method.gradient_sync = gradient_sync(ranks)
    runtime = runtime_record(device, config.train.precision, method.precision)
    log.info("training %s on %s", config.method, describe(runtime))
    return Session(
        config,
        Path(run_dir),
        frames,
        reader,
        sources,
        method,
        device,
        store.info,
        runtime,
        ranks=ranks,
    )


def open_store_in_turn(config: RunConfig, progress: bool, ranks: Ranks) -> Store:
    """The store; each node's first rank opens it (and may simulate it once) before the rest."""
    first = ranks.local_rank == 0
    store = open_store(config.data.store, config.model.input_size, progress) if first else None
    barrier(ranks)
    if store is None:
        store = open_store(config.data.store, config.model.input_size, progress=False)
    return store


def train(config: RunConfig, run_dir: Path, progress: bool = True, ranks: Ranks = SINGLE) -> Path:
    """Train `config.method` on the protocol's sources, evaluating on its target; a new run.

    Everything is checked (data, protocol, method) before the run directory is created, so a
    refused run leaves nothing behind. Rank 0 holds the directory's lock (metafas.data.lock)
    until the run ends: a second run with the same --out is refused.

    Under torchrun pass `ranks` (metafas.training.distributed.launched_ranks()): rank 0's
    `run_dir` is used and only rank 0 writes.
    """
    with process_group(ranks, resolve_device(config.train.device)) as device:
        problem = None
        if ranks.is_main and (Path(run_dir) / "config.json").exists():
            problem = already_a_run(run_dir)
        run_dir, problem = broadcast_object(ranks, (str(run_dir), problem))
        if problem:
            raise RunDirError(problem)
        session = open_session(config, run_dir, progress, ranks, device)
        with run_lock(session):
            if ranks.is_main:
                if (session.run_dir / "config.json").exists():  # written while we checked
                    raise RunDirError(already_a_run(run_dir))
                record = {**config.to_dict(), RUNTIME_KEY: session.runtime}
                atomic_write_json(session.run_dir / "config.json", record)
            return run_loop(session, progress)


def already_a_run(run_dir: Path | str) -> str:
    return f"{run_dir} already holds a run; choose another --out or --resume it"


def run_lock(session: Session):
    """The run directory's lock on rank 0 (which alone writes); nothing on the other ranks."""
    if not session.ranks.is_main:
        return nullcontext()
    return directory_lock(session.run_dir, "run directory")


def resume(run_dir: Path, progress: bool = True, ranks: Ranks = SINGLE) -> Path:
    """Continue a run from its latest checkpoint with the same RNG, sampler and optimizer state.

    Data-parallel: every rank reads the run directory (a shared file system), and the run must
    continue with as many ranks as wrote its checkpoint.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists():
        raise RunDirError(f"{run_dir} holds no run to resume (no config.json)")
    if (run_dir / "done.json").exists():
        raise RunDirError(f"{run_dir} already finished; nothing to resume")
    config_path = run_dir / "config.json"
    config = config_from_dict(read_json(config_path, "run config", RunDirError))
    with process_group(ranks, resolve_device(config.train.device)) as device:
        session = open_session(config, run_dir, progress, ranks, device)
        with run_lock(session):
            if (run_dir / "done.json").exists():  # finished while we checked
                raise RunDirError(f"{run_dir} already finished; nothing to resume")
            if (run_dir / "checkpoints" / "latest").exists():
                restore(session, latest_checkpoint(run_dir))
            if ranks.is_main:
                drop_records_after(run_dir / "results.jsonl", session.first_step - 1)
            return run_loop(session, progress)


def restore(session: Session, checkpoint: Path) -> None:
    """Load the checkpoint's weights, optimizer, method, sampler and RNG states into `session`;
    CheckpointError names the file when one of them does not fit."""
    state = read_state(checkpoint)
    ranks = session.ranks
    if state.get("world_size", 1) != ranks.world_size:
        raise RunDirError(
            f"{checkpoint} was written by {state.get('world_size', 1)} process(es); resume it "
            f"with as many (torchrun --nproc-per-node, --nnodes), not {ranks.world_size}"
        )
    method = session.method
    where = checkpoint / "state.json"
    try:
        load_into(method.network, load_weights(checkpoint), checkpoint / "model.safetensors")
        auxiliary = checkpoint / "auxiliary.safetensors"
        load_into(method.auxiliary, load_auxiliary(checkpoint), auxiliary)
        method.optimizer.load_state_dict(load_optimizer(checkpoint, state))
        method.load_extra_state(state["method_state"])
        samplers = state["rank_samplers"][ranks.rank] if ranks.enabled else state["samplers"]
        session.sources.set_state(samplers)
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
    except KeyError as error:
        raise CheckpointError(f"{where}: field {error} is missing") from None
    except (TypeError, ValueError, RuntimeError, IndexError) as error:
        if isinstance(error, CheckpointError):
            raise
        reason = str(error).splitlines()[0][:200]
        raise CheckpointError(f"{checkpoint} does not fit this run: {reason}") from None
    session.first_step = state["step"] + 1
    log.info("resuming %s from step %d", session.run_dir, state["step"])


def drop_records_after(path: Path, step: int) -> None:
    """Remove results of steps after `step` (they will be recomputed), and a torn last line."""
    if not path.exists():
        return
    kept = [record for record in read_records(path) if record["step"] <= step]
    atomic_write_text(path, "".join(json.dumps(record) + "\n" for record in kept))


def run_loop(session: Session, progress: bool) -> Path:
    """Steps from `first_step` to the last; only rank 0 logs, evaluates and writes."""
    config, run_dir, main = session.config, session.run_dir, session.ranks.is_main
    last = config.train.steps
    writer = None
    if main:
        writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=session.first_step)
    steps = tqdm(
        range(session.first_step, last + 1),
        desc=config.method,
        disable=not (progress and main),
        initial=session.first_step - 1,
        total=last,
    )
    broadcast_module(session.ranks, session.method)  # identical start on every rank, as DDP
    started = time.perf_counter()
    for step in steps:
        terms = update(session.method, session, step)
        after_update(session, writer, steps, terms, step)
    if main:
        writer.close()
        seconds = time.perf_counter() - started
        done = {"steps": last, "seconds": seconds, "world_size": session.ranks.world_size}
        atomic_write_json(run_dir / "done.json", done)
        log.info("trained %s to step %d in %.1f s", config.method, last, seconds)
    return run_dir


def after_update(session: Session, writer, steps: tqdm, terms: dict[str, float], step: int) -> None:
    """Log, evaluate and checkpoint when due. Every rank calls this: it holds collectives."""
    settings, ranks = session.config.train, session.ranks
    evaluate = due(step, settings.eval_every, settings.steps)
    save = due(step, settings.checkpoint_every, settings.steps)
    if writer is not None and due(step, settings.log_every, settings.steps):
        log_terms(writer, steps, terms, step)
    if evaluate or save:
        average_buffers(ranks, session.method)  # BatchNorm running statistics
    if evaluate and ranks.is_main:
        log_eval(writer, evaluate_step(session, step), step)
    if save:
        checkpoint(session, step)


def due(step: int, every: int, last: int) -> bool:
    return step % every == 0 or step == last


def update(method: Method, session: Session, step: int) -> dict[str, float]:
    batches = [batch.to(session.device) for batch in session.sources.next()]
    try:
        return method.update(batches)
    except NonFiniteLossError as error:
        raise NonFiniteLossError(
            f"training stopped at step {step}: {error}; the last good checkpoint is kept in "
            f"{session.run_dir / 'checkpoints'}"
        ) from None


def log_terms(writer: SummaryWriter, steps: tqdm, terms: dict[str, float], step: int) -> None:
    """Every term to TensorBoard; the loss and the first terms that fit to the progress bar."""
    for name, value in terms.items():
        writer.add_scalar(f"train/{name}", value, step)
    steps.set_postfix_str(progress_postfix(terms), refresh=False)


POSTFIX_WIDTH = 40
"""The progress bar's postfix at most: with the bar's counters and times the line fits 100
columns, and every term still goes to TensorBoard."""
SHORT_WORDS = {"meta": "m", "train": "tr", "test": "te", "cross": "x", "intra": "in"}


def progress_postfix(terms: dict[str, float]) -> str:
    """The bar's postfix within POSTFIX_WIDTH, e.g. `loss=1.234 cls_mtr=0.693 dep_mtr=0.012`: the
    loss, then the other terms in their order while they fit, names shortened after their first
    word (cls_meta_train: cls_mtr)."""
    parts = []
    for name in sorted(terms, key=lambda name: name != "loss"):
        first, *rest = name.split("_")
        short = first + ("_" + "".join(SHORT_WORDS.get(w, w) for w in rest) if rest else "")
        part = f"{short}={terms[name]:.3f}"
        if parts and len(" ".join([*parts, part])) > POSTFIX_WIDTH:
            break
        parts.append(part)
    return " ".join(parts)


def evaluate_step(session: Session, step: int) -> list[dict]:
    """Evaluate now: frame scores to scores/, one results.jsonl record per (level, rule)."""
    scored = score_protocol(session.method, session.frames, session.reader)
    write_scores(session.run_dir / "scores" / f"step_{step:07d}.csv", scored)
    records = records_from_scores(scored)
    config = session.config
    common = {
        "step": step,
        "seed": config.train.seed,
        "method": config.method,
        "protocol": config.data.protocol,
        "selection": "last",
        "world_size": session.ranks.world_size,  # the global batch is world_size times train.k
        "config": config.to_dict(),
        RUNTIME_KEY: session.runtime,
    }
    for record in records:
        append_line(session.run_dir / "results.jsonl", json.dumps({**common, **record}))
    return records


def log_eval(writer: SummaryWriter, records: list[dict], step: int) -> None:
    for record in records:
        if record["level"] == "video":
            writer.add_scalar(
                f"target/{record['threshold_rule']}/HTER", record["metrics"]["HTER"], step
            )
            writer.add_scalar("target/AUC", record["metrics"]["AUC"], step)
            writer.add_scalar("source_val/AUC", record["source_val_auc"], step)


def checkpoint(session: Session, step: int) -> Path | None:
    """Rank 0 writes the checkpoint (with every rank's sampler state); returns its directory.

    It carries the thresholds of the latest evaluation (`checkpoint_threshold`) and a model card.
    """
    rank_samplers = gather_objects(session.ranks, session.sources.state())  # a collective
    if not session.ranks.is_main:
        return None
    config = session.config
    records = evaluation_records(session.run_dir / "results.jsonl", step)
    threshold = checkpoint_threshold(records)
    state = {
        "step": step,
        "config": config.to_dict(),
        "world_size": session.ranks.world_size,
        "samplers": rank_samplers[0],
        "method_state": session.method.extra_state(),
        "torch_rng": torch.get_rng_state().tolist(),
        "threshold": threshold,
        "store_info": session.store_info,  # how the frames were made (e.g. face-crop settings)
    }
    if session.ranks.enabled:
        state["rank_samplers"] = rank_samplers
    protocol = get_protocol(config.data.protocol, config.data.protocols_file or None).to_dict()
    protocol = {"name": config.data.protocol, **protocol, "val_fraction": config.data.val_fraction}
    card = build_card(
        state["config"],
        step,
        threshold,
        records,
        session.store_info,
        data_summary(session.frames),
        protocol,
        store=str(session.reader.root),
        runtime=session.runtime,
    )
    checkpoints = session.run_dir / "checkpoints"
    method = session.method
    directory = save_checkpoint(
        checkpoints / f"step_{step:07d}",
        method.network,
        state,
        method.optimizer,
        method.auxiliary,
        extra_files=card_files(card),
    )
    mark_latest(checkpoints, directory)
    return directory
