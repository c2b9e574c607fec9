"""Helpers shared by the worker tests (a module, not conftest: ``from conftest import``
resolves to whichever conftest was imported first)."""

from __future__ import annotations

import numpy as np

from dexstudio.core.channels import ARKIT_NAMES, N_BLENDSHAPES, N_DETAIL
from dexstudio.core.evaluated import EvaluatedMotion
from dexstudio.core.rotation import euler_to_matrix
from dexstudio.worker import RequestBuilder, SourceImage
from dexstudio.worker.testing import SyntheticAnimator


def make_ev(yaw: np.ndarray, start: int = 0, jaw: np.ndarray | None = None) -> EvaluatedMotion:
    """EvaluatedMotion whose only varying channels are yaw (deg) and jawOpen."""
    yaw = np.asarray(yaw, dtype=np.float64)
    n = yaw.shape[0]
    euler = np.zeros((n, 3))
    euler[:, 0] = yaw
    bs = np.zeros((n, N_BLENDSHAPES))
    if jaw is not None:
        bs[:, ARKIT_NAMES.index("jawOpen")] = jaw
    return EvaluatedMotion(
        frames=np.arange(start, start + n, dtype=np.int64), euler=euler,
        rotation=euler_to_matrix(euler[:, 0], euler[:, 1], euler[:, 2]), translation=np.zeros((n, 2)), scale=np.ones(n),
        blendshapes=bs, detail=np.zeros((n, N_DETAIL)), detail_weight=np.ones(n))


def builder_for(animator: SyntheticAnimator, source: SourceImage, **kw) -> RequestBuilder:
    return RequestBuilder(source, animator, **kw)
