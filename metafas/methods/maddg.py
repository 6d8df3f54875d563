"""MADDG: Multi-adversarial Discriminative Deep Domain Generalization (Shao, Lan, Li, Yuen,
CVPR 2019) on DepthNet, as one objective with a gradient reversal layer."""

from dataclasses import dataclass
from itertools import combinations

import torch
import torch.nn.functional as nnf
from torch import nn

from metafas.data.batch import Batch
from metafas.methods.adversarial import GradientReversal, known_source_domains
from metafas.methods.base import Method, classification_loss, depth_loss
from metafas.methods.registry import register
from metafas.models import DepthNetConfig
from metafas.models.depthnet import xavier_init


def domain_discriminator(c: DepthNetConfig) -> nn.Sequential:
    """D_i: F's features (B, C, S/8, S/8) -> one logit per image (1 = from domain i)."""
    w = c.channels(128)
    conv1, conv2 = nn.Conv2d(w, w, 3, padding=1), nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)
    act, pool = nn.LeakyReLU(0.2), nn.AdaptiveAvgPool2d(1)
    return nn.Sequential(conv1, act, conv2, act, pool, nn.Flatten(), nn.Linear(2 * w, 1))


def batch_hard_triplet(embedding: torch.Tensor, label: torch.Tensor, margin: float):
    """mean_a [max_p d(a, p) - min_n d(a, n) + margin]_+, d Euclidean, p over the anchor's label
    (the anchor included), n over the other label: the hardest triplet of each anchor."""
    distance = (embedding[:, None] - embedding[None]).pow(2).sum(-1).clamp_min(1e-12).sqrt()
    same = label[:, None] == label[None]  # (B, B)
    hardest_positive = distance.masked_fill(~same, 0).amax(1)
    hardest_negative = distance.masked_fill(same, float("inf")).amin(1)
    return nnf.relu(hardest_positive - hardest_negative + margin).mean()


def dual_force_triplet(embeddings: list[torch.Tensor], labels: list[torch.Tensor], config):
    """(L_cross, L_intra): batch_hard_triplet summed over every pair of domains pooled (margin
    cross_margin) and over every domain alone (margin intra_margin)."""
    domains = list(zip(embeddings, labels, strict=True))
    pairs = combinations(domains, 2)
    margin = config.cross_margin
    cross = sum(
        batch_hard_triplet(torch.cat([e, f]), torch.cat([y, z]), margin) for (e, y), (f, z) in pairs
    )
    intra = sum(batch_hard_triplet(e, y, config.intra_margin) for e, y in domains)
    return cross, intra


