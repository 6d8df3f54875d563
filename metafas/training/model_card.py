"""The model card every checkpoint and export carries: what the model is, what it was trained
and validated on, how its threshold was chosen, what it scored, and what it is not for.

One dict, written twice: `model_card.json` (for programs) and `model_card.md` rendered from it
(for people), so the two never disagree. Target-test figures are labelled as such, and those at
the target's own EER threshold as oracle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from metafas.data.loader import ProtocolFrames
from metafas.data.store import FrameRecord
from metafas.evaluation.records import read_records
from metafas.evaluation.scoring import THRESHOLD_CHOICES

CARD_FORMAT = "metafas-model-card"
CARD_VERSION = 1
CARD_JSON = "model_card.json"
CARD_MARKDOWN = "model_card.md"
FIGURES = ("HTER", "AUC", "EER", "APCER", "BPCER", "ACER")
SMALL_VALIDATION = 30  # videos; a threshold calibrated on fewer rests on a handful of subjects
TARGET_LABEL = "target test, at the source_val_eer threshold"
ORACLE_LABEL = "oracle: target test at the target's own EER threshold (uses target labels)"
INTENDED_USE = (
    "Research on face anti-spoofing (presentation attack detection) that generalises to unseen "
    "domains: scoring face images and videos like those of the training domains, judged at a "
    "threshold calibrated on held-out source subjects. Not validated for access control on its "
    "own, nor for cameras, lighting, attacks or people unlike the training data."
)
SIMULATED_USE = (
    "Trained on simulated faces (metafas simulate): for tests, demos and checking the "
    "pipeline only. Its scores on real photos are meaningless."
)


def metafas_version() -> str:
    """The installed metafas version ("unknown" when run from a source tree never installed)."""
    try:
        return metadata.version("metafas")
    except metadata.PackageNotFoundError:
        return "unknown"


def is_simulated(store_info: dict) -> bool:
    """Whether a store's info says its frames came from the simulator (metafas.data.simulated)."""
    return (store_info or {}).get("source") == "simulator"


def split_summary(frames: Sequence[FrameRecord]) -> dict:
    """Frames, videos (live and spoof) and subjects of a set of frames."""
    videos = {f.video_id: f.label for f in frames}
    return {
        "frames": len(frames),
        "videos": len(videos),
        "live_videos": sum(videos.values()),
        "spoof_videos": len(videos) - sum(videos.values()),
        "subjects": len({f.subject for f in frames}),
    }


def data_summary(frames: ProtocolFrames) -> dict:
    """Counts of the training frames per source domain, source validation and target test."""
    return {
        "train": {domain: split_summary(items) for domain, items in frames.train.items()},
        "source_val": split_summary(frames.source_val),
        "target_test": split_summary(frames.target_test),
    }


def evaluation_records(results: Path, step: int | None = None) -> list[dict]:
    """The results.jsonl records of the latest evaluation at or before `step` ([] if none).

    A torn last line (an interrupted append) is skipped.
    """
    records = read_records(results)
    steps = [r["step"] for r in records if step is None or r["step"] <= step]
    return [r for r in records if steps and r["step"] == max(steps)]


def figures(records: Sequence[dict]) -> dict | None:
    """Source-validation, target-test and oracle figures per level from one step's records."""
    if not records:
        return None
    found = {
        "step": records[0]["step"],
        "source_validation": {},
        "target_test": {"label": TARGET_LABEL, "threshold_rule": "source_val_eer", "oracle": False},
        "oracle": {"label": ORACLE_LABEL, "threshold_rule": "target_eer", "oracle": True},
    }
    for record in records:
        level, key = record["level"], "oracle" if record["oracle"] else "target_test"
        found[key][level] = {
            "threshold": record["threshold"],
            **{name: record["metrics"][name] for name in FIGURES},
        }
        validation = found["source_validation"].setdefault(level, {})
        validation["AUC"] = record["source_val_auc"]
        calibration = record.get("calibration")
        if calibration:
            validation.update(EER=calibration["eer"], videos=calibration["videos"])
            validation["frames"] = calibration["frames"]
    return found


