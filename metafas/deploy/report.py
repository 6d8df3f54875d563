"""Writing predictions: one text line per input, or JSON, or CSV.

Every output names an input by `shown(path)`: one printable line, the same in all three.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict

from metafas.deploy.predict import Prediction, shown
from metafas.deploy.scorer import LEVELS, Scorer, Threshold

CSV_COLUMNS = (
    "path",
    "live_probability",
    "decision",
    "level",
    "threshold",
    "threshold_rule",
    "threshold_level",
    "threshold_choice",
    "frames_scored",
    "frames_sampled",
    "face_box",
    "error",
)


def text_line(prediction: Prediction) -> str:
    """`path  0.8123  live   threshold 0.4213 (frame-level source_val_eer)  frames 1/1`, or
    the error."""
    if not prediction.scored:
        return f"{shown(prediction.path)}  error ({prediction.error_kind}): {prediction.error}"
    frames = prediction.frames or []
    return (
        f"{shown(prediction.path)}  {prediction.live_probability:.4f}  {prediction.decision:5}  "
        f"threshold {prediction.threshold:.4f} ({threshold_label(prediction)})  "
        f"frames {len(frames)}/{prediction.frames_sampled}"
    )


def threshold_label(prediction: Prediction) -> str:
    """The threshold's rule, with the level it was calibrated at and how it was placed."""
    threshold = Threshold(
        prediction.threshold,
        prediction.threshold_rule,
        prediction.threshold_level,
        prediction.threshold_choice,
        note=prediction.threshold_note,
    )
    return threshold.describe()


def to_json(predictions: Sequence[Prediction], scorer: Scorer) -> str:
    """A JSON document: the model, its thresholds per level, and every prediction."""
    document = {
        "checkpoint": str(scorer.source),
        "runtime": scorer.runtime,
        "thresholds": {level: asdict(scorer.thresholds.at(level)) for level in LEVELS},
        "scored": sum(p.scored for p in predictions),
        "failed": sum(not p.scored for p in predictions),
        "predictions": [{**p.to_dict(), "path": shown(p.path)} for p in predictions],
    }
    return json.dumps(document, indent=2) + "\n"


def to_csv(predictions: Sequence[Prediction]) -> str:
    """One CSV row per input; face_box is that of the first scored frame, space-separated."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for p in predictions:
        frames = p.frames or []
        box = " ".join(f"{v:.1f}" for v in frames[0]["face_box"]) if frames else ""
        probability = "" if p.live_probability is None else f"{p.live_probability:.6f}"
        writer.writerow(
            {
                "path": shown(p.path),
                "live_probability": probability,
                "decision": p.decision or "",
                "level": p.level or "",
                "threshold": f"{p.threshold:.6f}",
                "threshold_rule": p.threshold_rule,
                "threshold_level": p.threshold_level or "",
                "threshold_choice": p.threshold_choice or "",
                "frames_scored": len(frames),
                "frames_sampled": p.frames_sampled,
                "face_box": box,
                "error": p.error or "",
            }
        )
    return out.getvalue()
