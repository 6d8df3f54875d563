"""Paper-preset RFM and DeepAll training steps on a GPU: step time, images/s, share of bf16 peak.

    python -m benchmarks.gpu_step                      # on a CUDA machine
    python -m benchmarks.gpu_step --device cpu --preset cpu --repeats 2   # a dry run

FLOPs per step are counted by torch.utils.flop_counter on one real step (forward, the inner
second-order gradient and backward), not estimated. The peak comes from a table of dense bf16
tensor-core figures from vendor data sheets, or from --peak-tflops.
"""

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.step_time import random_batches
from metafas.training.config import resolve_config
from metafas.training.runs import build_method

# Dense (no sparsity) bf16 tensor-core peaks in TFLOP/s, from the vendors' data sheets.
BF16_PEAK_TFLOPS = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 PCIe": 756.0,
    "H100": 756.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10": 125.0,
    "RTX 4090": 165.0,
}


def peak_tflops(device: torch.device, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in BF16_PEAK_TFLOPS.items() if key in name), None)


def count_flops(method, batches) -> int:
    with FlopCounterMode(display=False) as counter:
        method.update(batches)
    return counter.get_total_flops()


def timed_steps(method, batches, repeats: int, device: torch.device) -> list[float]:
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        method.update(batches)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--domains", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    peak = peak_tflops(device, args.peak_tflops)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {name}; preset {args.preset}; bf16 peak {peak} TFLOP/s")
    for method_name in ("deepall", "rfm"):
        overrides = [f'method="{method_name}"', 'train.precision="bf16"', *args.overrides]
        config = resolve_config(args.preset, overrides)
        method = build_method(config).to(device).to(memory_format=torch.channels_last)
        batches = [
            b.to(device)
            for b in random_batches(args.domains, config.train.k, config.model.input_size)
        ]
        flops = count_flops(method, batches)
        timed_steps(method, batches, 3, device)  # warm-up (cudnn autotuning)
        step = statistics.median(timed_steps(method, batches, args.repeats, device))
        images = args.domains * 2 * config.train.k
        share = f"{flops / step / 1e12 / peak:.1%} of peak" if peak else "peak unknown"
        print(
            f"  {method_name:8} {step * 1000:8.1f} ms/step  {images / step:8.1f} images/s  "
            f"{flops / 1e12:6.2f} TFLOP/step  {flops / step / 1e12:7.1f} TFLOP/s  {share}"
        )


if __name__ == "__main__":
    main()
