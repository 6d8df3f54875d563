"""Stores and their writers under abuse (issue 13): a killed `simulate` leaves no workers, a
rerun with other settings never mixes frames, protocol files are checked whatever protocol is
asked for, and damaged store files are named."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from metafas.data.protocols import PROTOCOLS, ProtocolFileError, get_protocol
from metafas.data.simulated import write_simulated
from metafas.data.store import StoreError, StoreWriter, VideoMeta, read_store
from metafas.prepare.settings import PrepareError, _read_recorded

# 6: workers end with the process that started them.


def children(pid: int) -> set[int]:
    """Pids of the live (not zombie) processes whose parent is `pid`, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_simulate_leaves_no_workers(tmp_path):
    out = tmp_path / "store"
    code = (
        "from metafas.data.simulated import write_simulated\n"
        f"write_simulated({str(out)!r}, ('sim_o', 'sim_c'), size=32, workers=2, progress=False)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        started = wait_for(lambda: len(children(parent.pid)) >= 2 and any(out.glob("parts/*")), 60)
        workers = children(parent.pid)
        assert started and parent.poll() is None, "the workers never started writing"
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    survivors = lambda: {pid for pid in workers if alive(pid)}  # noqa: E731
    try:
        assert wait_for(lambda: not survivors(), 5), f"workers still running: {survivors()}"
    finally:
        for pid in survivors():
            os.kill(pid, signal.SIGKILL)


# 7: a simulated store holds one setting, and store.json says which.


def simulate(out: Path, **kwargs):
    settings = {"domains": ("sim_o",), "size": 16, "subjects": 1, "progress": False, **kwargs}
    return write_simulated(out, **settings)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"size": 24}, "size 16 (now 24)"), ({"seed": 1}, "seed 0 (now 1)"),
     ({"subjects": 2}, "subjects 1 (now 2)")],
)  # fmt: skip
def test_rerun_with_other_settings_is_refused(tmp_path, change, message):
    first = simulate(tmp_path / "store")
    with pytest.raises(StoreError, match=rf"{re.escape(message)}.*another --out, or delete"):
        simulate(tmp_path / "store", **change)
    assert read_store(tmp_path / "store").frames == first.frames


def test_rerun_resumes_and_may_add_domains(tmp_path):
    first = simulate(tmp_path / "store")
    assert simulate(tmp_path / "store").frames == first.frames
    both = simulate(tmp_path / "store", domains=("sim_c",))
    assert both.domains == ["sim_c", "sim_o"] and both.info["domains"] == ["sim_o", "sim_c"]
    assert {k: both.info[k] for k in ("seed", "size", "subjects")} == {
        "seed": 0, "size": 16, "subjects": 1
    }  # fmt: skip


def test_frames_without_a_description_are_refused(tmp_path):
    simulate(tmp_path / "store")
    (tmp_path / "store/store.json").unlink()
    with pytest.raises(StoreError, match="without a store.json"):
        simulate(tmp_path / "store")


# 11: a protocols file is always checked.


def protocols_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


def test_a_redefined_builtin_protocol_is_refused_even_when_asked_for(tmp_path):
    path = protocols_file(tmp_path, "[protocols.OCI_M]\nsources = ['a']\ntarget = 'b'\n")
    with pytest.raises(ProtocolFileError, match="'OCI_M' is a built-in protocol"):
        get_protocol("OCI_M", path)


def test_a_toml_syntax_error_names_file_line_and_column(tmp_path):
    path = protocols_file(tmp_path, "[protocols.X]\nsources = \ntarget = 'b'\n")
    for name in ("OCI_M", "X"):
        with pytest.raises(ProtocolFileError) as caught:
            get_protocol(name, path)
        assert str(caught.value) == f"{path}, line 2, column 11: not valid TOML: Invalid value"
    assert get_protocol("OCI_M") == PROTOCOLS["OCI_M"]


# Found next: damaged store files are named; parts of an older file naming are not mixed in.


def one_video(root: Path, video_id: str = "d/s/v") -> StoreWriter:
    writer = StoreWriter(root, {"source": "test"})
    meta = VideoMeta("d", "train", "d/s", video_id, 1, "none")
    writer.add_video(meta, [(0, np.zeros((4, 4, 3), np.uint8))], [None])
    writer.finish()
    return writer


def test_damaged_store_files_are_named(tmp_path):
    root = tmp_path / "store"
    one_video(root)
    manifest = root / "manifest.csv"
    manifest.write_text(manifest.read_text().splitlines()[0] + "\nd,train,d/s,d/s/v\n")
    with pytest.raises(StoreError, match=r"manifest.csv, line 2: not a manifest row"):
        read_store(root)
    (root / "store.json").write_text('{"format_version": ')
    with pytest.raises(StoreError, match=r"store.json: not valid JSON"):
        read_store(root)
    (root / "prepare").mkdir()
    (root / "prepare/settings.json").write_text("{")
    with pytest.raises(PrepareError, match=r"settings.json: damaged"):
        _read_recorded(root)


def test_a_part_written_under_an_older_naming_is_left_out(tmp_path, caplog):
    root = tmp_path / "store"
    writer = one_video(root, "d/s/a b")
    old_name = root / "parts" / "d__s__a_b.csv"  # what the old sanitising made of it
    writer.part_path("d/s/a b").rename(old_name)
    assert not writer.has_video("d/s/a b")
    writer.finish()
    assert read_store(root).frames == [] and "left out" in caplog.text
    one_video(root, "d/s/a b")  # prepared again under its own name: one copy in the manifest
    assert [f.video_id for f in read_store(root).frames] == ["d/s/a b"]


def test_damaged_prepare_reports_are_left_out_with_a_warning(tmp_path, caplog):
    from metafas.prepare.report import VideoReport, read_reports, write_listings, write_report

    good = VideoReport("d/s/v", "folder", "d", "/data/v.png", kept=1)
    write_report(tmp_path, good)
    (tmp_path / "prepare/videos/d__s__w.json").write_text('{"video_id": "d/s/w", ')
    (tmp_path / "prepare/scan_folder.json").write_text("[")
    assert read_reports(tmp_path) == [good]
    assert write_listings(tmp_path, "folder", {"d/s/v"}, lambda video_id: True) == []
    assert "damaged video report" in caplog.text and "damaged scan record" in caplog.text
