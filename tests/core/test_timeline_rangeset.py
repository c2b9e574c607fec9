"""RangeSet: normalisation, construction from masks/frames, algebra."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dexstudio.core.rangeset import RangeSet
from dexstudio.core.timebase import FrameRange


def test_basics() -> None:
    r = RangeSet.of((5, 8), FrameRange(0, 2), (7, 10), (2, 3), (20, 20))
    assert r.ranges == ((0, 3), (5, 10))
    assert len(r) == 8 and 6 in r and 4 not in r and "x" not in r
    assert list(r) == [FrameRange(0, 3), FrameRange(5, 10)]
    assert r.bounds() == FrameRange(0, 10)
    assert r.intersect(FrameRange(2, 6)).ranges == ((2, 3), (5, 6))
    assert (r | RangeSet.of((3, 5))).ranges == ((0, 10),)
    assert RangeSet.empty().is_empty and not RangeSet.empty() and RangeSet.empty().bounds() is None
    assert str(r) == "{0:3, 5:10}"


@given(st.lists(st.booleans(), max_size=200), st.integers(-50, 50))
def test_from_mask_round_trip(mask, first) -> None:
    m = np.array(mask, dtype=bool)
    r = RangeSet.from_mask(first, m)
    assert np.array_equal(r.frames(), np.flatnonzero(m) + first)
    assert RangeSet.from_frames(r.frames().tolist()) == r
    for (a, b), (c, _) in zip(r.ranges, r.ranges[1:]):
        assert a < b < c  # sorted, disjoint, not touching
