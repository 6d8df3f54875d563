"""A small HTTP scoring service (Starlette on uvicorn; the `serve` extra).

    POST /predict   an image or short video as the raw body or as a multipart file field;
                    answers the live probability, decision, threshold, rule and face box (an
                    image is judged at the frame-level threshold, a video at the video-level)
    GET  /health    {"status": "ok", ...}; no API key needed

Every error is JSON `{"error": code, "detail": why}` with a 4xx status (5xx only for our own
bugs, without a stack trace). A request is received in full (BodyGuard bounds its size, time
and memory), then admitted to scoring, then checked from its header and, for a video, by a
budgeted decoding pass, and only then given to a predictor. Decoding, detection and the
network run in a thread pool, never on the event loop; each worker thread borrows its own
detector (MediaPipe's is not thread-safe) and shares the scorer.
"""

from __future__ import annotations

import logging
import mimetypes
import queue
import tempfile
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from metafas.deploy.http_limits import Admission, BodyGuard, HTTPError, check_api_key
from metafas.deploy.limits import ServeLimits
from metafas.deploy.predict import Prediction, Predictor, input_level
from metafas.deploy.video_budget import OverBudget, check_video_work
from metafas.media import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, InputError
from metafas.media.image import check_size, image_header

logger = logging.getLogger(__name__)

PredictorFactory = Callable[[], Predictor]


class ScoringService:
    """The endpoints, over a pool of predictors (one per concurrent request)."""

    def __init__(self, make_predictor: PredictorFactory, limits: ServeLimits, api_key: str | None):
        self.limits = limits
        self.api_key = api_key
        self.pool: queue.SimpleQueue[Predictor] = queue.SimpleQueue()
        for _ in range(limits.max_concurrency):
            self.pool.put(make_predictor())
        self.example = self.pool.get()
        self.pool.put(self.example)
        self.admission = Admission(limits.max_concurrency, limits.max_queue)

    async def health(self, request: Request) -> JSONResponse:
        scorer = self.example.scorer
        return JSONResponse(
            {"status": "ok", "runtime": scorer.runtime, "input_size": scorer.input_size}
        )

    async def predict(self, request: Request) -> JSONResponse:
        check_api_key(self.api_key, request.headers.get("x-api-key"))
        data, suffix = await read_upload(request)
        async with self.admission.admitted():
            async with self.admission.running:
                prediction = await run_in_threadpool(self.score_bytes, data, suffix)
        if not prediction.scored:
            raise failure_error(prediction.error_kind, prediction.error)
        return JSONResponse(result_body(prediction, self.example.scorer.runtime))

    def score_bytes(self, data: bytes, suffix: str) -> Prediction:
        """Write the upload to a temporary file (the decoders read files), check it, score it."""
        with tempfile.NamedTemporaryFile(prefix="metafas-upload-", suffix=suffix) as file:
            file.write(data)
            file.flush()
            self.check_work(file.name)
            predictor = self.pool.get()
            try:
                return predictor.predict_file(file.name)
            finally:
                self.pool.put(predictor)

    def check_work(self, path: str) -> None:
        """Refuse, before any predictor sees it, an image over the size limits (from its
        header) or a video over them or over its frame or decoding-time budget."""
        limits = self.limits
        try:
            if input_level(path) == "frame":
                _, size, _ = image_header(Path(path))
                check_size(Path(path), size, limits.max_pixels)
            else:
                check_video_work(
                    path, limits.max_pixels, limits.max_video_frames, limits.max_decode_seconds
                )
        except InputError as error:
            raise failure_error("input", error.reason) from None
        except OverBudget as error:
            raise HTTPError(422, "over_budget", str(error)) from None


