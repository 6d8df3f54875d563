"""The benchmark scripts run, with tiny settings, as their users call them (`python -m
benchmarks.NAME` from the repository root); gpu_check.sh refuses a machine without CUDA."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.tensorboard import SummaryWriter

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # tiny models: one thread, immune to a busy machine
TINY_KERNELS = ["--matmul-size", "64", "--conv-batch", "1", "--kernel-repeats", "1"]


def run(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=ROOT, env=env or ENV, capture_output=True, text=True, timeout=timeout
    )


def table_rows(out: str, first_cell: str) -> list[list[str]]:
    lines = [line for line in out.splitlines() if line.startswith(f"| {first_cell} |")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_roofline_prints_limits_and_both_methods_against_them():
    result = run(
        sys.executable, "-m", "benchmarks.roofline", "--presets", "tiny", "--precision", "fp32",
        "--repeats", "1", *TINY_KERNELS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"\| matmul 64x64 \| [\d.]+ \|", result.stdout)
    layout = r"[\d.]+ (NCHW|NHWC)"  # the faster of the two
    assert re.search(rf"\| conv3x3 128->128 64x64 x1 fwd\+bwd \| {layout} \|", result.stdout)
    assert re.search(rf"\| conv3x3 16->24 32x32 x4 fwd\+bwd \| {layout} \|", result.stdout)
    rows = {row[2]: row for row in table_rows(result.stdout, "tiny")}
    assert set(rows) == {"deepall", "rfm"}
    assert rows["deepall"][-1] == "1.00"  # the ratio column is to DeepAll
    for row in rows.values():
        gflop, ms_per_step, rate = (float(row[i]) for i in (3, 4, 6))
        assert gflop > 0 and ms_per_step > 0 and math.isfinite(rate)
        assert all(cell.endswith("%") for cell in row[7:10])
    assert float(rows["rfm"][-1]) > 0


def test_roofline_refuses_cuda_without_a_device():
    if torch.cuda.is_available():
        pytest.skip("checks the no-CUDA error")
    result = run(sys.executable, "-m", "benchmarks.roofline", "--device", "cuda")
    assert result.returncode != 0
    assert "no CUDA device is available" in result.stderr


def test_gpu_check_without_cuda_says_so_and_exits_at_once():
    if torch.cuda.is_available():
        pytest.skip("checks the no-CUDA error")
    result = run("bash", "benchmarks/gpu_check.sh", timeout=60)
    assert result.returncode == 3
    assert "gpu_check: no CUDA device" in result.stderr and "==" not in result.stdout


def write_losses(run_dir: Path, losses: list[float]) -> None:
    writer = SummaryWriter(str(run_dir / "tensorboard"))
    for step, loss in enumerate(losses, start=1):
        writer.add_scalar("train/loss", loss, step)
        writer.add_scalar("train/cls", loss / 2, step)
    writer.close()


def test_loss_curve_prints_the_curve_and_passes_finite_losses(tmp_path):
    write_losses(tmp_path, [3.0, 2.0, 1.5, 1.0])
    result = run(sys.executable, "-m", "benchmarks.loss_curve", str(tmp_path), "--steps", "4")
    assert result.returncode == 0, result.stderr
    assert "| step | loss | cls |" in result.stdout
    assert "| 4 | 1.0000 | 0.5000 |" in result.stdout
    assert "all 4 logged steps finite, last step 4" in result.stdout


@pytest.mark.parametrize(
    "losses, steps, problem",
    [
        ([3.0, float("nan"), 1.0], 3, "train/loss is nan at step 2"),
        ([3.0, 2.0], 5, "the run logged up to step 2, not 5"),
    ],
)
def test_loss_curve_fails_on_nan_or_a_short_run(tmp_path, losses, steps, problem):
    write_losses(tmp_path, losses)
    result = run(
        sys.executable, "-m", "benchmarks.loss_curve", str(tmp_path), "--steps", str(steps)
    )
    assert result.returncode == 1
    assert problem in result.stderr


@pytest.mark.slow
def test_gpu_check_dry_run_runs_every_part_on_the_cpu(tiny_store, tmp_path):
    """Every command of gpu_check.sh on the CPU with the tiny preset (minutes on 2 cores)."""
    env = {**ENV, "GPU_CHECK_DRY_RUN": "1", "STORE": str(tiny_store)}
    result = run("bash", "benchmarks/gpu_check.sh", str(tmp_path), env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    parts = re.findall(r"^== (\d)\.", result.stdout, flags=re.MULTILINE)
    assert parts == ["1", "2", "3", "4", "5", "6"]
    assert "all 4 logged steps finite, last step 4" in result.stdout


def test_channel_widths_prints_each_variant_with_its_widths():
    result = run(sys.executable, "-m", "benchmarks.channel_widths", "--preset", "tiny",
        "--repeats", "1", "--variant", "plain=model.channel_multiple=1",
        "--variant", "m8=model.channel_multiple=8,model.channels_last=true",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {
        row[0]: row for row in table_rows(result.stdout, "plain") + table_rows(result.stdout, "m8")
    }
    assert rows["plain"][3] == "1.00"  # ratios are to the first variant
    assert all(int(w) % 8 == 0 for w in rows["m8"][1].split("/"))
    assert float(rows["m8"][2]) > 0


def test_channel_widths_refuses_a_malformed_variant():
    result = run(sys.executable, "-m", "benchmarks.channel_widths", "--variant", "nothing")
    assert result.returncode != 0
    assert "--variant 'nothing': expected NAME=override" in result.stderr
