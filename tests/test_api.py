"""The Python API: `metafas.load(...).score(...)` on every kind of input, the same crops, scores
and warnings as `metafas predict`, a light `import metafas`, and the README's example run as
written. A fake face detector stands in for MediaPipe."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_predict import PREPARED, centre_detector, make_checkpoint, photo, video

import metafas
from metafas.deploy import Predictor, load_scorer
from metafas.extras import MissingExtraError
from metafas.faces import NoFaceError
from metafas.media import FrameSampling, InputError
from metafas.training.checkpoint import mark_latest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("api") / "step_0000001", store_info=PREPARED)


@pytest.fixture
def detector(checkpoint):
    return metafas.load(checkpoint, detect=centre_detector, device="cpu")


def test_a_path_scores_as_predict_does(detector, checkpoint, tmp_path):
    image = photo(tmp_path / "a.png")
    result = detector.score(image)
    expected = Predictor(load_scorer(checkpoint), centre_detector).predict_file(image)
    assert result.live_probability == pytest.approx(expected.live_probability, abs=1e-6)
    assert result.decision == expected.decision == ("live" if result.is_live else "spoof")
    assert (result.threshold, result.threshold_rule) == (0.5, "default_0.5")
    assert result.face_box == tuple(expected.frames[0]["face_box"])
    assert result.face_score == 0.95 and result.frames_sampled == 1


def test_pil_images_arrays_and_frame_lists(detector, tmp_path):
    image = photo(tmp_path / "a.png")
    pixels = np.asarray(Image.open(image).convert("RGB"))
    from_path = detector.score(image).live_probability
    assert detector.score(Image.open(image)).live_probability == pytest.approx(from_path)
    assert detector.score(pixels).live_probability == pytest.approx(from_path)
    other = np.asarray(Image.open(photo(tmp_path / "b.png", seed=1)).convert("RGB"))
    frames = detector.score([pixels, Image.fromarray(other)])
    single = [detector.score(p).live_probability for p in (pixels, other)]
    assert frames.live_probability == pytest.approx(np.mean(single))
    assert [f["index"] for f in frames.frames] == [0, 1] and frames.frames_sampled == 2
    stacked = detector.score(np.stack([pixels, other]))
    assert stacked.live_probability == pytest.approx(frames.live_probability)


def test_a_video_file_is_the_mean_of_its_sampled_frames(checkpoint, tmp_path):
    detector = metafas.load(checkpoint, detect=centre_detector, sampling="count:3")
    result = detector.score(video(tmp_path / "c.mp4"))
    assert result.frames_sampled == 3 and len(result.frames) == 3
    mean = np.mean([f["live_probability"] for f in result.frames])
    assert result.live_probability == pytest.approx(mean)


def test_every_field_of_the_prediction_is_passed_through(detector, tmp_path):
    result = detector.score(photo(tmp_path / "a.png"))
    prediction = detector.predictor.predict_file(tmp_path / "a.png").to_dict()
    for name in set(prediction) - {"path", "error", "error_kind", "frames"}:
        assert getattr(result, name) == prediction[name], name
    assert list(result.frames) == prediction["frames"]
    assert (result.level, result.threshold_level) == ("frame", None)  # default threshold
    assert detector.score([np.asarray(Image.open(tmp_path / "a.png"))] * 2).level == "video"


def test_errors_are_raised(detector, tmp_path):
    with pytest.raises(NoFaceError, match="no face"):
        detector.score(np.zeros((40, 40, 3), np.uint8))  # the fake detector sees no face
    with pytest.raises(InputError, match="no such file"):
        detector.score(tmp_path / "missing.jpg")
    with pytest.raises(InputError, match=r"\(H, W, 3\) uint8"):
        detector.score(np.zeros((40, 40, 3), np.float32))
    with pytest.raises(InputError, match="too large"):
        metafas.load(detector.scorer.source, detect=False, max_pixels=100).score(
            np.zeros((20, 20, 3), np.uint8)
        )
    with pytest.raises(TypeError, match="non-empty list"):
        detector.score([])


def test_options_threshold_no_detection_and_runtime(checkpoint, tmp_path):
    image = photo(tmp_path / "a.png", size=(50, 40))
    fixed = metafas.load(checkpoint, threshold=0.0, detect=False, runtime="torch")
    result = fixed.score(image)
    assert (result.decision, result.threshold_rule) == ("live", "fixed")
    assert result.face_box == (0.0, 0.0, 50.0, 40.0) and result.face_score is None
    assert "runtime='torch'" in repr(fixed) and "detect=False" in repr(fixed)
    with pytest.raises(ValueError, match="unknown runtime"):
        metafas.load(checkpoint, runtime="tensorrt")


def test_a_run_directory_and_its_threshold(tmp_path):
    stored = {"rule": "source_val_eer", "value": 0.42, "level": "video", "step": 2}
    checkpoints = tmp_path / "run" / "checkpoints"
    mark_latest(checkpoints, make_checkpoint(checkpoints / "step_0000002", threshold=stored))
    detector = metafas.load(tmp_path / "run", detect=False)
    assert detector.scorer.source.name == "step_0000002"
    assert detector.score(photo(tmp_path / "a.png")).threshold_rule == "source_val_eer"


def test_simulated_training_data_is_warned_about_on_load(tmp_path, caplog):
    simulated = make_checkpoint(tmp_path / "sim", store_info={"source": "simulator"})
    with caplog.at_level(logging.WARNING):
        metafas.load(simulated, detect=False)
    assert "trained on simulated faces" in caplog.text


def test_import_metafas_is_light_and_has_a_version():
    code = "import sys, metafas, metafas.extras; print('torch' in sys.modules, metafas.__version__)"
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert printed.stdout.split() == ["False", version("metafas")], printed.stderr
    assert {"load", "Detector", "Result"} <= set(dir(metafas))
    with pytest.raises(AttributeError, match="no attribute 'lod'"):
        metafas.lod  # noqa: B018


def readme_example() -> str:
    """The first Python block under the README's "Python API" heading."""
    section = README.read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch):
    code = readme_example()
    assert len(code.strip().splitlines()) <= 6  # five lines and a blank one
    run = tmp_path / "runs" / "demo" / "rfm"
    stored = {"rule": "source_val_eer", "value": 0.4, "level": "video", "step": 1}
    mark_latest(run / "checkpoints", make_checkpoint(run / "checkpoints" / "step_0000001", stored))
    photo(tmp_path / "face.jpg", size=(80, 100))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("metafas.deploy.predict.default_detector", lambda *a: centre_detector)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(code, str(README), "exec"), {})
    decision, probability, threshold, rule, box = printed.getvalue().split(maxsplit=4)
    expected = metafas.load(run, detect=centre_detector).score(tmp_path / "face.jpg")
    assert (decision, threshold, rule) == (expected.decision, "0.4", "source_val_eer")
    assert float(probability) == pytest.approx(expected.live_probability, abs=1e-4)
    assert box.strip() == str(expected.face_box)


def test_detection_without_the_faces_extra_says_what_to_do(checkpoint, monkeypatch):
    def missing(*args):
        raise MissingExtraError("the MediaPipe face detector needs the faces extra: pip install")

    monkeypatch.setattr("metafas.deploy.predict.default_detector", missing)
    with pytest.raises(MissingExtraError, match=r"faces extra.*detect=False"):
        metafas.load(checkpoint)


def test_sampling_accepts_a_frame_sampling(checkpoint):
    detector = metafas.load(checkpoint, detect=False, sampling=FrameSampling(every=2))
    assert detector.predictor.sampling == FrameSampling(every=2)
