"""Shared fixtures: a tiny prepared store written through the real StoreWriter."""

from pathlib import Path

import numpy as np
import pytest
import torch

from metafas.data.store import StoreWriter, VideoMeta, read_store

# The test models are tiny: one thread is faster than two and immune to a busy machine.
torch.set_num_threads(1)

SHARED = Path(__file__).resolve().parents[2] / "shared"
TINY_DOMAINS = ("sim_o", "sim_c", "sim_i", "sim_m")


def tiny_video(rng: np.random.Generator, live: bool, size: int, frames: int):
    """Live frames are smooth with a bright centre; spoofs carry a fine stripe pattern."""
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) * 8)
    images, depths = [], []
    for index in range(frames):
        texture = 0.0 if live else 0.25 * np.sin(x * size * 2.5)
        value = np.clip(0.3 + 0.5 * base + texture + rng.normal(0, 0.05, base.shape), 0, 1)
        tint = rng.uniform(0.7, 1.0, 3)
        images.append((index, (value[..., None] * tint * 255).astype(np.uint8)))
        depths.append(base[::8, ::8].astype(np.float32) if live else None)
    return images, depths


def write_tiny_store(root: Path, size: int = 32, subjects: int = 5, frames: int = 2) -> Path:
    writer = StoreWriter(root, {"source": "test"})
    rng = np.random.default_rng(0)
    for domain in TINY_DOMAINS:
        for s in range(subjects):
            split = "test" if s >= subjects - 2 else "train"
            for label in (1, 0):
                video_id = f"{domain}/s{s}/{'live' if label else 'print'}"
                meta = VideoMeta(
                    domain, split, f"{domain}/s{s}", video_id, label, "none" if label else "print"
                )
                writer.add_video(meta, *tiny_video(rng, bool(label), size, frames))
    writer.finish()
    return root


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory) -> Path:
    root = write_tiny_store(tmp_path_factory.mktemp("store") / "tiny")
    read_store(root)
    return root
