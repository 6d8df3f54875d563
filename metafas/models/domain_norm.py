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


class DomainBatchNorm2d(nn.BatchNorm2d):
    """nn.BatchNorm2d (same parameters and buffers) that can normalise per domain chunk."""

    domains: int = 1

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
    """Within the block, every DomainBatchNorm2d of `module` normalises `domains` chunks."""
    norms = [m for m in module.modules() if isinstance(m, DomainBatchNorm2d)]
    for norm in norms:
        norm.domains = domains
    try:
        yield
    finally:
        for norm in norms:
            norm.domains = 1
