"""Thresholds per level: training calibrates a frame-level and a video-level source_val_eer
threshold (rule, choice, counts, bootstrap interval) into every checkpoint; a perfectly
separated validation set gets the logit midpoint of its gap; predict and serve judge a single
image at the frame threshold and a video at the video threshold; old checkpoints still work."""

from __future__ import annotations

import csv
import http.client
import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest

from metafas import metrics
from metafas.data.store import FrameRecord
from metafas.deploy import Predictor, load_scorer
from metafas.deploy.report import text_line, to_csv
from metafas.evaluation.scoring import (
    ScoredFrames,
    calibrate,
    checkpoint_threshold,
    grouped,
    records_from_scores,
    source_val_threshold,
)
from metafas.training.checkpoint import latest_checkpoint, read_state
from metafas.training.config import resolve_config
from metafas.training.loop import train
from tests.test_predict import centre_detector, make_checkpoint, photo, video


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def frames_of(labels_per_video: list[int], frames_per_video: int, name: str = "v") -> list:
    """FrameRecords of source-validation videos with the given labels."""
    return [
        FrameRecord(
            "sim_o", "train", f"s{v}", f"{name}{v}", i, label, "none" if label else "print", "", ""
        )
        for v, label in enumerate(labels_per_video)
        for i in range(frames_per_video)
    ]


@pytest.fixture(scope="module")
def run(tiny_store, tmp_path_factory) -> Path:
    config = resolve_config("tiny", [f'data.store="{tiny_store}"', 'method="deepall"'])
    return train(config, tmp_path_factory.mktemp("run") / "run", progress=False)


def test_training_stores_a_threshold_per_level(run):
    threshold = read_state(latest_checkpoint(run))["threshold"]
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    with open(run / "scores" / "step_0000004.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["set"] == "source_val"]
    labels = np.array([int(row["label"]) for row in rows])
    scores = np.array([float(row["score"]) for row in rows])
    assert set(threshold["levels"]) == {"frame", "video"} and threshold["step"] == 4
    for level, entry in threshold["levels"].items():
        (record,) = [
            r
            for r in records
            if (r["step"], r["level"], r["threshold_rule"]) == (4, level, "source_val_eer")
        ]
        assert entry["value"] == record["threshold"] and entry["level"] == level
        assert entry["rule"] == "source_val_eer" and entry["choice"] in (
            "eer",
            "gap_midpoint_logit",
        )
        assert entry["videos"] == len({row["video_id"] for row in rows}) == 6
        assert entry["frames"] == len(rows) == 12
        assert entry["live_videos"] + entry["spoof_videos"] == entry["videos"]
        interval = entry["interval"]
        assert interval["n_boot"] == 1000 and interval["resampled"] == "video"
        assert interval["low"] <= entry["value"] <= interval["high"]
    expected_frame = source_val_threshold(labels, scores)[0]  # frames scored one by one
    assert threshold["levels"]["frame"]["value"] == pytest.approx(expected_frame)
    # the top level repeats the video threshold, as checkpoints held it before levels existed
    video = threshold["levels"]["video"]
    assert (threshold["rule"], threshold["level"], threshold["value"]) == (
        "source_val_eer",
        "video",
        video["value"],
    )


@pytest.mark.parametrize(
    ("spoof", "live", "expected"),
    [
        ([0.05, 0.1, 0.2], [0.8, 0.9, 0.95], 0.5),  # logits -1.386 and +1.386: midpoint 0
        ([0.1, 0.2], [0.5, 0.7], 1 / 3),  # logits -ln 4 and 0: sigmoid(-ln 2) = 1/3
        ([0.0], [1.0], 0.5),  # saturated scores are clipped symmetrically
    ],
)
def test_perfect_separation_takes_the_logit_midpoint_of_the_gap(spoof, live, expected):
    labels = np.array([0] * len(spoof) + [1] * len(live))
    scores = np.array(spoof + live)
    value, choice = source_val_threshold(labels, scores)
    assert choice == "gap_midpoint_logit" and value == pytest.approx(expected)
    assert max(spoof) < value <= min(live)
    assert metrics.eer(labels, scores)[1] == min(live)  # the tie-break at the gap's edge
    assert metrics.error_rates(labels, scores, value) == (0.0, 0.0)


def test_overlapping_scores_keep_the_eer_threshold():
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.4, 0.7, 0.3, 0.8, 0.9])
    assert source_val_threshold(labels, scores) == (metrics.eer(labels, scores)[1], "eer")
    assert source_val_threshold(labels, 1 - scores)[1] == "eer"  # reversed, not separated


