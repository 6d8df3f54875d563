"""MixStyle: off changes nothing, eval is the identity, training mixes statistics as specified,
partners come from other domains, and every method trains with it on."""

import json

import pytest
import torch

from metafas.cli import main
from metafas.data.batch import Batch
from metafas.methods import method_class, method_names
from metafas.models import DepthNet, DepthNetConfig
from metafas.models.domain_norm import domains_in_batch
from metafas.models.mixstyle import MixStyle

OFF = DepthNetConfig(input_size=32, width=0.125)
ON = DepthNetConfig(input_size=32, width=0.125, mixstyle=True, mixstyle_p=1.0)


def stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x.mean(dim=(2, 3)), x.var(dim=(2, 3), correction=0).sqrt()


def networks() -> tuple[DepthNet, DepthNet]:
    torch.manual_seed(0)
    off = DepthNet(OFF)
    on = DepthNet(ON)
    on.load_state_dict(off.state_dict(), strict=True)  # same keys: old checkpoints load
    return off, on


def test_off_is_todays_feature_extractor_bit_for_bit():
    off, _ = networks()
    f = off.feature_extractor
    assert len(f.mixstyle) == 0 and not any("mixstyle" in k for k in off.state_dict())
    x = torch.rand(4, 3, 32, 32)
    torch.manual_seed(1)
    features, depth_features = f(x)
    torch.manual_seed(1)
    x1 = f.block1(f.stem(f.colour(x)))
    x2 = f.block2(x1)
    x3 = f.block3(x2)
    pooled = [torch.nn.functional.adaptive_avg_pool2d(v, x3.shape[-2:]) for v in (x1, x2)]
    assert torch.equal(features, x3)
    assert torch.equal(depth_features, torch.cat([*pooled, x3], dim=1))


def test_on_with_p_zero_draws_and_changes_nothing_in_training():
    off, _ = networks()
    never = DepthNet(DepthNetConfig(input_size=32, width=0.125, mixstyle=True, mixstyle_p=0.0))
    never.load_state_dict(off.state_dict())
    x = torch.rand(4, 3, 32, 32)
    assert torch.equal(off.train()(x), never.train()(x))


def test_eval_mode_is_the_identity():
    off, on = networks()
    x = torch.rand(6, 3, 32, 32)
    assert torch.equal(off.eval()(x), on.eval()(x))
    on.train()(x)  # one domain per forward: the first has no other domain to mix with
    assert not torch.equal(off.train()(x), on(x))  # in training it mixes
    module = MixStyle(p=1.0).eval()
    assert module(x) is x


