"""``dexstudio train basis VIDEOS... -o basis.npz``: fit the generic expression basis.

Every frame of every clip is tracked (MediaPipe, VIDEO mode), the pose is removed
(weighted Procrustes fit against the canonical face) from all 478 points, and the
canonical offsets (each clip centred on its own mean) are regressed on the centred
blendshape weights with ridge least squares (:func:`dexstudio.render.warp.basis.fit_basis`).
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
    """(canonical (F, 478, 3), blendshapes (F, 52)) of one clip's tracked frames."""
    from dexstudio.io.video_reader import iter_frames, probe
    from dexstudio.motion.face_model import load_canonical_face
    from dexstudio.motion.pose import PoseWeights, image_to_camera, solve_pose
    from dexstudio.motion.tracker import MediaPipeTracker
    from dexstudio.render.warp.basis import ClipSamples

    face = load_canonical_face()
    info = probe(path)
    canon, blend = [], []
    with (tracker_factory or (lambda: MediaPipeTracker(max_faces=1)))() as tracker:
        for i, rgb in iter_frames(path):
            ts = int(i * 1000 * info.rate.den // info.rate.num) + i  # strictly increasing
            faces = tracker.track_frame(rgb, ts)
            if not faces or i % stride:
                continue
            f = max(faces, key=lambda o: o.area)
            fit = solve_pose(f.landmarks, face, PoseWeights.PROCRUSTES)
            c = ((image_to_camera(f.landmarks) - fit.translation_cam) @ fit.rotation) / fit.scale
            canon.append(c.astype(np.float32))
            blend.append(f.blendshapes.astype(np.float32))
    if not canon:
        raise NoFaceError(f"no face was tracked in {path}", "use clips with one clearly visible face")
    return ClipSamples(np.stack(canon), np.stack(blend))


def run(args: argparse.Namespace) -> int:
    from dexstudio.motion.face_model import load_canonical_face
    from dexstudio.render.warp.basis import fit_basis

    face = load_canonical_face()
    clips, names = [], []
    for v in args.videos:
        p = Path(v)
        c = track_clip(p, stride=args.stride)
        print(f"  {p.name}: {len(c.blendshapes)} frames", file=sys.stderr)
        clips.append(c)
        names.append(p.name)
    info = {
        "clips": names, "date": datetime.date.today().isoformat(),
        "command": "dexstudio train basis " + " ".join(Path(v).name for v in args.videos)
                   + f" --ridge {args.ridge}",
    }
    basis = fit_basis(clips, face.face_size, ridge=args.ridge, info=info)
    basis.info["sha"] = hashlib.sha256(basis.basis.astype(np.float16).tobytes()).hexdigest()[:16]
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
    p.set_defaults(func=run)
