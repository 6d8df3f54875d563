"""Sanity check of the spoof simulator: do global colour and frequency statistics give the
label away?

Simulates the default domains, describes every frame by global statistics (RGB and HSV means
and stds, radial FFT energy bands, Laplacian variance, ...) and fits a logistic regression:
leave-one-domain-out (train split of three domains -> test split of the fourth) and in-domain
(train split -> test split of the same domain). A simulator whose spoof cues are local
texture and geometry keeps the unseen-domain AUC well below 0.8.

    python scripts/simulator_sanity.py --size 64 --sheet /tmp/sim_sheet.png
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from metafas.simulate import DOMAINS, SimVideo, simulate_domain

FFT_BANDS = 8


@dataclass(frozen=True)
class Protocol:
    """One train/test pairing of domains."""

    name: str  # e.g. "O&C&I->M" or "M->M"
    train: tuple[SimVideo, ...]
    test: tuple[SimVideo, ...]


@dataclass(frozen=True)
class AucResult:
    protocol: str
    kind: str  # "unseen domain" or "in domain"
    auc: float  # label 1 = live scores higher; 0.5 = chance
    test_frames: int


def simulate_all(
    names: Sequence[str], seed: int, size: int, subjects: int | None
) -> dict[str, list[SimVideo]]:
    """Videos of every named domain."""
    return {
        name: list(simulate_domain(name, seed=seed, size=size, subjects=subjects)) for name in names
    }


def protocols(videos: dict[str, list[SimVideo]]) -> list[Protocol]:
    """Leave-one-domain-out protocols, then one in-domain protocol per domain."""
    short = {name: name.removeprefix("sim_").upper() for name in videos}
    result = []
    for target in videos:
        sources = [name for name in videos if name != target]
        train = tuple(v for name in sources for v in videos[name] if v.split == "train")
        test = tuple(v for v in videos[target] if v.split == "test")
        label = "&".join(short[s] for s in sources) + "->" + short[target]
        result.append(Protocol(label, train, test))
    for name, items in videos.items():
        train = tuple(v for v in items if v.split == "train")
        test = tuple(v for v in items if v.split == "test")
        result.append(Protocol(f"{short[name]}->{short[name]}", train, test))
    return result


def radial_bands(gray: np.ndarray, bands: int = FFT_BANDS) -> np.ndarray:
    """Log energy fractions of the centred power spectrum in ``bands`` radial rings."""
    power = np.abs(np.fft.fftshift(np.fft.fft2(gray - gray.mean()))) ** 2
    n = gray.shape[0]
    yy, xx = np.indices(power.shape)
    radius = np.hypot(yy - n // 2, xx - n // 2) / (n / 2)
    ring = np.minimum((radius * bands).astype(int), bands - 1)
    energy = np.bincount(ring.ravel(), power.ravel(), minlength=bands)
    return np.log(energy / energy.sum() + 1e-12)


def image_features(frame: np.ndarray) -> np.ndarray:
    """Global colour and frequency statistics of one uint8 RGB frame."""
    rgb = frame.astype(np.float32) / 255.0
    hsv = np.asarray(Image.fromarray(frame).convert("HSV"), np.float32) / 255.0
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    laplacian = (
        np.roll(gray, 1, 0) + np.roll(gray, -1, 0) + np.roll(gray, 1, 1) + np.roll(gray, -1, 1)
    ) - 4.0 * gray
    gy, gx = np.gradient(gray)
    return np.concatenate(
        [
            rgb.mean((0, 1)),
            rgb.std((0, 1)),
            hsv.mean((0, 1)),
            hsv.std((0, 1)),
            radial_bands(gray),
            [np.log(laplacian.var() + 1e-8), np.hypot(gx, gy).mean(), gray.max() - gray.min()],
        ]
    )


def feature_table(videos: Sequence[SimVideo]) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame features and labels (1 = live)."""
    rows = [image_features(f) for v in videos for f in v.frames]
    labels = [v.label for v in videos for _ in v.frames]
    return np.stack(rows), np.array(labels)


def colour_frequency_auc(videos: dict[str, list[SimVideo]]) -> list[AucResult]:
    """Frame-level AUC of a logistic regression on global statistics, for every protocol."""
    cache = {id(v): feature_table([v]) for items in videos.values() for v in items}

    def stack(items: Sequence[SimVideo]) -> tuple[np.ndarray, np.ndarray]:
        parts = [cache[id(v)] for v in items]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    results = []
    for protocol in protocols(videos):
        x_train, y_train = stack(protocol.train)
        x_test, y_test = stack(protocol.test)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        model.fit(x_train, y_train)
        auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
        source, target = protocol.name.split("->")
        kind = "in domain" if source == target else "unseen domain"
        results.append(AucResult(protocol.name, kind, float(auc), len(y_test)))
    return results


def contact_sheet(videos: dict[str, list[SimVideo]], path: str, per_kind: int = 2) -> None:
    """Saves a PNG: per domain, live frames with their depth, then print and replay frames."""
    rows = []
    for items in videos.values():
        size = items[0].frames.shape[1]
        tiles = []
        for attack in ("none", "print", "replay"):
            for video in [v for v in items if v.attack == attack][:per_kind]:
                tiles.append(video.frames[0])
                if video.depth is not None:
                    depth = Image.fromarray((video.depth[0] * 255).astype(np.uint8))
                    gray = np.asarray(depth.resize((size, size), Image.Resampling.NEAREST))
                    tiles.append(np.repeat(gray[..., None], 3, axis=-1))
        rows.append(np.concatenate(tiles, axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def print_table(results: Sequence[AucResult]) -> None:
    """Prints one row per protocol."""
    print(f"{'protocol':<12} {'kind':<14} {'frames':>6} {'AUC':>6}")
    for r in results:
        print(f"{r.protocol:<12} {r.kind:<14} {r.test_frames:>6} {r.auc:>6.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subjects", type=int, default=None, help="per domain (default: all)")
    parser.add_argument("--sheet", default=None, help="also save a contact sheet PNG here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    videos = simulate_all(list(DOMAINS), args.seed, args.size, args.subjects)
    count = sum(len(v) for v in videos.values())
    print(f"simulated {count} videos at size {args.size} in {time.perf_counter() - start:.1f} s")
    print_table(colour_frequency_auc(videos))
    if args.sheet:
        contact_sheet(videos, args.sheet)
        print(f"contact sheet: {args.sheet}")


if __name__ == "__main__":
    main()
