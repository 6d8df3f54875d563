"""Worker processes that end with the process that started them.

A `ProcessPoolExecutor` worker outlives a parent killed with SIGKILL: nothing tells it, so it
finishes its task (writing into a store nobody will finish) and then waits forever for the
next one. Each worker of `worker_pool` runs a watchdog thread that ends the worker as soon as
its parent is gone, which it sees by being handed to another parent (`os.getppid()` changes).
This works on Linux and macOS and whatever start method the pool uses.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

logger = logging.getLogger(__name__)

WATCH_SECONDS = 0.2
"""How often a worker looks for its parent."""

ORPHAN_EXIT_STATUS = 70
"""Exit status of a worker that ended because its parent died."""


def worker_pool(
    workers: int,
    context: multiprocessing.context.BaseContext | None = None,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
) -> ProcessPoolExecutor:
    """A process pool whose workers exit when this process dies, even by SIGKILL.

    Args:
        workers: number of processes.
        context: the multiprocessing start method (default_context() when None).
        initializer: called with `initargs` in each worker after its watchdog starts.
    """
    initargs = (os.getpid(), current_umask(), initializer, initargs)
    context = context or default_context()
    return ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=initargs)


def default_context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one, else spawn: never fork. A forked worker inherits the
    parent's objects but not its threads, and freeing one that waits on a thread deadlocks
    (seen: a PyAV frame's slice threads, collected in a forked worker, hung it forever)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def current_umask() -> int:
    """This process's umask: workers started by a forkserver would otherwise keep the one the
    forkserver had when it started, and write files with other permissions than ours."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it (and put it back at once)
    os.umask(mask)
    return mask


def _start_worker(
    owner: int, umask: int, initializer: Callable[..., None] | None, initargs: tuple
) -> None:
    os.umask(umask)
    end_with_parent(owner)
    if initializer is not None:
        initializer(*initargs)


def end_with_parent(owner: int | None = None, interval: float = WATCH_SECONDS) -> None:
    """Start a daemon thread that exits this process once its parent, or the process `owner`
    (the pool's creator, which is not the parent under the forkserver start method), is gone.
    """
    parent = os.getppid()
    if owner is not None and not _alive(owner):
        os._exit(ORPHAN_EXIT_STATUS)  # the owner died before this worker started
    threading.Thread(
        target=_watch, args=(parent, owner, interval), name="end-with-parent", daemon=True
    ).start()


def _watch(parent: int, owner: int | None, interval: float) -> None:
    while os.getppid() == parent and (owner is None or _alive(owner)):
        time.sleep(interval)
    logger.warning("parent process %d is gone; worker %d exits", parent, os.getpid())
    # os._exit: no cleanup handlers, which would wait on queues the dead parent was reading.
    os._exit(ORPHAN_EXIT_STATUS)


def _alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate it on Windows; the parent check remains
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
