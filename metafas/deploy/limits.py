"""The limits of the scoring service, as plain data (no web framework needed to read them)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from metafas.media import DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class ServeLimits:
    """Limits of the scoring service.

    A request goes through them in order: its body is received (size, time, rate and memory
    limits), then it is admitted to scoring (concurrency and queue), then its work is bounded
    (pixels, video frames, decoding seconds). Receiving never holds a scoring place, so slow
    uploads cannot keep other requests from being scored.

    Attributes:
        max_upload_bytes: larger request bodies get 413 (checked on Content-Length, then on
            the bytes actually received, so chunked uploads cannot get around it).
        max_pixels: images or video frames with more pixels get 413, before decoding; the
            default is `metafas predict`'s (metafas.media.DEFAULT_MAX_PIXELS). A side over
            `metafas.media.MAX_SIDE` gets 413 whatever this says.
        max_concurrency: requests scored at once (each holds one detector and thread).
        max_queue: requests whose body has arrived waiting for one of those; any more get
            503 with Retry-After at once.
        upload_timeout: seconds a client may take to send its whole body; then 408.
        upload_grace: seconds allowed before the body's first bytes must arrive; each byte
            received adds 1 / upload_min_rate seconds to it (capped at upload_timeout), so a
            client trickling slower than upload_min_rate gets 408 after about this long.
        upload_min_rate: bytes per second a body must arrive at, on average (as above).
        buffered_uploads: request bodies held in memory at once (being received, waiting or
            scored) are capped at buffered_uploads x max_upload_bytes bytes, counted as they
            arrive; past it 503. Slow clients have sent little, so they hold little of it.
        max_video_frames: a video with more frames (or packets) gets 422 `over_budget`, after
            at most that many are decoded.
        max_decode_seconds: a video whose frames take longer to decode gets 422
            `over_budget`, after about that long. The check decodes without converting
            frames; a video within budget is then decoded again for scoring.
    """

    max_upload_bytes: int = 10 * 2**20
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_concurrency: int = 2
    max_queue: int = 8
    upload_timeout: float = 60.0
    upload_grace: float = 10.0
    upload_min_rate: int = 16 * 2**10
    buffered_uploads: int = 16
    max_video_frames: int = 3000
    max_decode_seconds: float = 10.0

    def __post_init__(self) -> None:
        counts = ("max_upload_bytes", "max_pixels", "max_concurrency", "upload_min_rate")
        for name in (*counts, "buffered_uploads", "max_video_frames", "max_queue"):
            if not isinstance(getattr(self, name), numbers.Integral):
                raise ValueError(f"{name} must be an integer, got {getattr(self, name)!r}")
        for name in (*counts, "buffered_uploads", "max_video_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_queue < 0:
            raise ValueError(f"max_queue must be >= 0, got {self.max_queue}")
        for name in ("upload_timeout", "upload_grace", "max_decode_seconds"):
            seconds = getattr(self, name)
            if not (math.isfinite(seconds) and seconds > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {seconds}")
        if self.upload_grace > self.upload_timeout:
            raise ValueError(
                f"upload_grace ({self.upload_grace:g} s) must not exceed upload_timeout "
                f"({self.upload_timeout:g} s)"
            )
