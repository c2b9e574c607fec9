"""The per-frame scalar path of euler_to_matrix equals the vectorised one."""

from __future__ import annotations

import numpy as np

from dexstudio.core.rotation import euler_to_matrix, matrix_to_euler


def test_scalar_and_array_paths_agree():
    rng = np.random.default_rng(3)
    e = rng.uniform(-170, 170, size=(200, 3))
    batch = euler_to_matrix(e[:, 0], e[:, 1], e[:, 2])
    for k in range(len(e)):
        one = euler_to_matrix(*e[k])
        assert one.shape == (3, 3)
        np.testing.assert_allclose(one, batch[k], atol=1e-12)
        np.testing.assert_allclose(one @ one.T, np.eye(3), atol=1e-12)


def test_scalar_round_trip():
    for ypr in ((10.0, -20.0, 5.0), (-45.0, 30.0, -60.0), (0.0, 0.0, 0.0)):
        np.testing.assert_allclose(matrix_to_euler(euler_to_matrix(*ypr)), ypr, atol=1e-9)
