"""Public entry point: the videos of a simulated domain, each from its own random stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .appearance import Identity, draw_identity
from .cues import ALL_CUES, Cues
from .domains import DomainSpec, get_domain
from .instruments import INSTRUMENTS, DisplaySpec
from .sampling import stream
from .videos import live_clip, print_clip, replay_clip


@dataclass(frozen=True)
class SimVideo:
    """One simulated video with its labels."""

    domain: str  # e.g. "sim_o"
    split: str  # "train" or "test" (disjoint subjects)
    subject: str  # unique across domains, e.g. "sim_o/s007"
    video_id: str  # unique across domains, e.g. "sim_o/s007/print_0"
    label: int  # 1 = live, 0 = spoof
    attack: str  # "none" for live, else "print" or "replay"
    frames: np.ndarray  # uint8 (T, size, size, 3) RGB
    depth: np.ndarray | None  # float32 (T, depth_size, depth_size) in [0, 1]; None for spoofs


@dataclass(frozen=True)
class VideoPlan:
    """What one video will show, before any pixel is made."""

    index: int  # position within the domain; keys the video's random stream
    subject_index: int
    subject: str
    split: str
    instrument: str | None  # key of INSTRUMENTS, None for live
    video_id: str

    @property
    def attack(self) -> str:
        """ "none", "print" or "replay"."""
        return "none" if self.instrument is None else INSTRUMENTS[self.instrument].kind


def _split_point(spec: DomainSpec, subjects: int) -> int:
    """Number of train subjects when only ``subjects`` are generated (same train fraction)."""
    if subjects == spec.subjects:
        return spec.train_subjects
    train = round(subjects * spec.train_subjects / spec.subjects)
    return int(min(max(train, 1), max(subjects - 1, 1)))


def _subject_count(spec: DomainSpec, subjects: int | None) -> int:
    """Validated number of subjects to generate."""
    count = spec.subjects if subjects is None else subjects
    if count < 1:
        raise ValueError(f"subjects must be >= 1, got {count}")
    return count


def plan_videos(domain: str | DomainSpec, subjects: int | None = None) -> list[VideoPlan]:
    """The videos of a domain in order: per subject its live videos, then one per attack."""
    spec = get_domain(domain)
    count = _subject_count(spec, subjects)
    train = _split_point(spec, count)
    plans = []
    for subject_index in range(count):
        subject = f"{spec.name}/s{subject_index:03d}"
        split = "train" if subject_index < train else "test"
        kinds = [None] * spec.live_videos + list(spec.attacks)
        takes: dict[str, int] = {}
        for k, instrument in enumerate(kinds):
            attack = "live" if instrument is None else INSTRUMENTS[instrument].kind
            take = takes.get(attack, 0)
            takes[attack] = take + 1
            index = subject_index * spec.videos_per_subject + k
            video_id = f"{subject}/{attack}_{take}"
            plans.append(VideoPlan(index, subject_index, subject, split, instrument, video_id))
    return plans


def count_videos(domain: str | DomainSpec, subjects: int | None = None) -> int:
    """Number of videos ``simulate_domain`` yields (for progress bars)."""
    spec = get_domain(domain)
    return _subject_count(spec, subjects) * spec.videos_per_subject


def identity(spec: DomainSpec, subject_index: int, seed: int) -> Identity:
    """The person behind a subject id; the same in every video of that subject."""
    return draw_identity(stream(seed, spec.name, "subject", subject_index), spec.skin_tone)


def _check_arguments(
    spec: DomainSpec, seed: int, size: int, depth_size: int, frames_per_video: int | None
) -> int:
    """Validates generation arguments; returns the number of frames per video."""
    frames = spec.frames_per_video if frames_per_video is None else frames_per_video
    if seed < 0 or frames < 1 or not 16 <= size <= 1024 or depth_size < 1:
        raise ValueError(
            "need seed >= 0, frames_per_video >= 1, 16 <= size <= 1024 and depth_size >= 1; "
            f"got {seed}, {frames}, {size} and {depth_size}"
        )
    return frames


def simulate_video(
    domain: str | DomainSpec,
    plan: VideoPlan,
    seed: int = 0,
    size: int = 128,
    depth_size: int = 32,
    frames_per_video: int | None = None,
    cues: Cues = ALL_CUES,
) -> SimVideo:
    """Generates one planned video from its own random stream (order-independent); ``cues``
    switches cues off (``metafas.simulate.cues``)."""
    spec = cues.domain(get_domain(domain))
    frames = _check_arguments(spec, seed, size, depth_size, frames_per_video)
    person = identity(spec, plan.subject_index, seed)
    rng = stream(seed, spec.name, "video", plan.index)
    instrument = None if plan.instrument is None else cues.instrument(INSTRUMENTS[plan.instrument])
    if instrument is None:
        clip = live_clip(spec, person, rng, size, depth_size, frames)
    elif isinstance(instrument, DisplaySpec):
        clip = replay_clip(spec, instrument, person, rng, size, frames)
    else:
        clip = print_clip(spec, instrument, person, rng, size, frames)
    return SimVideo(
        domain=spec.name,
        split=plan.split,
        subject=plan.subject,
        video_id=plan.video_id,
        label=int(instrument is None),
        attack=plan.attack,
        frames=clip.frames,
        depth=clip.depth,
    )


def simulate_domain(
    domain: str | DomainSpec,
    seed: int = 0,
    size: int = 128,
    depth_size: int = 32,
    frames_per_video: int | None = None,
    subjects: int | None = None,
    cues: Cues = ALL_CUES,
) -> Iterator[SimVideo]:
    """Yields every video of a simulated domain, subject by subject (train subjects first).

    Arguments are checked before the first video is made, so a bad domain name raises here.

    Args:
        domain: a name in ``DOMAINS`` or a ``DomainSpec``.
        seed: the same seed (and arguments) gives identical bytes.
        size: side of the square face crops, 64 to 256 recommended.
        depth_size: side of the live depth labels.
        frames_per_video: defaults to the domain's ``frames_per_video``.
        subjects: generate only the first ``subjects`` identities (the train/test ratio is kept).
        cues: the cues rendered (default: all; ``Cues.without("attack_session")`` and so on).
    """
    spec = get_domain(domain)
    _check_arguments(spec, seed, size, depth_size, frames_per_video)
    plans = plan_videos(spec, subjects)
    return (simulate_video(spec, p, seed, size, depth_size, frames_per_video, cues) for p in plans)
