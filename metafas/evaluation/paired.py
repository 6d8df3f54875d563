"""One method over several seeds, and two methods compared on the same target videos.

Each seed's run gives video-level target scores (the mean of frame scores) and a threshold
from its own source-validation videos. Intervals resample seeds and target videos together
(metafas.metrics.paired), so a difference between two methods is a paired comparison: the
same resample of seeds and videos serves both, seed s of one paired with seed s of the other.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from metafas import metrics
from metafas.data.protocols import PROTOCOLS
from metafas.evaluation.scoring import grouped
from metafas.evaluation.selection import SELECTION_RULES, Run, Scores, select_step, threshold_for
from metafas.metrics.paired import seed_video_bootstrap

# name -> threshold rule (AUC does not depend on it); target_eer looks at target labels: oracle.
METRICS = {"HTER": "source_val_eer", "AUC": "source_val_eer", "HTER_oracle": "target_eer"}
LOWER_IS_BETTER = {"HTER": True, "AUC": False, "HTER_oracle": True}
Groups = dict[tuple[str, str], dict[int, Run]]  # (variant label, protocol) -> seed -> run


class ComparisonError(ValueError):
    """A paired comparison without the reference's runs, or with seeds it lacks."""


@dataclass(frozen=True)
class SeedScores:
    """Video-level target scores of one method, a row per seed, and each seed's thresholds.

    Attributes:
        video_ids, labels: the target videos (1 = live), (V,).
        scores: live probabilities, (S, V).
        thresholds: rule ("source_val_eer", or "target_eer": oracle) -> (S,) thresholds.
    """

    video_ids: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    thresholds: dict[str, np.ndarray]

    @classmethod
    def from_runs(cls, scores_per_seed: Sequence[Scores]) -> SeedScores:
        """From each seed's scores at the step to report ("source_val" and "target_test")."""
        rows, thresholds, first = [], {"source_val_eer": [], "target_eer": []}, None
        for scores in scores_per_seed:
            val = grouped(scores["source_val"].frames, scores["source_val"].scores, "video")
            test = grouped(scores["target_test"].frames, scores["target_test"].scores, "video")
            first = test if first is None else first
            if not np.array_equal(test.video_ids, first.video_ids):
                raise ValueError("the runs scored different target videos; compare one protocol")
            rows.append(test.scores)
            for rule in thresholds:
                thresholds[rule].append(threshold_for(rule, val, test))
        if first is None:
            raise ValueError("no runs to summarise")
        arrays = {rule: np.array(values) for rule, values in thresholds.items()}
        return cls(first.video_ids, first.labels, np.array(rows), arrays)

    def metric(self, name: str, rule: str = "source_val_eer") -> Callable[[int, np.ndarray], float]:
        """`metric(seed, videos)`: HTER at the seed's threshold of `rule`, or AUC."""
        if name == "AUC":
            return lambda s, v: metrics.roc_auc(self.labels[v], self.scores[s, v])
        threshold = self.thresholds[rule]
        return lambda s, v: metrics.hter(self.labels[v], self.scores[s, v], threshold[s])


def mean_over(metric: Callable[[int, np.ndarray], float]):
    return lambda seeds, videos: float(np.mean([metric(s, videos) for s in seeds]))


def named_metric(runs: SeedScores, name: str) -> Callable[[int, np.ndarray], float]:
    """A name of METRICS as `metric(seed, videos)`; "HTER_oracle" is at the target EER."""
    return runs.metric(name.removesuffix("_oracle"), METRICS[name])


def summary(runs: SeedScores, n_boot: int = 1000, seed: int = 0) -> dict:
    """Mean over seeds, 95 % interval (seeds and videos resampled) and spread over seeds of
    HTER at the source-validation threshold, of AUC, and of the oracle HTER (at each seed's
    target EER threshold, held at its full-set value in resamples: it looks at target labels)."""
    out = {}
    n_seeds = len(runs.scores)
    for name in METRICS:
        metric = named_metric(runs, name)
        mean, low, high = seed_video_bootstrap(
            mean_over(metric), runs.labels, n_seeds, n_boot, seed=seed
        )
        out[name] = {"mean": mean, "ci": [low, high], "sd": spread(metric, runs)}
    return {**out, "seeds": n_seeds, "videos": len(runs.labels)}


