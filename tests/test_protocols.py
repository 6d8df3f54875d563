"""Protocol table, split conventions and user protocols from TOML files."""

from __future__ import annotations

from pathlib import Path

import pytest

from metafas.data.loader import protocol_frames
from metafas.data.protocols import (
    BENCHMARK_TASKS,
    PROTOCOLS,
    Protocol,
    ProtocolFileError,
    available_protocols,
    format_protocols,
    get_protocol,
    load_protocols,
)
from metafas.data.store import read_store


@pytest.mark.parametrize("task", BENCHMARK_TASKS)
def test_each_benchmark_task_has_a_strict_and_a_paper_protocol(task: str) -> None:
    strict, paper = PROTOCOLS[task], PROTOCOLS[task + "@paper"]
    assert strict.sources == paper.sources and strict.target == paper.target
    assert (strict.convention, strict.source_splits, strict.target_splits) == (
        "strict",
        ("train",),
        ("test",),
    )
    assert (paper.convention, paper.source_splits, paper.target_splits) == (
        "paper",
        ("train", "test"),
        ("train", "test"),
    )


def test_named_domains() -> None:
    assert PROTOCOLS["OCI_M"].sources == ("oulu_npu", "casia_fasd", "replay_attack")
    assert PROTOCOLS["MI_O"] == Protocol(("msu_mfsd", "replay_attack"), "oulu_npu")
    assert PROTOCOLS["NUAA_12_3"] == Protocol(("nuaa_s1", "nuaa_s2"), "nuaa_s3")
    assert PROTOCOLS["sim_OCI_M"].target == "sim_m"


def test_paper_convention_tests_on_every_target_split(tiny_store) -> None:
    store = read_store(tiny_store)
    strict = protocol_frames(store, get_protocol("sim_OCI_M"), 0)
    paper_rule = Protocol(
        ("sim_o", "sim_c", "sim_i"), "sim_m", ("train", "test"), ("train", "test")
    )
    paper = protocol_frames(store, paper_rule, 0)
    assert {f.split for f in strict.target_test} == {"test"}
    assert {f.split for f in paper.target_test} == {"train", "test"}
    assert len(paper.train["sim_o"]) > len(strict.train["sim_o"])


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


def test_user_protocols_from_toml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[protocols.SITES_AB_C]
sources = ["site_a", "site_b"]
target = "site_c"

[protocols.SITES_AB_C_PAPER]
sources = ["site_a", "site_b"]
target = "site_c"
convention = "paper"

[protocols.DEV_TEST]
sources = ["site_a"]
target = "site_b"
source_splits = ["train", "dev"]
target_splits = ["dev", "test"]
""",
    )
    found = load_protocols(path)
    assert found["SITES_AB_C"] == Protocol(("site_a", "site_b"), "site_c")
    assert found["SITES_AB_C_PAPER"].source_splits == ("train", "test")
    assert found["DEV_TEST"] == Protocol(
        ("site_a",), "site_b", ("train", "dev"), ("dev", "test"), "custom"
    )
    assert get_protocol("DEV_TEST", path) == found["DEV_TEST"]
    assert get_protocol("OCI_M", path) == PROTOCOLS["OCI_M"]
    assert list(available_protocols(path))[-3:] == list(found)
    assert found["DEV_TEST"].to_dict()["source_splits"] == ["train", "dev"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[protocols.OCI_M]\nsources=['a']\ntarget='b'\n", "built-in protocol"),
        ("[protocols.X]\nsources=['a']\ntarget='b'\nsplits=['x']\n", r"unknown keys \['splits'\]"),
        ("[protocols.X]\nsources='a'\ntarget='b'\n", "needs sources = \\[names\\]"),
        ("[protocols.X]\nsources=['a']\ntarget='a'\n", "target 'a' is also a source"),
        ("[protocols.X]\nsources=['a']\ntarget='b'\nconvention='loose'\n", "unknown convention"),
        (
            "[protocols.X]\nsources=['a']\ntarget='b'\nconvention='paper'\ntarget_splits=['x']\n",
            "fixes the splits",
        ),
        ("[X]\nsources=['a']\n", "unexpected top-level keys: X"),
        ("[protocols.X\n", "not valid TOML"),
    ],
)
def test_bad_protocol_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ProtocolFileError, match=message):
        load_protocols(write(tmp_path, text))


def test_unknown_names_list_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown protocol 'OCI_X'.*OCI_M@paper.*protocols file"):
        get_protocol("OCI_X")
    with pytest.raises(ProtocolFileError, match="protocols file not found"):
        get_protocol("MINE", tmp_path / "absent.toml")


def test_format_protocols_names_splits() -> None:
    lines = format_protocols().splitlines()
    assert len(lines) == len(PROTOCOLS)
    paper = next(line for line in lines if line.startswith("OCI_M@paper"))
    assert "[train+test]" in paper and "msu_mfsd" in paper
