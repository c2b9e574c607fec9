"""``dexstudio bench render``: warp-animator speed and memory.

Prints ms/frame of ``render`` (median) at 256/512/1024 crops on the bundled sample with a
moving performance, the end-to-end ``animate`` time and fps on a driving clip (motion
extraction included unless it is cached; both are reported), and peak RSS.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from dexstudio.commands.animate import AnimateOptions, render_process_note, run_animate
from dexstudio.core.process_map import peak_rss_mb
from dexstudio.core.resources import resource_path

SAMPLES = resource_path("samples")


def bench_render_sizes(sizes: tuple[int, ...] = (256, 512, 1024), frames: int = 60) -> dict[int, float]:
    """Median ms/frame of ``WarpAnimator.render`` per crop size."""
    from dexstudio.commands.demo import demo_performance
    from dexstudio.io.image import load_image
    from dexstudio.render.base import FrameMotion, SourceOptions
    from dexstudio.render.warp import WarpAnimator

    image = load_image(SAMPLES / "astronaut.png")
    animator = WarpAnimator()
    out = {}
    try:
        for s in sizes:
            state = animator.prepare(image, SourceOptions(crop_size=s))
            ev = demo_performance(state.own_motion, 120)
            motions = [FrameMotion.from_evaluated(ev, i % len(ev)) for i in range(frames + 5)]
            for m in motions[:5]:  # warm-up
                animator.render(state, m)
            ts = []
            for m in motions[5:]:
                t = time.perf_counter()
                animator.render(state, m)
                ts.append(time.perf_counter() - t)
            out[s] = 1000.0 * float(np.median(ts))
    finally:
        animator.close()
    return out


def run(args: argparse.Namespace) -> int:
    sizes = tuple(int(s) for s in args.sizes.split(","))
    ms = bench_render_sizes(sizes, args.frames)
    for s, v in ms.items():
        print(f"render {s}x{s}: {v:.2f} ms/frame (median of {args.frames})")
    driving = Path(args.driving) if args.driving else SAMPLES / "astronaut_driving.mp4"
    source = Path(args.source) if args.source else SAMPLES / "astronaut.png"
    with tempfile.TemporaryDirectory(prefix="dexstudio-bench-") as d:
        for attempt in ("run 1", "run 2"):
            s = run_animate(source, driving, Path(d) / "bench.mp4", AnimateOptions(size=args.size))
            print(f"animate {driving.name} ({attempt}): {s.frames} frames in {s.seconds:.2f} s = "
                  f"{s.fps:.1f} fps end to end (motion {s.extract_seconds:.2f} s "
                  f"{'from cache' if s.motion_cache_hit else 'extracted'}, render+export {s.render_seconds:.2f} s"
                  f"{', with audio' if s.has_audio else ''})")
    print(f"peak RSS: {peak_rss_mb():.0f} MB{render_process_note(peak_rss_mb(children=True))}")
    return 0


def register_bench(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("render", help="warp animator: ms/frame at 256/512/1024, animate fps, peak RSS")
    p.add_argument("--sizes", default="256,512,1024")
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--driving", default=None, help="clip for the end-to-end run (default: the bundled sample)")
    p.add_argument("--source", default=None)
    p.add_argument("--size", type=int, default=512)
    p.set_defaults(func=run)
