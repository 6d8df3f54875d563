"""`metafas serve`: the real uvicorn server on a free 127.0.0.1 port, driven by a real HTTP
client (http.client): scoring, API key, size and pixel limits, bounded concurrency, and
malformed uploads answered with a JSON 4xx, never a crash."""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metafas.deploy import load_scorer
from metafas.faces import Face
from metafas.media import FrameSampling, write_video
from metafas.training.checkpoint import save_checkpoint
from metafas.training.config import resolve_config
from metafas.training.runs import build_method

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")

from metafas.cli.deploy import add_serve_args, run_serve  # noqa: E402
from metafas.deploy.limits import ServeLimits  # noqa: E402
from metafas.deploy.serve import create_app  # noqa: E402
from metafas.deploy.server import BackgroundServer, predictor_factory, serving_app  # noqa: E402

KEY = "s3cret-key"
LIMITS = ServeLimits(max_upload_bytes=64 * 1024, max_pixels=200_000, max_concurrency=1, max_queue=0)
GATE_COLOUR = (200, 0, 200)  # images of this colour wait in the detector until released
BUG_COLOUR = (1, 200, 3)  # images of this colour make the detector fail like a bug would


class GatedDetector:
    """A face in the middle of any non-black image; GATE_COLOUR images block until `release`,
    BUG_COLOUR images raise."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, image: np.ndarray) -> list[Face]:
        if (image[0, 0] == BUG_COLOUR).all():
            raise RuntimeError("a bug in the detector")
        if (image[0, 0] == GATE_COLOUR).all():
            self.entered.set()
            self.release.wait(timeout=30)
        if image.mean() < 5:
            return []
        h, w = image.shape[:2]
        return [
            Face(
                (0.25 * w, 0.25 * h, 0.75 * w, 0.75 * h),
                0.9,
                (0.4 * w, 0.4 * h),
                (0.6 * w, 0.4 * h),
            )
        ]


def png(colour=None, size=(80, 60), seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3)
    pixels = np.full(shape, colour, np.uint8) if colour else rng.integers(30, 255, shape)
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + (chunk(b"IEND", b""))
    )


def multipart(fields: dict[str, tuple[str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body: name -> (filename or None for a plain field, content)."""
    boundary = "metafas-test-boundary"
    parts = []
    for name, (filename, content) in fields.items():
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        parts.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def detector() -> GatedDetector:
    return GatedDetector()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    config = resolve_config("tiny")
    state = {"step": 1, "config": config.to_dict(), "threshold": None, "store_info": {}}
    path = tmp_path_factory.mktemp("ckpt") / "step_0000001"
    return save_checkpoint(path, build_method(config).network, state)


@pytest.fixture(scope="module")
def server(checkpoint, detector):
    scorer = load_scorer(checkpoint)
    factory = predictor_factory(scorer, detector, FrameSampling(count=3), LIMITS.max_pixels)
    with BackgroundServer(create_app(factory, LIMITS, api_key=KEY)) as running:
        yield running


def call(server, method: str, path: str, body=None, headers=None, key: str | None = KEY):
    """(status, JSON body, headers) of one request on a fresh loopback connection."""
    headers = dict(headers or {})
    if key is not None:
        headers["X-API-Key"] = key
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read()), response.headers
    finally:
        connection.close()


def test_health_needs_no_key(server):
    status, body, _ = call(server, "GET", "/health", key=None)
    assert status == 200 and body == {"status": "ok", "runtime": "torch", "input_size": 32}


def test_predict_raw_body_and_multipart_agree(server):
    image = png()
    status, raw, _ = call(server, "POST", "/predict", image, {"Content-Type": "image/png"})
    assert status == 200
    assert 0 <= raw["live_probability"] <= 1 and raw["threshold_rule"] == "default_0.5"
    assert raw["decision"] == ("live" if raw["live_probability"] >= 0.5 else "spoof")
    assert raw["face_box"] == [20.0, 15.0, 60.0, 45.0] and raw["frames_scored"] == 1
    body, content_type = multipart({"note": (None, b"hi"), "file": ("face.png", image)})
    status, form, _ = call(server, "POST", "/predict", body, {"Content-Type": content_type})
    assert status == 200 and form["live_probability"] == pytest.approx(raw["live_probability"])


def test_predict_short_video(server, tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(40, 255, (48, 64, 3), dtype=np.uint8) for _ in range(5)]
    data = write_video(tmp_path / "clip.mp4", frames).read_bytes()
    status, body, _ = call(server, "POST", "/predict", data)
    assert status == 200 and body["frames_sampled"] == 3 and len(body["frames"]) == 3
    mean = np.mean([f["live_probability"] for f in body["frames"]])
    assert body["live_probability"] == pytest.approx(mean)


@pytest.mark.parametrize(("key", "detail"), [(None, "missing"), ("wrong", "wrong"), ("", "wrong")])
def test_api_key_is_required(server, key, detail):
    status, body, _ = call(server, "POST", "/predict", png(), key=key)
    assert status == 401 and body["error"] == "unauthorized" and detail in body["detail"]


