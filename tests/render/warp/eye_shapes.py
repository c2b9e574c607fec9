"""Eye shapes for the lid tests: the canonical face seen frontally, and its right eye's
upper lid brought down (imported by the test modules of this folder)."""

from __future__ import annotations

import numpy as np

from dexstudio.render.warp import eyes


def frontal_face() -> np.ndarray:
    """(478, 3) the canonical face seen frontally at 12 px/cm (real eye topology)."""
    from dexstudio.motion.face_model import load_canonical_face

    v = load_canonical_face().vertices.astype(np.float64)
    P = np.zeros((478, 3))
    P[:468, 0] = 256 + 12 * v[:, 0]
    P[:468, 1] = 256 - 12 * v[:, 1]
    return P


def lower_upper_lid(P: np.ndarray, f: float) -> np.ndarray:
    """The right eye's upper-lid margin brought down to ``f`` of its distance to the lower lid."""
    eye = eyes.RIGHT
    out = P.copy()
    upper = [i for i in eye.lid_margin if i not in (eye.outer, eye.inner)]
    lower = [i for i in eye.contour if i not in eye.lid_margin]
    for i in upper:
        j = lower[int(np.argmin(np.abs(P[lower, 0] - P[i, 0])))]
        out[i, 1] = P[j, 1] + f * (P[i, 1] - P[j, 1])
    return out


def blinking(motion, amount: float = 1.0):
    """``motion`` (a :class:`~dexstudio.render.base.FrameMotion`) with both eyeBlink
    channels at ``amount``."""
    from dataclasses import replace

    from dexstudio.core.channels import ARKIT_NAMES

    b = list(motion.blendshapes)
    for name in ("eyeBlinkLeft", "eyeBlinkRight"):
        b[ARKIT_NAMES.index(name)] = amount
    return replace(motion, blendshapes=tuple(b))
