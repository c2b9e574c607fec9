"""Synthetic driving performances for examples, tests and benchmarks (numpy only)."""

from __future__ import annotations

import numpy as np

from dexstudio.core.channels import N_BLENDSHAPES, N_DETAIL
from dexstudio.core.motion import MotionTrack
from dexstudio.core.rotation import euler_to_matrix, matrix_to_quaternion
from dexstudio.core.timebase import FrameRate


def synthetic_track(n_frames: int = 300, rate: FrameRate = FrameRate(30), seed: int = 0,
                    invalid_fraction: float = 0.02) -> MotionTrack:
    """A plausible, smooth, slightly noisy MotionTrack.

    Head yaw/pitch/roll sway within about +-20/10/8 degrees, small translations,
    scale near 1, blendshapes in 0..1 (blinks, talking jaw, smiles), a small detail
    latent. A few frames are flagged invalid. No expression model.

    Args:
        n_frames: F.
        rate: frame rate.
        seed: random seed (same seed, same track).
        invalid_fraction: share of frames flagged ``valid == False``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / rate.fps
    noise = lambda s, *shape: rng.normal(0.0, s, (n_frames,) + shape)  # noqa: E731
    yaw = 20 * np.sin(2 * np.pi * 0.13 * t + rng.uniform(0, 6)) + noise(0.3)
    pitch = 10 * np.sin(2 * np.pi * 0.21 * t + rng.uniform(0, 6)) + 2 + noise(0.3)
    roll = 8 * np.sin(2 * np.pi * 0.07 * t + rng.uniform(0, 6)) + noise(0.2)
    euler = np.stack([yaw, pitch, roll], 1)
    trans = np.stack([0.05 * np.sin(2 * np.pi * 0.05 * t), 0.03 * np.cos(2 * np.pi * 0.09 * t)], 1) + noise(0.002, 2)
    scale = 1.0 + 0.05 * np.sin(2 * np.pi * 0.03 * t) + noise(0.002)
    phases = rng.uniform(0, 2 * np.pi, N_BLENDSHAPES)
    freqs = rng.uniform(0.1, 1.5, N_BLENDSHAPES)
    amp = rng.uniform(0.05, 0.6, N_BLENDSHAPES)
    bs = 0.5 * amp * (1 + np.sin(2 * np.pi * freqs * t[:, None] + phases)) + noise(0.01, N_BLENDSHAPES)
    bs = np.clip(bs, 0.0, 1.0).astype(np.float32)
    detail = (0.3 * np.sin(2 * np.pi * rng.uniform(0.1, 1, N_DETAIL) * t[:, None]
                           + rng.uniform(0, 6, N_DETAIL)) + noise(0.02, N_DETAIL)).astype(np.float32)
    valid = rng.random(n_frames) >= invalid_fraction
    quat = matrix_to_quaternion(euler_to_matrix(yaw, pitch, roll)) if n_frames <= 2000 else \
        np.tile(np.array([1.0, 0.0, 0.0, 0.0]), (n_frames, 1))
    return MotionTrack(rate=rate, quaternion=quat, euler=euler, translation=trans, scale=scale,
                       blendshapes=bs, detail=detail, valid=valid)


__all__ = ["synthetic_track"]
