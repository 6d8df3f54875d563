"""One writer per directory: an exclusive `flock` on `DIR/.lock`, held while a process writes.

Used by training (a run directory, for train and resume) and by store writers (simulate,
prepare). The kernel releases a `flock` when its process dies, even by SIGKILL, so a killed
writer never leaves a stale lock: the file stays, the lock does not. The file holds the
holder's process id, for the message another writer gets. POSIX only (fcntl); on a network
file system it is as reliable as that file system's flock.
"""

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".lock"
WAIT_POLL_S = 0.2


class DirectoryLockedError(ValueError):
    """Another process is writing the directory."""


@contextmanager
def directory_lock(directory: Path, what: str, wait: bool = False) -> Iterator[Path]:
    """Hold the lock of `directory` (created if missing) for the `with` block.

    Args:
        what: what the directory is, for the message ("run directory", "store").
        wait: wait for the other writer to finish instead of refusing.

    Raises:
        DirectoryLockedError: another live process holds it (and `wait` is False).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        acquire(descriptor, path, what, wait)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield directory
    finally:
        os.close(descriptor)  # closing the descriptor releases the flock


def acquire(descriptor: int, path: Path, what: str, wait: bool) -> None:
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
        if not wait:
            holder = path.read_text().strip() or "unknown"
            raise DirectoryLockedError(
                f"{path.parent} is in use: another metafas process (pid {holder}) is writing "
                f"this {what}; wait for it to end, or choose another directory"
            )
        time.sleep(WAIT_POLL_S)
