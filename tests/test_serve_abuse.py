"""`metafas serve` against slow and abusive clients, on real uvicorn servers on free 127.0.0.1
ports: bodies trickling a byte at a time are cut off with 408 and hold no scoring place, bodies
in memory are bounded, long or slow-to-decode videos are refused by their budget, and sides
over MAX_SIDE get 413 before any predictor sees them. Every client loop is bounded in time."""

from __future__ import annotations

import io
import re
import select
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")

from test_predict import centre_detector, make_checkpoint  # noqa: E402
from test_serve import call, png  # noqa: E402

from metafas.deploy import Predictor, load_scorer  # noqa: E402
from metafas.deploy.limits import ServeLimits  # noqa: E402
from metafas.deploy.serve import create_app  # noqa: E402
from metafas.deploy.server import BackgroundServer, predictor_factory  # noqa: E402
from metafas.media import MAX_SIDE, FrameSampling, write_video  # noqa: E402

BASE = dict(max_upload_bytes=64 * 1024, max_pixels=200_000, max_concurrency=1, max_queue=0)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "step_0000001")


@contextmanager
def serving(checkpoint: Path, **limits):
    """A server with BASE limits updated by `limits`, scoring 3 frames of a video."""
    limits = ServeLimits(**{**BASE, **limits})
    factory = predictor_factory(
        load_scorer(checkpoint), centre_detector, FrameSampling(count=3), limits.max_pixels
    )
    with BackgroundServer(create_app(factory, limits)) as server:
        yield server


