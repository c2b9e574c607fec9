"""The eye opening's edge, anti-aliased.

Inside the frame's eye opening the crop shows the eyeball (rigid map, painted iris or
white); outside it, the lids. The opening is a set of whole pixels (their centres inside
the eyeball triangles), so wherever the two sides show different things (a closing eye:
the lid slid over an eyeball that stays put) its edge is a staircase, and a gap under a
pixel tall between nearly shut lids breaks into a dotted line of white pixels.

:func:`opening_edge_layer` repaints the pixels along that edge as the opening's true
coverage of each pixel (its polygon drawn at 8x and averaged down) mixes the two sides:
an edge pixel takes ``coverage x eyeball + (1 - coverage) x lid``, each side's colour
being the pixel's own where it lies on that side, else the mean of its 3 x 3 neighbours
on that side. Only pixels of the lids' triangles count as the lid side (the triangles
that share a vertex with the opening's outline): the nose over the far eye of a turned
head keeps its own edge.

A closing eye's gap is in its lids' shadow (the driver's nearly shut eyes show no white):
the eyeball side mixes in the lash colour as the lids close (:func:`gap_shade`), so a
half-shut eye does not show a flat white patch or glints through its slit. An eye as
open as the source's, with its iris in place, is left as it is (:func:`edge_weight`).
"""

from __future__ import annotations

import cv2
import numpy as np

from dexstudio.render.warp.eyes import EyeSpec
from dexstudio.render.warp.paint_layer import PaintLayer

#: the opening's polygon is drawn at this many times the crop's resolution
_SUPERSAMPLE = 8
#: an edge pixel's coverage must differ by more than this from its whole-pixel value
_MIN_CHANGE = 1.0 / 32.0
#: a closing eye's gap is in its lids' shadow: the eyeball there mixes up to this much of
#: the lash colour into its own (:func:`gap_shade`), from a lid gap of ``_SHADE_FROM`` of
#: the source's down to shut. Eye error in self-reenactment on blink frames, starting at
#: 0.5 / 0.7 / 0.85 / 1.0 (strength 0.8): d18 11.20 / 11.06 / 10.94 / 10.83, d3 18.07 /
#: 17.93 / 17.80 / 17.70, d0 11.24 / 11.17 / 11.05 / 10.95, but at 1.0 d0's other frames
#: got worse (10.93 -> 11.05: eyes barely narrowed, darkened); strength 0.6 / 0.8 / 1.0
#: at 0.85: d18 11.01 / 10.94 / 10.87
_GAP_SHADE = 1.0
_SHADE_FROM = 0.85
#: an opening less open than this (its lid gap over the source's) gets its edge repainted:
#: fading in from the first, in full from the second (centred on 0.95, where it used to
#: switch on at once: liveportrait_s42 x liveportrait_d10 crossed it 50 times in 448 frames)
_EDGE_BELOW = (1.0, 0.9)


def gap_shade(relative_gap: float) -> float:
    """0..``_GAP_SHADE``: how much of the lash colour a closing eye's gap takes at a lid
    gap of ``relative_gap`` of the source's (:func:`eyes.relative_lid_gap`); 0 from
    ``_SHADE_FROM`` up (smoothstep down to shut)."""
    x = float(np.clip(1.0 - relative_gap / _SHADE_FROM, 0.0, 1.0))
    return _GAP_SHADE * x * x * (3.0 - 2.0 * x)


def edge_weight(relative_gap: float, gaze: float) -> float:
    """0..1: how much the opening's repainted edge shows. The edge needs repainting where
    its eyeball and lids show different things: a closing eye (all of it from a lid gap
    of ``_EDGE_BELOW[1]`` of the source's down, fading in from ``_EDGE_BELOW[0]``), or
    an iris moved over the eyeball (as much as it shows: ``gaze``,
    :func:`dexstudio.render.warp.eyeball.gaze_weight`). An eye as the source shows it (0)
    keeps its pixels as they are. Switched on at once, a gap or a gaze hovering at the
    onset made a few pixels of the eye flicker by 40-60 levels."""
    x = float(np.clip((_EDGE_BELOW[0] - relative_gap) / (_EDGE_BELOW[0] - _EDGE_BELOW[1]), 0.0, 1.0))
    w = max(x * x * (3.0 - 2.0 * x), float(np.clip(gaze, 0.0, 1.0)))
    return w if w >= 1.0 / 256.0 else 0.0  # less changes no pixel by a level


def lid_triangles(triangles: np.ndarray, eye: EyeSpec, opening: np.ndarray) -> np.ndarray:
    """(T,) bool: the triangles around one eye's opening (a vertex on its outline, not
    inside it). ``opening``: (T,) bool the eye's opening triangles."""
    on = np.isin(triangles, np.asarray(eye.contour)).any(axis=1)
    return on & ~opening


