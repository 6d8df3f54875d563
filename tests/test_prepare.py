"""`metafas prepare` on fake trees with the official layouts, with a fake face detector; the
real MediaPipe detector on real NUAA frames under the `faces` and `data` markers.

Spawned worker processes import this module for the fake detector, so modules that load torch
(the CLI, the loader) are imported inside the tests that use them.
"""

from __future__ import annotations

import csv
import functools
import json
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metafas.cli.prepare import add_prepare_args, run_prepare
from metafas.data.protocols import get_protocol
from metafas.data.store import read_store
from metafas.datasets import scan
from metafas.faces import CropSettings, Face
from metafas.media import FrameSampling, write_video
from metafas.prepare import FaceTools, PrepareError, prepare_dataset, read_reports

SHARED = Path(__file__).resolve().parents[2] / "shared"
LAYOUTS = SHARED / "dataset_layouts"
REALDATA = SHARED / "realdata"
SPLITS = {"train": "train", "devel": "dev", "dev": "dev", "test": "test"}
# Frame brightness -> what the fake detector finds: a face, a face without a mesh, a
# low-confidence face, no face.
BRIGHT, MESHLESS, DIM, DARK = 160, 230, 70, 10
SIZE = 32
SAMPLING = FrameSampling(count=3)


# A fake detector: one face in the middle of any frame that is not dark.


def hemisphere(cx: float, cy: float, radius: float, n: int = 7) -> np.ndarray:
    """(n*n, 3) points of a hemisphere facing the camera (z = nearness)."""
    u, v = np.meshgrid(np.linspace(-0.9, 0.9, n), np.linspace(-0.9, 0.9, n))
    z = np.sqrt(np.clip(1 - u**2 - v**2, 0, None))
    return np.stack([cx + u.ravel() * radius, cy + v.ravel() * radius, z.ravel() * radius], 1)


class FakeDetector:
    """Scores a frame by its brightness (BRIGHT 0.9, DIM 0.4, ...). `fail_after` raises
    (like a crash) on that call; `calls` counts the frames seen."""

    def __init__(self, fail_after: int | None = None, calls: list | None = None) -> None:
        self.fail_after, self.calls = fail_after, calls if calls is not None else []

    def __call__(self, image: np.ndarray) -> list[Face]:
        self.calls.append(1)
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            raise RuntimeError("simulated crash")
        level = float(image.mean())
        if level < (DARK + DIM) / 2:
            return []
        h, w = image.shape[:2]
        cx, cy, r = w / 2, h / 2, min(h, w) / 4
        score = 0.9 if level > (DIM + BRIGHT) / 2 else 0.4
        mesh = hemisphere(cx, cy, r) if level < (BRIGHT + MESHLESS) / 2 else None
        eyes = (cx - r / 2, cy - r / 4), (cx + r / 2, cy - r / 4)
        return [Face((cx - r, cy - r, cx + r, cy + r), score, *eyes, mesh)]


def build_fake(min_score: float, fail_after: int | None = None, calls: list | None = None):
    return FakeDetector(fail_after, calls)


def fake_tools(**kwargs) -> FaceTools:
    return FaceTools("fake", functools.partial(build_fake, **kwargs))


def prepare(dataset: str, root: Path, out: Path, **kwargs):
    kwargs = {"sampling": SAMPLING, "crop": CropSettings(size=SIZE, depth_size=8), **kwargs}
    kwargs.setdefault("tools", fake_tools())
    return prepare_dataset(dataset, root, out, progress=False, **kwargs)


# Fake trees: a few rows of each layout list, each a tiny video.


def frames_of(levels: list[int]) -> list[np.ndarray]:
    return [np.full((48, 64, 3), level, np.uint8) for level in levels]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """One 6-frame bright clip per container, copied wherever a video is needed."""
    folder = tmp_path_factory.mktemp("clips")
    return {
        ext: write_video(folder / f"clip{ext}", frames_of([BRIGHT] * 6), codec=codec)
        for ext, codec in ((".avi", "mpeg4"), (".mov", "libx264"), (".mp4", "libx264"))
    }


