"""A bounded load test of `metafas serve` over loopback: a fixed number of POST /predict requests
from a fixed number of client threads; reports throughput and latency percentiles, then stops.

    python benchmarks/serve_load.py --requests 200 --concurrency 4            # own server
    python benchmarks/serve_load.py --image face.jpg --detect --preset paper  # with MediaPipe
    python benchmarks/serve_load.py --url http://127.0.0.1:8000 --image face.jpg

Without --url it starts the service in this process on a free 127.0.0.1 port with a
random-weights checkpoint of --preset (or --checkpoint). Only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import io
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from PIL import Image

from metafas.deploy.limits import ServeLimits
from metafas.deploy.server import BackgroundServer, serving_app
from metafas.media import FrameSampling
from metafas.training.checkpoint import save_checkpoint
from metafas.training.config import resolve_config
from metafas.training.runs import build_method

LOOPBACK = ("127.0.0.1", "localhost")


def synthetic_image(size: int = 256) -> bytes:
    """A smooth face-sized JPEG (for --no-detect runs; it holds no detectable face)."""
    y, x = np.mgrid[0:size, 0:size] / size
    blob = np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) * 6)
    out = io.BytesIO()
    Image.fromarray((blob[..., None] * (230, 180, 160)).astype(np.uint8)).save(out, "JPEG")
    return out.getvalue()


def random_checkpoint(preset: str, directory: Path) -> Path:
    config = resolve_config(preset)
    state = {"step": 0, "config": config.to_dict(), "threshold": None, "store_info": {}}
    return save_checkpoint(directory / "step_0000000", build_method(config).network, state)


def client(host: str, port: int, body: bytes, count: int, key: str | None) -> list[tuple]:
    """`count` sequential requests on one keep-alive connection: (status, seconds) each."""
    headers = {"Content-Type": "application/octet-stream", **({"X-API-Key": key} if key else {})}
    connection = http.client.HTTPConnection(host, port, timeout=120)
    results = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("POST", "/predict", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            results.append((response.status, time.perf_counter() - started))
    finally:
        connection.close()
    return results


def run_load(url: str, body: bytes, requests: int, concurrency: int, key: str | None) -> None:
    parsed = urlparse(url)
    if parsed.hostname not in LOOPBACK:
        raise SystemExit(f"refusing {url}: this load test only targets 127.0.0.1")
    shares = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    client(parsed.hostname, parsed.port, body, 2, key)  # warm-up, not counted
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        jobs = [pool.submit(client, parsed.hostname, parsed.port, body, n, key) for n in shares]
        results = [result for job in jobs for result in job.result()]
    wall = time.perf_counter() - started
    report(results, wall, concurrency, len(body))


def report(results: list[tuple], wall: float, concurrency: int, size: int) -> None:
    latencies = sorted(seconds * 1000 for _, seconds in results)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    statuses = collections.Counter(status for status, _ in results)
    print(f"{len(results)} requests, {concurrency} concurrent clients, {size / 1024:.0f} KiB body")
    print(f"wall {wall:.2f} s, throughput {len(results) / wall:.1f} requests/s")
    print(
        f"latency ms: p50 {cuts[49]:.1f}  p90 {cuts[89]:.1f}  p99 {cuts[98]:.1f}  "
        f"max {latencies[-1]:.1f}  mean {statistics.fmean(latencies):.1f}"
    )
    print("status counts: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server on 127.0.0.1 (default: start one here)")
    parser.add_argument("--checkpoint", help="checkpoint/run/export (default: random weights)")
    parser.add_argument("--preset", default="cpu", help="preset of the random-weights model")
    parser.add_argument("--runtime", default="auto", choices=("auto", "torch", "onnx"))
    parser.add_argument("--image", help="image to send (default: a synthetic 256 px JPEG)")
    parser.add_argument("--detect", action="store_true", help="run MediaPipe (needs a face)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--server-concurrency", type=int, default=2)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    body = Path(args.image).read_bytes() if args.image else synthetic_image()
    if args.url:
        return run_load(args.url, body, args.requests, args.concurrency, args.api_key)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        checkpoint = args.checkpoint or random_checkpoint(args.preset, tmp)
        limits = ServeLimits(max_concurrency=args.server_concurrency, max_queue=args.concurrency)
        app = serving_app(
            checkpoint, args.api_key, limits, args.runtime, args.detect, FrameSampling(count=8)
        )
        server = stack.enter_context(BackgroundServer(app))
        health = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        health.request("GET", "/health")
        info = json.loads(health.getresponse().read())
        print(
            f"server: {checkpoint} ({info['runtime']} runtime, {info['input_size']} px, "
            f"detection {'on' if args.detect else 'off'}, {args.server_concurrency} workers)"
        )
        run_load(server.url, body, args.requests, args.concurrency, args.api_key)


if __name__ == "__main__":
    main()
