"""Idiap Replay-Attack reader: `{train,devel,test}/{real,attack/{fixed,hand}}/*.mov`.

Enrolment videos (`enroll/<split>/`) belong to the release but are not PAD data: they are
recognised, left out of the records and counted in a note. Wrapper folders from unpacking the
separate archives (`replayattack-train/train/...`) are tolerated: only the path's end is read.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import NamedTuple

from metafas.datasets.records import (
    LIVE,
    Attack,
    DatasetReader,
    Parsed,
    ScanContext,
    canonical_path,
    make_record,
    split_name,
)

SPLIT_FOLDERS = {"train": "train", "devel": "dev", "test": "test"}
# Client sets per split (bob.db.replay; also listed in shared/dataset_layouts/README.md).
CLIENTS = {
    "train": (1, 2, 4, 6, 7, 8, 12, 16, 18, 25, 27, 103, 105, 108, 110),
    "devel": (3, 5, 10, 15, 17, 22, 29, 30, 101, 111, 113, 114, 116, 118, 119),
    "test": (9, 11, 13, 14, 19, 20, 21, 23, 24, 26, 28, 31, 102, 104, 106, 107, 109, 112, 115, 117),
}


class AttackKind(NamedTuple):
    """How a Replay-Attack attack was made."""

    device: str  # what showed the face to the camera
    sample_device: str  # what took the photo or video that was shown
    sample_type: str  # photo or video
    family: str


ATTACKS = {
    "print_photo": AttackKind("print", "highdef", "photo", "print"),
    "mobile_photo": AttackKind("mobile", "mobile", "photo", "replay"),
    "mobile_video": AttackKind("mobile", "mobile", "video", "replay"),
    "highdef_photo": AttackKind("highdef", "highdef", "photo", "replay"),
    "highdef_video": AttackKind("highdef", "highdef", "video", "replay"),
}
SUPPORTS = ("fixed", "hand")
LIGHTS = ("adverse", "controlled")
TAKES = (1, 2)
VIDEO_EXT = ".mov"
REAL = re.compile(
    r"client(?P<client>\d{3})_session01_webcam_authenticate_(adverse|controlled)_[12]"
)
ATTACK = re.compile(
    r"attack_(?P<device>print|mobile|highdef)_client(?P<client>\d{3})_session01"
    r"_(highdef|mobile)_(?P<sample_type>photo|video)_(adverse|controlled)"
)
ENROLL = re.compile(r"client(?P<client>\d{3})_session01_webcam_enroll_(adverse|controlled)")
# Folders that end a video's path ("{split}" is a split folder), its name pattern, and why it
# is excluded from the PAD data (empty for PAD videos).
SHAPES = (
    (("{split}", "real"), REAL, ""),
    (("{split}", "attack", "fixed"), ATTACK, ""),
    (("{split}", "attack", "hand"), ATTACK, ""),
    (("enroll", "{split}"), ENROLL, "enrolment videos"),
)


def _split_folder(folders: tuple[str, ...], shape: tuple[str, ...]) -> str | None:
    """The split folder if the path's folders end with `shape`, else None."""
    end = folders[-len(shape) :]
    if len(end) != len(shape):
        return None
    split = end[shape.index("{split}")]
    fixed_match = all(want in ("{split}", got) for want, got in zip(shape, end, strict=True))
    return split if fixed_match and split in SPLIT_FOLDERS else None


def _attack(match: re.Match[str]) -> Attack | None:
    """The attack named by a matched file name: live for real and enrolment names."""
    if "device" not in match.groupdict():
        return LIVE
    name = f"{match['device']}_{match['sample_type']}"
    return Attack(name, ATTACKS[name].family) if name in ATTACKS else None


def parse(rel: PurePosixPath, ctx: ScanContext) -> Parsed | None:
    """Recognise one Replay-Attack video (PAD or enrolment); None for any other file."""
    stem, ext = split_name(rel)
    folders = rel.parts[:-1]
    for shape, pattern, excluded in SHAPES:
        split_folder = _split_folder(folders, shape)
        match = pattern.fullmatch(stem)
        attack = _attack(match) if match else None
        if ext != VIDEO_EXT or split_folder is None or match is None or attack is None:
            continue
        canonical = canonical_path(folders[-len(shape) :], stem, ext)
        record = make_record(
            ctx,
            rel,
            dataset="replay_attack",
            split=SPLIT_FOLDERS[split_folder],
            subject=f"client{match['client']}",
            video_id=f"replay_attack/{canonical[: -len(ext)]}",
            attack=attack,
        )
        return Parsed(canonical, record, excluded=excluded)
    return None


def _expected_for_client(split: str, client: int) -> set[str]:
    real = {
        f"{split}/real/client{client:03d}_session01_webcam_authenticate_{light}_{take}"
        for light in LIGHTS
        for take in TAKES
    }
    attacks = {
        f"{split}/attack/{support}/attack_{kind.device}_client{client:03d}_session01"
        f"_{kind.sample_device}_{kind.sample_type}_{light}"
        for kind in ATTACKS.values()
        for support in SUPPORTS
        for light in LIGHTS
    }
    enroll = {
        f"enroll/{split}/client{client:03d}_session01_webcam_enroll_{light}" for light in LIGHTS
    }
    return {name + VIDEO_EXT for name in real | attacks | enroll}


def expected(ctx: ScanContext) -> set[str]:
    """The 1300 official names: per client 4 real and 20 attack videos, and 2 enrolment ones."""
    names: set[str] = set()
    for split, clients in CLIENTS.items():
        for client in clients:
            names |= _expected_for_client(split, client)
    return names


READER = DatasetReader(
    name="replay_attack",
    title="Idiap Replay-Attack",
    layout="train/, devel/, test/ (each with real/ and attack/{fixed,hand}/), optionally enroll/",
    parse=parse,
    expected=expected,
)
