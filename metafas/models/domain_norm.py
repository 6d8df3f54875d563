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
import torch.nn.functional as nnf
from torch import nn


class DomainBatchNorm2d(nn.BatchNorm2d):
    """nn.BatchNorm2d (same parameters and buffers) that can normalise per domain chunk."""

    domains: int = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.domains == 1:
            return super().forward(x)
        d = self.domains
        n, c, h, w = x.shape
        if n % d:
            raise ValueError(f"batch of {n} does not split into {d} equal domain chunks")
        chunks = x.reshape(d, n // d, c, h, w).transpose(0, 1).reshape(n // d, d * c, h, w)
        weight = None if self.weight is None else self.weight.repeat(d)
        bias = None if self.bias is None else self.bias.repeat(d)
        out = nnf.batch_norm(chunks, None, None, weight, bias, True, 0.0, self.eps)
        self.track_chunks(x.detach().reshape(d, n // d, c, h, w))
        return out.reshape(n // d, d, c, h, w).transpose(0, 1).reshape(n, c, h, w)

    @torch.no_grad()
    def track_chunks(self, chunks: torch.Tensor) -> None:
        """Running statistics as `domains` consecutive forwards would leave them."""
        if not self.track_running_stats or self.running_mean is None:
            return
        mean = chunks.mean(dim=(1, 3, 4)).to(self.running_mean.dtype)  # (domains, C)
        var = chunks.var(dim=(1, 3, 4), unbiased=True).to(self.running_var.dtype)
        momentum = self.momentum if self.momentum is not None else None
        for index in range(chunks.shape[0]):
            self.num_batches_tracked += 1
            m = momentum if momentum is not None else 1.0 / float(self.num_batches_tracked)
            self.running_mean.mul_(1 - m).add_(mean[index], alpha=m)
            self.running_var.mul_(1 - m).add_(var[index], alpha=m)


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
