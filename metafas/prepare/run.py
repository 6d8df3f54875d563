"""`prepare_dataset`: scan a database, prepare its unfinished videos in worker processes, and
finish the store. Resumable: videos already in the store are skipped, and each video's files
are committed atomically, so an interrupted run loses only the videos in flight."""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import as_completed
from pathlib import Path

from tqdm import tqdm

from metafas.data.atomic import atomic_write_json
from metafas.data.lock import directory_lock
from metafas.data.store import StoreWriter
from metafas.data.workers import worker_pool
from metafas.datasets import ScanResult, VideoRecord, get_reader, scan
from metafas.datasets.records import printable
from metafas.faces import CropSettings
from metafas.media import FrameSampling
from metafas.prepare.domains import store_domain
from metafas.prepare.report import PrepareSummary, VideoReport, write_listings, write_scan
from metafas.prepare.settings import FaceTools, PrepareError, mediapipe_tools, record_settings
from metafas.prepare.video import Job, VideoWorker, init_worker, prepare_in_worker

logger = logging.getLogger(__name__)

DEFAULT_SAMPLING = FrameSampling(count=8)


def prepare_dataset(
    dataset: str,
    root: Path,
    out: Path,
    *,
    sampling: FrameSampling = DEFAULT_SAMPLING,
    crop: CropSettings | None = None,
    tools: FaceTools | None = None,
    workers: int = 1,
    progress: bool = True,
) -> PrepareSummary:
    """Crop the faces of every video of `dataset` under `root` into the store `out`.

    Args:
        dataset: a reader name (`metafas.datasets.READERS`).
        root: the database copy, in its original layout.
        out: the store; it may already hold other datasets prepared with the same settings.
        sampling: frames kept per video (image sequences such as NUAA's too).
        crop: crop geometry, score threshold and depth-map size.
        tools: face detector and depth renderer (default: MediaPipe and `face_depth`).
        workers: processes; each builds its own detector. 1 runs in this process.
        progress: show a progress bar.

    Raises:
        PrepareError: no videos found, or `out` holds other preprocessing.
        ImportError: the default detector without the `faces` extra.
    """
    if workers < 1:
        raise PrepareError(f"workers must be at least 1, got {workers}")
    crop, tools, out = crop or CropSettings(), tools or mediapipe_tools(), Path(out)
    result = scanned(dataset, root)
    with directory_lock(out, "store"):  # one writer per store
        return prepare_scanned(dataset, root, out, result, sampling, crop, tools, workers, progress)


def prepare_scanned(
    dataset: str,
    root: Path,
    out: Path,
    result: ScanResult,
    sampling: FrameSampling,
    crop: CropSettings,
    tools: FaceTools,
    workers: int,
    progress: bool,
) -> PrepareSummary:
    """`prepare_dataset` once the scan is done, holding the store's lock."""
    records = result.records
    info = record_settings(out, dataset, Path(root).expanduser().absolute(), sampling, crop, tools)
    writer = StoreWriter(out, info)
    write_scan(out, result)
    pending = [r for r in records if not writer.has_video(r.video_id)]
    logger.info("%s: %d videos, %d to prepare", dataset, len(records), len(pending))
    started = time.perf_counter()
    job = Job(out, sampling, crop, tools)
    reports = list(run_videos(pending, job, workers, progress))
    seconds = time.perf_counter() - started
    writer.finish()
    failures = write_listings(out, dataset, {r.video_id for r in records}, writer.has_video)
    done_before = len(records) - len(pending)
    summary = PrepareSummary(
        dataset, out, len(records), done_before, reports, failures, seconds, workers,
        ignored=result.ignored_reasons,
    )  # fmt: skip
    atomic_write_json(out / "prepare" / f"last_run_{dataset}.json", summary.to_dict())
    return summary


def scanned(dataset: str, root: Path) -> ScanResult:
    """The scan of `root`, refusing an empty one with what the root should hold (and what
    could not be read)."""
    result = scan(dataset, Path(root))
    if not result.records:
        layout = get_reader(dataset).layout
        unreadable = "; ".join(f"{path}: {why}" for path, why in result.unreadable[:3])
        raise PrepareError(
            f"no {dataset} videos found under {printable(str(result.root))}; it should hold "
            f"{layout}" + (f" (could not read {unreadable})" if unreadable else "")
        )
    for record in result.records:
        store_domain(record)  # fail on a bad record before any work
    return result


def run_videos(
    records: Sequence[VideoRecord], job: Job, workers: int, progress: bool
) -> Iterator[VideoReport]:
    """Prepare each record, yielding reports as videos finish, with a progress bar."""
    bar = tqdm(total=len(records), unit="video", disable=not progress, desc="prepare")
    faces = frames = failed = 0
    try:
        for report in _reports(records, job, workers):
            faces, frames = faces + report.kept, frames + report.sampled
            failed += report.status == "failed"
            bar.set_postfix(faces=f"{faces}/{frames}", failed=failed, refresh=False)
            bar.update()
            yield report
    finally:
        bar.close()


def _reports(records: Sequence[VideoRecord], job: Job, workers: int) -> Iterator[VideoReport]:
    if not records:
        return
    if workers == 1:
        worker = VideoWorker(job)
        yield from (worker(record) for record in records)
        return
    # spawn: MediaPipe's threads make fork unsafe once it is loaded in this process.
    context = multiprocessing.get_context("spawn")
    pool = worker_pool(min(workers, len(records)), context, init_worker, (job,))
    try:
        futures = [pool.submit(prepare_in_worker, record) for record in records]
        for future in as_completed(futures):
            yield future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
