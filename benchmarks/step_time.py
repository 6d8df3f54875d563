"""Per-step time of RFM and DeepAll on the same batches and preset, measured side by side.

    python benchmarks/step_time.py --preset cpu --domains 3 --repeats 10

Steps of the two methods are interleaved so that machine noise hits both alike; the script
prints the median time of each and their ratio.
"""

import argparse
import statistics
import time

import torch

from metafas.data.batch import Batch
from metafas.training.config import resolve_config
from metafas.training.runs import build_method


def random_batches(n_domains: int, k: int, size: int, seed: int = 0) -> list[Batch]:
    gen = torch.Generator().manual_seed(seed)
    label = torch.tensor([1.0] * k + [0.0] * k)
    return [
        Batch(
            torch.rand(2 * k, 3, size, size, generator=gen),
            torch.rand(2 * k, 1, size // 8, size // 8, generator=gen) * label[:, None, None, None],
            label,
            f"d{d}",
            (),
        )
        for d in range(n_domains)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--domains", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    methods = {}
    for name in ("rfm", "deepall"):
        config = resolve_config(args.preset, [f'method="{name}"', *args.overrides])
        methods[name] = build_method(config)
    batches = random_batches(args.domains, config.train.k, config.model.input_size)
    times = {name: [] for name in methods}
    for repeat in range(args.repeats + 1):
        for name, method in methods.items():
            started = time.perf_counter()
            method.update(batches)
            if repeat:  # the first step of each warms up
                times[name].append(time.perf_counter() - started)
    median = {name: statistics.median(t) for name, t in times.items()}
    images = args.domains * 2 * config.train.k
    print(
        f"preset {args.preset} ({config.model.input_size} px, width {config.model.width}, "
        f"{config.train.precision}), {args.domains} domains x {2 * config.train.k} = {images} "
        f"images per step, {torch.get_num_threads()} threads, median of {args.repeats}"
    )
    for name, value in median.items():
        print(f"  {name:8} {value * 1000:8.1f} ms/step")
    print(f"  ratio rfm/deepall: {median['rfm'] / median['deepall']:.2f}")


if __name__ == "__main__":
    main()
