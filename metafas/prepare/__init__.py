"""Dataset preparation: from a database's original layout to a prepared-data store of aligned
face crops, with mesh pseudo-depth maps for live frames (`metafas prepare`)."""

from metafas.prepare.domains import DOMAIN_RULES, store_domain, video_meta
from metafas.prepare.report import (
    EXIT_SOME_FAILED,
    FAILURES_FILE,
    SKIPPED_FILE,
    PrepareSummary,
    VideoReport,
    format_summary,
    read_reports,
)
from metafas.prepare.run import DEFAULT_SAMPLING, prepare_dataset
from metafas.prepare.settings import FaceTools, PrepareError, build_mediapipe, mediapipe_tools

__all__ = [
    "DEFAULT_SAMPLING",
    "DOMAIN_RULES",
    "EXIT_SOME_FAILED",
    "FAILURES_FILE",
    "SKIPPED_FILE",
    "FaceTools",
    "PrepareError",
    "PrepareSummary",
    "VideoReport",
    "build_mediapipe",
    "format_summary",
    "mediapipe_tools",
    "prepare_dataset",
    "read_reports",
    "store_domain",
    "video_meta",
]
