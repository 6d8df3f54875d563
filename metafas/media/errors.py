"""The one error type of `metafas.media`: a file we cannot turn into RGB frames, and why."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NOT_FILES = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


class InputError(ValueError):
    """A media file that cannot be read, with the offending path and a short specific reason.

    Attributes:
        path: the file.
        reason: what is wrong with it, e.g. "truncated JPEG" or "no video stream".
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        # Both values go to ValueError.__init__ so the error pickles across worker processes.
        super().__init__(Path(path), reason)
        self.path = Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def check_file(path: str | os.PathLike[str]) -> Path:
    """Return `path` as a Path if it names a readable, non-empty regular file, else raise
    InputError (so that decoders never report a permission problem as a corrupt file)."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        broken = path.is_symlink()
        raise InputError(path, "broken symbolic link" if broken else "no such file") from None
    except OSError as exc:
        raise InputError(path, f"cannot access file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = NOT_FILES.get(stat.S_IFMT(info.st_mode), "of another kind")
        raise InputError(path, f"not a regular file: {kind}")
    if info.st_size == 0:
        raise InputError(path, "zero bytes")
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror or exc}") from None
    return path


def describe(exc: BaseException) -> str:
    """A one-line description of a third-party exception for an InputError reason."""
    # FFmpeg errors carry a clean message in strerror; str() repeats errno and path.
    text = getattr(exc, "strerror", None) or str(exc)
    text = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextmanager
def wrapped_errors(path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Re-raise any exception from PIL or PyAV inside the block as InputError(path, what: ...).

    PIL and FFmpeg raise a zoo of types on hostile input (OSError, SyntaxError, struct.error,
    EOFError, ValueError, MemoryError, ...); callers should see exactly one.
    """
    try:
        yield
    except InputError:
        raise
    except Exception as exc:
        raise InputError(path, f"{what}: {describe(exc)}") from exc
