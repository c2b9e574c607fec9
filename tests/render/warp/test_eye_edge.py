"""The eye opening's edge: repainted by the opening's true pixel coverage (no stair steps,
no dotted line of white between nearly shut lids), the gap of a closing eye in its lids'
shadow, and eyes as the source shows them left alone."""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.render.warp import eye_edge, eyes
from dexstudio.render.warp.eye_edge import (
    edge_weight,
    gap_shade,
    lid_triangles,
    opening_coverage,
    opening_edge_layer,
)
from dexstudio.render.warp.topology import face_topology
from dexstudio.render.warp.warp_field import raster_triangle_ids
from eye_shapes import blinking, frontal_face, lower_upper_lid

_EYE = eyes.RIGHT
_WHITE, _LID = 240.0, 60.0


def _shoelace(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _luts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    topo = face_topology()
    opening = topo.tri_kind == 2
    lid = lid_triangles(topo.triangles, _EYE, opening)
    return topo.triangles, np.concatenate([[False], opening]), np.concatenate([[False], lid])


def _eye_scene(P: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """A 512 x 512 image: the right eye's opening pixels white, everything else lid-dark;
    and the face's triangle raster over a window around that eye."""
    tri, opening_lut, _ = _luts()
    poly = P[list(_EYE.contour), :2]
    roi = (int(poly[:, 0].min()) - 12, int(poly[:, 1].min()) - 12,
           int(poly[:, 0].max()) + 12, int(poly[:, 1].max()) + 12)
    ids = raster_triangle_ids(P[:468, :2], P[:468, 2], tri, roi)
    image = np.full((512, 512, 3), _LID, np.uint8)
    x0, y0, x1, y1 = roi
    image[y0:y1, x0:x1][opening_lut[ids]] = _WHITE
    return image, ids, roi


def test_coverage_adds_up_to_the_openings_area() -> None:
    for f in (1.0, 0.3, 0.06):  # open, half shut, a sliver
        P = lower_upper_lid(frontal_face(), f)
        poly = P[list(_EYE.contour), :2]
        box = (int(poly[:, 0].min()) - 3, int(poly[:, 1].min()) - 3,
               int(poly[:, 0].max()) + 4, int(poly[:, 1].max()) + 4)
        cov = opening_coverage(P, _EYE, box)
        assert cov.min() >= 0.0 and cov.max() <= 1.0
        assert cov.sum() == pytest.approx(_shoelace(poly), rel=0.02, abs=0.6)


def test_a_sliver_of_an_opening_is_a_faint_even_line_not_a_row_of_dots() -> None:
    P = lower_upper_lid(frontal_face(), 0.06)  # a gap well under a pixel tall
    image, ids, roi = _eye_scene(P)
    _, opening_lut, lid_lut = _luts()
    layer = opening_edge_layer(image, ids, roi, opening_lut, lid_lut, P, _EYE)
    assert layer is not None
    out = image.copy()
    layer.apply(out)
    # light per column along the middle of the eye (the corners are pointed), in pixels of white
    x_a, x_b = np.sort(P[[_EYE.outer, _EYE.inner], 0])
    cols = np.arange(int(x_a + 0.3 * (x_b - x_a)), int(x_a + 0.7 * (x_b - x_a)))
    rows = slice(roi[1], roi[3])

    def light(img: np.ndarray) -> np.ndarray:
        return (img[rows, cols, 1].astype(np.float64) - _LID).sum(axis=0) / (_WHITE - _LID)

    before, after = light(image), light(out)
    cov = opening_coverage(P, _EYE, (0, 0, 512, 512))
    truth = cov[rows, cols].sum(axis=0)  # the gap's height in each column, pixels
    assert before.std() > 0.3  # whole pixels: a dotted line
    assert np.abs(after - truth).max() < 0.2
    assert after.std() < 0.5 * before.std()


def test_an_occluder_beside_the_opening_keeps_its_own_edge() -> None:
    P = lower_upper_lid(frontal_face(), 0.4)
    image, ids, roi = _eye_scene(P)
    tri, opening_lut, lid_lut = _luts()
    # the pixels around the opening's inner half belong to a triangle far from the eye
    # (the nose of a turned head drawn over the far eye)
    nose = int(np.nonzero(~opening_lut[1:] & ~lid_lut[1:])[0][0]) + 1
    x0, y0, _, _ = roi
    cx = int(P[_EYE.inner, 0]) - x0
    covered = (~opening_lut[ids]) & (np.arange(ids.shape[1])[None, :] > cx - 8)
    ids = np.where(covered, nose, ids)
    image[y0:y0 + ids.shape[0], x0:x0 + ids.shape[1]][covered] = (200, 30, 30)
    out = image.copy()
    layer = opening_edge_layer(image, ids, roi, opening_lut, lid_lut, P, _EYE)
    assert layer is not None
    layer.apply(out)
    region = (slice(y0, y0 + ids.shape[0]), slice(x0, x0 + ids.shape[1]))
    assert np.array_equal(out[region][covered], image[region][covered])
    # the lids' side of the edge is still repainted
    assert (out[region][~covered] != image[region][~covered]).any()


def test_the_gap_of_a_closing_eye_darkens_towards_the_lash_colour() -> None:
    L = frontal_face()
    shades = [gap_shade(eyes.relative_lid_gap(lower_upper_lid(L, f), L, _EYE)) for f in (1.0, 0.9, 0.6, 0.3, 0.1, 0.0)]
    assert shades[0] == 0.0 and shades[1] == 0.0  # open as the source, or nearly
    assert all(b >= a for a, b in zip(shades, shades[1:]))
    assert shades[-1] == pytest.approx(eye_edge._GAP_SHADE)
    # painted: the opening's pixels take the lash colour in that share
    P = lower_upper_lid(L, 0.3)
    image, ids, roi = _eye_scene(P)
    _, opening_lut, lid_lut = _luts()
    lash = np.array([20.0, 10.0, 10.0], np.float32)
    s = gap_shade(eyes.relative_lid_gap(P, L, _EYE))
    layer = opening_edge_layer(image, ids, roi, opening_lut, lid_lut, P, _EYE, s, lash)
    out = image.copy()
    layer.apply(out)
    cov = opening_coverage(P, _EYE, (0, 0, 512, 512))
    deep = cov > 0.999  # wholly inside: eyeball mixed with the lash colour only
    assert deep.any()
    expect = _WHITE * (1 - s) + lash * s
    assert np.abs(out[deep].astype(np.float64) - expect).max() <= 1.0


def test_an_eye_as_the_source_shows_it_keeps_its_pixels() -> None:
    L = frontal_face()
    assert edge_weight(eyes.relative_lid_gap(L, L, _EYE), gaze=0.0) == 0.0
    assert edge_weight(eyes.relative_lid_gap(L, L, _EYE), gaze=1.0) == 1.0  # a moved iris against the lids
    assert edge_weight(eyes.relative_lid_gap(L, L, _EYE), gaze=0.3) == 0.3  # fading in with a small gaze
    assert edge_weight(eyes.relative_lid_gap(lower_upper_lid(L, 0.8), L, _EYE), gaze=0.0) == 1.0
    # a lid gap near the source's fades the edge in: no switch a hovering gap flickers on
    w = [edge_weight(r, gaze=0.0) for r in np.linspace(1.0, 0.9, 11)]
    assert w[0] == 0.0 and w[-1] == 1.0 and np.all(np.diff(w) > 0) and max(np.diff(w)) < 0.2
    assert edge_weight(0.95, gaze=0.7) == 0.7 and edge_weight(0.93, gaze=0.1) > 0.5


def test_a_half_shut_eye_on_the_sample_shows_a_shaded_gap(warp_animator, sample_state, monkeypatch) -> None:
    motion = blinking(sample_state.own_motion, 0.55)
    shaded = warp_animator.render_frame(sample_state, motion)
    monkeypatch.setattr(eye_edge, "_GAP_SHADE", 0.0)
    plain = warp_animator.render_frame(sample_state, motion)
    P = shaded.target
    ratio = eyes.relative_lid_gap(P, sample_state.payload.landmarks, _EYE)
    assert 0.0 < ratio < eye_edge._SHADE_FROM  # a real gap, narrow enough to be shaded
    cov = opening_coverage(P, _EYE, (0, 0, 512, 512)) > 0.999
    assert cov.sum() >= 10
    lum_shaded = shaded.image[cov].astype(np.float64).mean()
    lum_plain = plain.image[cov].astype(np.float64).mean()
    assert lum_shaded < lum_plain - 5.0
