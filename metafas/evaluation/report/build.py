"""`metafas report`: one self-contained HTML page (PNG figures beside it) for a run or a sweep."""

import logging
from pathlib import Path

from metafas.data.atomic import atomic_write_json, atomic_write_text
from metafas.data.protocols import PROTOCOLS
from metafas.evaluation import paired
from metafas.evaluation.report import figures, html
from metafas.evaluation.report.data import (
    SelectedSteps,
    confident_mistakes,
    eval_curves,
    level_thresholds,
    selected_steps,
    store_root,
    training_scalars,
)
from metafas.evaluation.scoring import grouped
from metafas.evaluation.selection import (
    LEVELS,
    SELECTION_RULES,
    THRESHOLD_RULES,
    Run,
    is_run_dir,
    read_run,
    run_results,
)
from metafas.evaluation.table import (
    TableError,
    block_title,
    blocks,
    cell,
    collect_results,
    columns,
    finished_runs,
    pivot,
    summarize,
)

log = logging.getLogger(__name__)

RULES_NOTE = (
    "Selection: last = final step; source_val = lowest video-level EER on held-out source "
    "videos; oracle = lowest target HTER (looks at target labels). Thresholds: source_val_eer "
    "= EER threshold on source-validation scores; target_eer (oracle) = EER threshold on the "
    "target test scores. Rows that look at target labels are marked (oracle). Figures use the "
    "step picked by source_val selection."
)


def percent_ci(result: dict, name: str) -> str:
    value = f"{100 * result['metrics'][name]:.2f}"
    if "ci" not in result:
        return value
    low, high = result["ci"][name]
    return f"{value} [{100 * low:.2f}, {100 * high:.2f}]"


def result_order(result: dict) -> tuple[int, int, int]:
    """Video level first, then selection and threshold rules in their declared order."""
    return (
        LEVELS.index(result["level"]),
        list(SELECTION_RULES).index(result["selection"]),
        list(THRESHOLD_RULES).index(result["threshold_rule"]),
    )


def results_table(results: list[dict]) -> str:
    """Every selection x threshold rule x level, with bootstrap intervals when computed."""
    headers = ["level", "selection", "threshold rule", "step", "threshold", "thr. gap"]
    headers += ["HTER % [95% CI]", "AUC % [95% CI]", "APCER %", "BPCER %", "source-val AUC %"]
    rows, classes = [], []
    for r in sorted(results, key=result_order):
        rule = r["threshold_rule"] + (" (oracle)" if r["threshold_oracle"] else "")
        selection = r["selection"] + (" (oracle)" if r["selection_oracle"] else "")
        m = r["metrics"]
        rows.append(
            [r["level"], selection, rule, r["step"], f"{r['threshold']:.4f}"]
            + [f"{r['threshold_gap']:+.4f}", percent_ci(r, "HTER"), percent_ci(r, "AUC")]
            + [
                f"{100 * m['APCER']:.2f}",
                f"{100 * m['BPCER']:.2f}",
                f"{100 * r['source_val_auc']:.2f}",
            ]
        )
        classes.append("oracle" if r["oracle"] else "")
    return html.table(headers, rows, classes)


def mistakes_html(run: Run, step: int, threshold: float, out: Path, prefix: str) -> str:
    """The grid of the most confident target mistakes, or a note saying why it is missing."""
    root = store_root(run.config)
    if not root.is_dir():
        return html.paragraph(f"No example crops: the store {root} is not on this machine.", True)
    rejected, accepted = confident_mistakes(run.scores[step]["target_test"], threshold, root)
    if not rejected and not accepted:
        return html.paragraph("No target frame is on the wrong side of the source threshold.")
    rows = {k: v for k, v in (("lives rejected", rejected), ("spoofs accepted", accepted)) if v}
    figures.mistakes_figure(rows, out / prefix / "mistakes.png")
    caption = (
        f"Most confident target-test mistakes at step {step}, frame level, at the source_val_eer "
        f"threshold {threshold:.3f} (finding mistakes uses target labels: a diagnostic only)."
    )
    return html.figure(f"{prefix}/mistakes.png", caption)


