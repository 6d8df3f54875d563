"""Methods from outside the package: the example of docs/methods.md as an installed plugin (an
entry point of `metafas.methods`) and as a file for --import, trained and used from the CLI in
fresh processes; broken plugins give errors naming them; plugins load once."""

import json
import os
import re
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metafas.cli import main
from metafas.methods import PluginError, import_plugin, method_names, registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC = Path(__file__).resolve().parents[1] / "docs" / "methods.md"


def doc_block(language: str, needle: str) -> str:
    """The code block of docs/methods.md in `language` that contains `needle`."""
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    found = [b for b in blocks if needle in b]
    assert len(found) == 1, f"one ```{language} block with {needle!r} in {DOC}"
    return found[0]


def write_plugin_package(root: Path) -> Path:
    """The doc's plugin, made importable without pip: its folder goes on PYTHONPATH, and a
    dist-info folder there makes its entry points visible to importlib.metadata."""
    root.mkdir()
    (root / "toy_plugin.py").write_text(doc_block("python", '@register("toy")'))
    pyproject = doc_block("toml", '[project.entry-points."metafas.methods"]')
    (root / "pyproject.toml").write_text(pyproject)
    project = tomllib.loads(pyproject)["project"]
    lines = [f"{k} = {v}" for k, v in project["entry-points"]["metafas.methods"].items()]
    info = root / f"{project['name']}-{project['version']}.dist-info"
    info.mkdir()
    metadata = f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    (info / "METADATA").write_text(metadata)
    (info / "entry_points.txt").write_text("[metafas.methods]\n" + "\n".join(lines) + "\n")
    return root


def metafas(args: list[str], path: Path | None = None, cwd: Path | None = None):
    """`python -m metafas.cli ARGS` in a fresh process, `path` prepended to PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "METAFAS_IMPORT"}
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "metafas.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def face_crop(path: Path) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
    return path


def train_args(store: Path, run: Path) -> list[str]:
    args = ["train", "--preset", "tiny", "--store", str(store), "--out", str(run)]
    return args + ["--method", "toy", "--set", "train.steps=2", "--set", "toy.depth_weight=2"]


def test_an_installed_plugin_trains_lists_and_predicts(tiny_store, tmp_path, capsys):
    package = write_plugin_package(tmp_path / "toy")
    run = tmp_path / "run"
    trained = metafas(train_args(tiny_store, run), path=package)
    assert trained.returncode == 0, trained.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["method"] == "toy" and config["toy"] == {"depth_weight": 2.0}
    listed = metafas(["methods"], path=package)
    assert re.search(
        r"^toy +DeepAll with a lighter depth term.*\[toy_plugin\]$", listed.stdout, re.M
    )
    image = face_crop(tmp_path / "face.png")
    predicted = metafas(["predict", str(run), str(image), "--no-detect", "--json", "-"], package)
    assert predicted.returncode == 0, predicted.stderr
    (result,) = json.loads(predicted.stdout)["predictions"]
    assert 0 <= result["live_probability"] <= 1
    # This process has not seen the plugin (its folder is not on sys.path here).
    assert main(["predict", str(run), str(image), "--no-detect"]) == 2
    error = capsys.readouterr().err
    assert "method 'toy' unknown" in error and "--import" in error


def test_import_a_plugin_file_before_or_after_the_command(tiny_store, tmp_path):
    plugin = tmp_path / "toy_method.py"
    plugin.write_text(doc_block("python", '@register("toy")'))
    run = tmp_path / "run"
    trained = metafas(train_args(tiny_store, run) + ["--import", str(plugin)])
    assert trained.returncode == 0, trained.stderr
    image = face_crop(tmp_path / "face.png")
    predicted = metafas(["--import", str(plugin), "predict", str(run), str(image), "--no-detect"])
    assert predicted.returncode == 0, predicted.stderr
    assert "face.png" in predicted.stdout


def test_a_broken_entry_point_is_named():
    entry_point = EntryPoint("broken", "no_such_module_xyz:Thing", registry.ENTRY_POINT_GROUP)
    with pytest.raises(PluginError, match=r"entry point 'broken' = 'no_such_module_xyz:Thing'"):
        registry.load_entry_point(entry_point)


def test_a_broken_import_is_named(tmp_path):
    with pytest.raises(PluginError, match="'no_such_module_xyz' failed to import"):
        import_plugin("no_such_module_xyz")
    with pytest.raises(PluginError, match="does not exist"):
        import_plugin(str(tmp_path / "missing.py"))
    bad = tmp_path / "bad_plugin.py"
    bad.write_text("raise RuntimeError('half-written plugin')\n")
    with pytest.raises(PluginError, match="bad_plugin.py.*RuntimeError: half-written plugin"):
        import_plugin(str(bad))
    assert "bad_plugin" not in sys.modules


class CountingEntryPoint:
    """Stands in for an importlib.metadata.EntryPoint; counts its loads."""

    name, value, dist = "counting", "counting_plugin", None

    def __init__(self, error: Exception | None = None):
        self.loads, self.error = 0, error

    def load(self):
        self.loads += 1
        if self.error:
            raise self.error


def test_plugins_load_once_and_a_failure_repeats(monkeypatch):
    found = CountingEntryPoint()
    monkeypatch.setattr(registry, "entry_points", lambda group: [found])
    monkeypatch.setitem(registry._plugins, "loaded", False)
    monkeypatch.setitem(registry._plugins, "error", None)
    method_names()
    method_names()
    assert found.loads == 1
    broken = CountingEntryPoint(ImportError("no module named 'helper'"))
    monkeypatch.setattr(registry, "entry_points", lambda group: [broken])
    monkeypatch.setitem(registry._plugins, "loaded", False)
    for _ in range(2):
        with pytest.raises(PluginError, match="'counting' = 'counting_plugin' of an unknown"):
            method_names()
    assert broken.loads == 1
