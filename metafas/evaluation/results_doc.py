"""`docs/results.md` from a sweep's saved scores by one command, never typed by hand.

The document holds the main table (per protocol and variant: HTER at the source-validation
threshold and AUC with 95 % intervals over seeds and target videos, the oracle HTER), the
paired differences to a reference, their figure (a PNG beside the document), a "Reading"
written from those intervals by `reading`, and the RFM paper's published numbers, marked as
oracle-selected and measured on other data.
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from metafas.data.atomic import atomic_write_text
from metafas.evaluation import paired
from metafas.evaluation.report.figures import difference_figure
from metafas.evaluation.selection import Run
from metafas.evaluation.table import finished_runs

log = logging.getLogger(__name__)

SUMMARY_SELECTIONS = ("source_val", "last", "oracle")
COMPARED_SELECTIONS = ("source_val", "last")
READING_SELECTION = "source_val"
# RFM (Shao, Lan, Yuen, AAAI 2020, arXiv:1911.10771) as published: HTER and AUC in %, with the
# checkpoint and threshold chosen on the target test set, on the real databases.
PUBLISHED = {
    "OCI_M": ("O&C&I->M", 13.89, 93.98),
    "OMI_C": ("O&M&I->C", 20.27, 88.16),
    "OCM_I": ("O&C&M->I", 17.30, 90.48),
    "ICM_O": ("I&C&M->O", 16.45, 91.16),
}


@dataclass(frozen=True)
class Contrast:
    """One part of RFM measured as a paired difference `variant` - `baseline`."""

    part: str
    variant: str
    baseline: str
    note: str = ""


# Labels are those of experiments/rfm_ablation.toml (method + "+" + ablation name).
CONTRASTS = (
    Contrast("RFM against DeepAll", "rfm", "deepall"),
    Contrast(
        "Meta-learning", "rfm", "rfm+inner_lr_near0", "the inner step (alpha 1e-3 against ~0)"
    ),
    Contrast(
        "Reweighting alone",
        "deepall+rfm_ratio",
        "deepall",
        "DeepAll at RFM's classification-to-depth ratio 1 : 7.5 against 1 : 10",
    ),
    Contrast("RFM beyond its reweighting", "rfm", "deepall+rfm_ratio"),
    Contrast(
        "Fine-grained meta-learners",
        "rfm",
        "rfm+not_fine_grained",
        "the pooled objective also weighs classification to depth 1 : 15",
    ),
    Contrast("Depth regularization in RFM", "rfm", "rfm+no_depth"),
    Contrast("Depth regularization in DeepAll", "deepall", "deepall+binary"),
    Contrast("Second-order terms", "rfm", "rfm+first_order"),
    Contrast("A larger inner step, alpha 1e-2", "rfm+inner_lr_1e_2", "rfm"),
    Contrast("A larger inner step, alpha 1e-1", "rfm+inner_lr_1e_1", "rfm"),
    Contrast("Every domain as meta-test each step", "rfm+all_splits", "rfm"),
)


def percent(entry: dict) -> str:
    """A mean with its interval in percent: "12.30 [8.10, 16.00]"."""
    low, high = entry["ci"]
    return f"{100 * entry['mean']:.2f} [{100 * low:.2f}, {100 * high:.2f}]"


def seed_text(seeds: Sequence[int]) -> str:
    return f"{len(seeds)} ({', '.join(map(str, seeds))})"


def main_tables(summaries: list[dict]) -> list[str]:
    """The main table, one block per selection rule."""
    lines = ["## Main table", ""]
    lines.append(
        "Video level, percent; mean over seeds with a 95 % interval resampling seeds and target "
        "videos. HTER at each run's source_val_eer threshold (what a deployed model would use) "
        "and AUC; the last column is oracle (threshold at the target's own EER)."
    )
    head = ["Protocol", "Variant", "Seeds", "HTER [95% CI]", "AUC [95% CI]"]
    head.append("HTER at target EER thr., oracle [95% CI]")
    for selection in SUMMARY_SELECTIONS:
        block = [s for s in summaries if s["selection"] == selection]
        oracle = " (oracle: the step is chosen on target labels)" if selection == "oracle" else ""
        lines += ["", f"### Selection {selection}{oracle}", ""]
        lines += ["| " + " | ".join(head) + " |", "| --- | --- | --- |" + " ---: |" * 3]
        for s in block:
            cells = [s["protocol"], s["variant"], seed_text(s["seed_list"])]
            cells += [percent(s["HTER"]), percent(s["AUC"]), percent(s["HTER_oracle"])]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def contrast_rows(groups: paired.Groups, contrast: Contrast, n_boot: int) -> list[dict]:
    """The contrast on every protocol where both ran, over the seeds both ran."""
    rows = []
    for label, protocol in sorted(groups, key=lambda k: paired.protocol_order(k[1])):
        if label != contrast.variant or (contrast.baseline, protocol) not in groups:
            continue
        seeds = set(groups[(label, protocol)]) & set(groups[(contrast.baseline, protocol)])
        if seeds:
            args = (label, contrast.baseline, protocol, READING_SELECTION, n_boot, seeds)
            rows.append(paired.compare(groups, *args))
    return rows


def outcome(row: dict) -> str:
    """ "helps", "hurts", "mixed" or "none" for one protocol, from HTER and AUC together."""
    kinds = set()
    for name in ("HTER", "AUC"):
        words = paired.verdict(row[name], name)
        if words != "holds 0":
            kinds.add("helps" if words.endswith("(better)") else "hurts")
    return "mixed" if len(kinds) > 1 else kinds.pop() if kinds else "none"


VERBS = {"helps": "better", "hurts": "worse", "mixed": "mixed (HTER and AUC disagree)"}


def conclusion(rows: list[dict]) -> str:
    """A plain sentence from the per-protocol outcomes."""
    found: dict[str, list[str]] = {"helps": [], "hurts": [], "mixed": [], "none": []}
    for row in rows:
        found[outcome(row)].append(row["protocol"])
    if len(found["none"]) == len(rows):
        return "nothing measurable at this scale (every interval holds 0)."
    said = [f"{verb} on {', '.join(found[kind])}" for kind, verb in VERBS.items() if found[kind]]
    if found["none"]:
        said.append(f"nothing measurable on {', '.join(found['none'])}")
    return "; ".join(said) + "."


def reading(groups: paired.Groups, n_boot: int) -> list[str]:
    """The generated Reading: one bullet per contrast whose variants ran."""
    lines = [
        "## Reading (generated from the intervals above; not typed by hand)",
        "",
        f"Each line is a paired difference (selection {READING_SELECTION}, video level, "
        "percentage points, 95 % interval over seeds and target videos) on the seeds both "
        "variants ran. 'better' means a lower HTER at the source threshold or a higher AUC "
        "with an interval that excludes 0; an interval that holds 0 is nothing measurable at "
        "this scale, not evidence of no effect.",
        "",
    ]
    every_row = []
    for contrast in CONTRASTS:
        rows = contrast_rows(groups, contrast, n_boot)
        if not rows:
            continue
        every_row += rows
        note = f"; {contrast.note}" if contrast.note else ""
        per_protocol = "; ".join(
            f"{r['protocol']} HTER {paired.points(r['HTER'])}, AUC {paired.points(r['AUC'])}"
            f" ({len(r['seeds'])} seeds)"
            for r in rows
        )
        lines.append(
            f"- **{contrast.part}** (`{contrast.variant}` - `{contrast.baseline}`{note}): "
            f"{per_protocol}. Reading: {conclusion(rows)}"
        )
    return lines + chance_line(every_row)


def chance_line(rows: list[dict]) -> list[str]:
    """How many of the intervals above exclude 0, against how many would by chance alone."""
    if not rows:
        return []
    verdicts = [paired.verdict(row[name], name) for row in rows for name in ("HTER", "AUC")]
    excluding = sum(words != "holds 0" for words in verdicts)
    return [
        "",
        f"Of these {len(verdicts)} intervals (HTER and AUC, {len(rows)} contrast-protocol "
        f"pairs), {excluding} exclude 0. Were no part of RFM to make any difference, about "
        f"{len(verdicts) / 20:.1f} of {len(verdicts)} 95 % intervals would exclude 0 by chance "
        "alone, on average (and a pair's HTER and AUC tend to do so together), so a lone "
        "'better' or 'worse' is weak evidence by itself; a part that matters shows on several "
        "protocols.",
    ]


def published(summaries: list[dict]) -> list[str]:
    """The paper's numbers beside this study's oracle-selected RFM rows of the same task."""
    lines = [
        "## The RFM paper's published numbers (oracle-selected, other data)",
        "",
        "Shao, Lan, Yuen, AAAI 2020 (arXiv:1911.10771), RFM, HTER and AUC in %. The paper picks "
        "the checkpoint and the threshold on the target test set (in metafas's words: selection "
        "oracle, threshold target_eer, both oracle) and trains on the real OULU-NPU, CASIA-FASD, "
        "Replay-Attack and MSU-MFSD databases. The rows of this study beside them use the same "
        "oracle rules on the protocol of the same shape, on other data: shown for scale, not "
        "comparable.",
        "",
        "| Task | Paper HTER (oracle) | Paper AUC (oracle) | This study: protocol | "
        "HTER (oracle) | AUC (oracle) |",
        "| --- | ---: | ---: | --- | ---: | ---: |",
    ]
    oracle_rfm = [s for s in summaries if s["selection"] == "oracle" and s["variant"] == "rfm"]
    oracle_rfm.sort(key=lambda s: s["protocol"].startswith("sim_"))  # real data first
    for key, (task, hter, auc) in PUBLISHED.items():
        match = next((s for s in oracle_rfm if task_key(s["protocol"]) == key), None)
        mine = ["-", "-", "-"]
        if match:
            mine = [
                match["protocol"],
                *(f"{100 * match[n]['mean']:.2f}" for n in ("HTER_oracle", "AUC")),
            ]
        lines.append(f"| {task} | {hter:.2f} | {auc:.2f} | " + " | ".join(mine) + " |")
    return lines


def task_key(protocol: str) -> str:
    """ "sim_OCI_M", "OCI_M" and "OCI_M@paper" are all the task OCI_M."""
    return protocol.removeprefix("sim_").split("@")[0]


# The Setup's label -> key of a run's runtime record (metafas.training.hardware.runtime_record).
RUNTIME_FIELDS = {"precision": "precision", "CPU": "cpu_capability", "threads": "threads"}


def setup(runs: list[Run], path_text: str) -> list[str]:
    """What ran: runs, protocols, steps and model, what they ran on (the runtime record of
    their config.json), training time from done.json."""
    configs = [run.config for run in runs]
    runtimes = [c.get("runtime", {}) for c in configs]
    values = {
        "steps": sorted({c["train"]["steps"] for c in configs}),
        "input px": sorted({c["model"]["input_size"] for c in configs}),
        "width": sorted({c["model"]["width"] for c in configs}),
        "k": sorted({c["train"]["k"] for c in configs}),
        **{
            label: sorted({str(r.get(key, "unrecorded")) for r in runtimes})
            for label, key in RUNTIME_FIELDS.items()
        },
    }
    seconds = [done_seconds(run) for run in runs]
    timed = [s for s in seconds if s is not None]
    protocols = sorted({c["data"]["protocol"] for c in configs}, key=paired.protocol_order)
    described = ", ".join(f"{k} {'/'.join(map(str, v))}" for k, v in values.items())
    time_text = (
        f"training time summed over {len(timed)} of them (their done.json): "
        f"{sum(timed) / 3600:.2f} h ({sum(timed):.0f} s)"
        if timed
        else "no done.json gives their training time"
    )
    return [
        "## Setup",
        "",
        f"{len(runs)} finished runs under `{path_text}` on {', '.join(protocols)}; {described}; "
        f"{time_text}.",
    ]


def done_seconds(run: Run) -> float | None:
    try:
        return float(json.loads((run.path / "done.json").read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def results_markdown(
    paths: Sequence[Path], figure: Path, reference: str, n_boot: int, command: str
) -> str:
    """The whole document; writes its figure to `figure`."""
    runs = finished_runs(paths)
    groups = paired.group_runs(runs)
    summaries = paired.summarize_groups(groups, SUMMARY_SELECTIONS, n_boot)
    comparisons = paired.compare_all(groups, reference, COMPARED_SELECTIONS, n_boot)
    difference_figure([r for r in comparisons if r["selection"] == "source_val"], figure)
    caption = f"Paired differences to {reference}, selection source_val, 95 % intervals"
    lines = [
        "# Results: what RFM adds, measured",
        "",
        f"<!-- Generated by `{command}`; edits are overwritten. -->",
        f"Generated from the runs' saved scores by `{command}`. Do not edit by hand.",
        "",
        *setup(runs, ", ".join(map(str, paths))),
        "",
        *main_tables(summaries),
        "",
        "## Paired differences",
        "",
        paired.format_comparison_markdown(comparisons).rstrip("\n"),
        "",
        f"![{caption}]({figure.name})",
        "",
        *reading(groups, n_boot),
        "",
        *published(summaries),
    ]
    return "\n".join(lines) + "\n"


def write_results_doc(
    paths: Sequence[Path],
    out: Path,
    reference: str = "deepall",
    n_boot: int = 1000,
    command: str | None = None,
) -> Path:
    """Write `out` (Markdown) and `<out stem>_differences.png` beside it; returns `out`."""
    out = Path(out)
    if n_boot < 1:
        raise ValueError(f"the results document needs bootstrap resamples; got n_boot={n_boot}")
    command = command or default_command(paths, out, reference, n_boot)
    figure = out.with_name(f"{out.stem}_differences.png")
    atomic_write_text(out, results_markdown(paths, figure, reference, n_boot, command))
    log.info("wrote %s and %s", out, figure)
    return out


def default_command(paths: Sequence[Path], out: Path, reference: str, n_boot: int) -> str:
    """The `metafas table` command that writes this document."""
    boot = "" if n_boot == 1000 else f" --n-boot {n_boot}"
    dirs = " ".join(map(str, paths))
    return f"metafas table {dirs} --compare {reference} --format doc --out {out}{boot}"
