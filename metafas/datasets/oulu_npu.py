"""OULU-NPU reader: `{Train,Dev,Test}_files/{Phone}_{Session}_{User}_{File}.avi`."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from metafas.datasets.records import (
    LIVE,
    Attack,
    DatasetReader,
    Parsed,
    ScanContext,
    canonical_path,
    make_record,
    split_name,
    tail,
)

SPLIT_FOLDERS = {"Train_files": "train", "Dev_files": "dev", "Test_files": "test"}
SPLIT_USERS = {"train": range(1, 21), "dev": range(21, 36), "test": range(36, 56)}
PHONES = range(1, 7)
SESSIONS = range(1, 4)
# The file number is the access type: 1 live, 2-3 print, 4-5 display (replay).
ACCESS_TYPES = {
    1: LIVE,
    2: Attack("print1", "print"),
    3: Attack("print2", "print"),
    4: Attack("replay1", "replay"),
    5: Attack("replay2", "replay"),
}
VIDEO_EXT = ".avi"
NAME = re.compile(r"([1-6])_([1-3])_(\d\d)_([1-5])")
PROTOCOL_LIST = r"(Protocols/Protocol_[1-4]/(?:Train|Dev|Test)(?:_[1-6])?\.txt)"


def parse_name(name: str) -> tuple[int, int, int, int] | None:
    """Phone, session, user and access type (file number) from a video stem like `1_2_05_3`."""
    match = NAME.fullmatch(name)
    if match is None:
        return None
    phone, session, user, access = (int(group) for group in match.groups())
    return phone, session, user, access


def parse(rel: PurePosixPath, ctx: ScanContext) -> Parsed | None:
    """Recognise one OULU-NPU video; None for any other file."""
    parts = tail(rel, 2)
    stem, ext = split_name(rel)
    codes = parse_name(stem)
    if parts is None or parts[0] not in SPLIT_FOLDERS or ext != VIDEO_EXT or codes is None:
        return None
    _, session, user, access = codes
    record = make_record(
        ctx,
        rel,
        dataset="oulu_npu",
        split=SPLIT_FOLDERS[parts[0]],
        subject=f"user{user:02d}",
        video_id=f"oulu_npu/{stem}",
        attack=ACCESS_TYPES[access],
        session=str(session),
    )
    return Parsed(canonical_path(parts[:1], stem, ext), record)


def expected(ctx: ScanContext) -> set[str]:
    """The 4950 official names: every phone, session, user of the split and file number."""
    return {
        f"{folder}/{phone}_{session}_{user:02d}_{access}{VIDEO_EXT}"
        for folder, split in SPLIT_FOLDERS.items()
        for user in SPLIT_USERS[split]
        for phone in PHONES
        for session in SESSIONS
        for access in ACCESS_TYPES
    }


READER = DatasetReader(
    name="oulu_npu",
    title="OULU-NPU",
    layout="Train_files/, Dev_files/, Test_files/ holding Phone_Session_User_File.avi videos",
    parse=parse,
    expected=expected,
    list_files=PROTOCOL_LIST,
)
