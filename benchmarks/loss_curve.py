"""A run's training loss curve from its TensorBoard events, checked for NaN and infinities.

    python -m benchmarks.loss_curve RUNS/my-run --steps 200

Prints every logged term at each logged step (at most --rows rows, evenly spaced, the last
step always). Exits 1, naming the term and step, when a logged value is not finite or the run
logged no step at or beyond --steps.
"""

import argparse
import math
import sys
from pathlib import Path

from metafas.evaluation.report.data import training_scalars


def curve_rows(scalars: dict, rows: int) -> list[int]:
    """Indices of the logged steps to print: evenly spaced, first and last included."""
    count = len(next(iter(scalars.values()))[0])
    if count <= rows:
        return list(range(count))
    return sorted({round(i * (count - 1) / (rows - 1)) for i in range(rows)})


def problems(scalars: dict, steps: int) -> list[str]:
    found = []
    for tag, (logged_steps, values) in scalars.items():
        found += [
            f"{tag} is {value} at step {step}"
            for step, value in zip(logged_steps, values, strict=True)
            if not math.isfinite(value)
        ]
    last = max(int(s[-1]) for s, _ in scalars.values())
    if last < steps:
        found.append(f"the run logged up to step {last}, not {steps}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--steps", type=int, default=1, help="the last step the run must reach")
    parser.add_argument("--rows", type=int, default=21)
    args = parser.parse_args()
    scalars = training_scalars(args.run_dir)
    if not scalars:
        print(f"loss_curve: {args.run_dir} holds no train/* scalars", file=sys.stderr)
        return 1
    tags = sorted(scalars, key=lambda tag: tag != "train/loss")
    print("| step | " + " | ".join(tag.removeprefix("train/") for tag in tags) + " |")
    print("|---:|" + "---:|" * len(tags))
    steps = scalars[tags[0]][0]
    for i in curve_rows(scalars, args.rows):
        values = " | ".join(f"{scalars[tag][1][i]:.4f}" for tag in tags)
        print(f"| {int(steps[i])} | {values} |")
    found = problems(scalars, args.steps)
    for problem in found:
        print(f"loss_curve: {problem}", file=sys.stderr)
    if not found:
        print(f"all {len(steps)} logged steps finite, last step {int(steps[-1])}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
