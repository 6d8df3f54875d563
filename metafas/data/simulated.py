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
SIMULATOR_VERSION = 3  # bump when the simulator's output changes, to invalidate caches
VIDEOS_PER_JOB = 2  # small jobs: the bar moves per video and the workers stay balanced
SETTINGS = ("source", "simulator_version", "seed", "size", "subjects", "cues_off")
"""What every frame of a simulated store shares; a rerun with other values is refused."""


def cache_root() -> Path:
    return Path(os.environ.get("METAFAS_CACHE", Path.home() / ".cache" / "metafas"))


def default_store_path(size: int, seed: int = 0, cues_off: tuple[str, ...] = ()) -> Path:
    suffix = "".join(f"-no-{name}" for name in cues_off)
    return cache_root() / f"sim-v{SIMULATOR_VERSION}-size{size}-seed{seed}{suffix}"


def write_videos(
    out: Path,
    domain: str,
    indices: list[int],
    settings: dict,
) -> int:
    """Simulate the planned videos `indices` of `domain` into the store at `out`; videos
    already there are kept. Returns how many were written."""
    from metafas.simulate import plan_videos, simulate_video
    from metafas.simulate.cues import Cues

    writer = StoreWriter(out)
    plans = plan_videos(domain, settings["subjects"])
    cues = Cues.without(*settings["cues_off"])
    written = 0
    for index in indices:
        plan = plans[index]
        if writer.has_video(plan.video_id):
            continue
        size = settings["size"]
        video = simulate_video(domain, plan, settings["seed"], size, max(1, size // 8), cues=cues)
        meta = VideoMeta(
            video.domain, video.split, video.subject, video.video_id, video.label, video.attack
        )
        depths = [None] * len(video.frames) if video.depth is None else list(video.depth)
        writer.add_video(meta, list(enumerate(video.frames)), depths)
        written += 1
    return written


def video_jobs(domains: tuple[str, ...], subjects: int | None, per_job: int) -> list[tuple]:
    """(domain, indices) chunks of every planned video, in domain order."""
    from metafas.simulate import count_videos

    jobs = []
    for domain in domains:
        count = count_videos(domain, subjects)
        jobs += [
            (domain, list(range(i, min(i + per_job, count)))) for i in range(0, count, per_job)
        ]
    return jobs


def write_simulated(
    out: Path,
    domains: tuple[str, ...] = DEFAULT_DOMAINS,
    seed: int = 0,
    size: int = 128,
    workers: int = 1,
    subjects: int | None = None,
    progress: bool = True,
    wait: bool = False,
    cues_off: tuple[str, ...] = (),
) -> Store:
    """Simulate `domains` into a store at `out` (resumable; manifest written last).

    `wait`: wait for another process writing `out` to finish, instead of refusing.
    `cues_off`: cues switched off (names of `metafas.simulate.cues.Cues` fields).

    A rerun into the same store resumes it or adds domains; one with another seed, size,
    number of subjects or cues is refused (`claim_store`). Workers exit if this process dies.
    """
    from metafas.simulate.cues import Cues

    out = Path(out)
    cues_off = Cues.without(*cues_off).switched_off  # checked and in declaration order
    info = {
        "source": "simulator",
        "simulator_version": SIMULATOR_VERSION,
        "seed": seed,
        "size": size,
        "subjects": subjects,
        "cues_off": list(cues_off),
        "domains": list(domains),
    }
    with directory_lock(out, "store", wait=wait):  # one writer per store
        writer = StoreWriter(out, claim_store(out, info))
        jobs = video_jobs(tuple(domains), subjects, VIDEOS_PER_JOB)
        total = sum(len(indices) for _, indices in jobs)
        bar = tqdm(total=total, desc="simulate", unit="video", disable=not progress)
        with worker_pool(max(1, workers)) as pool:
            futures = [pool.submit(write_videos, out, d, ix, info) for d, ix in jobs]
            for future, (_, indices) in zip(futures, jobs, strict=True):
                future.result()
                bar.update(len(indices))
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
    return simulated_store(input_size, progress=progress)


def simulated_store(
    size: int, seed: int = 0, cues_off: tuple[str, ...] = (), progress: bool = True
) -> Store:
    """The default domains at `size` with `cues_off` switched off, simulated once into the
    cache (metafas.simulate.cues)."""
    cached = default_store_path(size, seed, cues_off)
    if (cached / "manifest.csv").exists():
        return read_store(cached)
    log.info("simulating the default domains into %s (once)", cached)
    workers = os.cpu_count() or 1
    # Runs started together share the cache: the second waits for the first and resumes it.
    return write_simulated(
        cached,
        seed=seed,
        size=size,
        workers=workers,
        progress=progress,
        wait=True,
        cues_off=cues_off,
    )
