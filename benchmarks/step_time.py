"""Per-step time of every registered method against DeepAll, on the same batches and preset,
measured side by side.

    python benchmarks/step_time.py --preset cpu --domains 3 --repeats 10
    python benchmarks/step_time.py --methods rfm,deepall --set model.mixstyle=true

Steps of the methods are interleaved (one step of each, in turn, per repeat) so that machine
noise hits all alike; the first step of each warms up and is not counted. It prints the
median time of each and its ratio to DeepAll's. Plugin methods (entry points of
`metafas.methods`, or `--import MODULE`) are included.
"""

import argparse
import statistics
import time

import torch

from metafas.data.batch import Batch
from metafas.methods import import_plugin, method_class, method_names
from metafas.training.config import resolve_config
from metafas.training.runs import build_method

BASELINE = "deepall"


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


def method_overrides(name: str, n_domains: int) -> list[str]:
    """Overrides a method needs for the batches: MADDG has one discriminator per domain."""
    fields = getattr(method_class(name).Config, "__dataclass_fields__", {})
    return [f"{name}.source_domains={n_domains}"] if "source_domains" in fields else []


def time_steps(methods: dict, batches: list[Batch], repeats: int) -> dict[str, float]:
    """Median seconds per `update` of each method, steps interleaved across methods."""
    times = {name: [] for name in methods}
    for repeat in range(repeats + 1):
        for name, method in methods.items():
            started = time.perf_counter()
            method.update(batches)
            if repeat:  # the first step of each warms up
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--domains", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--methods", default="", help="comma-separated (default: all registered)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--import", dest="imports", action="append", default=[])
    args = parser.parse_args()
    for spec in args.imports:
        import_plugin(spec)
    names = [n.strip() for n in args.methods.split(",") if n.strip()] or method_names()
    names = [BASELINE, *(n for n in names if n != BASELINE)]
    methods = {}
    for name in names:
        extra = method_overrides(name, args.domains)
        config = resolve_config(args.preset, [f'method="{name}"', *extra, *args.overrides])
        methods[name] = build_method(config)
    batches = random_batches(args.domains, config.train.k, config.model.input_size)
    median = time_steps(methods, batches, args.repeats)
    images = args.domains * 2 * config.train.k
    print(
        f"preset {args.preset} ({config.model.input_size} px, width {config.model.width}, "
        f"{methods[BASELINE].precision}, batched_domains {config.train.batched_domains}), "
        f"{args.domains} domains x {2 * config.train.k} = {images} images per step, "
        f"{torch.get_num_threads()} threads, median of {args.repeats}"
    )
    print(f"| method | ms/step | ratio to {BASELINE} |")
    print("|---|---:|---:|")
    for name, seconds in median.items():
        print(f"| {name} | {seconds * 1000:.1f} | {seconds / median[BASELINE]:.2f} |")


if __name__ == "__main__":
    main()
