"""The precision policy: bf16 only where the device computes it natively, fp32 elsewhere."""

import logging

import pytest
import torch

from metafas.training import hardware
from metafas.training.config import resolve_config
from metafas.training.runs import build_method

CPU = torch.device("cpu")


@pytest.fixture
def avx2_only(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_bf16_features", lambda: [])


@pytest.fixture
def amx(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_bf16_features", lambda: ["AMX", "AVX512-BF16"])


def test_auto_is_fp32_on_a_cpu_without_native_bf16(avx2_only):
    assert hardware.resolve_precision("auto", CPU) == "fp32"
    assert not hardware.native_bf16(CPU)


def test_a_cpu_capped_below_avx512_has_no_native_bf16(monkeypatch):
    """ATEN_CPU_CAPABILITY=avx2 (emulating an AVX2-only CPU on an AMX one) makes auto fp32."""
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert hardware.cpu_bf16_features() == ["AMX", "AVX512-BF16"]
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert hardware.cpu_bf16_features() == []
    assert hardware.resolve_precision("auto", CPU) == "fp32"
    assert hardware.cpu_capability() == "AVX2"


def test_auto_is_bf16_on_a_cpu_with_native_bf16(amx):
    assert hardware.resolve_precision("auto", CPU) == "bf16"
    assert hardware.cpu_capability().endswith("+AMX+AVX512-BF16")


@pytest.mark.parametrize("supported, expected", [(True, "bf16"), (False, "fp32")])
def test_auto_on_cuda_asks_the_device(monkeypatch, supported, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: supported)
    assert hardware.resolve_precision("auto", torch.device("cuda")) == expected


def test_explicit_precisions_stay_and_slow_bf16_is_warned(avx2_only, caplog):
    with caplog.at_level(logging.WARNING, logger="metafas.training.hardware"):
        assert hardware.resolve_precision("fp32", CPU) == "fp32"
        assert not caplog.records
        assert hardware.resolve_precision("bf16", CPU) == "bf16"
    assert "many times slower" in caplog.text


def test_explicit_bf16_on_native_hardware_is_not_warned(amx, caplog):
    with caplog.at_level(logging.WARNING, logger="metafas.training.hardware"):
        assert hardware.resolve_precision("bf16", CPU) == "bf16"
    assert not caplog.records


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision 'fp16' unknown; known: auto, fp32, bf16"):
        hardware.resolve_precision("fp16", CPU)


@pytest.mark.parametrize("fixture, expected", [("avx2_only", "fp32"), ("amx", "bf16")])
def test_presets_default_to_auto_and_methods_get_the_resolved_precision(request, fixture, expected):
    request.getfixturevalue(fixture)
    for preset in ("cpu", "paper"):
        assert resolve_config(preset).train.precision == "auto"
    config = resolve_config("tiny", ['train.precision="auto"'])
    assert build_method(config, "cpu").precision == expected


def test_runtime_record_names_device_precision_cpu_and_threads(avx2_only):
    record = hardware.runtime_record(CPU, "auto", "fp32")
    assert record["device"] == "cpu" and record["precision"] == "fp32"
    assert record["requested_precision"] == "auto"
    assert record["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert record["threads"] == torch.get_num_threads()
    assert "precision fp32 (asked: auto)" in hardware.describe(record)
