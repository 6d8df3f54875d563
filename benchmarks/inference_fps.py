"""Inference frames per second of DepthNet (RGB->HSV, F, M, sigmoid) on this CPU: PyTorch eager
against ONNX Runtime, for the paper and cpu presets, with random weights.

    python benchmarks/inference_fps.py --presets paper,cpu --batches 1,8 --repeats 5

Calls of the two runtimes are interleaved (torch, onnx, torch, onnx, ...) on the same batch so
that machine noise hits both alike. Both use the same number of threads and fp32. Face
detection and decoding are not included: this is the network alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from metafas.deploy.export import export_network
from metafas.deploy.onnx_runtime import onnx_session
from metafas.models import DepthNet
from metafas.training.config import resolve_config


def runtimes(preset: str, directory: Path, threads: int) -> tuple[DepthNet, object]:
    """The preset's DepthNet in eval mode and an ONNX Runtime session on its export."""
    torch.manual_seed(0)
    network = DepthNet(resolve_config(preset).model).eval()
    session = onnx_session(export_network(network, directory / f"{preset}.onnx"), threads)
    return network, session


def interleaved_times(network, session, images: np.ndarray, repeats: int) -> dict[str, list]:
    """Seconds per call of each runtime, alternating, after one warm-up call each."""
    tensor = torch.from_numpy(images)
    calls = {
        "torch": lambda: network(tensor),
        "onnx": lambda: session.run(None, {"image": images}),
    }
    times: dict[str, list[float]] = {name: [] for name in calls}
    with torch.inference_mode():
        for repeat in range(repeats + 1):
            for name, call in calls.items():
                started = time.perf_counter()
                call()
                if repeat:
                    times[name].append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="paper,cpu", help="comma-separated preset names")
    parser.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per runtime")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"{args.threads} threads, torch {torch.__version__}, load average "
        f"{os.getloadavg()[0]:.1f}, median of {args.repeats} interleaved calls"
    )
    print(
        f"{'preset':7} {'input':>6} {'width':>5} {'batch':>5} {'runtime':8} "
        f"{'ms/call':>9} {'frames/s':>9} {'onnx/torch':>10}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            network, session = runtimes(preset, Path(tmp), args.threads)
            size, width = network.config.input_size, network.config.width
            for batch in (int(b) for b in args.batches.split(",")):
                images = np.random.default_rng(0).random((batch, 3, size, size), np.float32)
                times = interleaved_times(network, session, images, args.repeats)
                median = {name: statistics.median(t) for name, t in times.items()}
                for name, seconds in median.items():
                    speedup = f"{median['torch'] / median['onnx']:.2f}x" if name == "onnx" else ""
                    print(
                        f"{preset:7} {size:>6} {width:>5} {batch:>5} {name:8} "
                        f"{seconds * 1000:>9.1f} {batch / seconds:>9.1f} {speedup:>10}"
                    )


if __name__ == "__main__":
    main()
