"""This machine's own matmul and convolution limits, and each preset's RFM and DeepAll steps
measured against them.

    python -m benchmarks.roofline                                   # cpu preset, precision auto
    python -m benchmarks.roofline --presets cpu,paper --repeats 1 --kernel-repeats 1
    python -m benchmarks.roofline --precision auto,fp32 --set model.channels_last=true
    python -m benchmarks.roofline --device cuda --presets paper
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
        python -m benchmarks.roofline

The last line emulates an AVX2-only CPU (such as a 2-core AMD EPYC) on an AVX512 or AMX one:
ATen's vector kernels, oneDNN's convolutions and MKL's matmuls are capped at AVX2 (without the
MKL variable a 4096 matmul still runs AVX512, twice as fast), and precision auto then picks
fp32 (metafas.training.hardware). The same variables work for every benchmark here. The paper
preset on a CPU takes minutes (about 20 s a step; its widest convolution is 5 TFLOP), hence
--repeats 1 --kernel-repeats 1 above.

Limits, measured here in each precision timed (bf16 only where the device computes it
natively): a large square matmul, and a 3x3 convolution forward plus backward, in the faster
of the NCHW and NHWC layouts, at a representative shape (128 -> 128 channels at 64x64, batch
32) and at each preset's widest shape (F's 128 -> 196 convolution at full resolution, scaled
by the preset's width, on the batch one forward of F sees). FLOPs, of the kernels and of one
real step (forward, RFM's second-order inner gradient, backward), are counted by
torch.utils.flop_counter. Steps of RFM and DeepAll are interleaved
(benchmarks.step_time.time_steps), median of --repeats. On CUDA the share of the vendor's
dense bf16 peak (benchmarks.gpu_step) and the peak memory of a step are added. On a machine
shared with other work every figure is a lower bound, a limit measured in a busy moment too,
so that a share can then exceed 100 %.
"""

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.gpu_step import count_flops, peak_tflops
from benchmarks.step_time import random_batches, time_steps
from metafas.training.config import RunConfig, resolve_config
from metafas.training.hardware import cpu_capability, resolve_precision
from metafas.training.runs import build_method

METHODS = ("deepall", "rfm")
REPRESENTATIVE_CONV = (128, 128, 64, 32)  # in, out channels, side, batch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(run: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall time of `run()` over `repeats` calls (the caller has warmed it up)."""
    times = []
    for _ in range(repeats):
        synchronize(device)
        started = time.perf_counter()
        run()
        synchronize(device)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def flops_and_seconds(run: Callable[[], object], device: torch.device, repeats: int) -> float:
    """GFLOP/s of `run()`: FLOPs counted on a first call, which also warms it up."""
    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops() / median_seconds(run, device, repeats) / 1e9


def autocast(precision: str, device: torch.device):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def matmul_gflops(size: int, precision: str, device: torch.device, repeats: int) -> float:
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    return flops_and_seconds(lambda: a @ b, device, repeats)


LAYOUTS = {"NCHW": torch.contiguous_format, "NHWC": torch.channels_last}


def conv_gflops(
    shape: tuple, layout: str, precision: str, device: torch.device, repeats: int
) -> float:
    """A 3x3 convolution (padding 1, bias) forward and backward to input and weights, as a
    training step runs it, in memory `layout`; FLOPs counted (3x the forward's)."""
    in_channels, out_channels, side, batch = shape
    conv = torch.nn.Conv2d(in_channels, out_channels, 3, padding=1).to(device)
    conv = conv.to(memory_format=LAYOUTS[layout])
    x = torch.rand(batch, in_channels, side, side, device=device)
    x = x.contiguous(memory_format=LAYOUTS[layout]).requires_grad_()

    def step():
        with autocast(precision, device):
            y = conv(x)
        y.sum().backward()

    return flops_and_seconds(step, device, repeats)


def preset_conv(config: RunConfig, domains: int) -> tuple[int, int, int, int]:
    """F's widest convolution of the preset (128 -> 196 at full resolution, width-scaled) on
    the batch one forward of F sees."""
    model, train = config.model, config.train
    batch = 2 * train.k * (domains if train.batched_domains else 1)
    return model.channels(128), model.channels(196), model.input_size, batch


def conv_name(shape: tuple) -> str:
    in_channels, out_channels, side, batch = shape
    return f"conv3x3 {in_channels}->{out_channels} {side}x{side} x{batch} fwd+bwd"


def measure_limits(names: dict, precision: str, args, device: torch.device) -> dict:
    """GFLOP/s of each limit in `names` (key -> "matmul" or a conv shape) in `precision`, and
    for a convolution the faster of its two memory layouts: key -> (GFLOP/s, layout)."""
    limits = {}
    for key, what in names.items():
        if what == "matmul":
            rate = matmul_gflops(args.matmul_size, precision, device, args.kernel_repeats)
            limits[key] = (rate, "")
        else:
            rates = {
                layout: conv_gflops(what, layout, precision, device, args.kernel_repeats)
                for layout in LAYOUTS
            }
            best = max(rates, key=rates.get)
            limits[key] = (rates[best], best)
    return limits


