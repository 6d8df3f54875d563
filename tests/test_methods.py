"""Every method: a few updates, predict's shape and range, finite gradients for all parameters."""

import pytest
import torch

from metafas.data.batch import Batch
from metafas.methods import METHODS, method_class, register
from metafas.models import DepthNet, DepthNetConfig

SMALL = DepthNetConfig(input_size=32, width=0.125)


def batches(n_domains: int, k: int = 2, seed: int = 0) -> list[Batch]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for d in range(n_domains):
        label = torch.tensor([1.0] * k + [0.0] * k)
        depth = torch.rand(2 * k, 1, 4, 4, generator=gen) * label[:, None, None, None]
        out.append(Batch(torch.rand(2 * k, 3, 32, 32, generator=gen), depth, label, f"d{d}", ()))
    return out


OPTIONS = {
    "deepall": [{}, {"depth_weight": 0.0}],
    "rfm": [
        {},
        {"first_order": True},
        {"fine_grained": False},
        {"depth_weight": 0.0},
        {"meta_test_splits": "all"},
    ],
}


@pytest.mark.parametrize("name,options", [(n, o) for n in OPTIONS for o in OPTIONS[n]])
def test_update_predict_and_gradients(name, options):
    torch.manual_seed(0)
    method = method_class(name)(SMALL, method_class(name).Config(**options))
    before = {n: p.detach().clone() for n, p in method.named_parameters()}
    for step in range(3):
        terms = method.update(batches(3, seed=step))
        assert all(torch.isfinite(torch.tensor(v)) for v in terms.values())
    for n, p in method.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
    moved = [n for n, p in method.named_parameters() if not torch.equal(p, before[n])]
    assert any(n.startswith("network.feature_extractor") for n in moved)
    assert any(n.startswith("network.meta_learner") for n in moved)
    scores = method.predict(torch.rand(5, 3, 32, 32))
    assert scores.shape == (5,) and ((scores >= 0) & (scores <= 1)).all()


@pytest.mark.parametrize("n_domains", [2, 3, 4])
def test_rfm_works_for_any_number_of_sources(n_domains):
    torch.manual_seed(0)
    rfm = method_class("rfm")(SMALL, method_class("rfm").Config())
    terms = rfm.update(batches(n_domains))
    assert set(terms) == {
        "loss",
        "cls_meta_train",
        "dep_meta_train",
        "cls_meta_test",
        "dep_meta_test",
    }


def test_rfm_refuses_a_single_source():
    rfm = method_class("rfm")(SMALL, method_class("rfm").Config())
    with pytest.raises(ValueError, match="at least 2 source domains"):
        rfm.loss(batches(1))


def test_registry_refuses_duplicates_and_names_known_methods():
    with pytest.raises(ValueError, match="already registered"):
        register("rfm")(type("Other", (), {}))
    with pytest.raises(ValueError, match="known: deepall, maddg, rfm, ssdg"):
        method_class("rfn")
    assert set(METHODS) >= {"rfm", "deepall"}


def test_paper_depthnet_parameter_count_and_shapes():
    network = DepthNet(DepthNetConfig())
    assert sum(p.numel() for p in network.parameters()) == 3_873_576  # "about 3.9M"
    features, depth_features = network.feature_extractor(torch.rand(1, 3, 256, 256))
    assert features.shape == (1, 128, 32, 32) and depth_features.shape == (1, 384, 32, 32)
    assert network.depth_estimator(depth_features).shape == (1, 1, 32, 32)


def test_rgb_to_hsv_matches_colorsys():
    import colorsys

    from metafas.models.colour import rgb_to_hsv

    rgb = torch.rand(1, 3, 4, 5, dtype=torch.float64)
    rgb[0, :, 0, 0] = 0.5  # grey: hue and saturation 0
    hsv = rgb_to_hsv(rgb)
    for y in range(4):
        for x in range(5):
            expected = colorsys.rgb_to_hsv(*rgb[0, :, y, x].tolist())
            torch.testing.assert_close(hsv[0, :, y, x], torch.tensor(expected, dtype=torch.float64))


def test_bf16_autocast_stays_close_to_fp32():
    """bf16 autocast on CPU changes one step's loss and scores by a bounded amount."""
    results = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        method = method_class("deepall")(
            SMALL, method_class("deepall").Config(), precision=precision
        )
        terms = method.update(batches(3))
        results[precision] = (
            terms["loss"],
            method.predict(torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))),
        )
    loss32, scores32 = results["fp32"]
    loss16, scores16 = results["bf16"]
    assert abs(loss32 - loss16) <= 0.05 * abs(loss32)
    assert (scores32 - scores16).abs().max() <= 0.05


@pytest.mark.parametrize("name", ["rfm", "deepall"])
def test_compiled_feature_extractor_matches_eager(name):
    """torch.compile of F and D keeps second-order RFM gradients (aot_eager: fast to compile)."""
    import torch._dynamo.utils

    from metafas.training.config import resolve_config
    from metafas.training.runs import build_method

    torch._dynamo.reset()  # an earlier case's compiled code would otherwise be reused
    torch._dynamo.utils.counters.clear()
    grads = []
    for mode in ("off", "aot_eager"):
        config = resolve_config("tiny", [f'method="{name}"', f'train.compile="{mode}"'])
        method = build_method(config)
        data = batches(3)
        if name == "rfm":
            loss = method.loss(data, meta_test=1)["loss"]
        else:
            loss = method.loss(data)["loss"]
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in method.named_parameters()})
        assert set(method.network.state_dict()) == set(
            build_method(resolve_config("tiny")).network.state_dict()
        )
    assert torch._dynamo.utils.counters["aot_autograd"]["ok"] >= 2  # F and D really compiled
    for n in grads[0]:
        torch.testing.assert_close(grads[0][n], grads[1][n], atol=1e-5, rtol=1e-4, msg=n)
