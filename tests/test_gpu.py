"""CUDA-only paths of training: device and precision resolution, bf16 autocast keeping the meta
learner in fp32, finite training steps (eager, channels-last, compiled). `gpu`-marked, and
skipped where there is no CUDA device (`pytest -m gpu`)."""

import copy

import pytest
import torch
from test_rfm_precision import NETWORK, cosine, meta_signal, source_batches

from metafas.methods import method_class
from metafas.training import hardware
from metafas.training.config import resolve_config
from metafas.training.runs import build_method

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
CUDA = torch.device("cuda")


def cuda_batches(domains: int = 3, k: int = 2, seed: int = 0):
    return [batch.to(CUDA) for batch in source_batches(domains, k, seed)]


def cuda_method(name: str, *overrides: str):
    """A method of the cpu preset's network (64 px, width 0.25) on the GPU."""
    config = resolve_config("cpu", [f'method="{name}"', 'train.device="cuda"', *overrides])
    return build_method(config)


def test_auto_resolves_to_the_gpu_and_its_native_precision():
    assert hardware.resolve_device("auto") == CUDA
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    assert hardware.resolve_precision("auto", CUDA) == expected
    method = cuda_method("rfm")
    assert next(method.parameters()).is_cuda and method.precision == expected
    record = hardware.runtime_record(CUDA, "auto", method.precision)
    assert record["device"] == "cuda" and record["precision"] == expected


def test_bf16_autocast_on_cuda_runs_f_in_bf16_and_the_meta_learner_in_fp32():
    rfm = cuda_method("rfm", 'train.precision="bf16"')
    batches = cuda_batches()
    rfm.train()
    with rfm.autocast():
        features = rfm.features(batches)
        embedding, logit = rfm.meta_learner.embed(features[0][0])
        _, adapted = rfm.meta_train(batches, features, [0, 1])
    assert features[0][0].dtype == torch.bfloat16  # F under autocast
    assert embedding.dtype == logit.dtype == torch.float32
    assert all(p.dtype == torch.float32 for params in adapted for p in params.values())


def test_meta_signal_on_cuda_in_bf16_agrees_with_fp32():
    """The inner step's effect and the second-order gradient survive bf16 autocast on the GPU
    (the CPU version, with its measured cosines, is tests/test_rfm_precision.py)."""
    torch.manual_seed(1)
    fp32 = method_class("rfm")(NETWORK, method_class("rfm").Config(), precision="fp32").to(CUDA)
    bf16 = copy.deepcopy(fp32)
    bf16.precision = "bf16"
    batches = [batch.to(CUDA) for batch in source_batches(seed=1)]
    (change32, second32), (change16, second16) = (meta_signal(m, batches) for m in (fp32, bf16))
    assert change32.abs().max() > 0 and second32.norm() > 0
    assert cosine(change16, change32) >= 0.99
    assert cosine(second16, second32) >= 0.9


@pytest.mark.parametrize("name", ["rfm", "deepall"])
@pytest.mark.parametrize("overrides", [(), ("model.channels_last=true",)])
def test_a_cuda_training_step_gives_finite_terms_and_moves_the_weights(name, overrides):
    method = cuda_method(name, *overrides)
    before = [p.detach().clone() for p in method.parameters()]
    terms = method.update(cuda_batches())
    assert terms and all(torch.isfinite(torch.tensor(v)) for v in terms.values())
    after = list(method.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))


def test_channels_last_on_cuda_gives_the_contiguous_loss():
    batches = cuda_batches()
    losses = {}
    for layout in ("false", "true"):
        method = cuda_method("rfm", 'train.precision="fp32"', f"model.channels_last={layout}")
        method.train()
        losses[layout] = method.loss(batches, meta_test=2)["loss"].item()
    # cuDNN may pick TF32 kernels for fp32 convolutions, differently per layout.
    assert losses["true"] == pytest.approx(losses["false"], rel=1e-2)


def test_compiled_networks_train_on_cuda():
    method = cuda_method("rfm", 'train.compile="inductor"')
    batches = cuda_batches()
    for _ in range(2):  # the first step compiles
        terms = method.update(batches)
    assert all(torch.isfinite(torch.tensor(v)) for v in terms.values())
