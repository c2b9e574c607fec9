"""Optional One-Euro smoothing of an extracted track (raw values are never overwritten).

Extraction stores raw per-frame values; smoothing is a parameter applied on demand
(``dexstudio extract --smooth``, or the timeline's own smoothing operator), producing a
new :class:`MotionTrack`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dexstudio.core.filters import one_euro
from dexstudio.core.motion import MotionTrack
from dexstudio.core.rotation import euler_to_matrix, matrix_to_quaternion


@dataclass(frozen=True)
class SmoothSettings:
    """One-Euro parameters (Casiez et al. 2012).

    Attributes:
        min_cutoff: Hz; lower = smoother when still.
        beta: speed coefficient; higher = less lag on fast motion.
    """

    min_cutoff: float = 1.5
    beta: float = 0.05


def smooth_track(track: MotionTrack, settings: SmoothSettings = SmoothSettings()) -> MotionTrack:
    """A copy of ``track`` whose pose, blendshape and detail channels are One-Euro filtered.

    The rotation quaternion is recomputed from the filtered Euler angles so both stay
    consistent; blendshapes stay within 0..1. ``valid``, the expression model, the overlay
    landmarks and the source are shared with the input.
    """
    fps = track.rate.fps
    f = lambda a: one_euro(a, fps, settings.min_cutoff, settings.beta)  # noqa: E731
    euler = f(track.euler)
    R = euler_to_matrix(euler[:, 0], euler[:, 1], euler[:, 2])
    return replace(
        track, euler=euler, quaternion=matrix_to_quaternion(R), translation=f(track.translation),
        scale=f(track.scale), blendshapes=np.clip(f(track.blendshapes), 0, 1).astype(np.float32),
        detail=f(track.detail).astype(np.float32))
