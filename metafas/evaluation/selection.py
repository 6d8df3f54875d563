"""Model-selection and threshold rules applied to a run's saved frame scores.

Selection rules (which evaluation step's model is reported):
    last        the final evaluation step;
    source_val  the step with the lowest video-level EER on the held-out source-domain videos
                (ties go to the later step);
    oracle      the step with the lowest video-level target HTER at the target EER threshold
                (ties go to the later step). It looks at target test labels: oracle.
Threshold rules (where the live/spoof threshold comes from, at the reported level):
    source_val_eer  the EER threshold on the source-validation scores;
    target_eer      the EER threshold on the target test scores themselves: oracle;
    fixed           a value given by the user (e.g. 0.5).
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metafas import metrics
from metafas.data.json_document import check_fields, read_json
from metafas.evaluation.scoring import ScoredFrames, grouped, read_scores, source_val_threshold

SELECTION_RULES: dict[str, bool] = {"last": False, "source_val": False, "oracle": True}
THRESHOLD_RULES: dict[str, bool] = {"source_val_eer": False, "target_eer": True, "fixed": False}
LEVELS = ("video", "frame")
CI_METRICS = ("HTER", "AUC")

Scores = dict[str, ScoredFrames]  # "source_val" and "target_test"


class SelectionError(ValueError):
    """An unknown rule, a missing fixed threshold, or a run without scores."""


def check_rule(rule: str, known: Mapping[str, bool], kind: str) -> str:
    if rule not in known:
        raise SelectionError(f"unknown {kind} rule {rule!r}; known: {', '.join(known)}")
    return rule


def source_val_eer(scores: Scores) -> float:
    """Video-level EER on the source-validation videos (no target data involved)."""
    val = grouped(scores["source_val"].frames, scores["source_val"].scores, "video")
    return metrics.eer(val.labels, val.scores)[0]


def oracle_target_hter(scores: Scores) -> float:
    """Video-level target HTER at the target's own EER threshold: looks at target labels."""
    test = grouped(scores["target_test"].frames, scores["target_test"].scores, "video")
    return metrics.hter(test.labels, test.scores, metrics.eer(test.labels, test.scores)[1])


def select_step(rule: str, scores_by_step: Mapping[int, Scores]) -> int:
    """The evaluation step chosen by a selection rule; ties go to the later step."""
    check_rule(rule, SELECTION_RULES, "selection")
    steps = sorted(scores_by_step)
    if not steps:
        raise SelectionError("no evaluation steps to select from")
    if rule == "last":
        return steps[-1]
    criterion = source_val_eer if rule == "source_val" else oracle_target_hter
    values = [criterion(scores_by_step[step]) for step in steps]
    best = min(values)
    return max(step for step, value in zip(steps, values, strict=True) if value == best)


def threshold_for(
    rule: str,
    val: metrics.VideoScores,
    test: metrics.VideoScores,
    fixed: float | None = None,
) -> float:
    """The threshold a rule picks from source-validation (val) or target-test (test) scores."""
    check_rule(rule, THRESHOLD_RULES, "threshold")
    if rule == "source_val_eer":
        return source_val_threshold(val.labels, val.scores)[0]
    if rule == "target_eer":
        return metrics.eer(test.labels, test.scores)[1]
    if fixed is None:
        raise SelectionError("threshold rule 'fixed' needs a value, e.g. --fixed-threshold 0.5")
    return float(fixed)


def confidence_intervals(
    test: metrics.VideoScores, groups: np.ndarray, threshold: float, n_boot: int, seed: int
) -> dict:
    """95% bootstrap intervals of HTER (at the given, fixed threshold) and AUC, by video."""
    functions = {
        "HTER": lambda y, s: metrics.hter(y, s, threshold),
        "AUC": metrics.roc_auc,
    }
    intervals = {
        name: list(metrics.bootstrap_ci(fn, test.labels, test.scores, groups, n_boot, 0.05, seed))
        for name, fn in functions.items()
    }
    return {**intervals, "alpha": 0.05, "n_boot": n_boot, "resampled": "video"}


def selected_result(
    scores_by_step: Mapping[int, Scores],
    selection: str,
    threshold_rule: str,
    level: str = "video",
    fixed: float | None = None,
    n_boot: int = 0,
    seed: int = 0,
) -> dict:
    """Target-test metrics of the step a selection rule picks, under a threshold rule."""
    step = select_step(selection, scores_by_step)
    return result_at(
        scores_by_step[step], step, selection, threshold_rule, level, fixed, n_boot, seed
    )


