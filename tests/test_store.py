"""The prepared-data store: round trip, atomic finish, resumability, protocol selection."""

import numpy as np
import pytest

from metafas.data.loader import FrameReader, SourceBatches, held_out_subjects, protocol_frames
from metafas.data.protocols import Protocol, get_protocol
from metafas.data.store import StoreError, StoreWriter, VideoMeta, read_store, video_dir


def test_round_trip_and_depth(tiny_store):
    store = read_store(tiny_store)
    assert store.domains == ["sim_c", "sim_i", "sim_m", "sim_o"]
    live = [f for f in store.frames if f.label == 1]
    spoof = [f for f in store.frames if f.label == 0]
    assert all(f.depth for f in live) and not any(f.depth for f in spoof)
    reader = FrameReader(tiny_store, 32)
    assert reader.image(live[0]).shape == (32, 32, 3) and reader.image(live[0]).dtype == np.uint8
    assert reader.depth(live[0]).max() > 0 and reader.depth(spoof[0]).max() == 0


def test_unfinished_store_is_refused_and_resumes(tmp_path):
    writer = StoreWriter(tmp_path / "s")
    meta = VideoMeta("d", "train", "d/1", "d/1/live", 1, "none")
    writer.add_video(meta, [(0, np.zeros((8, 8, 3), np.uint8))], [np.ones((1, 1), np.float32)])
    with pytest.raises(StoreError, match="unfinished store"):
        read_store(tmp_path / "s")
    again = StoreWriter(tmp_path / "s")
    assert again.has_video("d/1/live") and not again.has_video("d/2/live")
    again.finish()
    assert len(read_store(tmp_path / "s").frames) == 1


def test_video_dir_is_safe():
    unsafe = video_dir("a/../b c/x")
    assert unsafe.startswith("a/_/b_c/x~") and ".." not in unsafe.split("/")
    assert not video_dir("/etc/passwd").startswith("/")
    assert video_dir("sim_o/s007/print_0") == "sim_o/s007/print_0"  # plain ids keep their path


def test_protocol_frames_hold_out_subjects_not_frames(tiny_store):
    frames = protocol_frames(read_store(tiny_store), get_protocol("sim_OCI_M"), 0.34)
    val_subjects = {f.subject for f in frames.source_val}
    train_subjects = {f.subject for fs in frames.train.values() for f in fs}
    assert val_subjects and not val_subjects & train_subjects
    assert {f.domain for f in frames.target_test} == {"sim_m"}
    assert {f.split for f in frames.target_test} == {"test"}


def test_held_out_subjects_is_stable_and_never_everything():
    subjects = {f"s{i}" for i in range(10)}
    assert held_out_subjects(subjects, 0.2) == held_out_subjects(set(sorted(subjects)), 0.2)
    assert len(held_out_subjects(subjects, 0.2)) == 2
    assert len(held_out_subjects({"a", "b"}, 0.9)) == 1


def test_missing_domain_and_bad_protocol(tiny_store):
    with pytest.raises(StoreError, match="lacks domains"):
        protocol_frames(read_store(tiny_store), Protocol(("sim_o", "x"), "sim_m"))
    with pytest.raises(ValueError, match="target 'sim_o' is also a source"):
        Protocol(("sim_o", "sim_c"), "sim_o")


def test_source_batches_are_balanced_and_reproducible(tiny_store):
    frames = protocol_frames(read_store(tiny_store), get_protocol("sim_OCI_M"))
    reader = FrameReader(tiny_store, 32)
    first = SourceBatches(frames.train, reader, k=3, seed=5)
    second = SourceBatches(frames.train, reader, k=3, seed=5)
    a, b = first.next(), second.next()
    assert [x.domain for x in a] == ["sim_o", "sim_c", "sim_i"]
    assert all(x.label.sum() == 3 and len(x.label) == 6 for x in a)
    assert all(x.video_id == y.video_id for x, y in zip(a, b, strict=True))


def test_manifest_with_missing_or_outside_files_is_refused(tmp_path):
    from tests.conftest import write_tiny_store

    root = write_tiny_store(tmp_path / "s", subjects=3, frames=1)
    first = read_store(root).frames[0]
    (root / first.image).unlink()
    with pytest.raises(StoreError, match=r"lists 1 missing file\(s\)"):
        read_store(root)
    manifest = (root / "manifest.csv").read_text()
    (root / "manifest.csv").write_text(manifest.replace(first.image, "../../etc/passwd"))
    with pytest.raises(StoreError, match="points outside the store"):
        read_store(root)
