"""Report figures as PNG files, drawn with matplotlib's Agg canvas (no pyplot, no display).

Convention: label 1 = live, score = live probability, accepted as live iff score >= threshold;
APCER = spoofs accepted, BPCER = lives rejected. Oracle thresholds are drawn dashed.
"""

import logging
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image
from scipy.special import ndtri

from metafas import metrics
from metafas.evaluation.report.data import Mistake, SelectedSteps, Thresholds
from metafas.evaluation.selection import Scores

log = logging.getLogger(__name__)

THRESHOLD_STYLES = {  # rule -> (legend label, line style, marker)
    "source_val_eer": ("source_val_eer threshold", "-", "o"),
    "target_eer": ("target_eer threshold (oracle)", "--", "X"),
}
DET_TICKS = np.array([0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99])


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def probit(rates: np.ndarray) -> np.ndarray:
    """The normal deviate of a rate, clipped to 0.1%..99.9% so that 0 and 1 stay on the plot."""
    return ndtri(np.clip(rates, 1e-3, 1 - 1e-3))


def roc_det_figure(
    curves: dict[str, metrics.VideoScores], test_key: str, thresholds: Thresholds, path: Path
) -> Path:
    """ROC and DET curves of each named score set, thresholds marked on `curves[test_key]`."""
    figure = new_figure(10, 4.2)
    roc, det = figure.subplots(1, 2)
    for name, scored in curves.items():
        apcer, bpcer, _ = metrics.det_curve(scored.labels, scored.scores)
        auc = metrics.roc_auc(scored.labels, scored.scores)
        style = {"color": "0.6"} if name.startswith("source") else {}
        roc.plot(apcer, 1 - bpcer, label=f"{name} (AUC {100 * auc:.1f}%)", **style)
        det.plot(probit(apcer), probit(bpcer), label=name, **style)
    test = curves[test_key]
    for rule, (label, _, marker) in THRESHOLD_STYLES.items():
        apcer, bpcer = metrics.error_rates(test.labels, test.scores, getattr(thresholds, rule))
        roc.plot([apcer], [1 - bpcer], marker, color="k", label=label, markersize=8)
        det.plot(probit(np.array([apcer])), probit(np.array([bpcer])), marker, color="k")
    roc.plot([0, 1], [0, 1], ":", color="0.8")
    roc.set(xlabel="APCER (spoofs accepted)", ylabel="1 - BPCER (lives accepted)", title="ROC")
    roc.legend(fontsize=7, loc="lower right")
    ticks = probit(DET_TICKS)
    labels = [f"{100 * t:g}%" for t in DET_TICKS]
    det.set(xticks=ticks, yticks=ticks, xticklabels=labels, yticklabels=labels)
    det.set(xlabel="APCER", ylabel="BPCER", title="DET (normal-deviate axes)")
    det.grid(alpha=0.3)
    det.legend(fontsize=7, loc="upper right")
    return save(figure, path)


def score_groups(scored) -> dict[tuple[str, str], np.ndarray]:
    """(domain, "live" or the attack type) -> frame scores."""
    groups: dict[tuple[str, str], list[float]] = {}
    for frame, score in zip(scored.frames, scored.scores, strict=True):
        kind = "live" if frame.label == 1 else frame.attack
        groups.setdefault((frame.domain, kind), []).append(float(score))
    return {key: np.array(values) for key, values in groups.items()}


def histogram_figure(scores: Scores, thresholds: Thresholds, path: Path) -> Path:
    """Frame-score histograms per domain and attack type, frame-level thresholds marked."""
    panels = []
    for role, name in (("source val", "source_val"), ("target test", "target_test")):
        groups = score_groups(scores[name])
        for domain in sorted({d for d, _ in groups}):
            panels.append(
                (f"{domain} ({role})", {k: v for (d, k), v in groups.items() if d == domain})
            )
    figure = new_figure(3.2 * len(panels), 3.0)
    axes = np.atleast_1d(figure.subplots(1, len(panels), sharex=True))
    everything = np.concatenate([scores[name].scores for name in ("source_val", "target_test")])
    low = min(everything.min(), thresholds.source_val_eer, thresholds.target_eer)
    high = max(everything.max(), thresholds.source_val_eer, thresholds.target_eer)
    bins = np.linspace(low, max(high, low + 1e-3), 31)  # the scores' range, not all of [0, 1]
    for axis, (title, kinds) in zip(axes, panels, strict=True):
        for kind in sorted(kinds, key=lambda k: (k != "live", k)):
            axis.hist(kinds[kind], bins=bins, histtype="step", linewidth=1.5, label=kind)
        for rule, (label, line, _) in THRESHOLD_STYLES.items():
            axis.axvline(getattr(thresholds, rule), linestyle=line, color="k", label=label)
        axis.set(title=title, xlabel="live probability", ylabel="frames")
        axis.legend(fontsize=6)
    return save(figure, path)


