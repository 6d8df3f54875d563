"""RFM step time with one batched forward of F (per-domain BatchNorm chunks) against separate
per-domain forwards, measured side by side on the same batches.

    python -m benchmarks.batched_domains --preset cpu --repeats 10
"""

import argparse
import statistics
import time

from benchmarks.step_time import random_batches
from metafas.training.config import resolve_config
from metafas.training.runs import build_method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    variants = {
        mode: build_method(
            resolve_config(args.preset, [f"train.batched_domains={mode}", *args.overrides])
        )
        for mode in ("true", "false")
    }
    config = resolve_config(args.preset, args.overrides)
    batches = random_batches(3, config.train.k, config.model.input_size)
    times = {mode: [] for mode in variants}
    for repeat in range(args.repeats + 1):
        for mode, method in variants.items():
            started = time.perf_counter()
            method.update(batches)
            if repeat:
                times[mode].append(time.perf_counter() - started)
    median = {mode: statistics.median(t) for mode, t in times.items()}
    print(f"preset {args.preset}, {config.train.precision}, RFM, median of {args.repeats}")
    print(f"  batched forward:     {median['true'] * 1000:8.1f} ms/step")
    print(f"  per-domain forwards: {median['false'] * 1000:8.1f} ms/step")
    print(f"  ratio batched/per-domain: {median['true'] / median['false']:.2f}")


if __name__ == "__main__":
    main()
