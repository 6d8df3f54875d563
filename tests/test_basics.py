"""Project basics: licence, citation and changelog files, `--version`, `-v` after the subcommand,
one --max-pixels default, MediaPipe's native log lines kept off the terminal, a progress bar that
fits 100 columns, export's parity lines printed once, and dependencies the package imports."""

from __future__ import annotations

import argparse
import ast
import io
import logging
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from test_methods import SMALL, batches
from test_predict import PREPARED, make_checkpoint
from tqdm import tqdm

from metafas.cli import build_parser, main
from metafas.deploy.limits import ServeLimits
from metafas.faces.mediapipe_detector import MediapipeDetector
from metafas.faces.native_output import captured_native_output, is_notice
from metafas.media import DEFAULT_MAX_PIXELS
from metafas.methods import METHODS, method_class
from metafas.training.loop import log_terms

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_licence_is_the_full_apache_2_text():
    text = (ROOT / "LICENSE").read_text()
    assert PYPROJECT["license"] == {"text": "Apache-2.0"}
    assert "Apache License\n                           Version 2.0, January 2004" in text
    sections = re.findall(r"^\s+(\d)\. (\w[\w ]+)\.", text, re.M)
    assert [number for number, _ in sections] == [str(n) for n in range(1, 10)]
    assert sections[-1][1] == "Accepting Warranty or Additional Liability"
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX" in text
    assert len(text.split()) > 1500


def test_citation_names_the_project_and_the_rfm_paper():
    yaml = pytest.importorskip("yaml")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["type"] == "software"
    assert {"message", "title", "authors"} <= set(citation)
    assert citation["version"] == PYPROJECT["version"]
    assert citation["license"] == PYPROJECT["license"]["text"]
    (paper,) = citation["references"]
    assert paper["title"] == "Regularized Fine-grained Meta Face Anti-spoofing"
    assert [a["family-names"] for a in paper["authors"]] == ["Shao", "Lan", "Yuen"]
    assert paper["year"] == 2020 and "AAAI" in paper["conference"]["name"]
    assert "1911.10771" in paper["url"]


def test_changelog_keeps_an_unreleased_section():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog") and "keepachangelog.com" in text
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## ", 1)[0]
    assert "### Added" in unreleased and "### Changed" in unreleased


def test_version_option(capsys):
    with pytest.raises(SystemExit) as exit_status:
        main(["--version"])
    assert exit_status.value.code == 0
    assert capsys.readouterr().out == f"metafas {version('metafas')}\n"


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [
        (["-v", "evaluate", "RUN"], True),
        (["evaluate", "RUN", "-v"], True),
        (["evaluate", "--verbose", "RUN"], True),
        (["evaluate", "RUN"], False),
    ],
)
def test_verbose_before_or_after_the_subcommand(argv, verbose):
    assert build_parser().parse_args(argv).verbose is verbose


def test_predict_and_serve_share_one_max_pixels_default():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    predict = sub.choices["predict"].parse_args(["CKPT", "x.jpg"])
    serve = sub.choices["serve"].parse_args(["CKPT"])
    assert predict.max_pixels == serve.max_pixels == ServeLimits().max_pixels
    assert predict.max_pixels == DEFAULT_MAX_PIXELS


# What MediaPipe 0.10.21 printed on every `metafas predict` (timestamps and threads vary).
NOTICES = [
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "W0000 00:00:1796168791.100807   26391 inference_feedback_manager.cc:114] Feedback manager "
    "requires a model with a single signature inference. Disabling support for feedback tensors.",
    "W0000 00:00:1796168791.182157   26394 landmark_projection_calculator.cc:186] Using "
    "NORM_RECT without IMAGE_DIMENSIONS is only supported for the square ROI.",
]
ERROR = "E0000 00:00:1796168791.182157   26394 calculator_graph.cc:12] a real error"


def native_print(*lines: str) -> None:
    """Write as C code does: straight to file descriptor 2."""
    os.write(2, "".join(line + "\n" for line in lines).encode())


class FakeGraph:
    """A MediaPipe solution that logs like the real ones when built and on each frame."""

    def __init__(self, **options) -> None:
        native_print(*NOTICES[:3])

    def process(self, image):
        native_print(NOTICES[3])
        return SimpleNamespace(detections=[], multi_face_landmarks=[])

    def close(self) -> None:
        pass


FAKE_MEDIAPIPE = SimpleNamespace(
    __version__="0.10.21",
    solutions=SimpleNamespace(
        face_detection=SimpleNamespace(FaceDetection=FakeGraph),
        face_mesh=SimpleNamespace(FaceMesh=FakeGraph),
        face_mesh_connections=SimpleNamespace(FACEMESH_RIGHT_EYE=[(0, 1)], FACEMESH_LEFT_EYE=[]),
    ),
)