def training_figure(
    train: dict[str, tuple[np.ndarray, np.ndarray]],
    evaluation: dict[str, tuple[np.ndarray, np.ndarray]],
    steps: SelectedSteps,
    path: Path,
) -> Path:
    """Training losses (tensorboard) and target/source-val metrics per evaluation step."""
    figure = new_figure(10, 3.6)
    losses, evals = figure.subplots(1, 2)
    for tag, (x, y) in sorted(train.items()):
        losses.plot(x, y, label=tag.removeprefix("train/"), linewidth=1)
    losses.set(xlabel="step", ylabel="loss term", title="training (tensorboard)")
    if train:
        losses.legend(fontsize=7)
    for name, (x, y) in evaluation.items():
        evals.plot(x, 100 * y, marker="o", markersize=3, label=name)
    evals.axvline(
        steps.source_val, color="g", alpha=0.5, label=f"source_val pick (step {steps.source_val})"
    )
    evals.axvline(
        steps.oracle,
        color="r",
        linestyle="--",
        alpha=0.5,
        label=f"oracle pick (step {steps.oracle})",
    )
    evals.set(xlabel="step", ylabel="%", title="evaluation (video level)")
    for axis in (losses, evals):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    evals.legend(fontsize=6)
    return save(figure, path)


def crop(path: Path, size: int = 96) -> np.ndarray | None:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB").resize((size, size)))
    except OSError as error:
        log.warning("cannot show %s: %s", path, error)
        return None


def mistakes_figure(rows: dict[str, list[Mistake]], path: Path) -> Path:
    """A grid of crops: one row per kind of mistake, most confident first."""
    columns = max(1, max(len(items) for items in rows.values()))
    figure = new_figure(1.3 * columns + 0.5, 1.7 * len(rows))
    axes = np.atleast_2d(figure.subplots(len(rows), columns, squeeze=False))
    for row, (title, items) in zip(axes, rows.items(), strict=True):
        row[0].set_ylabel(title, fontsize=8)
        for column, axis in enumerate(row):
            axis.set(xticks=[], yticks=[])
            if column >= len(items):
                axis.axis("off" if column else "on")
                continue
            item = items[column]
            pixels = crop(item.image)
            if pixels is None:
                axis.text(0.5, 0.5, "missing", ha="center", va="center")
            else:
                axis.imshow(pixels)
            kind = "live" if item.label == 1 else item.attack
            axis.set_title(f"{kind} p={item.score:.2f}\n{item.domain}", fontsize=7)
    return save(figure, path)


def overlay_roc_figure(
    curves: list[tuple[str, metrics.VideoScores]], title: str, path: Path
) -> Path:
    """ROC curves of several runs on one axis, one colour per method label."""
    figure = new_figure(5, 4.2)
    axis = figure.subplots()
    colours: dict[str, str] = {}
    for label, scored in curves:
        apcer, bpcer, _ = metrics.det_curve(scored.labels, scored.scores)
        legend = None if label in colours else label
        colour = colours.setdefault(label, f"C{len(colours)}")
        axis.plot(apcer, 1 - bpcer, color=colour, alpha=0.7, label=legend)
    axis.plot([0, 1], [0, 1], ":", color="0.8")
    axis.set(xlabel="APCER", ylabel="1 - BPCER", title=title)
    axis.legend(fontsize=7, loc="lower right")
    return save(figure, path)


DIFFERENCE_PANELS = (  # paired.METRICS name -> axis label
    ("HTER", "Δ HTER at source_val_eer threshold (pp)"),
    ("AUC", "Δ AUC (pp)"),
)


def difference_figure(rows: list[dict], path: Path) -> Path:
    """Paired differences variant - reference with 95 % intervals (rows of one selection rule):
    one line per variant, one marker per protocol, a panel per metric; dashed: 0."""
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    protocols = list(dict.fromkeys(r["protocol"] for r in rows))
    figure = new_figure(10, 1.2 + 0.3 * len(variants) * max(1.5, len(protocols) / 2))
    axes = np.atleast_1d(figure.subplots(1, len(DIFFERENCE_PANELS), sharey=True))
    spacing = 0.7 / len(protocols)
    for axis, (name, label) in zip(axes, DIFFERENCE_PANELS, strict=True):
        for index, protocol in enumerate(protocols):
            found = [r for r in rows if r["protocol"] == protocol]
            offset = (index - (len(protocols) - 1) / 2) * spacing
            y = np.array([variants.index(r["variant"]) for r in found]) + offset
            x = np.array([100 * r[name]["difference"] for r in found])
            low = np.array([100 * r[name]["ci"][0] for r in found])
            high = np.array([100 * r[name]["ci"][1] for r in found])
            axis.hlines(y, low, high, color=f"C{index}", linewidth=1.5)  # the interval
            axis.plot(x, y, "o", markersize=4, color=f"C{index}", label=protocol)
        axis.axvline(0, color="k", linestyle="--", linewidth=1)
        axis.set(xlabel=label, yticks=range(len(variants)), yticklabels=variants)
        axis.set_ylim(len(variants) - 0.5, -0.5)  # the first variant on top
        axis.grid(axis="x", alpha=0.3)
    reference, selection = rows[0]["reference"], rows[0]["selection"]
    axes[0].set_title(f"variant - {reference}, selection {selection}, 95 % intervals", loc="left")
    # Below the panels, where it hides no interval (constrained layout makes room for it).
    handles, labels = axes[-1].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=7, loc="outside lower center", ncol=len(protocols))
    return save(figure, path)