def chunks(total: int):
    for _ in range(total // 8192):
        yield b"\0" * 8192


@pytest.mark.parametrize(
    ("body", "headers", "status", "error", "detail"),
    [
        (os.urandom(2000), {}, 422, "unreadable", "neither an image nor"),
        (b"", {}, 400, "empty", "empty upload"),
        (png(colour=(0, 0, 0)), {}, 422, "no_face", "no face in the image"),
        (png(colour=(90, 90, 90), size=(600, 400)), {}, 413, "too_large", "600x400 pixels"),
        (png_header_only(30000, 30000), {}, 413, "too_large", "image too large"),
        (b"\0" * 100_000, {}, 413, "too_large", "0.0625 MiB"),
        (chunks(100_000), {"Content-Type": "application/octet-stream"}, 413, "too_large", "MiB"),
        (
            multipart({"note": (None, b"x")})[0],
            {"Content-Type": multipart({})[1]},
            400,
            "no_file",
            "without a file",
        ),
        (b"garbage", {"Content-Type": "multipart/form-data; boundary=zz"}, 400, "bad_request", ""),
    ],
    ids=[
        "garbage",
        "empty",
        "no_face",
        "too_many_pixels",
        "decompression_bomb",
        "too_large",
        "too_large_chunked",
        "multipart_without_file",
        "malformed_multipart",
    ],
)
def test_bad_uploads_get_a_json_4xx(server, body, headers, status, error, detail):
    answer, payload, _ = call(server, "POST", "/predict", body, headers)
    assert (answer, payload["error"]) == (status, error), payload
    assert detail in payload["detail"]
    assert "Traceback" not in payload["detail"]
    assert call(server, "GET", "/health")[0] == 200  # still serving


def test_wrong_method_and_path_are_json(server):
    assert call(server, "GET", "/predict")[:2] == (
        405,
        {"error": "method_not_allowed", "detail": "Method Not Allowed"},
    )
    assert call(server, "GET", "/nope")[1]["error"] == "not_found"


def test_requests_beyond_concurrency_and_queue_get_503(server, detector):
    results = []
    slow = threading.Thread(
        target=lambda: results.append(call(server, "POST", "/predict", png(GATE_COLOUR)))
    )
    slow.start()
    try:
        assert detector.entered.wait(timeout=30)
        status, body, headers = call(server, "POST", "/predict", png())
        assert (status, body["error"], headers["Retry-After"]) == (503, "busy", "1")
    finally:
        detector.release.set()
        slow.join(timeout=60)
    assert results[0][0] == 200
    assert call(server, "POST", "/predict", png())[0] == 200  # the slot is free again


def test_a_bug_is_a_json_500_without_traceback(server):
    status, body, _ = call(server, "POST", "/predict", png(BUG_COLOUR))
    assert (status, body) == (500, {"error": "internal", "detail": "internal server error"})
    assert call(server, "GET", "/health")[0] == 200


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_concurrency must be at least 1"):
        ServeLimits(max_concurrency=0)


def test_serving_app_from_a_checkpoint(checkpoint, detector, monkeypatch):
    monkeypatch.setattr("metafas.deploy.predict.default_detector", lambda *args: detector)
    app = serving_app(checkpoint, threshold=0.25, sampling=FrameSampling(count=2))
    with BackgroundServer(app) as running:
        status, body, _ = call(running, "POST", "/predict", png(), key=None)
    assert status == 200 and (body["threshold"], body["threshold_rule"]) == (0.25, "fixed")


def test_serve_command_passes_its_options(checkpoint, monkeypatch):
    seen = {}
    monkeypatch.setattr("metafas.deploy.server.serve", lambda *a, **k: seen.update(args=a, **k))
    monkeypatch.setenv("METAFAS_API_KEY", "from-env")
    parser = argparse.ArgumentParser(prog="metafas serve", description=run_serve.__doc__)
    add_serve_args(parser)
    for option in ("--api-key", "--max-upload-mb", "--max-pixels", "--max-concurrency"):
        assert option in parser.format_help()
    argv = [str(checkpoint), "--port", "8123", "--max-upload-mb", "0.5", "--no-detect"]
    assert run_serve(parser.parse_args(argv)) == 0
    assert seen["args"] == (str(checkpoint), "127.0.0.1", 8123)
    assert seen["api_key"] == "from-env" and seen["detect"] is False
    assert seen["limits"].max_upload_bytes == 2**19


def test_serve_command_passes_the_abuse_limits(checkpoint, monkeypatch):
    seen = {}
    monkeypatch.setattr("metafas.deploy.server.serve", lambda *a, **k: seen.update(args=a, **k))
    parser = argparse.ArgumentParser(prog="metafas serve")
    add_serve_args(parser)
    options = ["--upload-timeout", "30", "--upload-grace", "5", "--upload-min-rate", "1024"]
    options += ["--buffered-uploads", "4", "--max-video-frames", "100"]
    options += ["--max-decode-seconds", "2.5"]
    assert run_serve(parser.parse_args([str(checkpoint), *options])) == 0
    limits = seen["limits"]
    assert (limits.upload_timeout, limits.upload_grace, limits.upload_min_rate) == (30, 5, 1024)
    assert (limits.buffered_uploads, limits.max_video_frames) == (4, 100)
    assert limits.max_decode_seconds == 2.5


def test_a_truncated_video_without_a_name_reads_as_a_damaged_video(server, tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(40, 255, (48, 64, 3), dtype=np.uint8) for _ in range(5)]
    data = write_video(tmp_path / "clip.mp4", frames).read_bytes()
    status, body, _ = call(server, "POST", "/predict", data[:64])  # the ftyp box and a little
    assert status == 422 and "video" in body["detail"]
    assert "no extension" not in body["detail"]
