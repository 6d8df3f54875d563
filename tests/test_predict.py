"""`metafas predict`: crops as prepare makes them, per-input errors, thresholds and their rules,
text/JSON/CSV output, exit status, and checkpoints that are never unpickled. A fake face
detector stands in for MediaPipe; the real one runs on the realdata samples under markers."""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from metafas.cli.deploy import add_predict_args, run_predict
from metafas.deploy import Predictor, choose_threshold, collect_inputs, load_scorer
from metafas.deploy.crops import crop_settings, resize
from metafas.faces import CropSettings, Face, crop_face
from metafas.media import FrameSampling, write_video
from metafas.training.checkpoint import CheckpointError, mark_latest, save_checkpoint
from metafas.training.config import resolve_config
from metafas.training.runs import build_method

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
PREPARED = {
    "written_by": "metafas prepare",
    "preprocessing": {
        "crop": {"size": 48, "margin": 0.2, "min_score": 0.5, "depth_size": 6},
        "detector": "mediapipe 0.10.21 short-range face detection + face mesh",
    },
}


def centre_detector(image: np.ndarray) -> list[Face]:
    """A fake detector: a face in the middle of any image that is not black."""
    if image.mean() < 5:
        return []
    h, w = image.shape[:2]
    box = (0.25 * w, 0.2 * h, 0.75 * w, 0.8 * h)
    return [Face(box, 0.95, (0.4 * w, 0.4 * h), (0.6 * w, 0.4 * h))]


def make_checkpoint(path: Path, threshold: dict | None = None, store_info: dict | None = None):
    """A tiny-preset checkpoint with random weights, written as training writes them."""
    config = resolve_config("tiny")
    method = build_method(config)
    state = {
        "step": 1,
        "config": config.to_dict(),
        "threshold": threshold,
        "store_info": store_info or {},
    }
    return save_checkpoint(path, method.network, state)


def photo(path: Path, seed: int = 0, size: tuple[int, int] = (90, 70), black=False) -> Path:
    rng = np.random.default_rng(seed)
    pixels = (
        np.zeros((*size[::-1], 3), np.uint8) if black else rng.integers(30, 255, (*size[::-1], 3))
    )
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def video(path: Path, frames: int = 6) -> Path:
    rng = np.random.default_rng(1)
    write_video(path, [rng.integers(40, 255, (48, 64, 3), dtype=np.uint8) for _ in range(frames)])
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "step_0000001", store_info=PREPARED)


@pytest.fixture
def media(tmp_path) -> Path:
    folder = tmp_path / "media"
    (folder / "sub").mkdir(parents=True)
    photo(folder / "a.jpg", 0)
    photo(folder / "sub" / "b.png", 1)
    video(folder / "sub" / "c.mp4")
    (folder / "notes.txt").write_text("not media")
    return folder


def cli(argv: list[str], detector=centre_detector, monkeypatch=None) -> int:
    """Run the predict subcommand as the console script would, with a fake detector."""
    parser = argparse.ArgumentParser(prog="metafas predict")
    add_predict_args(parser)
    if monkeypatch is not None:
        monkeypatch.setattr("metafas.deploy.predict.default_detector", lambda *a: detector)
    return run_predict(parser.parse_args(argv))


def test_scores_match_prepare_crops_and_method_predict(checkpoint, media):
    scorer = load_scorer(checkpoint)
    predictor = Predictor(scorer, centre_detector, FrameSampling(count=4))
    assert predictor.settings == CropSettings(size=48, margin=0.2, min_score=0.5, depth_size=6)
    image = np.asarray(Image.open(media / "a.jpg").convert("RGB"))
    crop = crop_face(image, centre_detector, predictor.settings)
    crop = resize(crop.image, scorer.input_size)
    expected = scorer.method.predict(torch.tensor(crop).permute(2, 0, 1)[None] / 255.0)
    prediction = predictor.predict_file(media / "a.jpg")
    assert prediction.scored and prediction.live_probability == pytest.approx(float(expected[0]))
    assert prediction.frames[0]["face_box"] == pytest.approx([22.5, 14.0, 67.5, 56.0])


