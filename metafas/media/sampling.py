"""Which frames of a video to keep: every k-th, n evenly spaced, or explicit indices.

Indices always count decoded frames from 0 in decode (presentation) order, never timestamps,
so variable-frame-rate videos sample the same way as constant-rate ones.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

SPEC_HELP = "expected 'every:K', 'count:N' or 'indices:I,J,...' (e.g. 'count:8')"


@dataclass(frozen=True)
class FrameSampling:
    """How to pick frames of a video; exactly one field is set.

    Attributes:
        every: keep frames 0, k, 2k, ...
        count: keep n frames at the centres of n equal segments of the video (TSN-style), i.e.
            floor((2i + 1) * total / (2n)) for i < n; all frames if the video has fewer.
        indices: keep these 0-based decoded-frame indices (SSDG-style lists of frame numbers);
            stored sorted without duplicates, yielded in that order.
    """

    every: int | None = None
    count: int | None = None
    indices: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        chosen = [name for name in ("every", "count", "indices") if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(f"set exactly one of every, count, indices; got {chosen or 'none'}")
        if self.indices is not None:
            object.__setattr__(self, "indices", _clean_indices(self.indices))
        for name in ("every", "count"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise ValueError(f"FrameSampling.{name} must be a positive integer, got {value!r}")

    @classmethod
    def parse(cls, spec: str) -> FrameSampling:
        """Build from a CLI string: 'every:5', 'count:8' or 'indices:0,5,10'."""
        kind, sep, value = spec.strip().partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in ("every", "count", "indices") or not value.strip():
            raise ValueError(f"invalid frame sampling {spec!r}; {SPEC_HELP}")
        try:
            if kind == "indices":
                return cls(indices=tuple(int(part) for part in value.split(",")))
            return cls(**{kind: int(value)})
        except ValueError as exc:
            raise ValueError(f"invalid frame sampling {spec!r}: {exc}; {SPEC_HELP}") from exc

    def __str__(self) -> str:
        if self.indices is not None:
            return "indices:" + ",".join(str(index) for index in self.indices)
        return f"every:{self.every}" if self.every is not None else f"count:{self.count}"


def evenly_spaced(total: int, count: int) -> tuple[int, ...]:
    """Indices of `count` frames at segment centres of `total` frames (all if total <= count)."""
    if total <= count:
        return tuple(range(total))
    return tuple((2 * i + 1) * total // (2 * count) for i in range(count))


def _clean_indices(indices: tuple[int, ...]) -> tuple[int, ...]:
    """Sorted unique non-negative ints, or ValueError."""
    values = tuple(indices)
    if not values:
        raise ValueError("FrameSampling.indices must not be empty")
    bad = [value for value in values if not _is_int(value) or value < 0]
    if bad:
        raise ValueError(f"FrameSampling.indices must be non-negative integers; bad: {bad}")
    return tuple(sorted(set(values)))


def _is_int(value: object) -> bool:
    """An int (numpy ints included) that is not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