def layout_subset(dataset: str) -> list[dict[str, str]]:
    """One row per (split, label, attack) of a layout list; skip when the lists are absent."""
    path = LAYOUTS / f"{dataset}.csv"
    if not path.is_file():
        pytest.skip(f"layout list absent: {path}")
    chosen: dict[tuple, dict] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] != "enroll":
                chosen.setdefault((row["split"], row["label"], row["attack"]), row)
    return list(chosen.values())


def build_tree(root: Path, rows: list[dict[str, str]], clips: dict[str, Path]) -> Path:
    for row in rows:
        target = root / row["relpath"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clips[target.suffix.lower()], target)
    return root


LAYOUT_DATASETS = ("replay_attack", "casia_fasd", "msu_mfsd", "oulu_npu")


@pytest.fixture(scope="module")
def benchmark_store(tmp_path_factory, clips) -> tuple[Path, dict[str, list[dict]]]:
    """The four benchmark databases (a few videos each) prepared into one store."""
    base = tmp_path_factory.mktemp("bench")
    rows = {}
    for dataset in LAYOUT_DATASETS:
        rows[dataset] = layout_subset(dataset)
        build_tree(base / dataset, rows[dataset], clips)
        summary = prepare(dataset, base / dataset, base / "store")
        assert summary.exit_status == 0 and summary.failed_videos == 0
    return base, rows


@pytest.mark.parametrize("dataset", LAYOUT_DATASETS)
def test_store_has_the_layout_labels_splits_attacks_and_subjects(benchmark_store, dataset):
    base, rows = benchmark_store
    store = read_store(base / "store")
    paths = {
        r.video_id: r.path.relative_to(base / dataset).as_posix()
        for r in scan(dataset, base / dataset).records
    }
    by_row = {row["relpath"]: row for row in rows[dataset]}
    videos = defaultdict(list)
    for frame in store.frames:
        videos[frame.video_id].append(frame)
    ours = {v: f for v, f in videos.items() if v in paths}
    assert {paths[v] for v in ours} == set(by_row)
    for video_id, frames in ours.items():
        row = by_row[paths[video_id]]
        assert {f.domain for f in frames} == {dataset}
        assert {f.split for f in frames} == {SPLITS[row["split"]]}
        assert {f.label for f in frames} == {int(row["label"] == "live")}
        assert {f.attack for f in frames} == {row["attack"]}
        assert {f.subject for f in frames} == {row["subject"]}
        assert [f.frame for f in frames] == [1, 3, 5]  # count:3 of 6 frames
        assert all(bool(f.depth) == (row["label"] == "live") for f in frames)


def test_store_info_records_the_preprocessing(benchmark_store):
    info = read_store(benchmark_store[0] / "store").info
    assert info["preprocessing"] == {
        "crop": {"size": SIZE, "margin": 0.4, "min_score": 0.6, "depth_size": 8},
        "detector": "fake",
        "depth": "mesh_depth, box_depth without a mesh",
        "spoof_check": "no_spoof_depth",
    }
    assert set(info["datasets"]) == set(LAYOUT_DATASETS)
    assert {d["sampling"] for d in info["datasets"].values()} == {"count:3"}


def test_crops_and_depth_maps_have_the_requested_sizes(benchmark_store):
    root = benchmark_store[0] / "store"
    frame = next(f for f in read_store(root).frames if f.depth)
    assert Image.open(root / frame.image).size == (SIZE, SIZE)
    depth = np.asarray(Image.open(root / frame.depth))
    assert depth.shape == (8, 8) and depth.max() > 200 and depth[0, 0] == 0  # face, background


@pytest.mark.parametrize("name", ["OCI_M", "OCI_M@paper", "MI_O"])
def test_benchmark_protocols_select_from_a_prepared_store(benchmark_store, name):
    from metafas.data.loader import protocol_frames

    protocol = get_protocol(name)
    frames = protocol_frames(read_store(benchmark_store[0] / "store"), protocol, val_fraction=0)
    assert set(frames.train) == set(protocol.sources)
    assert {f.split for fs in frames.train.values() for f in fs} == set(protocol.source_splits)
    assert {f.domain for f in frames.target_test} == {protocol.target}
    target_splits = {"train", "test"} if name.endswith("@paper") else {"test"}
    assert {f.split for f in frames.target_test} == target_splits


