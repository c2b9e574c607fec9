"""``dexstudio demo``: the bundled sample portrait through a short hand-keyed
performance (a head turn, a smile, a blink, a spoken-looking jaw), rendered by the warp
animator to ``out/demo.mp4`` plus a poster PNG. Uses only what ships in the repo."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from dexstudio.core.channels import ARKIT_NAMES, N_BLENDSHAPES, N_DETAIL
from dexstudio.core.evaluated import EvaluatedMotion
from dexstudio.core.rotation import euler_to_matrix
from dexstudio.core.timebase import FrameRate
from dexstudio.render.base import FrameMotion
from dexstudio.core.resources import resource_path

SAMPLE = resource_path("samples", "astronaut.png")


def _keyed(frames: np.ndarray, keys: list[tuple[float, float]]) -> np.ndarray:
    """Smooth (smoothstep) interpolation of (frame, value) keys at ``frames``."""
    kf = np.array([k[0] for k in keys], np.float64)
    kv = np.array([k[1] for k in keys], np.float64)
    j = np.clip(np.searchsorted(kf, frames, side="right") - 1, 0, len(kf) - 2)
    t = np.clip((frames - kf[j]) / np.maximum(kf[j + 1] - kf[j], 1e-9), 0, 1)
    t = t * t * (3 - 2 * t)
    return kv[j] + (kv[j + 1] - kv[j]) * t


def demo_performance(own: FrameMotion, n_frames: int = 120) -> EvaluatedMotion:
    """The hand-keyed demo performance, relative to the source's own pose/expression.

    0-1 s: head turns right then left; 1-2 s: a big smile and a blink; 2-4 s: talking
    (jaw pattern of syllables) while nodding slightly.
    """
    f = np.arange(n_frames, dtype=np.float64)
    yaw = own.euler[0] + _keyed(f, [(0, 0), (15, 18), (35, -16), (50, 0), (120, 0)])
    pitch = own.euler[1] + _keyed(f, [(0, 0), (60, 0), (75, -4), (90, 3), (105, -2), (120, 0)])
    roll = own.euler[2] + _keyed(f, [(0, 0), (20, 5), (40, -5), (55, 0), (120, 0)])
    B = np.tile(np.asarray(own.blendshapes, np.float64), (n_frames, 1))

    def setk(name: str, keys: list[tuple[float, float]]) -> None:
        i = ARKIT_NAMES.index(name)
        B[:, i] = np.clip(B[:, i] + _keyed(f, keys), 0, 1)

    for side in ("Left", "Right"):
        setk(f"mouthSmile{side}", [(0, 0), (45, 0), (55, 0.5), (70, 0.5), (78, 0), (120, 0)])
        setk(f"eyeBlink{side}", [(0, 0), (62, 0), (65, 1), (68, 1), (72, 0), (120, 0)])
        setk(f"eyeSquint{side}", [(0, 0), (45, 0), (55, 0.3), (70, 0.3), (78, 0), (120, 0)])
    syll = 0.5 * (1 - np.cos(2 * np.pi * np.clip(f - 80, 0, None) / 7.0))
    env = _keyed(f, [(0, 0), (80, 0), (84, 1), (112, 1), (118, 0), (120, 0)])
    jaw = np.clip(syll * env * (0.45 + 0.25 * np.sin(f * 0.9)), 0, 1)
    B[:, ARKIT_NAMES.index("jawOpen")] = np.clip(B[:, ARKIT_NAMES.index("jawOpen")] + jaw, 0, 1)
    B[:, ARKIT_NAMES.index("mouthFunnel")] = np.clip(
        B[:, ARKIT_NAMES.index("mouthFunnel")] + 0.3 * env * (np.sin(f * 0.5) > 0.6), 0, 1)
    euler = np.stack([yaw, pitch, roll], 1)
    return EvaluatedMotion(
        frames=f.astype(np.int64), euler=euler, rotation=euler_to_matrix(yaw, pitch, roll),
        translation=np.tile(np.asarray(own.translation, np.float64), (n_frames, 1)),
        scale=np.full(n_frames, own.scale), blendshapes=B,
        detail=np.zeros((n_frames, N_DETAIL)), detail_weight=np.zeros(n_frames))


def run(args: argparse.Namespace) -> int:
    from dexstudio.core.timebase import FrameRange
    from dexstudio.io.export import ExportSettings, VideoExporter
    from dexstudio.io.image import load_image, save_image
    from dexstudio.render.warp import WarpAnimator

    t0 = time.perf_counter()
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / "demo.mp4"
    poster = out_dir / "demo_poster.png"
    image = load_image(SAMPLE)
    animator = WarpAnimator()
    try:
        state = animator.prepare(image)
    finally:
        animator.close()
    ev = demo_performance(state.own_motion, args.frames)
    assert ev.blendshapes.shape[1] == N_BLENDSHAPES
    settings = ExportSettings(fps=FrameRate(30), frame_range=FrameRange(0, len(ev)))
    poster_frame = min(len(ev) - 1, 58)  # the smile (the last frame of a shorter demo)
    with VideoExporter(video, settings) as ex:
        for i in range(len(ev)):
            frame = animator.render(state, FrameMotion.from_evaluated(ev, i))
            ex.write(frame)
            if i == poster_frame:
                save_image(poster, frame)
    dt = time.perf_counter() - t0
    print(f"demo: {len(ev)} frames rendered in {dt:.1f} s -> {video.resolve()} (poster: {poster.resolve()})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="render the bundled sample through a hand-keyed performance")
    p.add_argument("-o", "--output-dir", default="out", help="folder for demo.mp4 and demo_poster.png")
    p.add_argument("--frames", type=int, default=120, help="length in frames at 30 fps (default 120)")
    p.set_defaults(func=run)
