"""The one interface every animator implements (warp now, DeX diffusion later).

Flow: the timeline evaluates *absolute target* motion per frame (relative mode and
retargeting are already resolved there, against the source portrait's own pose and
expression, which ``prepare`` reports as ``SourceState.own_motion``). The render
worker turns one evaluated frame into a frozen :class:`FrameMotion` (rounded, hashable:
its :meth:`FrameMotion.key` is part of the cache key) and calls
``animator.render(state, motion)``.

Animators that have an expensive intermediate (DeX: the denoised latent before the VAE
decode) implement :meth:`Animator.render_intermediate` / :meth:`Animator.decode` so the
worker can cache the intermediate separately.
"""

from __future__ import annotations

import abc
import hashlib
import struct
from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import numpy as np

from dexstudio.core.channels import N_BLENDSHAPES, N_DETAIL
from dexstudio.core.evaluated import EvaluatedMotion
from dexstudio.core.motion import ExpressionModel
from dexstudio.motion.face_select import FaceRule  # the one rule enum (re-exported here)

#: Motion values are rounded to this precision before hashing (degrees, face fractions,
#: blendshape weights and latent units alike): far below what a frame can show.
MOTION_PRECISION = 1e-4


@dataclass(frozen=True)
class SourceOptions:
    """How to prepare a source portrait.

    Attributes:
        face_index: pick this face (0-based, faces sorted left to right); None = by rule.
        face_rule: rule used when ``face_index`` is None.
        crop_size: side of the square working crop in pixels (default 512).
    """

    face_index: Optional[int] = None
    face_rule: FaceRule = FaceRule.LARGEST
    crop_size: int = 512


@dataclass(frozen=True)
class FrameMotion:
    """One frame of absolute target motion, rounded to :data:`MOTION_PRECISION`; hashable.

    Attributes:
        euler: (yaw, pitch, roll) degrees.
        translation: (tx, ty) fractions of the face size.
        scale: face scale (1 = the source's own).
        blendshapes: 52 ARKit weights (``channels.ARKIT_NAMES`` order).
        detail: 16 detail-latent coefficients of ``expression_model_id``'s basis.
        detail_weight: 0..1, how much of the detail residual applies.
        expression_model_id: content id of the take's :class:`ExpressionModel`
            ("" when there is none, e.g. pure keyframe animation).
    """

    euler: tuple[float, float, float]
    translation: tuple[float, float]
    scale: float
    blendshapes: tuple[float, ...]
    detail: tuple[float, ...]
    detail_weight: float = 1.0
    expression_model_id: str = ""

    @staticmethod
    def _q(values: Any) -> tuple[float, ...]:
        arr = np.round(np.asarray(values, dtype=np.float64) / MOTION_PRECISION) * MOTION_PRECISION
        return tuple(float(v) + 0.0 for v in np.atleast_1d(arr))  # + 0.0 folds -0.0

    @classmethod
    def from_evaluated(cls, ev: EvaluatedMotion, row: int = 0,
                       expression_model_id: str = "") -> "FrameMotion":
        """Freeze row ``row`` of an :class:`EvaluatedMotion`."""
        return cls(
            euler=cls._q(ev.euler[row]),  # type: ignore[arg-type]
            translation=cls._q(ev.translation[row]),  # type: ignore[arg-type]
            scale=cls._q(ev.scale[row])[0],
            blendshapes=cls._q(ev.blendshapes[row]),
            detail=cls._q(ev.detail[row]),
            detail_weight=cls._q(ev.detail_weight[row])[0],
            expression_model_id=expression_model_id,
        )

    @classmethod
    def neutral(cls) -> "FrameMotion":
        return cls((0.0, 0.0, 0.0), (0.0, 0.0), 1.0, (0.0,) * N_BLENDSHAPES, (0.0,) * N_DETAIL, 0.0)

    def key(self) -> str:
        """Stable content hash (hex) of the values: equal motion -> equal key, across runs."""
        h = hashlib.sha256()
        vals = (*self.euler, *self.translation, self.scale, *self.blendshapes, *self.detail,
                self.detail_weight)
        h.update(struct.pack(f"<{len(vals)}d", *vals))
        h.update(self.expression_model_id.encode())
        return h.hexdigest()


@dataclass
class SourceState:
    """What ``prepare`` computed for one source portrait (cached per content + options).

    Attributes:
        source_id: content hash of the image + options + animator settings.
        image: (H, W, 3) uint8 RGB original (full resolution, for paste-back).
        own_motion: the source's own pose and expression (what relative mode maps the
            driving reference frame to).
        payload: animator-specific data (warp: landmarks, mesh, crop; DeX: VAE latent,
            reference features -- the "cached latents").
    """

    source_id: str
    image: np.ndarray
    own_motion: FrameMotion
    payload: Any


class Animator(abc.ABC):
    """Turns a prepared source and one frame of target motion into an image."""

    animator_id: ClassVar[str]

    @abc.abstractmethod
    def settings_key(self) -> str:
        """Canonical string of every setting that changes the output (part of cache keys)."""

    @abc.abstractmethod
    def prepare(self, image: np.ndarray, options: SourceOptions = SourceOptions()) -> SourceState:
        """Analyse a source portrait.

        Args:
            image: (H, W, 3) uint8 RGB.
        Raises:
            dexstudio.core.errors.NoFaceError: when no (or not the requested) face is found.
        """

    @abc.abstractmethod
    def render(self, state: SourceState, motion: FrameMotion,
               expression_model: Optional[ExpressionModel] = None) -> np.ndarray:
        """Render one frame.

        Returns:
            (S, S, 3) uint8 RGB crop, S = ``state``'s crop size.
        """

    # Optional split for animators with an expensive, cacheable intermediate.
    has_intermediate: ClassVar[bool] = False

    def render_intermediate(self, state: SourceState, motion: FrameMotion,
                            expression_model: Optional[ExpressionModel] = None) -> np.ndarray:
        raise NotImplementedError

    def decode(self, state: SourceState, intermediate: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def render_threads(self) -> int:
        """How many threads may usefully call ``render`` at once (an exporter renders
        ahead in that many; default 1: one caller)."""
        return 1

    def render_processes(self) -> int:
        """How many forked processes may usefully render at once
        (:class:`dexstudio.core.process_map.ProcessMap`); 0 (the default) where
        the animator must not be forked (torch, a GPU): callers use threads then."""
        return 0

    def close(self) -> None:
        """Release models/devices. Idempotent."""
