"""Eyes: the eyeball moves rigidly under the lids (blinks cover, never squash, the iris)
and the iris shifts with gaze.

Inside the target eye opening the source is sampled through the similarity that maps
the source eye corners to the target eye corners (:func:`rigid_eyeball`). A gaze moves
the iris over that eyeball as a disc (the shift it returns,
:func:`dexstudio.render.warp.eyeball.gaze_eyeball_layer`); :func:`eyeball_map`'s smooth
shift falling off around the iris serves a source that shows too little white to paint
behind its iris. Where a sample lands outside the source's own eye opening (the target
eye opens wider than the source's), :mod:`dexstudio.render.warp.eyeball` paints the
eyeball continued under the source's lids.

Lids: the upper-lid band (crease to margin) slides its lash line with the margin
(:func:`lid_map`), a nearly shut eye is drawn shut (:func:`close_lids`), and a closing
eye gets its lash line painted where the margins meet (:func:`lash_layer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from dexstudio.motion import landmark_sets as ls
from dexstudio.render.warp import topology as topo
from dexstudio.render.warp.paint_layer import PaintLayer
from dexstudio.render.warp.warp_field import sample_at


def _dot2(d: np.ndarray, e: np.ndarray) -> np.ndarray:
    """(N, 2) . (2,) elementwise (a BLAS gemv here wakes spinning worker threads)."""
    return d[:, 0] * e[0] + d[:, 1] * e[1]


@dataclass(frozen=True, eq=False)
class EyeSpec:
    """Landmark ids of one eye."""

    contour: tuple[int, ...]
    outer: int
    inner: int
    iris_center: int
    iris_ring: tuple[int, ...]
    lid_margin: tuple[int, ...]
    lid_crease: tuple[int, ...]
    #: facing points of the lid margins in the middle of the eye: (upper ids, lower ids)
    lid_pairs: tuple[tuple[int, ...], tuple[int, ...]]


RIGHT = EyeSpec(ls.RIGHT_EYE, ls.RIGHT_EYE_OUTER, ls.RIGHT_EYE_INNER, ls.RIGHT_IRIS_CENTER, ls.RIGHT_IRIS,
                topo.RIGHT_LID_MARGIN, topo.RIGHT_LID_CREASE, ((160, 159, 158), (144, 145, 153)))
LEFT = EyeSpec(ls.LEFT_EYE, ls.LEFT_EYE_OUTER, ls.LEFT_EYE_INNER, ls.LEFT_IRIS_CENTER, ls.LEFT_IRIS,
               topo.LEFT_LID_MARGIN, topo.LEFT_LID_CREASE, ((387, 386, 385), (373, 374, 380)))


def eye_width(lm: np.ndarray, eye: EyeSpec) -> float:
    """Corner-to-corner width of one eye, in the units of ``lm`` (1 for a degenerate eye)."""
    return float(np.linalg.norm(lm[eye.inner, :2].astype(np.float64) - lm[eye.outer, :2])) or 1.0


def _eye_frame(lm: np.ndarray, eye: EyeSpec):
    a = lm[eye.outer, :2].astype(np.float64)
    b = lm[eye.inner, :2].astype(np.float64)
    width = eye_width(lm, eye)
    e = (b - a) / width
    n = np.array([-e[1], e[0]])
    if n[1] < 0:  # the normal points down the image (from the brow to the cheek)
        n = -n
    return a, e, n, width


def eye_axis(lm: np.ndarray, eye: EyeSpec) -> np.ndarray:
    """(2,) float64 unit vector from one eye's outer corner to its inner corner."""
    return _eye_frame(lm, eye)[1]


def _curve(lm: np.ndarray, ids: tuple[int, ...], a, e, n, width):
    d = lm[list(ids), :2] - a
    u = _dot2(d, e) / width
    v = _dot2(d, n)
    o = np.argsort(u)
    return u[o], v[o]


