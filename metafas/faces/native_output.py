"""Keeping MediaPipe's native log lines off the terminal unless debug logging is on.

MediaPipe 0.10.21 logs from C++ (Abseil logging, before `absl::InitializeLog()`, which nothing
calls) and TensorFlow Lite straight to file descriptor 2, in the graphs' own threads, e.g.

    INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    W0000 00:00:1796168791.100807   26391 inference_feedback_manager.cc:114] Feedback manager ...
    W0000 00:00:1796168791.182157   26394 landmark_projection_calculator.cc:186] Using NORM_RECT ...

No environment variable reaches them (GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL: tried), so
`captured_native_output` points descriptor 2 at a temporary file while MediaPipe runs, then
drops its info and warning lines and passes every other line (errors, other threads' output) on
to stderr. With debug logging on (`metafas -v`) nothing is captured: the lines go out as they are
written (what a process that dies inside MediaPipe had captured is lost, so use -v to see it).
Only the graphs' start and first face are captured (`MediapipeDetector`), where they log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

NOTICE = re.compile(
    r"^([IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\]"  # Abseil/glog info and warnings
    r"|INFO: "  # TensorFlow Lite's info lines
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called)"
)

_lock = threading.Lock()
_state: dict = {"depth": 0, "saved": None, "file": None}


def is_notice(line: str) -> bool:
    """Whether a native log line is an info or warning notice (dropped) rather than an error."""
    return bool(NOTICE.match(line))


@contextlib.contextmanager
def captured_native_output(logger: logging.Logger) -> Iterator[None]:
    """Capture what native code writes to descriptor 2 during the block (see the module
    docstring), unless `logger` is enabled for debug. Re-entrant and thread-safe: descriptor 2
    is the process's, so nested or concurrent blocks share one capture, released by the last."""
    if logger.isEnabledFor(logging.DEBUG):
        yield
        return
    try:
        _enter()
    except OSError:  # no descriptor 2 to borrow (closed, as in some daemons): nothing to keep
        yield
        return
    try:
        yield
    finally:
        _pass_on(_exit())


def _enter() -> None:
    with _lock:
        if _state["depth"] == 0:
            _flush_stderr()
            saved = os.dup(2)
            capture = tempfile.TemporaryFile()
            _state["saved"], _state["file"] = saved, capture
            os.dup2(capture.fileno(), 2)
        _state["depth"] += 1


def _exit() -> str:
    """Leave one block; the last one restores descriptor 2 and returns what was captured."""
    with _lock:
        _state["depth"] -= 1
        if _state["depth"] > 0:
            return ""
        _flush_stderr()
        saved, capture = _state["saved"], _state["file"]
        os.dup2(saved, 2)
        os.close(saved)
        capture.seek(0)
        text = capture.read().decode("utf-8", "replace")
        capture.close()
        return text


def _pass_on(text: str) -> None:
    """Drop the notices; write every other captured line to stderr."""
    others = [line for line in text.splitlines(keepends=True) if not is_notice(line)]
    if others and sys.stderr is not None:
        sys.stderr.write("".join(others))
        sys.stderr.flush()


def _flush_stderr() -> None:
    """Python's buffered stderr goes out before descriptor 2 changes hands."""
    if sys.stderr is not None:
        sys.stderr.flush()
