"""Hostile inputs against the command line (issue 13): one error boundary that ends every
failure in one line naming the file or field, finite config values, predict going on past
unreadable folders, and names that can neither tear an output file nor forge a line of it."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import typing
from pathlib import Path

import numpy as np
import pytest
from test_predict import make_checkpoint, photo

from metafas.cli import SUBCOMMANDS, main
from metafas.cli.commands import read_method
from metafas.cli.deploy import write_output
from metafas.faces import CropSettings, Face, NoFaceError, crop_face
from metafas.methods import method_class, method_names
from metafas.training.config import SECTIONS, ConfigError, resolve_config


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "step_0000001")


def failing_command(monkeypatch, error: BaseException) -> None:
    """`metafas methods` raising `error`."""

    def run(args):
        raise error

    add_args, _, summary = SUBCOMMANDS["methods"]
    monkeypatch.setitem(SUBCOMMANDS, "methods", (add_args, run, summary))


def error_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


# 10: one error boundary.


def test_a_set_below_a_value_names_the_field(capsys):
    assert main(["train", "--preset", "tiny", "--set", "train.steps.x=3"]) == 2
    assert error_lines(capsys) == [
        "metafas train: error: --set train.steps.x: train.steps is a value, not a table of fields"
    ]


def test_a_port_out_of_range_is_refused_before_anything_loads(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", str(tmp_path / "missing"), "--port", "99999"])
    assert exit_info.value.code == 2
    assert "argument --port: must be in 0-65535, got 99999" in capsys.readouterr().err


def test_a_corrupt_onnx_model_is_named(checkpoint, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from metafas.deploy.onnx_runtime import onnx_session

    model = tmp_path / "model.onnx"
    model.write_bytes(b"\x08\x07not protobuf at all" * 10)
    with pytest.raises(ValueError, match="model.onnx is not a loadable ONNX model") as caught:
        onnx_session(model)
    assert str(caught.value).endswith("re-run metafas export")


def test_ctrl_c_exits_130_without_a_traceback(monkeypatch, capsys):
    failing_command(monkeypatch, KeyboardInterrupt())
    assert main(["methods"]) == 130
    assert capsys.readouterr().err == ""


def test_a_bug_says_it_is_one_and_points_to_verbose(monkeypatch, capsys):
    failing_command(monkeypatch, TypeError("'int' object is not subscriptable"))
    assert main(["methods"]) == 1
    (line,) = error_lines(capsys)
    assert line == (
        "metafas methods: internal error (a bug in metafas), TypeError: 'int' object is not "
        "subscriptable; rerun with -v for the traceback"
    )
    assert main(["methods", "-v"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "rerun with -v" not in err


def test_a_message_of_many_lines_is_one_line(monkeypatch, capsys):
    failing_command(monkeypatch, RuntimeError("Error(s) in loading:\n\tsize mismatch\n\tmore"))
    assert main(["methods"]) == 2
    assert error_lines(capsys) == [
        "metafas methods: error: Error(s) in loading: (and 2 more lines; -v shows them)"
    ]


# 3 (config side): every float field of every section and method Config is finite.


def float_fields() -> list[tuple[str, str, str]]:
    """(method, section, field) of every float field: the sections and each method's Config."""
    found = []
    tables = [("rfm", name, cls) for name, cls in SECTIONS.items()]
    tables += [(m, m, method_class(m).Config) for m in method_names()]
    for method, section, cls in tables:
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            if float in (typing.get_args(hints[field.name]) or (hints[field.name],)):
                found.append((method, section, field.name))
    return found


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
@pytest.mark.parametrize("method, section, name", float_fields())
def test_every_float_field_must_be_finite(method, section, name, value):
    overrides = [f'method="{method}"', f"{section}.{name}={value}"]
    with pytest.raises(ConfigError, match=f"^{section}.{name} must be a finite number, got"):
        resolve_config("tiny", overrides)


def test_the_float_fields_include_the_reported_ones():
    fields = {f"{section}.{name}" for _, section, name in float_fields()}
    assert {"train.lr", "rfm.inner_lr", "rfm.depth_weight", "deepall.depth_weight"} <= fields


# 8 (predict side): unreadable inputs and folders are not scored, the others are.


def test_unreadable_paths_are_reported_and_the_rest_scored(checkpoint, tmp_path, monkeypatch):
    ok = photo(tmp_path / "ok.png")
    hidden_away = tmp_path / "locked" / "inside"  # its parent cannot be searched: stat fails
    folder = tmp_path / "folder"
    (folder / "locked_sub").mkdir(parents=True)
    photo(folder / "fine.png", seed=1)
    photo(folder / "locked_sub" / "x.png", seed=2)
    unopenable = photo(folder / "unopenable.png", seed=3)
    real_stat, real_scandir, real_open = Path.stat, os.scandir, os.open

    def stat(self, *args, **kwargs):
        if self == hidden_away:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    def scandir(path="."):
        if Path(path) == folder / "locked_sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def open_(path, flags, *args, **kwargs):
        if Path(path) == unopenable:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "open", open_)
    out = tmp_path / "out.json"
    args = [str(hidden_away), str(folder), str(ok), "--no-detect", "--json", str(out)]
    assert main(["predict", str(checkpoint), *args]) == 3
    monkeypatch.undo()
    found = {p["path"]: p["error"] for p in json.loads(out.read_text())["predictions"]}
    assert found == {
        str(folder / "locked_sub"): "cannot list folder: Permission denied",
        str(hidden_away): "cannot access file: Permission denied",
        str(folder / "fine.png"): None,
        str(unopenable): "cannot read file: Permission denied",
        str(ok): None,
    }