def build_card(
    config: dict,
    step: int,
    threshold: dict | None,
    records: Sequence[dict],
    store_info: dict,
    data: dict | None,
    protocol: dict,
    store: str | None = None,
    runtime: dict | None = None,
) -> dict:
    """The card of the model at `step` (`records`: its latest evaluation, see
    `evaluation_records`; `data`: `data_summary`, None when unknown)."""
    simulated = is_simulated(store_info)
    card = {
        "format": CARD_FORMAT,
        "version": CARD_VERSION,
        "metafas_version": metafas_version(),
        "method": config["method"],
        "step": step,
        "config": config,
        "training_runtime": runtime,
        "training_data": {
            "store": store,
            "simulated": simulated,
            "store_info": store_info,
            "domains": {"sources": protocol.get("sources"), "target": protocol.get("target")},
            "counts": data,
        },
        "protocol": protocol,
        "selection": {
            "rule": "last",
            "step": step,
            "note": "the weights of this step; source_val and oracle selection (metafas table, "
            "report) pick among the evaluated steps afterwards",
        },
        "threshold": threshold,
        "figures": figures(records),
        "intended_use": SIMULATED_USE if simulated else INTENDED_USE,
    }
    card["limits"] = known_limits(card)
    return card


def card_from_state(state: dict) -> dict:
    """A card for a checkpoint written before model cards, from its state.json (no counts, no
    figures: those were not kept)."""
    config = state["config"]
    protocol = {"name": config["data"]["protocol"], "val_fraction": config["data"]["val_fraction"]}
    card = build_card(
        config,
        state.get("step"),
        state.get("threshold"),
        [],
        state.get("store_info") or {},
        None,
        protocol,
        config["data"]["store"] or None,
    )
    card["derived_from"] = "state.json of a checkpoint that predates model cards"
    return card


def known_limits(card: dict) -> list[str]:
    """Plain-language limits that follow from the card's own fields."""
    limits = []
    if card["training_data"]["simulated"]:
        limits.append("trained on simulated faces: scores on real photos are meaningless")
    threshold = card["threshold"]
    if not threshold:
        limits.append("no evaluation preceded this checkpoint: no calibrated threshold (0.5)")
    levels = (threshold or {}).get("levels") or {}
    for level, entry in levels.items():
        limits.extend(threshold_limits(level, entry))
    if levels and min(e["videos"] for e in levels.values()) < SMALL_VALIDATION:
        entry = min(levels.values(), key=lambda e: e["videos"])
        limits.append(
            f"source validation has only {entry['videos']} videos ({entry['live_videos']} live, "
            f"{entry['spoof_videos']} spoof): its thresholds and figures rest on few subjects"
        )
    if threshold and not threshold.get("levels"):
        limits.append("only a video-level threshold is stored; single images are judged with it")
    target = card["protocol"].get("target") or "the target domain"
    limits.append(
        f"target-test figures come from one unseen domain ({target}); other cameras, lighting, "
        "attacks and people may score differently"
    )
    limits.append("oracle figures set the threshold on the target's own labels: not achievable")
    return limits


def threshold_limits(level: str, entry: dict) -> list[str]:
    """How far to trust one level's threshold: its interval, and a perfect separation."""
    interval = entry["interval"]
    found = [
        f"{level}-level threshold {entry['value']:.4f}: 95% bootstrap interval "
        f"[{interval['low']:.4f}, {interval['high']:.4f}] over {entry['videos']} validation videos"
    ]
    if level == "video" and entry["videos"]:
        per_video = entry["frames"] / entry["videos"]
        found.append(
            f"the video-level threshold was calibrated on means of {per_video:.1f} frames per "
            "validation video; predict averages the frames that --sampling picks"
        )
    if entry.get("gap"):
        low, high = entry["gap"]
        found.append(
            f"source validation separates live from spoof perfectly at {level} level: any "
            f"threshold in ({low:.4f}, {high:.4f}] has no validation error; the midpoint in logit "
            "space was taken"
        )
    return found


def card_files(card: dict) -> dict[str, str]:
    """File name -> text: the JSON card and its Markdown rendering."""
    text = json.dumps(card, indent=2, sort_keys=True, default=str) + "\n"
    return {CARD_JSON: text, CARD_MARKDOWN: render_markdown(card)}