def test_video_is_the_mean_of_its_sampled_frames(checkpoint, media):
    predictor = Predictor(load_scorer(checkpoint), centre_detector, FrameSampling(count=4))
    prediction = predictor.predict_file(media / "sub" / "c.mp4")
    frames = prediction.frames
    assert prediction.frames_sampled == 4 and [f["index"] for f in frames] == [0, 2, 3, 5]
    mean = np.mean([f["live_probability"] for f in frames])
    assert prediction.live_probability == pytest.approx(mean)
    assert prediction.decision == ("live" if mean >= 0.5 else "spoof")


def test_folders_are_recursed_for_media_only(media):
    found = collect_inputs([media, media / "notes.txt"])
    names = [p.relative_to(media).as_posix() for p in found]
    assert names == ["a.jpg", "sub/b.png", "sub/c.mp4", "notes.txt"]


@pytest.mark.parametrize(
    ("stored", "fixed", "expected"),
    [
        (None, None, (0.5, "default_0.5")),
        (
            {"rule": "source_val_eer", "value": 0.31, "level": "video", "step": 4},
            None,
            (0.31, "source_val_eer"),
        ),
        ({"rule": "source_val_eer", "value": 0.31}, 0.7, (0.7, "fixed")),
        (None, 0.0, (0.0, "fixed")),
    ],
)
def test_threshold_and_its_rule(stored, fixed, expected):
    threshold = choose_threshold({"threshold": stored}, fixed)
    assert (threshold.value, threshold.rule) == expected
    assert threshold.decide(expected[0]) == "live"


def test_threshold_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        choose_threshold({}, 1.5)


def test_bad_inputs_get_error_lines_and_the_rest_is_scored(checkpoint, media, monkeypatch, capsys):
    (media / "garbage.jpg").write_bytes(os.urandom(300))
    photo(media / "black.png", black=True)
    argv = [str(checkpoint), str(media), str(media / "notes.txt"), str(media / "missing.png")]
    assert cli(argv, monkeypatch=monkeypatch) == 3
    captured = capsys.readouterr()
    lines = dict(line.split("  ", 1) for line in captured.out.splitlines())
    assert lines[str(media / "black.png")] == "error (no_face): no face in the image"
    assert lines[str(media / "garbage.jpg")].startswith("error (input): ")
    assert lines[str(media / "notes.txt")].startswith("error (input): ")
    assert lines[str(media / "missing.png")] == "error (input): no such file"
    for name in ("a.jpg", "sub/b.png", "sub/c.mp4"):
        assert "threshold 0.5000 (default_0.5)" in lines[str(media / name)]
    assert "4 of 7 inputs could not be scored" in captured.err


