"""Scan a copy of a database as distributed: find its videos by name, decode nothing."""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from pathlib import Path, PurePosixPath

from metafas.datasets.records import Parsed, ScanContext, ScanResult, VideoRecord
from metafas.datasets.registry import get_reader
from metafas.datasets.videos import assemble, drop_duplicates

logger = logging.getLogger(__name__)

IGNORED_SHOWN = 200  # unrelated files listed by name; all are counted


def scan(dataset: str, root: Path) -> ScanResult:
    """Find every video of `dataset` under `root` and compare with its official lists.

    Raises:
        ValueError: unknown dataset name.
        FileNotFoundError: `root` does not exist.
        NotADirectoryError: `root` is a file.
    """
    reader = get_reader(dataset)
    root = _checked_root(root)
    files = walk_files(root)
    lists, list_files = read_lists(root, files, reader.list_files)
    ctx = ScanContext(root, lists)
    expected = reader.expected(ctx)
    parsed: list[Parsed] = []
    ignored: list[str] = []
    for rel in files:
        if rel in list_files:
            continue
        found = reader.parse(rel, ctx)
        if found is None:
            ignored.append(rel.as_posix())
        else:
            parsed.append(found)
    unique, duplicates = drop_duplicates(parsed)
    records, extra_duplicates = assemble([p for p in unique if not p.excluded])
    duplicates += extra_duplicates
    ignored += [_relative(p.record, root) for p in duplicates]
    notes = ctx.notes + _excluded_notes(unique) + _duplicate_notes(duplicates, root)
    result = ScanResult(
        dataset=dataset,
        root=root,
        records=records,
        missing=sorted(expected - {p.canonical for p in unique}),
        ignored=ignored[:IGNORED_SHOWN],
        n_ignored=len(ignored),
        notes=notes,
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


def walk_files(root: Path) -> list[PurePosixPath]:
    """Every file below `root`, relative, in sorted order; linked folders are followed once."""
    files: list[PurePosixPath] = []
    seen: set[str] = set()
    for folder, dirs, names in os.walk(root, followlinks=True):
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
    root: Path, files: list[PurePosixPath], pattern: str | None
) -> tuple[dict[str, list[str]], set[PurePosixPath]]:
    """The official list files matching `pattern` (shallowest copy of each) and their lines."""
    if pattern is None:
        return {}, set()
    regex = re.compile(rf"(?:^|/){pattern}$")
    chosen: dict[str, PurePosixPath] = {}
    for rel in sorted(files, key=lambda rel: len(rel.parts)):
        match = regex.search(rel.as_posix())
        if match and match.group(1) not in chosen:
            chosen[match.group(1)] = rel
    lists = {key: _lines(root.joinpath(*rel.parts)) for key, rel in chosen.items()}
    return lists, set(chosen.values())


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _relative(record: VideoRecord, root: Path) -> str:
    return record.path.relative_to(root).as_posix()


def _excluded_notes(parsed: list[Parsed]) -> list[str]:
    reasons = Counter(p.excluded for p in parsed if p.excluded)
    return [f"{n} {reason} found, not PAD data: excluded" for reason, n in reasons.items()]


def _duplicate_notes(duplicates: list[Parsed], root: Path) -> list[str]:
    if not duplicates:
        return []
    example = _relative(duplicates[0].record, root)
    return [f"{len(duplicates)} second copies of videos ignored, e.g. {example}"]
