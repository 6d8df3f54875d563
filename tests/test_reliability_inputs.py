"""Hostile inputs against the readers of media, datasets and prepare (issue 13): huge sides,
names that collide or are not UTF-8, unreadable folders and files, folder-name cases and
formats `predict` accepts, faces without a mesh. Crash reproductions run in a subprocess, so
that an abort fails the test instead of killing pytest."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_prepare import BRIGHT, DARK, DIM, MESHLESS, FakeDetector, prepare

from metafas.data.store import read_store
from metafas.datasets import format_scan, scan
from metafas.deploy import Predictor, Scorer, Threshold, collect_inputs
from metafas.faces import CropSettings, Face, NoFaceError, crop_face
from metafas.media import (
    MAX_SIDE,
    FrameSampling,
    InputError,
    probe_video,
    read_frames,
    read_image,
    write_video,
)
from metafas.prepare import format_summary, read_reports


def png(path: Path, width: int, height: int, level: int = BRIGHT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (level,) * 3).save(path)
    return path


def reason_of(read, *args) -> str:
    with pytest.raises(InputError) as caught:
        read(*args)
    return caught.value.reason


OK_ID = "folder/site/live/ok.png"


@pytest.fixture(scope="module")
def huge(tmp_path_factory) -> dict[str, Path]:
    """Sides OpenCV aborts on, in files of a few hundred bytes to a few KB."""
    folder = tmp_path_factory.mktemp("huge")
    wide = np.full((8, 33000, 3), BRIGHT, np.uint8)
    return {
        "wide.png": png(folder / "wide.png", 32768, 8),
        "tall.png": png(folder / "tall.png", 8, 40000),
        "wide.mkv": write_video(folder / "wide.mkv", [wide], codec="ffv1"),
    }


# 1: one bound on sides, checked from the header before any decoder or detector.


def test_huge_sides_are_refused_from_the_header(huge):
    assert all(path.stat().st_size < 20_000 for path in huge.values())
    for name, path in huge.items():
        what = "video frame" if name.endswith(".mkv") else "image"
        reason = reason_of(lambda p=path: list(read_frames(p, FrameSampling(count=2))))
        assert reason.startswith(f"{what} too large") and f"{MAX_SIDE} pixels per side" in reason
    assert "per side" in reason_of(read_image, huge["tall.png"])
    assert "per side" in reason_of(probe_video, huge["wide.mkv"])


def test_the_side_bound_is_inclusive(tmp_path):
    assert read_image(png(tmp_path / "edge.png", MAX_SIDE, 2)).shape == (2, MAX_SIDE, 3)


# The fake detector of the subprocesses does what OpenCV inside MediaPipe does.
ABORTING_DETECTOR = """
import json, os, sys
from pathlib import Path
import numpy as np
from metafas.faces import Face

def detector(image):
    if max(image.shape[:2]) >= 32767:  # OpenCV: dst.cols < SHRT_MAX, a SIGABRT
        os.abort()
    h, w = image.shape[:2]
    return [Face((w / 4, h / 4, 3 * w / 4, 3 * h / 4), 0.9, (w / 3, h / 3), (2 * w / 3, h / 3))]
"""


def run_python(code: str, tmp_path: Path) -> dict:
    """Run `code` in a fresh interpreter; its last stdout line is JSON. An abort fails here."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(ABORTING_DETECTOR) + textwrap.dedent(code))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-2000:]}"
    return json.loads(done.stdout.splitlines()[-1])


def test_prepare_lists_huge_inputs_as_failed_and_never_detects_on_them(huge, tmp_path):
    root = tmp_path / "mine"
    for name, path in huge.items():
        target = root / "site" / ("spoof" if name.endswith(".mkv") else "live") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    png(root / "site/live/ok.png", 64, 48)
    result = run_python(
        f"""
        from metafas.faces import CropSettings
        from metafas.prepare import FaceTools, format_summary, prepare_dataset
        summary = prepare_dataset(
            "folder", Path({str(root)!r}), Path({str(tmp_path / "store")!r}),
            crop=CropSettings(size=32, depth_size=8),
            tools=FaceTools("aborting", lambda score: detector), progress=False,
        )
        print(json.dumps({{"status": summary.exit_status, "text": format_summary(summary)}}))
        """,
        tmp_path,
    )
    assert result["status"] == 3
    failures = [json.loads(line) for line in (tmp_path / "store/failures.jsonl").open()]
    assert {Path(f["path"]).name: f["reason"].split(":")[0] for f in failures} == {
        "wide.png": "image too large",
        "tall.png": "image too large",
        "wide.mkv": "video frame too large",
    }
    assert "wide.png: image too large: 32768x8 pixels" in result["text"]
    assert [f.video_id for f in read_store(tmp_path / "store").frames] == [
        "folder/site/live/ok.png"
    ]


