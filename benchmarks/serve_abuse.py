"""A bounded loopback load test of `metafas serve` under abuse: normal clients score a small JPEG
for --seconds alone, then for --seconds while abusive clients run at the same time; prints the
normal requests' throughput and latency of both phases side by side, and what the abusive
clients were answered. It stops by itself (two phases of at most 25 s, plus setup).

    python -m benchmarks.serve_abuse                     # 2 phases of 15 s
    python -m benchmarks.serve_abuse --seconds 8 --slow-clients 40

The abusive clients: bodies trickling one byte a second (more of them than scoring places),
connections that never finish their headers, bodies over the upload limit (declared, and
chunked without a length), PNGs with a side over MAX_SIDE, a video of 20,000 tiny frames, and
random bytes. The service runs in this process on a free 127.0.0.1 port with the default
ServeLimits and a random-weights checkpoint, without face detection (as serve_load.py does).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import io
import os
import select
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.serve_load import random_checkpoint, synthetic_image
from metafas.deploy.limits import ServeLimits
from metafas.deploy.server import BackgroundServer, serving_app
from metafas.media import MAX_SIDE, FrameSampling, write_video

HOST = "127.0.0.1"
MAX_PHASE_SECONDS = 25
OCTET = {"Content-Type": "application/octet-stream"}
Results = list  # of (status or None, seconds); list.append is atomic, so threads share one


def normal_client(port: int, body: bytes, deadline: float, results: Results) -> None:
    """POST `body` on one keep-alive connection until `deadline`; waits Retry-After on 503."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            connection.request("POST", "/predict", body=body, headers=OCTET)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            status = None
        results.append((status, time.perf_counter() - started))
        if status != 200:
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
    connection.close()


def request_loop(port: int, bodies: list[tuple], deadline: float, results: Results) -> None:
    """POST each (body, headers) in turn until `deadline`, reconnecting after an error; a
    callable body is called for a fresh iterator of chunks (sent without a length)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    for index in range(10**6):
        if time.monotonic() >= deadline:
            break
        body, headers = bodies[index % len(bodies)]
        chunked = callable(body)
        started = time.perf_counter()
        try:
            body = body() if chunked else body
            connection.request("POST", "/predict", body, headers, encode_chunked=chunked)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = None
        results.append((status, time.perf_counter() - started))
        if status is None or response.getheader("connection") == "close":
            connection.close()
    connection.close()


def declared_too_large(port: int, size: int, deadline: float, results: Results) -> None:
    """Headers announcing `size` bytes, then no body: the answer must come from the header."""
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode()
    while time.monotonic() < deadline:
        started = time.perf_counter()
        with socket.create_connection((HOST, port), timeout=10) as sock:
            sock.sendall(head)
            results.append((status_of(read_some(sock)), time.perf_counter() - started))


def slow_bodies(port: int, count: int, deadline: float, results: Results) -> None:
    """`count` connections declaring 100 kB and sending one byte a second each; one that is
    answered (or dropped) is recorded and replaced by a new one at once."""
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
    open_since: dict[socket.socket, float] = {}

    def connect() -> None:
        sock = socket.create_connection((HOST, port), timeout=5)
        sock.sendall(head)
        open_since[sock] = time.monotonic()

    def finish(sock: socket.socket, status: int | None) -> None:
        results.append((status, time.monotonic() - open_since.pop(sock)))
        sock.close()
        if time.monotonic() < deadline:
            connect()

    for _ in range(count):
        connect()
    next_byte = time.monotonic() + 1
    while (now := time.monotonic()) < deadline:
        wait = max(min(next_byte, deadline) - now, 0)
        for sock in select.select(list(open_since), [], [], wait)[0]:
            finish(sock, status_of(read_some(sock)))
        if time.monotonic() >= next_byte:
            next_byte += 1
            for sock in list(open_since):
                try:
                    sock.send(b"x")
                except OSError:
                    finish(sock, None)
    for sock in list(open_since):
        finish(sock, None)  # still trickling at the end


def idle_headers(port: int, count: int, deadline: float, results: Results) -> None:
    """`count` connections sending a header byte every second, never finishing the headers;
    at the deadline each is recorded as still open (None) or answered."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((HOST, port), timeout=5)
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sockets.append(sock)
    while time.monotonic() < deadline:
        time.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
        for sock in sockets:
            try:
                sock.send(b"a")
            except OSError:
                pass
    for sock in sockets:
        answered = select.select([sock], [], [], 0)[0]
        results.append((status_of(read_some(sock)) if answered else None, 0.0))
        sock.close()


def read_some(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    try:
        return sock.recv(4096)
    except OSError:
        return b""


def status_of(answer: bytes) -> int | None:
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/") else None


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 90, 90)).save(out, format="PNG")
    return out.getvalue()


def many_frames_video(directory: Path, frames: int) -> bytes:
    """One keyframe then tiny P-frames of one 64x48 picture."""
    picture = np.random.default_rng(0).integers(40, 255, (48, 64, 3), dtype=np.uint8)
    path = write_video(directory / "many.mp4", [picture] * frames, codec_options={"g": "100000"})
    return path.read_bytes()


def chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 2**16):
        yield b"\0" * 2**16


def abusers(port: int, args, limits: ServeLimits, tmp: Path) -> dict[str, tuple[Callable, tuple]]:
    """name -> (function, arguments before deadline and results)."""
    over = limits.max_upload_bytes + 2**20
    video = many_frames_video(tmp, 20_000)
    return {
        f"slow bodies ({args.slow_clients} at 1 byte/s)": (slow_bodies, (port, args.slow_clients)),
        f"idle headers ({args.idle_connections} conns)": (
            idle_headers,
            (port, args.idle_connections),
        ),
        "declared over the upload limit": (declared_too_large, (port, over)),
        "chunked over the upload limit": (
            request_loop,
            (port, [(lambda: chunks(over), OCTET)]),
        ),
        f"PNGs {MAX_SIDE * 2}x8 and 8x40000": (
            request_loop,
            (port, [(png(MAX_SIDE * 2, 8), OCTET), (png(8, 40_000), OCTET)]),
        ),
        f"video of 20,000 frames ({len(video) / 2**10:.0f} KiB)": (
            request_loop,
            (port, [(video, OCTET)]),
        ),
        "random bytes (64 KiB)": (request_loop, (port, [(os.urandom(2**16), OCTET)])),
    }


def run_phase(port: int, body: bytes, args, abuse: dict | None) -> tuple[Results, dict]:
    """Normal clients (and the abusers) until the phase's deadline; every thread is joined."""
    deadline = time.monotonic() + args.seconds
    normal: Results = []
    abused = {name: [] for name in abuse or {}}
    threads = [
        threading.Thread(target=normal_client, args=(port, body, deadline, normal))
        for _ in range(args.clients)
    ]
    for name, (function, arguments) in (abuse or {}).items():
        threads.append(threading.Thread(target=function, args=(*arguments, deadline, abused[name])))
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(timeout=args.seconds + 40)
    return normal, abused


def figures(results: Results, seconds: float) -> dict[str, str]:
    answered = sorted(s * 1000 for status, s in results if status == 200)
    other = collections.Counter(status for status, _ in results if status != 200)
    cut = statistics.quantiles(answered, n=100, method="inclusive") if len(answered) > 1 else None
    return {
        "answered 200": f"{len(answered)}",
        "throughput (200/s)": f"{len(answered) / seconds:.1f}",
        "p50 latency (ms)": f"{cut[49]:.1f}" if cut else "-",
        "p99 latency (ms)": f"{cut[98]:.1f}" if cut else "-",
        "max latency (ms)": f"{answered[-1]:.1f}" if answered else "-",
        "other answers": ", ".join(f"{k}: {v}" for k, v in sorted(other.items(), key=str))
        or "none",
    }


def print_report(args, alone: Results, abused_normal: Results, abused: dict) -> None:
    print(f"\nnormal requests: {args.clients} clients, {args.seconds:g} s per phase")
    quiet, loud = figures(alone, args.seconds), figures(abused_normal, args.seconds)
    print(f"  {'':22} {'alone':>12}   {'under abuse':>12}")
    for row in quiet:
        print(f"  {row:22} {quiet[row]:>12}   {loud[row]:>12}")
    print("\nabusive clients, under abuse (answers: status: count; None = no answer yet)")
    for name, results in abused.items():
        counts = collections.Counter(status for status, _ in results)
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str)) or "none"
        seconds = sorted(s for status, s in results if status is not None)
        median = f"{statistics.median(seconds) * 1000:.0f} ms" if seconds else "-"
        print(f"  {name:38} {len(results):5d} requests  median answer {median:>9}  {answers}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=2, help="normal client threads")
    parser.add_argument("--slow-clients", type=int, default=None, help="default: places + 2")
    parser.add_argument("--idle-connections", type=int, default=20)
    parser.add_argument("--preset", default="cpu", help="preset of the random-weights model")
    args = parser.parse_args()
    if not 0 < args.seconds <= MAX_PHASE_SECONDS:
        parser.error(f"--seconds must be in (0, {MAX_PHASE_SECONDS}]")
    limits = ServeLimits()
    places = limits.max_concurrency + limits.max_queue
    args.slow_clients = args.slow_clients or places + 2
    body = synthetic_image()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        checkpoint = random_checkpoint(args.preset, tmp)
        app = serving_app(checkpoint, None, limits, detect=False, sampling=FrameSampling(count=8))
        server = stack.enter_context(BackgroundServer(app))
        print(f"server: {args.preset} preset, random weights, detection off, {limits}")
        normal_client(server.port, body, time.monotonic() + 1, [])  # warm-up, not counted
        abuse = abusers(server.port, args, limits, tmp)
        alone, _ = run_phase(server.port, body, args, None)
        abused_normal, abused = run_phase(server.port, body, args, abuse)
    print_report(args, alone, abused_normal, abused)


if __name__ == "__main__":
    main()
