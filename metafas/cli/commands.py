"""Arguments and thin runners of the CLI subcommands; the work is done by library functions."""

import argparse
import json
import logging
import time
from pathlib import Path

from metafas.data.json_document import check_fields, read_json
from metafas.data.protocols import available_protocols, format_protocols
from metafas.data.simulated import DEFAULT_DOMAINS, write_simulated
from metafas.methods import import_plugin, method_class, method_names, method_summary
from metafas.methods.registry import IMPORT_VARIABLE
from metafas.training.config import preset_names, preset_summary, resolve_config

IMPORT_HELP = (
    "import a module (a name, or a path to a .py file) that registers methods; repeatable, "
    f"before or after the command (also {IMPORT_VARIABLE}, os.pathsep-separated)"
)


def add_import_option(parser: argparse.ArgumentParser, dest: str, default) -> None:
    """--import on the main parser (dest "imports") and on each command ("imports_after",
    default SUPPRESS, so that the command's parser does not reset the main parser's list)."""
    parser.add_argument(
        "--import", dest=dest, action="append", default=default, metavar="MODULE", help=IMPORT_HELP
    )


def import_plugins(args) -> None:
    """Import the modules of --import, before and after the command, in order."""
    for spec in [*args.imports, *getattr(args, "imports_after", [])]:
        import_plugin(spec)


def add_demo_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="runs/demo", help="where the two runs go (default %(default)s)"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="training steps (default: demo.DEMO_STEPS, 150)"
    )
    parser.add_argument(
        "--protocol", default="sim_OCI_M", help="simulated protocol (default %(default)s)"
    )
    parser.add_argument(
        "--seeds", type=int, default=1, help="seeds per method; mean and spread (default 1)"
    )


def run_demo(args) -> int:
    """Simulate the default domains (cached), train RFM and DeepAll on three, test on the fourth,
    and print a comparison table."""
    from metafas.cli.demo import compare, demo, format_comparison

    if args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
    started = time.perf_counter()
    steps = {} if args.steps is None else {"steps": args.steps}
    runs = demo(Path(args.out), protocol=args.protocol, seeds=args.seeds, **steps)
    print(format_comparison(*compare(runs)))
    print(f"wall time: {time.perf_counter() - started:.0f} s")
    return 0


def add_simulate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="store directory to write")
    parser.add_argument(
        "--domains", default=",".join(DEFAULT_DOMAINS), help="comma-separated (default %(default)s)"
    )
    parser.add_argument(
        "--size", type=int, default=128, help="face crop side in pixels (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="simulation seed (default %(default)s)")
    parser.add_argument(
        "--subjects",
        type=int,
        default=None,
        help="subjects per domain (default: each domain's own)",
    )
    parser.add_argument("--workers", type=int, default=1, help="processes (default %(default)s)")
    parser.add_argument(
        "--cues-off",
        default="",
        help="comma-separated cues not to render, of attack_session, recapture_texture, "
        "medium_edges, specular (docs/simulator.md)",
    )


def run_simulate(args) -> int:
    """Write simulated live/spoof videos of several domains as a prepared-data store."""
    domains = tuple(d.strip() for d in args.domains.split(",") if d.strip())
    cues_off = tuple(c.strip() for c in args.cues_off.split(",") if c.strip())
    store = write_simulated(
        Path(args.out),
        domains,
        args.seed,
        args.size,
        args.workers,
        args.subjects,
        cues_off=cues_off,
    )
    videos = {f.video_id for f in store.frames}
    print(
        f"wrote {len(store.frames)} frames of {len(videos)} videos "
        f"in {len(domains)} domains to {store.root}"
    )
    return 0


def add_train_args(parser: argparse.ArgumentParser) -> None:
    presets = ", ".join(preset_names())
    parser.add_argument(
        "--preset",
        default=None,
        help=f"preset name ({presets}) or TOML file; "
        "default: cpu for simulated data, paper with --store",
    )
    parser.add_argument(
        "--method", default=None, help="a method of `metafas methods` (default rfm)"
    )
    parser.add_argument("--protocol", default=None, help="protocol name, e.g. sim_OCI_M")
    parser.add_argument(
        "--protocols-file", default=None, help="TOML file of your own protocols ([protocols.NAME])"
    )
    parser.add_argument(
        "--store", default=None, help="prepared-data store (default: the simulated domains)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field, e.g. train.steps=100 or rfm.first_order=true",
    )
    parser.add_argument(
        "--out", default=None, help="run directory (default runs/<protocol>-<method>-<time>)"
    )
    parser.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue an interrupted run from its latest checkpoint (takes no other option)",
    )


