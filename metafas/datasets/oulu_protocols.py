"""OULU-NPU protocols 1-4: which scanned videos each protocol puts in train, dev and test.

Published rules (Boulkenafet et al., FG 2017): protocol 1 holds out the session (sessions 1-2
versus 3), protocol 2 the attack devices (files 1, 2, 4 versus 1, 3, 5), protocol 3_k the phone
(phone k in test, the other five in train and dev), protocol 4_k all three at once. A split
only takes videos from its own folder (`Train_files` for train, and so on). The official
`Protocols/Protocol_N/{Train,Dev,Test}[_k].txt` lists, when present, can be used instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from metafas.datasets.oulu_npu import PHONES, parse_name
from metafas.datasets.records import SPLITS, VideoRecord

logger = logging.getLogger(__name__)

OULU_PROTOCOLS = ("1", "2", *(f"3_{k}" for k in PHONES), *(f"4_{k}" for k in PHONES))
# What each protocol holds out; protocol 4 combines the other three.
HELD_OUT = {
    "1": ("session",),
    "2": ("access",),
    "3": ("phone",),
    "4": ("session", "access", "phone"),
}
SESSIONS = {"train": {1, 2}, "dev": {1, 2}, "test": {3}}
ACCESS_TYPES = {"train": {1, 2, 4}, "dev": {1, 2, 4}, "test": {1, 3, 5}}
LIST_NAMES = {"train": "Train", "dev": "Dev", "test": "Test"}
SOURCES = ("auto", "lists", "rules")


def oulu_protocol(
    records: Sequence[VideoRecord], protocol: str, source: str = "auto"
) -> dict[str, list[VideoRecord]]:
    """The OULU-NPU records of each split (`train`, `dev`, `test`) of `protocol`.

    Args:
        records: scanned records; those of other datasets are skipped.
        protocol: `1`, `2`, `3_1`..`3_6` or `4_1`..`4_6`.
        source: `rules` applies the published rules; `lists` reads the official list files
            beside the video folders; `auto` uses the lists when all three are present.
    """
    if protocol not in OULU_PROTOCOLS:
        raise ValueError(
            f"unknown OULU-NPU protocol {protocol!r}; known: {', '.join(OULU_PROTOCOLS)}"
        )
    if source not in SOURCES:
        raise ValueError(f"unknown protocol source {source!r}; known: {', '.join(SOURCES)}")
    oulu = [record for record in records if record.dataset == "oulu_npu"]
    paths = protocol_list_paths(oulu, protocol)
    present = bool(paths) and all(path.is_file() for path in paths.values())
    if source == "lists" and not present:
        where = next(iter(paths.values()), None) if paths else "(no OULU-NPU records given)"
        raise FileNotFoundError(f"official OULU-NPU protocol list not found: {where}")
    if source == "lists" or (source == "auto" and present):
        logger.info("OULU-NPU protocol %s from the official lists", protocol)
        return {split: _from_list(oulu, path) for split, path in paths.items()}
    logger.info("OULU-NPU protocol %s from the published rules", protocol)
    return {split: [r for r in oulu if in_protocol(r, protocol, split)] for split in SPLITS}


def in_protocol(record: VideoRecord, protocol: str, split: str) -> bool:
    """Whether the published rules put an OULU-NPU record in `split` of `protocol`."""
    codes = parse_name(_video_name(record))
    if codes is None or record.split != split:
        return False
    phone, session, _, access = codes
    number, _, fold = protocol.partition("_")
    passes = {
        "session": session in SESSIONS[split],
        "access": access in ACCESS_TYPES[split],
        "phone": bool(fold) and (phone == int(fold)) == (split == "test"),
    }
    return all(passes[held_out] for held_out in HELD_OUT[number])


def protocol_list_paths(records: Sequence[VideoRecord], protocol: str) -> dict[str, Path]:
    """Where the official list of each split would be: `Protocols/` beside `Train_files/`."""
    if not records:
        return {}
    root = records[0].path.parents[1]
    number, _, fold = protocol.partition("_")
    suffix = f"_{fold}" if fold else ""
    folder = root / "Protocols" / f"Protocol_{number}"
    return {split: folder / f"{name}{suffix}.txt" for split, name in LIST_NAMES.items()}


def _from_list(records: Sequence[VideoRecord], path: Path) -> list[VideoRecord]:
    """The records named in one official list (lines like `+1,1_1_01_1`), in record order."""
    codes: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        code, _, name = line.strip().partition(",")
        if name:
            codes[name.strip()] = code.strip()
    chosen = [r for r in records if _video_name(r) in codes]
    mislabeled = [r for r in chosen if codes[_video_name(r)].startswith("+") != bool(r.label)]
    if len(chosen) < len(codes):
        logger.warning("%s: %d listed videos not scanned", path, len(codes) - len(chosen))
    if mislabeled:
        logger.warning("%s: %d label codes disagree with the file number", path, len(mislabeled))
    return chosen


def _video_name(record: VideoRecord) -> str:
    """The official name of an OULU-NPU video, e.g. `1_1_01_1`."""
    return record.video_id.rsplit("/", 1)[-1]
