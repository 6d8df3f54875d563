"""Database readers on fake trees with the official layouts, and NUAA on real frames."""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from metafas.datasets import (
    OULU_PROTOCOLS,
    READERS,
    casia_quality,
    format_scan,
    oulu_protocol,
    scan,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
LAYOUTS = SHARED / "dataset_layouts"
NUAA_REAL = SHARED / "realdata" / "nuaa"
LAYOUT_DATASETS = ("replay_attack", "casia_fasd", "msu_mfsd", "oulu_npu")
SPLIT_NAMES = {"train": "train", "devel": "dev", "dev": "dev", "test": "test"}
PUBLISHED_TOTALS = {
    "replay_attack": {"train": 360, "dev": 360, "test": 480},
    "casia_fasd": {"train": 240, "test": 360},
    "msu_mfsd": {"train": 120, "test": 160},
    "oulu_npu": {"train": 1800, "dev": 1350, "test": 1800},
}
# Frames per session in the NUAA subsample (shared/realdata/README.md): (live, spoof).
NUAA_FRAMES = {"1": (448, 429), "2": (430, 464), "3": (676, 1180)}


def layout_rows(dataset: str) -> list[dict[str, str]]:
    """The rows of one layout CSV; skips the test when the shared folder is absent."""
    path = LAYOUTS / f"{dataset}.csv"
    if not path.is_file():
        pytest.skip(f"layout list absent: {path}")
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def pad_rows(dataset: str) -> list[dict[str, str]]:
    """The layout rows of PAD videos (Replay-Attack's enrolment videos left out)."""
    return [row for row in layout_rows(dataset) if row["split"] != "enroll"]


def make_tree(root: Path, relpaths: list[str]) -> Path:
    """Empty files at `relpaths` under `root`: readers never open video files."""
    for relpath in relpaths:
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return root


@pytest.fixture(scope="module")
def layout_tree(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build (once per dataset) the full official tree of a layout CSV."""
    trees: dict[str, Path] = {}

    def build(dataset: str) -> Path:
        if dataset not in trees:
            root = tmp_path_factory.mktemp(dataset)
            trees[dataset] = make_tree(root, [row["relpath"] for row in layout_rows(dataset)])
        return trees[dataset]

    return build


@pytest.mark.parametrize("dataset", LAYOUT_DATASETS)
def test_reader_finds_every_listed_video(dataset: str, layout_tree: Callable[[str], Path]) -> None:
    root = layout_tree(dataset)
    result = scan(dataset, root)
    found = {record.path.relative_to(root).as_posix(): record for record in result.records}
    rows = {row["relpath"]: row for row in pad_rows(dataset)}
    assert found.keys() == rows.keys()
    for relpath, row in rows.items():
        record = found[relpath]
        assert record.split == SPLIT_NAMES[row["split"]], relpath
        assert record.label == int(row["label"] == "live"), relpath
        assert (record.attack, record.attack_family) == (row["attack"], row["attack_family"])
        assert record.subject == row["subject"], relpath
        assert record.dataset == record.domain == dataset
        assert record.path.is_absolute() and record.frames == ()
    assert len({record.video_id for record in result.records}) == len(rows)
    assert result.missing == [] and result.ignored == []


@pytest.mark.parametrize("dataset", LAYOUT_DATASETS)
def test_published_totals(dataset: str, layout_tree: Callable[[str], Path]) -> None:
    records = scan(dataset, layout_tree(dataset)).records
    assert Counter(record.split for record in records) == PUBLISHED_TOTALS[dataset]


@pytest.mark.parametrize("dataset", LAYOUT_DATASETS)
def test_generated_expected_names_equal_the_official_lists(dataset: str, tmp_path: Path) -> None:
    result = scan(dataset, tmp_path)
    assert result.records == []
    assert result.missing == sorted(row["relpath"] for row in layout_rows(dataset))
    assert "no videos found" in format_scan(result)


def test_replay_enrolment_videos_are_reported_not_used(layout_tree: Callable[[str], Path]) -> None:
    result = scan("replay_attack", layout_tree("replay_attack"))
    assert not any("enroll" in record.video_id for record in result.records)
    assert "100 enrolment videos found, not PAD data: excluded" in result.notes


def test_replay_tolerates_archive_wrapper_folders(tmp_path: Path) -> None:
    relpaths = [row["relpath"] for row in layout_rows("replay_attack")]
    make_tree(tmp_path, [f"replayattack-{path.split('/')[0]}/{path}" for path in relpaths])
    result = scan("replay_attack", tmp_path)
    assert len(result.records) == 1200 and result.missing == []


def test_missing_and_unrelated_files_are_reported(tmp_path: Path) -> None:
    relpaths = [row["relpath"] for row in layout_rows("casia_fasd")]
    gone = "test_release/7/HR_3.avi"
    unrelated = [".DS_Store", "train_release/1/1.face", "train_release/1/._2.avi", "notes.txt"]
    make_tree(tmp_path, [path for path in relpaths if path != gone] + unrelated)
    result = scan("casia_fasd", tmp_path)
    assert result.missing == [gone]
    assert sorted(result.ignored) == sorted(unrelated) and result.n_ignored == len(unrelated)
    assert len(result.records) == 599
    summary = format_scan(result)
    assert "missing: 1 expected files absent: test_release/7/HR_3.avi" in summary
    assert "ignored: 4 unrelated files" in summary


def test_second_copy_of_a_video_is_ignored(tmp_path: Path) -> None:
    make_tree(tmp_path, ["a/train_release/1/1.avi", "b/train_release/1/1.avi"])
    result = scan("casia_fasd", tmp_path)
    assert [record.video_id for record in result.records] == ["casia_fasd/train/1/1"]
    assert result.ignored == ["b/train_release/1/1.avi"]


def test_casia_quality_follows_the_video_code(layout_tree: Callable[[str], Path]) -> None:
    root = layout_tree("casia_fasd")
    rows = {row["relpath"]: row["quality"] for row in layout_rows("casia_fasd")}
    for record in scan("casia_fasd", root).records:
        assert casia_quality(record) == rows[record.path.relative_to(root).as_posix()]


def test_msu_split_follows_the_subject_lists_in_the_root(tmp_path: Path) -> None:
    make_tree(tmp_path, [row["relpath"] for row in layout_rows("msu_mfsd")])
    train = ["02", "03", "05", "06", "07", "08", "09", "11", "12", "21", "22", "34", "53", "54"]
    (tmp_path / "train_sub_list.txt").write_text("\n".join(train) + "\n")  # 55 moved to test
    (tmp_path / "test_sub_list.txt").write_text("55\n01\n13\n14\n23\n24\n26\n28\n29\n30\n")
    result = scan("msu_mfsd", tmp_path)
    splits = {record.subject: record.split for record in result.records}
    assert splits["client055"] == "test" and splits["client002"] == "train"
    assert "client032" not in splits  # in no list: not assigned a split
    assert "train_sub_list.txt" not in result.ignored
    assert any("differ from the official" in note for note in result.notes)


def test_oulu_protocol_rules_match_the_official_membership(
    layout_tree: Callable[[str], Path],
) -> None:
    records = scan("oulu_npu", layout_tree("oulu_npu")).records
    wanted: dict[tuple[str, str], set[str]] = {}
    for row in layout_rows("oulu_protocols"):
        wanted.setdefault((row["protocol"], row["split"]), set()).add(row["relpath"])
    for protocol in OULU_PROTOCOLS:
        splits = oulu_protocol(records, protocol, source="rules")
        for split, chosen in splits.items():
            names = {f"{r.path.parent.name}/{r.path.name}" for r in chosen}
            assert names == wanted[(protocol, split)], (protocol, split)


def test_oulu_protocol_reads_the_official_lists(tmp_path: Path, caplog) -> None:
    rows = [row for row in layout_rows("oulu_protocols") if row["protocol"] == "1"]
    make_tree(tmp_path, sorted({row["relpath"] for row in rows}))
    lines: dict[str, list[str]] = {}
    for row in rows[1:]:  # the first listed video is left out of Train.txt
        lines.setdefault(row["official_list"], []).append(row["official_line_reconstructed"])
    for relpath, text in lines.items():
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text("\n".join(text) + "\n")
    result = scan("oulu_npu", tmp_path)
    assert result.n_ignored == 0
    with caplog.at_level(logging.INFO):
        splits = oulu_protocol(result.records, "1")
    assert "official lists" in caplog.text
    assert [len(splits[split]) for split in ("train", "dev", "test")] == [1199, 900, 600]
    with pytest.raises(FileNotFoundError, match="Protocol_2"):
        oulu_protocol(result.records, "2", source="lists")


def test_oulu_protocol_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="known: 1, 2, 3_1"):
        oulu_protocol([], "3")


def test_unknown_dataset_and_missing_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset 'oulu'; known: casia_fasd, folder"):
        scan("oulu", tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        scan("nuaa", tmp_path / "nowhere")
    assert set(READERS) == {*LAYOUT_DATASETS, "nuaa", "folder"}


def test_nuaa_groups_frames_by_subject_session_and_class(tmp_path: Path) -> None:
    frames = ["0001_00_00_01_10.jpg", "0001_00_00_01_2.jpg", "0001_01_00_02_0.jpg"]
    make_tree(tmp_path, [f"ClientRaw/0001/{name}" for name in frames])
    make_tree(tmp_path, ["ImposterRaw/0001/0001_00_01_03_5.jpg", "ClientRaw/0001/Thumbs.db"])
    listed = "0001\\0001_00_00_01_2.jpg\r\n0001\\0001_00_00_01_99.jpg\r\n"
    (tmp_path / "client_train_raw.txt").write_text(listed)
    result = scan("nuaa", tmp_path)
    videos = {record.video_id: record for record in result.records}
    live = ["nuaa/live/0001/session1", "nuaa/live/0001/session2"]
    assert sorted(videos) == [*live, "nuaa/spoof/0001/session3"]
    first = videos["nuaa/live/0001/session1"]
    assert [frame.name for frame in first.frames] == frames[1::-1]  # picNo 2 before 10
    assert (first.split, first.label, first.session, first.path) == (
        "train",
        1,
        "1",
        first.frames[0],
    )
    spoof = videos["nuaa/spoof/0001/session3"]
    assert (spoof.split, spoof.label, spoof.attack_family) == ("test", 0, "print")
    assert result.missing == ["ClientRaw/0001/0001_00_00_01_99.jpg"]
    assert result.ignored == ["ClientRaw/0001/Thumbs.db"]


@pytest.mark.data
def test_nuaa_real_subsample_matches_its_readme() -> None:
    if not NUAA_REAL.is_dir():
        pytest.skip(f"real NUAA subsample absent: {NUAA_REAL}")
    result = scan("nuaa", NUAA_REAL)
    frames: Counter[tuple[str | None, int]] = Counter()
    for record in result.records:
        frames[(record.session, record.label)] += len(record.frames)
        assert record.split == ("test" if record.session == "3" else "train")
    assert {s: (frames[(s, 1)], frames[(s, 0)]) for s in NUAA_FRAMES} == NUAA_FRAMES
    assert result.missing == [] and result.ignored == ["readme.txt"]


def test_folder_layout_with_and_without_split_folders(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        [
            "lab/live/alice/a.JPG",
            "lab/spoof/print/alice/b.mp4",
            "lab/spoof/c.png",
            "phone/test/live/d.mov",
            "phone/test/spoof/replay/e.avi",
            "phone/notes.txt",
            "lab/live/.DS_Store",
        ],
    )
    result = scan("folder", tmp_path)
    found = {record.video_id: record for record in result.records}
    fields = {
        key: (r.domain, r.split, r.label, r.attack_family, r.subject, len(r.frames))
        for key, r in found.items()
    }
    assert fields == {
        "folder/lab/live/alice/a.jpg": ("lab", "train", 1, "none", "lab/alice", 1),
        "folder/lab/spoof/print/alice/b.mp4": ("lab", "train", 0, "print", "lab/alice", 0),
        "folder/lab/spoof/c.png": ("lab", "train", 0, "unknown", "lab/c", 1),
        "folder/phone/test/live/d.mov": ("phone", "test", 1, "none", "phone/d", 0),
        "folder/phone/test/spoof/replay/e.avi": ("phone", "test", 0, "replay", "phone/e", 0),
    }
    assert sorted(result.ignored) == ["lab/live/.DS_Store", "phone/notes.txt"]
    assert "domain  split  label  attack" in format_scan(result)