def time_preset(preset: str, precision: str, args, device: torch.device) -> dict:
    """GFLOP per step, median seconds per step and (CUDA) peak bytes of RFM and DeepAll."""
    methods, configs = {}, {}
    for name in METHODS:
        overrides = [f'method="{name}"', f'train.precision="{precision}"', *args.overrides]
        configs[name] = resolve_config(preset, overrides)
        methods[name] = build_method(configs[name], device)
    config = configs["rfm"]
    batches = random_batches(args.domains, config.train.k, config.model.input_size)
    batches = [batch.to(device) for batch in batches]
    flops, memory = {}, {}
    for name, method in methods.items():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        flops[name] = count_flops(method, batches)
        if device.type == "cuda":
            memory[name] = torch.cuda.max_memory_allocated(device)
    seconds = time_steps(methods, batches, args.repeats)
    images = args.domains * 2 * config.train.k
    return dict(config=config, flops=flops, seconds=seconds, memory=memory, images=images)


def print_limits(limits: dict, names: dict, precisions: list[str], matmul_size: int) -> None:
    """One line per limit: GFLOP/s per precision (a convolution's in its faster layout)."""
    print("| limit | " + " | ".join(f"{p} GFLOP/s" for p in precisions) + " |")
    print("|---|" + "---:|" * len(precisions))
    for key, what in names.items():
        label = f"matmul {matmul_size}x{matmul_size}" if what == "matmul" else conv_name(what)
        cells = [f"{limits[p][key][0]:.1f} {limits[p][key][1]}".strip() for p in precisions]
        print(f"| {label} | " + " | ".join(cells) + " |")


STEP_COLUMNS = (
    "preset | precision | method | GFLOP/step | ms/step | images/s | GFLOP/s | of matmul | "
    "of conv 128 | of preset conv | / deepall"
)


def step_cells(preset: str, precision: str, name: str, result: dict, own: dict) -> list[str]:
    seconds, flops = result["seconds"][name], result["flops"][name]
    rate = flops / seconds / 1e9
    own = {key: gflops for key, (gflops, _) in own.items()}
    return [
        preset,
        precision,
        name,
        f"{flops / 1e9:.2f}",
        f"{seconds * 1e3:.1f}",
        f"{result['images'] / seconds:.1f}",
        f"{rate:.1f}",
        f"{rate / own['matmul']:.0%}",
        f"{rate / own['conv']:.0%}",
        f"{rate / own[preset]:.0%}",
        f"{seconds / result['seconds']['deepall']:.2f}",
    ]


def print_steps(rows: list[tuple], limits: dict, device: torch.device, peak: float | None) -> None:
    """One line per preset, precision and method; on CUDA also the share of the bf16 peak
    (bf16 rows) and the step's peak memory."""
    cuda = device.type == "cuda"
    extra = " | of bf16 peak | peak MiB" if cuda else ""
    print(f"| {STEP_COLUMNS}{extra} |")
    print("|---|---|---|" + "---:|" * (8 + 2 * cuda))
    for preset, precision, result in rows:
        for name in METHODS:
            cells = step_cells(preset, precision, name, result, limits[precision])
            if cuda:
                rate = result["flops"][name] / result["seconds"][name] / 1e12
                cells.append(f"{rate / peak:.1%}" if peak and precision == "bf16" else "-")
                cells.append(f"{result['memory'][name] / 2**20:.0f}")
            print("| " + " | ".join(cells) + " |")


def machine_line(device: torch.device) -> str:
    if device.type == "cuda":
        return f"device {torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return (
        f"device cpu, {cpu_capability()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="cpu", help="comma-separated, e.g. cpu,paper")
    parser.add_argument(
        "--precision", default="auto", help="comma-separated: auto, fp32, bf16 (default auto)"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--domains", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10, help="timed steps per method")
    parser.add_argument("--kernel-repeats", type=int, default=3, help="timed calls per limit")
    parser.add_argument("--matmul-size", type=int, default=4096)
    parser.add_argument(
        "--conv-batch", type=int, default=REPRESENTATIVE_CONV[3], help="of the conv 128 limit"
    )
    parser.add_argument("--peak-tflops", type=float, default=None, help="CUDA dense bf16 peak")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("roofline: --device cuda asked for, but no CUDA device is available")
        torch.backends.cudnn.benchmark = True
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    asked = [p.strip() for p in args.precision.split(",") if p.strip()]
    precisions = list(dict.fromkeys(resolve_precision(p, device) for p in asked))
    print(f"{machine_line(device)}; precision {args.precision} -> {', '.join(precisions)}")
    rows = [(p, q, time_preset(p, q, args, device)) for p in presets for q in precisions]
    names = {"matmul": "matmul", "conv": (*REPRESENTATIVE_CONV[:3], args.conv_batch)}
    names |= {preset: preset_conv(r["config"], args.domains) for preset, _, r in rows}
    limits = {q: measure_limits(names, q, args, device) for q in precisions}
    print_limits(limits, names, precisions, args.matmul_size)
    print(f"\n{args.domains} domains, median of {args.repeats} interleaved steps per method")
    print_steps(rows, limits, device, peak_tflops(device, args.peak_tflops))


if __name__ == "__main__":
    main()