def test_predict_reports_huge_inputs_as_not_scored(huge, tmp_path):
    ok = png(tmp_path / "ok.png", 64, 48)
    paths = [str(p) for p in (*huge.values(), ok)]
    result = run_python(
        f"""
        from metafas.deploy import Predictor, Scorer, Threshold

        class Constant(Scorer):
            def probabilities(self, images):
                return np.full(len(images), 0.7, np.float32)

        scorer = Constant(Path("."), {{"config": {{"model": {{"input_size": 32}}}}}},
                          Threshold(0.5, "fixed"))
        predictor = Predictor(scorer, detector=detector)
        found = [predictor.predict_file(p) for p in {paths!r}]
        print(json.dumps([[p.scored, p.error] for p in found]))
        """,
        tmp_path,
    )
    assert [scored for scored, _ in result] == [False, False, False, True]
    assert all("too large" in error and "per side" in error for _, error in result[:3])


def test_the_mediapipe_detector_never_hands_a_huge_side_to_mediapipe(monkeypatch):
    module = importlib.import_module("metafas.faces.mediapipe_detector")
    monkeypatch.setattr(module, "MAX_SIDE", 64)
    assert module.within_side_limit(np.zeros((8, 400, 3), np.uint8)).shape == (1, 64, 3)
    image = np.arange(50 * 40 * 3, dtype=np.uint8).reshape(50, 40, 3)
    small = module.mesh_region(image, -5, 3, 30)  # as before: a padded crop
    expected = np.asarray(Image.fromarray(image).crop((-5, 3, 25, 33)))
    assert np.array_equal(small, expected)
    assert module.mesh_region(image, -10, -10, 200).shape == (64, 64, 3)  # twice a huge box


# 2: one collision-free naming of the store's files.

COLLIDING = ("张三.png", "李四.png", "a b.png", "a_b.png", "sub/x.png", "sub__x.png")


def test_names_that_sanitise_alike_all_survive_and_resume(tmp_path):
    root = tmp_path / "mine"
    levels = {name: 120 + 12 * i for i, name in enumerate(COLLIDING)}  # a face with a mesh
    for name, level in levels.items():
        png(root / "site/live" / name, 64, 48, level)
    summary = prepare("folder", root, tmp_path / "store")
    assert len(summary.reports) == 6 and summary.exit_status == 0
    store = read_store(tmp_path / "store")
    by_video = {f.video_id: f for f in store.frames}
    assert set(by_video) == {f"folder/site/live/{name}" for name in COLLIDING}
    for name, level in levels.items():  # each keeps its own pixels
        frame = by_video[f"folder/site/live/{name}"]
        mean = np.asarray(Image.open(tmp_path / "store" / frame.image)).mean()
        assert abs(mean - level) < 8
    assert len({f.image for f in store.frames}) == 6
    assert {r.path for r in read_reports(tmp_path / "store")} == {
        str(root / "site/live" / name) for name in COLLIDING
    }  # the original path stays recorded
    again = prepare("folder", root, tmp_path / "store")
    assert again.already_done == 6 and again.reports == []


def test_non_utf8_and_odd_characters_in_names(tmp_path):
    live = tmp_path / "mine/site/live"
    live.mkdir(parents=True)
    odd = os.fsdecode(b"caf\xe9.png")
    for name in (odd, "new\nline, comma.png"):
        png(live / name, 64, 48)
    (live / os.fsdecode(b"n\xf6tes.txt")).write_text("not media")
    summary = prepare("folder", tmp_path / "mine", tmp_path / "store")
    assert summary.exit_status == 0 and summary.faces == 2
    ids = {f.video_id for f in read_store(tmp_path / "store").frames}
    assert ids == {"folder/site/live/caf\\xe9.png", "folder/site/live/new\nline, comma.png"}
    format_summary(summary).encode("utf-8")  # printable
    listing = format_scan(scan("folder", tmp_path / "mine"))
    assert "site/live/n\\xf6tes.txt" in listing.encode("utf-8").decode("utf-8")


# 8 (prepare side): unreadable folders and files are named, never skipped or fatal.


def test_unreadable_folder_and_file_are_reported_and_the_rest_prepared(tmp_path, monkeypatch):
    root = tmp_path / "mine"
    png(root / "site/live/ok.png", 64, 48)
    locked_file = png(root / "site/live/locked.png", 64, 48)
    locked_dir = png(root / "site/spoof/locked/b.png", 64, 48).parent
    os.chmod(locked_file, 0), os.chmod(locked_dir, 0)
    # Root reads anything: make the kernel's answer for these two paths explicit.
    real_scandir, real_open = os.scandir, os.open

    def scandir(path="."):
        if Path(path) == locked_dir:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def open_(path, flags, *args, **kwargs):
        if Path(path) == locked_file:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "open", open_)
    try:
        summary = prepare("folder", root, tmp_path / "store")
    finally:
        os.chmod(locked_file, 0o644), os.chmod(locked_dir, 0o755)
    assert summary.exit_status == 3
    failures = [json.loads(line) for line in (tmp_path / "store/failures.jsonl").open()]
    assert {(f["path"], f["reason"]) for f in failures} == {
        (str(locked_dir), "cannot list folder: Permission denied"),
        (str(locked_file), "cannot read file: Permission denied"),
    }
    text = format_summary(summary)
    assert f"{locked_dir}: cannot list folder" in text and f"{locked_file}: cannot read" in text
    assert [f.video_id for f in read_store(tmp_path / "store").frames] == [
        "folder/site/live/ok.png"
    ]


