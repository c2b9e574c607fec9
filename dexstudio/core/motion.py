"""The result of motion extraction: per-frame pose and expression of one driving clip.

A :class:`MotionTrack` is plain data (numpy arrays, no Qt/torch/OpenCV). Motion
extraction (``dexstudio.motion``) produces it; the timeline turns it into a take
(performance layers of the channels); files in ``dexstudio.io`` store it.

Shapes use F = number of frames, L = 468 canonical landmarks, B = 52 blendshapes,
D = 16 detail dims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from dexstudio.core.channels import (
    ALL_CHANNEL_IDS,
    DETAIL_CHANNEL_IDS,
    EXPR_CHANNEL_IDS,
    N_BLENDSHAPES,
    N_DETAIL,
    POSE_CHANNEL_IDS,
)
from dexstudio.core.timebase import FrameRate

N_CANONICAL_LANDMARKS = 468


@dataclass
class ExpressionModel:
    """Canonical-space (pose-free) landmark model of one take.

    ``reconstruct(w, d) = mean_shape + w @ blend_basis + d @ detail_basis``
    reproduces the tracked canonical landmarks.

    Attributes:
        mean_shape: (L, 3) float32, canonical units (the canonical face model's units, cm).
        blend_basis: (B, L, 3) float32, landmark offset per unit blendshape weight.
        detail_basis: (D, L, 3) float32, orthonormal residual directions (flattened).
        face_size: float, size of the canonical face in the same units (inter-ocular
            distance x 2.5 or similar; defined by the extractor and used for the 1% tolerance).
    """

    mean_shape: np.ndarray
    blend_basis: np.ndarray
    detail_basis: np.ndarray
    face_size: float

    def reconstruct(self, blendshapes: np.ndarray, detail: np.ndarray) -> np.ndarray:
        """(F, B) weights + (F, D) detail -> (F, L, 3) canonical landmarks."""
        b = np.asarray(blendshapes, dtype=np.float32)
        d = np.asarray(detail, dtype=np.float32)
        L = self.mean_shape.shape[0]
        out = (b @ self.blend_basis.reshape(N_BLENDSHAPES, -1)
               + d @ self.detail_basis.reshape(N_DETAIL, -1))
        return self.mean_shape[None] + out.reshape(-1, L, 3)


@dataclass(frozen=True)
class MotionSource:
    """Where a track came from (for cache keys and relinking)."""

    path: str
    content_hash: str  # sha256 hex of the file
    tracker_id: str
    tracker_settings: str  # canonical JSON of the settings
    width: int
    height: int


@dataclass
class MotionTrack:
    """Per-frame explicit pose and expression of one clip.

    Attributes:
        rate: the clip's frame rate.
        quaternion: (F, 4) float64 head rotation (w, x, y, z), camera frame of
            :mod:`dexstudio.core.rotation`. The full rotation, kept beside the Euler angles.
        euler: (F, 3) float64 (yaw, pitch, roll) degrees.
        translation: (F, 2) float64 (tx, ty), face-center offset in fractions of the face size.
        scale: (F,) float64 face size relative to frame 0's... see ``dexstudio.motion.pose``.
        blendshapes: (F, B) float32 in 0..1, ARKit order of ``channels.ARKIT_NAMES``.
        detail: (F, D) float32 expression detail latent.
        valid: (F,) bool, False where no face / low confidence (values there are interpolated).
        expression_model: the canonical landmark model (None for imported CSVs).
        landmarks_2d: optional (F, 478, 2) float32 image landmarks in pixels (for overlays).
        source: provenance.
    """

    rate: FrameRate
    quaternion: np.ndarray
    euler: np.ndarray
    translation: np.ndarray
    scale: np.ndarray
    blendshapes: np.ndarray
    detail: np.ndarray
    valid: np.ndarray
    expression_model: Optional[ExpressionModel] = None
    landmarks_2d: Optional[np.ndarray] = None
    source: Optional[MotionSource] = None
    face_size_px: Optional[np.ndarray] = field(default=None)  # (F,) face size in pixels

    @property
    def n_frames(self) -> int:
        return int(self.euler.shape[0])

    @property
    def n_invalid(self) -> int:
        return int((~self.valid).sum())

    def channel_matrix(self) -> np.ndarray:
        """All channels as one (F, C) float64 array in ``ALL_CHANNEL_IDS`` order."""
        return np.concatenate([
            self.euler, self.translation, self.scale[:, None],
            self.blendshapes.astype(np.float64), self.detail.astype(np.float64),
        ], axis=1)

    def channel(self, channel_id: str) -> np.ndarray:
        """(F,) values of one channel."""
        return self.channel_matrix()[:, ALL_CHANNEL_IDS.index(channel_id)]

    def channel_dict(self) -> dict[str, np.ndarray]:
        """Channel id -> (F,) values (a view per channel of :meth:`channel_matrix`)."""
        m = self.channel_matrix()
        return {cid: m[:, i] for i, cid in enumerate(ALL_CHANNEL_IDS)}


__all__ = [
    "ExpressionModel", "MotionSource", "MotionTrack", "N_CANONICAL_LANDMARKS",
    "POSE_CHANNEL_IDS", "EXPR_CHANNEL_IDS", "DETAIL_CHANNEL_IDS",
]
