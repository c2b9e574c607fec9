"""Progressive hybrid classifier-free guidance (its own object, as diffusers' guiders).

Three noise predictions per step, from the same noisy latent x_t:

* ``eps_uncond = eps(x_t; null reference, null motion)``
* ``eps_ref    = eps(x_t; reference,      null motion)``
* ``eps_full   = eps(x_t; reference,      motion)``

combined as::

    eps = eps_uncond + w_ref(tau) * (eps_ref - eps_uncond) + w_mot(tau) * (eps_full - eps_ref)

with ``tau = i / (n - 1)`` the progress of step ``i`` of ``n`` (0 = first, most noisy) and
``w(tau) = start + (end - start) * shape(tau)``, ``shape`` linear (``tau``), cosine
(``(1 - cos(pi tau)) / 2``) or constant (0). With both weights 1 this is ``eps_full``.
The defaults guide the reference strongly early (identity, layout) and the motion
strongly late (expression detail). The null reference is the learned null appearance
tokens with the reference tokens masked out of reference attention; the null motion
is the learned null expression tokens, a zero pose map and no 3D-warp residual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from dexstudio.render.dex.config import GuidanceConfig, WeightShape


@dataclass(frozen=True)
class Branch:
    """One conditioning branch of the batch: keep (1) or drop (0) each condition."""

    keep_ref: float
    keep_motion: float


UNCOND = Branch(0.0, 0.0)
REF_ONLY = Branch(1.0, 0.0)
FULL = Branch(1.0, 1.0)


class ProgressiveHybridGuidance:
    """See the module docstring for the formula."""

    def __init__(self, config: GuidanceConfig) -> None:
        self.config = config

    @staticmethod
    def _shape(kind: WeightShape, tau: float) -> float:
        if kind is WeightShape.LINEAR:
            return tau
        if kind is WeightShape.COSINE:
            return (1.0 - math.cos(math.pi * tau)) / 2.0
        return 0.0

    def weights(self, step_index: int, num_steps: int) -> tuple[float, float]:
        """(w_ref, w_mot) at step ``step_index`` (0-based) of ``num_steps``."""
        tau = step_index / (num_steps - 1) if num_steps > 1 else 0.0
        s = self._shape(self.config.shape, tau)
        c = self.config
        return (c.ref_start + (c.ref_end - c.ref_start) * s,
                c.motion_start + (c.motion_end - c.motion_start) * s)

    @property
    def branches(self) -> tuple[Branch, ...]:
        """Branches in batch order (branch-major: all frames of UNCOND, then REF_ONLY, then FULL)."""
        c = self.config
        if c.ref_start == c.ref_end == c.motion_start == c.motion_end == 1.0:
            return (FULL,)
        return (UNCOND, REF_ONLY, FULL)

    def combine(self, eps: torch.Tensor, step_index: int, num_steps: int) -> torch.Tensor:
        """Combine the branch predictions.

        Args:
            eps: (len(branches), B, C, h, w) predictions in :attr:`branches` order.
        Returns:
            (B, C, h, w) guided prediction.
        """
        if len(self.branches) == 1:
            return eps[0]
        w_ref, w_mot = self.weights(step_index, num_steps)
        e_u, e_r, e_f = eps[0], eps[1], eps[2]
        return e_u + w_ref * (e_r - e_u) + w_mot * (e_f - e_r)
