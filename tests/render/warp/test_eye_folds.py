"""The far eye of a turned portrait: its lid lines fold at the outer corner (they run
almost straight up there, seen edge-on), and closing it must not zig-zag its lashes."""

from __future__ import annotations

import numpy as np

from dexstudio.render.warp import eyes
from eye_shapes import frontal_face, lower_upper_lid


def _folded_source() -> np.ndarray:
    """The frontal face with the right eye's upper margin folded at its outer corner:
    its first points run straight up from the corner and slightly beyond it, as
    MediaPipe places them on liveportrait_s10's far eye (u 0, -0.02, -0.02, 0.03 while
    v runs 0 to -7.8 px)."""
    P = frontal_face()
    x0, y0 = P[eyes.RIGHT.outer, :2]
    for i, (dx, dy) in zip((246, 161, 160), ((-0.6, -2.0), (-0.5, -4.5), (0.8, -7.5))):
        P[i, :2] = (x0 + dx, y0 + dy)
    return P


def test_a_closing_lid_follows_a_folded_source_margin_without_zig_zag() -> None:
    src = _folded_source()
    tgt = lower_upper_lid(frontal_face(), 0.0)  # shut, not folded
    eye = eyes.RIGHT
    a, e, n, w = eyes._eye_frame(tgt, eye)
    # just above the shut margin, from the outer corner 30 % of the way along the lid
    u = np.linspace(0.02, 0.3, 80)
    line = a + np.outer(u * w, e) - 1.0 * n
    sx, sy = eyes.lid_map(line[:, 0].astype(np.float32), line[:, 1].astype(np.float32), eye, src, tgt)
    # the samples climb the folded margin and then run along it: their height above the
    # source's corner only grows along the way (a zig-zag goes up and down)
    a_s, e_s, n_s, _ = eyes._eye_frame(src, eye)
    height = -((np.stack([sx, sy], 1) - a_s) @ n_s)
    assert np.all(np.diff(height) > -0.1)  # measured -0.04 (-1.3 on the zig-zag)
    assert height[-1] - height[0] > 3.0  # they do climb the fold
