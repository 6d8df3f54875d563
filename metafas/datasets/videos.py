"""Turn parsed files into video records: drop second copies, group image frames into videos."""

from __future__ import annotations

from dataclasses import replace

from metafas.datasets.records import Parsed, VideoRecord


def drop_duplicates(parsed: list[Parsed]) -> tuple[list[Parsed], list[Parsed]]:
    """(first copy of each official-layout path, later copies) in scan order."""
    seen: set[str] = set()
    unique: list[Parsed] = []
    duplicates: list[Parsed] = []
    for item in parsed:
        (duplicates if item.canonical in seen else unique).append(item)
        seen.add(item.canonical)
    return unique, duplicates


def assemble(parsed: list[Parsed]) -> tuple[list[VideoRecord], list[Parsed]]:
    """(records sorted by video id, files that claimed an already taken video id).

    Files carrying a `frame_key` are frames: those sharing a video id become one record whose
    `frames` are ordered by that key and whose `path` is the first frame.
    """
    by_video: dict[str, list[Parsed]] = {}
    for item in parsed:
        by_video.setdefault(item.record.video_id, []).append(item)
    records: list[VideoRecord] = []
    clashes: list[Parsed] = []
    for video_id in sorted(by_video):
        members = by_video[video_id]
        if all(item.frame_key for item in members):
            records.append(_frames_video(members))
        else:
            records.append(members[0].record)
            clashes.extend(members[1:])
    return records, clashes


def _frames_video(members: list[Parsed]) -> VideoRecord:
    frames = tuple(item.record.path for item in sorted(members, key=lambda item: item.frame_key))
    return replace(members[0].record, path=frames[0], frames=frames)
