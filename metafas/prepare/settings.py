"""What a preparation run uses (frame sampling, crop geometry, face tools) and its record in the
store, so that a model trained on the store knows its preprocessing and a rerun cannot mix two."""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from metafas.data.atomic import atomic_write_json
from metafas.extras import MissingExtraError
from metafas.faces import (
    CropSettings,
    CropTransform,
    DepthRenderer,
    Face,
    FaceDetector,
    NoFaceError,
    face_depth,
    mediapipe_detector,
)
from metafas.faces.mediapipe_detector import INSTALL_HINT
from metafas.media import FrameSampling

SETTINGS_FILE = "prepare/settings.json"

DETECTOR_FLOOR = 0.3
"""The MediaPipe detector keeps faces scoring at least this, so that faces between it and
`CropSettings.min_score` are skipped as "low confidence" (with their score) rather than as
"no face"."""


DEPTH_NAME = "mesh_depth, box_depth without a mesh"


class PrepareError(ValueError):
    """A preparation cannot start: no videos found, or the store holds other preprocessing."""


def no_spoof_depth(face: Face, transform: CropTransform, size: int) -> None:
    """Spoof frames get no depth map (the loader gives them the all-zero map of a flat
    attack); every face is kept, with or without a mesh, as in live frames."""
    return None


def require_mesh(face: Face, transform: CropTransform, size: int) -> None:
    """The strict alternative to `no_spoof_depth`, to pair with `depth=mesh_depth`: skip spoof
    frames without a face mesh, as `mesh_depth` skips live ones. A face without a mesh is
    cropped from the detector's box (about 5% tighter and lower), so skipping it in one class
    only would be a difference a model could learn."""
    if face.landmarks3d is None:
        raise NoFaceError("no face mesh")


@dataclass(frozen=True)
class FaceTools:
    """How faces are found and depth rendered; each worker process builds its own detector.

    Attributes:
        detector_name: recorded in the store (with the version of the library behind it).
        build_detector: min_score -> a detector; must be picklable (a module-level function).
        depth: renders the pseudo-depth of a live crop; the default `face_depth` renders
            the face mesh (`metafas.faces.mesh_depth`), or for a face without one the box
            template (`box_depth`), so that every face `predict` scores is kept.
        depth_name: recorded in the store.
        spoof_check: called like `depth` on spoof frames; returns None (no map) or raises
            NoFaceError to skip the frame. Keep it consistent with `depth`, so that both
            classes are cropped alike (`require_mesh` goes with `mesh_depth`).
    """

    detector_name: str
    build_detector: Callable[[float], FaceDetector]
    depth: DepthRenderer = face_depth
    depth_name: str = DEPTH_NAME
    spoof_check: Callable[[Face, CropTransform, int], None] = no_spoof_depth


def build_mediapipe(min_score: float) -> FaceDetector:
    """The default detector: MediaPipe short-range detection plus the face mesh."""
    return mediapipe_detector(min(DETECTOR_FLOOR, min_score))


def mediapipe_tools() -> FaceTools:
    """The default face tools; ImportError with the install command when mediapipe is absent."""
    try:
        version = importlib.metadata.version("mediapipe")
    except importlib.metadata.PackageNotFoundError:
        raise MissingExtraError(INSTALL_HINT) from None
    name = f"mediapipe {version} short-range face detection + face mesh"
    return FaceTools(name, build_mediapipe)


def preprocessing(crop: CropSettings, tools: FaceTools) -> dict:
    """What every frame of a store shares, whatever dataset it comes from."""
    return {
        "crop": asdict(crop),
        "detector": tools.detector_name,
        "depth": tools.depth_name,
        "spoof_check": getattr(tools.spoof_check, "__name__", repr(tools.spoof_check)),
    }


def record_settings(
    out: Path, dataset: str, root: Path, sampling: FrameSampling, crop: CropSettings,
    tools: FaceTools,
) -> dict:  # fmt: skip
    """Check this run against the store's recorded settings, record it, and return the info
    for `store.json`: preprocessing plus, per dataset, its root and frame sampling.

    Raises:
        PrepareError: the store was written with another preprocessing, another sampling of
            this dataset, or by something other than `metafas prepare`.
    """
    path = Path(out) / SETTINGS_FILE
    wanted = preprocessing(crop, tools)
    recorded = _read_recorded(Path(out))
    if recorded is None:
        recorded = {"preprocessing": wanted, "datasets": {}}
    elif recorded["preprocessing"] != wanted:
        raise PrepareError(
            f"{out} was prepared with {_differences(recorded['preprocessing'], wanted)}; "
            "prepare into another --out, or rerun with the recorded settings"
        )
    previous = recorded["datasets"].get(dataset)
    if previous and previous["sampling"] != str(sampling):
        raise PrepareError(
            f"{out} holds {dataset} sampled as {previous['sampling']}, not {sampling}; "
            f"rerun with --sampling {previous['sampling']} or prepare into another --out"
        )
    recorded["datasets"][dataset] = {"root": str(root), "sampling": str(sampling)}
    atomic_write_json(path, recorded)
    return {"written_by": "metafas prepare", **recorded}


def _read_recorded(out: Path) -> dict | None:
    """The recorded settings; None for a new store; PrepareError for a foreign one."""
    path = out / SETTINGS_FILE
    if path.exists():
        try:
            recorded = json.loads(path.read_bytes())
        except ValueError as error:
            raise PrepareError(
                f"{path}: damaged ({error}); it records how {out} was prepared: restore it, "
                "or prepare into another --out"
            ) from None
        if not isinstance(recorded, dict) or not {"preprocessing", "datasets"} <= set(recorded):
            raise PrepareError(f"{path}: not a metafas prepare settings record")
        return recorded
    if (out / "parts").is_dir() and any((out / "parts").iterdir()):
        raise PrepareError(
            f"{out} holds a store not written by metafas prepare; choose another --out"
        )
    return None


def _differences(recorded: dict, wanted: dict) -> str:
    """'crop.size 64 (now 256), detector ...' for the fields that differ."""
    flat_old, flat_new = _flatten(recorded), _flatten(wanted)
    keys = sorted(set(flat_old) | set(flat_new))
    return ", ".join(
        f"{k} {flat_old.get(k)!r} (now {flat_new.get(k)!r})"
        for k in keys
        if flat_old.get(k) != flat_new.get(k)
    )


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat
