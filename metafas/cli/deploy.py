"""Arguments and thin runners of the deployment subcommands: predict, export, serve."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from metafas.data.atomic import atomic_write_text
from metafas.extras import MissingExtraError, require_extra
from metafas.media import DEFAULT_MAX_PIXELS, FrameSampling

logger = logging.getLogger(__name__)

EXIT_SOME_FAILED = 3
CHECKPOINT_HELP = "checkpoint directory, run directory (its latest checkpoint) or export directory"
FACES_HINT = "or pass --no-detect if the inputs are already face crops"


def add_predict_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help=CHECKPOINT_HELP)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="images, videos or folders")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", metavar="FILE", help="write JSON to FILE ('-' for stdout)")
    output.add_argument("--csv", metavar="FILE", help="write CSV to FILE ('-' for stdout)")
    add_model_args(parser)
    add_max_pixels_arg(parser, "refuse larger images and video frames")


def add_max_pixels_arg(parser: argparse.ArgumentParser, what: str) -> None:
    """--max-pixels, with the one default of predict, serve and the library
    (metafas.media.DEFAULT_MAX_PIXELS)."""
    parser.add_argument(
        "--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help=f"{what} (default %(default)s)"
    )


def add_device_args(parser: argparse.ArgumentParser) -> None:
    """--device and --threads (predict, evaluate, export, serve)."""
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where the model runs; auto: CUDA when present (default %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="CPU threads of PyTorch and ONNX Runtime (default: theirs)",
    )


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def port_number(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be in 0-65535, got {value}")
    return value


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """Options shared by predict and serve: runtime, device, threshold, frames, detection."""
    parser.add_argument(
        "--runtime",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="auto: onnx for an export, torch for a checkpoint (default %(default)s)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="fixed live threshold (rule 'fixed'); default: the checkpoint's, else 0.5",
    )
    parser.add_argument(
        "--sampling",
        default="count:8",
        help="frames scored per video: count:N, every:K or indices:I,J (default %(default)s)",
    )
    parser.add_argument(
        "--no-detect",
        action="store_true",
        help="skip face detection: inputs are already face crops (resized to the model input)",
    )
    add_device_args(parser)


def run_predict(args) -> int:
    """Score images, videos and folders of them with a checkpoint: detect and crop the face as
    `prepare` did, score (a video: mean over sampled frames), and decide live or spoof at the
    checkpoint's threshold. Exit status 0 if every input was scored, 3 if some were not."""
    from metafas.deploy.crops import describe_training_data
    from metafas.deploy.predict import predict_inputs
    from metafas.deploy.report import text_line, to_csv, to_json

    predictor, scorer = build_predictor(args)
    describe_training_data(scorer.store_info, detect=not args.no_detect)
    to_stdout = "-" in (args.json, args.csv)
    predictions = []
    for prediction in predict_inputs(predictor, args.inputs):
        predictions.append(prediction)
        if not to_stdout:
            print(text_line(prediction), flush=True)
    if args.json:
        write_output(args.json, to_json(predictions, scorer))
    if args.csv:
        write_output(args.csv, to_csv(predictions))
    failed = sum(not p.scored for p in predictions)
    if failed:
        print(f"{failed} of {len(predictions)} inputs could not be scored", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else 0


def build_predictor(args, runtime: str | None = None):
    """The scorer from args.checkpoint and a predictor with the default detector (or none)."""
    from metafas.deploy import Predictor, load_scorer

    sampling = FrameSampling.parse(args.sampling)
    threshold = getattr(args, "threshold", None)
    max_pixels = getattr(args, "max_pixels", DEFAULT_MAX_PIXELS)
    with missing_extra_as_error():
        scorer = load_scorer(
            args.checkpoint, runtime or args.runtime, threshold, args.threads, args.device
        )
        predictor = Predictor(scorer, None if args.no_detect else "default", sampling, max_pixels)
    return predictor, scorer


@contextlib.contextmanager
def missing_extra_as_error() -> Iterator[None]:
    """Add to a missing faces extra that the inputs may be face crops already."""
    try:
        yield
    except MissingExtraError as error:
        hint = f"; {FACES_HINT}" if "faces extra" in str(error) else ""
        raise MissingExtraError(f"{error}{hint}") from None


def write_output(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
    else:  # all at once: an interruption leaves the previous file, never a torn one
        atomic_write_text(Path(target), text)
        logger.info("wrote %s", target)


def add_export_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="checkpoint directory or run directory (latest)")
    parser.add_argument("--out", required=True, help="directory for model.onnx and metadata.json")
    parser.add_argument(
        "--check-on",
        nargs="+",
        default=(),
        metavar="INPUT",
        help="images, videos or folders whose face crops join the parity check",
    )
    parser.add_argument("--sampling", default="count:8", help="frames per video for --check-on")
    parser.add_argument("--no-detect", action="store_true", help="--check-on inputs are crops")
    add_device_args(parser)


def run_export(args) -> int:
    """Export the inference path (RGB->HSV, F, M, sigmoid) to ONNX with a dynamic batch size,
    with the checkpoint's config, threshold and store info in metadata.json, and check that
    ONNX Runtime matches PyTorch (max abs difference of the live probability < 1e-4)."""
    from metafas.deploy.export import PARITY_TOLERANCE, export_checkpoint
    from metafas.deploy.loading import set_threads
    from metafas.deploy.predict import collect_crops

    crops = None
    if args.check_on:
        predictor, _ = build_predictor(args, runtime="torch")
        crops = collect_crops(predictor, args.check_on)
    set_threads(args.threads)
    with missing_extra_as_error():
        result = export_checkpoint(args.checkpoint, args.out, crops, args.device, args.threads)
    print(f"wrote {result.directory / 'model.onnx'} and {result.directory / 'metadata.json'}")
    for name, difference in result.parity.items():
        print(
            f"parity {name:13} {result.frames[name]:4d} frames  max |onnx - torch| = "
            f"{difference:.2e}  (tolerance {PARITY_TOLERANCE:g})"
        )
    return 0


def add_serve_args(parser: argparse.ArgumentParser) -> None:
    from metafas.deploy.limits import ServeLimits

    d = ServeLimits()
    parser.add_argument("checkpoint", help=CHECKPOINT_HELP)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=port_number, default=8000, help="port (default %(default)s)")
    parser.add_argument(
        "--api-key",
        default=None,
        help="require this X-API-Key header on /predict (default: $METAFAS_API_KEY if set)",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=d.max_upload_bytes / 2**20,
        help="larger uploads get 413 (default %(default)s)",
    )
    add_max_pixels_arg(parser, "larger images or frames get 413")
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=d.max_concurrency,
        help="requests scored at once (default %(default)s)",
    )
    parser.add_argument(
        "--max-queue",
        type=int,
        default=d.max_queue,
        help="requests waiting beyond that; more get 503 (default %(default)s)",
    )
    add_abuse_limits(parser, d)
    add_model_args(parser)


