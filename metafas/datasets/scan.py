"""Scan a copy of a database as distributed: find its videos by name, decode nothing."""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from pathlib import Path, PurePosixPath

from metafas.datasets.records import Parsed, ScanContext, ScanResult, VideoRecord, printable
from metafas.datasets.registry import get_reader
from metafas.datasets.videos import assemble, drop_duplicates

logger = logging.getLogger(__name__)

IGNORED_SHOWN = 200  # unrelated files listed by name; all are counted
DUPLICATE_REASON = "second copy of a video"


def scan(dataset: str, root: Path) -> ScanResult:
    """Find every video of `dataset` under `root` and compare with its official lists.

    Raises:
        ValueError: unknown dataset name.
        FileNotFoundError: `root` does not exist.
        NotADirectoryError: `root` is a file.
    """
    reader = get_reader(dataset)
    root = _checked_root(root)
    unreadable: list[tuple[str, str]] = []
    files = walk_files(root, unreadable)
    lists, list_files = read_lists(root, files, reader.list_files, unreadable)
    ctx = ScanContext(root, lists)
    expected = reader.expected(ctx)
    parsed: list[Parsed] = []
    ignored: list[str] = []
    reasons: Counter[str] = Counter()
    for rel in files:
        if rel in list_files:
            continue
        found = reader.parse(rel, ctx)
        if found is None:
            ignored.append(printable(rel.as_posix()))
            reasons[reader.why_ignored(rel)] += 1
        else:
            parsed.append(found)
    unique, duplicates = drop_duplicates(parsed)
    records, extra_duplicates = assemble([p for p in unique if not p.excluded])
    duplicates += extra_duplicates
    ignored += [_relative(p.record, root) for p in duplicates]
    reasons.update({DUPLICATE_REASON: len(duplicates)} if duplicates else {})
    notes = ctx.notes + _excluded_notes(unique) + _duplicate_notes(duplicates, root)
    result = ScanResult(
        dataset=dataset,
        root=root,
        records=records,
        missing=sorted(expected - {p.canonical for p in unique}),
        ignored=ignored[:IGNORED_SHOWN],
        n_ignored=len(ignored),
        notes=notes,
        ignored_reasons=dict(reasons.most_common()),
        unreadable=unreadable,
    )
    logger.info("%s at %s: %d videos, %d missing", dataset, root, len(records), len(result.missing))
    return result


def _checked_root(root: Path) -> Path:
    root = Path(root).expanduser().absolute()
    if not root.exists():
        raise FileNotFoundError(f"dataset root not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"dataset root is not a folder: {root}")
    return root


def walk_files(root: Path, unreadable: list[tuple[str, str]] | None = None) -> list[PurePosixPath]:
    """Every file below `root`, relative, in sorted order; linked folders are followed once.

    Folders that cannot be listed are appended to `unreadable` as (relative path, reason),
    and the walk goes on with the others.
    """
    files: list[PurePosixPath] = []
    seen: set[str] = set()

    def refused(error: OSError) -> None:
        where = Path(error.filename or root)
        rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        rel = printable(rel)
        reason = f"cannot list folder: {error.strerror or error}"
        if unreadable is not None:
            unreadable.append((rel, reason))
        logger.warning("%s: %s", printable(str(where)), reason)

    for folder, dirs, names in os.walk(root, onerror=refused, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        dirs.sort()
        here = PurePosixPath(Path(folder).relative_to(root).as_posix())
        files.extend(here / name for name in sorted(names))
    return files


def read_lists(
    root: Path,
    files: list[PurePosixPath],
    pattern: str | None,
    unreadable: list[tuple[str, str]] | None = None,
) -> tuple[dict[str, list[str]], set[PurePosixPath]]:
    """The official list files matching `pattern` (shallowest copy of each) and their lines.

    A list file that cannot be read counts as absent and is appended to `unreadable`.
    """
    if pattern is None:
        return {}, set()
    regex = re.compile(rf"(?:^|/){pattern}$")
    chosen: dict[str, PurePosixPath] = {}
    for rel in sorted(files, key=lambda rel: len(rel.parts)):
        match = regex.search(rel.as_posix())
        if match and match.group(1) not in chosen:
            chosen[match.group(1)] = rel
    lists = {}
    for key, rel in chosen.items():
        try:
            lists[key] = _lines(root.joinpath(*rel.parts))
        except OSError as error:
            reason = f"cannot read list file: {error.strerror or error}"
            if unreadable is not None:
                unreadable.append((printable(rel.as_posix()), reason))
            logger.warning("%s: %s", printable(rel.as_posix()), reason)
    return lists, set(chosen.values())


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _relative(record: VideoRecord, root: Path) -> str:
    return printable(record.path.relative_to(root).as_posix())


def _excluded_notes(parsed: list[Parsed]) -> list[str]:
    reasons = Counter(p.excluded for p in parsed if p.excluded)
    return [f"{n} {reason} found, not PAD data: excluded" for reason, n in reasons.items()]


def _duplicate_notes(duplicates: list[Parsed], root: Path) -> list[str]:
    if not duplicates:
        return []
    example = _relative(duplicates[0].record, root)
    return [f"{len(duplicates)} second copies of videos ignored, e.g. {example}"]
