"""Step time of one preset's network in several widths and memory layouts, side by side.

    python -m benchmarks.channel_widths --preset cpu --repeats 12
    python -m benchmarks.channel_widths --variant m16="model.channel_multiple=16" --method deepall

Each variant is the preset plus its overrides; the default variants are the plain scaled
widths (channel_multiple 1, F's 49 channels at width 0.25), widths rounded to multiples of 8,
and each of those in channels-last memory. Steps of the variants are interleaved
(benchmarks.step_time.time_steps) on the same random batches, so that machine noise hits all
alike. Prints the median step time of each, its ratio to the first, and F's widths.
"""

import argparse

import torch

from benchmarks.step_time import random_batches, time_steps
from metafas.training.config import resolve_config
from metafas.training.runs import build_method

DEFAULT_VARIANTS = {
    "plain": ["model.channel_multiple=1", "model.channels_last=false"],
    "multiple_8": ["model.channel_multiple=8", "model.channels_last=false"],
    "plain_nhwc": ["model.channel_multiple=1", "model.channels_last=true"],
    "multiple_8_nhwc": ["model.channel_multiple=8", "model.channels_last=true"],
}


def parse_variant(spec: str) -> tuple[str, list[str]]:
    """NAME=override,override (an override holding a comma cannot be given here)."""
    name, _, overrides = spec.partition("=")
    if not name or not overrides:
        raise SystemExit(f"--variant {spec!r}: expected NAME=override[,override...]")
    return name, [o.strip() for o in overrides.split(",") if o.strip()]


def widths(method) -> str:
    convs = [m for m in method.feature_extractor.modules() if isinstance(m, torch.nn.Conv2d)]
    return "/".join(str(w) for w in sorted({c.out_channels for c in convs}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--method", default="rfm")
    parser.add_argument("--domains", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument("--variant", action="append", default=[], help="NAME=overrides")
    args = parser.parse_args()
    variants = dict(map(parse_variant, args.variant)) or DEFAULT_VARIANTS
    methods, config = {}, None
    for name, overrides in variants.items():
        config = resolve_config(args.preset, [f'method="{args.method}"', *overrides])
        methods[name] = build_method(config)
    batches = random_batches(args.domains, config.train.k, config.model.input_size)
    median = time_steps(methods, batches, args.repeats)
    first = next(iter(median.values()))
    print(
        f"{args.method} steps, preset {args.preset} ({config.model.input_size} px, width "
        f"{config.model.width}, {methods[next(iter(methods))].precision}), "
        f"{torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads, "
        f"median of {args.repeats}"
    )
    print("| variant | F's widths | ms/step | speed-up over the first |")
    print("|---|---|---:|---:|")
    for name, seconds in median.items():
        print(
            f"| {name} | {widths(methods[name])} | {seconds * 1000:.1f} | {first / seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
