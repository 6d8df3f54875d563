"""The paper-style results table, built only from runs' saved scores (never typed by hand).

One block per (level, selection rule, threshold rule): variants as rows, per protocol the
target HTER and AUC in percent as mean +/- sample std (ddof=1) over seeds, and for thresholds
not taken on the target, the mean threshold gap (threshold - target EER threshold).
Blocks whose selection or threshold rule looks at target labels are titled "(oracle)".
A variant is the run's label (the method, "+<ablation>" for sweep runs), plus the config
fields that differ when runs of one label and protocol differ in more than their seed.
With `compare`, the paired differences of every variant to a reference follow
(metafas.evaluation.paired).
"""

import csv
import io
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from metafas.data.protocols import PROTOCOLS
from metafas.evaluation import paired
from metafas.evaluation.selection import (
    SELECTION_RULES,
    THRESHOLD_RULES,
    Run,
    find_runs,
    read_run,
    rule_label,
    run_results,
)

log = logging.getLogger(__name__)

FORMATS = ("md", "csv", "latex")
RUNTIME_KEY = "runtime"  # what a run ran on (metafas.training.hardware), not its config
METRICS = ("HTER", "AUC")


class TableError(ValueError):
    """No finished runs, or two runs claim the same (method, protocol, seed)."""


def finished_runs(paths: Sequence[Path]) -> list[Run]:
    """Every finished run under `paths`, labelled by variant (`variant_labels`); unfinished
    runs are left out with a warning, two runs of one (variant, protocol, seed) refused."""
    runs = []
    for path in find_runs(paths):
        run = read_run(path)
        if run.complete:
            runs.append(run)
        else:
            log.warning("leaving out %s: its final step was not evaluated (unfinished)", path)
    if not runs:
        raise TableError(f"no finished runs under {', '.join(map(str, paths))}")
    runs, seen = variant_labels(runs), {}
    for run in runs:
        key = (run.label, run.config["data"]["protocol"], run.config["train"]["seed"])
        if key in seen:
            raise TableError(f"{seen[key]} and {run.path} are both {key}; pass only one of them")
        seen[key] = run.path
    return runs


def flat_config(config: dict) -> dict[str, str]:
    """ "section.field" -> value as JSON, without the seed and the runtime record."""
    found = {}
    for section, values in config.items():
        if section == RUNTIME_KEY:
            continue
        items = values.items() if isinstance(values, dict) else [(None, values)]
        for name, value in items:
            key = f"{section}.{name}" if name else section
            if key != "train.seed":
                found[key] = json.dumps(value)
    return found


def variant_labels(runs: list[Run]) -> list[Run]:
    """Runs of one label and protocol whose configs differ in more than their seed become
    separate variants, named by the differing fields: `rfm [rfm.inner_lr=0.01]`."""
    groups = defaultdict(list)
    for run in runs:
        groups[(run.label, run.config["data"]["protocol"])].append(run)
    labelled = []
    for (label, protocol), members in groups.items():
        flats = [flat_config(run.config) for run in members]
        keys = sorted({k for f in flats for k in f if len({g.get(k) for g in flats}) > 1})
        if keys:
            log.info("%s on %s: runs differ in %s; one variant each", label, protocol, keys)
        for run, fields in zip(members, flats, strict=True):
            named = ", ".join(f"{k}={fields.get(k, 'unset')}" for k in keys)
            labelled.append(replace(run, label=f"{label} [{named}]") if keys else run)
    return labelled


def collect_results(
    paths: Sequence[Path], level: str = "video", fixed: float | None = None
) -> list[dict]:
    """Selected results of every finished run under `paths`, for every selection/threshold rule."""
    return results_of(finished_runs(paths), level, fixed)


def results_of(runs: list[Run], level: str = "video", fixed: float | None = None) -> list[dict]:
    rules = [r for r in THRESHOLD_RULES if r != "fixed" or fixed is not None]
    results = []
    for run in runs:
        results.extend(run_results(run, tuple(SELECTION_RULES), rules, (level,), fixed))
    return results


def summarize(results: list[dict]) -> list[dict]:
    """One row per (level, selection, threshold rule, method label, protocol): mean/std in %."""
    groups = defaultdict(list)
    for r in results:
        groups[(r["level"], r["selection"], r["threshold_rule"], r["label"], r["protocol"])].append(
            r
        )
    rows = []
    for (level, selection, rule, label, protocol), members in groups.items():
        row = {"level": level, "selection": selection, "threshold_rule": rule}
        row.update({"oracle": members[0]["oracle"], "method": label, "protocol": protocol})
        row.update({"n_seeds": len(members), "seeds": sorted(m["seed"] for m in members)})
        for name in METRICS:
            row.update(mean_std(f"{name}_pct", [100 * m["metrics"][name] for m in members]))
        row.update(mean_std("threshold_gap", [m["threshold_gap"] for m in members]))
        rows.append(row)
    return sorted(rows, key=row_order)


def mean_std(name: str, values: list[float]) -> dict[str, float]:
    std = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    return {f"{name}_mean": float(np.mean(values)), f"{name}_std": std}


def row_order(row: dict) -> tuple:
    protocols = list(PROTOCOLS)
    protocol = protocols.index(row["protocol"]) if row["protocol"] in protocols else len(protocols)
    return (
        row["level"],
        list(SELECTION_RULES).index(row["selection"]),
        list(THRESHOLD_RULES).index(row["threshold_rule"]),
        row["method"],
        protocol,
        row["protocol"],
    )


def blocks(rows: list[dict]) -> dict[tuple[str, str, str], list[dict]]:
    """Rows grouped by (level, selection, threshold rule), in table order."""
    found: dict[tuple[str, str, str], list[dict]] = {}
    for row in rows:
        found.setdefault((row["level"], row["selection"], row["threshold_rule"]), []).append(row)
    return found