def run_figures(run: Run, steps: SelectedSteps, out: Path, prefix: str) -> list[str]:
    """ROC/DET, histograms and training curves of a run's source_val-selected step, as HTML."""
    scores = run.scores[steps.source_val]
    video, frame = level_thresholds(scores, "video"), level_thresholds(scores, "frame")
    val, test = scores["source_val"], scores["target_test"]
    curves = {
        "target test, video": grouped(test.frames, test.scores, "video"),
        "target test, frame": grouped(test.frames, test.scores, "frame"),
        "source val, video": grouped(val.frames, val.scores, "video"),
    }
    figures.roc_det_figure(curves, "target test, video", video, out / prefix / "roc_det.png")
    figures.histogram_figure(scores, frame, out / prefix / "histograms.png")
    train, evaluation = training_scalars(run.path), eval_curves(run.path)
    figures.training_figure(train, evaluation, steps, out / prefix / "training.png")
    return [
        html.figure(
            f"{prefix}/roc_det.png",
            f"ROC and DET at step {steps.source_val}; markers: source_val_eer and target_eer "
            "(oracle) thresholds, video level.",
        ),
        html.figure(
            f"{prefix}/histograms.png",
            "Frame scores per domain and attack type; solid: source_val_eer threshold, "
            "dashed: target_eer (oracle), frame level.",
        ),
        html.figure(f"{prefix}/training.png", "Training losses and evaluation metrics per step."),
        mistakes_html(run, steps.source_val, frame.source_val_eer, out, prefix),
    ]


def run_body(
    run: Run, out: Path, prefix: str, n_boot: int, fixed: float | None
) -> tuple[str, list]:
    """The HTML of one run (figures written under out/prefix) and its selected results."""
    steps = selected_steps(run)
    rules = ["source_val_eer", "target_eer"] + (["fixed"] if fixed is not None else [])
    results = run_results(run, threshold_rules=rules, fixed=fixed, n_boot=n_boot)
    config = run.config
    about = html.paragraph(
        f"{run.label} on {config['data']['protocol']}, seed {config['train']['seed']}, "
        f"{config['train']['steps']} steps; run {run.path}. Selected steps: last {steps.last}, "
        f"source_val {steps.source_val}, oracle {steps.oracle}."
    )
    parts = [about, results_table(results), *run_figures(run, steps, out, prefix)]
    if not run.complete:
        parts.insert(0, html.paragraph(unfinished_warning(run), note=True))
    return "\n".join(parts), results


def unfinished_warning(run: Run) -> str:
    """What a report of an unfinished run (killed or still training) says first, and logs."""
    last = max(run.scores.files, default=0)
    text = (
        f"UNFINISHED RUN: {run.path} was evaluated up to step {last} of "
        f"{run.config['train']['steps']} (interrupted or still training); these are not its "
        "final results. `metafas train --resume` finishes it."
    )
    log.warning("%s", text)
    return text


def summary_html(paths: list[Path]) -> str:
    """The sweep's paper-style tables (video level), as HTML."""
    rows = summarize(collect_results(paths, "video"))
    n_max = max(r["n_seeds"] for r in rows)
    parts = []
    for (level, selection, rule), block in blocks(rows).items():
        methods, protocols, found = pivot(block)
        shown = columns(rule)
        headers = ["method"] + [f"{p} {h}" for p in protocols for _, h, _ in shown]
        body = [
            [m] + [cell(found.get((m, p)), k, n_max, d) for p in protocols for k, _, d in shown]
            for m in methods
        ]
        oracle = block[0]["oracle"]
        title = block_title(level, selection, rule)
        parts.append(
            html.section(
                title, html.table(headers, body, ["oracle" if oracle else ""] * len(body)), 3
            )
        )
    return "\n".join(parts)


