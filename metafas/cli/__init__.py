"""The `metafas` console script: subcommands mapped to plain library functions."""

import argparse
import importlib.metadata
import logging
import sys
import traceback
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
    "methods": (commands.add_methods_args, commands.run_methods, "list the registered methods"),
    "protocols": (commands.add_protocols_args, commands.run_protocols, "list the protocols"),
    "presets": (commands.add_presets_args, commands.run_presets, "list the built-in presets"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metafas",
        description="Domain-generalizing face anti-spoofing: RFM (Shao et al., AAAI 2020) and "
        "baselines, trained and evaluated on simulated or prepared real data.",
    )
    parser.add_argument("--version", action="version", version=f"metafas {installed_version()}")
    add_verbose_option(parser, default=False)
    commands.add_import_option(parser, "imports", [])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add_args, run, summary) in SUBCOMMANDS.items():
        command = sub.add_parser(name, help=summary, description=run.__doc__)
        add_args(command)
        add_verbose_option(command, default=argparse.SUPPRESS)  # `metafas train ... -v` too
        commands.add_import_option(command, "imports_after", argparse.SUPPRESS)
        command.set_defaults(handler=run)
    return parser


def installed_version() -> str:
    """metafas's version from its installed metadata (as `metafas.__version__`)."""
    try:
        return importlib.metadata.version("metafas")
    except importlib.metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def add_verbose_option(parser: argparse.ArgumentParser, default) -> None:
    """-v before or after the subcommand; a subcommand's SUPPRESS default keeps the other's."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="log debug messages, and show the face detector's own log lines",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        commands.import_plugins(args)
        return args.handler(args) or 0
    except KeyboardInterrupt:  # Ctrl-C: the shell's status for SIGINT, no traceback
        return EXIT_INTERRUPTED
    except Exception as error:  # the one error boundary: every failure ends in one line
        if args.verbose:
            traceback.print_exception(error, file=sys.stderr)
        print(failure_line(args.command, error, args.verbose), file=sys.stderr)
        return EXIT_BUG if is_bug(error) else EXIT_ERROR


EXIT_ERROR = 2
EXIT_BUG = 1
EXIT_INTERRUPTED = 130
# What bad input, files and settings raise (the library's own errors derive from these); any
# other exception is a bug in metafas, and says so.
USER_ERRORS = (ValueError, OSError, RuntimeError, ArithmeticError, MissingExtraError)


def is_bug(error: BaseException) -> bool:
    return not isinstance(error, USER_ERRORS)


def failure_line(command: str, error: BaseException, verbose: bool) -> str:
    """`metafas CMD: error: MESSAGE` in one line (naming the file or field is the raiser's
    job): the first line of a longer message (-v prints the traceback, with all of it before);
    an exception of no expected type says it is a bug."""
    lines = str(error).strip().splitlines() or [""]
    message = lines[0].strip()
    if len(lines) > 1 and not verbose:
        message += f" (and {len(lines) - 1} more lines; -v shows them)"
    if is_bug(error):
        hint = "" if verbose else "; rerun with -v for the traceback"
        what = f"{type(error).__name__}: {message}" if message else type(error).__name__
        return f"metafas {command}: internal error (a bug in metafas), {what}{hint}"
    return f"metafas {command}: error: {message or type(error).__name__}"