def render_markdown(card: dict) -> str:
    """The card for people: the same fields as the JSON, in sections."""
    data, protocol = card["training_data"], card["protocol"]
    lines = [
        f"# Model card: {card['method']} on {protocol.get('name')}, step {card['step']}",
        "",
        f"metafas {card['metafas_version']}; method `{card['method']}`; selection "
        f"`{card['selection']['rule']}` (step {card['step']}).",
        "",
    ]
    if data["simulated"]:
        lines += [
            "> **Trained on simulated faces: its scores on real photos are meaningless.**",
            "",
        ]
    lines += ["## Intended use", "", card["intended_use"], ""]
    lines += data_section(data, protocol)
    lines += threshold_section(card["threshold"])
    lines += figures_section(card["figures"])
    lines += export_section(card.get("export"))
    lines += ["## Known limits", "", *(f"- {limit}" for limit in card["limits"]), ""]
    config = json.dumps(card["config"], indent=2, sort_keys=True)
    lines += ["## Config", "", "```json", config, "```", ""]
    return "\n".join(lines)


def data_section(data: dict, protocol: dict) -> list[str]:
    lines = ["## Training data and protocol", ""]
    lines.append(f"- store: `{data['store'] or 'the cached simulated store'}`")
    lines.append(f"- simulated: {'yes' if data['simulated'] else 'no'}")
    lines.append(f"- store info: `{json.dumps(data['store_info'], sort_keys=True)}`")
    lines.append(f"- protocol: `{json.dumps(protocol, sort_keys=True)}`")
    counts = data["counts"]
    if counts is None:
        return [*lines, "- frame counts: not recorded", ""]
    rows = [(f"train {d}", c) for d, c in counts["train"].items()]
    rows += [("source validation", counts["source_val"]), ("target test", counts["target_test"])]
    lines += [
        "",
        "| set | frames | videos | live | spoof | subjects |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in rows:
        lines.append(
            f"| {name} | {c['frames']} | {c['videos']} | {c['live_videos']} | "
            f"{c['spoof_videos']} | {c['subjects']} |"
        )
    return [*lines, ""]


def threshold_section(threshold: dict | None) -> list[str]:
    lines = ["## Threshold (live iff score >= threshold)", ""]
    if not threshold:
        return [*lines, "None calibrated: predict uses 0.5 (rule `default_0.5`).", ""]
    levels = threshold.get("levels") or {"video": {**threshold, "choice": "eer"}}
    lines += ["| level | value | rule | choice | 95% interval | videos | frames |"]
    lines += ["|---|---|---|---|---|---|---|"]
    for level, entry in levels.items():
        interval = entry.get("interval")
        span = f"[{interval['low']:.4f}, {interval['high']:.4f}]" if interval else "unknown"
        lines.append(
            f"| {level} | {entry['value']:.4f} | {entry['rule']} | {entry['choice']} | {span} | "
            f"{entry.get('videos', '?')} | {entry.get('frames', '?')} |"
        )
    lines += ["", f"Calibrated at evaluation step {threshold.get('step')}. Rule `source_val_eer`:"]
    lines += ["the EER threshold on held-out source-validation videos. Choices:", ""]
    lines += [f"- `{name}`: {meaning}" for name, meaning in THRESHOLD_CHOICES.items()]
    return [*lines, ""]


def figures_section(found: dict | None) -> list[str]:
    lines = ["## Figures", ""]
    if not found:
        return [*lines, "No evaluation records for this checkpoint.", ""]
    lines += [f"Evaluation at step {found['step']}, in percent.", ""]
    lines += ["Source validation (held-out source subjects):", ""]
    lines += ["| level | AUC | EER |", "|---|---|---|"]
    for level, values in found["source_validation"].items():
        eer = f"{100 * values['EER']:.2f}" if "EER" in values else "?"
        lines.append(f"| {level} | {100 * values['AUC']:.2f} | {eer} |")
    for key in ("target_test", "oracle"):
        block = found[key]
        lines += ["", f"{block['label'][0].upper()}{block['label'][1:]}:", ""]
        lines += ["| level | threshold | " + " | ".join(FIGURES) + " |"]
        lines += ["|---|---|" + "---|" * len(FIGURES)]
        for level in ("video", "frame"):
            if level in block:
                values = block[level]
                numbers = " | ".join(f"{100 * values[name]:.2f}" for name in FIGURES)
                lines.append(f"| {level} | {values['threshold']:.4f} | {numbers} |")
    return [*lines, ""]


def export_section(export: dict | None) -> list[str]:
    if not export:
        return []
    return ["## Export", "", f"`{json.dumps(export, sort_keys=True)}`", ""]