# NUAA: image sequences, one domain per session.


def nuaa_tree(root: Path, subjects=("0001", "0002"), pictures: int = 4) -> Path:
    for folder in ("ClientRaw", "ImposterRaw"):
        for subject in subjects:
            for session in (1, 2, 3):
                for pic in range(pictures):
                    path = root / folder / subject / f"{subject}_00_00_{session:02d}_{pic}.jpg"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    Image.fromarray(frames_of([BRIGHT])[0]).save(path)
    return root


def test_nuaa_sessions_become_domains(tmp_path):
    from metafas.data.loader import protocol_frames

    prepare("nuaa", nuaa_tree(tmp_path / "nuaa"), tmp_path / "store")
    store = read_store(tmp_path / "store")
    assert store.domains == ["nuaa_s1", "nuaa_s2", "nuaa_s3"]
    splits = {(f.domain, f.split) for f in store.frames}
    assert splits == {("nuaa_s1", "train"), ("nuaa_s2", "train"), ("nuaa_s3", "test")}
    assert {f.attack for f in store.frames if not f.label} == {"printed_photo"}
    assert sorted({f.frame for f in store.frames}) == [0, 2, 3]  # count:3 of 4 pictures
    frames = protocol_frames(store, get_protocol("NUAA_12_3"), val_fraction=0.5)
    assert set(frames.train) == {"nuaa_s1", "nuaa_s2"}
    assert {f.domain for f in frames.target_test} == {"nuaa_s3"}


def test_unreadable_image_frame_is_a_failure_and_the_rest_is_kept(tmp_path):
    root = nuaa_tree(tmp_path / "nuaa")
    broken = root / "ClientRaw" / "0001" / "0001_00_00_01_2.jpg"
    broken.write_bytes(broken.read_bytes()[:40])  # truncated JPEG
    summary = prepare("nuaa", root, tmp_path / "store")
    assert summary.exit_status == 3
    [failure] = summary.failures
    assert failure["path"] == str(broken) and not failure["whole_video"]
    frames = [
        f for f in read_store(tmp_path / "store").frames if f.video_id.endswith("0001/session1")
    ]
    assert sorted(f.frame for f in frames if f.label) == [0, 3]


# Folder layout: the user's domain folders are the domains.


def test_folder_domains_and_images_as_one_frame_videos(tmp_path, clips):
    root = tmp_path / "mine"
    for rel in ("site_a/live/p1/v.mp4", "site_a/spoof/print/p1/v.mp4", "site_b/test/live/p2.mp4"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clips[".mp4"], root / rel)
    (root / "site_b/test/spoof").mkdir(parents=True)
    Image.fromarray(frames_of([BRIGHT])[0]).save(root / "site_b/test/spoof/photo.png")
    prepare("folder", root, tmp_path / "store")
    store = read_store(tmp_path / "store")
    assert store.domains == ["site_a", "site_b"]
    photo = [f for f in store.frames if f.video_id.endswith("photo.png")]
    assert [(f.frame, f.split, f.label, f.depth) for f in photo] == [(0, "test", 0, "")]


# Robustness: corrupt videos, frames without a face, interruption, settings.


def casia_tree(root: Path, clips, n: int = 4) -> Path:
    rows = [r for r in layout_subset("casia_fasd") if r["split"] == "train"][:n]
    return build_tree(root, rows, clips)


@pytest.fixture
def main(monkeypatch):
    """`metafas.cli.main` with the prepare subcommand (as the lead wires it)."""
    import metafas.cli

    monkeypatch.setitem(
        metafas.cli.SUBCOMMANDS, "prepare", (add_prepare_args, run_prepare, "prepare")
    )
    return metafas.cli.main


