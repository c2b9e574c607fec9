"""``dexstudio bench timeline``: evaluation, edit, save/load speed and memory of a big project.

The project: every channel (74 = 6 pose + 52 blendshapes + 16 detail) over 18,000
frames (10 minutes at 30 fps), two takes cross-faded over 600 frames, 20 keys on
every channel (mixed interpolations, override/offset/blend modes), retarget
(gain, offset, reference frame, clamp) on every channel, and smoothing on every
channel (Gaussian, Butterworth, One-Euro).

Reported:

* ``evaluate (warm)``: a full-range ``Document.evaluate`` with the caches that do not
  change per evaluate in place (smoothed performance, baked key curves, compiled
  per-channel vectors) -- what scrubbing/rendering pays; median of several runs.
* ``evaluate (cold)``: the same after dropping every cache (smoothing included).
* ``single frame``: median ``Document.evaluate(frame)`` at random frames.
* ``key edit``: one key moved on one channel: command + exact dependency range +
  change event, then a full-range evaluate.
* project save / load and file size; peak traced memory (tracemalloc) of the whole
  run and the process peak RSS; memory of a 1,000-step undo history.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np

from dexstudio.core import commands as C
from dexstudio.core.channel_state import CombineMode, FilterKind, Retarget, RetargetMode, Smoothing
from dexstudio.core.channels import ALL_CHANNEL_IDS, CHANNEL_SPECS
from dexstudio.core.document import Document
from dexstudio.core.keys import Interp, Key, KeyCurve
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.take import PerformanceSource, Take
from dexstudio.core.timebase import FrameRange
from dexstudio.core.undo import UndoStack
from dexstudio.io.project_file import load_project, save_project


def build_project(n_frames: int = 18000, n_keys: int = 20, seed: int = 0) -> tuple[Document, UndoStack]:
    """The benchmark project (see the module docstring)."""
    doc = Document()
    stack = UndoStack(doc)
    stack.push(C.add_take(doc, Take.from_motion(synthetic_track(n_frames, seed=seed), "a")))
    stack.push(C.add_take(doc, Take.from_motion(synthetic_track(n_frames, seed=seed + 1), "b"), activate=False))
    mid = n_frames // 2
    stack.push(C.set_performance(doc, PerformanceSource.crossfade("a", "b", FrameRange(mid, mid + 600))))
    rng = np.random.default_rng(seed)
    interps = list(Interp)
    filters = [Smoothing(FilterKind.GAUSSIAN, 0.8, sigma=2.0), Smoothing(FilterKind.BUTTERWORTH, 1.0, cutoff_hz=5.0),
               Smoothing(FilterKind.ONE_EURO, 1.0, min_cutoff=1.5, beta=0.05)]
    changes = []
    for i, cid in enumerate(ALL_CHANNEL_IDS):
        sp = CHANNEL_SPECS[cid]
        frames = np.sort(rng.choice(n_frames, n_keys, replace=False))
        keys = KeyCurve(tuple(Key(int(f), float(rng.uniform(sp.soft_min, sp.soft_max) * 0.3), interps[j % 6])
                              for j, f in enumerate(frames)))
        before = doc.state.channel(cid)
        after = replace(before, keys=keys, combine=(CombineMode.OFFSET, CombineMode.BLEND, CombineMode.OVERRIDE)[i % 3],
                        blend_weight=KeyCurve((Key(0, 0.2, Interp.LINEAR), Key(n_frames - 1, 0.8))),
                        retarget=Retarget(RetargetMode.RELATIVE if i % 2 else RetargetMode.ABSOLUTE,
                                          0.8, 0.01, 10, sp.hard_min, sp.hard_max),
                        smoothing=filters[i % 3])
        changes.append((i, before, after))
    stack.push(C.EditChannels("bench setup", changes))  # one edit: smoothing runs once per column
    stack.clear()
    return doc, stack


def _time(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def run_bench(n_frames: int = 18000, repeat: int = 7) -> int:
    t = time.perf_counter()
    doc, stack = build_project(n_frames)
    build_s = time.perf_counter() - t
    window = doc.state.settings.frame_range
    n_ch = len(ALL_CHANNEL_IDS)
    print(f"project: {n_ch} channels (all) x {n_frames} frames, 2 takes cross-faded, 20 keys + retarget + "
          f"smoothing on every channel (built in {build_s:.2f} s)")

    def cold() -> None:
        doc.evaluator.clear()
        doc.evaluate(window)

    cold_s = _time(cold, 2)
    doc.evaluate(window)
    warm_s = _time(lambda: doc.evaluate(window), repeat)
    rng = np.random.default_rng(1)
    frames = rng.integers(0, n_frames, 5000)
    t = time.perf_counter()
    for f in frames:
        doc.evaluate(int(f))
    single_s = (time.perf_counter() - t) / len(frames)
    print(f"evaluate {n_ch}ch x {n_frames} (warm): {warm_s * 1e3:8.2f} ms   (target <= 50 ms)")
    print(f"evaluate {n_ch}ch x {n_frames} (cold, all caches dropped incl. smoothing): {cold_s * 1e3:8.2f} ms")
    print(f"single-frame evaluate (mean of {len(frames)}): {single_s * 1e3:8.3f} ms   (target <= 0.2 ms)")

    cid = "expr.jawOpen"
    key_frame = [doc.state.channel(cid).keys.frames[5]]

    def edit() -> None:
        nf = key_frame[0] + 1
        stack.push(C.move_key(doc, cid, key_frame[0], nf, merge_key="bench-drag"))
        key_frame[0] = nf
        doc.evaluate(window)

    edit_s = _time(edit, repeat)
    print(f"key drag step (command + exact dependency range + full evaluate): {edit_s * 1e3:8.2f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "bench.dexproj"
        save_s = _time(lambda: save_project(doc, p), 3)
        load_s = _time(lambda: load_project(p), 3)
        size = p.stat().st_size
    print(f"project save: {save_s * 1e3:8.1f} ms   load: {load_s * 1e3:8.1f} ms   "
          f"({size / 1e6:.1f} MB, 2 takes; target <= 500 ms each)")

    tracemalloc.start()
    doc.evaluate(window)
    eval_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    for i in range(1000):
        stack.push(C.add_key(doc, ALL_CHANNEL_IDS[i % n_ch], (i * 37) % n_frames, 0.1))
    hist = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak traced memory of one full evaluate: {eval_peak / 1e6:6.1f} MB")
    print(f"1,000 further undo steps (history + caches they touched): {hist / 1e6:6.1f} MB")
    print(f"process peak RSS: {rss:6.1f} MB")
    return 0


def register_bench(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("timeline", help="timeline evaluate / edit / save-load speed and memory")
    p.add_argument("--frames", type=int, default=18000, help="project length in frames (default 18000)")
    p.add_argument("--repeat", type=int, default=7, help="runs per timing (median)")
    p.set_defaults(func=lambda a: run_bench(a.frames, a.repeat))
