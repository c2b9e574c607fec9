"""Key curves: every interpolation, handles, edits, and the no-overshoot property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dexstudio.core.keys import Interp, Key, KeyCurve


def test_empty_single_and_holds() -> None:
    assert np.all(KeyCurve((), 0.5).evaluate([-3, 0, 9]) == 0.5)
    c = KeyCurve((Key(10, 2.0),))
    assert np.all(c.evaluate([0, 10, 100]) == 2.0)
    c = KeyCurve((Key(10, 1.0, Interp.LINEAR), Key(20, 3.0)))
    assert c.evaluate([0, 10, 15, 20, 99]).tolist() == [1.0, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize("interp,mid", [
    (Interp.CONSTANT, 0.0), (Interp.LINEAR, 0.5), (Interp.EASE_IN, 0.25),
    (Interp.EASE_OUT, 0.75), (Interp.EASE_IN_OUT, 0.5), (Interp.BEZIER, 0.5),
])
def test_interpolations_mid_segment(interp: Interp, mid: float) -> None:
    c = KeyCurve((Key(0, 0.0, interp), Key(10, 1.0, interp)))
    v = c.evaluate(np.arange(0, 11))
    assert v[5] == pytest.approx(mid)
    assert v[0] == 0.0 and v[10] == 1.0
    if interp is not Interp.CONSTANT:
        assert np.all(np.diff(v) >= 0)
    if interp is Interp.EASE_IN:
        assert v[1] < 0.1 and 1.0 - v[9] > 0.1  # slow start, fast finish
    if interp is Interp.EASE_OUT:
        assert v[1] > 0.1


def test_constant_is_a_step_at_the_next_key() -> None:
    c = KeyCurve((Key(0, 0.0, Interp.CONSTANT), Key(5, 1.0, Interp.CONSTANT)))
    assert c.evaluate(np.arange(7)).tolist() == [0, 0, 0, 0, 0, 1, 1]


def test_auto_clamped_is_flat_at_extremes_and_ends() -> None:
    c = KeyCurve((Key(0, 0.0), Key(10, 1.0), Key(20, 0.0), Key(30, 0.5), Key(40, 2.0)))
    s = c.auto_slopes()
    assert s[0] == 0 and s[1] == 0 and s[2] == 0 and s[-1] == 0
    assert s[3] > 0  # monotone run 0 -> 0.5 -> 2.0


def test_editable_handles_change_the_curve_and_can_overshoot() -> None:
    c = KeyCurve((Key(0, 0.0), Key(10, 1.0)))
    c2 = c.with_slopes(0, None, 0.5)
    v = c2.evaluate(np.arange(11))
    assert v.max() > 1.0  # the user asked for a steep handle: overshoot allowed
    (hin, hout) = c2.handles(0)
    assert hout == pytest.approx((10 / 3, 0.5 * 10 / 3))
    assert c2.with_slopes(0, None, None).evaluate(5)[0] == pytest.approx(0.5)


def test_edits_return_new_curves() -> None:
    c = KeyCurve((Key(0, 0.0), Key(10, 1.0)))
    assert c.with_key(Key(5, 9.0)).frames == (0, 5, 10)
    assert c.without_key(0).frames == (10,)
    m = c.moved(0, 20)
    assert m.frames == (10, 20) and m.key_at(20).value == 0.0
    assert c.moved(0, 10).frames == (10,)  # landing on a key replaces it
    assert c.with_value(10, 2.0).key_at(10).value == 2.0
    assert c.with_interp(0, Interp.LINEAR).key_at(0).interp is Interp.LINEAR
    assert c.frames == (0, 10)
    with pytest.raises(KeyError):
        c.without_key(3)
    with pytest.raises(ValueError):
        Key(0, float("nan"))
    # duplicate frames: the last key wins, order is normalised
    assert KeyCurve((Key(5, 1.0), Key(0, 0.0), Key(5, 2.0))).key_at(5).value == 2.0


keys_strategy = st.lists(
    st.tuples(st.integers(-200, 200), st.floats(-100, 100, allow_nan=False, allow_infinity=False)),
    min_size=2, max_size=12, unique_by=lambda t: t[0])


@settings(max_examples=200, deadline=None)
@given(keys_strategy, st.lists(st.sampled_from([Interp.BEZIER, Interp.LINEAR, Interp.EASE_IN,
                                                Interp.EASE_OUT, Interp.EASE_IN_OUT, Interp.CONSTANT]),
                               min_size=12, max_size=12))
def test_auto_clamped_never_leaves_neighbouring_key_range(pairs, interps) -> None:
    keys = tuple(Key(f, v, interps[i]) for i, (f, v) in enumerate(sorted(pairs)))
    c = KeyCurve(keys)
    frames = np.arange(keys[0].frame - 3, keys[-1].frame + 4)
    v = c.evaluate(frames)
    kf = np.array(c.frames)
    kv = np.array([k.value for k in c.keys])
    i = np.clip(np.searchsorted(kf, frames, side="right") - 1, 0, len(kf) - 2)
    lo = np.minimum(kv[i], kv[i + 1])
    hi = np.maximum(kv[i], kv[i + 1])
    tol = 1e-9 * (1 + np.abs(kv).max())
    assert np.all(v >= lo - tol) and np.all(v <= hi + tol)
    assert np.all(np.isfinite(v))
    # exact values at the keys
    assert np.array_equal(c.evaluate(kf), kv)


@settings(max_examples=50, deadline=None)
@given(keys_strategy)
def test_evaluation_is_batch_independent(pairs) -> None:
    c = KeyCurve(tuple(Key(f, v) for f, v in pairs))
    frames = np.arange(-210, 210)
    whole = c.evaluate(frames)
    single = np.array([c.evaluate(int(f))[0] for f in frames[::7]])
    assert np.array_equal(whole[::7], single)