def test_json_and_csv_outputs(checkpoint, media, monkeypatch, tmp_path, capsys):
    assert (
        cli(
            [str(checkpoint), str(media / "sub"), "--json", "-", "--threshold", "0.25"],
            monkeypatch=monkeypatch,
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    fixed = {"value": 0.25, "rule": "fixed", "level": None, "choice": None}
    fixed |= {"interval": None, "note": None}
    assert document["thresholds"] == {"frame": fixed, "video": fixed}  # --threshold: both levels
    assert [p["frames_sampled"] for p in document["predictions"]] == [1, 6]
    assert [p["level"] for p in document["predictions"]] == ["frame", "video"]
    target = tmp_path / "out.csv"
    assert (
        cli([str(checkpoint), str(media / "a.jpg"), "--csv", str(target)], monkeypatch=monkeypatch)
        == 0
    )
    (row,) = list(csv.DictReader(io.StringIO(target.read_text())))
    assert row["threshold_rule"] == "default_0.5" and row["frames_scored"] == "1"
    assert row["decision"] == ("live" if float(row["live_probability"]) >= 0.5 else "spoof")


def test_no_detect_scores_the_whole_frame(checkpoint, media, monkeypatch, capsys):
    photo(media / "black.png", black=True)

    def refuse(*args):
        raise AssertionError("no detector with --no-detect")

    monkeypatch.setattr("metafas.deploy.predict.default_detector", refuse)
    parser = argparse.ArgumentParser()
    add_predict_args(parser)
    assert (
        run_predict(
            parser.parse_args(
                [str(checkpoint), str(media / "black.png"), "--no-detect", "--json", "-"]
            )
        )
        == 0
    )
    (prediction,) = json.loads(capsys.readouterr().out)["predictions"]
    assert prediction["frames"][0]["face_box"] == [0.0, 0.0, 90.0, 70.0]


def test_run_directory_uses_its_latest_checkpoint_and_threshold(tmp_path, media):
    checkpoints = tmp_path / "run" / "checkpoints"
    stored = {"rule": "source_val_eer", "value": 0.42, "level": "video", "step": 4}
    make_checkpoint(checkpoints / "step_0000002")
    mark_latest(checkpoints, make_checkpoint(checkpoints / "step_0000004", threshold=stored))
    scorer = load_scorer(tmp_path / "run")
    assert scorer.source.name == "step_0000004"
    assert (scorer.threshold.value, scorer.threshold.rule) == (0.42, "source_val_eer")
    prediction = Predictor(scorer, centre_detector).predict_file(media / "a.jpg")
    assert (prediction.threshold, prediction.threshold_rule) == (0.42, "source_val_eer")


def test_simulated_training_data_is_warned_about(checkpoint, tmp_path, media, monkeypatch, caplog):
    simulated = make_checkpoint(tmp_path / "sim", store_info={"source": "simulator", "size": 64})
    assert crop_settings({"source": "simulator", "size": 64}, 32) == CropSettings(size=32)
    with caplog.at_level(logging.WARNING):
        assert cli([str(simulated), str(media / "a.jpg")], monkeypatch=monkeypatch) == 0
    assert "trained on simulated faces" in caplog.text


def pickle_payload(marker: Path) -> bytes:
    """Bytes that create `marker` when unpickled (what a malicious checkpoint would do)."""

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    return pickle.dumps(Exploit())


@pytest.mark.parametrize("layout", ["renamed_safetensors", "pt_file", "pt_in_directory"])
def test_pickled_checkpoints_are_refused_without_running_code(checkpoint, tmp_path, layout):
    probe = tmp_path / "probe_marker"
    pickle.loads(pickle_payload(probe))  # the payload is live: unpickling runs code
    assert probe.exists()
    marker = tmp_path / "marker"
    payload = pickle_payload(marker)
    target = tmp_path / "evil"
    if layout == "renamed_safetensors":
        make_checkpoint(target)
        (target / "model.safetensors").write_bytes(payload)
    elif layout == "pt_file":
        target = tmp_path / "model.pt"
        target.write_bytes(payload)
    else:
        target.mkdir()
        (target / "model.pt").write_bytes(payload)
    with pytest.raises(CheckpointError, match="never unpickles"):
        load_scorer(target)
    assert not marker.exists()


@pytest.mark.data
@pytest.mark.faces
def test_real_detector_on_realdata_samples(checkpoint, capsys):
    pytest.importorskip("mediapipe")
    if not REALDATA.is_dir():
        pytest.skip("shared/realdata is absent")
    parser = argparse.ArgumentParser()
    add_predict_args(parser)
    samples = [str(REALDATA / "silentface_samples"), str(REALDATA / "zalo2022_sample")]
    assert run_predict(parser.parse_args([str(checkpoint), *samples, "--sampling", "count:2"])) == 0
    assert len(capsys.readouterr().out.splitlines()) == 6