async def read_upload(request: Request) -> tuple[bytes, str]:
    """The uploaded file (the first file of a multipart form, else the raw body) and a file
    suffix from its name or content type (only for messages: decoders go by content)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=8)
        uploads = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        if not uploads:
            raise HTTPError(400, "no_file", "multipart request without a file field")
        data = await uploads[0].read()
        suffix = media_suffix(uploads[0].filename, uploads[0].content_type)
        await form.close()
    else:
        data, suffix = await request.body(), media_suffix(None, content_type)
    if not data:
        raise HTTPError(400, "empty", "empty upload; send an image or video as the body")
    return data, suffix or sniffed_suffix(data)


# Leading bytes of the containers the readers take, for uploads that name no format (so that a
# truncated MP4 reads as a damaged video, not as a file of no known format).
SIGNATURES = (
    (4, b"ftyp", ".mp4"),
    (0, b"\x1aE\xdf\xa3", ".mkv"),
    (8, b"AVI ", ".avi"),
    (0, b"\x89PNG", ".png"),
    (0, b"\xff\xd8\xff", ".jpg"),
    (0, b"GIF8", ".gif"),
)


def sniffed_suffix(data: bytes) -> str:
    """The suffix of the format whose signature `data` starts with, else ''."""
    for offset, magic, suffix in SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return suffix
    return ""


def media_suffix(filename: str | None, content_type: str | None) -> str:
    """'.jpg', '.mp4', ... from a file name or MIME type when it names a media format, else ''."""
    known = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
    suffix = Path(filename or "").suffix.lower()
    if suffix not in known:
        mime = (content_type or "").split(";")[0].strip().lower()
        suffix = (mimetypes.guess_extension(mime) if mime else None) or ""
    return suffix if suffix in known else ""


def failure_error(kind: str | None, reason: str | None) -> HTTPError:
    """413 for oversized images and frames, 422 for no face or undecodable media."""
    if kind == "no_face":
        return HTTPError(422, "no_face", reason)
    if "too large" in (reason or ""):
        return HTTPError(413, "too_large", reason)
    return HTTPError(422, "unreadable", reason)


def result_body(prediction: Prediction, runtime: str) -> dict:
    """The JSON answer: the decision, its threshold, rule and level, and the (first) face box."""
    frames = prediction.frames or []
    return {
        "live_probability": prediction.live_probability,
        "decision": prediction.decision,
        "level": prediction.level,
        "threshold": prediction.threshold,
        "threshold_rule": prediction.threshold_rule,
        "threshold_level": prediction.threshold_level,
        "threshold_choice": prediction.threshold_choice,
        "threshold_note": prediction.threshold_note,
        "face_box": frames[0]["face_box"],
        "face_score": frames[0]["face_score"],
        "frames_scored": len(frames),
        "frames_sampled": prediction.frames_sampled,
        "frames": frames,
        "runtime": runtime,
    }


def create_app(
    make_predictor: PredictorFactory, limits: ServeLimits | None = None, api_key: str | None = None
) -> BodyGuard:
    """The ASGI app: routes, JSON error handlers, and the request-body guard around them."""
    limits = limits or ServeLimits()
    service = ScoringService(make_predictor, limits, api_key)
    app = Starlette(
        routes=[
            Route("/health", service.health, methods=["GET"]),
            Route("/predict", service.predict, methods=["POST"]),
        ],
        exception_handlers={
            HTTPError: lambda request, error: error.response(),
            HTTPException: http_exception,
            ClientDisconnect: client_gone,
            Exception: internal_error,
        },
    )
    return BodyGuard(app, limits)


async def http_exception(request: Request, error: HTTPException) -> JSONResponse:
    """Starlette's own errors (404, 405, malformed multipart) as JSON."""
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
        error.status_code, "error"
    )
    return JSONResponse(
        {"error": code, "detail": error.detail},
        status_code=error.status_code,
        headers=error.headers,
    )


async def client_gone(request: Request, error: ClientDisconnect) -> JSONResponse:
    """The client left before its body arrived: nobody reads the answer, and it is no bug."""
    logger.debug("client left during %s %s", request.method, request.url.path)
    return JSONResponse({"error": "bad_request", "detail": "client disconnected"}, 400)


async def internal_error(request: Request, error: Exception) -> JSONResponse:
    """A bug of ours: answered without a traceback (uvicorn logs it on the server side)."""
    logger.error("internal error on %s %s: %r", request.method, request.url.path, error)
    return JSONResponse({"error": "internal", "detail": "internal server error"}, status_code=500)
