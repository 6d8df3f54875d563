"""Which store domain a scanned video belongs to, and its store metadata."""

from __future__ import annotations

from collections.abc import Callable

from metafas.data.store import VideoMeta
from metafas.datasets import VideoRecord


def nuaa_session(record: VideoRecord) -> str:
    """NUAA's sessions were shot at different times, places and lighting: one domain each."""
    if not record.session:
        raise ValueError(f"NUAA record {record.video_id} has no session")
    return f"nuaa_s{int(record.session)}"


# dataset -> rule; datasets not listed use `record.domain` (the dataset name, or for `folder`
# the user's top-level domain folder).
DOMAIN_RULES: dict[str, Callable[[VideoRecord], str]] = {
    "nuaa": nuaa_session,
}


def store_domain(record: VideoRecord) -> str:
    """The domain name a record gets in the store."""
    rule = DOMAIN_RULES.get(record.dataset)
    return rule(record) if rule else record.domain


def video_meta(record: VideoRecord) -> VideoMeta:
    """The store metadata of a scanned video."""
    return VideoMeta(
        domain=store_domain(record),
        split=record.split,
        subject=record.subject,
        video_id=record.video_id,
        label=record.label,
        attack=record.attack,
    )
