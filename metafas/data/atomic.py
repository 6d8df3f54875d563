"""Atomic file writes: write a temporary file next to the target, fsync, then rename.

An interrupted write leaves the previous file (or no file) in place, never a half-written one.
The file gets the permissions of a plain open(): 0o666 masked by the process umask.
"""

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO

# Like tempfile.mkstemp, but created with mode 0o666 instead of 0o600: the kernel then applies
# the umask (or the folder's default ACL) at creation, so nothing reads the umask, races with
# another thread changing it, or caches it. O_EXCL makes the name ours alone.
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
CREATE_ATTEMPTS = 100


def create_temporary(path: Path) -> tuple[int, Path]:
    """A new, empty file beside `path` (hidden, random name): its descriptor and its path."""
    for _ in range(CREATE_ATTEMPTS):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, CREATE_FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path} after {CREATE_ATTEMPTS} tries")


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call `write` on a temporary binary file and rename it to `path` once complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def append_line(path: Path, line: str) -> None:
    """Append one line and fsync: a reader sees whole lines only (a torn last line is skipped)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line.rstrip("\n") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
