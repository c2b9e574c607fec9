"""How precisely the tracker reads head pose on one image: its noise floor.

The image is shifted by up to ``shift_px`` pixels and scaled by up to ``scale`` (a
similarity in the image plane, which leaves the head's 3D rotation unchanged) and each
copy is re-tracked; the angles between the rotations read on the copies and on the
image itself are what the tracker makes up on its own. ``dexstudio eval`` prints them
beside the frozen-pose drift, which cannot be read more precisely than this.

Measured with MediaPipe (VIDEO mode, the extraction's settings), 40 copies within 6 px
and 4 %, on the 512 crops of ../shared/media's portraits: liveportrait_s42 max 0.55 deg
(mean 0.35), s7 0.59 (0.29), s6 1.03 (0.60), s10 1.51 (0.61). A shift or a scale is not
an expression change, so this is the tracker's noise level, not a bound on how it reads
a face whose expression moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from dexstudio.core.rotation import rotation_angle_deg
from dexstudio.motion.face_model import CanonicalFace
from dexstudio.motion.pose import solve_pose
from dexstudio.motion.tracker import FaceTracker


@dataclass(frozen=True)
class PoseFloor:
    """Angles (deg) the tracker reads between copies of one image that differ by a shift
    and a scale only (no rotation). ``copies`` is how many copies had a face."""

    max_deg: float
    mean_deg: float
    copies: int


def jitter_similarity(rng: np.random.Generator, size: tuple[int, int], shift_px: float,
                      scale: float) -> np.ndarray:
    """A random (2, 3) image-plane similarity about the centre: shift in
    ``[-shift_px, shift_px]`` per axis, scale in ``[1 - scale, 1 + scale]``, no rotation."""
    w, h = size
    dx, dy = rng.uniform(-shift_px, shift_px, 2)
    s = rng.uniform(1.0 - scale, 1.0 + scale)
    return np.array([[s, 0.0, (1 - s) * w / 2 + dx], [0.0, s, (1 - s) * h / 2 + dy]])


def pose_floor(tracker: FaceTracker, image: np.ndarray, face: CanonicalFace, copies: int = 20,
               shift_px: float = 6.0, scale: float = 0.04, seed: int = 0,
               first_timestamp_ms: Optional[int] = None) -> PoseFloor:
    """Re-track ``copies`` shifted and scaled copies of ``image`` and measure the spread.

    Args:
        tracker: used in VIDEO mode (``track_frame``), as the extraction uses it; each copy
            gets its own timestamp, 34 ms apart, after the tracker's last one.
        image: (H, W, 3) uint8 RGB with one face.
        face: the canonical face (pose fit, as extraction does it).
        copies: how many jittered copies.
        shift_px, scale: the jitter's range (pixels; relative scale).
        seed: the jitter's random seed (the result is reproducible).
        first_timestamp_ms: the first copy's timestamp (default: after the tracker's last).
    Returns:
        the :class:`PoseFloor`; NaN angles when no copy (or the image) had a face.
    """
    import cv2

    h, w = image.shape[:2]
    ts = (tracker.last_timestamp_ms + 1) if first_timestamp_ms is None else first_timestamp_ms
    ref = tracker.track_frame(image, ts)
    if not ref:
        return PoseFloor(float("nan"), float("nan"), 0)
    r_ref = solve_pose(ref[0].landmarks, face).rotation
    rng = np.random.default_rng(seed)
    angles = []
    for k in range(copies):
        m = jitter_similarity(rng, (w, h), shift_px, scale)
        copy = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        obs = tracker.track_frame(copy, ts + 34 * (k + 1))
        if obs:
            angles.append(float(rotation_angle_deg(solve_pose(obs[0].landmarks, face).rotation, r_ref)))
    if not angles:
        return PoseFloor(float("nan"), float("nan"), 0)
    return PoseFloor(max(angles), float(np.mean(angles)), len(angles))
