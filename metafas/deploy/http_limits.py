"""Guards of the HTTP service: upload size, admission (bounded concurrency and queue), API key.

Each guard raises an `HTTPError`, which the app answers as JSON with the error's status.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HTTPError(Exception):
    """An error answered as `{"error": code, "detail": detail}` with an HTTP status."""

    def __init__(self, status: int, code: str, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers

    def response(self) -> JSONResponse:
        body = {"error": self.code, "detail": self.detail}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


class BodyLimit:
    """ASGI middleware refusing request bodies over `max_bytes` with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self.check_declared(scope)
        except HTTPError as error:
            await error.response()(scope, receive, send)
            return
        await self.app(scope, self.counting(receive), send)

    def check_declared(self, scope: Scope) -> None:
        """Refuse early on a Content-Length that is invalid or over the limit."""
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is None:
            return
        if not declared.isdigit():
            raise HTTPError(400, "bad_request", "Content-Length is not a number")
        if int(declared) > self.max_bytes:
            raise self.too_large()

    def counting(self, receive: Receive) -> Receive:
        """Wrap `receive` to raise 413 once more than max_bytes of body have arrived."""
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self.too_large()
            return message

        return limited

    def too_large(self) -> HTTPError:
        limit = self.max_bytes / 2**20
        return HTTPError(413, "too_large", f"upload larger than the limit of {limit:g} MiB")


class Admission:
    """At most `workers + queue` requests are admitted (uploading, waiting or running) and at
    most `workers` run at once; others get 503 at once. Bounding admitted requests also bounds
    the memory held by uploads to about (workers + queue) * max_upload_bytes."""

    def __init__(self, workers: int, queue: int) -> None:
        self.capacity = workers + queue
        self.inside = 0
        self.running = asyncio.Semaphore(workers)

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold a place for the whole request; enter `self.running` around the work itself."""
        if self.inside >= self.capacity:
            raise HTTPError(
                503, "busy", "too many requests in progress; retry later", {"Retry-After": "1"}
            )
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
