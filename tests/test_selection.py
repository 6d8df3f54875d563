"""Selection and threshold rules on hand-made scores; only oracle rules may see target labels."""

import dataclasses
import json
import shutil

import numpy as np
import pytest

from metafas import metrics
from metafas.data.store import FrameRecord
from metafas.evaluation.scoring import ScoredFrames, grouped, read_scores, write_scores
from metafas.evaluation.selection import (
    SelectionError,
    find_runs,
    read_run,
    run_results,
    select_step,
    selected_result,
    threshold_for,
)
from metafas.training.config import resolve_config
from metafas.training.loop import train


def scored(domain: str, split: str, videos: list[tuple[int, list[float]]]) -> ScoredFrames:
    """Frames of videos given as (label, frame scores); spoofs are 'print' attacks."""
    frames, scores = [], []
    for index, (label, values) in enumerate(videos):
        video_id = f"{domain}/v{index}"
        for frame, score in enumerate(values):
            attack = "none" if label else "print"
            image = f"images/{video_id}/{frame:06d}.png"
            frames.append(
                FrameRecord(
                    domain, split, f"{domain}/s{index}", video_id, frame, label, attack, image, ""
                )
            )
            scores.append(score)
    return ScoredFrames(frames, np.array(scores))


def step_scores(val: list, test: list) -> dict[str, ScoredFrames]:
    return {
        "source_val": scored("sim_o", "train", val),
        "target_test": scored("sim_m", "test", test),
    }


GOOD_VAL = [(1, [0.9, 0.8]), (1, [0.7, 0.75]), (0, [0.2, 0.3]), (0, [0.4, 0.1])]
POOR_VAL = [(1, [0.4, 0.5]), (1, [0.7, 0.75]), (0, [0.6, 0.65]), (0, [0.4, 0.1])]
GOOD_TEST = [(1, [0.9, 0.7]), (1, [0.8, 0.85]), (1, [0.6, 0.7]), (0, [0.3, 0.1]), (0, [0.2, 0.4])]
INVERTED_TEST = [
    (1, [0.1, 0.3]),
    (1, [0.2, 0.25]),
    (1, [0.4, 0.3]),
    (0, [0.7, 0.9]),
    (0, [0.8, 0.6]),
]

# Step 100: good on source val, inverted on the target; step 200: poor on val, good on target.
STEPS = {100: step_scores(GOOD_VAL, INVERTED_TEST), 200: step_scores(POOR_VAL, GOOD_TEST)}


def test_last_takes_the_final_step():
    assert select_step("last", STEPS) == 200


def test_source_val_takes_the_lowest_source_eer_without_looking_at_the_target():
    assert select_step("source_val", STEPS) == 100


def test_oracle_takes_the_lowest_target_hter():
    assert select_step("oracle", STEPS) == 200


def test_ties_go_to_the_later_step():
    same = {step: step_scores(GOOD_VAL, GOOD_TEST) for step in (10, 30, 20)}
    assert select_step("source_val", same) == 30
    assert select_step("oracle", same) == 30


def test_unknown_rules_and_missing_fixed_value_are_refused():
    with pytest.raises(SelectionError, match="unknown selection rule 'best'; known: last"):
        select_step("best", STEPS)
    val = grouped(STEPS[100]["source_val"].frames, STEPS[100]["source_val"].scores, "video")
    with pytest.raises(SelectionError, match="needs a value"):
        threshold_for("fixed", val, val)
    with pytest.raises(SelectionError, match="unknown threshold rule 'test_eer'"):
        threshold_for("test_eer", val, val)
    with pytest.raises(SelectionError, match="no evaluation steps"):
        select_step("last", {})


@pytest.mark.parametrize("level", ["video", "frame"])
def test_threshold_rules_take_their_threshold_from_the_named_set(level):
    scores = STEPS[200]
    val = grouped(scores["source_val"].frames, scores["source_val"].scores, level)
    test = grouped(scores["target_test"].frames, scores["target_test"].scores, level)
    assert threshold_for("source_val_eer", val, test) == metrics.eer(val.labels, val.scores)[1]
    assert threshold_for("target_eer", val, test) == metrics.eer(test.labels, test.scores)[1]
    assert threshold_for("fixed", val, test, fixed=0.5) == 0.5