def send_slowly(port: int, total: int, chunk: int, interval: float, give_up: float) -> dict:
    """POST a `total`-byte body, `chunk` bytes every `interval` s, until answered or `give_up`
    seconds have passed: {"status": int or None, "answer": text, "seconds": until answered,
    "answered_at": time.monotonic() then}."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=give_up) as sock:
        head = f"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Length: {total}\r\n\r\n"
        sock.sendall(head.encode())
        sent = 0
        while sent < total and time.monotonic() - started < give_up:
            try:
                sock.sendall(b"x" * min(chunk, total - sent))
            except OSError:
                break
            sent += chunk
            if select.select([sock], [], [], interval)[0]:
                break  # answered before the body was complete
        answer = read_answer(sock, started + give_up)
    status = int(answer.split()[1]) if answer.startswith("HTTP/1.1") else None
    now = time.monotonic()
    return {"status": status, "answer": answer, "seconds": now - started, "answered_at": now}


def read_answer(sock: socket.socket, deadline: float) -> str:
    data = b""
    while b"}" not in data and time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            part = sock.recv(4096)
        except OSError:
            break
        if not part:
            break
        data += part
    return data.decode(errors="replace")


def in_background(function, *args) -> tuple[threading.Thread, list]:
    results: list = []
    thread = threading.Thread(target=lambda: results.append(function(*args)), daemon=True)
    thread.start()
    return thread, results


SLOW = dict(upload_grace=2.5, upload_timeout=5.0, upload_min_rate=1000)


def test_trickling_uploads_hold_no_scoring_place(checkpoint):
    """One scoring place and no queue: three clients sending a byte every 50 ms (more than
    max_concurrency + max_queue) leave it free for others, and get 408 after upload_grace."""
    with serving(checkpoint, **SLOW) as server:
        slow = [in_background(send_slowly, server.port, 10_000, 1, 0.05, 8.0) for _ in range(3)]
        time.sleep(0.5)  # the three are inside the app, receiving
        answers = [call(server, "POST", "/predict", png(), key=None)[0] for _ in range(3)]
        normal_done = time.monotonic()
        for thread, _ in slow:
            thread.join(timeout=10)
    assert answers == [200, 200, 200]
    trickled = [results[0] for _, results in slow]
    assert [t["status"] for t in trickled] == [408] * 3, trickled
    assert all('"timeout"' in t["answer"] and "too slow" in t["answer"] for t in trickled)
    assert all(2.0 < t["seconds"] < 4.5 for t in trickled), trickled
    assert normal_done < min(t["answered_at"] for t in trickled)  # answered while they trickled


@pytest.mark.parametrize(
    ("chunk", "interval", "cut_after"),
    [(1, 0.05, (0.4, 1.5)), (200, 0.1, (1.9, 3.0))],
    ids=["one_byte_at_a_time", "fast_enough_but_too_long"],
)
def test_slow_bodies_get_408_in_bounded_time(checkpoint, chunk, interval, cut_after):
    """20 B/s is under upload_min_rate (cut after the grace); 2 kB/s keeps the rate but would
    need 5 s for 10 kB (cut at upload_timeout). The connection is closed with the answer."""
    limits = dict(upload_grace=0.5, upload_timeout=2.0, upload_min_rate=1000)
    with serving(checkpoint, **limits) as server:
        answer = send_slowly(server.port, 10_000, chunk, interval, 6.0)
        assert call(server, "GET", "/health")[0] == 200
    assert answer["status"] == 408, answer
    assert "connection: close" in answer["answer"].lower()
    assert cut_after[0] < answer["seconds"] < cut_after[1], answer


def test_bodies_in_memory_are_bounded_in_bytes(checkpoint):
    """buffered_uploads=1: a client that sent 50 kB and stalls holds 50 of the 64 KiB, so a
    20 kB upload gets 503, a 4 kB one still fits (bytes, not places), and the 20 kB one gets
    200 once the staller is cut off at upload_timeout."""
    limits = dict(buffered_uploads=1, upload_grace=2.0, upload_timeout=3.0, upload_min_rate=1000)
    with serving(checkpoint, **limits) as server:
        stalled = in_background(send_slowly, server.port, 60_000, 50_000, 30.0, 8.0)
        time.sleep(0.5)
        big = png(size=(110, 60))
        busy = call(server, "POST", "/predict", big, key=None)
        small = call(server, "POST", "/predict", png(size=(40, 30)), key=None)[0]
        stalled[0].join(timeout=10)
        after = call(server, "POST", "/predict", big, key=None)[0]
    assert len(big) > 64 * 1024 - 50_000
    assert (busy[0], busy[1]["error"]) == (503, "busy") and "in memory" in busy[1]["detail"]
    assert small == 200 and after == 200
    assert stalled[1][0]["status"] == 408


def tiny_frames_video(path: Path, frames: int) -> bytes:
    """One small picture repeated: a keyframe then tiny P-frames, cheap to make."""
    picture = np.random.default_rng(0).integers(40, 255, (48, 64, 3), dtype=np.uint8)
    options = {"preset": "ultrafast"}
    return write_video(path, [picture] * frames, codec_options=options).read_bytes()


def test_videos_over_the_frame_budget_get_422(checkpoint, tmp_path):
    with serving(checkpoint, max_video_frames=20) as server:
        long, short = (
            call(server, "POST", "/predict", tiny_frames_video(tmp_path / f"{n}.mp4", n), key=None)
            for n in (40, 20)
        )
    assert (long[0], long[1].get("error")) == (422, "over_budget"), long[1]
    assert "more than 20 frames" in long[1]["detail"]
    assert short[0] == 200 and short[1]["frames_scored"] == 3


def test_videos_over_the_decoding_time_budget_get_422(checkpoint, tmp_path):
    """3000 tiny frames take tens of milliseconds to decode; the budget is 10 ms."""
    data = tiny_frames_video(tmp_path / "many.mp4", 3000)
    with serving(checkpoint, max_decode_seconds=0.01, max_upload_bytes=2**20) as server:
        status, body, _ = call(server, "POST", "/predict", data, key=None)
    assert (status, body.get("error")) == (422, "over_budget"), body
    assert "too slow to decode: over 0.01 s" in body["detail"]
    decoded = int(body["detail"].split("after ")[1].split()[0])
    assert decoded < 3000  # stopped early


WIDE = 20_000  # > MAX_SIDE; 20000x8 is 160,000 pixels, under BASE's cap of 200,000


def wide_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (WIDE, 8), (90, 90, 90)).save(out, format="PNG")
    return out.getvalue()


def wide_video(path: Path) -> bytes:
    frames = [np.full((8, WIDE, 3), 90, np.uint8)] * 2
    return write_video(path, frames, codec="ffv1").read_bytes()


@pytest.mark.parametrize("kind", ["png", "mkv"])
def test_a_side_over_max_side_gets_413_from_the_header(checkpoint, tmp_path, monkeypatch, kind):
    """Under the pixel cap but over MAX_SIDE, where OpenCV inside MediaPipe would abort the
    process: refused from the header, and no predictor decodes it."""
    assert WIDE > MAX_SIDE and WIDE * 8 < BASE["max_pixels"]

    def must_not_run(*args):
        raise AssertionError("a predictor decoded an upload over MAX_SIDE")

    monkeypatch.setattr(Predictor, "predict_file", must_not_run)
    with serving(checkpoint) as server:
        data = wide_png() if kind == "png" else wide_video(tmp_path / "wide.mkv")
        status, body, _ = call(server, "POST", "/predict", data, key=None)
    assert (status, body["error"]) == (413, "too_large"), body
    assert f"{WIDE}x8 pixels (limit {MAX_SIDE} pixels per side)" in body["detail"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("upload_timeout", float("nan"), "upload_timeout must be a positive number of seconds"),
        ("max_decode_seconds", float("inf"), "max_decode_seconds must be a positive number"),
        ("upload_grace", 61.0, "upload_grace (61 s) must not exceed upload_timeout (60 s)"),
        ("max_pixels", float("nan"), "max_pixels must be an integer"),
        ("buffered_uploads", 0, "buffered_uploads must be at least 1"),
        ("max_video_frames", 0, "max_video_frames must be at least 1"),
    ],
)
def test_new_limits_are_validated(field, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ServeLimits(**{field: value})