# 15: the folder cases and formats predict accepts; faces without a mesh kept as predict scores.


class Constant(Scorer):
    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return np.full(len(images), 0.7, np.float32)


def test_folder_cases_and_the_formats_predict_accepts(tmp_path):
    root = tmp_path / "mine"
    png(root / "Site/Live/a.png", 64, 48)
    png(root / "Site/TEST/Spoof/Print/b.png", 64, 48)
    (root / "Site/live").mkdir()
    Image.new("RGB", (64, 48), (BRIGHT,) * 3).save(root / "Site/live/c.gif")
    (root / "Site/Live/phone.heic").write_bytes(b"\0\0\0\x18ftypheic" + bytes(64))
    (root / "Site/Live/notes.txt").write_text("not media")
    png(root / "Site/Live/.hidden.png", 64, 48)
    png(root / "Site/elsewhere/d.png", 64, 48)
    summary = prepare("folder", root, tmp_path / "store")
    frames = read_store(tmp_path / "store").frames
    assert {(f.video_id, f.split, f.label, f.attack) for f in frames} == {
        ("folder/Site/Live/a.png", "train", 1, "none"),
        ("folder/Site/live/c.gif", "train", 1, "none"),
        ("folder/Site/TEST/Spoof/Print/b.png", "test", 0, "print"),
    }
    ignored = summary.ignored
    assert ignored["not an image or video extension"] == 1
    assert ignored["hidden (a name starting with '.')"] == 1
    assert ignored["outside <domain>/[train|dev|test/]<live|spoof>/"] == 1
    if importlib.util.find_spec("pillow_heif") is None:  # not a dependency
        assert "pillow-heif" in next(reason for reason in ignored if reason.startswith(".heic"))
    assert "files ignored: 4 (" in format_summary(summary)


def test_faces_without_a_mesh_are_kept_as_predict_scores_them(tmp_path):
    root = tmp_path / "mine"
    levels = {"bright": BRIGHT, "meshless": MESHLESS, "dim": DIM, "dark": DARK}
    for name, level in levels.items():
        png(root / "site/live" / f"{name}.png", 64, 48, level)
        png(root / "site/test/spoof" / f"{name}.png", 64, 48, level)
    summary = prepare("folder", root, tmp_path / "store")
    store = read_store(tmp_path / "store")
    # predict, on the same files with the same detector and crop, scores the same faces.
    metadata = {"config": {"model": {"input_size": 32}}, "store_info": store.info}
    predictor = Predictor(Constant(Path("."), metadata, Threshold(0.5, "fixed")), FakeDetector())
    scored = {p.path for p in map(predictor.predict_file, collect_inputs([root])) if p.scored}
    kept = {r.path for r in read_reports(tmp_path / "store") if r.kept}
    assert scored == kept and len(kept) == 4
    meshless = next(f for f in store.frames if f.video_id == "folder/site/live/meshless.png")
    depth = np.asarray(Image.open(tmp_path / "store" / meshless.depth))
    assert depth[4, 4] > 200 and depth[0, 0] == 0  # the box template: a face, background
    assert summary.no_mesh == 2 and "faces without a face mesh: 2" in format_summary(summary)


# Found next: faces that cannot be levelled, broken links, unreadable list files.


def test_coinciding_eyes_are_no_usable_face_for_prepare_and_predict():
    image = np.full((40, 40, 3), BRIGHT, np.uint8)
    face = Face((10.0, 10.0, 30.0, 30.0), 0.9, (20.0, 15.0), (20.0, 15.0))
    with pytest.raises(NoFaceError, match="eyes coincide"):
        crop_face(image, lambda _: [face], CropSettings(size=16))


def test_broken_links_and_pipes_say_so(tmp_path):
    link = tmp_path / "gone.jpg"
    link.symlink_to(tmp_path / "absent.jpg")
    assert reason_of(read_image, link) == "broken symbolic link"
    os.mkfifo(tmp_path / "pipe.mp4")  # never opened: opening would block
    assert reason_of(read_image, tmp_path / "pipe.mp4") == "not a regular file: a named pipe"


def test_unreadable_list_file_is_reported_not_fatal(tmp_path, monkeypatch):
    lists = tmp_path / "train_sub_list.txt"
    lists.write_text("02\n")
    (tmp_path / "test_sub_list.txt").write_text("01\n")
    real = Path.read_text

    def read_text(self, *args, **kwargs):
        if self == lists:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    result = scan("msu_mfsd", tmp_path)
    assert result.unreadable == [("train_sub_list.txt", "cannot read list file: Permission denied")]
    assert "unreadable: 1" in format_scan(result)
