"""Guards of the HTTP service: request bodies (size, time, rate, memory), admission to scoring
(bounded concurrency and queue), API key.

Each guard raises an `HTTPError`, which the app answers as JSON with the error's status.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metafas.deploy.limits import ServeLimits

RETRY = {"Retry-After": "1"}
# A client too slow to finish its body would keep the connection open for as long as it trickles.
CLOSE = {"Connection": "close"}


class HTTPError(Exception):
    """An error answered as `{"error": code, "detail": detail}` with an HTTP status."""

    def __init__(self, status: int, code: str, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers

    def response(self) -> JSONResponse:
        body = {"error": self.code, "detail": self.detail}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


class ByteBudget:
    """Bytes of request bodies held at once, from their arrival to the end of their request
    (one event loop takes and releases them, so no lock is needed)."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.used = capacity, 0

    def take(self, size: int) -> bool:
        if self.used + size > self.capacity:
            return False
        self.used += size
        return True

    def release(self, size: int) -> None:
        self.used -= size


class BodyGuard:
    """ASGI middleware bounding request bodies: 413 past max_upload_bytes, 408 when they arrive
    too slowly (see `ServeLimits.upload_grace`), 503 when bodies in memory reach the budget."""

    def __init__(self, app: ASGIApp, limits: ServeLimits) -> None:
        self.app, self.limits = app, limits
        self.memory = ByteBudget(limits.buffered_uploads * limits.max_upload_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self.check_declared(scope)
        except HTTPError as error:
            await error.response()(scope, receive, send)
            return
        body = GuardedBody(receive, self.limits, self.memory)
        try:
            await self.app(scope, body.receive, send)
        finally:
            self.memory.release(body.received)

    def check_declared(self, scope: Scope) -> None:
        """Refuse early on a Content-Length that is invalid or over the limit."""
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is None:
            return
        if not declared.isdigit():
            raise HTTPError(400, "bad_request", "Content-Length is not a number")
        if int(declared) > self.limits.max_upload_bytes:
            raise too_large(self.limits.max_upload_bytes)


class GuardedBody:
    """One request's `receive`, counting its body against the limits as it arrives.

    The body must arrive by a deadline of upload_grace seconds after the request started,
    plus 1 / upload_min_rate seconds per byte received, and never later than upload_timeout.
    """

    def __init__(self, receive: Receive, limits: ServeLimits, memory: ByteBudget) -> None:
        self.inner, self.limits, self.memory = receive, limits, memory
        self.started = time.monotonic()
        self.received = 0
        self.complete = False

    async def receive(self) -> Message:
        if self.complete:  # only a disconnect can follow: no deadline
            return await self.inner()
        try:
            message = await asyncio.wait_for(self.inner(), self.seconds_left())
        except asyncio.TimeoutError:  # TimeoutError itself only from Python 3.11
            raise self.too_slow() from None
        if message["type"] == "http.request":
            self.count(len(message.get("body", b"")))
            self.complete = not message.get("more_body", False)
        return message

    def seconds_left(self) -> float:
        limits = self.limits
        allowed = limits.upload_grace + self.received / limits.upload_min_rate
        return self.started + min(allowed, limits.upload_timeout) - time.monotonic()

    def count(self, size: int) -> None:
        if self.received + size > self.limits.max_upload_bytes:
            raise too_large(self.limits.max_upload_bytes)
        if not self.memory.take(size):
            raise HTTPError(503, "busy", "too many uploads in memory; retry later", RETRY)
        self.received += size

    def too_slow(self) -> HTTPError:
        limits = self.limits
        elapsed = time.monotonic() - self.started
        return HTTPError(
            408,
            "timeout",
            f"request body too slow: {self.received} bytes in {elapsed:.1f} s (needed: the "
            f"first bytes within {limits.upload_grace:g} s, then {limits.upload_min_rate} "
            f"bytes/s, all within {limits.upload_timeout:g} s)",
            CLOSE,
        )


def too_large(max_bytes: int) -> HTTPError:
    limit = max_bytes / 2**20
    return HTTPError(413, "too_large", f"upload larger than the limit of {limit:g} MiB")


class Admission:
    """At most `workers + queue` requests whose body has arrived are admitted (waiting or
    running) and at most `workers` run at once; others get 503 at once. Admission comes after
    the body, so slow uploads hold no place here (BodyGuard bounds them)."""

    def __init__(self, workers: int, queue: int) -> None:
        self.capacity = workers + queue
        self.inside = 0
        self.running = asyncio.Semaphore(workers)

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold a place while waiting and scoring; enter `self.running` around the work."""
        if self.inside >= self.capacity:
            raise HTTPError(503, "busy", "too many requests in progress; retry later", RETRY)
        self.inside += 1
        try:
            yield
        finally:
            self.inside -= 1


def check_api_key(expected: str | None, provided: str | None) -> None:
    """Raise 401 unless the X-API-Key header matches (constant-time compare)."""
    if expected is None:
        return
    if provided is None:
        raise HTTPError(401, "unauthorized", "missing X-API-Key header")
    if not hmac.compare_digest(provided.encode(), expected.encode()):
        raise HTTPError(401, "unauthorized", "wrong API key")
