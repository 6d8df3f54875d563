"""RFM end to end: this implementation against a naive one in the released code's style.

    python benchmarks/naive_vs_ours.py --store STORE --preset cpu --steps 10

The naive reference decodes every sample with PIL and converts it to HSV on the host at every
step, runs F once per domain, adapts the meta learner through a cloned parameter dict with a
hand-written functional forward, in float32, on the released network (the preset's input size
and width, without its SIMD rounding of the widths). Ours: cached uint8 frames decoded ahead in
a thread, HSV on the device, F per domain or batched with per-domain BatchNorm as the preset
says, torch.func, and the preset's widths and precision. Both run on the same store; steps are
interleaved so that machine noise hits both alike. Prints step time and images per second for each.
"""

import argparse
import statistics
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as nnf
from PIL import Image

from metafas.data.loader import FrameReader, SourceBatches, protocol_frames
from metafas.data.protocols import get_protocol
from metafas.data.simulated import open_store
from metafas.training.config import resolve_config
from metafas.training.runs import build_method


def naive_sample(root, frame, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One sample as the released code prepares it: PIL decode, resize, RGB and HSV stacked."""
    image = Image.open(root / frame.image).convert("RGB").resize((size, size))
    hsv = image.convert("HSV")
    six = np.concatenate([np.asarray(image), np.asarray(hsv)], axis=2).astype(np.float32) / 255
    depth = np.zeros((size // 8, size // 8), np.float32)
    if frame.depth:
        depth = (
            np.asarray(Image.open(root / frame.depth).resize((size // 8,) * 2), np.float32) / 255
        )
    return six.transpose(2, 0, 1), depth


def naive_batch(root, frames, size: int):
    samples = [naive_sample(root, f, size) for f in frames]
    images = torch.from_numpy(np.stack([s[0] for s in samples]))
    depths = torch.from_numpy(np.stack([s[1] for s in samples]))[:, None]
    labels = torch.tensor([float(f.label) for f in frames])
    return images, depths, labels


def naive_features(F, x6):
    x1 = F.block1(F.stem(x6))
    x2 = F.block2(x1)
    x3 = F.block3(x2)
    pooled = [nnf.adaptive_avg_pool2d(x, x3.shape[-2:]) for x in (x1, x2)]
    return x3, torch.cat([*pooled, x3], dim=1)


def naive_meta_learner(weights: OrderedDict, x):
    w = iter(weights.values())
    for pool in ("max", "max", "avg"):
        x = nnf.conv2d(x, next(w), next(w), padding=1)
        x = nnf.relu(nnf.batch_norm(x, None, None, next(w), next(w), training=True))
        x = nnf.max_pool2d(x, 2) if pool == "max" else x.mean(dim=(2, 3))
    return (x @ next(w).t() + next(w)).squeeze(1)


SPLITS = np.random.default_rng(0)
# The released code's network and precision: fp32, the plain scaled widths (no SIMD rounding),
# contiguous memory; whatever the preset sets for ours.
RELEASED_STYLE = ['train.precision="fp32"', "model.channel_multiple=1", "model.channels_last=false"]


def naive_step(method, batches, alpha=1e-3, w_dep=10.0):
    F, D, M = method.feature_extractor, method.depth_estimator, method.meta_learner
    method.optimizer.zero_grad()
    t = int(SPLITS.integers(len(batches)))
    feats = [naive_features(F, b[0]) for b in batches]
    theta = OrderedDict((n, p.clone()) for n, p in M.named_parameters())  # cloned state dict
    bce, mse = nnf.binary_cross_entropy_with_logits, nnf.mse_loss
    total, test_cls = 0.0, 0.0
    for i in (i for i in range(len(batches)) if i != t):
        cls = bce(naive_meta_learner(theta, feats[i][0]), batches[i][2])
        grads = torch.autograd.grad(cls, list(theta.values()), create_graph=True)
        fast = OrderedDict(
            (n, p - alpha * g) for (n, p), g in zip(theta.items(), grads, strict=True)
        )
        total = total + cls + w_dep * mse(D(feats[i][1]), batches[i][1])
        test_cls = test_cls + bce(naive_meta_learner(fast, feats[t][0]), batches[t][2])
    loss = total + test_cls + w_dep * mse(D(feats[t][1]), batches[t][1])
    loss.backward()
    method.optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="", help="prepared store (default: simulated domains)")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--protocol", default="sim_OCI_M")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    config = resolve_config(
        args.preset,
        [f'data.store="{args.store}"', 'method="rfm"', f'data.protocol="{args.protocol}"'],
    )
    store = open_store(config.data.store, config.model.input_size)
    frames = protocol_frames(store, get_protocol(config.data.protocol)).train
    size, k = config.model.input_size, config.train.k
    ours = build_method(config)
    naive = build_method(resolve_config(args.preset, RELEASED_STYLE)).train()
    sources = SourceBatches(frames, FrameReader(store.root, size), k, seed=0)
    draws = SourceBatches(frames, FrameReader(store.root, size), k, seed=0).samplers
    times = {"naive": [], "ours": []}
    for step in range(args.steps + 1):
        started = time.perf_counter()
        naive_step(naive, [naive_batch(store.root, s.draw(), size) for s in draws])
        naive_time = time.perf_counter() - started
        started = time.perf_counter()
        ours.update([b.to("cpu") for b in sources.next()])
        if step:  # the first step of each warms caches up
            times["naive"].append(naive_time)
            times["ours"].append(time.perf_counter() - started)
    images = len(frames) * 2 * k
    print(
        f"RFM end to end, preset {args.preset} ({size} px, width {config.model.width}), "
        f"{images} images per step, {torch.get_num_threads()} threads, median of {args.steps}"
    )
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:6} {median * 1000:8.1f} ms/step  {images / median:7.1f} images/s")
    ratio = statistics.median(times["naive"]) / statistics.median(times["ours"])
    print(f"  speed-up ours/naive: {ratio:.2f}x")


if __name__ == "__main__":
    main()
