"""RFM: Regularized Fine-grained Meta-learning (Shao, Lan, Yuen, AAAI 2020, Algorithm 1)."""

from dataclasses import dataclass

import torch
from torch.func import functional_call

from metafas.data.batch import Batch
from metafas.methods.base import Method, classification_loss, depth_loss
from metafas.methods.registry import register

SPLIT_RULES = ("random", "all")

Params = dict[str, torch.Tensor]


@register("rfm")
class RFM(Method):
    """Meta-learns the classifier M over domain splits, regularized by depth estimation.

    BatchNorm: F runs separately on each domain's batch (per-domain statistics, as in the
    released code). The adapted meta learner M(theta_M') reuses M's BatchNorm buffers: every
    training-mode forward, adapted or not, normalises with its own batch statistics and updates
    the shared running statistics, which evaluation then uses.

    Precision: M, its inner step and every forward with theta_M or theta_M'(i) run in fp32,
    also when F and D run under bf16 autocast (MetaLearner.forward). With alpha = 1e-3 the
    inner step is far below bf16's resolution: in bf16 most adapted weights would round back
    to theta_M, and the second-order part of the gradient would be lost.
    """

    min_source_domains = 2

    @dataclass(frozen=True)
    class Config:
        """Hyperparameters of RFM (paper values as defaults).

        Attributes:
            inner_lr: alpha, the step size of the inner (meta-train) update of theta_M.
            depth_weight: weight of every depth loss L_dep (0 removes the regularizer).
            meta_test_weight: beta, weight of the meta-test terms.
            first_order: drop second-order terms (no create_graph in the inner step).
            fine_grained: one adapted M per meta-train domain; False pools them into one.
            meta_test_splits: "random" (one split per step, as released) or "all" (every
                domain as meta-test once per step, objectives averaged).
        """

        inner_lr: float = 1e-3
        depth_weight: float = 10.0
        meta_test_weight: float = 1.0
        first_order: bool = False
        fine_grained: bool = True
        meta_test_splits: str = "random"

        def __post_init__(self):
            if self.meta_test_splits not in SPLIT_RULES:
                raise ValueError(
                    f"rfm.meta_test_splits {self.meta_test_splits!r} unknown; known: random, all"
                )
            if self.inner_lr <= 0 or self.depth_weight < 0 or self.meta_test_weight < 0:
                raise ValueError("rfm.inner_lr must be > 0, depth and meta-test weights >= 0")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.split_generator = torch.Generator().manual_seed(self.seed)  # same on every rank

    def loss(self, batches: list[Batch], meta_test: int | None = None) -> dict[str, torch.Tensor]:
        """The RFM objective for one step over N >= 2 source domains.

        With meta-train domains i in T and the meta-test domain t (Algorithm 1):
            L_cls(i) = BCE(M_{theta_M}(F(x_i)), y_i)                          (Eq. 1)
            L_dep(i) = MSE(D(F(x_i)), depth_i)                                (Eq. 2)
            theta_M'(i) = theta_M - alpha * grad_{theta_M} L_cls(i)            (Eq. 3)
            L_cls(t; theta_M'(i)) = BCE(M_{theta_M'(i)}(F(x_t)), y_t)         (Eq. 4)
            L_dep(t) = MSE(D(F(x_t)), depth_t)                                (Eq. 5)
            loss = sum_i L_cls(i) + w_dep * sum_i L_dep(i)
                   + beta * (sum_i L_cls(t; theta_M'(i)) + w_dep * L_dep(t))  (Eq. 6)
        Code names: alpha = inner_lr, beta = meta_test_weight, w_dep = depth_weight. One
        backward of `loss` updates F, D and M; gradients flow through every theta_M'(i).
        `meta_test` fixes t (for tests); otherwise `meta_test_splits` decides.
        """
        if len(batches) < 2:
            raise ValueError(f"RFM needs at least 2 source domains, got {len(batches)}")
        features = self.features(batches)
        tests = [meta_test] if meta_test is not None else self.meta_test_domains(len(batches))
        objectives = [self.split_objective(batches, features, t) for t in tests]
        return {name: sum(o[name] for o in objectives) / len(objectives) for name in objectives[0]}

    def extra_state(self) -> dict:
        return {"split_generator": self.split_generator.get_state().tolist()}

    def load_extra_state(self, state: dict) -> None:
        self.split_generator.set_state(torch.tensor(state["split_generator"], dtype=torch.uint8))

    def meta_test_domains(self, n_domains: int) -> list[int]:
        if self.config.meta_test_splits == "all":
            return list(range(n_domains))
        return [int(torch.randint(n_domains, (1,), generator=self.split_generator))]

    def split_objective(self, batches, features, t: int) -> dict[str, torch.Tensor]:
        """Eq. 6 for the split with meta-test domain t."""
        train = [i for i in range(len(batches)) if i != t]
        cls_train, adapted = self.meta_train(batches, features, train)
        dep_train = sum(self.depth_term(batches[i], features[i]) for i in train)
        test_features = features[t][0]
        cls_test = sum(
            classification_loss(
                functional_call(self.meta_learner, params, (test_features,)), batches[t].label
            )
            for params in adapted
        )
        dep_test = self.depth_term(batches[t], features[t])
        w_dep, beta = self.config.depth_weight, self.config.meta_test_weight
        meta_train = cls_train + w_dep * dep_train
        meta_test = cls_test + w_dep * dep_test
        return {
            "loss": meta_train + beta * meta_test,
            "cls_meta_train": cls_train,
            "dep_meta_train": dep_train,
            "cls_meta_test": cls_test,
            "dep_meta_test": dep_test,
        }

    def meta_train(self, batches, features, train: list[int]) -> tuple[torch.Tensor, list[Params]]:
        """L_cls on the meta-train domains and the adapted meta learners theta_M'."""
        if not self.config.fine_grained:
            logits = self.meta_learner(torch.cat([features[i][0] for i in train]))
            cls = classification_loss(logits, torch.cat([batches[i].label for i in train]))
            return cls, [self.adapt(cls)]
        losses = [
            classification_loss(self.meta_learner(features[i][0]), batches[i].label) for i in train
        ]
        return sum(losses), [self.adapt(cls) for cls in losses]

    def adapt(self, inner_loss: torch.Tensor) -> Params:
        """theta_M' = theta_M - alpha * grad L; second order unless `first_order`."""
        params = dict(self.meta_learner.named_parameters())
        grads = torch.autograd.grad(
            inner_loss,
            list(params.values()),
            create_graph=not self.config.first_order,
            retain_graph=True,  # inner_loss is also a term of the objective
        )
        return {
            name: param - self.config.inner_lr * grad
            for (name, param), grad in zip(params.items(), grads, strict=True)
        }

    def depth_term(self, batch: Batch, features) -> torch.Tensor:
        return depth_loss(self.depth_estimator(features[1]), batch.depth)
