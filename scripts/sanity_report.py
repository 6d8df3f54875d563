"""Output of scripts/simulator_sanity.py: the contact sheet and the figures in the doc."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from metafas.data.simulated import DEFAULT_DOMAINS
from metafas.data.store import Store

BEGIN, END = "<!-- simulator_sanity:begin -->", "<!-- simulator_sanity:end -->"


def _tile(store: Store, image: str, size: int) -> np.ndarray:
    return np.asarray(Image.open(store.root / image).convert("RGB").resize((size, size)))


def contact_sheet(store: Store, path: str, per_kind: int = 2, scale: int = 2) -> None:
    """A PNG with one row per domain: live frames each beside its depth label, then print
    and replay frames, from test subjects, at ``scale`` times the stored size."""
    rows = []
    for domain in DEFAULT_DOMAINS:
        frames = [f for f in store.select(domain, ("test",)) if f.frame == 0]
        size = scale * np.asarray(Image.open(store.root / frames[0].image)).shape[0]
        tiles = []
        for attack in ("none", "print", "replay"):
            for frame in [f for f in frames if f.attack == attack][:per_kind]:
                tiles.append(_tile(store, frame.image, size))
                if frame.depth:
                    tiles.append(_tile(store, frame.depth, size))
        rows.append(np.concatenate(tiles, axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    Image.fromarray(np.concatenate(rows, axis=0)).save(path, optimize=True)


def write_doc(path: Path, sections: dict[str, list[str]], command: str) -> None:
    """Replaces the text between the sanity markers of ``path`` with the figures."""
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path} has no {BEGIN} ... {END} block to fill")
    body = [BEGIN, f"Written by `{command}`; do not edit by hand.", ""]
    for title, lines in sections.items():
        body += [f"**{title}**", "", *lines, ""]
    body.append(END)
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    path.write_text(pattern.sub(lambda _: "\n".join(body), text), encoding="utf-8")