@register("maddg")
class MADDG(Method):
    """A domain-shared, discriminative F from N adversarial domain discriminators (gradient
    reversal), the dual-force triplet loss and depth supervision, in one backward.

    Deviation: in the paper and its released code (rshaojimmy/MADDoG) D_i tells the features of
    domain i from an extractor pre-trained on domain i alone (frozen) from the shared features of
    all domains, in alternating LSGAN updates. Here D_i tells domain i's shared features from the
    other domains' (one versus rest) and F learns through a gradient reversal layer: no
    pre-training stage. BatchNorm: F and M run per domain (as DeepAll, RFM); the D_i have none.
    """

    min_source_domains = 2

    @dataclass(frozen=True)
    class Config:
        """Hyperparameters; defaults from the released code (main.py, core/train.py).

        Attributes:
            adversarial_weight: weight of L_adv, the mean of the N discriminators' losses
                (released: W_gen 1 times W_genave 1/3 over 3 generator losses).
            grl_coefficient: lambda of the gradient reversal, constant (paper silent; 1 is the
                plain min-max).
            triplet_weight: weight of L_trip (released W_trip 1).
            cross_margin, intra_margin: triplet margins (released 0.5 and 0.1).
            intra_weight: weight of L_intra in L_trip (released W_intra 0.1).
            depth_weight: weight of L_dep (released W_depth 1, but in its own Adam step on F and
                D at 10x the learning rate, which one weight cannot reproduce).
        Chosen where the paper is silent: the triplet loss sees M's penultimate embedding,
        L2-normalised (as released); the D_i see F's features for M (released: the same map).
        """

        adversarial_weight: float = 1.0
        grl_coefficient: float = 1.0
        triplet_weight: float = 1.0
        cross_margin: float = 0.5
        intra_margin: float = 0.1
        intra_weight: float = 0.1
        depth_weight: float = 1.0

        def __post_init__(self):
            negative = [k for k, v in vars(self).items() if v < 0]
            if negative:
                raise ValueError(f"maddg.{', maddg.'.join(negative)} must be >= 0")

    def auxiliary_modules(self, network: DepthNetConfig) -> dict[str, nn.Module]:
        n = known_source_domains(self)  # one discriminator per source domain
        discriminators = nn.ModuleList(domain_discriminator(network) for _ in range(n))
        return {"discriminators": discriminators.apply(xavier_init)}

    @property
    def discriminators(self) -> nn.ModuleList:
        return self.auxiliary["discriminators"]

    def loss(self, batches: list[Batch]) -> dict[str, torch.Tensor]:
        """The MADDG objective for one step over N source domains (paper Sec. 3).

        G, the paper's shared feature generator, is F (feature_extractor); D_i = discriminators[i].
            L_adv = mean_i L(D_i)                  multi-adversarial DG (3.1), discriminator_loss
            L_trip = L_cross + w_intra * L_intra   dual-force triplet (3.2), dual_force_triplet
            L_dep = MSE(D(F(x)), depth)            auxiliary depth supervision (3.3), depth_loss
            L_cls = BCE(M(F(x)), y)                live/spoof classifier M, classification_loss
            loss = L_cls + w_trip * L_trip + w_dep * L_dep + w_adv * L_adv
        The D_i minimise L_adv; the reversal hands F -lambda times its gradient, so F maximises
        it: min_G max_D. lambda = grl_coefficient, w_intra = intra_weight, w_trip =
        triplet_weight, w_dep = depth_weight, w_adv = adversarial_weight.
        """
        c, n = self.config, len(batches)
        if n != len(self.discriminators):
            raise ValueError(
                f"MADDG was built for {len(self.discriminators)} source domains (one "
                f"discriminator each), but the step brings {n}"
            )
        features = self.features(batches)
        embeddings, logits = zip(*(self.classify(f) for f, _ in features), strict=True)
        labels = [batch.label for batch in batches]
        cls = classification_loss(torch.cat(logits), torch.cat(labels))
        depth_maps = torch.cat([self.depth_estimator(d) for _, d in features])
        dep = depth_loss(depth_maps, torch.cat([batch.depth for batch in batches]))
        cross, intra = dual_force_triplet(embeddings, labels, c)
        adv = self.adversarial_loss([f for f, _ in features])
        trip = cross + c.intra_weight * intra
        loss = cls + c.triplet_weight * trip + c.depth_weight * dep + c.adversarial_weight * adv
        terms = {"loss": loss, "cls": cls, "dep": dep, "trip_cross": cross, "trip_intra": intra}
        return {**terms, "adv": adv}

    def classify(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """M's penultimate embedding, L2-normalised (B, C_M), and its logit (B,)."""
        embedding, logit = self.meta_learner.embed(features)
        return nnf.normalize(embedding, dim=1), logit

    def adversarial_loss(self, features: list[torch.Tensor]) -> torch.Tensor:
        """L_adv on F's per-domain features, through the gradient reversal layer."""
        shared = GradientReversal.apply(torch.cat(features), self.config.grl_coefficient)
        return self.discriminator_loss(shared, [len(f) for f in features])

    def discriminator_loss(self, features: torch.Tensor, sizes: list[int]) -> torch.Tensor:
        """Mean over i of D_i's balanced BCE, (BCE on domain i, target 1 + BCE on the others,
        target 0) / 2; `sizes`: how many rows of `features` each domain holds, in order."""
        domain = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
        domain = domain.to(features.device)
        losses = []
        for i, discriminator in enumerate(self.discriminators):
            logit = discriminator(features).squeeze(1).float()  # (B,)
            own = domain == i
            bce = nnf.binary_cross_entropy_with_logits(logit, own.float(), reduction="none")
            losses.append((bce[own].mean() + bce[~own].mean()) / 2)
        return torch.stack(losses).mean()