def test_training_mode_mixes_the_statistics_by_hand():
    """Output per-channel mean and std are lam * own + (1 - lam) * partner's, with the draws
    replayed from the same seed: first the p draw, then lambda and the partners."""
    gen = torch.Generator().manual_seed(3)
    x = (torch.rand(4, 2, 3, 3, generator=gen) * torch.tensor([1.0, 3.0])[:, None, None]).add(
        torch.arange(4.0)[:, None, None, None]
    )  # (B=4, C=2, 3, 3), distinct styles per instance
    x.requires_grad_(True)
    module = MixStyle(p=1.0, alpha=0.1, mix="random").train()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        y = module(x)
        torch.manual_seed(0)
        torch.rand(())
        lam, partner = module.draw(4, 4)
    assert sorted(partner.tolist()) == [0, 1, 2, 3]
    mu, sigma = stats(x.detach())
    sigma = (sigma**2 + module.eps).sqrt()
    lam = lam.view(4, 1)
    mu_mix = lam * mu + (1 - lam) * mu[partner]
    sigma_mix = lam * sigma + (1 - lam) * sigma[partner]
    y_mu, y_sigma = stats(y.detach())
    shrink = (sigma**2 - module.eps) / sigma**2  # the eps in sigma
    torch.testing.assert_close(y_mu, mu_mix, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(y_sigma, sigma_mix * shrink.sqrt(), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(y_mu, mu)  # it did mix
    # The statistics are detached: dy/dx is sigma_mix / sigma per instance and channel.
    y.sum().backward()
    expected = (sigma_mix / sigma)[:, :, None, None].expand_as(x)
    torch.testing.assert_close(x.grad, expected)


@pytest.mark.parametrize("domains", [2, 3, 4])
def test_crossdomain_partners_are_always_of_another_domain(domains):
    module = MixStyle(mix="crossdomain")
    module.domains = domains
    size = 3
    for _ in range(20):
        partner = module.draw(domains * size, domains * size)[1]
        assert sorted(partner.tolist()) == list(range(domains * size))  # a permutation
        own = torch.arange(domains * size) // size
        assert (partner // size != own).all()
        assert len({int(p) for p in partner[:size] // size}) == 1  # one partner chunk per chunk


def test_batched_forward_tells_mixstyle_the_domain_chunks():
    _, on = networks()
    f = on.feature_extractor
    with domains_in_batch(f, 3):
        assert {m.domains for m in f.mixstyle.values()} == {3}
    assert {m.domains for m in f.mixstyle.values()} == {1}


def test_one_domain_per_forward_mixes_with_the_previous_domain():
    module = MixStyle(p=1.0, mix="crossdomain").train()
    first, second = torch.rand(4, 2, 3, 3), torch.rand(4, 2, 3, 3) + 5
    with torch.random.fork_rng():
        torch.manual_seed(0)
        assert torch.equal(module(first), first)  # no previous domain yet
        y = module(second)
        torch.manual_seed(0)
        torch.rand(())  # the p draw of the second forward (the first one drew nothing)
        lam, partner = module.draw(4, 4)
    lam = lam.view(4, 1)
    expected = lam * stats(second)[0] + (1 - lam) * stats(first)[0][partner]
    torch.testing.assert_close(stats(y)[0], expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("mixstyle_p", 1.5, r"mixstyle_p must be in \[0, 1\]"),
        ("mixstyle_alpha", 0.0, "mixstyle_alpha must be > 0"),
        ("mixstyle_mix", "domain", "mixstyle_mix 'domain' unknown; known: crossdomain, random"),
        ("mixstyle_after", "block1,block4", "must name distinct blocks of F from stem, block1"),
        ("mixstyle_after", "block1,block1", "must name distinct blocks"),
        ("mixstyle_after", "", "must name distinct blocks"),
    ],
)
def test_config_validation_names_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        DepthNetConfig(**{field: value})


def batches(n_domains: int, k: int = 2) -> list[Batch]:
    gen = torch.Generator().manual_seed(0)
    label = torch.tensor([1.0] * k + [0.0] * k)
    return [
        Batch(
            torch.rand(2 * k, 3, 32, 32, generator=gen),
            torch.rand(2 * k, 1, 4, 4, generator=gen) * label[:, None, None, None],
            label,
            f"d{d}",
            (),
        )
        for d in range(n_domains)
    ]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("name", method_names())
def test_every_method_trains_with_mixstyle(name, batched):
    torch.manual_seed(0)
    cls = method_class(name)
    method = cls(ON, cls.Config(), batched_domains=batched, source_domains=3)
    for _ in range(2):
        terms = method.update(batches(3))
        assert all(torch.isfinite(torch.tensor(v)) for v in terms.values())
    scores = method.predict(torch.rand(3, 3, 32, 32))
    assert scores.shape == (3,) and ((scores >= 0) & (scores <= 1)).all()


def test_train_from_the_cli_with_mixstyle_on(tiny_store, tmp_path):
    run = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--store", str(tiny_store), "--out", str(run)]
    assert main(args + ["--set", "model.mixstyle=true", "--set", "train.steps=2"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["mixstyle"] is True and config["model"]["mixstyle_p"] == 0.5


def test_onnx_export_with_mixstyle_on_is_todays_network(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from metafas.deploy.export import export_network

    off, on = networks()
    path = export_network(on, tmp_path / "model.onnx")
    x = torch.rand(3, 3, 32, 32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (scores,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    torch.testing.assert_close(torch.from_numpy(scores), off.eval()(x), atol=1e-5, rtol=1e-4)
