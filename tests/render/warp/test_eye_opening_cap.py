"""Eyes never open much wider than the source shows them (no dark stretched slit)."""

from __future__ import annotations

import numpy as np

from dexstudio.render.warp import eyes


def eye_points(opening: float, width: float = 40.0) -> np.ndarray:
    """(478, 3) points with the right eye: corners on y = 100, lids +-opening/2."""
    P = np.zeros((478, 3))
    ids = list(eyes.RIGHT.contour)
    x0 = 100.0
    for k, i in enumerate(ids):
        P[i, 0] = x0 + width * (k % 8) / 7.0
        P[i, 1] = 100.0 + (opening / 2 if k % 2 else -opening / 2) * np.sin(np.pi * (k % 8) / 7.0)
    P[eyes.RIGHT.outer, :2] = (x0, 100.0)
    P[eyes.RIGHT.inner, :2] = (x0 + width, 100.0)
    return P


def opening_ratio(P: np.ndarray) -> float:
    ids = list(eyes.RIGHT.contour)
    w = np.linalg.norm(P[eyes.RIGHT.inner, :2] - P[eyes.RIGHT.outer, :2])
    return float(np.ptp(P[ids, 1])) / w


def test_a_nearly_closed_source_eye_opens_only_a_little():
    src = eye_points(opening=3.0)
    tgt = eye_points(opening=14.0)
    eyes.cap_opening(tgt, src, eyes.RIGHT, gain=1.35, margin=0.04)
    assert opening_ratio(tgt) == np.float64(opening_ratio(tgt))
    assert abs(opening_ratio(tgt) - (1.35 * opening_ratio(src) + 0.04)) < 1e-6
    # the corners stay where they were
    assert np.allclose(tgt[eyes.RIGHT.outer, :2], (100.0, 100.0))


def test_an_open_source_eye_blinks_and_widens_freely():
    src = eye_points(opening=12.0)
    for o in (0.0, 6.0, 12.0, 15.0):
        tgt = eye_points(opening=o)
        before = tgt.copy()
        eyes.cap_opening(tgt, src, eyes.RIGHT)
        assert np.array_equal(tgt, before)
