"""Writing simulated domains into a prepared-data store, and the cached default store."""

import logging
import os
from pathlib import Path

from tqdm import tqdm

from metafas.data.atomic import atomic_write_json
from metafas.data.lock import directory_lock
from metafas.data.store import (
    FORMAT_VERSION,
    Store,
    StoreError,
    StoreWriter,
    VideoMeta,
    read_info,
    read_store,
)
from metafas.data.workers import worker_pool

log = logging.getLogger(__name__)

DEFAULT_DOMAINS = ("sim_o", "sim_c", "sim_i", "sim_m")
SIMULATOR_VERSION = 2  # bump when the simulator's output changes, to invalidate caches
SETTINGS = ("source", "simulator_version", "seed", "size", "subjects")
"""What every frame of a simulated store shares; a rerun with other values is refused."""


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
    wait: bool = False,
) -> Store:
    """Simulate `domains` into a store at `out` (resumable; manifest written last).

    `wait`: wait for another process writing `out` to finish, instead of refusing.

    A rerun into the same store resumes it or adds domains; one with another seed, size or
    number of subjects is refused (`claim_store`). Workers exit if this process dies.
    """
    out = Path(out)
    info = {
        "source": "simulator",
        "simulator_version": SIMULATOR_VERSION,
        "seed": seed,
        "size": size,
        "subjects": subjects,
        "domains": list(domains),
    }
    with directory_lock(out, "store", wait=wait):  # one writer per store
        writer = StoreWriter(out, claim_store(out, info))
        depth_size = max(1, size // 8)
        bar = tqdm(total=len(domains), desc="simulate", unit="domain", disable=not progress)
        with worker_pool(max(1, workers)) as pool:
            jobs = [
                pool.submit(write_domain, out, d, seed, size, depth_size, subjects) for d in domains
            ]
            for job in jobs:
                job.result()
                bar.update()
        bar.close()
        writer.finish()
    return read_store(out)


def claim_store(out: Path, info: dict) -> dict:
    """Check that `out` is new or holds frames simulated with the same settings, and record
    them in store.json now, before any frame, so that it describes an interrupted run too.

    Returns:
        `info` with the domains already in the store added (a rerun may add domains).

    Raises:
        StoreError: `out` holds frames of other settings (`seed 0 (now 1)`), or frames that no
            store.json describes.
    """
    recorded = read_info(out)
    parts = out / "parts"
    if not recorded and parts.is_dir() and any(parts.iterdir()):
        raise StoreError(
            f"{out} holds frames without a store.json to say how they were made; "
            "simulate into another --out, or delete it to rebuild it"
        )
    if recorded:
        changed = [
            f"{key} {recorded.get(key)!r} (now {info[key]!r})"
            for key in SETTINGS
            if recorded.get(key) != info[key]
        ]
        if changed:
            raise StoreError(
                f"{out} holds frames simulated with {', '.join(changed)}; mixing them would "
                f"give a store of two settings: simulate into another --out, or delete {out} "
                "to rebuild it"
            )
    domains = list(dict.fromkeys([*recorded.get("domains", []), *info["domains"]]))
    claimed = {**info, "domains": domains}
    atomic_write_json(out / "store.json", {"format_version": FORMAT_VERSION, **claimed})
    return claimed


def open_store(path: str, input_size: int, progress: bool = True) -> Store:
    """The store at `path`, or for "" the default simulated domains (simulated once, cached)."""
    if path:
        return read_store(Path(path))
    cached = default_store_path(input_size)
    if (cached / "manifest.csv").exists():
        return read_store(cached)
    log.info("simulating the default domains into %s (once)", cached)
    workers = os.cpu_count() or 1
    # Runs started together share the cache: the second waits for the first and resumes it.
    return write_simulated(cached, size=input_size, workers=workers, progress=progress, wait=True)
