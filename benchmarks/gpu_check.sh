#!/usr/bin/env bash
# The GPU checks of issue 17 in one command; under 10 minutes on one H100/H200-class GPU.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]        # default OUT_DIR: /tmp/metafas-gpu-check
#
# Prints, for the paper preset (256 px, width 1.0, k = 10, 3 source domains):
#   1. RFM and DeepAll step time, images/s and share of the device's dense bf16 peak from
#      counted FLOPs (benchmarks/gpu_step.py: bf16, channels-last);
#   2. the same against this GPU's measured large-matmul and convolution throughput, bf16 and
#      fp32, with the RFM/DeepAll ratio and peak memory (benchmarks/roofline.py);
#   3. per-domain forwards of F, 4. channels-last on, 5. train.compile=inductor, each to be
#      read against 2, which runs the preset's own settings (batched, contiguous, eager);
#   6. a TRAIN_STEPS-step (default 200) training run of RFM on the simulated default domains
#      (simulated once at TRAIN_SIZE px, default 256, into the metafas cache), whose loss curve
#      is printed and checked for NaN (benchmarks/loss_curve.py).
# Exits 3 at once, saying so, when there is no CUDA device; stops at the first failing part.
#
# GPU_CHECK_DRY_RUN=1 runs the same commands on the CPU with the tiny preset and tiny kernels
# (STORE=DIR trains on that store instead of simulating one), to check the script itself
# without a GPU (tests/test_benchmarks.py); its figures mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${1:-/tmp/metafas-gpu-check}"
if [[ "${GPU_CHECK_DRY_RUN:-0}" == 1 ]]; then
    DEVICE=cpu PRESET=tiny COMPILE=aot_eager
    TRAIN_STEPS="${TRAIN_STEPS:-4}" TRAIN_SIZE="${TRAIN_SIZE:-32}" REPEATS=1 STEP_REPEATS=1
    KERNELS=(--matmul-size 128 --conv-batch 1 --kernel-repeats 1)
    echo "gpu_check: dry run on the CPU (tiny preset); the figures mean nothing"
else
    if ! python -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
        echo "gpu_check: no CUDA device: torch.cuda.is_available() is False (or torch does" \
            "not import); run this on a machine with an NVIDIA GPU and a CUDA build of torch" >&2
        exit 3
    fi
    DEVICE=cuda PRESET=paper COMPILE=inductor
    TRAIN_STEPS="${TRAIN_STEPS:-200}" TRAIN_SIZE="${TRAIN_SIZE:-256}" REPEATS=10 STEP_REPEATS=20
    KERNELS=()
    python -c 'import torch; print("gpu_check:", torch.cuda.get_device_name(), torch.__version__)'
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader
    fi
fi
mkdir -p "$OUT"

part() { echo; echo "== $1 ($(date +%T))"; }
roofline() {
    python -m benchmarks.roofline --device "$DEVICE" --presets "$PRESET" --repeats "$REPEATS" \
        ${KERNELS[@]+"${KERNELS[@]}"} "$@"
}

part "1. $PRESET preset, bf16, channels-last: step time, images/s, share of the bf16 peak"
python -m benchmarks.gpu_step --device "$DEVICE" --preset "$PRESET" --repeats "$STEP_REPEATS"

part "2. $PRESET preset against the measured matmul and convolution limits (bf16 and fp32)"
roofline --precision auto,fp32

part "3. per-domain forwards of F (to read against 2)"
roofline --set train.batched_domains=false

part "4. channels-last on (to read against 2)"
roofline --set model.channels_last=true

part "5. train.compile=$COMPILE on F and D (to read against 2); the first steps compile"
roofline --set "train.compile=\"$COMPILE\""

part "6. $TRAIN_STEPS training steps of RFM, $PRESET preset at $TRAIN_SIZE px"
rm -rf "$OUT/train"
metafas train --preset "$PRESET" --method rfm --out "$OUT/train" ${STORE:+--store "$STORE"} \
    --set "train.device=\"$DEVICE\"" --set "model.input_size=$TRAIN_SIZE" \
    --set "train.steps=$TRAIN_STEPS" --set train.log_every=1 --set train.eval_every=100 \
    --set "train.checkpoint_every=$TRAIN_STEPS"
python -m benchmarks.loss_curve "$OUT/train" --steps "$TRAIN_STEPS"

part "done"
