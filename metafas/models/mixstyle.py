"""MixStyle (Zhou, Yang, Qiao, Xiang, ICLR 2021): mixing instance-level feature statistics across
source domains at training time; the identity in eval mode (so exports hold no trace of it).

Each feature map x is renormalised with mixed statistics (Sec. 3 of the paper):
    mu, sigma = mean and std of x over H, W per instance and channel (detached, as released)
    mu_mix = lam * mu + (1 - lam) * mu_partner,  sigma_mix likewise,  lam ~ Beta(alpha, alpha)
    MixStyle(x) = sigma_mix * (x - mu) / sigma + mu_mix,  for a whole batch with probability p.
Who is whose partner (`mix`):
    one forward of F over all domains (`domains_in_batch`: `domains` equal chunks):
        "crossdomain" gives chunk d the partners of chunk (d + s) mod N, s drawn from 1..N-1 per
        call, shuffled within the chunk: every partner is from another domain (for N = 2 this is
        the paper's domain-label shuffle); "random" shuffles the whole batch (the paper's random
        shuffle: partners mostly, not always, from another domain);
    one forward per domain (`domains` == 1):
        "crossdomain" takes the partners from this layer's previous training forward (detached
        statistics), that is the previous domain of the same step, or the last domain of the
        step before for the first one; the very first forward, and the first after a resume,
        has none and is left unmixed. "random" shuffles within the one domain, so it mixes the
        styles of one domain only.
"""

import torch
from torch import nn
from torch.distributions import Beta

from metafas.models.domain_norm import DomainChunks

MIX_RULES = ("crossdomain", "random")

Statistics = tuple[torch.Tensor, torch.Tensor]


class MixStyle(DomainChunks, nn.Module):
    """Mixes per-instance channel statistics across domains in training mode; no parameters.

    Its random draws use the global CPU torch generator, which checkpoints save (exact resume).
    """

    def __init__(self, p: float = 0.5, alpha: float = 0.1, mix: str = "crossdomain"):
        super().__init__()
        if mix not in MIX_RULES:
            raise ValueError(f"MixStyle mix {mix!r} unknown; known: {', '.join(MIX_RULES)}")
        self.p, self.alpha, self.mix, self.eps = p, alpha, mix, 1e-6
        self.previous: Statistics | None = None  # for crossdomain with one domain per forward

    def extra_repr(self) -> str:
        return f"p={self.p}, alpha={self.alpha}, mix={self.mix}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        mu, sigma = self.statistics(x)  # (B, C, 1, 1) each, float32
        reference = self.reference(mu, sigma)
        self.previous = (mu, sigma)
        if reference is None or not bool(torch.rand(()) < self.p):
            return x
        lam, partner = self.draw(len(x), len(reference[0]))
        lam, partner = lam.to(x.device), partner.to(x.device)
        mu_mix = lam * mu + (1 - lam) * reference[0][partner]
        sigma_mix = lam * sigma + (1 - lam) * reference[1][partner]
        return ((x.float() - mu) / sigma * sigma_mix + mu_mix).to(x.dtype)

    def statistics(self, x: torch.Tensor) -> Statistics:
        """Mean and std over H, W per instance and channel (population variance + eps), in
        float32 and detached: no gradient flows through them, as in the released code."""
        x = x.detach().float()
        mu = x.mean(dim=(2, 3), keepdim=True)
        sigma = (x.var(dim=(2, 3), keepdim=True, correction=0) + self.eps).sqrt()
        return mu, sigma

    def reference(self, mu: torch.Tensor, sigma: torch.Tensor) -> Statistics | None:
        """Whose statistics the partners come from: this batch's, or the previous forward's
        (crossdomain with one domain per forward; None before the first)."""
        if self.mix == "random" or self.domains > 1:
            return mu, sigma
        return self.previous

    def draw(self, batch: int, reference: int) -> tuple[torch.Tensor, torch.Tensor]:
        """lambda per instance (B, 1, 1, 1) and the partner index per instance (B,) into a
        reference batch of `reference` instances."""
        alpha = torch.tensor(float(self.alpha))
        lam = Beta(alpha, alpha).sample((batch, 1, 1, 1))
        if self.mix == "crossdomain" and self.domains > 1:
            return lam, self.crossdomain_partners(batch)
        if reference != batch:  # the previous domain's batch had another size
            return lam, torch.randint(reference, (batch,))
        return lam, torch.randperm(batch)

    def crossdomain_partners(self, batch: int) -> torch.Tensor:
        """Chunk d's partners: chunk (d + shift) mod N, shuffled; never its own domain."""
        n = self.domains
        if batch % n:
            raise ValueError(f"batch of {batch} does not split into {n} equal domain chunks")
        size = batch // n
        shift = int(torch.randint(1, n, ()))
        return torch.cat([((d + shift) % n) * size + torch.randperm(size) for d in range(n)])
