"""The limits of the scoring service, as plain data (no web framework needed to read them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServeLimits:
    """Limits of the scoring service.

    Attributes:
        max_upload_bytes: larger request bodies get 413 (checked on Content-Length, then on
            the bytes actually received, so chunked uploads cannot get around it).
        max_pixels: images or video frames with more pixels get 413, before decoding.
        max_concurrency: requests scored at once (each holds one detector and thread).
        max_queue: requests admitted beyond those (uploading or waiting for a slot); any
            more get 503 with Retry-After at once.
    """

    max_upload_bytes: int = 10 * 2**20
    max_pixels: int = 20_000_000
    max_concurrency: int = 2
    max_queue: int = 8

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_pixels", "max_concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_queue < 0:
            raise ValueError(f"max_queue must be >= 0, got {self.max_queue}")
