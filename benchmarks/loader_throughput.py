"""Loader throughput (frames/s) next to the training step's consumption rate, in one run.

    python benchmarks/loader_throughput.py --preset cpu --steps 20

Cold: frames decoded from the store's PNG files; warm: served from the in-memory cache. The
step rate is RFM's update on the same batches; the loader keeps up when its rate is higher.

While the step runs: a thread decodes cold frames flat out (more than training ever asks)
while RFM steps run in the main thread, both sharing the machine's cores; it prints the
loader's rate then and how much the step slowed. End to end, interleaved step by step: the
step alone, the step fed by SourceBatches (the next step's frames decoded in its thread, as
training does) and the step fed by decoding in the main thread first (no prefetch), all cold.
"""

import argparse
import statistics
import threading
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


def loader_while_stepping(make_sources, method, batches, steps: int) -> tuple[float, float]:
    """Frames/s of a cold loader run flat out in a thread, and the step's seconds meanwhile."""
    stop, decoded = threading.Event(), [0]

    def load():
        sources = make_sources()
        while not stop.is_set():
            decoded[0] += sum(len(b.label) for b in sources.next())

    thread = threading.Thread(target=load)
    started = time.perf_counter()
    thread.start()
    for _ in range(steps):
        method.update(batches)
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join()
    return decoded[0] / elapsed, elapsed / steps


def end_to_end(make_sources, method, batches, steps: int) -> dict[str, float]:
    """Median seconds per step: alone, prefetched, and decoded first; interleaved."""
    prefetched, synchronous = make_sources(), make_sources()
    feeds = {
        "step alone": lambda: batches,
        "prefetched (as trained)": lambda: [b.to("cpu") for b in prefetched.next()],
        "decoded first": lambda: [
            synchronous.reader.batch(s.draw(), s.domain) for s in synchronous.samplers
        ],
    }
    times = {name: [] for name in feeds}
    for step in range(steps + 1):
        for name, feed in feeds.items():
            started = time.perf_counter()
            method.update(feed())
            if step:
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(t) for name, t in times.items()}


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
    per_step = len(frames) * 2 * k
    print(f"  RFM step consumes:         {per_step / step:9.0f} frames/s")

    def make_sources():
        return SourceBatches(frames, FrameReader(store.root, size, cache_bytes=0), k, seed=5)

    loaded, slowed = loader_while_stepping(make_sources, method, batches, args.steps)
    print(f"  while the step runs, the loader, cold: {loaded:9.0f} frames/s")
    print(f"    = {loaded / (per_step / slowed):.1f}x what the step consumes meanwhile")
    print(f"    step {slowed * 1000:.1f} ms against {step * 1000:.1f} ms alone")
    print(f"  end to end, cold, median of {args.steps}:")
    for name, seconds in end_to_end(make_sources, method, batches, args.steps).items():
        print(f"    {name:24} {seconds * 1000:7.1f} ms/step")


if __name__ == "__main__":
    main()