def test_a_separated_validation_set_sets_the_evaluation_threshold_too():
    """Records, checkpoints and deployment use one threshold: the gap midpoint."""
    val = frames_of([0, 1, 0, 1], 2, "val")
    test = frames_of([0, 1], 2, "test")
    val_scores = np.array([0.1, 0.2, 0.8, 0.9, 0.15, 0.2, 0.85, 0.8])  # video means .15 .85 ...
    scored = {
        "source_val": ScoredFrames(val, val_scores),
        "target_test": ScoredFrames(test, np.array([0.3, 0.4, 0.6, 0.45])),
    }
    records = records_from_scores(scored)
    for record in records:
        record["step"] = 7
    (video,) = [
        r for r in records if (r["level"], r["threshold_rule"]) == ("video", "source_val_eer")
    ]
    assert video["threshold"] == pytest.approx(0.5)  # gap (0.175, 0.825) is symmetric in logit
    assert video["calibration"]["choice"] == "gap_midpoint_logit"
    assert video["calibration"]["gap"] == pytest.approx([0.175, 0.825])
    # the target's live video (mean 0.525) is live at 0.5; at the gap's edge (0.825) it was not
    assert video["metrics"]["BPCER"] == 0.0
    stored = checkpoint_threshold(records)
    assert stored["levels"]["video"]["value"] == video["threshold"] and stored["step"] == 7
    frame = stored["levels"]["frame"]
    assert frame["choice"] == "gap_midpoint_logit" and frame["frames"] == 8


def test_calibration_counts_and_interval():
    rng = np.random.default_rng(0)
    labels = [v % 2 for v in range(20)]
    frames = frames_of(labels, 3)
    scores = np.array([rng.beta(5, 2) if f.label else rng.beta(2, 5) for f in frames])
    for level in ("video", "frame"):
        found = calibrate(grouped(frames, scores, level), frames, level)
        assert (found["videos"], found["live_videos"], found["frames"]) == (20, 10, 60)
        interval = found["interval"]
        assert interval["low"] < found["value"] < interval["high"]
        assert interval["high"] - interval["low"] < 0.5


def checkpoint_with_levels(path: Path) -> Path:
    """A checkpoint whose frame threshold (0.01) and video threshold (0.99) differ wildly."""
    levels = {
        "frame": {"rule": "source_val_eer", "value": 0.01, "level": "frame", "choice": "eer"},
        "video": {"rule": "source_val_eer", "value": 0.99, "level": "video"},
    }
    levels["frame"]["interval"] = {"low": 0.005, "high": 0.02}
    levels["video"] |= {"choice": "gap_midpoint_logit", "interval": {"low": 0.9, "high": 0.995}}
    stored = {"rule": "source_val_eer", "value": 0.99, "level": "video", "step": 4}
    return make_checkpoint(path, threshold={**stored, "levels": levels})


