"""Tests of the built-in live/spoof capture simulator (small sizes, few subjects)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from metafas.simulate import (
    DOMAINS,
    INSTRUMENTS,
    DomainSpec,
    SimVideo,
    count_videos,
    plan_videos,
    simulate_domain,
    simulate_video,
)

SMALL = dict(size=48, depth_size=16, frames_per_video=2, subjects=1)


def _videos(domain: str = "sim_i", **kwargs) -> list[SimVideo]:
    return list(simulate_domain(domain, **{**SMALL, **kwargs}))


def _bytes(videos: list[SimVideo]) -> list[bytes]:
    return [v.frames.tobytes() + (b"" if v.depth is None else v.depth.tobytes()) for v in videos]


def test_same_seed_gives_identical_bytes():
    assert _bytes(_videos(seed=3)) == _bytes(_videos(seed=3))


def test_different_seeds_differ():
    first, second = _videos(seed=0), _videos(seed=1)
    assert all(a != b for a, b in zip(_bytes(first), _bytes(second), strict=True))


def test_each_video_is_generated_independently_of_order():
    plans = plan_videos("sim_c", subjects=2)
    alone = simulate_video("sim_c", plans[-1], seed=5, size=48, frames_per_video=2)
    in_order = list(simulate_domain("sim_c", seed=5, size=48, frames_per_video=2, subjects=2))
    assert alone.video_id == in_order[-1].video_id
    assert alone.frames.tobytes() == in_order[-1].frames.tobytes()


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_shapes_dtypes_and_labels(domain: str):
    videos = _videos(domain)
    assert len(videos) == count_videos(domain, subjects=1) == DOMAINS[domain].videos_per_subject
    for video in videos:
        assert video.domain == domain and video.subject == f"{domain}/s000"
        assert video.frames.dtype == np.uint8 and video.frames.shape == (2, 48, 48, 3)
        assert video.label == int(video.attack == "none")
        assert video.attack in ("none", "print", "replay")
        assert video.video_id.startswith(video.subject + "/")
    assert len({v.video_id for v in videos}) == len(videos)
    assert {v.attack for v in videos} == {"none"} | {
        INSTRUMENTS[a].kind for a in DOMAINS[domain].attacks
    }


def test_live_depth_is_face_shaped_and_spoof_depth_is_none():
    for video in _videos("sim_o"):
        if video.label == 0:
            assert video.depth is None
            continue
        depth = video.depth
        assert depth.dtype == np.float32 and depth.shape == (2, 16, 16)
        assert depth.min() >= 0.0 and depth.max() <= 1.0 and depth.max() > 0.8
        for frame in depth:
            assert frame[0, 0] == frame[0, -1] == frame[-1, 0] == frame[-1, -1] == 0.0
            row, col = np.unravel_index(frame.argmax(), frame.shape)
            assert 4 <= row <= 11 and 5 <= col <= 10  # the nose, near the middle
            assert 0.15 < (frame > 0).mean() < 0.75  # a face, not the whole crop


def test_train_and_test_subjects_are_disjoint_and_identities_unique_across_domains():
    subjects_by_domain = {}
    for name, spec in DOMAINS.items():
        plans = plan_videos(name)
        train = {p.subject for p in plans if p.split == "train"}
        test = {p.subject for p in plans if p.split == "test"}
        assert train and test and not train & test
        assert len(train) == spec.train_subjects and len(train | test) == spec.subjects
        assert 0.35 <= len(train) / spec.subjects <= 0.65
        assert len({p.video_id for p in plans}) == len(plans) == count_videos(name)
        subjects_by_domain[name] = train | test
    for a, b in itertools.combinations(subjects_by_domain.values(), 2):
        assert not a & b


def test_identity_is_shared_by_the_videos_of_a_subject_and_differs_between_domains():
    from metafas.simulate.generate import identity

    first = identity(DOMAINS["sim_o"], 0, seed=0)
    again = identity(DOMAINS["sim_o"], 0, seed=0)
    other = identity(DOMAINS["sim_m"], 0, seed=0)
    assert first.shape == again.shape and np.array_equal(first.skin, again.skin)
    assert first.shape != other.shape


def test_domains_differ_in_colour_and_sharpness():
    def signature(domain: str) -> np.ndarray:
        frames = np.concatenate([v.frames for v in _videos(domain, subjects=2)])
        rgb = frames.astype(np.float32) / 255.0
        gray = rgb.mean(axis=-1)
        laplacian = sum(np.roll(gray, s, axis=a) for s in (1, -1) for a in (1, 2)) - 4 * gray
        warmth = rgb[..., 0].mean() - rgb[..., 2].mean()
        saturation = (rgb.max(axis=-1) - rgb.min(axis=-1)).mean()
        sharpness = np.log(laplacian[:, 1:-1, 1:-1].var())
        return np.array([warmth / 0.03, saturation / 0.02, sharpness / 0.5])

    signatures = {name: signature(name) for name in DOMAINS}
    for a, b in itertools.combinations(DOMAINS, 2):
        assert np.abs(signatures[a] - signatures[b]).max() > 1.0, (a, b)


@pytest.mark.parametrize("size", [64, 256])
def test_large_and_small_crops(size: int):
    plans = plan_videos("sim_o", subjects=1)
    for plan in (plans[0], plans[2], plans[-1]):
        video = simulate_video("sim_o", plan, size=size, depth_size=32, frames_per_video=1)
        assert video.frames.shape == (1, size, size, 3)
        assert 40 < video.frames.mean() < 215 and video.frames.std() > 10


def test_unknown_domain_names_the_known_ones():
    with pytest.raises(ValueError, match="sim_c, sim_i, sim_m, sim_o"):
        simulate_domain("sim_x")
    with pytest.raises(ValueError, match="unknown domain"):
        count_videos("oulu")


def test_bad_arguments_are_rejected_before_generation():
    with pytest.raises(ValueError, match="size"):
        simulate_domain("sim_o", size=8)
    with pytest.raises(ValueError, match="subjects"):
        count_videos("sim_o", subjects=0)


def test_domain_spec_validates_its_table_entries():
    with pytest.raises(ValueError, match="unknown attack instrument"):
        replace(DOMAINS["sim_o"], attacks=("print_glossy",))
    with pytest.raises(ValueError, match="train_subjects"):
        replace(DOMAINS["sim_o"], train_subjects=DOMAINS["sim_o"].subjects)
    custom = replace(DOMAINS["sim_i"], name="sim_tiny", subjects=2, train_subjects=1)
    assert isinstance(custom, DomainSpec)
    videos = list(simulate_domain(custom, size=32, frames_per_video=1))
    assert [v.split for v in videos].count("train") == custom.videos_per_subject
    assert videos[0].subject == "sim_tiny/s000"
