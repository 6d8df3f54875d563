"""DepthNet's speed options: channel widths rounded to a SIMD-friendly multiple, and the
channels-last memory order, which must compute what the contiguous network computes."""

import pytest
import torch
from test_rfm_precision import source_batches

from metafas.models import DepthNet, DepthNetConfig
from metafas.training.checkpoint import load_into, load_weights, save_checkpoint
from metafas.training.config import ConfigError, resolve_config
from metafas.training.runs import build_method


def conv_widths(network: DepthNet) -> list[int]:
    return [m.out_channels for m in network.modules() if isinstance(m, torch.nn.Conv2d)]


def is_conv_bias(module: torch.nn.Module, name: str) -> bool:
    owner, _, leaf = name.rpartition(".")
    return leaf == "bias" and isinstance(module.get_submodule(owner), torch.nn.Conv2d)


@pytest.mark.parametrize("width, paper, expected", [(1.0, 196, 196), (0.25, 196, 49)])
def test_multiple_1_keeps_plain_rounding(width, paper, expected):
    assert DepthNetConfig(width=width).channels(paper) == expected


@pytest.mark.parametrize(
    "multiple, expected", [(1, [16, 32, 49]), (8, [16, 32, 48]), (16, [16, 32, 48])]
)
def test_the_cpu_width_rounds_to_the_multiple(multiple, expected):
    config = DepthNetConfig(input_size=64, width=0.25, channel_multiple=multiple)
    assert [config.channels(c) for c in (64, 128, 196)] == expected
    widths = conv_widths(DepthNet(config))
    assert all(w % multiple == 0 for w in widths if w > 1)  # D's last conv has one channel


def test_the_multiple_is_checked():
    with pytest.raises(ConfigError, match=r"model.channel_multiple must be in \[1, 64\], got 0"):
        resolve_config("tiny", ["model.channel_multiple=0"])


def test_channels_last_network_keeps_its_weights_in_nhwc_and_matches_contiguous(tmp_path):
    methods = {
        layout: build_method(
            resolve_config("cpu", ['train.precision="fp32"', f"model.channels_last={layout}"])
        )
        for layout in ("false", "true")
    }
    convs = [m for m in methods["true"].network.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    batches = source_batches(k=2)
    losses = {}
    for layout, method in methods.items():
        method.train()
        loss = method.loss(batches, meta_test=2)["loss"]
        loss.backward()
        losses[layout] = loss.item()
    assert losses["true"] == pytest.approx(losses["false"], rel=1e-4)
    # Every conv feeds a BatchNorm, so conv biases get a gradient of zero up to rounding.
    grads = [
        [
            p.grad
            for name, p in methods[layout].named_parameters()
            if p.grad is not None and not is_conv_bias(methods[layout], name)
        ]
        for layout in ("false", "true")
    ]
    # CPU channels-last BatchNorm computes its batch statistics less accurately: against float64,
    # F's fp32 gradients were off by up to 4e-3 (relative norm) channels-last, 7e-6 contiguous.
    for contiguous, nhwc in zip(*grads, strict=True):
        assert (nhwc - contiguous).norm() <= 2e-2 * contiguous.norm()
    # A checkpoint is stored contiguous and loads into either layout.
    saved = save_checkpoint(tmp_path / "ckpt", methods["true"].network, {"step": 0})
    load_into(methods["false"].network, load_weights(saved), saved / "model.safetensors")
    images = batches[0].image
    assert torch.allclose(
        methods["false"].predict(images), methods["true"].predict(images), atol=1e-5
    )


@pytest.mark.parametrize("precision, nhwc", [("fp32", False), ("bf16", True)])
def test_channels_last_auto_follows_the_precision_the_run_resolved(precision, nhwc):
    config = resolve_config("cpu", [f'train.precision="{precision}"'])
    assert config.model.channels_last == "auto"  # the cpu preset's choice
    network = build_method(config).network
    convs = [m for m in network.modules() if isinstance(m, torch.nn.Conv2d)]
    assert network.channels_last is nhwc
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) is nhwc for c in convs)


def test_channels_last_refuses_other_words():
    with pytest.raises(ConfigError, match=r'model.channels_last must be true, false or "auto"'):
        resolve_config("tiny", ['model.channels_last="yes"'])
