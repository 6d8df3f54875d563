"""DeepAll: F, D and M trained jointly on all source domains pooled (the "Auxiliary" baseline).

With depth_weight = 0 it is the plain binary-classification baseline.
"""

from dataclasses import dataclass

import torch

from metafas.data.batch import Batch
from metafas.methods.base import Method, classification_loss, depth_loss
from metafas.methods.registry import register


@register("deepall")
class DeepAll(Method):
    @dataclass(frozen=True)
    class Config:
        """depth_weight: weight of the depth loss next to the classification loss."""

        depth_weight: float = 10.0

        def __post_init__(self):
            if self.depth_weight < 0:
                raise ValueError(f"deepall.depth_weight must be >= 0, got {self.depth_weight}")

    def loss(self, batches: list[Batch]) -> dict[str, torch.Tensor]:
        """L_cls + depth_weight * L_dep over the pooled source batches."""
        features = self.features(batches)
        logits = torch.cat([self.meta_learner(f) for f, _ in features])
        depth_maps = torch.cat([self.depth_estimator(d) for _, d in features])
        label = torch.cat([b.label for b in batches])
        target = torch.cat([b.depth for b in batches])
        cls = classification_loss(logits, label)
        dep = depth_loss(depth_maps, target)
        return {"loss": cls + self.config.depth_weight * dep, "cls": cls, "dep": dep}
