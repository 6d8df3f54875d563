"""A human summary of a scan: videos per split, label and attack; missing and ignored files."""

from __future__ import annotations

from collections import Counter

from metafas.datasets.records import SPLITS, ScanResult, VideoRecord, printable
from metafas.datasets.registry import READERS

EXAMPLES_SHOWN = 5


def format_scan(result: ScanResult) -> str:
    """Several lines: a header, a count table, then missing, ignored and notes."""
    reader = READERS.get(result.dataset)
    title = reader.title if reader else result.dataset
    records = result.records
    subjects = len({record.subject for record in records})
    lines = [
        f"{title} ({result.dataset}) at {result.root}: {len(records)} videos, {subjects} subjects"
    ]
    if records:
        lines += count_table(records)
    elif reader is not None:
        lines.append(f"no videos found: the root should hold {reader.layout}")
    lines.append(_examples("missing", len(result.missing), result.missing, "expected files absent"))
    lines.append(_examples("ignored", result.n_ignored, result.ignored, "unrelated files"))
    if result.ignored_reasons:
        lines.append(f"ignored because: {format_reasons(result.ignored_reasons)}")
    if result.unreadable:
        shown = [f"{path} ({reason})" for path, reason in result.unreadable]
        lines.append(_examples("unreadable", len(shown), shown, "folders or lists, not scanned"))
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(printable(line) for line in lines)


def format_reasons(reasons: dict[str, int]) -> str:
    """'not an image or video extension 3, hidden 1'."""
    return ", ".join(f"{reason} {count}" for reason, count in reasons.items())


def count_table(records: list[VideoRecord]) -> list[str]:
    """Aligned rows of videos (and frames, for image data) per domain, split, label, attack."""
    with_domain = len({record.domain for record in records}) > 1
    with_frames = any(record.frames for record in records)
    videos: Counter[tuple[str, ...]] = Counter()
    frames: Counter[tuple[str, ...]] = Counter()
    for record in records:
        key = _row_key(record, with_domain)
        videos[key] += 1
        frames[key] += len(record.frames)
    header = (("domain",) if with_domain else ()) + ("split", "label", "attack", "videos")
    header += ("frames",) if with_frames else ()
    rows = [header]
    for key in sorted(videos, key=lambda key: _row_order(key, with_domain)):
        rows.append(key + (str(videos[key]),) + ((str(frames[key]),) if with_frames else ()))
    return _align(rows, n_left=len(header) - (2 if with_frames else 1))


def _align(rows: list[tuple[str, ...]], n_left: int) -> list[str]:
    """Rows as indented lines: the first `n_left` columns left-aligned, numbers right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if i < n_left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return lines


def _row_key(record: VideoRecord, with_domain: bool) -> tuple[str, ...]:
    label = "live" if record.label == 1 else "spoof"
    key = (record.split, label, record.attack)
    return ((record.domain,) if with_domain else ()) + key


def _row_order(key: tuple[str, ...], with_domain: bool) -> tuple:
    domain, (split, label, attack) = key[: int(with_domain)], key[-3:]
    split_rank = SPLITS.index(split) if split in SPLITS else len(SPLITS)
    return (*domain, split_rank, split, label != "live", attack)


def _examples(kind: str, count: int, names: list[str], what: str) -> str:
    if count == 0:
        return f"{kind}: none"
    shown = ", ".join(names[:EXAMPLES_SHOWN])
    more = ", ..." if count > EXAMPLES_SHOWN else ""
    return f"{kind}: {count} {what}: {shown}{more}"