def run_cli(main, argv: list[str], monkeypatch) -> int:
    """`metafas prepare ...` with the fake detector, 3 frames per video, 32 px crops."""
    monkeypatch.setattr("metafas.prepare.run.mediapipe_tools", fake_tools)
    return main(["prepare", *argv, "--no-progress", "--sampling", "count:3", "--size", "32"])


def test_corrupt_and_truncated_videos_are_listed_and_the_exit_status_says_so(
    tmp_path, clips, main, monkeypatch, capsys
):
    root = casia_tree(tmp_path / "casia", clips)
    corrupt, truncated = root / "train_release/1/1.avi", root / "train_release/1/3.avi"
    corrupt.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    rng = np.random.default_rng(0)
    noisy = [np.clip(rng.normal(BRIGHT, 30, (48, 64, 3)), 0, 255).astype(np.uint8)] * 12
    write_video(truncated, noisy, codec="mpeg4", codec_options={"g": "1"})
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    out = tmp_path / "store"
    assert run_cli(main, ["casia_fasd", "--root", str(root), "--out", str(out)], monkeypatch) == 3
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    by_path = {f["path"]: f for f in failures}
    assert by_path[str(corrupt)]["whole_video"] and by_path[str(corrupt)]["reason"]
    assert by_path[str(truncated)]["reason"].startswith("damaged: decoded 1 frames")
    assert not by_path[str(truncated)]["whole_video"]  # its decodable frame is kept
    store = read_store(out)
    assert "casia_fasd/train/1/1" not in {f.video_id for f in store.frames}
    assert len({f.video_id for f in store.frames}) == 3
    assert "unreadable inputs" in capsys.readouterr().out
    # A rerun retries only the failed video and still reports it.
    assert run_cli(main, ["casia_fasd", "--root", str(root), "--out", str(out)], monkeypatch) == 3
    assert "3 already prepared" in capsys.readouterr().out


@pytest.mark.parametrize("relpath", ["train_release/1/1.avi", "train_release/1/3.avi"])
def test_frames_without_a_usable_face_are_skipped_with_their_reason(tmp_path, relpath):
    path = tmp_path / "casia" / relpath  # 1.avi is live, 3.avi a spoof
    path.parent.mkdir(parents=True)
    write_video(path, frames_of([BRIGHT, DARK, DIM, MESHLESS, BRIGHT, BRIGHT]), codec="mpeg4")
    summary = prepare(
        "casia_fasd", tmp_path / "casia", tmp_path / "store", sampling=FrameSampling(every=1)
    )
    assert summary.skipped == {"no face": 1, "low confidence": 1}
    assert summary.faces == 4 and summary.exit_status == 0 and summary.no_mesh == 1
    lines = (tmp_path / "store/skipped_frames.jsonl").read_text().splitlines()
    skipped = [json.loads(line) for line in lines]
    assert [(s["frame"], s["reason"]) for s in skipped] == [
        (1, "no face"),
        (2, "low confidence 0.40 < 0.6"),
    ]
    # The face without a mesh is kept (predict scores it); a live one gets the box template.
    frames = read_store(tmp_path / "store").frames
    assert [f.frame for f in frames] == [0, 3, 4, 5]
    assert all(bool(f.depth) == relpath.endswith("1.avi") for f in frames)


def test_interrupted_run_resumes_without_redoing_finished_videos(tmp_path, clips):
    root = casia_tree(tmp_path / "casia", clips, n=4)
    out = tmp_path / "store"
    with pytest.raises(RuntimeError, match="simulated crash"):
        prepare("casia_fasd", root, out, tools=fake_tools(fail_after=7))  # mid third video
    with pytest.raises(ValueError, match="unfinished store"):
        read_store(out)
    assert len(list((out / "parts").glob("*.csv"))) == 2
    calls: list = []
    summary = prepare("casia_fasd", root, out, tools=fake_tools(calls=calls))
    assert summary.already_done == 2 and len(summary.reports) == 2 and len(calls) == 6
    fresh = prepare("casia_fasd", root, tmp_path / "fresh")
    assert fresh.already_done == 0
    assert read_store(out).frames == read_store(tmp_path / "fresh").frames
    again = prepare("casia_fasd", root, out, tools=fake_tools(calls=calls))
    assert again.reports == [] and len(calls) == 6 and again.already_done == 4
    assert len(read_reports(out)) == 4


