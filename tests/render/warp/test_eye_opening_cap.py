"""Eyes never open much wider than the source shows them (no dark stretched slit)."""

from __future__ import annotations

import numpy as np

from dexstudio.render.warp import eyes
from eye_shapes import frontal_face, lower_upper_lid


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


def _opening(P: np.ndarray) -> float:
    return eyes.lid_gap(P, eyes.RIGHT)


def test_the_eased_opening_is_shut_below_15_percent_and_unchanged_above_40():
    r = np.linspace(0.0, 1.0, 201)
    e = np.array([eyes.eased_opening(float(x)) for x in r])
    assert np.all(e[r <= 0.15] == 0.0) and np.allclose(e[r >= 0.4], r[r >= 0.4])
    assert np.all(np.diff(e) >= 0.0)  # monotonic: a closing lid never reopens
    assert np.abs(np.diff(e)).max() < 2.5 * (r[1] - r[0])  # no jump (steepest: slope 2.3)


def test_an_eye_tracked_a_quarter_open_is_drawn_shut():
    """MediaPipe leaves a shut eye 7-15 % open; drawn, that was a sliver of eyeball."""
    src = frontal_face()
    tgt = lower_upper_lid(src, 0.12)
    lower = [i for i in eyes.RIGHT.contour if i not in eyes.RIGHT.lid_margin]
    before = tgt.copy()
    eyes.close_lids(tgt, src, eyes.RIGHT)
    assert _opening(before) > 0.1 * _opening(src)
    assert abs(_opening(tgt)) < 0.01 * _opening(src)
    assert np.array_equal(tgt[lower], before[lower])  # the lower lid and the corners stay
    assert np.array_equal(tgt[[eyes.RIGHT.outer, eyes.RIGHT.inner]], before[[eyes.RIGHT.outer, eyes.RIGHT.inner]])
    # an eye tracked half open is drawn as tracked
    half = lower_upper_lid(src, 0.5)
    kept = half.copy()
    eyes.close_lids(half, src, eyes.RIGHT)
    assert np.array_equal(half, kept)
