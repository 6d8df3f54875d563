"""The `metafas` console script: subcommands mapped to plain library functions."""

import argparse
import logging
import sys
from collections.abc import Callable

from metafas.cli import commands, deploy, prepare, reporting
from metafas.extras import MissingExtraError

SUBCOMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "demo": (commands.add_demo_args, commands.run_demo, "simulate, train RFM and DeepAll, compare"),
    "simulate": (commands.add_simulate_args, commands.run_simulate, "write simulated domains"),
    "prepare": (
        prepare.add_prepare_args,
        prepare.run_prepare,
        "crop the faces of a database into a prepared-data store",
    ),
    "train": (commands.add_train_args, commands.run_train, "train a method on a protocol"),
    "evaluate": (commands.add_evaluate_args, commands.run_evaluate, "evaluate a trained run"),
    "sweep": (
        reporting.add_sweep_args,
        reporting.run_sweep,
        "run protocols x methods x seeds from a TOML file",
    ),
    "table": (
        reporting.add_table_args,
        reporting.run_table,
        "results table (md, csv, latex) from runs' scores",
    ),
    "report": (
        reporting.add_report_args,
        reporting.run_report,
        "HTML report of a run or a sweep",
    ),
    "predict": (
        deploy.add_predict_args,
        deploy.run_predict,
        "score images, videos and folders with a checkpoint",
    ),
    "export": (deploy.add_export_args, deploy.run_export, "export to ONNX"),
    "serve": (deploy.add_serve_args, deploy.run_serve, "HTTP scoring service"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metafas",
        description="Domain-generalizing face anti-spoofing: RFM (Shao et al., AAAI 2020) and "
        "baselines, trained and evaluated on simulated or prepared real data.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add_args, run, summary) in SUBCOMMANDS.items():
        command = sub.add_parser(name, help=summary, description=run.__doc__)
        add_args(command)
        command.set_defaults(handler=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.handler(args) or 0
    except (ValueError, OSError, RuntimeError, ArithmeticError, MissingExtraError) as error:
        print(f"metafas {args.command}: error: {error}", file=sys.stderr)
        return 2
