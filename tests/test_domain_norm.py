"""One batched forward with per-domain BatchNorm equals separate per-domain forwards."""

import copy

import pytest
import torch

from metafas.data.batch import Batch
from metafas.methods import method_class
from metafas.models import DepthNetConfig, FeatureExtractor
from metafas.models.domain_norm import DomainBatchNorm2d, domains_in_batch

CONFIG = DepthNetConfig(input_size=32, width=0.125)


def domain_images(n_domains: int, per_domain: int = 4) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    # Different brightness per domain, so per-domain statistics really differ.
    return [
        torch.rand(per_domain, 3, 32, 32, generator=gen, dtype=torch.float64) * (0.3 + 0.2 * d)
        for d in range(n_domains)
    ]


@pytest.mark.parametrize("n_domains", [2, 3, 4])
def test_batched_forward_equals_per_domain_forwards(n_domains):
    torch.manual_seed(0)
    separate = FeatureExtractor(CONFIG).double().train()
    batched = copy.deepcopy(separate)
    images = domain_images(n_domains)
    outputs = [separate(x) for x in images]
    with domains_in_batch(batched, n_domains):
        features, depth_features = batched(torch.cat(images))
    torch.testing.assert_close(features, torch.cat([o[0] for o in outputs]))
    torch.testing.assert_close(depth_features, torch.cat([o[1] for o in outputs]))
    loss_separate = sum((o[0] ** 2).mean() + o[1].mean() for o in outputs)
    loss_batched = sum(
        (f**2).mean() + d.mean()
        for f, d in zip(features.chunk(n_domains), depth_features.chunk(n_domains), strict=True)
    )
    loss_separate.backward()
    loss_batched.backward()
    for (name, a), b in zip(separate.named_parameters(), batched.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, msg=name)
    for (name, a), b in zip(separate.named_buffers(), batched.buffers(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def test_rfm_loss_is_the_same_batched_or_not():
    batches = []
    for d, image in enumerate(domain_images(3)):
        label = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
        depth = torch.full((4, 1, 4, 4), 0.5, dtype=torch.float64) * label[:, None, None, None]
        batches.append(Batch(image, depth, label, f"d{d}", ()))
    losses = []
    for batched in (False, True):
        torch.manual_seed(0)
        rfm = method_class("rfm")(CONFIG, method_class("rfm").Config(), batched_domains=batched)
        losses.append(rfm.double().loss(batches, meta_test=1)["loss"])
    torch.testing.assert_close(losses[0], losses[1])


def test_unequal_chunks_are_refused_and_eval_is_plain_batchnorm():
    norm = DomainBatchNorm2d(3)
    norm.domains = 2
    with pytest.raises(ValueError, match="does not split into 2 equal domain chunks"):
        norm(torch.rand(5, 3, 2, 2))
    norm.eval()
    x = torch.rand(5, 3, 2, 2)
    torch.testing.assert_close(norm(x), torch.nn.BatchNorm2d(3).eval()(x))
