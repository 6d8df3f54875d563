"""Arguments and runner of `metafas prepare`; the work is done by `metafas.prepare`."""

from __future__ import annotations

import argparse
from pathlib import Path

from metafas.datasets import READERS, format_scan, scan
from metafas.faces import CropSettings
from metafas.media import FrameSampling

DEFAULTS = CropSettings()


def add_prepare_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help=f"database reader: {', '.join(READERS)}")
    parser.add_argument("--root", required=True, help="the database copy, in its original layout")
    parser.add_argument("--out", default=None, help="store directory to write or complete")
    parser.add_argument(
        "--list", action="store_true", help="only scan the root and print what it holds"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes, one detector each (default %(default)s)"
    )
    parser.add_argument(
        "--sampling",
        default="count:8",
        help="frames per video: count:N, every:K or indices:I,J,... (default %(default)s)",
    )
    parser.add_argument(
        "--size", type=int, default=DEFAULTS.size, help="crop side in pixels (default %(default)s)"
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=DEFAULTS.margin,
        help="crop side = face size x (1 + margin) (default %(default)s)",
    )
    parser.add_argument(
        "--min-score",
        type=float,
        default=DEFAULTS.min_score,
        help="skip faces the detector scores below this (default %(default)s)",
    )
    parser.add_argument(
        "--depth-size",
        type=int,
        default=DEFAULTS.depth_size,
        help="side of the pseudo-depth maps of live frames (default %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_prepare(args: argparse.Namespace) -> int:
    """Detect, align and crop the face in sampled frames of every video of a database, render
    mesh pseudo-depth maps for live frames, and write them to a prepared-data store.
    Resumable: a rerun skips finished videos. Exit status 3: some inputs were unreadable
    (listed in STORE/failures.jsonl); everything else was prepared."""
    from metafas.prepare import format_summary, prepare_dataset

    if args.list:
        print(format_scan(scan(args.dataset, Path(args.root))))
        return 0
    if not args.out:
        raise ValueError("--out is required (the store to write), unless --list is given")
    crop = CropSettings(args.size, args.margin, args.min_score, args.depth_size)
    try:
        summary = prepare_dataset(
            args.dataset,
            Path(args.root),
            Path(args.out),
            sampling=FrameSampling.parse(args.sampling),
            crop=crop,
            workers=args.workers,
            progress=not args.no_progress,
        )
    except ImportError as err:  # the faces extra is missing: say how to install it
        raise RuntimeError(str(err)) from err
    print(format_summary(summary))
    return summary.exit_status
