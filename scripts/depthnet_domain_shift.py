"""Sanity check of the simulated domains with a small DepthNet: is the task learnable in-domain,
and is there a real shift across domains?

Trains DeepAll (the `cpu` preset) on the train split of one simulated domain at a time and
scores the test split of every domain. Prints video-level EER (%) and AUC: the diagonal is the
in-domain error, the rest the cross-domain error of the same model.

    python scripts/depthnet_domain_shift.py --steps 300
"""

import argparse
import time

import numpy as np

from metafas import metrics
from metafas.data.loader import FrameReader, SourceBatches
from metafas.data.simulated import DEFAULT_DOMAINS, open_store
from metafas.evaluation.scoring import grouped, score_frames
from metafas.training.config import resolve_config
from metafas.training.runs import build_method


def train_on(domain: str, store, reader: FrameReader, steps: int, seed: int):
    config = resolve_config("cpu", ['method="deepall"', f"train.seed={seed}"])
    method = build_method(config)
    sources = SourceBatches(
        {domain: store.select(domain, ("train",))}, reader, config.train.k, seed
    )
    for _ in range(steps):
        method.update([batch.to("cpu") for batch in sources.next()])
    return method


def video_eer_auc(method, frames, reader: FrameReader) -> tuple[float, float]:
    videos = grouped(frames, score_frames(method, frames, reader), "video")
    return metrics.eer(videos.labels, videos.scores)[0], metrics.roc_auc(
        videos.labels, videos.scores
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    store = open_store("", 64)
    reader = FrameReader(store.root, 64)
    started = time.perf_counter()
    print("video-level EER % / AUC %: rows = trained on, columns = tested on")
    print(f"{'':8}" + "".join(f"{d:>16}" for d in DEFAULT_DOMAINS))
    diagonal, off = [], []
    for source in DEFAULT_DOMAINS:
        method = train_on(source, store, reader, args.steps, args.seed)
        cells = []
        for target in DEFAULT_DOMAINS:
            eer, auc = video_eer_auc(method, store.select(target, ("test",)), reader)
            (diagonal if source == target else off).append(eer)
            cells.append(f"{100 * eer:7.1f} / {100 * auc:5.1f}")
        print(f"{source:8}" + "".join(f"{c:>16}" for c in cells))
    print(
        f"mean EER in-domain {100 * np.mean(diagonal):.1f}%, "
        f"cross-domain {100 * np.mean(off):.1f}% ({time.perf_counter() - started:.0f} s)"
    )


if __name__ == "__main__":
    main()
