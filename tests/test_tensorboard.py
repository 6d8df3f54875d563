"""The tensorboard CLI starts in this environment and serves the losses a tiny run logged."""

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from metafas.evaluation.report.data import training_scalars
from metafas.training.config import resolve_config
from metafas.training.loop import train

START_TIMEOUT_S = 60
# Loopback requests must never go through a proxy named in the environment.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(port: int, path: str, **query: str):
    url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode(query)}"
    with LOOPBACK.open(url, timeout=5) as response:
        return json.load(response)


def wait_for_scalars(server: subprocess.Popen, port: int, log, tag: str, count: int) -> list:
    """Poll until the server holds `count` points of `tag`; fail if it exits or takes too long."""
    deadline, points = time.monotonic() + START_TIMEOUT_S, None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"tensorboard exited with {server.returncode}:\n{log.read_text()}")
        try:
            points = get_json(port, "/data/plugin/scalars/scalars", run="tensorboard", tag=tag)
        except OSError:  # not listening yet, or the run not loaded yet (HTTP 4xx)
            points = None
        if points is not None and len(points) >= count:
            return points
        time.sleep(0.5)
    pytest.fail(
        f"no {count} points of {tag} within {START_TIMEOUT_S} s, last {points}:\n{log.read_text()}"
    )


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def test_tensorboard_serves_the_logged_losses(tiny_store, tmp_path):
    pytest.importorskip("tensorboard")
    overrides = [f'data.store="{tiny_store}"', 'method="deepall"', "train.steps=3"]
    run_dir = train(resolve_config("tiny", overrides), tmp_path / "run", progress=False)
    steps, values = training_scalars(run_dir)["train/loss"]  # read from the event files
    assert steps.tolist() == [1, 2, 3]
    port, log = free_loopback_port(), tmp_path / "tensorboard.log"
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(run_dir)]
    with log.open("w") as sink:
        server = subprocess.Popen(
            command + ["--host", "127.0.0.1", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        points = wait_for_scalars(server, port, log, "train/loss", len(steps))
        tags = get_json(port, "/data/plugin/scalars/tags")
    finally:
        stop(server)
    assert "train/loss" in tags["tensorboard"]  # the run is named after its folder
    assert [step for _, step, _ in points] == steps.tolist()  # (wall_time, step, value)
    assert [value for *_, value in points] == pytest.approx(values.tolist())
