"""`metafas demo`: RFM against DeepAll on a simulated leave-one-domain-out task."""

import json
from pathlib import Path

from metafas.training.config import resolve_config
from metafas.training.loop import train

DEMO_METHODS = ("rfm", "deepall")


def demo(out: Path, steps: int | None = None, protocol: str = "sim_OCI_M") -> list[dict]:
    """Train both methods with the cpu preset and return one summary row per method."""
    rows = []
    for method in DEMO_METHODS:
        overrides = [f'method="{method}"', f'data.protocol="{protocol}"']
        if steps is not None:
            overrides.append(f"train.steps={steps}")
        config = resolve_config("cpu", overrides)
        run_dir = train(config, free_run_dir(out / method))
        rows.append(summary_row(method, run_dir))
    return rows


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
