"""Closing lids: the lid band meets the mesh around it without a seam, and a closing eye
gets its lash line painted over the meeting margins (no bright line between them)."""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.render.warp import eyes
from dexstudio.render.warp.paint_layer import PaintLayer
from eye_shapes import blinking, frontal_face, lower_upper_lid


def _closing(P: np.ndarray, f: float, stretch: float = 1.0) -> np.ndarray:
    """The right eye's upper margin brought down to ``f`` of its distance to the lower
    lid, and the eye stretched along x by ``stretch`` about its outer corner (so the
    lid's points move unevenly along the lid)."""
    eye = eyes.RIGHT
    out = lower_upper_lid(P, f)
    ids = list(dict.fromkeys((*eye.contour, *eye.lid_crease)))
    x0 = P[eye.outer, 0]
    u = (P[ids, 0] - x0) / np.ptp(P[list(eye.contour), 0])
    out[ids, 0] = x0 + (P[ids, 0] - x0) * (stretch + 0.15 * np.sin(np.pi * u))  # uneven
    return out


@pytest.mark.parametrize("points, tol", [("lid_crease", 0.3), ("lid_margin", 0.55)])
def test_lid_band_maps_its_edge_landmarks_onto_their_own_source_points(points: str, tol: float) -> None:
    """At the crease and the margin the band's map agrees with the mesh's (landmark to
    landmark), so no seam outlines the lid when it stretches to close. (A closing
    margin samples 0.5 px above the source's, so it never shows the eyeball.)"""
    src = frontal_face()
    tgt = _closing(src, 0.3, stretch=1.1)
    ids = [i for i in getattr(eyes.RIGHT, points) if i not in (eyes.RIGHT.outer, eyes.RIGHT.inner)]
    xs = tgt[ids, 0].astype(np.float32)
    ys = tgt[ids, 1].astype(np.float32)
    if points == "lid_margin":
        ys = ys - 0.01  # just inside the band
    sx, sy = eyes.lid_map(xs, ys, eyes.RIGHT, src, tgt)
    err = np.hypot(sx - src[ids, 0], sy - src[ids, 1])
    assert err.max() < tol, err


def test_lash_strength_is_zero_open_one_shut_and_monotonic() -> None:
    src = frontal_face()
    fs = np.linspace(1.0, 0.0, 41)
    s = np.array([eyes.lash_strength(_closing(src, f), src, eyes.RIGHT) for f in fs])
    assert np.all(s[fs >= 0.3] == 0.0)
    assert s[-1] == pytest.approx(1.0)
    assert np.all(np.diff(s) >= -1e-12)  # a closing eye's line only darkens


def test_lash_layer_paints_the_margin_with_the_lash_colour() -> None:
    src = frontal_face()
    tgt = _closing(src, 0.0)
    rgb = np.array([40.0, 20.0, 10.0], np.float32)
    assert eyes.lash_layer(tgt, eyes.RIGHT, rgb, 0.0, 512) is None
    layer = eyes.lash_layer(tgt, eyes.RIGHT, rgb, 1.0, 512)
    assert isinstance(layer, PaintLayer)
    x0, y0, x1, y1 = layer.box
    assert 0 <= x0 < x1 <= 512 and 0 <= y0 < y1 <= 512
    assert np.allclose(layer.rgb, rgb)
    mid = [i for i in eyes.RIGHT.lid_pairs[0]]  # the middle of the upper margin
    a = [layer.alpha[int(round(tgt[i, 1])) - y0, int(round(tgt[i, 0])) - x0, 0] for i in mid]
    assert min(a) > 0.5 and layer.alpha.max() <= 0.85 + 1e-6
    assert layer.alpha[0, 0, 0] == 0.0  # a box corner, away from the line


def test_lash_colour_is_the_dark_line_above_the_margin() -> None:
    src = frontal_face()
    crop = np.full((512, 512, 3), 200, np.uint8)
    line = np.round(src[list(eyes.RIGHT.lid_margin), :2]).astype(int)
    for x, y in line:
        crop[y - 2:y + 1, x - 3:x + 4] = (30, 20, 15)
    c = eyes.lash_colour(crop, src, eyes.RIGHT)
    assert c.shape == (3,) and c.max() < 100


def test_paint_layers_combine_like_painting_one_after_the_other() -> None:
    rng = np.random.default_rng(2)
    base = rng.integers(0, 256, (20, 20, 3)).astype(np.uint8)
    a = PaintLayer((2, 3, 12, 11), rng.uniform(0, 255, (8, 10, 3)).astype(np.float32),
                   rng.uniform(0, 1, (8, 10, 1)).astype(np.float32))
    b = PaintLayer((8, 6, 17, 18), rng.uniform(0, 255, (12, 9, 3)).astype(np.float32),
                   rng.uniform(0, 1, (12, 9, 1)).astype(np.float32))
    one_by_one = base.copy()
    a.apply(one_by_one)
    b.apply(one_by_one)
    combined = base.copy()
    a.with_over(b).apply(combined)
    assert np.abs(one_by_one.astype(int) - combined).max() <= 1  # rounding once instead of twice
    assert a.with_over(None) is a


