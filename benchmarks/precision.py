"""RFM step time in fp32 and under bf16 autocast, side by side, and what precision "auto" picks.

    python benchmarks/precision.py --preset cpu --repeats 5

Steps of the two precisions are interleaved so that machine noise hits both alike. Also prints
the meta learner M's share of a step's FLOPs (counted by torch.utils.flop_counter), which is
what keeping M in fp32 under bf16 autocast costs at most.
"""

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.step_time import random_batches
from metafas.training.config import resolve_config
from metafas.training.hardware import cpu_capability, resolve_device, resolve_precision
from metafas.training.runs import build_method


def meta_learner_share(method, batches) -> tuple[float, float]:
    """(GFLOP of one RFM step, share of them in the meta learner M)."""
    counter = FlopCounterMode(display=False)
    with counter:
        method.update(batches)
    counts = counter.get_flop_counts()  # keyed by module path from each top module's class
    total = sum(counts["Global"].values())
    in_m = sum(counts[type(method.meta_learner).__name__].values())
    return total / 1e9, in_m / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--domains", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--method", default="rfm")
    args = parser.parse_args()
    methods = {}
    for precision in ("fp32", "bf16"):
        overrides = [f'method="{args.method}"', f'train.precision="{precision}"']
        config = resolve_config(args.preset, overrides)
        methods[precision] = build_method(config)
    device = resolve_device(config.train.device)
    batches = [
        b.to(device) for b in random_batches(args.domains, config.train.k, config.model.input_size)
    ]
    times = {name: [] for name in methods}
    for repeat in range(args.repeats + 1):
        for name, method in methods.items():
            started = time.perf_counter()
            method.update(batches)
            if repeat:  # the first step of each warms up
                times[name].append(time.perf_counter() - started)
    median = {name: statistics.median(t) for name, t in times.items()}
    gflop, share = meta_learner_share(methods["fp32"], batches)
    print(
        f"{args.method}, preset {args.preset} ({config.model.input_size} px, width "
        f"{config.model.width}), {args.domains} domains x {2 * config.train.k} images, "
        f"device {device}, CPU {cpu_capability()}, {torch.get_num_threads()} threads, "
        f"median of {args.repeats}"
    )
    for name, value in median.items():
        print(f"  {name:5} {value * 1000:9.1f} ms/step")
    print(f"  ratio bf16/fp32: {median['bf16'] / median['fp32']:.2f}")
    print(f"  auto picks: {resolve_precision('auto', device)}")
    print(f"  one step: {gflop:.1f} GFLOP, of which the meta learner M: {100 * share:.2f} %")


if __name__ == "__main__":
    main()
