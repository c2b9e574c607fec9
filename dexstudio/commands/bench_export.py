"""``dexstudio bench export``: MP4 export throughput (frames/s) by frame size and x264 preset.

Frames are the bundled sample portrait scaled to the size and slowly rotated/zoomed
(so the encoder sees motion like a real render); only the exporter's own time
(``write`` + ``close``, colour conversion, encoding, muxing, audio) is counted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from dexstudio.core.timebase import FrameRange, FrameRate
from dexstudio.io.export import X264_PRESETS, ExportSettings, VideoExporter
from dexstudio.io.image import load_image
from dexstudio.core.resources import resource_path

_SAMPLES = resource_path("samples")


def _frames(base: np.ndarray, size: int, n: int):
    img = cv2.resize(base, (size, size), interpolation=cv2.INTER_AREA if size < base.shape[0] else cv2.INTER_CUBIC)
    c = (size / 2, size / 2)
    for i in range(n):
        m = cv2.getRotationMatrix2D(c, 4 * np.sin(i / 9), 1.0 + 0.03 * np.sin(i / 13))
        m[:, 2] += (3 * np.sin(i / 7), 2 * np.cos(i / 11))
        yield cv2.warpAffine(img, m, (size, size), borderMode=cv2.BORDER_REFLECT)


def bench_export(size: int, preset: str, crf: int = 18, frames: int = 90,
                 audio: bool = True) -> tuple[float, float, int]:
    """Export ``frames`` frames of ``size``x``size``.

    Returns (frames per second of wall time, CPU ms per frame over all threads, file bytes).
    CPU time does not depend on what else runs on the machine; wall time does.
    """
    base = load_image(_SAMPLES / "astronaut.png")
    driving = _SAMPLES / "astronaut_driving.mp4"
    settings = ExportSettings(fps=FrameRate(30), crf=crf, preset=preset, frame_range=FrameRange(0, frames),
                              audio_source=driving if audio else None)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.mp4"
        spent = cpu = 0.0
        ex = VideoExporter(out, settings)
        with ex:
            for f in _frames(base, size, frames):
                t, c = time.perf_counter(), time.process_time()
                ex.write(f)
                spent += time.perf_counter() - t
                cpu += time.process_time() - c
            t, c = time.perf_counter(), time.process_time()
        spent += time.perf_counter() - t  # close(): flush the encoder, finish audio, rename
        cpu += time.process_time() - c
        return frames / spent, 1000 * cpu / frames, out.stat().st_size


def register_bench(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("export", help="MP4 export frames/s by size and x264 preset")
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    p.add_argument("--presets", nargs="+", default=["veryfast", "medium"], choices=X264_PRESETS)
    p.add_argument("--crf", type=int, default=18)
    p.add_argument("--frames", type=int, default=90, help="frames per run (the sample clip's audio covers 90)")
    p.add_argument("--no-audio", action="store_true", help="export without the sample clip's audio")
    p.add_argument("--repeat", type=int, default=3, help="runs per setting; the best is reported "
                                                          "(the machine is shared: the best run is the least disturbed)")

    def run(args: argparse.Namespace) -> int:
        print(f"{'size':>6} {'preset':>10} {'crf':>4} {'frames/s':>9} {'cpu ms/frame':>13} {'kB/frame':>9}")
        for size in args.sizes:
            for preset in args.presets:
                runs = [bench_export(size, preset, args.crf, args.frames, not args.no_audio)
                        for _ in range(max(1, args.repeat))]
                fps = max(r[0] for r in runs)
                cpu = min(r[1] for r in runs)
                nbytes = runs[0][2]
                print(f"{size:>6} {preset:>10} {args.crf:>4} {fps:9.1f} {cpu:13.1f} "
                      f"{nbytes / args.frames / 1024:9.1f}", flush=True)
        return 0

    p.set_defaults(func=run)