def run_train(args) -> int:
    """Train a method on a protocol's source domains, evaluating on its target domain.

    Launched by torchrun (e.g. `torchrun --nproc-per-node 4 -m metafas.cli train ...`), it
    trains data-parallel: every process draws its own batches, gradients are averaged, and
    rank 0 evaluates and writes (docs/distributed.md).
    """
    from metafas.training.distributed import launched_ranks
    from metafas.training.loop import resume, train

    ranks = launched_ranks()
    if not ranks.is_main:
        logging.getLogger().setLevel(logging.WARNING)  # rank 0 reports for the job
    if args.resume:
        options = ("preset", "method", "protocol", "protocols_file", "store", "out")
        given = [k for k in options if getattr(args, k)]
        if given or args.overrides:
            raise ValueError(f"--resume takes no other option (got {given or ['--set']})")
        run_dir = resume(Path(args.resume), ranks=ranks)
    else:
        config = resolve_config(
            args.preset or ("paper" if args.store else "cpu"),
            shortcut_overrides(args) + args.overrides,
        )
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path(args.out or f"runs/{config.data.protocol}-{config.method}-{stamp}")
        run_dir = train(config, out, ranks=ranks)
    if ranks.is_main:
        from metafas.cli.demo import format_table, summary_row

        print(format_table([summary_row(read_method(run_dir), run_dir)]))
    return 0


def read_method(run_dir: Path) -> str:
    path = run_dir / "config.json"
    config = read_json(path, "run config")
    check_fields(config, {"method": str}, {}, str(path))
    return config["method"]


def shortcut_overrides(args) -> list[str]:
    protocols_file = args.protocols_file and str(Path(args.protocols_file).resolve())
    pairs = [
        ("method", args.method),
        ("data.protocol", args.protocol),
        ("data.store", args.store),
        ("data.protocols_file", protocols_file),
    ]
    return [f"{key}={json.dumps(value)}" for key, value in pairs if value is not None]


def add_evaluate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run", help="a run directory (its latest checkpoint) or a checkpoint directory"
    )
    parser.add_argument("--store", default=None, help="prepared-data store (default: the run's)")
    parser.add_argument("--protocol", default=None, help="protocol (default: the run's)")
    parser.add_argument("--json", action="store_true", help="print the records as JSON")
    from metafas.cli.deploy import add_device_args

    add_device_args(parser)


def run_evaluate(args) -> int:
    """Score the target test set with a trained model under every threshold rule."""
    from metafas.training.evaluate_run import evaluate_run, format_records

    records = evaluate_run(
        Path(args.run), args.store, args.protocol, device=args.device, threads=args.threads
    )
    print(json.dumps(records, indent=2) if args.json else format_records(records))
    return 0


def add_methods_args(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run_methods(args) -> int:
    """List the registered methods, plugins included, with the first line of each docstring
    (and the module of a method from outside metafas)."""
    for name in method_names():
        module = method_class(name).__module__
        origin = "" if module.startswith("metafas.") else f"  [{module}]"
        print(f"{name:<10} {method_summary(name)}{origin}")
    return 0


def add_protocols_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocols-file", default=None, help="also list the protocols of this TOML file"
    )


def run_protocols(args) -> int:
    """List the protocols: sources with the splits that train and validate, target with the
    splits that test (see metafas.data.protocols for the two split conventions)."""
    print(format_protocols(available_protocols(args.protocols_file)))
    return 0


def add_presets_args(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run_presets(args) -> int:
    """List the built-in presets (for --preset; a TOML file of the same tables works too) with
    the first comment line of each preset file."""
    for name in preset_names():
        print(f"{name:<8} {preset_summary(name)}")
    return 0