# ServeLimits fields that bound slow or costly requests: (option, type, help).
ABUSE_LIMITS = {
    "upload_timeout": (float, "seconds a request body may take at most; then 408"),
    "upload_grace": (float, "seconds before a body must start arriving; then 408"),
    "upload_min_rate": (int, "bytes/s a body must keep up after the grace; else 408"),
    "buffered_uploads": (int, "bodies of the upload limit held in memory at once; then 503"),
    "max_video_frames": (int, "frames or packets a video may hold; more get 422"),
    "max_decode_seconds": (float, "seconds of decoding one video may take; then 422"),
}


def add_abuse_limits(parser: argparse.ArgumentParser, defaults) -> None:
    for field, (kind, text) in ABUSE_LIMITS.items():
        parser.add_argument(
            "--" + field.replace("_", "-"),
            type=kind,
            default=getattr(defaults, field),
            help=f"{text} (default %(default)s)",
        )


def run_serve(args) -> int:
    """Serve the checkpoint over HTTP: POST /predict an image or short video (raw body or
    multipart) to get the live probability, decision, threshold and face box as JSON;
    GET /health. Binds 127.0.0.1 unless told otherwise."""
    require_extra("serve", "metafas serve")
    from metafas.deploy.limits import ServeLimits
    from metafas.deploy.server import serve

    limits = ServeLimits(
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        max_pixels=args.max_pixels,
        max_concurrency=args.max_concurrency,
        max_queue=args.max_queue,
        **{field: getattr(args, field) for field in ABUSE_LIMITS},
    )
    api_key = args.api_key or os.environ.get("METAFAS_API_KEY") or None
    with missing_extra_as_error():
        serve(
            args.checkpoint,
            args.host,
            args.port,
            api_key=api_key,
            limits=limits,
            runtime=args.runtime,
            detect=not args.no_detect,
            sampling=FrameSampling.parse(args.sampling),
            threshold=args.threshold,
            device=args.device,
            threads=args.threads,
        )
    return 0