def test_worker_processes_give_the_same_store(tmp_path, clips):
    root = casia_tree(tmp_path / "casia", clips, n=3)
    prepare("casia_fasd", root, tmp_path / "one")
    summary = prepare("casia_fasd", root, tmp_path / "two", workers=2)
    assert summary.faces == 9 and summary.workers == 2
    assert read_store(tmp_path / "one").frames == read_store(tmp_path / "two").frames


def test_other_settings_into_the_same_store_are_refused(tmp_path, clips):
    root = casia_tree(tmp_path / "casia", clips, n=1)
    prepare("casia_fasd", root, tmp_path / "store")
    with pytest.raises(PrepareError, match=r"crop.size 32 \(now 64\)"):
        prepare("casia_fasd", root, tmp_path / "store", crop=CropSettings(size=64, depth_size=8))
    with pytest.raises(PrepareError, match="--sampling count:3"):
        prepare("casia_fasd", root, tmp_path / "store", sampling=FrameSampling(count=5))


def test_empty_root_says_what_it_should_hold(tmp_path):
    with pytest.raises(PrepareError, match="should hold ClientRaw/ and ImposterRaw/"):
        prepare("nuaa", tmp_path, tmp_path / "store")


# CLI: --list, errors, help.


def test_list_only_scans(tmp_path, clips, main, capsys):
    root = casia_tree(tmp_path / "casia", clips, n=2)

    assert main(["prepare", "casia_fasd", "--root", str(root), "--list"]) == 0
    out = capsys.readouterr().out
    assert "CASIA-FASD (casia_fasd)" in out and "2 videos" in out and "missing: 598" in out
    assert not (tmp_path / "store").exists()


def test_missing_out_and_missing_extra_are_explained(tmp_path, main, monkeypatch, capsys):
    assert main(["prepare", "nuaa", "--root", str(tmp_path)]) == 2
    assert "--out is required" in capsys.readouterr().err

    def absent():
        raise ImportError("needs the faces extra: pip install 'metafas[faces]'")

    monkeypatch.setattr("metafas.prepare.run.mediapipe_tools", absent)
    args = ["prepare", "nuaa", "--root", str(tmp_path), "--out", str(tmp_path / "s")]
    assert main(args) == 2
    assert "pip install 'metafas[faces]'" in capsys.readouterr().err


def test_help_describes_the_command():
    import argparse

    parser = argparse.ArgumentParser(description=run_prepare.__doc__)
    add_prepare_args(parser)
    text = parser.format_help()
    for option in ("--root", "--out", "--workers", "--sampling", "--size", "--margin", "--list"):
        assert option in text
    assert "Exit status 3" in text


# The real detector on real NUAA frames.


@pytest.mark.faces
@pytest.mark.data
def test_real_nuaa_frames_through_mediapipe(tmp_path):
    pytest.importorskip("mediapipe")
    source = REALDATA / "nuaa"
    if not source.is_dir():
        pytest.skip(f"real data absent: {source}")
    root = tmp_path / "nuaa"
    for folder in ("ClientRaw", "ImposterRaw"):
        for path in sorted((source / folder / "0001").glob("0001_*_0[13]_*.jpg"))[:40]:
            link = root / folder / "0001" / path.name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
    summary = prepare_dataset(
        "nuaa", root, tmp_path / "store", sampling=FrameSampling(count=2),
        crop=CropSettings(size=64), progress=False,
    )  # fmt: skip
    assert summary.exit_status == 0 and summary.faces >= 0.75 * summary.frames > 0
    store = read_store(tmp_path / "store")
    live = [f for f in store.frames if f.label == 1]
    assert live and all(f.depth for f in live)
    assert "mediapipe" in store.info["preprocessing"]["detector"]
