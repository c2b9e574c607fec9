"""``dexstudio bench worker``: playhead latency while a long background fill runs.

With a background fill of ``--frames`` frames running, the benchmark moves the playhead
to a frame that is not rendered yet, ``--requests`` times at random moments, and measures
the time from ``set_playhead`` to that frame's ``FrameReady``. It prints the median and
p90 latency next to the animator's own frame render time, so the target "served within
one frame render time + 50 ms" can be checked. The disk cache lives in a temporary folder
(nothing is left behind).

Animators: ``synthetic`` (a fixed per-frame cost; cancel-aware, ``--busy`` burns a CPU
core instead of sleeping) or ``warp`` (the real warp animator on the bundled portrait).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from dexstudio.core.commands import add_take
from dexstudio.core.document import Document
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.take import Take
from dexstudio.core.timebase import FrameRange
from dexstudio.render.base import Animator, FrameMotion, SourceOptions
from dexstudio.worker.events import FrameReady
from dexstudio.worker.request import RequestBuilder, SourceImage
from dexstudio.worker.worker import RenderWorker, WorkerConfig
from dexstudio.core.resources import resource_path

_SAMPLE = resource_path("samples", "astronaut.png")


@dataclass(frozen=True)
class WorkerBenchResult:
    """Seconds. ``render_median``: the animator alone on the calling thread;
    ``fill_interval_median``: time per rendered frame inside the worker during the fill (the
    frame render time under the benchmark's own conditions); ``within_budget``: requests
    served within ``fill_interval_median`` + 50 ms."""

    render_median: float
    fill_interval_median: float
    latency_median: float
    latency_p90: float
    latency_max: float
    within_budget: int
    requests: int
    fill_frames_done: int


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _animator(name: str, frame_ms: float, busy: bool, size: int) -> Callable[[str], Animator]:
    if name == "synthetic":
        from dexstudio.worker.testing import SyntheticAnimator

        return lambda device: SyntheticAnimator(delay_s=frame_ms / 1000.0, size=size, busy=busy)
    if name == "warp":
        from dexstudio.render.warp import WarpAnimator, WarpSettings

        return lambda device: WarpAnimator(WarpSettings(device=device))
    raise ValueError(f"unknown animator {name!r}")


def _source_image(name: str) -> np.ndarray:
    if name == "warp":
        from dexstudio.io.image import load_image

        return load_image(_SAMPLE)
    return np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)


def run_worker_bench(animator: str = "synthetic", frames: int = 600, requests: int = 30,
                     frame_ms: float = 40.0, busy: bool = False, size: int = 512, seed: int = 0,
                     threads: int = 1, device: str = "cpu") -> WorkerBenchResult:
    """Run the benchmark (see the module docstring); returns the numbers."""
    factory = _animator(animator, frame_ms, busy, size)
    image = _source_image(animator)
    opts = SourceOptions(crop_size=size)

    # the animator's own per-frame time, measured directly on this thread
    probe = factory("cpu")
    try:
        state = probe.prepare(image, opts)
        doc = Document()
        add_take(doc, Take.from_motion(synthetic_track(frames, seed=seed), "bench")).redo(doc)
        ev = doc.evaluate(FrameRange(0, frames))
        times = []
        for i in range(15):
            t0 = time.perf_counter()
            probe.render(state, FrameMotion.from_evaluated(ev, i))
            times.append(time.perf_counter() - t0)
        render_median = statistics.median(times[2:])
    finally:
        probe.close()

    rng = random.Random(seed)
    ready_at: dict[int, float] = {}
    fresh: list[float] = []  # times of rendered (not cached) frames, for the in-worker frame time
    cond = threading.Condition()

    def on_frame(e: FrameReady) -> None:
        with cond:
            ready_at[e.frame] = time.perf_counter()
            if not e.from_cache:
                fresh.append(ready_at[e.frame])
            cond.notify_all()

    with tempfile.TemporaryDirectory(prefix="dexstudio-bench-worker-") as tmp:
        cfg = WorkerConfig(device=device, cpu_threads=threads, cache_dir=Path(tmp),
                           memory_cache_bytes=256 << 20, disk_cache_bytes=1 << 30)
        with RenderWorker(factory, cfg) as worker:
            worker.events.subscribe(FrameReady, on_frame)
            builder = RequestBuilder.from_identity(worker.animator_identity(timeout=None),
                                                   SourceImage.from_array(image, opts))
            reqs = builder.build(ev)
            worker.set_playhead(0, FrameRange(0, 8))
            worker.submit_range(reqs, window=FrameRange(0, 8))
            with cond:  # the fill is running (the source is prepared, frames come out)
                cond.wait_for(lambda: len(ready_at) >= 3, timeout=60)
            latencies: list[float] = []
            for _ in range(requests):
                time.sleep(rng.uniform(0.2, 1.2) * render_median)  # a random moment in a render
                with cond:
                    todo = [f for f in range(frames) if f not in ready_at]
                if not todo:
                    break
                target = rng.choice(todo)
                t0 = time.perf_counter()
                worker.set_playhead(target)
                with cond:
                    if not cond.wait_for(lambda: target in ready_at, timeout=30):
                        raise RuntimeError(f"frame {target} was not served within 30 s")
                    latencies.append(ready_at[target] - t0)
            done = len(ready_at)
            intervals = np.diff(np.asarray(fresh))
    frame_time = float(np.median(intervals)) if len(intervals) else render_median
    budget = frame_time + 0.050  # the frame time measured under the same conditions
    return WorkerBenchResult(render_median, frame_time,
                             statistics.median(latencies), _percentile(latencies, 90),
                             max(latencies), sum(lat <= budget for lat in latencies), len(latencies), done)


def run(args: argparse.Namespace) -> int:
    r = run_worker_bench(args.animator, args.frames, args.requests, args.frame_ms, args.busy, args.size,
                         args.seed, args.threads, args.device)
    ms = 1000.0
    print(f"bench worker ({args.animator}, {args.size}px crop, {args.threads} CPU thread(s)): "
          f"frame render {r.render_median * ms:.1f} ms (median, alone); "
          f"{r.fill_interval_median * ms:.1f} ms per frame inside the worker during the fill")
    print(f"  playhead latency during a background fill: median {r.latency_median * ms:.1f} ms, "
          f"p90 {r.latency_p90 * ms:.1f} ms, max {r.latency_max * ms:.1f} ms over {r.requests} requests")
    print(f"  within one frame render (in the worker) + 50 ms ({(r.fill_interval_median + 0.05) * ms:.1f} ms): "
          f"{r.within_budget}/{r.requests}; background frames done meanwhile: {r.fill_frames_done}")
    return 0


def register_bench(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("worker", help="render worker: playhead latency during a background fill")
    p.add_argument("--animator", choices=("synthetic", "warp"), default="synthetic")
    p.add_argument("--frames", type=int, default=600, help="length of the background fill")
    p.add_argument("--requests", type=int, default=30, help="playhead moves to measure")
    p.add_argument("--frame-ms", type=float, default=40.0, help="synthetic animator: ms per frame")
    p.add_argument("--busy", action="store_true", help="synthetic animator: burn CPU instead of sleeping")
    p.add_argument("--size", type=int, default=512, help="crop size")
    p.add_argument("--threads", type=int, default=1, help="worker CPU threads")
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)
