"""The base install (no serve, onnx or faces extra) runs every command that does not need them,
and a command that does names the extra to install. The CLI runs in a subprocess in which the
extras' modules cannot be imported."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

BLOCKED = ("starlette", "uvicorn", "multipart", "python_multipart", "onnx", "onnxruntime")
BLOCKED += ("onnxscript", "mediapipe")

# A None in sys.modules makes `import name` raise ModuleNotFoundError and find_spec return None,
# as for a package that is not installed.
RUN_WITHOUT_EXTRAS = f"""
import sys
sys.modules.update(dict.fromkeys({BLOCKED!r}))
from metafas.cli import main
sys.exit(main(sys.argv[1:]))
"""


def metafas(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", RUN_WITHOUT_EXTRAS, *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture(scope="module")
def run_dir(tiny_store, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("base") / "run"
    train = ["train", "--preset", "tiny", "--store", tiny_store, "--out", run]
    printed = ok(metafas(*train, "--method", "deepall", "--set", "train.steps=2")).stdout
    assert "HTER source-thr" in printed and str(run) in printed
    return run


def test_demo_help_without_extras():
    assert "usage: metafas demo" in ok(metafas("demo", "--help")).stdout


def test_train_evaluate_table_report_without_extras(run_dir, tmp_path):
    assert "target_eer (oracle)" in ok(metafas("evaluate", run_dir)).stdout
    assert "deepall" in ok(metafas("table", run_dir)).stdout
    ok(metafas("report", run_dir, "--out", tmp_path / "report"))
    assert (tmp_path / "report" / "index.html").is_file()


def test_predict_on_crops_without_extras(run_dir, tmp_path):
    image = tmp_path / "face.png"
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(image)
    printed = ok(metafas("predict", run_dir, image, "--no-detect")).stdout
    assert "face.png" in printed


@pytest.mark.parametrize(
    "command, extra",
    [
        (["serve", "RUN"], "serve"),
        (["export", "RUN", "--out", "EXPORT"], "onnx"),
        (["predict", "RUN", "--runtime", "onnx", "IMAGE"], "onnx"),
        (["predict", "RUN", "IMAGE"], "faces"),
    ],
)
def test_a_command_that_needs_an_extra_names_it(run_dir, tmp_path, command, extra):
    image = tmp_path / "face.png"
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(image)
    places = {"RUN": run_dir, "EXPORT": tmp_path / "export", "IMAGE": image}
    result = metafas(*[places.get(word, word) for word in command])
    assert result.returncode == 2, result.stderr
    assert f'pip install "metafas[{extra}]"' in result.stderr
    assert "Traceback" not in result.stderr
