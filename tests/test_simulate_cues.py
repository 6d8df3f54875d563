"""The testbed's cue switches: deterministic, and each changes only what it names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from metafas.data.simulated import write_simulated
from metafas.data.store import StoreError
from metafas.simulate import INSTRUMENTS, DisplaySpec, PrintSpec, SimVideo, simulate_domain
from metafas.simulate.cues import DOMAIN_SPECIFIC, GENERAL, Cues

SMALL = dict(size=48, depth_size=16, frames_per_video=2, subjects=2)


def _videos(domain: str, cues: Cues) -> list[SimVideo]:
    return list(simulate_domain(domain, cues=cues, **SMALL))


def _by_kind(videos: list[SimVideo]) -> dict[str, list[bytes]]:
    kinds: dict[str, list[bytes]] = {"none": [], "print": [], "replay": []}
    for video in videos:
        kinds[video.attack].append(video.frames.tobytes())
    return kinds


def test_every_cue_is_declared_as_domain_specific_or_general():
    assert set(DOMAIN_SPECIFIC) | set(GENERAL) == set(Cues.__dataclass_fields__)
    assert not set(DOMAIN_SPECIFIC) & set(GENERAL)


def test_unknown_cue_names_the_known_ones():
    with pytest.raises(ValueError, match="known: attack_session, recapture_texture"):
        Cues.without("moire")


@pytest.mark.parametrize("cue", list(Cues.__dataclass_fields__))
def test_same_seed_same_bytes_with_a_cue_off(cue: str):
    cues = Cues.without(cue)
    first, second = _videos("sim_o", cues), _videos("sim_o", cues)
    assert [v.frames.tobytes() for v in first] == [v.frames.tobytes() for v in second]


@pytest.mark.parametrize("cue", list(Cues.__dataclass_fields__))
def test_a_cue_off_leaves_live_videos_alone_and_changes_every_kind_of_attack(cue: str):
    on, off = _by_kind(_videos("sim_o", Cues())), _by_kind(_videos("sim_o", Cues.without(cue)))
    assert on["none"] == off["none"]
    # sim_o holds prints and a display; each switch acts on both media (on a video where the
    # cue shows: a sheet may lie beyond the crop's edges, a fine display's pixels may blur away)
    for kind in ("print", "replay"):
        assert any(a != b for a, b in zip(on[kind], off[kind], strict=True)), kind


def _mean_hsv(videos: list[SimVideo]) -> np.ndarray:
    frames = [f for v in videos if v.label == 0 for f in v.frames]
    return np.mean([np.asarray(Image.fromarray(f).convert("HSV")).mean((0, 1)) for f in frames], 0)


@pytest.mark.parametrize(
    ("domain", "channel", "direction"),
    [("sim_o", 2, -1), ("sim_i", 2, +1), ("sim_c", 1, +1), ("sim_m", 1, -1)],
)
def test_attack_session_moves_spoof_brightness_or_saturation_its_way(domain, channel, direction):
    """HSV channel 2 is brightness, 1 saturation: the table's exposure and colour factors."""
    on = _mean_hsv(_videos(domain, Cues()))[channel]
    off = _mean_hsv(_videos(domain, Cues.without("attack_session")))[channel]
    assert direction * (on - off) > 3.0  # of 255


def test_switches_rewrite_the_instrument_tables():
    printer, display = INSTRUMENTS["print_inkjet"], INSTRUMENTS["replay_retina"]
    assert isinstance(printer, PrintSpec) and isinstance(display, DisplaySpec)
    flat = Cues.without("recapture_texture")
    assert flat.instrument(printer).halftone == 0.0 and flat.instrument(display).grid == 0.0
    assert flat.instrument(printer).texture == (0.0, 0.0)
    edgeless = Cues.without("medium_edges")
    assert edgeless.instrument(printer).border_prob == edgeless.instrument(display).bezel_prob == 0
    matte = Cues.without("specular")
    assert matte.instrument(printer).gloss == matte.instrument(display).reflectivity == (0.0, 0.0)
    assert Cues().instrument(printer) == printer and Cues().instrument(display) == display


def test_store_records_its_cues_and_refuses_other_cues(tmp_path):
    out = tmp_path / "store"
    write_simulated(out, ("sim_i",), size=16, subjects=1, progress=False, cues_off=("specular",))
    assert json.loads((out / "store.json").read_text())["cues_off"] == ["specular"]
    with pytest.raises(StoreError, match="cues_off"):
        write_simulated(out, ("sim_i",), size=16, subjects=1, progress=False)


def test_the_package_exports_cues_as_the_docs_use_it():
    import metafas.simulate

    assert metafas.simulate.Cues is Cues and "Cues" in metafas.simulate.__all__
