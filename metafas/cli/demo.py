"""`metafas demo`: RFM against DeepAll on a simulated leave-one-domain-out task, with bootstrap
intervals over target videos (and seeds) and a paired comparison on the same target videos."""

import json
from pathlib import Path

from metafas.evaluation.paired import SeedScores, paired_difference, summary
from metafas.evaluation.selection import read_run
from metafas.training.config import resolve_config
from metafas.training.loop import train

DEMO_METHODS = ("rfm", "deepall")
DEMO_STEPS = 150  # at the cpu preset: about 1.5 min per method in fp32 on a 2-core AVX2 CPU
N_BOOT = 1000
SINGLE_SEED_CAVEAT = (
    "(one seed: the intervals leave out training noise, which can flip these verdicts from "
    "one run or CPU to the next; --seeds N adds it)"
)


def demo(
    out: Path, steps: int = DEMO_STEPS, protocol: str = "sim_OCI_M", seeds: int = 1
) -> dict[str, list[Path]]:
    """Train both methods with the cpu preset for each seed, evaluated once at the end; their
    run directories."""
    runs = {method: [] for method in DEMO_METHODS}
    for seed in range(seeds):
        for method in DEMO_METHODS:
            overrides = [f'method="{method}"', f'data.protocol="{protocol}"', f"train.seed={seed}"]
            overrides += [f"train.steps={steps}", f"train.eval_every={steps}"]
            overrides.append(f"train.checkpoint_every={steps}")
            config = resolve_config("cpu", overrides)
            name = method if seeds == 1 else f"{method}-seed{seed}"
            runs[method].append(train(config, free_run_dir(out / name)))
    return runs


def compare(runs: dict[str, list[Path]]) -> tuple[dict[str, dict], dict]:
    """Per method the summary over seeds (metafas.evaluation.paired.summary) at each run's
    last evaluation, and RFM minus DeepAll on the same target videos."""
    scores = {}
    for method, run_dirs in runs.items():
        at_last = []
        for run_dir in run_dirs:
            by_step = read_run(run_dir).scores
            at_last.append(by_step[max(by_step)])
        scores[method] = SeedScores.from_runs(at_last)
    summaries = {method: summary(s, N_BOOT) for method, s in scores.items()}
    return summaries, paired_difference(scores["rfm"], scores["deepall"], N_BOOT)


def format_comparison(summaries: dict[str, dict], paired: dict) -> str:
    """The demo's table: HTER at the source threshold and AUC with 95 % intervals, the oracle
    HTER, and the paired difference RFM - DeepAll with its interval and a verdict."""
    first = next(iter(summaries.values()))
    spread = first["seeds"] > 1
    wide = 34 if spread else 26  # room for " sd x.x"
    head = (
        f"{'method':8} {'HTER source-thr [95% CI]':>{wide}} {'AUC [95% CI]':>{wide}} "
        f"{'HTER oracle':>12}"
    )
    lines = [head, "-" * len(head)]
    for method, s in summaries.items():
        oracle = f"{100 * s['HTER_oracle']['mean']:.2f}"
        lines.append(
            f"{method:8} {interval(s['HTER'], spread):>{wide}} "
            f"{interval(s['AUC'], spread):>{wide}} {oracle:>12}"
        )
    lines += [
        f"(video level, percent; {first['videos']} target videos, {first['seeds']} seed(s)"
        + (", mean and sd over seeds" if spread else "")
        + ";",
        " intervals resample target videos and seeds; oracle = threshold chosen on target labels)",
    ]
    for name, lower_is_better in (("HTER", True), ("AUC", False)):
        lines.append(f"RFM - DeepAll {name}: " + verdict(paired[name], lower_is_better))
    if not spread:
        lines.append(SINGLE_SEED_CAVEAT)
    return "\n".join(lines)


def verdict(difference: dict, lower_is_better: bool) -> str:
    """ "+1.23 [-2.00, +4.50], within noise ..." in percent."""
    value, (low, high) = 100 * difference["difference"], (100 * v for v in difference["ci"])
    text = f"{value:+.2f} [{low:+.2f}, {high:+.2f}], "
    if difference["within_noise"]:
        return text + "within noise at this scale (the interval holds 0)"
    better = "RFM" if (value < 0) == lower_is_better else "DeepAll"
    return text + f"outside noise at this scale: {better} is better"


def interval(value: dict, spread: bool) -> str:
    low, high = (100 * v for v in value["ci"])
    sd = f" sd {100 * value['sd']:.1f}" if spread else ""
    return f"{100 * value['mean']:.2f} [{low:.1f}, {high:.1f}]{sd}"


def free_run_dir(path: Path) -> Path:
    """`path`, or `path-2`, `path-3`... if earlier demos already used it."""
    if not (path / "config.json").exists():
        return path
    index = 2
    while (path.with_name(f"{path.name}-{index}") / "config.json").exists():
        index += 1
    return path.with_name(f"{path.name}-{index}")


def summary_row(method: str, run_dir: Path) -> dict:
    """The final video-level records of a run, one per threshold rule."""
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    last = max(r["step"] for r in records)
    final = {r["threshold_rule"]: r for r in records if r["step"] == last and r["level"] == "video"}
    source, oracle = final["source_val_eer"]["metrics"], final["target_eer"]["metrics"]
    return {
        "method": method,
        "hter_source": source["HTER"],
        "hter_oracle": oracle["HTER"],
        "auc": source["AUC"],
        "eer": source["EER"],
        "run_dir": str(run_dir),
        "step": last,
    }


def format_table(rows: list[dict]) -> str:
    """The final video-level figures of each run: HTER at the source-validation threshold,
    HTER at the oracle threshold, AUC, EER, the step and the run directory."""
    head = (
        f"{'method':8} {'HTER source-thr':>15} {'HTER oracle-thr':>15} {'AUC':>6} {'EER':>6} "
        f"{'step':>6}  run"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['method']:8} {100 * r['hter_source']:15.2f} {100 * r['hter_oracle']:15.2f} "
            f"{100 * r['auc']:6.2f} {100 * r['eer']:6.2f} {r['step']:6d}  {r['run_dir']}"
        )
    return "\n".join(lines) + "\n(video level, percent; oracle = threshold chosen on target labels)"
