"""A closing eye's lashes hang from its lid: the lid band takes the standing lashes off
(lid_map's lift) and the hanging lash layer paints them, mirrored, under the margin."""

from __future__ import annotations

import numpy as np

from dexstudio.render.warp import eyes, lashes
from eye_shapes import blinking, frontal_face, lower_upper_lid

_EYE = eyes.RIGHT
_SKIN, _LASH = 200, 25


def _margin_line(P: np.ndarray) -> np.ndarray:
    """(K, 2) the upper margin, outer to inner corner, densely resampled."""
    ids = list(dict.fromkeys((_EYE.outer, *_EYE.lid_margin, _EYE.inner)))
    pts = P[ids, :2]
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], 400)
    return np.stack([np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])], 1)


def _lashed_crop(P: np.ndarray, every: int = 40, length: float = 4.0) -> np.ndarray:
    """Light skin with dark vertical lashes standing ``length`` px above the margin."""
    crop = np.full((512, 512, 3), _SKIN, np.uint8)
    line = _margin_line(P)
    for x, y in line[every // 2::every]:
        xi = int(round(x))
        crop[int(round(y - length)):int(round(y)) + 1, xi] = _LASH
    return crop


def test_a_lifted_lid_band_shows_the_skin_above_its_lashes_over_their_roots() -> None:
    src = frontal_face()
    tgt = lower_upper_lid(src, 0.05)
    ft, fs, (tm, vtm, _, vsm), (tc, _, _, vsc) = eyes.lid_margin_frames(tgt, src, _EYE)
    at, et, nt, wt = ft
    u = np.array([0.35, 0.5, 0.65])
    m_t = np.interp(u, tm, vtm)
    band = eyes.lash_band(src, _EYE, np.interp(u, tm, vsm), np.interp(u, tc, vsc))
    k = fs[3] / wt

    def source_v(height_px: np.ndarray, lift: float) -> np.ndarray:
        """Source v (along its downward normal) of target pixels ``height_px`` above the margin."""
        pts = at + np.outer(u * wt, et) + np.outer(m_t - height_px, nt)
        sx, sy = eyes.lid_map(pts[:, 0].astype(np.float32), pts[:, 1].astype(np.float32), _EYE, src, tgt,
                              lift=lift)
        return (np.stack([sx, sy], 1) - fs[0]) @ fs[2]

    roots = 0.5 * eyes._LIFT_KEEP * band / k  # within the lash line's roots: not lifted
    assert np.allclose(source_v(roots, 1.0), source_v(roots, 0.0), atol=1e-3)
    tips = 0.95 * band / k  # near the band's top: lifted by the rest of the band
    lifted = source_v(tips, 0.0) - source_v(tips, 1.0)
    assert np.allclose(lifted, (1.0 - eyes._LIFT_KEEP) * band, rtol=0.02)
    half = source_v(tips, 0.0) - source_v(tips, 0.5)
    assert np.allclose(half, 0.5 * lifted, rtol=0.02)


def test_a_shut_eye_hangs_its_lashes_under_the_margin() -> None:
    src = frontal_face()
    tgt = lower_upper_lid(src, 0.0)
    crop = _lashed_crop(src)
    rgb = np.array([_LASH] * 3, np.float32)
    assert lashes.hanging_lash_layer(crop, src, tgt, _EYE, rgb, 0.0) is None  # open: nothing
    layer = lashes.hanging_lash_layer(crop, src, tgt, _EYE, rgb, 1.0)
    assert layer is not None
    x0, y0, x1, y1 = layer.box
    alpha = layer.alpha[..., 0]
    # every standing lash hangs under the frame's margin, at its own place along the lid
    line = _margin_line(tgt)
    hung = 0
    for x, y in _margin_line(src)[20::40]:
        t = line[np.argmin(np.abs(line[:, 0] - x))]
        col = int(round(t[0])) - x0
        rows = slice(int(round(t[1])) + 1 - y0, int(round(t[1])) + 4 - y0)  # 1-3 px below the margin
        if 0 <= col < x1 - x0:
            hung += alpha[rows, col].max() > 0.5
    assert hung >= 6
    # nothing above the margin, and the skin between the lashes stays clear
    assert alpha.mean() < 0.2
    above = [alpha[: max(int(round(y)) - 1 - y0, 0), int(round(x)) - x0].max(initial=0.0)
             for x, y in line[::25] if x0 <= round(x) < x1]
    assert max(above) == 0.0


def test_a_lid_without_dark_lashes_hangs_nothing() -> None:
    src = frontal_face()
    crop = np.full((512, 512, 3), _SKIN, np.uint8)  # bare lid (a pale or lash-less portrait)
    rgb = np.array([_SKIN - 5] * 3, np.float32)
    assert lashes.hanging_lash_layer(crop, src, lower_upper_lid(src, 0.0), _EYE, rgb, 1.0) is None


def test_a_blink_on_the_sample_hangs_its_lashes(warp_animator, sample_state) -> None:
    shut = warp_animator.render_frame(sample_state, blinking(sample_state.own_motion))
    p = sample_state.payload
    for eye, rgb in zip((eyes.RIGHT, eyes.LEFT), p.lash_rgb):
        strength = eyes.lash_strength(shut.target, p.landmarks, eye)
        assert strength > 0.9
        layer = lashes.hanging_lash_layer(p.crop, p.landmarks, shut.target, eye, rgb, strength)
        assert layer is not None and layer.alpha.max() > 0.5
        assert any(lay.box == layer.box and np.array_equal(lay.alpha, layer.alpha) for lay in shut.layers)