def paired_difference(a: SeedScores, b: SeedScores, n_boot: int = 1000, seed: int = 0) -> dict:
    """A minus B in HTER (each at its own source-validation threshold), in AUC and in the
    oracle HTER (each at its target EER threshold), on the same target videos and seeds, with
    a paired 95 % interval; `within_noise` if it holds 0."""
    if not np.array_equal(a.video_ids, b.video_ids) or len(a.scores) != len(b.scores):
        raise ValueError("a paired comparison needs the same target videos and number of seeds")
    out = {}
    for name in METRICS:
        difference = mean_over(minus(named_metric(a, name), named_metric(b, name)))
        value, low, high = seed_video_bootstrap(
            difference, a.labels, len(a.scores), n_boot, seed=seed
        )
        out[name] = {"difference": value, "ci": [low, high], "within_noise": low <= 0 <= high}
    return out


def verdict(entry: dict, name: str) -> str:
    """Whether a paired interval holds 0, in words: "holds 0" or "excludes 0: lower (better)"."""
    if entry["within_noise"]:
        return "holds 0"
    lower = entry["ci"][1] < 0  # the whole interval is below 0
    better = lower == LOWER_IS_BETTER[name]
    return f"excludes 0: {'lower' if lower else 'higher'} ({'better' if better else 'worse'})"


def group_runs(runs: Sequence[Run]) -> Groups:
    """Finished runs by (variant label, protocol), then by seed."""
    groups: Groups = {}
    for run in runs:
        key = (run.label, run.config["data"]["protocol"])
        groups.setdefault(key, {})[run.config["train"]["seed"]] = run
    return groups


def selected_scores(runs: Mapping[int, Run], seeds: Sequence[int], selection: str) -> SeedScores:
    """The seeds' video-level target scores, each at the step that `selection` picks."""
    picked = []
    for seed in seeds:
        by_step = runs[seed].scores
        picked.append(by_step[select_step(selection, by_step)])
    return SeedScores.from_runs(picked)


def compare(
    groups: Groups,
    variant: str,
    reference: str,
    protocol: str,
    selection: str,
    n_boot: int,
    seeds: Sequence[int] | None = None,
) -> dict:
    """Paired difference variant - reference on one protocol, over `seeds` (default: the
    variant's); the reference must have run each of them (its other seeds are left out)."""
    mine, theirs = groups[(variant, protocol)], groups.get((reference, protocol))
    if not theirs:
        raise ComparisonError(
            f"the reference {reference!r} has no finished runs on {protocol}, "
            f"so {variant!r} cannot be compared there; train it or leave {protocol} out"
        )
    seeds = sorted(mine) if seeds is None else sorted(seeds)
    missing = [s for s in seeds if s not in theirs]
    if missing:
        raise ComparisonError(
            f"{variant!r} on {protocol} has seeds {missing} that the reference {reference!r} "
            f"lacks (it has seeds {sorted(theirs)}); a paired comparison needs the same seeds"
        )
    a, b = (selected_scores(runs, seeds, selection) for runs in (mine, theirs))
    identity = {"protocol": protocol, "variant": variant, "reference": reference}
    return {**identity, "selection": selection, "seeds": seeds, **paired_difference(a, b, n_boot)}


def protocol_order(protocol: str) -> tuple[int, str]:
    known = list(PROTOCOLS)
    return (known.index(protocol) if protocol in known else len(known), protocol)


def compare_all(
    groups: Groups,
    reference: str,
    selections: Sequence[str] = ("source_val", "last"),
    n_boot: int = 1000,
) -> list[dict]:
    """Every variant against `reference` on each protocol it ran, per selection rule."""
    labels = sorted({label for label, _ in groups})
    if reference not in labels:
        raise ComparisonError(
            f"no finished runs of the reference {reference!r}; variants found: {', '.join(labels)}"
        )
    keys = sorted(groups, key=lambda k: (protocol_order(k[1]), k[0]))
    return [
        compare(groups, label, reference, protocol, selection, n_boot)
        for selection in selections
        for label, protocol in keys
        if label != reference
    ]


