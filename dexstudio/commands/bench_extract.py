"""``dexstudio bench extract [VIDEO] [--loop-minutes M]``: motion extraction speed and memory."""

from __future__ import annotations

import argparse
import contextlib
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from dexstudio.commands.extract import add_face_arguments, settings_from_args
from dexstudio.io.video_reader import iter_frames_prefetched, probe
from dexstudio.motion.extract import track_frames
from dexstudio.motion.lanes import auto_lanes
from dexstudio.motion.tracker import MediaPipeTracker
from dexstudio.core.process_map import peak_rss_mb
from dexstudio.core.resources import resource_path

SAMPLE = resource_path("samples", "astronaut_driving.mp4")


class _Timed:
    """Wraps the frame iterator, timing each frame's full turn (decode wait + track)."""

    def __init__(self, frames):
        self.frames = frames
        self.times: list[float] = []

    def __iter__(self):
        last = time.perf_counter()
        for item in self.frames:
            yield item
            now = time.perf_counter()
            self.times.append(now - last)
            last = now


def _looped(path: Path, repeats: int):
    k = 0
    for _ in range(repeats):
        for _, rgb in iter_frames_prefetched(path):
            yield k, rgb
            k += 1


def _run(args: argparse.Namespace) -> int:
    video = Path(args.video) if args.video else SAMPLE
    info = probe(video)
    repeats = 1
    if args.loop_minutes:
        clip_s = info.n_frames / info.rate.fps
        repeats = max(1, math.ceil(args.loop_minutes * 60 / clip_s))
    settings = settings_from_args(args)
    if args.no_landmarks:
        from dataclasses import replace

        settings = replace(settings, keep_landmarks_2d=False)
    rss0 = peak_rss_mb()
    n_lanes = args.lanes or auto_lanes()
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory(prefix="dexstudio-bench-") as tmp:
        trackers = [stack.enter_context(MediaPipeTracker(settings.model_path, settings.max_faces,
                                                         settings.min_confidence)) for _ in range(n_lanes)]
        blank = np.zeros((info.height, info.width, 3), np.uint8)
        for tracker in trackers:  # warm-up: load both models outside the timing
            tracker.detect_image(blank)
            tracker.track_frame(blank, 0)
        timed = _Timed(_looped(video, repeats) if repeats > 1 else iter_frames_prefetched(video))
        t0 = time.perf_counter()
        track, report = track_frames(
            ((i, rgb) for i, rgb in timed), trackers, settings, info.rate, (info.width, info.height),
            workdir=Path(tmp))
        wall = time.perf_counter() - t0
    n = report.n_frames
    ms = np.array(timed.times) * 1000
    print(f"video: {video} ({info.width}x{info.height}, {info.rate.fps:g} fps"
          f"{f', looped x{repeats}' if repeats > 1 else ''})")
    print(f"frames: {n} ({n / info.rate.fps / 60:.1f} min of video), tracker lanes: {n_lanes}")
    print(f"fps (decode + track + pose + expression fit): {n / wall:.1f}")
    print(f"ms/frame median (decode + track + pose; throughput over all lanes): "
          f"{np.median(ms):.2f}  p95: {np.percentile(ms, 95):.2f}")
    print(f"face lost: {report.n_lost}")
    print(f"expression reconstruction error: max {100 * report.recon_max_rel:.2f}% of face size")
    out_mb = sum(a.nbytes for a in (track.euler, track.quaternion, track.translation, track.scale,
                                   track.blendshapes, track.detail, track.valid))
    lm_mb = track.landmarks_2d.nbytes if track.landmarks_2d is not None else 0
    print(f"output arrays: {out_mb / 2**20:.1f} MiB in memory"
          f" + {lm_mb / 2**20:.1f} MiB overlay landmarks in a file (read-only memmap)")
    print(f"peak RSS: {peak_rss_mb():.0f} MiB (at start {rss0:.0f} MiB)")
    return 0


def register_bench(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("extract", help="motion extraction fps, ms/frame and peak RSS")
    p.add_argument("video", nargs="?", default=None, help="a driving video (default: the bundled sample)")
    p.add_argument("--loop-minutes", type=float, default=0.0, metavar="M",
                   help="feed the clip repeatedly until M minutes of video were tracked "
                        "(shows that memory does not grow with length)")
    p.add_argument("--lanes", type=int, default=0, metavar="N",
                   help="trackers in parallel threads (default: one per core, at most 4)")
    p.add_argument("--no-landmarks", action="store_true",
                   help="do not write the (F, 478, 2) overlay landmarks (3.7 KiB per frame; "
                        "streamed to a file and memory-mapped, not kept in memory)")
    add_face_arguments(p)
    p.set_defaults(func=_run)
