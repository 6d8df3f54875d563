"""Data-parallel training over processes started by torchrun: ranks, process group, collectives.

Every rank draws its own batches and computes its own loss; `all_reduce_step` then averages the
gradients in one all-reduce per step, after backward and before the optimizer step, so all ranks
keep identical weights (the semantics of DistributedDataParallel, written out because RFM
differentiates through M twice and the methods call their submodules directly).
`average_buffers` averages BatchNorm running statistics before evaluation and checkpointing.
docs/distributed.md states exactly what a distributed run computes.
"""

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import torch
import torch.distributed as dist
from torch import nn

from metafas.methods.base import NonFiniteLossError

log = logging.getLogger(__name__)

# Other ranks wait in the next all-reduce while rank 0 evaluates and writes checkpoints.
TIMEOUT = timedelta(minutes=30)

GradientSync = Callable[[nn.Module, dict[str, torch.Tensor]], dict[str, torch.Tensor]]


class DistributedError(RuntimeError):
    """The torchrun environment or the process group cannot be used."""


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job: its rank, the number of ranks, its index on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    def __post_init__(self):
        if not 0 <= self.rank < self.world_size or self.local_rank < 0:
            raise DistributedError(
                f"rank {self.rank} (local rank {self.local_rank}) does not fit a world of "
                f"{self.world_size} process(es)"
            )

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only rank that evaluates and writes."""
        return self.rank == 0


SINGLE = Ranks()


def launched_ranks(environ: Mapping[str, str] = os.environ) -> Ranks:
    """The ranks torchrun set (RANK, WORLD_SIZE, LOCAL_RANK); a single process without them."""
    if "WORLD_SIZE" not in environ:
        return SINGLE
    try:
        values = [int(environ[name]) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK")]
    except (KeyError, ValueError) as error:
        raise DistributedError(
            f"WORLD_SIZE is set but RANK/LOCAL_RANK are missing or not integers ({error}); "
            "launch with torchrun, which sets all three"
        ) from None
    return Ranks(*values)


@contextmanager
def process_group(ranks: Ranks, device: torch.device) -> Iterator[torch.device]:
    """Join the job's process group for the block (NCCL on GPUs, gloo on CPU).

    Yields the device this rank trains on: cuda:LOCAL_RANK on GPUs. A single process joins
    nothing and keeps `device`.
    """
    if not ranks.enabled:
        yield device
        return
    backend = "gloo"
    if device.type == "cuda":
        device, backend = rank_gpu(ranks), "nccl"
    dist.init_process_group(backend, rank=ranks.rank, world_size=ranks.world_size, timeout=TIMEOUT)
    log.info("rank %d of %d on %s (%s)", ranks.rank, ranks.world_size, device, backend)
    try:
        yield device
    finally:
        dist.destroy_process_group()


def rank_gpu(ranks: Ranks) -> torch.device:
    count = torch.cuda.device_count()
    if ranks.local_rank >= count:
        raise DistributedError(
            f"local rank {ranks.local_rank} needs GPU {ranks.local_rank}, but {count} are visible; "
            "start at most one process per GPU (torchrun --nproc-per-node)"
        )
    device = torch.device("cuda", ranks.local_rank)
    torch.cuda.set_device(device)
    return device


def broadcast_object(ranks: Ranks, obj):
    """Rank 0's `obj` on every rank (picklable objects)."""
    if not ranks.enabled:
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def gather_objects(ranks: Ranks, obj) -> list:
    """Every rank's `obj`, in rank order, on every rank."""
    if not ranks.enabled:
        return [obj]
    gathered = [None] * ranks.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def barrier(ranks: Ranks) -> None:
    if ranks.enabled:
        dist.barrier()


def all_reduce_step(
    module: nn.Module, terms: dict[str, torch.Tensor], world_size: int
) -> dict[str, torch.Tensor]:
    """Average gradients and loss terms over ranks in ONE all-reduce, after backward.

    The bucket holds every gradient (zeros where this rank has none), one has-gradient flag per
    parameter, the loss terms and a not-finite flag. As in DDP, a parameter gets the sum of the
    ranks' gradients / world_size, and keeps no gradient only if no rank gave it one.

    Returns:
        The loss terms averaged over ranks.

    Raises:
        NonFiniteLossError: on every rank, when a term was not finite on any rank (so that no
            rank is left waiting in a collective).
    """
    params = [p for p in module.parameters() if p.requires_grad]
    dtype, device = common_dtype(params), params[0].device
    values = torch.stack([v.detach().reshape(()).to(device, dtype) for v in terms.values()])
    not_finite = (~torch.isfinite(values).all()).to(dtype).reshape(1)
    has_grad = torch.tensor([p.grad is not None for p in params], dtype=dtype, device=device)
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
    bucket = torch.cat([*(g.reshape(-1) for g in grads), has_grad, values, not_finite])
    dist.all_reduce(bucket)
    sizes = [p.numel() for p in params]
    summed_grads, has_grad, values, not_finite = bucket.split(
        [sum(sizes), len(params), len(terms), 1]
    )
    mean_terms = dict(zip(terms, values / world_size, strict=True))
    if not_finite.item():
        shown = ", ".join(f"{name}={value.item():.4g}" for name, value in mean_terms.items())
        raise NonFiniteLossError(
            f"a loss term is not finite on {int(not_finite.item())} of {world_size} ranks "
            f"(means: {shown})"
        )
    grads = summed_grads.div_(world_size).split(sizes)
    for param, grad, present in zip(params, grads, has_grad.tolist(), strict=True):
        param.grad = grad.view_as(param) if present else None
    return mean_terms


def common_dtype(tensors: Sequence[torch.Tensor]) -> torch.dtype:
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) != 1:
        raise DistributedError(f"one gradient bucket needs one parameter dtype, got {dtypes}")
    return dtypes.pop()


def gradient_sync(ranks: Ranks) -> GradientSync | None:
    """What `Method.update` calls after backward: nothing for a single process."""
    if not ranks.enabled:
        return None
    return partial(all_reduce_step, world_size=ranks.world_size)


@torch.no_grad()
def average_buffers(ranks: Ranks, module: nn.Module) -> None:
    """Average the floating-point buffers (BatchNorm running statistics) over ranks, in place.

    Each rank's running mean and variance are exponential moving averages of its own chunks'
    statistics; their mean over ranks is the moving average of the ranks' mean statistics.
    """
    buffers = [b for b in module.buffers() if b.is_floating_point()]
    if not ranks.enabled or not buffers:
        return
    flat = torch.cat([b.reshape(-1) for b in buffers])
    dist.all_reduce(flat)
    copy_into(buffers, flat / ranks.world_size)


@torch.no_grad()
def broadcast_module(ranks: Ranks, module: nn.Module) -> None:
    """Every rank takes rank 0's parameters and buffers (as DDP does when it starts)."""
    if not ranks.enabled:
        return
    tensors = [*module.parameters(), *module.buffers()]
    for dtype in sorted({t.dtype for t in tensors}, key=str):
        group = [t for t in tensors if t.dtype == dtype]
        flat = torch.cat([t.detach().reshape(-1) for t in group])
        dist.broadcast(flat, src=0)
        copy_into(group, flat)


def copy_into(tensors: Sequence[torch.Tensor], flat: torch.Tensor) -> None:
    for tensor, chunk in zip(tensors, flat.split([t.numel() for t in tensors]), strict=True):
        tensor.copy_(chunk.view_as(tensor))
