"""Global colour and frequency statistics of stored frames, and how much label they give away.

Part of scripts/simulator_sanity.py: a logistic regression on global statistics (RGB and HSV
means and stds, radial FFT energy bands, Laplacian variance, ...) in-domain and on the unseen
domain, and single statistics (mean brightness, mean saturation) within and across domains.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from metafas.data.simulated import DEFAULT_DOMAINS
from metafas.data.store import Store

FFT_BANDS = 8
BRIGHTNESS, SATURATION = 6 + 2, 6 + 1  # HSV value and saturation means in image_features


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


def feature_tables(store: Store) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """(features, labels) of every frame, per (domain, split)."""
    tables = {}
    for domain in DEFAULT_DOMAINS:
        for split in ("train", "test"):
            frames = store.select(domain, (split,))
            rows = [image_features(np.asarray(Image.open(store.root / f.image))) for f in frames]
            tables[domain, split] = (np.stack(rows), np.array([f.label for f in frames]))
    return tables


def _fit_auc(train: Sequence[tuple], test: tuple, columns=slice(None)) -> float:
    x = np.concatenate([t[0][:, columns] for t in train])
    y = np.concatenate([t[1] for t in train])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(x, y)
    return float(roc_auc_score(test[1], model.predict_proba(test[0][:, columns])[:, 1]))


def global_stat_aucs(store: Store) -> dict:
    """{"lr": {target: {"in_domain", "unseen"}}, "tables": ...}: frame AUC of the logistic
    regression trained on the target's train split (in-domain) or on the other domains' train
    splits (unseen), scored on the target's test split."""
    tables = feature_tables(store)
    lr = {}
    for target in DEFAULT_DOMAINS:
        sources = [tables[d, "train"] for d in DEFAULT_DOMAINS if d != target]
        lr[target] = {
            "in_domain": _fit_auc([tables[target, "train"]], tables[target, "test"]),
            "unseen": _fit_auc(sources, tables[target, "test"]),
        }
    return {"lr": lr, "tables": tables}


def cue_statistics(store: Store, tables: dict | None = None) -> dict[str, dict]:
    """Live/spoof frame AUC of mean brightness and of mean saturation alone: within each
    domain (sign as it falls), pooled over all domains, and leave-one-domain-out (a one-feature
    logistic regression fitted on three domains, scored on the fourth)."""
    tables = tables or feature_tables(store)
    result = {}
    for name, column in (("mean brightness", BRIGHTNESS), ("mean saturation", SATURATION)):
        both = {d: _joined(tables, d) for d in DEFAULT_DOMAINS}
        within = {d: float(roc_auc_score(y, x[:, column])) for d, (x, y) in both.items()}
        pooled_x = np.concatenate([x[:, column] for x, _ in both.values()])
        pooled_y = np.concatenate([y for _, y in both.values()])
        loo = [
            _fit_auc([both[s] for s in DEFAULT_DOMAINS if s != t], both[t], [column])
            for t in DEFAULT_DOMAINS
        ]
        result[name] = {
            "within": within,
            "pooled": float(roc_auc_score(pooled_y, pooled_x)),
            "loo_mean": float(np.mean(loo)),
            "loo_worst": float(max(loo, key=lambda a: abs(a - 0.5))),
        }
    return result


def _joined(tables: dict, domain: str) -> tuple[np.ndarray, np.ndarray]:
    parts = [tables[domain, s] for s in ("train", "test")]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
