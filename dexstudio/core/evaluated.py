"""Typed result of evaluating the timeline: what an animator consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EvaluatedMotion:
    """Evaluated channels for F frames (F may be 1).

    Attributes:
        frames: (F,) int64 frame numbers.
        euler: (F, 3) float64 (yaw, pitch, roll) degrees.
        rotation: (F, 3, 3) float64 rotation matrices (``core.rotation.euler_to_matrix``).
        translation: (F, 2) float64 (tx, ty) fractions of the face size.
        scale: (F,) float64.
        blendshapes: (F, 52) float64 ARKit weights (``channels.ARKIT_NAMES`` order), clamped 0..1.
        detail: (F, 16) float64 detail latent.
        detail_weight: (F,) float64 in 0..1: how much of the take's detail residual applies
            (1 where the performance is unedited, 0 where keys override it).
    """

    frames: np.ndarray
    euler: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    scale: np.ndarray
    blendshapes: np.ndarray
    detail: np.ndarray
    detail_weight: np.ndarray

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def frame(self, i: int) -> "EvaluatedMotion":
        """The i-th row (not frame number) as a one-frame EvaluatedMotion."""
        s = slice(i, i + 1)
        return EvaluatedMotion(self.frames[s], self.euler[s], self.rotation[s], self.translation[s],
                               self.scale[s], self.blendshapes[s], self.detail[s], self.detail_weight[s])
