"""Running the scoring service under uvicorn: in the foreground (`metafas serve`) or in a
background thread on a free loopback port (tests, benchmarks, embedding)."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from pathlib import Path

from metafas.deploy.crops import describe_training_data
from metafas.deploy.limits import ServeLimits
from metafas.deploy.loading import load_scorer
from metafas.deploy.predict import Predictor
from metafas.deploy.scorer import Scorer
from metafas.deploy.serve import PredictorFactory, create_app
from metafas.extras import import_extra
from metafas.faces import FaceDetector
from metafas.media import FrameSampling

logger = logging.getLogger(__name__)


def predictor_factory(
    scorer: Scorer, detector: FaceDetector | str | None, sampling: FrameSampling, max_pixels: int
) -> PredictorFactory:
    """A factory of predictors sharing `scorer`; with detector="default" each builds its own
    MediaPipe detector (not thread-safe), None skips detection, a callable is shared."""
    return lambda: Predictor(scorer, detector, sampling, max_pixels)


def serving_app(
    checkpoint: str | Path,
    api_key: str | None = None,
    limits: ServeLimits | None = None,
    runtime: str = "auto",
    detect: bool = True,
    sampling: FrameSampling | None = None,
    threshold: float | None = None,
    device: str = "auto",
    threads: int | None = None,
):
    """The ASGI app scoring with `checkpoint` (see `load_scorer` and `create_app`)."""
    limits = limits or ServeLimits()
    scorer = load_scorer(checkpoint, runtime, threshold, threads, device)
    describe_training_data(scorer.store_info, detect)
    sampling = sampling or FrameSampling(count=8)
    detector = "default" if detect else None
    factory = predictor_factory(scorer, detector, sampling, limits.max_pixels)
    # The thresholds per level are logged as the scorer loads.
    logger.info("scoring with %s (%s runtime on %s)", scorer.source, scorer.runtime, scorer.device)
    return create_app(factory, limits, api_key)


def serve(checkpoint: str | Path, host: str = "127.0.0.1", port: int = 8000, **options) -> None:
    """Load the model, then serve it until interrupted (Ctrl-C); options go to serving_app."""
    uvicorn = _uvicorn()
    if options.get("api_key") is None and not _is_loopback(host):
        logger.warning("serving on %s without an API key: anyone who can reach it can use it", host)
    app = serving_app(checkpoint, **options)
    uvicorn.run(app, host=host, port=port, server_header=False, timeout_keep_alive=5)


class BackgroundServer:
    """uvicorn serving `app` in a daemon thread on 127.0.0.1 at a free port (a context manager).

    The socket is bound here (port 0), so there is no race for the port.
    """

    def __init__(self, app, log_level: str = "warning") -> None:
        uvicorn = _uvicorn()
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_level=log_level, server_header=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the background server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


def _uvicorn():
    return import_extra("uvicorn", "serve", "the HTTP service")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
