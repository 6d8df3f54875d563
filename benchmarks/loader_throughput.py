"""Loader throughput (frames/s) next to the training step's consumption rate, in one run.

    python benchmarks/loader_throughput.py --preset cpu --steps 20

Cold: frames decoded from the store's PNG files; warm: served from the in-memory cache. The
step rate is RFM's update on the same batches; the loader keeps up when its rate is higher.
"""

import argparse
import time

from metafas.data.loader import FrameReader, SourceBatches, protocol_frames
from metafas.data.protocols import get_protocol
from metafas.data.simulated import open_store
from metafas.training.config import resolve_config
from metafas.training.runs import build_method


def frames_per_second(sources: SourceBatches, steps: int) -> float:
    started = time.perf_counter()
    frames = sum(len(b.label) for _ in range(steps) for b in sources.next())
    return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    config = resolve_config(args.preset, [f'data.store="{args.store}"'])
    size, k = config.model.input_size, config.train.k
    store = open_store(config.data.store, size)
    frames = protocol_frames(store, get_protocol(config.data.protocol)).train
    reader = FrameReader(store.root, size, cache_bytes=0)
    cold = frames_per_second(SourceBatches(frames, reader, k, seed=1), args.steps)
    reader = FrameReader(store.root, size)
    frames_per_second(SourceBatches(frames, reader, k, seed=2), 200)  # fill the cache
    warm = frames_per_second(SourceBatches(frames, reader, k, seed=3), args.steps)
    method, sources = build_method(config), SourceBatches(frames, reader, k, seed=4)
    batches = [b.to("cpu") for b in sources.next()]
    started = time.perf_counter()
    for _ in range(args.steps):
        method.update(batches)
    step = (time.perf_counter() - started) / args.steps
    print(f"preset {args.preset} ({size} px), {len(frames)} domains x {2 * k} frames per step")
    print(f"  loader, cold (PNG decode): {cold:9.0f} frames/s")
    print(f"  loader, warm (cache):      {warm:9.0f} frames/s")
    print(f"  RFM step consumes:         {len(frames) * 2 * k / step:9.0f} frames/s")


if __name__ == "__main__":
    main()
