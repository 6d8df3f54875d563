"""BatchNorm with per-domain statistics inside one batched forward.

The released RFM code runs F once per source domain, so BatchNorm normalises every domain with
its own batch statistics. `DomainBatchNorm2d` gives the same result in one forward over the
concatenated domains: the batch is read as `domains` equal chunks, each normalised with its own
statistics, and the running statistics are updated chunk by chunk in order, exactly as
consecutive per-domain forwards would.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class DomainChunks:
    """A module that reads its training batch as `domains` equal chunks, one per source domain
    (set by `domains_in_batch`; 1 outside it)."""

    domains: int = 1


class DomainBatchNorm2d(DomainChunks, nn.BatchNorm2d):
    """nn.BatchNorm2d (same parameters and buffers) that can normalise per domain chunk."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.domains == 1:
            return super().forward(x)
        if x.shape[0] % self.domains:
            raise ValueError(
                f"batch of {x.shape[0]} does not split into {self.domains} equal domain chunks"
            )
        # Chunks are views; each goes through the native kernel, which also updates the running
        # statistics chunk by chunk, in order, as consecutive per-domain forwards would.
        return torch.cat([nn.BatchNorm2d.forward(self, c) for c in x.chunk(self.domains)])


@contextmanager
def domains_in_batch(module: nn.Module, domains: int) -> Iterator[None]:
    """Within the block, every DomainChunks module of `module` (DomainBatchNorm2d, MixStyle)
    reads its batch as `domains` chunks."""
    chunked = [m for m in module.modules() if isinstance(m, DomainChunks)]
    for part in chunked:
        part.domains = domains
    try:
        yield
    finally:
        for part in chunked:
            part.domains = 1