def _lid_pairs(target: np.ndarray, source: np.ndarray, ids: tuple[int, ...], frame_t, frame_s):
    """The points ``ids`` (a lid line) in landmark order from the outer to the inner
    corner: their (u, v) in the target's eye frame (u made non-decreasing) and their
    (u, v) in the source's (eye widths, pixels).

    Both lines are taken point by point along the line, not as functions of their own
    u: the far eye of a turned portrait folds its lid lines at the outer corner (u goes
    back and forth while v runs 8 px), and a curve sorted by u zig-zags there, drawing
    a closing lid's lashes as a zig-zag.
    """
    at, et, nt, wt = frame_t
    as_, es, ns, ws = frame_s
    idx = list(ids)
    dt = target[idx, :2] - at
    ut, vt = _dot2(dt, et) / wt, _dot2(dt, nt)
    d = source[idx, :2] - as_
    us, vs = _dot2(d, es) / ws, _dot2(d, ns)
    if ut[-1] < ut[0]:  # listed from the inner corner
        ut, vt, us, vs = ut[::-1], vt[::-1], us[::-1], vs[::-1]
    return np.maximum.accumulate(ut), vt, us, vs


def _interp_slope1(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Piecewise-linear through (xp, fp), continued with slope 1 beyond the ends (no
    clamping: clamped ends would smear the lid's corners onto one source column)."""
    y = np.interp(x, xp, fp)
    y = np.where(x < xp[0], fp[0] + (x - xp[0]), y)
    return np.where(x > xp[-1], fp[-1] + (x - xp[-1]), y)


#: the lifted lashes (:func:`lid_map`) stay put within this share of the eye's width from
#: its corners, where the lid band meets the mesh around it (lifted there, the lid's
#: outline jogged at the corner; further in, a source's long outer lashes stood up)
_LIFT_CORNER = 0.03
#: the lowest share of the lash band (the lashes' roots, any eyeliner) stays on a closing
#: lid; the rest is lifted off. Eye error on blink frames in self-reenactment (d10 + d0 +
#: d7 + d3): lifting all of it took d10's eyeliner off (d10 24.3 -> 27.1); kept 0.35:
#: 73.6, 0.6: 72.9, 0.8: 72.6 (with hanging lashes 0.7 long; nothing lifted: 72.7)
_LIFT_KEEP = 0.8


def lash_band(source: np.ndarray, eye: EyeSpec, m_s: np.ndarray, c_s: np.ndarray) -> np.ndarray:
    """(N,) height of the source's lash band above its lid margin, pixels: 22 % of the
    eye's opening, at most 45 % of the crease-to-margin distance ``m_s - c_s`` (the
    margin's and the crease's v in the source's eye frame, pixels, at N points)."""
    as_, _, ns, _ = _eye_frame(source, eye)
    lower = source[list(eye.contour), :2]
    opening = float(np.ptp((lower - as_) @ ns)) or 1.0
    return np.minimum(0.22 * opening, 0.45 * np.maximum(m_s - c_s, 0.0))


def lid_margin_frames(target: np.ndarray, source: np.ndarray, eye: EyeSpec):
    """The upper lid's margin and crease in both eye frames (for :func:`lid_map` and the
    hanging lashes): ``(frame_t, frame_s, margin, crease)``, each frame ``(a, e, n,
    width)`` and each line :func:`_lid_pairs`' ``(u_t, v_t, u_s, v_s)``."""
    ft, fs = _eye_frame(target, eye), _eye_frame(source, eye)
    return (ft, fs, _lid_pairs(target, source, eye.lid_margin, ft, fs),
            _lid_pairs(target, source, eye.lid_crease, ft, fs))


def lid_map(xs: np.ndarray, ys: np.ndarray, eye: EyeSpec, source: np.ndarray,
            target: np.ndarray, lift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Source positions for target pixels of the upper-lid band: :func:`lid_samples`
    without the stretch."""
    sx, sy, _ = lid_samples(xs, ys, eye, source, target, lift)
    return sx, sy


def lid_samples(xs: np.ndarray, ys: np.ndarray, eye: EyeSpec, source: np.ndarray,
                target: np.ndarray, lift: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source positions for target pixels of the upper-lid band (crease to lid margin).

    The lash line (a band just above the margin) slides with the margin instead of
    being stretched; the lid skin between the crease and the lashes stretches or folds.
    This is what makes a blink look like a lid closing, not a smear of lashes.

    Args:
        xs, ys: (N,) target pixel coordinates (crop).
        source, target: (478, 2+) landmarks, crop pixels.
        lift: 0..1, how far the lashes standing above the source's margin are taken off
            the lid (1: the band shows the skin above them). A shut eye's lashes hang
            from its margin (:mod:`dexstudio.render.warp.lashes`).
    Returns:
        (sx, sy, stretch): (N,) float32 source positions, and (N,) float32 how many times
        more target rows than the face's scale gives each source row across the lid there
        (1: not stretched; a closing lid's skin under the crease is stretched most).
    """
    ft, fs, (tm, vtm, usm, vsm), (tc, vtc, usc, vsc) = lid_margin_frames(target, source, eye)
    at, et, nt, wt = ft
    as_, es, ns, ws = fs
    d = np.stack([xs, ys], -1).astype(np.float64) - at
    u = _dot2(d, et) / wt
    v = _dot2(d, nt)
    # along the lid: each crease and margin landmark lands on its own source position
    # (as the mesh around the band maps them, so the band's edge shows no seam), linear
    # in between and across the band
    c_t, m_t = np.interp(u, tc, vtc), np.interp(u, tm, vtm)
    uc, um = _interp_slope1(u, tc, usc), _interp_slope1(u, tm, usm)
    c_s, m_s = np.interp(u, tc, vsc), np.interp(u, tm, vsm)
    k = ws / wt
    band = lash_band(source, eye, m_s, c_s)
    top_t = m_t - band / k
    top_s = m_s - band
    in_band = v > top_t
    # lifted lashes: above the lash line's roots (``_LIFT_KEEP`` of the band: they and any
    # eyeliner stay on the lid) the band and the lid above it sample the source as if its
    # margin were ``shift`` higher, so they show the skin above the lashes (continuous at
    # the band's top; none at the corners, where the band meets the mesh around it)
    shift = (float(np.clip(lift, 0.0, 1.0)) * (1.0 - _LIFT_KEEP) * band
             * np.clip(np.minimum(u, 1.0 - u) / _LIFT_CORNER, 0.0, 1.0))
    roots = (m_t - v) * k < _LIFT_KEEP * band
    span_t = np.maximum(top_t - c_t, 1e-3)
    span_s = np.maximum(top_s - shift - c_s, 1e-3)
    # a closing lid shows the skin that was folded under the crease: sample mostly near
    # the crease (power curve) instead of stretching the dark lid shadow
    gamma = np.clip(span_t * k / span_s, 1.0, 3.0)
    r_lin = (v - c_t) / span_t
    curved = (r_lin > 0) & (r_lin < 1)
    r = np.where(curved, np.clip(r_lin, 0, 1) ** gamma, r_lin)
    # above the crease (beyond its end landmarks, at the corners) the source continues at
    # the face's scale k. The band's own ratio span_s / span_t blew up there where a
    # widened eye's margin comes within its lash band of the crease (span_t -> 0):
    # samples thousands of pixels off, a black fleck at a three-quarter portrait's far
    # eye corner
    above = r_lin < 0
    skin = np.where(above, c_s + (v - c_t) * k, c_s + r * span_s)
    vs = np.where(in_band, (v - m_t) * k + m_s - np.where(roots, 0.0, shift), skin)
    # source rows per target row across the lid, against the face's scale k
    dvs = np.where(above, k, np.where(curved, gamma * np.clip(r_lin, 1e-3, 1.0) ** (gamma - 1.0), 1.0)
                   * span_s / span_t)
    stretch = np.where(in_band, 1.0, k / np.maximum(dvs, 1e-3))
    # a closing lid never shows the eyeball from its own band (no white sliver at the corners)
    closing = (m_t - c_t) * k - (m_s - c_s) > 1.0
    vs = np.where(closing, np.minimum(vs, m_s - 0.5), vs)
    across = np.clip((v - c_t) / np.maximum(m_t - c_t, 1e-3), 0.0, 1.0)
    us = uc + across * (um - uc)
    p = as_ + np.outer(us * ws, es) + np.outer(vs, ns)
    return p[:, 0].astype(np.float32), p[:, 1].astype(np.float32), stretch.astype(np.float32)


def eye_mask(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(S, S) uint8 mask (255 inside) of both source eye openings, crop pixels."""
    m = np.zeros((size, size), np.uint8)
    for e in (RIGHT, LEFT):
        poly = np.round(landmarks[list(e.contour), :2] * 16).astype(np.int32)
        cv2.fillPoly(m, [poly], 255, cv2.LINE_8, 4)
    return m


def similarity(src_a: np.ndarray, src_b: np.ndarray, dst_a: np.ndarray, dst_b: np.ndarray) -> np.ndarray:
    """2x3 similarity taking segment (src_a, src_b) onto (dst_a, dst_b)."""
    vs = src_b - src_a
    vd = dst_b - dst_a
    den = float(vs @ vs) or 1.0
    a = float(vs @ vd) / den
    b = float(vs[0] * vd[1] - vs[1] * vd[0]) / den
    R = np.array([[a, -b], [b, a]])
    t = dst_a - R @ src_a
    return np.concatenate([R, t[:, None]], 1)


def eye_similarity(eye: EyeSpec, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(2, 3) float64 similarity taking the source eye's corners onto the frame's: the
    eyeball's rigid motion (source crop pixels -> frame crop pixels)."""
    return similarity(source[eye.outer, :2], source[eye.inner, :2],
                      target[eye.outer, :2], target[eye.inner, :2]).astype(np.float64)


def rigid_eyeball(xs: np.ndarray, ys: np.ndarray, eye: EyeSpec, source: np.ndarray,
                  target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rigidly moved eyeball under target pixels, and the gaze on it.

    Returns:
        (sx, sy, shift): (N,) float32 source positions of the pixels on the eyeball moved
        by :func:`eye_similarity` (no gaze), and (2,) how far the iris moves on that
        eyeball, source crop pixels (the frame's iris centre taken back through the
        similarity, minus the source's).
    """
    Minv = cv2.invertAffineTransform(eye_similarity(eye, source, target))
    sx = Minv[0, 0] * xs + Minv[0, 1] * ys + Minv[0, 2]
    sy = Minv[1, 0] * xs + Minv[1, 1] * ys + Minv[1, 2]
    shift = Minv[:, :2] @ target[eye.iris_center, :2] + Minv[:, 2] - source[eye.iris_center, :2]
    return sx.astype(np.float32), sy.astype(np.float32), shift


def eyeball_map(xs: np.ndarray, ys: np.ndarray, eye: EyeSpec, source: np.ndarray,
                target: np.ndarray, src_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source positions for target pixels inside one eye opening.

    Args:
        xs, ys: (N,) float32 target pixel coordinates (crop).
        eye: which eye.
        source, target: (478, 2+) landmarks (crop pixels) of the source and of the frame.
        src_mask: (S, S) uint8 source eye-opening mask.
    Returns:
        (sx, sy, ok): (N,) float32 source positions and (N,) bool, False where the
        rigid eyeball sample falls outside the source opening (keep the mesh map there).
    """
    M = eye_similarity(eye, source, target)
    Minv = cv2.invertAffineTransform(M)
    iris_t = target[eye.iris_center, :2]
    g = iris_t - (M[:, :2] @ source[eye.iris_center, :2] + M[:, 2])
    r = float(np.linalg.norm(target[list(eye.iris_ring), :2] - iris_t, axis=1).mean()) or 1.0
    w = np.exp(-((xs - iris_t[0]) ** 2 + (ys - iris_t[1]) ** 2) / (2.0 * (1.4 * r) ** 2)).astype(np.float32)
    qx = xs - g[0] * w
    qy = ys - g[1] * w
    sx = (Minv[0, 0] * qx + Minv[0, 1] * qy + Minv[0, 2]).astype(np.float32)
    sy = (Minv[1, 0] * qx + Minv[1, 1] * qy + Minv[1, 2]).astype(np.float32)
    S = src_mask.shape[0]
    ix = np.clip(np.round(sx).astype(np.int32), 0, S - 1)
    iy = np.clip(np.round(sy).astype(np.int32), 0, S - 1)
    ok = src_mask[iy, ix] > 0
    return sx, sy, ok


#: eyes tracked at most this open (lid gap relative to the source's, :func:`lid_gap`) are
#: drawn shut: MediaPipe's mesh leaves a shut eye 7-15 % open (liveportrait_d10, frames
#: 223 and 333-335: eyes fully shut in the video, blink scores 0.69-0.74), which
#: rendered as a grey sliver of eyeball under the lashes
_SHUT_BELOW = 0.15
#: above this, the opening is drawn as tracked; in between it eases (C1) from shut to it
_SHUT_EASE_TO = 0.4


def eased_opening(ratio: float) -> float:
    """The lid gap to draw for a tracked one, both relative to the source's: 0 up to
    ``_SHUT_BELOW``, a cubic ease in between (slope 0 at its start; value
    ``_SHUT_EASE_TO`` and slope 1 at its end), unchanged above."""
    a, b = _SHUT_BELOW, _SHUT_EASE_TO
    if ratio >= b:
        return ratio
    if ratio <= a:
        return 0.0
    t = (ratio - a) / (b - a)
    return b * (3 * t * t - 2 * t ** 3) + (b - a) * (t ** 3 - t * t)


def _lower_lid(eye: EyeSpec) -> tuple[int, ...]:
    """The lower lid's contour points, corners included."""
    return tuple(i for i in eye.contour if i not in eye.lid_margin) + (eye.outer, eye.inner)


def lid_gap(lm: np.ndarray, eye: EyeSpec) -> float:
    """Mean distance between facing points of the lid margins (``EyeSpec.lid_pairs``)
    across the corner line, in eye widths (0 = shut)."""
    _, _, n, w = _eye_frame(lm, eye)
    up, lo = eye.lid_pairs
    return float(np.mean(_dot2(lm[list(lo), :2] - lm[list(up), :2], n))) / w


def close_lids(target: np.ndarray, source: np.ndarray, eye: EyeSpec) -> None:
    """Draw a nearly closed eye shut (in place): the upper lid's margin comes down towards
    the lower lid so the gap is :func:`eased_opening` of the tracked one (corners and
    lower lid stay; the lid band above follows its margin in :func:`lid_map`).

    Args:
        target: (478, 2+) the frame's points, crop pixels; the upper lid margin is moved.
        source: (478, 2+) the source's points, crop pixels.
        eye: which eye.
    """
    g_s = lid_gap(source, eye)
    if g_s <= 1e-6:
        return
    ratio = lid_gap(target, eye) / g_s  # < 0: the upper margin overshoots the lower one
    drawn = eased_opening(max(ratio, 0.0))
    if drawn >= ratio >= 0.0:
        return
    f = drawn / ratio if ratio > 0 else 0.0  # an overshooting lid is laid on the lower one
    at, et, nt, wt = _eye_frame(target, eye)
    upper = [i for i in eye.lid_margin if i not in (eye.outer, eye.inner)]
    d = target[upper, :2] - at
    u = _dot2(d, et) / wt
    v = _dot2(d, nt)
    v_low = np.interp(u, *_curve(target, _lower_lid(eye), at, et, nt, wt))
    v_new = v_low + f * (v - v_low)
    target[upper, :2] += np.outer(v_new - v, nt)


def cap_opening(target: np.ndarray, source: np.ndarray, eye: EyeSpec, gain: float = 1.35,
                margin: float = 0.04) -> None:
    """Keep an eye from opening much wider than the source shows it (in place).

    A warp cannot show an eyeball the source hides: a source with lowered or closed
    lids asked to open them wide gets a dark, stretched slit. The target eye opening
    (lid-to-lid extent across the corner line, relative to the eye width) is capped at
    ``gain * source + margin``; above the cap both lid contours are pulled towards the
    corner line by the same factor. Eyes the source shows open are not affected unless
    asked to open beyond ``gain`` times (eyeWide stays possible).

    Args:
        target: (478, 2+) the frame's points, crop pixels; the eye contour is modified.
        source: (478, 2+) the source's points, crop pixels.
        eye: which eye.
        gain, margin: the cap, as a factor and as a fraction of the eye width.
    """
    as_, es, ns, ws = _eye_frame(source, eye)
    at, et, nt, wt = _eye_frame(target, eye)
    ids = list(eye.contour)
    r_s = float(np.ptp(_dot2(source[ids, :2] - as_, ns))) / ws
    v_t = _dot2(target[ids, :2] - at, nt)
    r_t = float(np.ptp(v_t)) / wt
    r_max = gain * r_s + margin
    if r_t <= r_max or r_t <= 0.0:
        return
    f = r_max / r_t
    target[ids, :2] -= np.outer(v_t * (1.0 - f), nt)


#: a closing eye gets its lash line painted from this drawn lid gap (relative to the
#: source's) down: where the margins meet, the warp shows the lower lid's rim and a
#: sliver of eyeball (a bright line under the lashes); a shut eye shows its lashes
_LASH_FROM = 0.3
#: the painted line's width (eye widths, before the taper) and its opacity when shut
_LASH_WIDTH = 0.045
_LASH_ALPHA = 0.85
_SUPERSAMPLE = 4


def _margin_polyline(lm: np.ndarray, eye: EyeSpec) -> np.ndarray:
    """(K, 2) the upper lid margin from the outer to the inner corner, crop pixels, in
    the landmarks' order along the lid (sorting by the position along the corner axis
    would zig-zag on the far eye of a turned head, where the margin folds over in view)."""
    ids = list(dict.fromkeys((eye.outer, *eye.lid_margin, eye.inner)))
    return lm[ids, :2].astype(np.float64)


def lash_colour(crop: np.ndarray, source: np.ndarray, eye: EyeSpec) -> np.ndarray:
    """(3,) float32 RGB of the source's lash line: the darkest fifth of the pixels on
    and just above its upper lid margin (a pale-lashed source gives a pale line)."""
    _, _, n, w = _eye_frame(source, eye)
    line = _margin_polyline(source, eye)
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], 48)
    pts = np.stack([np.interp(t, s, line[:, 0]), np.interp(t, s, line[:, 1])], 1)
    samples = np.concatenate([pts - k * w * n for k in (0.0, 0.02, 0.04)]).astype(np.float32)
    px = sample_at(crop, samples[:, 0], samples[:, 1])
    lum = px @ np.array([0.299, 0.587, 0.114], np.float32)
    return px[lum <= np.percentile(lum, 20)].mean(0).astype(np.float32)


def relative_lid_gap(target: np.ndarray, source: np.ndarray, eye: EyeSpec) -> float:
    """The frame's lid gap over the source's (:func:`lid_gap`; 1 = as open as the
    source's, 0 = shut; inf for a source whose eye is shut)."""
    g_s = lid_gap(source, eye)
    return max(lid_gap(target, eye), 0.0) / g_s if g_s > 1e-6 else float("inf")


def lash_strength_at(relative_gap: float) -> float:
    """0..1, how strongly a closing eye's lash line is painted at a lid gap of
    ``relative_gap`` of the source's (:func:`relative_lid_gap`): 0 from ``_LASH_FROM``
    up, 1 when shut (smoothstep in between)."""
    x = float(np.clip(1.0 - relative_gap / _LASH_FROM, 0.0, 1.0))
    return x * x * (3.0 - 2.0 * x)


def lash_strength(target: np.ndarray, source: np.ndarray, eye: EyeSpec) -> float:
    """:func:`lash_strength_at` the frame's :func:`relative_lid_gap`."""
    return lash_strength_at(relative_lid_gap(target, source, eye))


def lash_layer(target: np.ndarray, eye: EyeSpec, rgb: np.ndarray, strength: float,
               size: int) -> Optional[PaintLayer]:
    """The lash line of a closing eye, painted along the target's upper lid margin.

    Anti-aliased (drawn at 4x and averaged down), ``_LASH_WIDTH`` eye widths wide in the
    middle and tapering to 40 % at the corners, opacity ``_LASH_ALPHA * strength``.

    Args:
        target: (478, 2+) the frame's points, crop pixels.
        eye: which eye.
        rgb: (3,) the lash colour (:func:`lash_colour`).
        strength: 0..1 (:func:`lash_strength`); 0 gives None.
        size: crop side S.
    Returns:
        a paint layer (crop pixels) or None.
    """
    if strength <= 0.0:
        return None
    a, e, n, w = _eye_frame(target, eye)
    line = _margin_polyline(target, eye)
    width = max(_LASH_WIDTH * w, 0.75)
    pad = int(np.ceil(width)) + 2
    x0, y0 = np.floor(line.min(0)).astype(int) - pad
    x1, y1 = np.ceil(line.max(0)).astype(int) + pad + 1
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(size, x1), min(size, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    k = _SUPERSAMPLE
    canvas = np.zeros(((y1 - y0) * k, (x1 - x0) * k), np.uint8)
    pts = np.round((line - [x0 - 0.5 + 0.5 / k, y0 - 0.5 + 0.5 / k]) * k * 16).astype(np.int32)
    cv2.polylines(canvas, [pts], False, 255, thickness=max(1, int(round(width * k))), lineType=cv2.LINE_AA,
                  shift=4)
    cover = cv2.resize(canvas, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    yy, xx = np.mgrid[y0:y1, x0:x1]
    u = np.clip(((xx - a[0]) * e[0] + (yy - a[1]) * e[1]) / w, 0.0, 1.0)
    taper = 0.4 + 0.6 * np.sin(np.pi * u)
    alpha = (cover * taper * (_LASH_ALPHA * strength))[..., None].astype(np.float32)
    colour = np.broadcast_to(np.asarray(rgb, np.float32), (y1 - y0, x1 - x0, 3)).copy()
    return PaintLayer((int(x0), int(y0), int(x1), int(y1)), colour, alpha)


def canonical_lid_gap(points: np.ndarray, eye: EyeSpec) -> float:
    """Lid gap of a pose-free (canonical, y up) shape, in its units: the mean distance
    between the facing margin points (``EyeSpec.lid_pairs``); > 0 while open."""
    up, lo = eye.lid_pairs
    return float(np.mean(points[list(up), 1] - points[list(lo), 1]))


#: :func:`lid_scales` never scales the lids' offsets by more than this
_LID_SCALE_MAX = 2.5


def lid_scales(canonical: np.ndarray, closure: tuple[float, float]) -> np.ndarray:
    """(2,) factors for the generic expression basis's eye-contour offsets (right, left eye).

    The basis moves the lids by fixed canonical amounts fitted on human faces: a blink
    of 1 closes ``closure`` canonical units (one per eye, both blink channels at 1). A
    portrait whose eyes are open wider than that (a big-eyed or drawn face) would never
    close them; its lid offsets are scaled by its own gap over the closure (never below
    1, at most ``_LID_SCALE_MAX``), so a blink of 1 shuts any eye.

    Args:
        canonical: (478, 3) the source's pose-free points (canonical units, y up).
        closure: the basis's closure per eye, same units.
    """
    out = []
    for eye, c in zip((RIGHT, LEFT), closure):
        g = canonical_lid_gap(canonical, eye)
        out.append(float(np.clip(g / c, 1.0, _LID_SCALE_MAX)) if c > 1e-6 else 1.0)
    return np.array(out)


def take_lid_scales(canonical: np.ndarray, take_shape: np.ndarray, take_scale: float = 1.0) -> np.ndarray:
    """(2,) factors for a take's own eye-contour offsets (right, left eye).

    An unedited take moves the portrait's lids by the driver's own lid travel: its blink
    closes the driver's gap. A portrait whose eyes are open wider than the driver's
    (liveportrait_s7, a drawn face, on liveportrait_d10: 1.31x) was left half open by a
    full blink: :func:`lid_scales` with the take's own gaps as the closure (in
    self-reenactment the ratio is below 1 on all ten media clips).

    Args:
        canonical: (478, 3) the source's pose-free points (canonical units, y up).
        take_shape: (>= 468, 3) the take's mean shape, in its own units.
        take_scale: the source's canonical units per take unit.
    """
    shape = np.asarray(take_shape, np.float64)
    return lid_scales(canonical, tuple(take_scale * canonical_lid_gap(shape, e) for e in (RIGHT, LEFT)))
