"""``dexstudio eval``: animate, re-track the result with the app's tracker, and score it.

Metrics (means over frames unless noted; the do-nothing baseline = the source frame
repeated, scored the same way):

* ``psnr`` / ``ssim`` (self-reenactment only: source = the driving clip's frame 0): the
  result crop against the driving frame cropped by the same window.
* ``kp``: mean 2D landmark distance between the re-tracked result and the target, in %
  of the face size (target = the driving frame's landmarks in self-reenactment, else the
  animator's intended target points).
* ``expr``: mean absolute blendshape difference between the re-tracked result and the
  evaluated target blendshapes.
* ``pose``: geodesic angle in degrees between the re-tracked head rotation and the target.
* frozen drift: for ``--freeze pose``, the largest angle (deg) between the re-tracked pose and
  the source's own on any frame; for frozen expression channels, the largest (over frames)
  mean absolute blendshape difference from the source's own, and the largest single one.
  "The source's own" is what the same re-tracker measures on the source crop, so tracker
  differences between a full image and a crop do not count as drift.
* tracker floor (with ``--freeze pose``): the largest and mean angle the re-tracker reads
  between the source crop and shifted / scaled copies of it (:mod:`dexstudio.motion.pose_floor`),
  i.e. how precisely the frozen pose drift can be read at all on this portrait.
* rendered geometry's drift (with ``--freeze pose``): the largest angle between the pose of
  the points each frame was warped to and the source's own pose fit: the renderer's part
  of the contract, with no re-tracker in between.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from dexstudio.commands._progress import TextProgressBar
from dexstudio.commands.animate import (
    MotionOptions,
    add_motion_arguments,
    check_reference_frame,
    motion_options,
    track_to_motion,
)
from dexstudio.core.channels import ALL_CHANNEL_IDS, EXPR_CHANNEL_IDS, POSE_CHANNEL_IDS
from dexstudio.core.errors import DexStudioError
from dexstudio.core.progress import CancelToken, Progress, ProgressCallback
from dexstudio.core.rotation import euler_to_matrix, rotation_angle_deg
from dexstudio.motion.pose_floor import PoseFloor, pose_floor
from dexstudio.render.base import FrameMotion, SourceOptions


@dataclass(frozen=True)
class Scores:
    """Per-run means (see the module docstring); NaN where not applicable."""

    psnr: float
    ssim: float
    kp: float
    expr: float
    pose: float
    lost: int  # frames where the re-tracker found no face


@dataclass(frozen=True)
class EvalReport:
    """Result vs the do-nothing baseline, plus frozen-group drift."""

    clip: str
    frames: int
    self_reenactment: bool
    result: Scores
    baseline: Scores
    pose_drift_max_deg: float  # NaN unless pose is frozen
    pose_drift_mean_deg: float
    pose_floor: Optional[PoseFloor]  # the re-tracker's floor on the source (frozen pose only)
    geometry_pose_drift_max_deg: float  # NaN unless pose is frozen: the rendered target points' pose
    pose_error_mean_deg: float
    expr_drift_max_mean: float  # NaN unless expression channels are frozen
    expr_drift_max_abs: float
    per_frame_pose_drift: np.ndarray
    per_frame_expr_drift: np.ndarray


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    import cv2

    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64)
    C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_x = cv2.GaussianBlur(x, (11, 11), 1.5)
    mu_y = cv2.GaussianBlur(y, (11, 11), 1.5)
    sxx = cv2.GaussianBlur(x * x, (11, 11), 1.5) - mu_x ** 2
    syy = cv2.GaussianBlur(y * y, (11, 11), 1.5) - mu_y ** 2
    sxy = cv2.GaussianBlur(x * y, (11, 11), 1.5) - mu_x * mu_y
    m = ((2 * mu_x * mu_y + C1) * (2 * sxy + C2)) / ((mu_x ** 2 + mu_y ** 2 + C1) * (sxx + syy + C2))
    return float(m.mean())


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 99.0 if mse <= 1e-10 else 10.0 * np.log10(255.0 ** 2 / mse)


class _Acc:
    def __init__(self) -> None:
        self.psnr: list[float] = []
        self.ssim: list[float] = []
        self.kp: list[float] = []
        self.expr: list[float] = []
        self.pose: list[float] = []
        self.lost = 0

    def scores(self) -> Scores:
        def m(v: list[float]) -> float:
            return float(np.mean(v)) if v else float("nan")

        return Scores(m(self.psnr), m(self.ssim), m(self.kp), m(self.expr), m(self.pose), self.lost)


def evaluate(driving: Path, source: Optional[Path] = None, motion: MotionOptions = MotionOptions(),
             size: int = 512, max_frames: Optional[int] = None, progress: Optional[ProgressCallback] = None,
             cancel: Optional[CancelToken] = None, source_image: Optional[np.ndarray] = None) -> EvalReport:
    """Animate ``source`` (default: the driving clip's frame 0) and score it (module doc).
    ``source_image``: ``source``'s pixels when already loaded (one decode for many clips)."""
    from dexstudio.io.image import load_image
    from dexstudio.io.video_reader import iter_frames
    from dexstudio.motion.face_model import load_canonical_face
    from dexstudio.motion.extract import ExtractSettings, make_tracker, run_extraction
    from dexstudio.motion.pose import solve_pose
    from dexstudio.render.warp import WarpAnimator
    from dexstudio.render.warp.crop import extract_crop

    face = load_canonical_face()
    self_re = source is None
    if self_re:
        image = next(iter(iter_frames(driving, 0, 1)))[1]
    else:
        image = source_image if source_image is not None else load_image(source)
    animator = WarpAnimator()
    try:
        state = animator.prepare(image, SourceOptions(crop_size=size))
    finally:
        animator.close()
    track = run_extraction(driving, progress=progress, cancel=cancel).track
    check_reference_frame(motion, track.n_frames, driving)
    ev = track_to_motion(track, state.own_motion, motion)
    F = len(ev) if max_frames is None else min(len(ev), max_frames)
    box = state.payload.box
    fs = state.payload.face_size_px
    own = state.own_motion
    R_own = euler_to_matrix(*own.euler)
    own_bs = np.asarray(own.blendshapes)
    pose_frozen = all(c in motion.freeze for c in POSE_CHANNEL_IDS[:3])
    expr_frozen = [i for i, c in enumerate(EXPR_CHANNEL_IDS) if c in motion.freeze]
    res, base = _Acc(), _Acc()
    pose_drift, expr_drift, expr_abs, pose_err, geo_drift = [], [], [], [], []
    crop0 = state.payload.crop
    mid = "eval"
    # the app's tracker exactly as extraction configures it (a different configuration,
    # e.g. pure ROI tracking with max_faces=1, reads landmarks with different biases)
    with make_tracker(ExtractSettings()) as tr_res, make_tracker(ExtractSettings()) as tr_base:
        R_ref, ref_bs = R_own, own_bs
        drv_iter = iter_frames(driving, 0, F) if self_re else None
        for i in range(F):
            if cancel is not None:
                cancel.raise_if_cancelled()
            fm = FrameMotion.from_evaluated(ev, i, mid)
            frame = animator.render_frame(state, fm, track.expression_model)
            out = frame.image
            if pose_frozen:  # the renderer's own part: the pose of the points it warped to
                geo_drift.append(float(rotation_angle_deg(solve_pose(frame.target, face).rotation,
                                                          state.payload.pose.rotation)))
            R_t = ev.rotation[i]
            bs_t = ev.blendshapes[i]
            if self_re:
                _, drv = next(drv_iter)  # type: ignore[arg-type]
                gt = extract_crop(drv, box)
                res.psnr.append(_psnr(out, gt))
                res.ssim.append(_ssim(out, gt))
                base.psnr.append(_psnr(crop0, gt))
                base.ssim.append(_ssim(crop0, gt))
                kp_t = None
                if track.landmarks_2d is not None:
                    kp_t = box.to_crop(track.landmarks_2d[i][:468].astype(np.float64))
            else:
                kp_t = frame.target[:468, :2]
            # the do-nothing baseline through the same VIDEO-mode tracker, frame by frame:
            # it is also the per-frame reference of "the source's own" pose/expression
            base_obs = tr_base.track_frame(crop0, int(i * 34) + 1)
            if base_obs:
                base_fit = solve_pose(base_obs[0].landmarks, face)
                R_ref = base_fit.rotation
                ref_bs = base_obs[0].blendshapes
            obs = tr_res.track_frame(out, int(i * 34) + 1)
            if obs:
                lm = obs[0].landmarks
                fit = solve_pose(lm, face)
                if kp_t is not None:
                    res.kp.append(100.0 * float(np.linalg.norm(lm[:468, :2] - kp_t, axis=1).mean()) / fs)
                res.expr.append(float(np.abs(obs[0].blendshapes - bs_t).mean()))
                res.pose.append(float(rotation_angle_deg(fit.rotation, R_t)))
                if pose_frozen:
                    pose_drift.append(float(rotation_angle_deg(fit.rotation, R_ref)))
                else:
                    pose_err.append(float(rotation_angle_deg(fit.rotation, R_t)))
                if expr_frozen:
                    d = np.abs(obs[0].blendshapes[expr_frozen] - ref_bs[expr_frozen])
                    expr_drift.append(float(d.mean()))
                    expr_abs.append(float(d.max()))
            else:
                res.lost += 1
            if base_obs:
                lm0 = base_obs[0].landmarks
                if kp_t is not None:
                    base.kp.append(100.0 * float(np.linalg.norm(lm0[:468, :2] - kp_t, axis=1).mean()) / fs)
                base.expr.append(float(np.abs(base_obs[0].blendshapes - bs_t).mean()))
                base.pose.append(float(rotation_angle_deg(base_fit.rotation, R_t)))
            else:
                base.lost += 1
            if progress is not None and i % 10 == 0:
                progress(Progress(i + 1, F, "evaluating"))
    floor = None
    if pose_frozen:
        with make_tracker(ExtractSettings()) as tr_floor:
            floor = pose_floor(tr_floor, crop0, face)
    nan = float("nan")
    return EvalReport(
        clip=Path(driving).name, frames=F, self_reenactment=self_re, result=res.scores(),
        baseline=base.scores(),
        pose_drift_max_deg=max(pose_drift) if pose_drift else nan,
        pose_drift_mean_deg=float(np.mean(pose_drift)) if pose_drift else nan, pose_floor=floor,
        geometry_pose_drift_max_deg=max(geo_drift) if geo_drift else nan,
        pose_error_mean_deg=float(np.mean(pose_err)) if pose_err else nan,
        expr_drift_max_mean=max(expr_drift) if expr_drift else nan,
        expr_drift_max_abs=max(expr_abs) if expr_abs else nan,
        per_frame_pose_drift=np.asarray(pose_drift), per_frame_expr_drift=np.asarray(expr_drift))


HEADER = (f"{'clip':<28} {'frames':>6}  {'PSNR':>11} {'SSIM':>11} {'kp %face':>13} {'expr':>13} "
          f"{'pose deg':>11}")


def format_row(r: EvalReport) -> str:
    def pair(a: float, b: float, fmt: str) -> str:
        return f"{a:{fmt}}/{b:{fmt}}"

    return (f"{r.clip:<28} {r.frames:>6}  {pair(r.result.psnr, r.baseline.psnr, '5.2f'):>11} "
            f"{pair(r.result.ssim, r.baseline.ssim, '5.3f'):>11} {pair(r.result.kp, r.baseline.kp, '6.2f'):>13} "
            f"{pair(r.result.expr, r.baseline.expr, '6.3f'):>13} {pair(r.result.pose, r.baseline.pose, '5.2f'):>11}")


def run(args: argparse.Namespace) -> int:
    from dexstudio.io.image import load_image
    from dexstudio.io.video_reader import probe

    motion = motion_options(args)
    drivings = [Path(d) for d in args.driving]
    # unreadable inputs fail here, with their typed error, before the table starts; the
    # source is decoded once for every clip
    source = Path(args.source) if args.source else None
    image = load_image(source) if source is not None else None
    for d in drivings:
        clip = probe(d)
        if clip.n_frames_exact:
            check_reference_frame(motion, clip.n_frames, d)
    print("result/baseline (baseline = the source frame repeated)")
    print(HEADER)
    for d in drivings:
        bar = TextProgressBar(f"eval {d.name}", enabled=None if not args.quiet else False)
        try:
            r = evaluate(d, source, motion, args.size, args.max_frames, progress=bar, source_image=image)
        finally:
            bar.finish()
        print(format_row(r))
        extra = []
        if r.result.lost:
            extra.append(f"re-tracker lost the face on {r.result.lost} frames")
        if not np.isnan(r.pose_drift_max_deg):
            extra.append(f"frozen pose drift max {r.pose_drift_max_deg:.2f} deg (mean {r.pose_drift_mean_deg:.2f})")
            if r.pose_floor is not None and r.pose_floor.copies:
                extra.append(f"re-tracker floor on this source max {r.pose_floor.max_deg:.2f} deg (mean "
                             f"{r.pose_floor.mean_deg:.2f}; shifted/scaled copies, no rotation)")
            extra.append(f"rendered geometry's pose drift max {r.geometry_pose_drift_max_deg:.2f} deg")
        if not np.isnan(r.expr_drift_max_mean):
            extra.append(f"frozen expression drift max {r.expr_drift_max_mean:.3f} (largest channel "
                         f"{r.expr_drift_max_abs:.3f}); pose error mean {r.pose_error_mean_deg:.2f} deg")
        if extra:
            print("    " + "; ".join(extra))
        sys.stdout.flush()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score an animation by re-tracking it (self-reenactment by default)")
    p.add_argument("--source", default=None, metavar="IMG",
                   help="source portrait (default: the driving clip's frame 0 = self-reenactment)")
    p.add_argument("--driving", required=True, nargs="+", metavar="VIDEO", help="driving clip(s)")
    add_motion_arguments(p)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run)
