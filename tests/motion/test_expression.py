"""Per-clip expression model: exact on data that fits the model, streaming = batch."""

from __future__ import annotations

import numpy as np

from dexstudio.motion.expression import (
    ExpressionAccumulator,
    detail_coefficients,
    reconstruction_errors,
    top_eigenvectors,
)
from dexstudio.motion.face_model import load_canonical_face


def test_model_reproduces_data_in_its_span():
    rng = np.random.default_rng(0)
    V = load_canonical_face().vertices.astype(np.float64)
    F = 300
    W = rng.uniform(0, 1, (F, 52)) * (rng.uniform(size=52) > 0.3)
    B = rng.standard_normal((52, 468 * 3)) * 0.05
    Dtrue = np.linalg.qr(rng.standard_normal((468 * 3, 10)))[0].T  # 10 residual directions
    coef = rng.standard_normal((F, 10)) * 0.2
    Y = V.reshape(1, -1) + W @ B + coef @ Dtrue
    acc = ExpressionAccumulator(V, chunk=37)
    for w, y in zip(W, Y):
        acc.add(w, y.reshape(468, 3))
    model = acc.fit(face_size=17.7, ridge=1e-6)
    d = detail_coefficients(model, W, Y.reshape(F, 468, 3))
    err = reconstruction_errors(model, W, d, Y.reshape(F, 468, 3))
    assert err.max() < 1e-4
    assert model.detail_basis.shape == (16, 468, 3)
    flat = model.detail_basis.reshape(16, -1)
    np.testing.assert_allclose(flat[:10] @ flat[:10].T, np.eye(10), atol=1e-5)


def test_top_eigenvectors_matches_eigh():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((200, 60)) * np.geomspace(1, 1e-3, 60)
    C = A @ A.T
    top = top_eigenvectors(C, 8)
    w, v = np.linalg.eigh(C)
    ref = v[:, ::-1][:, :8]
    np.testing.assert_allclose(np.abs(np.sum(top.T * ref, axis=0)), 1.0, atol=1e-6)
