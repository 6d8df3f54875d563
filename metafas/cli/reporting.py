"""Arguments and thin runners of `metafas sweep`, `metafas table` and `metafas report`."""

import argparse
import logging
import sys
import time
from pathlib import Path

from metafas.data.atomic import atomic_write_text

log = logging.getLogger(__name__)


def add_sweep_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="sweep TOML file (preset, protocols, methods, seeds, ...)")
    parser.add_argument("--out", required=True, help="sweep directory; one run directory per run")
    parser.add_argument(
        "--dry-run", action="store_true", help="list the runs and what would happen, train nothing"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run_sweep(args) -> int:
    """Run protocols x methods x seeds (x ablations) from a TOML file into --out, one run
    directory each, named <protocol>-<method>[+<ablation>]-seed<seed>. Finished runs of the same
    config are skipped and interrupted ones resumed, so the same command restarts a stopped
    sweep. See docs/evaluation.md."""
    from metafas.training import sweep

    spec = sweep.load_spec(Path(args.spec))
    out = Path(args.out)
    if args.dry_run:
        for planned in sweep.plan(spec):
            run_dir = out / planned.name
            done = (run_dir / "done.json").exists()
            state = "done" if done else "started" if (run_dir / "config.json").exists() else "new"
            print(f"{planned.name}: {state}")
        return 0
    started = time.perf_counter()
    outcome = sweep.run_sweep(spec, out, progress=not args.no_progress)
    counts = {kind: list(outcome.values()).count(kind) for kind in sorted(set(outcome.values()))}
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(
        f"{len(outcome)} runs in {out}: {summary}; wall time {time.perf_counter() - started:.0f} s"
    )
    return 0


def add_table_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="+", help="sweep or run directories (searched recursively)")
    parser.add_argument(
        "--format",
        choices=("md", "csv", "latex", "doc"),
        default="md",
        help="md, csv, latex, or doc: the results document (Markdown, its figure beside --out, "
        "needs --compare and --out; see docs/evaluation.md) (default %(default)s)",
    )
    parser.add_argument("--out", default=None, help="file to write (default: print)")
    parser.add_argument(
        "--level", choices=("video", "frame"), default="video", help="default %(default)s"
    )
    add_fixed_threshold_arg(parser)
    add_compare_args(parser)


def add_compare_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--compare",
        default=None,
        metavar="VARIANT",
        help="add each variant's paired difference to this one (a method or method+ablation "
        "label, e.g. deepall) on the same protocol and seeds, with 95%% intervals over seeds "
        "and target videos",
    )
    parser.add_argument(
        "--n-boot",
        type=int,
        default=1000,
        help="bootstrap resamples (seeds and target videos) of --compare (default %(default)s)",
    )


def add_fixed_threshold_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fixed-threshold",
        type=float,
        default=None,
        metavar="T",
        help="also report the 'fixed' threshold rule at this live-probability threshold",
    )


def run_table(args) -> int:
    """The paper-style table from finished runs' saved scores: variants as rows, per protocol
    target HTER and AUC (%) as mean +/- std over seeds, one block per selection rule and
    threshold rule; blocks that look at target labels are marked (oracle). --compare adds
    paired differences to a reference variant; --format doc writes the results document."""
    from metafas.evaluation.table import build_table

    dirs = [Path(d) for d in args.dirs]
    if args.format == "doc":
        return run_results_doc(args, dirs)
    text = build_table(
        dirs, args.format, args.level, args.fixed_threshold, args.compare, args.n_boot
    )
    if args.out:
        atomic_write_text(Path(args.out), text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text, end="")
    return 0


def run_results_doc(args, dirs: list[Path]) -> int:
    """`--format doc`: the results document and its figure, the command written at its top."""
    from metafas.evaluation.results_doc import default_command, write_results_doc

    if not args.compare or not args.out:
        raise ValueError(
            "--format doc needs --compare VARIANT (the reference of its paired differences) "
            "and --out FILE.md (its figure is written beside it)"
        )
    if args.level != "video" or args.fixed_threshold is not None:
        raise ValueError(
            "--format doc is video level with its own rules; drop --level and --fixed-threshold"
        )
    command = default_command(args.dirs, args.out, args.compare, args.n_boot)
    out = write_results_doc(dirs, Path(args.out), args.compare, args.n_boot, command)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def add_report_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a run directory or a sweep directory")
    parser.add_argument("--out", required=True, help="directory for index.html and its figures")
    parser.add_argument(
        "--n-boot",
        type=int,
        default=1000,
        help="bootstrap resamples (by video) for HTER/AUC intervals; 0: none (default %(default)s)",
    )
    add_fixed_threshold_arg(parser)
    parser.add_argument(
        "--compare",
        default=None,
        metavar="VARIANT",
        help="for a sweep: each variant's paired difference to this one (e.g. deepall), tables "
        "and an interval plot (resampling seeds and target videos, --n-boot times)",
    )


def run_report(args) -> int:
    """An HTML page (figures as PNG files beside it) of a run or a sweep: results under every
    selection and threshold rule with bootstrap intervals, ROC and DET curves, score histograms
    per domain and attack type, training curves and the most confident target mistakes; with
    --compare, a sweep's paired differences to a reference variant and their interval plot."""
    from metafas.evaluation.report import write_report

    page = write_report(
        Path(args.path), Path(args.out), args.n_boot, args.fixed_threshold, args.compare
    )
    print(f"report: {page}")
    return 0
