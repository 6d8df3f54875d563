"""Writing simulated domains into a prepared-data store, and the cached default store."""

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from metafas.data.store import Store, StoreWriter, VideoMeta, read_store

log = logging.getLogger(__name__)

DEFAULT_DOMAINS = ("sim_o", "sim_c", "sim_i", "sim_m")
SIMULATOR_VERSION = 2  # bump when the simulator's output changes, to invalidate caches


def cache_root() -> Path:
    return Path(os.environ.get("METAFAS_CACHE", Path.home() / ".cache" / "metafas"))


def default_store_path(size: int, seed: int = 0) -> Path:
    return cache_root() / f"sim-v{SIMULATOR_VERSION}-size{size}-seed{seed}"


def write_domain(
    out: Path, domain: str, seed: int, size: int, depth_size: int, subjects: int | None
) -> int:
    """Simulate one domain into the store at `out`; videos already there are kept. Returns count."""
    from metafas.simulate import simulate_domain

    writer = StoreWriter(out)
    written = 0
    for video in simulate_domain(
        domain, seed=seed, size=size, depth_size=depth_size, subjects=subjects
    ):
        if writer.has_video(video.video_id):
            continue
        meta = VideoMeta(
            video.domain, video.split, video.subject, video.video_id, video.label, video.attack
        )
        depths = [None] * len(video.frames) if video.depth is None else list(video.depth)
        writer.add_video(meta, list(enumerate(video.frames)), depths)
        written += 1
    return written


def write_simulated(
    out: Path,
    domains: tuple[str, ...] = DEFAULT_DOMAINS,
    seed: int = 0,
    size: int = 128,
    workers: int = 1,
    subjects: int | None = None,
    progress: bool = True,
) -> Store:
    """Simulate `domains` into a store at `out` (resumable; manifest written last)."""
    out = Path(out)
    info = {
        "source": "simulator",
        "simulator_version": SIMULATOR_VERSION,
        "seed": seed,
        "size": size,
        "domains": list(domains),
    }
    writer = StoreWriter(out, info)
    depth_size = max(1, size // 8)
    bar = tqdm(total=len(domains), desc="simulate", unit="domain", disable=not progress)
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        jobs = [
            pool.submit(write_domain, out, d, seed, size, depth_size, subjects) for d in domains
        ]
        for job in jobs:
            job.result()
            bar.update()
    bar.close()
    writer.finish()
    return read_store(out)


def open_store(path: str, input_size: int, progress: bool = True) -> Store:
    """The store at `path`, or for "" the default simulated domains (simulated once, cached)."""
    if path:
        return read_store(Path(path))
    cached = default_store_path(input_size)
    if (cached / "manifest.csv").exists():
        return read_store(cached)
    log.info("simulating the default domains into %s (once)", cached)
    return write_simulated(cached, size=input_size, workers=os.cpu_count() or 1, progress=progress)