def summarize_groups(
    groups: Groups, selections: Sequence[str] = ("source_val", "last"), n_boot: int = 1000
) -> list[dict]:
    """`summary` of every (variant, protocol) over all its seeds, per selection rule."""
    rows = []
    for selection in selections:
        for label, protocol in sorted(groups, key=lambda k: (protocol_order(k[1]), k[0])):
            runs = groups[(label, protocol)]
            scores = selected_scores(runs, sorted(runs), selection)
            identity = {"protocol": protocol, "variant": label, "selection": selection}
            rows.append({**identity, "seed_list": sorted(runs), **summary(scores, n_boot)})
    return rows


COMPARED = {  # paired.METRICS name -> column header
    "HTER": "Δ HTER (pp) [95% CI]",
    "AUC": "Δ AUC (pp) [95% CI]",
    "HTER_oracle": "Δ HTER at target EER thr., oracle (pp) [95% CI]",
}


def points(entry: dict) -> str:
    """A paired difference in percentage points with its interval: "-1.20 [-3.40, +0.80]"."""
    low, high = entry["ci"]
    return f"{100 * entry['difference']:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}]"


def comparison_blocks(rows: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in rows:
        found.setdefault(row["selection"], []).append(row)
    return found


def format_comparison_markdown(rows: list[dict]) -> str:
    """One block per selection rule: per protocol and variant, variant - reference."""
    reference = rows[0]["reference"]
    lines = [
        f"Paired differences to `{reference}`: variant minus {reference} on the same seeds and "
        "target videos, in percentage points, with a 95 % interval that resamples seeds and "
        "target videos; an interval that holds 0 means no difference measurable at this scale. "
        "Video level; HTER at each run's source_val_eer threshold, AUC, and (oracle) HTER at the "
        "target EER threshold. Built by `metafas table --compare` from scores.",
    ]
    head = ["Protocol", "Variant", "Seeds"]
    head += [h for name, h in COMPARED.items() for h in (h, f"{name} interval")]
    for selection, block in comparison_blocks(rows).items():
        title = f"Paired differences to {reference}, video level, selection {selection}"
        lines += ["", f"### {title}" + (" (oracle)" if SELECTION_RULES[selection] else ""), ""]
        lines += ["| " + " | ".join(head) + " |", "| --- | --- | ---: |" + " ---: | --- |" * 3]
        for row in block:
            cells = [row["protocol"], row["variant"], str(len(row["seeds"]))]
            cells += [c for name in COMPARED for c in (points(row[name]), verdict(row[name], name))]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def format_comparison_csv(rows: list[dict]) -> str:
    """One line per (selection, protocol, variant); differences and bounds in percentage points."""
    flat = []
    for row in rows:
        line = {k: row[k] for k in ("selection", "protocol", "variant", "reference")}
        line["seeds"] = " ".join(map(str, row["seeds"]))
        for name in COMPARED:
            entry = row[name]
            line[f"{name}_diff_pp"] = 100 * entry["difference"]
            line[f"{name}_low_pp"], line[f"{name}_high_pp"] = (100 * v for v in entry["ci"])
            line[f"{name}_interval"] = verdict(entry, name)
        flat.append(line)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(flat[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return buffer.getvalue()


def minus(first, second) -> Callable[[int, np.ndarray], float]:
    return lambda s, v: first(s, v) - second(s, v)


def spread(metric: Callable[[int, np.ndarray], float], runs: SeedScores) -> float:
    """Standard deviation over seeds (0 for one seed)."""
    values = [metric(s, all_videos(runs)) for s in range(len(runs.scores))]
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def all_videos(runs: SeedScores) -> np.ndarray:
    return np.arange(len(runs.labels))
