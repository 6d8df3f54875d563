"""From a store to batches: protocol frame selection, decoding with a cache, balanced sampling."""

import hashlib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from metafas.data.batch import Batch
from metafas.data.protocols import Protocol
from metafas.data.store import FrameRecord, Store, StoreError


def held_out_subjects(subjects: set[str], fraction: float) -> set[str]:
    """Subjects held out for source validation: the `fraction` (at least one, never all) whose
    SHA-256 of the id ranks lowest, so the choice does not depend on file order or a seed."""
    if fraction <= 0 or len(subjects) < 2:
        return set()
    count = min(len(subjects) - 1, max(1, round(fraction * len(subjects))))
    ranked = sorted(subjects, key=lambda s: hashlib.sha256(s.encode("utf-8")).hexdigest())
    return set(ranked[:count])


@dataclass
class ProtocolFrames:
    """Frames of a protocol: per-source training frames, source validation, target test."""

    train: dict[str, list[FrameRecord]]
    source_val: list[FrameRecord]
    target_test: list[FrameRecord]


def protocol_frames(store: Store, protocol: Protocol, val_fraction: float = 0.2) -> ProtocolFrames:
    """Select a protocol's frames; subjects of held-out source validation never train."""
    missing = [d for d in (*protocol.sources, protocol.target) if d not in store.domains]
    if missing:
        raise StoreError(
            f"store {store.root} lacks domains {missing}; it has {', '.join(store.domains)}"
        )
    train, source_val = {}, []
    for domain in protocol.sources:
        frames = store.select(domain, protocol.source_splits)
        held_out = held_out_subjects({f.subject for f in frames}, val_fraction)
        source_val += [f for f in frames if f.subject in held_out]
        train[domain] = [f for f in frames if f.subject not in held_out]
        require_both_classes(train[domain], f"training frames of {domain}")
    target_test = store.select(protocol.target, protocol.target_splits)
    require_both_classes(target_test, f"test frames of target {protocol.target}")
    return ProtocolFrames(train, source_val, target_test)


def require_both_classes(frames: Sequence[FrameRecord], what: str) -> None:
    labels = {f.label for f in frames}
    if labels != {0, 1}:
        raise StoreError(f"{what} need live and spoof frames; found labels {sorted(labels)}")


class FrameReader:
    """Decodes a store's frames at the model's size, keeping up to `cache_bytes` in memory."""

    def __init__(self, root: Path, input_size: int, cache_bytes: int = 4 << 30):
        self.root = Path(root)
        self.input_size = input_size
        self.depth_size = input_size // 8
        self.images: dict[str, np.ndarray] = {}
        self.depths: dict[str, np.ndarray] = {}
        self.cache_bytes = cache_bytes
        self.cached_bytes = 0

    def image(self, frame: FrameRecord) -> np.ndarray:
        """uint8 (S, S, 3) RGB."""
        cached = self.images.get(frame.image)
        if cached is not None:
            return cached
        with Image.open(self.root / frame.image) as img:
            img = img.convert("RGB")
            if img.size != (self.input_size, self.input_size):
                size = (self.input_size, self.input_size)
                img = img.resize(size, Image.Resampling.BILINEAR)
            array = np.asarray(img)
        if self.cached_bytes + array.nbytes <= self.cache_bytes:
            self.images[frame.image] = array
            self.cached_bytes += array.nbytes
        return array

    def depth(self, frame: FrameRecord) -> np.ndarray:
        """float32 (S/8, S/8) in [0, 1]; zeros for spoofs (they carry no depth file)."""
        if not frame.depth:
            return np.zeros((self.depth_size, self.depth_size), np.float32)
        if frame.depth not in self.depths:
            with Image.open(self.root / frame.depth) as img:
                img = img.convert("L").resize((self.depth_size,) * 2, Image.Resampling.BILINEAR)
                self.depths[frame.depth] = np.asarray(img, np.float32) / 255
        return self.depths[frame.depth]

    def batch(self, frames: Sequence[FrameRecord], domain: str) -> Batch:
        images = np.stack([self.image(f) for f in frames])  # (B, S, S, 3) uint8
        depths = np.stack([self.depth(f) for f in frames])[:, None]  # (B, 1, S/8, S/8)
        return Batch(
            image=torch.from_numpy(images).permute(0, 3, 1, 2),  # uint8, channels-last strides
            depth=torch.from_numpy(depths),
            label=torch.tensor([float(f.label) for f in frames]),
            domain=domain,
            video_id=tuple(f.video_id for f in frames),
        )


class DomainSampler:
    """Infinite live/spoof-balanced batches of one domain: k live and k spoof frames per draw.

    Each data-parallel rank draws its own stream; rank 0's is the single-process stream.
    """

    def __init__(
        self, domain: str, frames: Sequence[FrameRecord], k: int, seed: int, rank: int = 0
    ):
        self.domain = domain
        self.live = [f for f in frames if f.label == 1]
        self.spoof = [f for f in frames if f.label == 0]
        self.k = k
        entropy = [seed, int.from_bytes(domain.encode()[:8], "big")] + ([rank] if rank else [])
        self.rng = np.random.default_rng(entropy)

    def draw(self) -> list[FrameRecord]:
        return self.pick(self.live) + self.pick(self.spoof)

    def pick(self, frames: list[FrameRecord]) -> list[FrameRecord]:
        replace = len(frames) < self.k
        return [frames[i] for i in self.rng.choice(len(frames), self.k, replace=replace)]

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


class SourceBatches:
    """One balanced batch per source domain per step, the next one decoded in a thread.

    Frames are drawn in the caller's thread (so sampler states stay exact for resume); only
    decoding and stacking of the following step's frames overlap with the current step.
    `rank`: a data-parallel rank draws its own streams (rank 0 those of a single process).
    """

    def __init__(
        self,
        frames: dict[str, list[FrameRecord]],
        reader: FrameReader,
        k: int,
        seed: int,
        rank: int = 0,
    ):
        self.samplers = [DomainSampler(d, f, k, seed, rank) for d, f in frames.items()]
        self.reader = reader
        self.prefetch = ThreadPoolExecutor(max_workers=1)
        self.pending: tuple[dict, Future] | None = None

    def next(self) -> list[Batch]:
        if self.pending is None:
            self.pending = self.schedule()
        batches = self.pending[1].result()
        self.pending = self.schedule()
        return batches

    def schedule(self) -> tuple[dict, Future]:
        """Draw the next step's frames now; decode them in the background."""
        state = self.sampler_states()
        draws = [(s.draw(), s.domain) for s in self.samplers]
        return state, self.prefetch.submit(lambda: [self.reader.batch(*d) for d in draws])

    def sampler_states(self) -> dict:
        return {s.domain: s.state() for s in self.samplers}

    def state(self) -> dict:
        """Sampler states as they were before any frames not yet returned were drawn."""
        return self.pending[0] if self.pending else self.sampler_states()

    def set_state(self, state: dict) -> None:
        self.pending = None
        for sampler in self.samplers:
            sampler.set_state(state[sampler.domain])


def ordered_batches(
    frames: Sequence[FrameRecord], reader: FrameReader, batch_size: int = 64
) -> Iterator[torch.Tensor]:
    """The frames' images in order, (B, 3, S, S) uint8, for scoring."""
    for start in range(0, len(frames), batch_size):
        chunk = frames[start : start + batch_size]
        yield reader.batch(chunk, domain="").image
