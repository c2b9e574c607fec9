"""A closing lid's stretched skin is painted smoothed along the lid (no vertical streaks),
and only where it is stretched."""

from __future__ import annotations

import numpy as np

from dexstudio.render.warp import eyes, lid_smooth
from dexstudio.render.warp.lid_smooth import stretched_lid_layer
from eye_shapes import frontal_face, lower_upper_lid

_EYE = eyes.RIGHT


def _lid_pixels(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) int pixel coordinates of the right eye's upper-lid band in the frame ``P``."""
    from dexstudio.render.warp.topology import face_topology
    from dexstudio.render.warp.warp_field import raster_triangle_ids

    topo = face_topology()
    roi = (0, 0, 512, 512)
    ids = raster_triangle_ids(P[:468, :2], P[:468, 2], topo.triangles, roi)
    lid = np.concatenate([[False], topo.tri_kind == 4])[ids]
    ys, xs = np.nonzero(lid)
    return xs, ys


def test_an_open_lid_is_not_stretched_and_a_closing_one_is_under_its_crease() -> None:
    src = frontal_face()
    xs, ys = _lid_pixels(src)
    _, _, same = eyes.lid_samples(xs.astype(np.float32), ys.astype(np.float32), _EYE, src, src)
    assert np.allclose(same, 1.0, atol=0.05)
    shut = lower_upper_lid(src, 0.05)
    xs, ys = _lid_pixels(shut)
    sx, sy, stretch = eyes.lid_samples(xs.astype(np.float32), ys.astype(np.float32), _EYE, src, shut)
    assert stretch.max() > lid_smooth._SMOOTH_FULL
    # the most stretched pixels lie in the band's upper part, under the crease
    top, bottom = np.percentile(ys, [10, 90])
    assert np.median(ys[stretch > lid_smooth._SMOOTH_FULL]) < 0.5 * (top + bottom)
    assert np.median(stretch[ys >= bottom]) < lid_smooth._SMOOTH_FROM  # the lash band slides, not stretched


def test_the_stretched_lid_is_painted_without_the_streaks() -> None:
    src = frontal_face()
    crop = np.full((512, 512, 3), 150, np.uint8)
    crop[:, ::2] = 90  # fine detail along the lid: every other column darker
    shut = lower_upper_lid(src, 0.05)
    xs, ys = _lid_pixels(shut)
    sx, sy, stretch = eyes.lid_samples(xs.astype(np.float32), ys.astype(np.float32), _EYE, src, shut)
    layer = stretched_lid_layer(crop, xs, ys, sx, sy, stretch, eyes.eye_axis(src, _EYE), eyes.eye_width(src, _EYE))
    assert layer is not None
    x0, y0, x1, y1 = layer.box
    a = layer.alpha[..., 0]
    full = a >= 1.0 - 1e-6
    assert full.any()
    # where painted in full, the stripes are gone: the colour is the stripes' mean
    assert np.abs(layer.rgb[full] - 120.0).max() < 8.0
    # alpha follows the stretch: none below _SMOOTH_FROM, in full from _SMOOTH_FULL
    inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    got = a[ys[inside] - y0, xs[inside] - x0]
    expect = np.clip((stretch[inside] - lid_smooth._SMOOTH_FROM)
                     / (lid_smooth._SMOOTH_FULL - lid_smooth._SMOOTH_FROM), 0.0, 1.0)
    assert np.allclose(got, expect, atol=1e-5)


def test_a_lid_as_the_source_shows_it_gets_no_smoothing() -> None:
    src = frontal_face()
    crop = np.full((512, 512, 3), 150, np.uint8)
    xs, ys = _lid_pixels(src)
    sx, sy, stretch = eyes.lid_samples(xs.astype(np.float32), ys.astype(np.float32), _EYE, src, src)
    assert stretched_lid_layer(crop, xs, ys, sx, sy, stretch, eyes.eye_axis(src, _EYE), 40.0) is None


def test_a_tilted_eye_is_smoothed_along_its_own_axis() -> None:
    """Stripes along a tilted eye's axis stay (its rows); stripes across it are smoothed."""
    yy, xx = np.mgrid[0:512, 0:512]
    axis = np.array([np.cos(np.deg2rad(30.0)), np.sin(np.deg2rad(30.0))])
    across = -xx * axis[1] + yy * axis[0]
    along = xx * axis[0] + yy * axis[1]
    n = 400
    rng = np.random.default_rng(0)
    xs, ys = rng.integers(200, 300, n), rng.integers(200, 300, n)
    one = np.full(n, lid_smooth._SMOOTH_FULL + 1.0, np.float32)
    for coord, should_stay in ((across, True), (along, False)):
        crop = np.where((np.floor(coord / 3.0) % 2 == 0)[..., None], 200, 60).astype(np.uint8).repeat(3, axis=2)
        layer = stretched_lid_layer(crop, xs, ys, xs.astype(np.float32), ys.astype(np.float32), one, axis, 40.0)
        x0, y0, _, _ = layer.box
        spread = float(layer.rgb[ys - y0, xs - x0, 0].std())
        assert (spread > 40.0) if should_stay else (spread < 15.0), (should_stay, spread)
