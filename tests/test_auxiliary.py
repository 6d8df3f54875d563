"""A method's auxiliary modules (trained beside DepthNet) are optimised and checkpointed."""

import torch
from torch import nn

from metafas.methods.deepall import DeepAll
from metafas.models import DepthNetConfig
from metafas.training.checkpoint import load_auxiliary, load_weights, save_checkpoint

NETWORK = DepthNetConfig(input_size=32, width=0.125)


class WithDiscriminator(DeepAll):
    def auxiliary_modules(self, network: DepthNetConfig) -> dict[str, nn.Module]:
        return {"discriminator": nn.Linear(network.channels(128), 3)}


def test_auxiliary_modules_are_optimised_and_checkpointed(tmp_path):
    torch.manual_seed(0)
    method = WithDiscriminator(NETWORK, DeepAll.Config())
    weight = method.auxiliary["discriminator"].weight
    assert any(weight is p for group in method.optimizer.param_groups for p in group["params"])
    save_checkpoint(tmp_path / "ckpt", method.network, {}, method.optimizer, method.auxiliary)
    assert torch.equal(load_auxiliary(tmp_path / "ckpt")["discriminator.weight"], weight)
    assert not any(k.startswith("discriminator") for k in load_weights(tmp_path / "ckpt"))


def test_a_method_without_auxiliary_modules_writes_no_file(tmp_path):
    method = DeepAll(NETWORK, DeepAll.Config())
    save_checkpoint(tmp_path / "ckpt", method.network, {}, method.optimizer, method.auxiliary)
    assert not (tmp_path / "ckpt" / "auxiliary.safetensors").exists()
    assert load_auxiliary(tmp_path / "ckpt") == {}
