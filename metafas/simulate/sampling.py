"""Parameter ranges and the seeded random streams of the simulator."""

from __future__ import annotations

import zlib

import numpy as np

Range = tuple[float, float]


def draw(rng: np.random.Generator, span: Range) -> float:
    """Draws uniformly from the closed range ``(low, high)``."""
    return float(rng.uniform(span[0], span[1]))


def draw_int(rng: np.random.Generator, span: tuple[int, int]) -> int:
    """Draws an integer uniformly from ``low`` to ``high`` inclusive."""
    return int(rng.integers(span[0], span[1] + 1))


def stream(seed: int, domain: str, tag: str, index: int) -> np.random.Generator:
    """A random stream keyed by (seed, domain, tag, index), independent of generation order.

    Uses CRC-32 of the names (stable across processes, unlike ``hash``), so a video or an
    identity gets the same numbers whichever worker generates it and in whatever order.
    """
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    key = [seed, zlib.crc32(domain.encode()), zlib.crc32(tag.encode()), index]
    return np.random.default_rng(np.random.SeedSequence(key))
