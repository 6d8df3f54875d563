"""The method contract (after DomainBed's Algorithm); the registry is metafas.methods.registry."""

import logging
from collections.abc import Callable, Mapping
from contextlib import nullcontext

import torch
import torch.nn.functional as nnf
from torch import nn

from metafas.data.batch import Batch
from metafas.models import DepthNet, DepthNetConfig
from metafas.models.domain_norm import domains_in_batch

log = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    """A loss term, gradient or weight became NaN or infinite."""


class Method(nn.Module):
    """A training method over DepthNet: `loss`, `update` and `predict`.

    Subclasses define a nested dataclass `Config` and `loss(batches)`.
    """

    name = "method"
    Config: type
    min_source_domains = 1  # checked when the method is built, before a run directory exists
    # Data-parallel training sets this (metafas.training.distributed.gradient_sync): called after
    # backward with the loss terms, it averages gradients and terms over ranks.
    gradient_sync: Callable[[nn.Module, dict], dict] | None = None

    def __init__(
        self,
        network: DepthNetConfig,
        config,
        lr: float = 1e-3,
        precision: str = "fp32",
        seed: int = 0,
        batched_domains: bool = True,
        source_domains: int | None = None,
    ):
        super().__init__()
        if source_domains is not None and source_domains < self.min_source_domains:
            raise ValueError(
                f"{self.name} needs at least {self.min_source_domains} source domains; the "
                f"protocol has {source_domains}"
            )
        self.config = config
        self.source_domains = source_domains  # N of the protocol; None where not known
        self.network = DepthNet(network, precision)
        self.auxiliary = nn.ModuleDict(self.auxiliary_modules(network))
        self.precision = precision
        self.seed = seed
        self.batched_domains = batched_domains
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr, betas=(0.9, 0.999))

    @property
    def feature_extractor(self) -> nn.Module:
        return self.network.feature_extractor

    @property
    def depth_estimator(self) -> nn.Module:
        return self.network.depth_estimator

    @property
    def meta_learner(self) -> nn.Module:
        return self.network.meta_learner

    def loss(self, batches: list[Batch]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def auxiliary_modules(self, network: DepthNetConfig) -> dict[str, nn.Module]:
        """Modules the method trains beside DepthNet (e.g. domain discriminators), made before
        the optimizer so that it updates them; checkpointed for resume, never deployed."""
        return {}

    def extra_state(self) -> dict:
        """Method state outside parameters and optimizer (for exact resume); JSON-serialisable."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        """Restore what `extra_state` returned."""

    def update(self, batches: list[Batch]) -> dict[str, float]:
        """One optimisation step: zero_grad, loss, backward, step. Returns the terms as floats.

        With `gradient_sync` set, every rank calls it after its backward (skipped where a term is
        not finite, so that all ranks still meet in the all-reduce, which then raises on all).
        """
        self.train()
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            terms = self.loss(batches)
        if self.gradient_sync is None:
            check_finite(terms)
            terms["loss"].backward()
        else:
            if all(torch.isfinite(value).all() for value in terms.values()):
                terms["loss"].backward()
            terms = self.gradient_sync(self, terms)
        check_finite_gradients(self)
        self.optimizer.step()
        check_finite_weights(self)  # a step to NaN stops here, before any checkpoint holds it
        return {name: value.item() for name, value in terms.items()}

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Live probability per image, (B, 3, S, S) RGB in [0, 1] -> (B,) in [0, 1]."""
        self.eval()
        with self.autocast():
            return self.network(images).float()

    def autocast(self):
        if self.precision == "fp32":
            return nullcontext()
        device = next(self.parameters()).device.type
        return torch.autocast(device_type=device, dtype=torch.bfloat16)

    def features(self, batches: list[Batch]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """F's two outputs per domain, BatchNorm statistics computed per domain.

        Batched: one forward over all domains with per-domain BatchNorm chunks, equal to
        (and faster than) the released code's separate forward per domain, which is used when
        `batched_domains` is off or the domains' batch sizes differ.
        """
        sizes = {len(batch.label) for batch in batches}
        if not self.batched_domains or len(batches) == 1 or len(sizes) > 1:
            return [self.feature_extractor(batch.image) for batch in batches]
        images = torch.cat([batch.image for batch in batches])
        with domains_in_batch(self.feature_extractor, len(batches)):
            features, depth_features = self.feature_extractor(images)
        n = len(batches)
        return list(zip(features.chunk(n), depth_features.chunk(n), strict=True))


# Under bf16 autocast both losses run in float32 (they are on autocast's float32 list).
def classification_loss(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    return nnf.binary_cross_entropy_with_logits(logits, label)


def depth_loss(depth_map: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return nnf.mse_loss(depth_map, target)


def check_finite(terms: dict[str, torch.Tensor]) -> None:
    for name, value in terms.items():
        if not torch.isfinite(value).all():
            raise NonFiniteLossError(f"loss term {name!r} is {value.item()}")


def check_finite_gradients(module: nn.Module) -> None:
    for name, param in module.named_parameters():
        if param.grad is not None and not torch.isfinite(param.grad).all():
            raise NonFiniteLossError(f"gradient of {name} is not finite")


def non_finite_tensors(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors holding a NaN or an infinity (weights, buffers)."""
    floating = {name: t for name, t in tensors.items() if t.is_floating_point() and t.numel()}
    if not floating:
        return []
    finite = torch.stack([torch.isfinite(t).all() for t in floating.values()]).tolist()
    return [name for name, ok in zip(floating, finite, strict=True) if not ok]


def check_finite_weights(module: nn.Module) -> None:
    """Raise NonFiniteLossError naming the first parameter or buffer that is not finite: the
    one check after every optimizer step; loading a checkpoint uses `non_finite_tensors`."""
    tensors = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    bad = non_finite_tensors(tensors)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise NonFiniteLossError(f"the optimizer step made {bad[0]}{more} NaN or infinite")