def overlays_html(runs: list[Run], out: Path) -> str:
    """Per protocol, every run's video-level target ROC at its source_val-selected step."""
    by_protocol: dict[str, list] = {}
    for run in runs:
        scores = run.scores[selected_steps(run).source_val]["target_test"]
        curve = grouped(scores.frames, scores.scores, "video")
        by_protocol.setdefault(run.config["data"]["protocol"], []).append((run.label, curve))
    parts = []
    known = list(PROTOCOLS)
    order = sorted(by_protocol, key=lambda p: (known.index(p) if p in known else len(known), p))
    for protocol in order:
        curves = by_protocol[protocol]
        name = f"overview/roc_{protocol}.png"
        figures.overlay_roc_figure(curves, f"{protocol}: target ROC (video)", out / name)
        parts.append(
            html.figure(
                name,
                f"{protocol}: target ROC of every run and seed, video "
                "level, source_val-selected step.",
            )
        )
    return html.row(parts)


def comparison_html(runs: list[Run], reference: str, n_boot: int, out: Path) -> str:
    """Paired differences of every variant to `reference` (tables per selection rule) and
    their interval plot (source_val selection), as HTML."""
    if n_boot < 1:
        raise TableError("a paired comparison needs bootstrap resamples: --n-boot 1 or more")
    rows = paired.compare_all(paired.group_runs(runs), reference, n_boot=n_boot)
    headers = ["protocol", "variant", "seeds"]
    headers += [h for name, h in paired.COMPARED.items() for h in (h, f"{name} interval")]
    parts = []
    for selection, block in paired.comparison_blocks(rows).items():
        body = [
            [r["protocol"], r["variant"], len(r["seeds"])]
            + [c for n in paired.COMPARED for c in (paired.points(r[n]), paired.verdict(r[n], n))]
            for r in block
        ]
        title = f"Paired differences to {reference}, selection {selection}"
        parts.append(html.section(title, html.table(headers, body), 3))
    name = "overview/differences.png"
    figures.difference_figure([r for r in rows if r["selection"] == "source_val"], out / name)
    caption = (
        f"Variant - {reference} on the same seeds and target videos (percentage points, video "
        "level, source_val selection), 95 % intervals resampling seeds and target videos; an "
        "interval across the dashed line holds 0: no difference measurable at this scale."
    )
    return "\n".join([*parts, html.figure(name, caption)])


def sweep_body(
    path: Path, out: Path, n_boot: int, fixed: float | None, compare: str | None = None
) -> tuple[str, list]:
    runs = finished_runs([path])
    parts = [summary_html([path])]
    if compare:
        parts.append(
            html.section(
                f"Paired differences to {compare}", comparison_html(runs, compare, n_boot, out)
            )
        )
    parts.append(html.section("Target ROC per protocol", overlays_html(runs, out)))
    results = []
    for run in runs:
        body, found = run_body(run, out, f"runs/{run.path.name}", n_boot, fixed)
        parts.append(html.details(f"{run.path.name}", body))
        results.extend(found)
    return "\n".join(parts), results


def write_report(
    path: Path,
    out: Path,
    n_boot: int = 1000,
    fixed: float | None = None,
    compare: str | None = None,
) -> Path:
    """Write out/index.html (and figures, results.json) for a run or sweep directory; for a
    sweep, `compare` (a variant label such as "deepall") adds the paired differences to it."""
    path, out = Path(path), Path(out)
    if not path.exists():
        raise FileNotFoundError(f"no run or sweep directory at {path}")
    if is_run_dir(path):
        if compare:
            raise TableError(f"--compare needs a sweep directory; {path} is one run")
        body, results = run_body(read_run(path), out, "figures", n_boot, fixed)
    else:
        body, results = sweep_body(path, out, n_boot, fixed, compare)
    atomic_write_json(out / "results.json", results)
    note = html.paragraph(RULES_NOTE, note=True)
    atomic_write_text(out / "index.html", html.page(f"metafas report: {path.name}", note + body))
    log.info("wrote %s", out / "index.html")
    return out / "index.html"
