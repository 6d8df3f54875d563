"""SSDG: Single-Side Domain Generalization (Jia, Zhang, Shan, Chen, CVPR 2020) on DepthNet."""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as nnf
from torch import nn

from metafas.data.batch import Batch
from metafas.methods.adversarial import GradientReversal, known_source_domains
from metafas.methods.base import Method, classification_loss, depth_loss
from metafas.methods.registry import register
from metafas.models import DepthNetConfig


class FeatureNorm(nn.Module):
    """L2 normalisation of M's pooled features; the last module of M.layers under SSDG, so that
    DepthNet.forward (predict, ONNX export) classifies the same normalised features."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nnf.normalize(x, dim=1)


def asymmetric_triplet_loss(z: torch.Tensor, classes: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. 2, [||z_a - z_p||^2 - ||z_a - z_n||^2 + margin]_+, over every triplet of the batch
    with classes[a] == classes[p] (a != p), classes[n] != classes[a]; averaged, as in the
    released code, over the triplets whose loss is positive (0 if none). Squared distances as
    in Eq. 2 (the released code uses unsquared ones)."""
    distance = (z[:, None] - z[None]).pow(2).sum(-1)  # (B, B) squared distances
    same = classes[:, None] == classes[None]
    positive = same & ~torch.eye(len(z), dtype=torch.bool, device=z.device)
    valid = positive[:, :, None] & ~same[:, None, :]  # (B, B, B): anchor, positive, negative
    losses = nnf.relu(distance[:, :, None] - distance[:, None, :] + margin)[valid]
    return losses.sum() / (losses > 0).sum().clamp(min=1)