def result_at(
    scores: Scores,
    step: int,
    selection: str,
    threshold_rule: str,
    level: str = "video",
    fixed: float | None = None,
    n_boot: int = 0,
    seed: int = 0,
) -> dict:
    """Target-test metrics of one step's scores, naming the selection and threshold rules.

    `threshold_gap` is this threshold minus the target EER threshold (a diagnostic). With
    `n_boot` > 0, `ci` holds bootstrap intervals resampled by video (threshold held fixed).
    """
    if level not in LEVELS:
        raise SelectionError(f"unknown level {level!r}; known: {', '.join(LEVELS)}")
    val = grouped(scores["source_val"].frames, scores["source_val"].scores, level)
    test = grouped(scores["target_test"].frames, scores["target_test"].scores, level)
    threshold = threshold_for(threshold_rule, val, test, fixed)
    result = {
        "step": step,
        "level": level,
        "selection": selection,
        "selection_oracle": SELECTION_RULES[selection],
        "threshold_rule": threshold_rule,
        "threshold_oracle": THRESHOLD_RULES[threshold_rule],
        "oracle": SELECTION_RULES[selection] or THRESHOLD_RULES[threshold_rule],
        "threshold": threshold,
        "threshold_gap": threshold - threshold_for("target_eer", val, test),
        "source_val_auc": metrics.roc_auc(val.labels, val.scores),
        "metrics": metrics.pad_metrics(test.labels, test.scores, threshold, test.attacks),
    }
    if n_boot > 0:
        frame_videos = np.array([f.video_id for f in scores["target_test"].frames])
        groups = test.video_ids if level == "video" else frame_videos
        result["ci"] = confidence_intervals(test, groups, threshold, n_boot, seed)
    return result


def rule_label(selection: str, threshold_rule: str) -> str:
    """e.g. "selection source_val, threshold target_eer (oracle)"."""
    oracle = SELECTION_RULES[selection] or THRESHOLD_RULES[threshold_rule]
    return f"selection {selection}, threshold {threshold_rule}" + (" (oracle)" if oracle else "")


@dataclass
class StepScores(Mapping):
    """A run's score files as a lazy mapping step -> scores, each file read at most once."""

    files: dict[int, Path]
    cache: dict[int, Scores] = field(default_factory=dict, repr=False)

    def __getitem__(self, step: int) -> Scores:
        if step not in self.cache:
            self.cache[step] = read_scores(self.files[step])
        return self.cache[step]

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self.files))

    def __len__(self) -> int:
        return len(self.files)


@dataclass
class Run:
    """A run directory: its resolved config and its per-step frame scores."""

    path: Path
    config: dict
    scores: StepScores
    label: str

    @property
    def complete(self) -> bool:
        """True when the final step was evaluated (train.py always evaluates the last step)."""
        return self.config["train"]["steps"] in self.scores.files


def is_run_dir(path: Path) -> bool:
    return (Path(path) / "config.json").is_file() and (Path(path) / "scores").is_dir()


def read_run(path: Path) -> Run:
    """Open a run directory written by `metafas.training.loop.train`."""
    path = Path(path)
    if not is_run_dir(path):
        raise SelectionError(f"{path} is not a run directory (needs config.json and scores/)")
    config = read_run_config(path / "config.json")
    files = {
        int(p.stem.removeprefix("step_")): p
        for p in (path / "scores").glob("step_*.csv")
        if p.stem.removeprefix("step_").isdigit()
    }
    return Run(path, config, StepScores(files), run_label(path, config))


def read_run_config(path: Path) -> dict:
    """A run's config.json, with the fields that tables and reports use checked."""
    config = read_json(path, "run config", SelectionError)
    if not isinstance(config, dict):
        raise SelectionError(f"{path}: a run config is a JSON object")
    check_fields(
        config, {"method": str, "data": dict, "train": dict}, {}, str(path), SelectionError
    )
    check_fields(config["data"], {"protocol": str}, {}, f"{path} data", SelectionError)
    check_fields(config["train"], {"steps": int, "seed": int}, {}, f"{path} train", SelectionError)
    return config


def run_label(path: Path, config: dict) -> str:
    """The method name, plus "+<ablation>" for sweep runs that carry an ablation."""
    marker = path / "sweep_run.json"
    ablation = json.loads(marker.read_text()).get("ablation") if marker.exists() else None
    return config["method"] + (f"+{ablation}" if ablation else "")


def find_runs(paths: Sequence[Path]) -> list[Path]:
    """Run directories among `paths` and below them, sorted; moved-aside runs are left out."""
    found = set()
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"no run or sweep directory at {path}")
        candidates = [path, *(p.parent for p in path.rglob("config.json"))]
        found.update(p for p in candidates if is_run_dir(p) and ".interrupted-" not in p.name)
    return sorted(found)


def run_results(
    run: Run,
    selections: Sequence[str] = tuple(SELECTION_RULES),
    threshold_rules: Sequence[str] = ("source_val_eer", "target_eer"),
    levels: Sequence[str] = LEVELS,
    fixed: float | None = None,
    n_boot: int = 0,
) -> list[dict]:
    """Every (selection, threshold rule, level) result of a run, with run identity attached."""
    common = {
        "run": str(run.path),
        "label": run.label,
        "method": run.config["method"],
        "protocol": run.config["data"]["protocol"],
        "seed": run.config["train"]["seed"],
        "config": run.config,
    }
    steps = {selection: select_step(selection, run.scores) for selection in selections}
    return [
        {
            **common,
            **result_at(run.scores[steps[s]], steps[s], s, t, level, fixed, n_boot, common["seed"]),
        }
        for s in selections
        for t in threshold_rules
        for level in levels
    ]