def block_title(level: str, selection: str, threshold_rule: str) -> str:
    return f"{level.capitalize()} level, {rule_label(selection, threshold_rule)}"


def cell(row: dict | None, name: str, n_max: int, digits: int = 2, pm: str = "±") -> str:
    """ "mean ± std", just the mean for one seed, and "(n=k)" when k differs from the others."""
    if row is None:
        return "-"
    mean, std = row[f"{name}_mean"], row[f"{name}_std"]
    text = f"{mean:.{digits}f}".replace(f"-{0:.{digits}f}", f"{0:.{digits}f}")  # no "-0.00"
    text += "" if np.isnan(std) else f" {pm} {std:.{digits}f}"
    return text + (f" (n={row['n_seeds']})" if row["n_seeds"] != n_max else "")


def pivot(block: list[dict]) -> tuple[list[str], list[str], dict[tuple[str, str], dict]]:
    """(methods, protocols, (method, protocol) -> row) of one block, in table order."""
    methods = list(dict.fromkeys(r["method"] for r in block))
    protocols = list(dict.fromkeys(r["protocol"] for r in sorted(block, key=row_order_protocol)))
    return methods, protocols, {(r["method"], r["protocol"]): r for r in block}


def row_order_protocol(row: dict) -> tuple:
    return row_order(row)[4:]


def columns(threshold_rule: str) -> list[tuple[str, str, int]]:
    """(row key, header, digits) per protocol; the gap is 0 by definition at target_eer."""
    shown = [("HTER_pct", "HTER (%)", 2), ("AUC_pct", "AUC (%)", 2)]
    return shown + ([] if threshold_rule == "target_eer" else [("threshold_gap", "thr. gap", 3)])


def format_markdown(rows: list[dict]) -> str:
    n_max = max(r["n_seeds"] for r in rows)
    lines = [
        "Target-domain results, mean ± std over seeds (n per cell shown when it differs); "
        "thr. gap = threshold - target EER threshold. Built by `metafas table` from scores.",
    ]
    for (level, selection, rule), block in blocks(rows).items():
        methods, protocols, table = pivot(block)
        shown = columns(rule)
        head = ["Method"] + [f"{p} {h}" for p in protocols for _, h, _ in shown]
        lines += ["", f"### {block_title(level, selection, rule)}", ""]
        lines += ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
        for method in methods:
            values = [
                cell(table.get((method, p)), key, n_max, digits)
                for p in protocols
                for key, _, digits in shown
            ]
            lines.append("| " + " | ".join([method, *values]) + " |")
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    return text.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%")


def latex_block(title: str, block: list[dict], rule: str, n_max: int) -> list[str]:
    """One booktabs table: a two-level header (protocol, then metric), methods as rows."""
    methods, protocols, table = pivot(block)
    shown = columns(rule)
    width = len(shown)
    spans = " & ".join(f"\\multicolumn{{{width}}}{{c}}{{{latex_escape(p)}}}" for p in protocols)
    rules = " ".join(
        f"\\cmidrule(lr){{{2 + i * width}-{1 + (i + 1) * width}}}" for i in range(len(protocols))
    )
    heads = " & ".join(latex_escape(h) for _ in protocols for _, h, _ in shown)
    body = []
    for method in methods:
        values = [
            cell(table.get((method, p)), key, n_max, digits, pm="$\\pm$")
            for p in protocols
            for key, _, digits in shown
        ]
        body.append(" & ".join([latex_escape(method), *values]) + r" \\")
    return [
        r"\begin{table}[t]",
        r"\centering",
        f"\\caption{{{latex_escape(title)}}}",
        f"\\begin{{tabular}}{{l{'r' * width * len(protocols)}}}",
        r"\toprule",
        f"Method & {spans} \\\\",
        rules,
        f" & {heads} \\\\",
        r"\midrule",
        *body,
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
    ]


def format_latex(rows: list[dict]) -> str:
    n_max = max(r["n_seeds"] for r in rows)
    parts = ["% Built by `metafas table` from saved scores; mean $\\pm$ std over seeds."]
    for (level, selection, rule), block in blocks(rows).items():
        parts += ["", *latex_block(block_title(level, selection, rule), block, rule, n_max)]
    return "\n".join(parts) + "\n"


def format_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({**r, "seeds": " ".join(map(str, r["seeds"]))} for r in rows)
    return buffer.getvalue()


FORMATTERS = {"md": format_markdown, "csv": format_csv, "latex": format_latex}


def build_table(
    paths: Sequence[Path],
    fmt: str = "md",
    level: str = "video",
    fixed: float | None = None,
    compare: str | None = None,
    n_boot: int = 1000,
) -> str:
    """The table of every finished run under `paths` in format md, csv or latex; with
    `compare` (a variant label such as "deepall"), md adds the paired differences of every
    variant to it after the table, and csv holds only those."""
    if fmt not in FORMATTERS:
        raise TableError(f"unknown table format {fmt!r}; known: {', '.join(FORMATS)}")
    if compare is None:
        return FORMATTERS[fmt](summarize(collect_results(paths, level, fixed)))
    if level != "video" or fmt == "latex":
        raise TableError(
            "--compare gives video-level paired differences as md or csv (its intervals "
            f"resample target videos); got --level {level} --format {fmt}"
        )
    runs = finished_runs(paths)
    rows = paired.compare_all(paired.group_runs(runs), compare, n_boot=n_boot)
    if fmt == "csv":
        return paired.format_comparison_csv(rows)
    main = format_markdown(summarize(results_of(runs, level, fixed)))
    return main + "\n" + paired.format_comparison_markdown(rows)
