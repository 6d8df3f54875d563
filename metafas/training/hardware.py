"""Device, precision and threads, chosen by what the hardware computes natively.

`train.precision = "auto"` picks bf16 autocast only where the device computes bf16 natively (a
CUDA device with bf16, a CPU with AMX or AVX512-BF16) and fp32 elsewhere: on an AVX2-only CPU a
DepthNet step under bf16 autocast is about 25 times slower than in fp32, on an AMX CPU about
1.5 times faster. What was chosen is logged and recorded with the run (`runtime_record`).
"""

import logging

import torch

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")


def resolve_device(name: str) -> torch.device:
    """ "auto": CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but no CUDA device is available")
    return torch.device(name)


def cpu_bf16_features() -> list[str]:
    """The CPU's native bf16 instruction sets among AMX and AVX512-BF16 (empty: none).

    None where ATen's kernels are capped below AVX512: every CPU with either set has AVX512,
    so a lower capability means the process was told not to use them, as when an AVX2-only CPU
    is emulated with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2.
    """
    if not torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
        return []
    found = []
    if torch.cpu._is_amx_tile_supported():
        found.append("AMX")
    if torch.cpu._is_avx512_bf16_supported():
        found.append("AVX512-BF16")
    return found


def cpu_capability() -> str:
    """ATen's vector capability and the bf16 extensions, e.g. "AVX512+AMX+AVX512-BF16"."""
    return "+".join([torch.backends.cpu.get_cpu_capability(), *cpu_bf16_features()])


def native_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(cpu_bf16_features())
    return False


def resolve_precision(requested: str, device: torch.device) -> str:
    """ "fp32" or "bf16" for `requested` ("auto", "fp32" or "bf16") on `device`."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision {requested!r} unknown; known: {', '.join(PRECISIONS)}")
    if requested == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if requested == "bf16" and not native_bf16(device):
        log.warning(
            "precision bf16 on a %s without native bf16 (%s): expect it many times slower "
            "than fp32; precision auto picks fp32 here",
            device.type,
            cpu_capability() if device.type == "cpu" else device,
        )
    return requested


def runtime_record(device: torch.device, requested: str, precision: str) -> dict:
    """What a run or a scoring session runs on (`precision`: what `requested` resolved to),
    for logs, config.json and results."""
    return {
        "device": str(device),
        "precision": precision,
        "requested_precision": requested,
        "cpu_capability": cpu_capability(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def describe(record: dict) -> str:
    """One line for the log: device, precision (and what was asked), CPU, threads."""
    return (
        f"device {record['device']}, precision {record['precision']} "
        f"(asked: {record['requested_precision']}), CPU {record['cpu_capability']}, "
        f"{record['threads']} threads"
    )