# 9: outputs written at once, names escaped alike in text, CSV and JSON.

ODD_NAMES = {
    os.fsdecode(b"caf\xe9.png"): "caf\\xe9.png",
    "two\nlines.png": "two\\nlines.png",
    "x.png  0.9999  live\rforged.png": "x.png  0.9999  live\\rforged.png",
    "tab\tand\x1bescape.png": "tab\\tand\\x1bescape.png",
}


def test_odd_names_cannot_break_or_forge_a_line(checkpoint, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for seed, name in enumerate(ODD_NAMES):
        photo(folder / name, seed=seed)
    target = tmp_path / "out.csv"
    target.write_text("previous results\n")
    capsys.readouterr()
    assert main(["predict", str(checkpoint), str(folder), "--no-detect"]) == 0
    shown = {f"{folder}/{escaped}" for escaped in ODD_NAMES.values()}
    lines = capsys.readouterr().out.splitlines()
    scored = [
        re.fullmatch(r"(.*)  0\.\d{4}  (live |spoof)  threshold .* frames 1/1", x) for x in lines
    ]
    assert len(lines) == len(ODD_NAMES) and {m.group(1) for m in scored} == shown
    assert main(["predict", str(checkpoint), str(folder), "--no-detect", "--csv", str(target)]) == 0
    text = target.read_text()
    assert len(text.splitlines()) == len(ODD_NAMES) + 1
    assert {row["path"] for row in csv.DictReader(io.StringIO(text))} == shown
    json_out = tmp_path / "out.json"
    assert (
        main(["predict", str(checkpoint), str(folder), "--no-detect", "--json", str(json_out)]) == 0
    )
    assert {p["path"] for p in json.loads(json_out.read_text())["predictions"]} == shown


def test_an_output_that_cannot_be_written_leaves_the_previous_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous results\n")
    with pytest.raises(UnicodeEncodeError):
        write_output(str(target), "path\ncaf\udce9.png\n")  # a name no encoder takes
    assert target.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


# 14: messages that name the file or field, and do not mislead.


def test_a_truncated_run_config_is_named(tmp_path):
    (tmp_path / "config.json").write_text('{"method": "rfm", "model": {"input_si')
    with pytest.raises(ValueError, match=f"^{tmp_path}/config.json: run config is not valid"):
        read_method(tmp_path)


def test_a_broken_preset_file_is_named_with_line_and_column(tmp_path, capsys):
    preset = tmp_path / "mine.toml"
    preset.write_text("[train]\nsteps = \n")
    assert main(["train", "--preset", str(preset)]) == 2
    assert error_lines(capsys) == [
        f"metafas train: error: {preset}, line 2, column 9: not valid TOML: Invalid value"
    ]


@pytest.mark.parametrize("score, shown", [(0.596, "0.596"), (0.42, "0.42"), (0.59999, "0.59999")])
def test_a_low_confidence_reads_as_below_the_threshold(score, shown):
    image = np.full((60, 60, 3), 128, np.uint8)
    face = Face((10.0, 10.0, 50.0, 50.0), score, (22.0, 25.0), (38.0, 25.0))
    with pytest.raises(NoFaceError) as caught:
        crop_face(image, lambda _: [face], CropSettings(size=32, min_score=0.6))
    assert caught.value.reason == f"low confidence {shown} < 0.6"


def test_a_checkpoint_of_another_architecture_is_one_line(tiny_store, tmp_path, capsys):
    from metafas.cli import main

    run = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--store", str(tiny_store), "--out", str(run)]
    assert main(args + ["--method", "deepall", "--set", "train.steps=2"]) == 0
    config_path = next(run.glob("checkpoints/step_*/state.json"))
    state = json.loads(config_path.read_text())
    state["config"]["model"]["width"] = 0.25  # the weights were made at width 0.125
    config_path.write_text(json.dumps(state))
    capsys.readouterr()
    assert main(["evaluate", str(config_path.parent)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another architecture" in err and "is (" in err


def test_a_sweep_with_a_broken_file_or_seed_names_it(tmp_path, capsys):
    from metafas.cli import main

    spec = tmp_path / "sweep.toml"
    spec.write_text('protocols = ["sim_OCI_M"]\nmethods = ["deepall"\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    assert f"{spec}" in capsys.readouterr().err  # the parser says where (here: at the end)
    spec.write_text('protocols = ["sim_OCI_M"]\nmethods = ["deepall"]\nseeds = ["zero"]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    assert "seeds in" in capsys.readouterr().err