def test_mediapipe_native_lines_stay_off_the_terminal(capfd):
    detector = MediapipeDetector(FAKE_MEDIAPIPE, 0.5, full_range=False, max_faces=1, mesh=True)
    assert detector(torch.zeros(8, 8, 3, dtype=torch.uint8).numpy()) == []
    assert capfd.readouterr().err == ""


def test_mediapipe_native_lines_show_with_debug_logging(capfd, caplog):
    with caplog.at_level(logging.DEBUG, logger="metafas.faces.mediapipe_detector"):
        MediapipeDetector(FAKE_MEDIAPIPE, 0.5, full_range=False, max_faces=1, mesh=False)
    err = capfd.readouterr().err
    assert all(line in err for line in NOTICES), err


def test_captured_native_output_passes_other_lines_on(capfd):
    """Errors, and what other threads write to stderr meanwhile, still come out."""
    quiet = logging.getLogger("metafas.test.quiet")
    with captured_native_output(quiet), captured_native_output(quiet):  # nested: one capture
        native_print(NOTICES[0], ERROR, *NOTICES[1:], "Traceback (most recent call last):")
    assert capfd.readouterr().err == f"{ERROR}\nTraceback (most recent call last):\n"
    assert all(map(is_notice, NOTICES)) and not is_notice(ERROR)
    native_print("after")
    assert capfd.readouterr().err == "after\n"  # descriptor 2 is back


@pytest.mark.faces
def test_real_mediapipe_prints_nothing_unless_verbose(tmp_path):
    """In a fresh process, as `metafas predict` is (TensorFlow Lite logs once per process)."""
    pytest.importorskip("mediapipe")
    code = (
        "import logging, sys, numpy as np\n"
        "if sys.argv[1] == 'debug': logging.basicConfig(level=logging.DEBUG)\n"
        "from metafas.faces import mediapipe_detector\n"
        "detector = mediapipe_detector(0.5)\n"
        "detector(np.full((120, 100, 3), 128, np.uint8))\n"
    )
    quiet, verbose = (
        subprocess.run([sys.executable, "-c", code, level], capture_output=True, text=True)
        for level in ("info", "debug")
    )
    assert quiet.returncode == 0, quiet.stderr
    assert not any(map(is_notice, quiet.stderr.splitlines())), quiet.stderr
    assert "inference_feedback_manager" in verbose.stderr


def method_terms(name: str) -> dict[str, float]:
    """The terms a method's update really returns on a tiny step."""
    torch.manual_seed(0)
    method = method_class(name)(SMALL, method_class(name).Config(), source_domains=3)
    return method.update(batches(3))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_progress_bar_fits_100_columns(name):
    terms = {term: value + 10 for term, value in method_terms(name).items()}  # widest values
    writer = SimpleNamespace(scalars={}, add_scalar=lambda k, v, s: writer.scalars.update({k: v}))
    bar = tqdm(total=4000, desc=name, file=io.StringIO())
    log_terms(writer, bar, terms, step=2000)
    assert set(writer.scalars) == {f"train/{term}" for term in terms}  # all go to TensorBoard
    late = tqdm.format_meter(
        2000, 4000, 5400.0, ncols=100, prefix=name, postfix=bar.postfix, unit="it"
    )
    assert bar.postfix.startswith("loss=") and bar.postfix in late and len(late) <= 100
    bar.close()


def test_export_prints_its_parity_lines_once(tmp_path, capsys, caplog):
    checkpoint = make_checkpoint(tmp_path / "ckpt", store_info=PREPARED)
    with caplog.at_level(logging.INFO):
        assert main(["export", str(checkpoint), "--out", str(tmp_path / "onnx")]) == 0
    printed = capsys.readouterr().out + caplog.text
    assert printed.count("max |onnx - torch|") == 2  # random and edge_colours, once each


# Distribution name -> the module it provides, where they differ.
MODULE_OF = {"pillow": "PIL", "scikit-learn": "sklearn", "python-multipart": "multipart"}
# Runtime dependencies that the package needs without importing them itself.
NOT_IMPORTED = {"setuptools": "tensorboard<2.21 imports pkg_resources from it"}


def imported_modules() -> set[str]:
    """The top-level modules imported anywhere in the package (lazy imports included)."""
    found = set()
    for path in (ROOT / "metafas").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"metafas"}


def distribution(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()


def test_runtime_dependencies_are_the_ones_the_package_imports():
    imported = imported_modules()
    runtime = {distribution(r) for r in PYPROJECT["dependencies"]}
    unused = {
        name for name in runtime - set(NOT_IMPORTED) if MODULE_OF.get(name, name) not in imported
    }
    assert not unused, f"runtime dependencies no module imports: {sorted(unused)}"
    extras = {distribution(r) for reqs in PYPROJECT["optional-dependencies"].values() for r in reqs}
    declared = {MODULE_OF.get(name, name) for name in runtime | extras}
    optional = {"pillow_heif"}  # a Pillow plugin used when installed (media.image), no extra
    assert imported <= declared | optional, sorted(imported - declared)