@register("ssdg")
class SSDG(Method):
    """SSDG: a live-only domain discriminator and an asymmetric triplet loss make the live faces
    of all source domains compact, while each domain's spoofs stay apart.

    The feature generator G is F then M.layers (ending in FeatureNorm): z = G(x) is unit-norm.
    M.head classifies; a projection after every step keeps ||w|| = classifier_norm and b = 0
    (the released code also renormalises outside autograd). BatchNorm as in DeepAll: per-domain
    statistics in F and M. The discriminator is auxiliary: optimised, checkpointed, not deployed.
    """

    min_source_domains = 2

    @dataclass(frozen=True)
    class Config:
        """Hyperparameters (paper or released-code values; "choice" where both are silent).

        Attributes:
            adversarial_weight: lambda_1 (paper 0.5), weight of L_Ada.
            triplet_weight: lambda_2 (paper 1), weight of L_AsTrip.
            margin: alpha (released code 0.1), the triplet margin.
            depth_weight: of the optional depth loss; 0 as SSDG-M, the paper's DepthNet (MADDG
                backbone) variant, which the released code trains without depth.
            classifier_norm: choice, ||w|| of M's one-logit head; 2 is the paper's two-class
                softmax over unit class weights when they are opposite (logit gap in [-2, 2]).
            grl_ramp_steps: p = step / this in the GRL schedule (released code 4000, its
                training length); 0 keeps lambda = 1.
        """

        adversarial_weight: float = 0.5
        triplet_weight: float = 1.0
        margin: float = 0.1
        depth_weight: float = 0.0
        classifier_norm: float = 2.0
        grl_ramp_steps: int = 4000

        def __post_init__(self):
            weights = (self.adversarial_weight, self.triplet_weight, self.margin, self.depth_weight)
            if min(weights) < 0 or self.grl_ramp_steps < 0:
                raise ValueError("ssdg weights, margin and grl_ramp_steps must be >= 0")
            if self.classifier_norm <= 0:
                raise ValueError("ssdg.classifier_norm must be > 0")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.meta_learner.layers.append(FeatureNorm())  # no parameters: state dict unchanged
        self.normalise_classifier()
        self.steps_done = 0  # drives the GRL schedule; saved by extra_state

    def auxiliary_modules(self, network: DepthNetConfig) -> dict[str, nn.Module]:
        """The domain discriminator of the released code: FC, ReLU, dropout 0.5, FC to N."""
        width = network.channels(512)
        layers = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Dropout(0.5))
        layers.append(nn.Linear(width, known_source_domains(self)))
        for layer, std in ((layers[0], 0.01), (layers[3], 0.3)):  # released code's init
            nn.init.normal_(layer.weight, 0.0, std)
            nn.init.zeros_(layer.bias)
        return {"discriminator": layers}

    def loss(self, batches: list[Batch]) -> dict[str, torch.Tensor]:
        """The SSDG objective for one step over N >= 2 source domains (paper Sec. 3).

        With z = G(x) unit-norm (feature normalisation, Sec. 3.4), y = 1 live, d the domain:
            L_Cls = BCE(w . z, y), ||w|| = classifier_norm, b = 0   (weight normalisation, 3.4)
            L_Ada = CE(D(GRL_lambda(z)), d) over live faces only    (Eq. 1, Sec. 3.2)
            L_AsTrip = [||z_a - z_p||^2 - ||z_a - z_n||^2 + alpha]_+ with one class for the live
                faces of all domains and one per domain for its spoofs   (Eq. 2, Sec. 3.3)
            L_dep = MSE(D_depth(F(x)), depth)                     (optional, not in SSDG-M)
            loss = L_Cls + lambda_1 L_Ada + lambda_2 L_AsTrip + w_dep L_dep   (overall, 3.5)
        Code names: lambda_1 = adversarial_weight, lambda_2 = triplet_weight, alpha = margin,
        w_dep = depth_weight, lambda = grl_coefficient(); D is auxiliary["discriminator"].
        One backward: D minimises L_Ada while the GRL makes F and M maximise it.
        """
        n, c = len(batches), self.config
        if n < 2 or n != self.source_domains:
            raise ValueError(
                f"SSDG needs 2 or more source domains, and the {self.source_domains} it was "
                f"built for (its discriminator's classes); the step brings {n}"
            )
        features = self.features(batches)
        embedded = [self.meta_learner.embed(f) for f, _ in features]  # z unit-norm, logit
        z = torch.cat([e for e, _ in embedded])  # (B, C), unit norm
        label = torch.cat([b.label for b in batches])
        domain = torch.cat([torch.full_like(b.label, i).long() for i, b in enumerate(batches)])
        cls = classification_loss(torch.cat([logit for _, logit in embedded]), label)
        ada = self.adversarial_loss(z, label, domain)
        classes = torch.where(label == 1, 0, domain + 1)  # live: one class; spoofs: one per domain
        trip = asymmetric_triplet_loss(z, classes, c.margin)
        depth_maps = torch.cat([self.depth_estimator(d) for _, d in features])
        dep = depth_loss(depth_maps, torch.cat([b.depth for b in batches]))
        loss = cls + c.adversarial_weight * ada + c.triplet_weight * trip + c.depth_weight * dep
        return {"loss": loss, "cls": cls, "ada": ada, "trip": trip, "dep": dep}

    def adversarial_loss(self, z, label, domain) -> torch.Tensor:
        """L_Ada: D classifies the source domain of the live faces' z, behind the GRL."""
        live = label == 1
        reversed_z = GradientReversal.apply(z[live], self.grl_coefficient())
        logits = self.auxiliary["discriminator"](reversed_z)
        return nnf.cross_entropy(logits, domain[live])

    def grl_coefficient(self) -> float:
        """DANN's schedule, as in the released code: lambda = 2 / (1 + exp(-10 p)) - 1."""
        if self.config.grl_ramp_steps == 0:
            return 1.0
        progress = min(self.steps_done / self.config.grl_ramp_steps, 1.0)
        return 2 / (1 + math.exp(-10 * progress)) - 1

    def update(self, batches: list[Batch]) -> dict[str, float]:
        terms = super().update(batches)
        self.normalise_classifier()
        self.steps_done += 1
        return terms

    @torch.no_grad()
    def normalise_classifier(self) -> None:
        """Project M.head onto ||w|| = classifier_norm, b = 0 (weight normalisation)."""
        head = self.meta_learner.head
        head.weight.mul_(self.config.classifier_norm / head.weight.norm())
        head.bias.zero_()

    def extra_state(self) -> dict:
        return {"steps_done": self.steps_done}

    def load_extra_state(self, state: dict) -> None:
        self.steps_done = int(state["steps_done"])