def test_an_image_is_judged_at_the_frame_threshold_and_a_video_at_the_video_one(tmp_path):
    scorer = load_scorer(checkpoint_with_levels(tmp_path / "ckpt"))
    predictor = Predictor(scorer, centre_detector)
    image = predictor.predict_file(photo(tmp_path / "a.png"))
    clip = predictor.predict_file(video(tmp_path / "c.mp4"))
    assert (image.level, image.threshold, image.threshold_level) == ("frame", 0.01, "frame")
    assert (clip.level, clip.threshold, clip.threshold_level) == ("video", 0.99, "video")
    assert image.decision == ("live" if image.live_probability >= 0.01 else "spoof")
    assert clip.decision == ("live" if clip.live_probability >= 0.99 else "spoof")
    assert clip.threshold_choice == "gap_midpoint_logit" and image.threshold_choice == "eer"
    assert "threshold 0.0100 (frame-level source_val_eer)" in text_line(image)
    assert "threshold 0.9900 (video-level source_val_eer, gap midpoint" in text_line(clip)
    rows = list(csv.DictReader(to_csv([image, clip]).splitlines()))
    assert [(r["level"], r["threshold"]) for r in rows] == [
        ("frame", "0.010000"),
        ("video", "0.990000"),
    ]
    assert scorer.thresholds.frame.interval == (0.005, 0.02)
    frames = [(0, np.full((48, 64, 3), 120, np.uint8))]
    assert predictor.predict_frames("<array>", frames).level == "frame"
    assert predictor.predict_frames("<frames>", frames * 2).threshold == 0.99


def test_a_fixed_threshold_overrides_both_levels(tmp_path):
    scorer = load_scorer(checkpoint_with_levels(tmp_path / "ckpt"), threshold=0.3)
    predictor = Predictor(scorer, centre_detector)
    for path in (photo(tmp_path / "a.png"), video(tmp_path / "c.mp4")):
        prediction = predictor.predict_file(path)
        assert (prediction.threshold, prediction.threshold_rule) == (0.3, "fixed")
        assert prediction.threshold_level is None and "(fixed)" in text_line(prediction)


def test_an_old_checkpoint_serves_images_with_its_video_threshold_and_says_so(tmp_path, caplog):
    old = {"rule": "source_val_eer", "value": 0.42, "level": "video", "step": 4}
    with caplog.at_level(logging.WARNING):
        scorer = load_scorer(make_checkpoint(tmp_path / "old", threshold=old))
    assert "only a video-level threshold" in caplog.text
    predictor = Predictor(scorer, centre_detector)
    image = predictor.predict_file(photo(tmp_path / "a.png"))
    clip = predictor.predict_file(video(tmp_path / "c.mp4"))
    assert (image.level, image.threshold, image.threshold_level) == ("frame", 0.42, "video")
    assert "only a video-level threshold" in image.threshold_note
    assert "(video-level source_val_eer; no frame-level threshold stored)" in text_line(image)
    assert (clip.level, clip.threshold, clip.threshold_note) == ("video", 0.42, None)


def test_serve_answers_with_the_level_and_rule(tmp_path):
    pytest.importorskip("starlette")
    from metafas.deploy.serve import create_app
    from metafas.deploy.server import BackgroundServer, predictor_factory
    from metafas.media import FrameSampling

    scorer = load_scorer(checkpoint_with_levels(tmp_path / "ckpt"))
    factory = predictor_factory(scorer, centre_detector, FrameSampling(count=3), 10**7)
    bodies = {}
    with BackgroundServer(create_app(factory)) as server:
        for name in ("a.png", "c.mp4"):
            path = photo(tmp_path / name) if name.endswith("png") else video(tmp_path / name)
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            connection.request("POST", "/predict", body=path.read_bytes())
            bodies[name] = json.loads(connection.getresponse().read())
            connection.close()
    assert [bodies["a.png"][k] for k in ("level", "threshold", "threshold_rule")] == [
        "frame",
        0.01,
        "source_val_eer",
    ]
    assert (bodies["c.mp4"]["level"], bodies["c.mp4"]["threshold"]) == ("video", 0.99)
    assert bodies["c.mp4"]["threshold_choice"] == "gap_midpoint_logit"