@pytest.mark.parametrize(
    ("selection", "rule", "oracle"),
    [
        ("last", "source_val_eer", False),
        ("source_val", "fixed", False),
        ("source_val", "target_eer", True),
        ("oracle", "source_val_eer", True),
    ],
)
def test_every_result_names_its_rules_and_whether_it_is_oracle(selection, rule, oracle):
    result = selected_result(STEPS, selection, rule, "video", fixed=0.5)
    assert (result["selection"], result["threshold_rule"], result["oracle"]) == (
        selection,
        rule,
        oracle,
    )
    scores = STEPS[result["step"]]["target_test"]
    test = grouped(scores.frames, scores.scores, "video")
    target_threshold = metrics.eer(test.labels, test.scores)[1]
    assert result["threshold_gap"] == pytest.approx(result["threshold"] - target_threshold)
    expected = metrics.hter(test.labels, test.scores, result["threshold"])
    assert result["metrics"]["HTER"] == pytest.approx(expected)


def test_frame_level_intervals_resample_whole_videos():
    result = selected_result(STEPS, "last", "source_val_eer", "frame", n_boot=200, seed=3)
    scores = STEPS[200]["target_test"]
    videos = [f.video_id for f in scores.frames]
    labels = [f.label for f in scores.frames]
    threshold = result["threshold"]
    expected = metrics.bootstrap_ci(
        lambda y, s: metrics.hter(y, s, threshold), labels, scores.scores, videos, 200, 0.05, 3
    )
    assert result["ci"]["HTER"] == pytest.approx(list(expected))
    low, high = result["ci"]["AUC"]
    assert 0 <= low <= high <= 1 and result["ci"]["resampled"] == "video"


def flip_target_labels(path, videos: set[str]) -> None:
    """Rewrite a scores file with the labels of some target videos flipped."""
    scores = read_scores(path)
    target = scores["target_test"]
    frames = [
        dataclasses.replace(f, label=1 - f.label) if f.video_id in videos else f
        for f in target.frames
    ]
    scores["target_test"] = ScoredFrames(frames, target.scores)
    write_scores(path, scores)


def write_run(run_dir, steps: dict) -> None:
    config = resolve_config("tiny", ["train.steps=200"]).to_dict()
    (run_dir / "scores").mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(config))
    for step, scores in steps.items():
        write_scores(run_dir / "scores" / f"step_{step:07d}.csv", scores)


def test_only_oracle_rules_change_when_target_labels_change(tmp_path):
    write_run(tmp_path / "run", STEPS)
    shutil.copytree(tmp_path / "run", tmp_path / "flipped")
    flipped_videos = {"sim_m/v1", "sim_m/v3", "sim_m/v4"}  # one live, two spoofs
    for path in (tmp_path / "flipped" / "scores").glob("*.csv"):
        flip_target_labels(path, flipped_videos)
    before, after = read_run(tmp_path / "run"), read_run(tmp_path / "flipped")
    for rule in ("last", "source_val"):
        assert select_step(rule, before.scores) == select_step(rule, after.scores)
    assert select_step("oracle", before.scores) != select_step("oracle", after.scores)
    for selection in ("last", "source_val"):
        for level in ("video", "frame"):
            honest = [
                selected_result(run.scores, selection, "source_val_eer", level)
                for run in (before, after)
            ]
            assert honest[0]["threshold"] == honest[1]["threshold"]
            assert honest[0]["step"] == honest[1]["step"]
            assert honest[0]["metrics"] != honest[1]["metrics"]  # the target did change
            oracle = [
                selected_result(run.scores, selection, "target_eer", level)
                for run in (before, after)
            ]
            assert oracle[0]["threshold"] != oracle[1]["threshold"]


def test_run_results_of_a_trained_run(tiny_store, tmp_path):
    overrides = [f'data.store="{tiny_store}"', 'method="deepall"']
    run_dir = train(resolve_config("tiny", overrides), tmp_path / "run", progress=False)
    shutil.copytree(run_dir, tmp_path / "run.interrupted-1")
    assert find_runs([tmp_path]) == [run_dir]
    run = read_run(run_dir)
    assert run.complete and run.label == "deepall" and sorted(run.scores) == [2, 4]
    results = run_results(run, n_boot=20)
    assert len(results) == 3 * 2 * 2
    assert {(r["selection"], r["threshold_rule"], r["level"]) for r in results} == {
        (s, t, lv)
        for s in ("last", "source_val", "oracle")
        for t in ("source_val_eer", "target_eer")
        for lv in ("video", "frame")
    }
    recorded = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    for r in results:
        assert r["oracle"] == (r["selection"] == "oracle" or r["threshold_rule"] == "target_eer")
        if r["selection"] == "last":  # the same numbers train() recorded at its final step
            same = [
                x
                for x in recorded
                if (x["step"], x["level"], x["threshold_rule"])
                == (4, r["level"], r["threshold_rule"])
            ]
            assert same[0]["metrics"] == pytest.approx(r["metrics"])
            assert same[0]["threshold"] == pytest.approx(r["threshold"])
