"""Is the simulated testbed what it claims? Every figure of docs/simulator.md, in one command.

At the cpu preset and the demo's training budget (``metafas.cli.demo.DEMO_STEPS`` steps of
30 images), with fixed seeds, it prints:

1. DeepAll trained on one domain's train subjects, video AUC on that domain's test subjects
   (in-domain), for every default domain;
2. DeepAll trained on three domains, video AUC on the fourth (unseen domain), for the four
   leave-one-domain-out tasks, with the gap to the target's in-domain AUC;
3. a logistic regression on global colour and frequency statistics, frame AUC in-domain and
   on the unseen domain, and the live/spoof AUC of mean brightness and mean saturation alone
   within each domain and across domains;
4. with ``--ablations``: the same DeepAll figures with each cue switched off
   (``metafas.simulate.cues``), so that the causes are shown, not asserted.

    python scripts/simulator_sanity.py --ablations all --doc docs/simulator.md --sheet \
        docs/simulator_contact_sheet.png

Stores are simulated once into the metafas cache (the all-cues store is the demo's own).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sanity_features import cue_statistics, global_stat_aucs  # noqa: E402
from sanity_report import contact_sheet, write_doc  # noqa: E402

from metafas import metrics  # noqa: E402
from metafas.cli.demo import DEMO_STEPS  # noqa: E402
from metafas.data.loader import FrameReader, SourceBatches  # noqa: E402
from metafas.data.simulated import DEFAULT_DOMAINS, simulated_store  # noqa: E402
from metafas.evaluation.scoring import grouped, score_frames  # noqa: E402
from metafas.simulate.cues import Cues  # noqa: E402
from metafas.training.config import resolve_config  # noqa: E402
from metafas.training.runs import build_method  # noqa: E402

SIZE = 64  # the cpu preset's input size
IMAGES_PER_STEP = 30  # the demo's 3 source domains x 2 x k=5


def short(domain: str) -> str:
    return domain.removeprefix("sim_").upper()


def train_deepall(store, domains: Sequence[str], reader: FrameReader, steps: int, seed: int):
    """DeepAll at the cpu preset on the train split of ``domains``, 30 images per step."""
    k = IMAGES_PER_STEP // (2 * len(domains))
    config = resolve_config("cpu", ['method="deepall"', f"train.seed={seed}", f"train.k={k}"])
    method = build_method(config)
    frames = {d: store.select(d, ("train",)) for d in domains}
    batches = SourceBatches(frames, reader, config.train.k, seed)
    for _ in range(steps):
        method.update([batch.to("cpu") for batch in batches.next()])
    return method.eval()


def video_auc(method, store, domain: str, reader: FrameReader) -> float:
    """Video-level AUC (mean frame score per video) on the test split of ``domain``."""
    frames = store.select(domain, ("test",))
    videos = grouped(frames, score_frames(method, frames, reader), "video")
    return float(metrics.roc_auc(videos.labels, videos.scores))


def deepall_figures(store, steps: int, seed: int, log) -> dict:
    """In-domain AUC per domain and unseen-domain AUC per leave-one-domain-out task."""
    reader = FrameReader(store.root, SIZE)
    figures = {"in_domain": {}, "unseen": {}}
    for domain in DEFAULT_DOMAINS:
        method = train_deepall(store, [domain], reader, steps, seed)
        figures["in_domain"][domain] = video_auc(method, store, domain, reader)
        log(f"  DeepAll {short(domain)}->{short(domain)}: {figures['in_domain'][domain]:.3f}")
    for target in DEFAULT_DOMAINS:
        sources = [d for d in DEFAULT_DOMAINS if d != target]
        method = train_deepall(store, sources, reader, steps, seed)
        figures["unseen"][target] = video_auc(method, store, target, reader)
        task = "&".join(short(s) for s in sources) + "->" + short(target)
        log(f"  DeepAll {task}: {figures['unseen'][target]:.3f}")
    return figures


def main_table(deepall: dict, stats: dict) -> list[str]:
    """Markdown lines of the table of goals 1-3."""
    lines = [
        "| target | DeepAll in-domain | DeepAll unseen | gap | global-stats LR in-domain "
        "| global-stats LR unseen |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for d in DEFAULT_DOMAINS:
        ind, uns = deepall["in_domain"][d], deepall["unseen"][d]
        lr = stats["lr"][d]
        lines.append(
            f"| {short(d)} | {ind:.3f} | {uns:.3f} | {100 * (ind - uns):+.1f} pt "
            f"| {lr['in_domain']:.3f} | {lr['unseen']:.3f} |"
        )
    mean_in = np.mean(list(deepall["in_domain"].values()))
    mean_un = np.mean(list(deepall["unseen"].values()))
    lines.append(
        f"| mean | {mean_in:.3f} | {mean_un:.3f} | {100 * (mean_in - mean_un):+.1f} pt | | |"
    )
    return lines


def statistics_table(stats: dict) -> list[str]:
    """Per-statistic live/spoof AUC within each domain and across domains."""
    lines = [
        "| statistic | " + " | ".join(short(d) for d in DEFAULT_DOMAINS) + " | all domains pooled "
        "| leave-one-domain-out (mean, worst) |",
        "|---|" + "---:|" * (len(DEFAULT_DOMAINS) + 2),
    ]
    for name, row in stats["single"].items():
        cells = " | ".join(f"{row['within'][d]:.2f}" for d in DEFAULT_DOMAINS)
        lines.append(
            f"| {name} | {cells} | {row['pooled']:.2f} "
            f"| {row['loo_mean']:.2f}, {row['loo_worst']:.2f} |"
        )
    return lines


def ablation_table(rows: dict[str, dict]) -> list[str]:
    """Mean in-domain and unseen-domain AUC of DeepAll with each cue switched off."""
    base = rows["none"]
    lines = [
        "| cues switched off | in-domain AUC (mean) | change | unseen AUC (mean) | change |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, fig in rows.items():
        ind, uns = (np.mean(list(fig[k].values())) for k in ("in_domain", "unseen"))
        b_in, b_un = (np.mean(list(base[k].values())) for k in ("in_domain", "unseen"))
        lines.append(
            f"| {name} | {ind:.3f} | {100 * (ind - b_in):+.1f} pt | {uns:.3f} "
            f"| {100 * (uns - b_un):+.1f} pt |"
        )
    return lines


def ablation_names(value: str) -> list[str]:
    known = [name for name in Cues.__dataclass_fields__]
    if value == "all":
        return known
    names = [n.strip() for n in value.split(",") if n.strip()]
    Cues.without(*names)  # refuses unknown names, listing the known ones
    return names


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=DEMO_STEPS, help="DeepAll training steps")
    parser.add_argument("--seed", type=int, default=0, help="simulation and training seed")
    parser.add_argument("--ablations", default="", help='cues to switch off one by one, or "all"')
    parser.add_argument("--sheet", default=None, help="save a contact sheet PNG here")
    parser.add_argument("--doc", default=None, help="write the figures into this markdown file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    log = functools.partial(print, flush=True)
    store = simulated_store(SIZE, args.seed)
    log(f"store {store.root}: {len(store.frames)} frames")
    stats = global_stat_aucs(store)
    stats["single"] = cue_statistics(store, stats["tables"])
    deepall = deepall_figures(store, args.steps, args.seed, log)
    sections = {"main": main_table(deepall, stats), "statistics": statistics_table(stats)}
    if args.ablations:
        rows = {"none": deepall}
        for name in ablation_names(args.ablations):
            log(f"cue switched off: {name}")
            rows[name] = deepall_figures(
                simulated_store(SIZE, args.seed, (name,)), args.steps, args.seed, log
            )
        sections["ablations"] = ablation_table(rows)
    for title, lines in sections.items():
        print(f"\n{title}\n" + "\n".join(lines))
    elapsed = time.perf_counter() - started
    print(f"\n{args.steps} steps per DeepAll run; total {elapsed:.0f} s")
    if args.sheet:
        contact_sheet(store, args.sheet)
        print(f"contact sheet: {args.sheet}")
    if args.doc:
        write_doc(
            Path(args.doc),
            sections,
            "python scripts/simulator_sanity.py "
            + " ".join(argv if argv is not None else sys.argv[1:]),
        )
        print(f"figures written into {args.doc}")


if __name__ == "__main__":
    main()
