"""RFM's meta-gradients against an independent reference and finite differences."""

import copy

import pytest
import torch
import torch.nn.functional as nnf

from metafas.data.batch import Batch
from metafas.methods import method_class
from metafas.models import DepthNetConfig

TINY = DepthNetConfig(input_size=32, width=0.0625)


def make_batches(n_domains: int, seed: int = 0, per_class: int = 2) -> list[Batch]:
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for d in range(n_domains):
        label = torch.tensor([1.0] * per_class + [0.0] * per_class, dtype=torch.float64)
        depth = torch.rand(2 * per_class, 1, 4, 4, generator=gen, dtype=torch.float64)
        image = torch.rand(2 * per_class, 3, 32, 32, generator=gen, dtype=torch.float64)
        batches.append(Batch(image, depth * label[:, None, None, None], label, f"d{d}", ()))
    return batches


def make_rfm(**options):
    torch.manual_seed(0)
    rfm = method_class("rfm")(TINY, method_class("rfm").Config(**options)).double()
    rfm.train()
    return rfm


def meta_learner_forward(meta_learner, weights: list[torch.Tensor], x: torch.Tensor):
    """M written out by hand with explicit weights: conv-BN-ReLU, pools, linear."""
    w = iter(weights)
    for pool in ("max", "max", "avg"):
        x = nnf.conv2d(x, next(w), next(w), padding=1)
        x = nnf.batch_norm(x, None, None, next(w), next(w), training=True)
        x = nnf.relu(x)
        x = nnf.max_pool2d(x, 2) if pool == "max" else x.mean(dim=(2, 3))
    return x @ next(w).t() + next(w)


def reference_loss(network, batches, t: int, alpha: float, w_dep: float, beta: float):
    """RFM's objective from an explicit copy of the weights and a hand-written inner SGD step."""
    F, D, M = network.feature_extractor, network.depth_estimator, network.meta_learner
    theta_m = list(M.parameters())
    bce, mse = nnf.binary_cross_entropy_with_logits, nnf.mse_loss
    feats = [F(b.image) for b in batches]
    total = 0.0
    test_cls = 0.0
    for i in [i for i in range(len(batches)) if i != t]:
        cls_i = bce(meta_learner_forward(M, theta_m, feats[i][0]).squeeze(1), batches[i].label)
        grads = torch.autograd.grad(cls_i, theta_m, create_graph=True)
        adapted = [p - alpha * g for p, g in zip(theta_m, grads, strict=True)]
        total = total + cls_i + w_dep * mse(D(feats[i][1]), batches[i].depth)
        test_logits = meta_learner_forward(M, adapted, feats[t][0]).squeeze(1)
        test_cls = test_cls + bce(test_logits, batches[t].label)
    return total + beta * (test_cls + w_dep * mse(D(feats[t][1]), batches[t].depth))


def gradients(module, loss) -> dict[str, torch.Tensor]:
    module.zero_grad(set_to_none=True)
    loss.backward()
    return {n: p.grad.clone() for n, p in module.named_parameters()}


@pytest.mark.parametrize("n_domains,t", [(2, 0), (3, 1), (4, 3)])
def test_meta_gradient_matches_independent_reference(n_domains, t):
    rfm = make_rfm(inner_lr=0.1)  # a large alpha makes the second-order terms visible
    reference = copy.deepcopy(rfm.network)
    batches = make_batches(n_domains)
    ours = gradients(rfm.network, rfm.loss(batches, meta_test=t)["loss"])
    theirs = gradients(reference, reference_loss(reference, batches, t, 0.1, 10.0, 1.0))
    assert ours.keys() == theirs.keys()
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], atol=1e-6, rtol=1e-6, msg=name)


def test_meta_gradient_matches_finite_differences():
    rfm = make_rfm(inner_lr=0.1)
    batches = make_batches(3)
    params = list(rfm.network.parameters())
    grads = gradients(rfm.network, rfm.loss(batches, meta_test=2)["loss"])
    gen = torch.Generator().manual_seed(1)
    direction = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in params]
    analytic = sum((g * d).sum() for g, d in zip(grads.values(), direction, strict=True))
    # The inner step differentiates through ReLU and max-pool kinks, so the loss itself jumps
    # where an activation pattern flips: keep the probe step far below those distances.
    eps = 1e-7
    values = []
    for sign in (1, -1):
        with torch.no_grad():
            for p, d in zip(params, direction, strict=True):
                p.add_(sign * eps * d)
        values.append(rfm.loss(batches, meta_test=2)["loss"].item())
        with torch.no_grad():
            for p, d in zip(params, direction, strict=True):
                p.sub_(sign * eps * d)
    numeric = (values[0] - values[1]) / (2 * eps)
    assert abs(numeric - analytic.item()) <= 1e-6 * max(1.0, abs(numeric))


def test_first_order_changes_the_meta_learner_gradient():
    batches = make_batches(3)
    second = make_rfm(inner_lr=0.1)
    first = make_rfm(inner_lr=0.1, first_order=True)
    g2 = gradients(second.network, second.loss(batches, meta_test=0)["loss"])
    g1 = gradients(first.network, first.loss(batches, meta_test=0)["loss"])
    meta = [n for n in g2 if n.startswith("meta_learner.")]
    assert max((g2[n] - g1[n]).abs().max().item() for n in meta) > 1e-6
    torch.testing.assert_close(
        g1["depth_estimator.layers.0.0.weight"], g2["depth_estimator.layers.0.0.weight"]
    )


def test_not_fine_grained_pools_meta_train_domains():
    batches = make_batches(3)
    fine = make_rfm(inner_lr=0.1)
    pooled = make_rfm(inner_lr=0.1, fine_grained=False)
    a = fine.loss(batches, meta_test=0)
    b = pooled.loss(batches, meta_test=0)
    torch.testing.assert_close(a["dep_meta_test"], b["dep_meta_test"])
    assert not torch.allclose(a["cls_meta_test"], b["cls_meta_test"])


def test_all_splits_average_the_per_split_objectives():
    batches = make_batches(3)
    rfm = make_rfm(meta_test_splits="all")
    each = [rfm.loss(batches, meta_test=t)["loss"] for t in range(3)]
    torch.testing.assert_close(rfm.loss(batches)["loss"], sum(each) / 3)
