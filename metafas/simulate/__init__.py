"""Built-in simulator of multi-domain live and spoof face capture (no download needed).

Live faces are rendered from a 3-D surface per identity; print and replay attacks pass an
earlier render through a printer or display model; every video is then captured by a
domain-specific camera. See ``DOMAINS`` for the four default domains, and ``Cues`` for
switching each live/spoof difference off.

``simulate_domain`` yields a domain's videos in order. Each video has its own random stream
keyed by (seed, domain, video index), so ``plan_videos`` plus ``simulate_video`` generate any
subset, in any order or in parallel, with identical bytes.
"""

from .cues import Cues
from .domains import DOMAINS, DomainSpec, get_domain
from .generate import (
    SimVideo,
    VideoPlan,
    count_videos,
    plan_videos,
    simulate_domain,
    simulate_video,
)
from .instruments import INSTRUMENTS, DisplaySpec, PrintSpec

__all__ = [
    "DOMAINS",
    "INSTRUMENTS",
    "Cues",
    "DisplaySpec",
    "DomainSpec",
    "PrintSpec",
    "SimVideo",
    "VideoPlan",
    "count_videos",
    "get_domain",
    "plan_videos",
    "simulate_domain",
    "simulate_video",
]