def opening_coverage(target: np.ndarray, eye: EyeSpec, box: tuple[int, int, int, int]) -> np.ndarray:
    """(h, w) float32 in 0..1: how much of each pixel of ``box`` the eye opening covers.

    Args:
        target: (478, 2+) the frame's points, crop pixels (pixel centres on integers).
        eye: which eye; its outline ``eye.contour`` is the opening's polygon.
        box: (x0, y0, x1, y1) crop pixels.
    """
    x0, y0, x1, y1 = box
    k = _SUPERSAMPLE
    canvas = np.zeros(((y1 - y0) * k, (x1 - x0) * k), np.uint8)
    poly = target[list(eye.contour), :2].astype(np.float64)
    # sub-sample centres of pixel (x, y): x - 0.5 + (i + 0.5) / k, i = 0..k-1
    pts = np.round((poly - [x0 - 0.5 + 0.5 / k, y0 - 0.5 + 0.5 / k]) * k * 16).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 255, cv2.LINE_8, 4)
    # fillPoly takes in every sub-sample its outline touches (about 0.45 of one outside
    # the polygon all round: +57 % on a gap 0.3 px tall, drawn at 4x); those count half,
    # which leaves the sum within 1.5 px^2 of the polygon's area for an open eye and
    # 0.6 px^2 for a sliver, at 8x
    cv2.polylines(canvas, [pts], True, 128, 1, cv2.LINE_8, 4)
    return cv2.resize(canvas, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _side_mean(img: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(h, w, 3) mean colour of each pixel's 3 x 3 neighbours on ``side`` ((h, w) float32
    0/1), and (h, w) bool where it has any."""
    n = cv2.boxFilter(side, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    s = cv2.boxFilter(img * side[..., None], -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    has = n > 0.5
    return s / np.maximum(n, 1.0)[..., None], has


def opening_edge_layer(image: np.ndarray, ids: np.ndarray, roi: tuple[int, int, int, int],
                       opening_lut: np.ndarray, lid_lut: np.ndarray, target: np.ndarray,
                       eye: EyeSpec, shade: float = 0.0, shade_rgb: np.ndarray | None = None) -> PaintLayer | None:
    """The pixels along one eye opening's edge, repainted by coverage (module doc).

    Args:
        image: (S, S, 3) uint8 the frame so far (the eye's own layers applied).
        ids: (h, w) int32 the face's triangle raster (``triangle id + 1``, 0 = none) over
            ``roi`` = (x0, y0, x1, y1), crop pixels.
        opening_lut, lid_lut: (T + 1,) bool by raster value: the eye's opening triangles;
            its lids' (:func:`lid_triangles`).
        target: (478, 2+) the frame's points, crop pixels.
        eye: which eye.
        shade: 0..1 how much of ``shade_rgb`` the eyeball side takes (:func:`gap_shade`).
        shade_rgb: (3,) the lash colour the gap of a closing eye darkens towards.
    Returns:
        a layer over the eye's box (alpha 1 on the repainted pixels, 0 elsewhere), or
        None where nothing changes (an eye shut, or open where both sides agree).
    """
    S = image.shape[0]
    poly = target[list(eye.contour), :2]
    rx0, ry0, rx1, ry1 = roi
    x0 = max(int(np.floor(poly[:, 0].min())) - 2, rx0)
    y0 = max(int(np.floor(poly[:, 1].min())) - 2, ry0)
    x1 = min(int(np.ceil(poly[:, 0].max())) + 3, rx1, S)
    y1 = min(int(np.ceil(poly[:, 1].max())) + 3, ry1, S)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    win = ids[y0 - ry0:y1 - ry0, x0 - rx0:x1 - rx0]
    inside = opening_lut.take(win)
    if not inside.any():
        return None
    cov = opening_coverage(target, eye, (x0, y0, x1, y1))
    m = inside.astype(np.float32)
    shade = float(np.clip(shade, 0.0, 1.0)) if shade_rgb is not None else 0.0
    change = np.abs(cov - m) > _MIN_CHANGE
    if shade > 0.0:
        change |= inside
    if not change.any():
        return None
    lid = lid_lut.take(win).astype(np.float32)
    img = image[y0:y1, x0:x1].astype(np.float32)
    eye_col, has_eye = _side_mean(img, m)
    lid_col, has_lid = _side_mean(img, lid)
    eye_col = np.where(inside[..., None], img, eye_col)
    if shade > 0.0:
        eye_col = eye_col * (1.0 - shade) + np.asarray(shade_rgb, np.float32) * shade
    lid_col = np.where(lid[..., None] > 0, img, lid_col)
    # inside pixels need a lid neighbour, lid pixels an opening neighbour; other pixels
    # (an occluder over the opening, the eye's far side) keep what they show
    edit = change & np.where(inside, has_lid | (shade > 0.0), (lid > 0) & has_eye)
    if not edit.any():
        return None
    c = cov[..., None]
    rgb = c * eye_col + (1.0 - c) * lid_col
    alpha = edit.astype(np.float32)[..., None]
    return PaintLayer((x0, y0, x1, y1), rgb.astype(np.float32), alpha)
