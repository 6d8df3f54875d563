"""Everything metafas writes follows the process umask: a store, a run with its checkpoints, an
ONNX export and a report are readable by the group and others under umask 022, private under 077.
"""

import os
import stat
from importlib.util import find_spec
from pathlib import Path

import pytest

from metafas.data.simulated import write_simulated
from metafas.evaluation.report import write_report
from metafas.training.checkpoint import latest_checkpoint
from metafas.training.config import resolve_config
from metafas.training.loop import train

UMASKS = {"umask022": 0o022, "umask077": 0o077}
HAS_ONNX_EXPORTER = all(find_spec(name) for name in ("onnx", "onnxruntime", "onnxscript"))


@pytest.fixture(scope="module", params=sorted(UMASKS))
def written(request, tmp_path_factory) -> tuple[int, dict[str, Path]]:
    """(umask, {what: directory}): a store, a run trained on it, an export and a report, all
    written under the umask (set for the whole pipeline, restored afterwards)."""
    umask = UMASKS[request.param]
    base = tmp_path_factory.mktemp(request.param)
    old = os.umask(umask)
    try:
        store = write_simulated(base / "store", size=32, subjects=3, progress=False).root
        config = resolve_config("tiny", [f'data.store="{store}"', 'method="deepall"'])
        run = train(config, base / "run", progress=False)
        directories = {"store": store, "run": run, "checkpoint": latest_checkpoint(run)}
        if HAS_ONNX_EXPORTER:
            from metafas.deploy.export import export_checkpoint

            directories["export"] = export_checkpoint(
                directories["checkpoint"], base / "export"
            ).directory
        directories["report"] = write_report(run, base / "report", n_boot=10).parent
    finally:
        os.umask(old)
    return umask, directories


def wrong_modes(directory: Path, umask: int) -> dict[str, str]:
    """Files not 0o666 & ~umask and folders not 0o777 & ~umask under `directory`, with their
    mode; the folder itself is included."""
    wrong = {}
    for path in [directory, *directory.rglob("*")]:
        expected = (0o777 if path.is_dir() else 0o666) & ~umask
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode != expected:
            wrong[str(path.relative_to(directory))] = f"{mode:o} (expected {expected:o})"
    return wrong


@pytest.mark.parametrize("what", ["store", "run", "checkpoint", "export", "report"])
def test_written_files_follow_the_umask(written, what):
    umask, directories = written
    if what not in directories:
        pytest.skip("ONNX export needs onnx, onnxruntime and onnxscript")
    directory = directories[what]
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files, f"nothing was written under {directory}"
    assert wrong_modes(directory, umask) == {}