def test_a_blink_on_the_sample_paints_both_lash_lines(warp_animator, sample_state) -> None:
    own = sample_state.own_motion
    shut = warp_animator.render_frame(sample_state, blinking(own))
    opened = warp_animator.render_frame(sample_state, own)
    assert shut.paint is not None

    def painted_at(layer, point) -> float:
        if layer is None:
            return 0.0
        x0, y0, x1, y1 = layer.box
        x, y = np.round(point[:2]).astype(int)
        return float(layer.alpha[y - y0, x - x0, 0]) if (x0 <= x < x1 and y0 <= y < y1) else 0.0

    for i in (159, 386):  # open eyes: no lash line (the sample's paint is its mouth only)
        assert painted_at(opened.paint, opened.target[i]) == 0.0
    x0, y0, x1, y1 = shut.paint.box
    for i in (159, 386):  # the middle of each upper margin
        x, y = np.round(shut.target[i, :2]).astype(int)
        assert x0 <= x < x1 and y0 <= y < y1
        assert shut.paint.alpha[y - y0, x - x0, 0] > 0.3
    assert sample_state.payload.lash_rgb.shape == (2, 3)


def _canonical_with_gap(scale: float) -> np.ndarray:
    """The canonical face (y up) with the right eye's lids opened ``scale`` times as far."""
    from dexstudio.motion.face_model import load_canonical_face

    V = np.zeros((478, 3))
    V[:468] = load_canonical_face().vertices.astype(np.float64)
    for eye in (eyes.RIGHT, eyes.LEFT):
        ids = list(eye.contour)
        mid = V[[eye.outer, eye.inner], 1].mean()
        V[ids, 1] = mid + (V[ids, 1] - mid) * scale
    return V


def test_lid_scales_size_the_lids_to_the_portraits_own_eyes() -> None:
    closure = (eyes.canonical_lid_gap(_canonical_with_gap(1.0), eyes.RIGHT),
               eyes.canonical_lid_gap(_canonical_with_gap(1.0), eyes.LEFT))
    assert min(closure) > 0  # open eyes have a positive gap
    assert np.allclose(eyes.lid_scales(_canonical_with_gap(1.0), closure), 1.0)
    assert np.allclose(eyes.lid_scales(_canonical_with_gap(0.5), closure), 1.0)  # never below 1
    assert np.allclose(eyes.lid_scales(_canonical_with_gap(1.8), closure), 1.8, atol=0.05)
    assert np.allclose(eyes.lid_scales(_canonical_with_gap(4.0), closure), 2.5)  # bounded


def test_an_overshooting_upper_lid_is_laid_on_the_lower_one() -> None:
    """A generic blink beyond shut (small eyes) put the upper margin below the lower one."""
    src = frontal_face()
    tgt = _closing(src, -0.4)
    assert eyes.lid_gap(tgt, eyes.RIGHT) < 0
    eyes.close_lids(tgt, src, eyes.RIGHT)
    assert abs(eyes.lid_gap(tgt, eyes.RIGHT)) < 0.01 * eyes.lid_gap(src, eyes.RIGHT)


@pytest.mark.media
def test_a_hand_keyed_blink_shuts_a_big_eyed_cartoon(media_dir, warp_animator) -> None:
    """liveportrait_s7's eyes are ~1.7x a human's; a blink of 1 left them 41 % open."""
    from dexstudio.io.image import load_image

    st = warp_animator.prepare(load_image(media_dir / "source" / "liveportrait_s7.jpg"))
    assert np.all(st.payload.lid_scale > 1.5)
    P, _ = warp_animator.target_points(st, blinking(st.own_motion))
    L = st.payload.landmarks
    for eye in (eyes.RIGHT, eyes.LEFT):
        assert abs(eyes.lid_gap(P, eye)) < 0.02 * eyes.lid_gap(L, eye)


def test_human_sized_eyes_keep_the_basis_lid_motion(sample_state) -> None:
    assert np.all(np.abs(sample_state.payload.lid_scale - 1.0) < 0.05)  # measured 1.02, 1.03


@pytest.mark.parametrize("f", [1.3, 1.6, 2.0])
def test_a_widened_lid_samples_near_the_eye_even_at_its_corners(f: float) -> None:
    """An eye opened wider than the source's brings its margin within its lash band of
    the crease. Above the crease at the corners the band's source-per-target ratio
    divided by that vanishing gap: on liveportrait_s10 x liveportrait_d10 frame 89 the
    outer corner sampled ~(9000, -22000) px, a black fleck beside the far eye."""
    import cv2

    eye = eyes.RIGHT
    src = frontal_face()
    tgt = lower_upper_lid(src, f)
    # every pixel between the crease and the margin, corners included
    band = np.concatenate([tgt[list(eye.lid_crease), :2], tgt[list(eye.lid_margin)[::-1], :2]])
    mask = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(mask, [np.round(band).astype(np.int32)], 1)
    ys, xs = np.nonzero(mask)
    sx, sy = eyes.lid_map(xs.astype(np.float32), ys.astype(np.float32), eye, src, tgt)
    pts = src[[*eye.contour, *eye.lid_crease], :2]
    reach = eyes.eye_width(src, eye)
    assert len(xs) > 50
    assert sx.min() > pts[:, 0].min() - reach and sx.max() < pts[:, 0].max() + reach
    assert sy.min() > pts[:, 1].min() - reach and sy.max() < pts[:, 1].max() + reach
