"""``dexstudio train basis VIDEOS... -o basis.npz``: fit the generic expression basis.

Every frame of every clip is tracked (MediaPipe, VIDEO mode), the pose is removed
(weighted Procrustes fit against the canonical face) from all 478 points, and the
canonical offsets (each clip centred on its own mean) are regressed on the centred
blendshape weights with ridge least squares (:func:`dexstudio.render.warp.basis.fit_basis`).

A second stage calibrates the tracker's pose bias (:func:`calibrate_pose_bias`): each
clip's performance is rendered onto its own first frame with the head held still, the
renders are re-tracked, and the apparent head rotation is regressed on the blendshape
changes.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import sys
from pathlib import Path

import numpy as np

from dexstudio.core.errors import NoFaceError


def track_clip(path: Path, tracker_factory=None, stride: int = 1):
    """(ClipSamples of the tracked frames, the first tracked frame (H, W, 3) uint8)."""
    from dexstudio.io.video_reader import iter_frames, probe
    from dexstudio.motion.face_model import load_canonical_face
    from dexstudio.motion.pose import PoseWeights, image_to_camera, solve_pose
    from dexstudio.motion.tracker import MediaPipeTracker
    from dexstudio.render.warp.basis import ClipSamples

    face = load_canonical_face()
    info = probe(path)
    canon, blend = [], []
    first = None
    with (tracker_factory or (lambda: MediaPipeTracker(max_faces=1)))() as tracker:
        for i, rgb in iter_frames(path):
            ts = int(i * 1000 * info.rate.den // info.rate.num) + i  # strictly increasing
            faces = tracker.track_frame(rgb, ts)
            if not faces or i % stride:
                continue
            f = max(faces, key=lambda o: o.area)
            if first is None:
                first = rgb
            fit = solve_pose(f.landmarks, face, PoseWeights.PROCRUSTES)
            c = ((image_to_camera(f.landmarks) - fit.translation_cam) @ fit.rotation) / fit.scale
            canon.append(c.astype(np.float32))
            blend.append(f.blendshapes.astype(np.float32))
    if not canon:
        raise NoFaceError(f"no face was tracked in {path}", "use clips with one clearly visible face")
    return ClipSamples(np.stack(canon), np.stack(blend)), first


def calibrate_pose_bias(basis, clip_paths, firsts, stride: int = 3):
    """How the tracker reads expression as head rotation, measured on renders.

    For each clip its first frame is the source; the clip's performance is rendered onto
    it with the head pose frozen (as ``dexstudio animate --freeze pose`` does: relative
    mode, the take's detail residual), and once more from the blendshapes alone (as for
    hand-keyed expression). Renders and the still source crop are tracked side by side
    (VIDEO mode) and the apparent rotation between them is regressed on the rendered
    blendshape changes (:func:`fit_pose_bias`).

    Returns:
        ((52, 3) pose bias, number of renders used).
    """
    from dataclasses import replace

    from dexstudio.commands.animate import MotionOptions, parse_freeze, track_to_motion
    from dexstudio.motion.extract import run_extraction
    from dexstudio.motion.face_model import load_canonical_face
    from dexstudio.motion.pose import solve_pose
    from dexstudio.motion.tracker import MediaPipeTracker
    from dexstudio.render.base import FrameMotion
    from dexstudio.render.warp import WarpAnimator, WarpSettings
    from dexstudio.render.warp.basis import fit_pose_bias, rotation_vector_deg

    face = load_canonical_face()
    animator = WarpAnimator(WarpSettings(pose_bias=False), basis=basis)
    X, Y = [], []
    try:
        for path, first in zip(clip_paths, firsts):
            state = animator.prepare(first)
            track = run_extraction(path).track
            ev = track_to_motion(track, state.own_motion, MotionOptions(freeze=parse_freeze(["pose"])))
            model = track.expression_model
            for variant in (1.0, 0.0):
                with MediaPipeTracker(max_faces=1) as tr, MediaPipeTracker(max_faces=1) as tr0:
                    for k, i in enumerate(range(0, len(ev), stride)):
                        fm = FrameMotion.from_evaluated(ev, i, "calibration")
                        fm = replace(fm, detail_weight=min(fm.detail_weight, variant))
                        img = animator.render(state, fm, model)
                        a = tr.track_frame(img, 1 + 34 * k)
                        b = tr0.track_frame(state.payload.crop, 1 + 34 * k)
                        if not a or not b:
                            continue
                        Ra = solve_pose(a[0].landmarks, face).rotation
                        Rb = solve_pose(b[0].landmarks, face).rotation
                        X.append(np.asarray(fm.blendshapes) - np.asarray(state.own_motion.blendshapes))
                        Y.append(rotation_vector_deg(Ra @ Rb.T))
            print(f"  calibrated on {Path(path).name}: {len(X)} renders so far", file=sys.stderr)
    finally:
        animator.close()
    return fit_pose_bias(np.array(X), np.array(Y)), len(X)


def run(args: argparse.Namespace) -> int:
    from dexstudio.motion.face_model import load_canonical_face
    from dexstudio.render.warp.basis import fit_basis

    face = load_canonical_face()
    clips, names, firsts = [], [], []
    for v in args.videos:
        p = Path(v)
        c, first = track_clip(p, stride=args.stride)
        print(f"  {p.name}: {len(c.blendshapes)} frames", file=sys.stderr)
        clips.append(c)
        firsts.append(first)
        names.append(p.name)
    info = {
        "clips": names, "date": datetime.date.today().isoformat(),
        "command": "dexstudio train basis " + " ".join(Path(v).name for v in args.videos)
                   + f" --ridge {args.ridge}",
    }
    basis = fit_basis(clips, face.face_size, ridge=args.ridge, info=info)
    if not args.no_pose_bias:
        print("  calibrating the tracker's pose bias on renders ...", file=sys.stderr)
        bias, n_cal = calibrate_pose_bias(basis, [Path(v) for v in args.videos], firsts)
        basis = basis.with_pose_bias(bias, {"pose_bias_frames": n_cal})
    basis.info["sha"] = hashlib.sha256(basis.basis.astype(np.float16).tobytes()
                                       + basis.pose_bias.tobytes()).hexdigest()[:16]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    basis.save(out)
    print(f"basis: {len(clips)} clips, {basis.info['frames']} frames -> {out}")
    return 0


def register_train(train_sub: argparse._SubParsersAction) -> None:
    p = train_sub.add_parser("basis", help="fit the generic expression basis (blendshapes -> landmark offsets)")
    p.add_argument("videos", nargs="+", help="driving clips with one face each")
    p.add_argument("-o", "--output", default="resources/expression_basis/basis.npz")
    p.add_argument("--ridge", type=float, default=2.0, help="ridge penalty (default 2.0)")
    p.add_argument("--stride", type=int, default=1, help="use every N-th tracked frame")
    p.add_argument("--no-pose-bias", action="store_true",
                   help="skip calibrating the tracker's expression-dependent pose reading")
    p.set_defaults(func=run)
