"""Mouth interior and eyes on synthetic landmarks (no tracker)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dexstudio.motion import landmark_sets as ls
from dexstudio.render.warp import eyes, mouth


def _face_points() -> np.ndarray:
    """(478, 3) plausible landmarks: the canonical face projected frontally at ~12 px/cm."""
    from dexstudio.motion.face_model import load_canonical_face

    v = load_canonical_face().vertices.astype(np.float64)
    pts = np.zeros((478, 3))
    pts[:468, 0] = 256 + 12 * v[:, 0]
    pts[:468, 1] = 256 - 12 * v[:, 1]
    pts[:468, 2] = -12 * v[:, 2]
    for c, ring, contour in ls.EYE_IRISES:
        ctr = pts[list(contour)].mean(0)
        pts[c] = ctr
        for k, i in enumerate(ring):
            a = k * np.pi / 2
            pts[i] = ctr + [6 * np.cos(a), 6 * np.sin(a), 0]
    return pts


def _open_mouth(pts: np.ndarray, px: float) -> np.ndarray:
    out = pts.copy()
    lower = (95, 88, 178, 87, 14, 317, 402, 318, 324)
    out[list(lower), 1] += px
    return out


def test_mouth_same_shape_maps_to_itself_without_cavity() -> None:
    src = _open_mouth(_face_points(), 10.0)
    poly = src[list(ls.LIPS_INNER), :2]
    ys, xs = np.mgrid[int(poly[:, 1].min()):int(poly[:, 1].max()), int(poly[:, 0].min()):int(poly[:, 0].max())]
    xs, ys = xs.ravel().astype(np.float32), ys.ravel().astype(np.float32)
    sx, sy, cav = mouth.mouth_map(xs, ys, src, src)
    inside = (sy > 0)
    assert np.allclose(sx[inside], xs[inside], atol=0.6)
    c = cav.reshape(-1) > 0  # depth inside the cavity, target px
    mid = np.argmin(np.abs(xs - src[13, 0]) + np.abs(ys - 0.5 * (src[13, 1] + src[14, 1])))
    assert not c[mid]


def test_mouth_opening_wider_than_a_closed_source_is_cavity() -> None:
    src = _face_points()  # canonical mouth: nearly closed
    tgt = _open_mouth(src, 20.0)
    x = np.array([tgt[13, 0]], np.float32)
    y = np.array([0.5 * (tgt[13, 1] + tgt[14, 1])], np.float32)
    _, _, cav = mouth.mouth_map(x, y, src, tgt)
    assert (cav > 0).all()
    img, x, top, bottom, first, last = _painted_interior(teeth_rgb=None, open_px=20.0)
    assert img[int(y[0]), int(x)].max() < 100  # dark inside


def test_upper_teeth_follow_the_upper_lip() -> None:
    src = _open_mouth(_face_points(), 12.0)
    tgt = _open_mouth(src, 10.0)  # lower lip drops 10 px more
    # a pixel just under the upper lip samples the same place of the source
    x = np.array([src[13, 0]], np.float32)
    y = np.array([src[13, 1] + 2.0], np.float32)
    sx, sy, cav = mouth.mouth_map(x, y, src, tgt)
    assert abs(sy[0] - y[0]) < 0.8 and cav[0] <= 0
    # a pixel just above the new lower lip samples just above the source's lower lip
    y2 = np.array([tgt[14, 1] - 2.0], np.float32)
    sx2, sy2, cav2 = mouth.mouth_map(x, y2, src, tgt)
    assert abs(sy2[0] - (src[14, 1] - 2.0)) < 0.8 and cav2[0] <= 0


def test_an_opening_mouth_parts_the_source_at_its_teeth_line() -> None:
    """Each row of a smile's teeth stays with its jaw: the source opening (20 px) parts
    at 70 % of its height; opened 16 px wider, the target shows the upper 70 % under the
    upper lip, the lower 30 % over the lower lip and cavity in between, not the whole
    opening (both rows) twice."""
    src = _open_mouth(_face_points(), 20.0)
    tgt = _open_mouth(src, 16.0)
    x = np.array([src[13, 0]], np.float32)
    up_s, lo_s = src[13, 1], src[14, 1]
    up_t, lo_t = tgt[13, 1], tgt[14, 1]
    h_s = lo_s - up_s

    def sample(y: float) -> tuple[float, float]:
        _, sy, depth = mouth.mouth_map(x, np.array([y], np.float32), src, tgt, split=0.7)
        return float(sy[0]), float(depth[0])

    sy, d = sample(up_t + 0.5 * h_s)  # inside the upper row
    assert abs(sy - (up_s + 0.5 * h_s)) < 0.8 and d <= 0
    sy, d = sample(lo_t - 0.2 * h_s)  # inside the lower row
    assert abs(sy - (lo_s - 0.2 * h_s)) < 0.8 and d <= 0
    # below the upper row and above the lower row: cavity
    for y in (up_t + 0.8 * h_s, lo_t - 0.4 * h_s):
        assert sample(y)[1] > 0
    # the middle split (0.5) puts the cavity lower
    _, _, d_mid = mouth.mouth_map(x, np.array([lo_t - 0.4 * h_s], np.float32), src, tgt, split=0.5)
    assert d_mid[0] <= 0


def test_teeth_split_finds_the_dark_line_between_the_rows() -> None:
    pts = _open_mouth(_face_points(), 24.0)
    crop = np.full((512, 512, 3), 150, np.uint8)
    a, e, n, width = mouth._frame(pts)
    us, top, bot = mouth._opening_bounds(pts, a, e, n, width)
    ys, xs = np.mgrid[0:512, 0:512]
    d = np.stack([xs - a[0], ys - a[1]], -1).astype(np.float64)
    u = (d @ e) / width
    v = d @ n
    up, lo = np.interp(u, us, top), np.interp(u, us, bot)
    f = (v - up) / np.maximum(lo - up, 1e-6)
    inside = (u > 0) & (u < 1) & (f >= 0) & (f <= 1)
    crop[inside] = 230  # teeth
    crop[inside & (np.abs(f - 0.65) < 0.06)] = 40  # where the rows meet
    assert abs(mouth.teeth_split(crop, pts) - 0.65) < 0.06
    # one row of teeth under a shadowed gum: the shadow is not a line between rows
    crop[inside] = 230
    crop[inside & (f < 0.15)] = 60
    assert mouth.teeth_split(crop, pts) is None
    # a closed mouth has no rows to part
    assert mouth.teeth_split(crop, _face_points()) is None


def test_eyeball_and_lid_identity() -> None:
    pts = _face_points()
    S = 512
    mask = eyes.eye_mask(pts, S)
    for eye in (eyes.RIGHT, eyes.LEFT):
        c = pts[list(eye.contour), :2].mean(0)
        xs = np.array([c[0], c[0] + 2], np.float32)
        ys = np.array([c[1], c[1] - 1], np.float32)
        sx, sy, ok = eyes.eyeball_map(xs, ys, eye, pts, pts, mask)
        assert ok.all() and np.allclose(sx, xs, atol=1e-3) and np.allclose(sy, ys, atol=1e-3)
        lid = pts[list(eye.lid_margin), :2].mean(0) - [0, 2]
        lx, ly = eyes.lid_map(np.array([lid[0]], np.float32), np.array([lid[1]], np.float32), eye, pts, pts)
        assert abs(lx[0] - lid[0]) < 0.5 and abs(ly[0] - lid[1]) < 0.5


def test_gaze_moves_the_iris_sample() -> None:
    src = _face_points()
    tgt = src.copy()
    tgt[ls.LEFT_IRIS_CENTER, 0] += 4.0
    for i in ls.LEFT_IRIS:
        tgt[i, 0] += 4.0
    mask = eyes.eye_mask(src, 512)
    p = tgt[ls.LEFT_IRIS_CENTER, :2]
    sx, sy, ok = eyes.eyeball_map(np.array([p[0]], np.float32), np.array([p[1]], np.float32),
                                  eyes.LEFT, src, tgt, mask)
    # the new iris centre shows the source's iris centre
    assert ok[0] and abs(sx[0] - src[ls.LEFT_IRIS_CENTER, 0]) < 0.5


def _opening_pixels(src: np.ndarray, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pixels of the box around the target's inner lips, flat (xs, ys int), and their
    cavity depth by :func:`mouth.mouth_map` from ``src`` to ``tgt``."""
    poly = tgt[list(ls.LIPS_INNER), :2]
    ys, xs = np.mgrid[int(poly[:, 1].min()):int(poly[:, 1].max()) + 1, int(poly[:, 0].min()):int(poly[:, 0].max()) + 1]
    xs, ys = xs.ravel(), ys.ravel()
    _, _, depth = mouth.mouth_map(xs.astype(np.float32), ys.astype(np.float32), src, tgt)
    return xs, ys, depth


def _painted_interior(teeth_rgb, open_px: float = 30.0, src: np.ndarray | None = None,
                      teeth: mouth.TeethShow = mouth.TeethShow()):
    """The layer painted into a mid-grey crop for the canonical (nearly closed) mouth
    opened by ``open_px``; returns (image, x of the mid-lip column, upper and lower
    inner-lip y there, first painted row there)."""
    src = _face_points() if src is None else src
    tgt = _open_mouth(src, open_px)
    xs, ys, cav = _opening_pixels(src, tgt)
    look = mouth.MouthLook(gap=0.2, cavity_rgb=np.array([40, 16, 14], np.float32), teeth_rgb=teeth_rgb,
                           tongue_rgb=np.array([150, 70, 70], np.float32),
                           white_rgb=np.array([210, 205, 200], np.float32))
    layer = mouth.cavity_layer(512, xs, ys, cav, tgt, look, teeth)
    assert layer is not None
    img = np.full((512, 512, 3), 128, np.uint8)
    layer.apply(img)
    x = int(round(tgt[13, 0]))
    top, bottom = tgt[13, 1], tgt[14, 1]
    col = (cav > 0) & (xs == x)
    return img, x, top, bottom, int(ys[col].min()), int(ys[col].max())


def test_a_wide_open_mouth_shows_teeth_throat_and_tongue() -> None:
    img, x, top, bottom, first, last = _painted_interior(teeth_rgb=None)
    h = last - first
    teeth = img[first + 2, x].astype(int)
    throat = img[int(first + 0.45 * h), x].astype(int)
    tongue = img[last - 2, x].astype(int)
    assert throat.max() < 60, throat  # dark in the middle
    assert teeth.min() > throat.max() + 70, teeth  # light, under the upper lip (mid gap: 22 % darker)
    assert tongue[0] > throat[0] + 40 and tongue[0] > tongue[2] + 30, tongue  # lit and red


def test_the_tongue_is_parted_from_the_lower_lip_by_a_shadow() -> None:
    """Without the shadow the lit tongue ran into the lower lip: a wide-open mouth read
    as a slit over a thick lower lip (to the re-tracker too)."""
    closed = _face_points()
    lower = [95, 88, 178, 87, 14, 317, 402, 318, 324]
    closed[lower, 1] -= closed[14, 1] - closed[13, 1]  # lips shut: the cavity reaches the lower lip
    img, x, top, bottom, first, last = _painted_interior(teeth_rgb=None, open_px=40.0, src=closed)
    column = img[first:last + 1, x, 0].astype(int)  # red channel down the mid-mouth column
    front = column[-6:-1].max()  # the tongue's lit front, just above the lip
    edge = column[-1]  # the last painted row, at the lower lip (brightest there without the line)
    assert edge < 0.9 * front, (edge, front, column.tolist())
    # a soft shadow deepening over a few rows, not a drawn one-pixel line along the lip
    assert edge < column[-2] < column[-3] < front, column.tolist()


def test_pursed_lips_show_no_invented_teeth() -> None:
    from dexstudio.core.channels import ARKIT_NAMES

    img, x, top, bottom, first, last = _painted_interior(teeth_rgb=None, teeth=mouth.TeethShow(opacity=0.0))
    assert img[first + 2, x].max() < 100  # the throat's dark under the upper lip, no teeth
    w = np.zeros(52, np.float32)
    w[ARKIT_NAMES.index("mouthPucker")] = 0.98  # liveportrait_d10 frame 89
    assert mouth.pucker_amount(w) == 1.0
    assert mouth.teeth_show(w).opacity == 0.0
    w[ARKIT_NAMES.index("mouthPucker")] = 0.3
    assert mouth.pucker_amount(w) == 0.0
    assert mouth.teeth_show(w).opacity == 1.0


def test_a_smile_shows_teeth_on_a_portrait_whose_resting_mouth_reads_puckered() -> None:
    """liveportrait_s11 rests at mouthPucker 0.84; liveportrait_d19's broad smile (frame
    249) moved onto it keeps that reading beside mouthSmile 0.93, and its teeth were hidden."""
    from dexstudio.core.channels import ARKIT_NAMES

    w = np.zeros(52, np.float32)
    w[ARKIT_NAMES.index("mouthPucker")] = 0.83
    assert mouth.teeth_show(w).opacity == 0.0  # pursed, no smile: no teeth
    for side in ("mouthSmileLeft", "mouthSmileRight"):
        w[ARKIT_NAMES.index(side)] = 0.93
    assert mouth.teeth_show(w).opacity > 0.9
    for side in ("mouthSmileLeft", "mouthSmileRight"):
        w[ARKIT_NAMES.index(side)] = 0.3
    assert 0.2 < mouth.teeth_show(w).opacity < 0.5  # a slight smile: most of the pucker still hides them


def test_an_upper_lip_hanging_over_the_teeth_shows_only_their_edge() -> None:
    """An open "ah" with the upper lip down (liveportrait_d18 frame 70: jawOpen 0.87,
    mouthUpperUp 0) shows little of the upper teeth; a raised upper lip or a smile shows
    them in full."""
    from dexstudio.core.channels import ARKIT_NAMES

    w = np.zeros(52, np.float32)
    w[ARKIT_NAMES.index("jawOpen")] = 0.87
    low = mouth.teeth_show(w)
    assert low.opacity == 1.0 and low.height <= 0.25
    raised = w.copy()
    raised[[ARKIT_NAMES.index("mouthUpperUpLeft"), ARKIT_NAMES.index("mouthUpperUpRight")]] = 0.6
    smiling = w.copy()
    smiling[[ARKIT_NAMES.index("mouthSmileLeft"), ARKIT_NAMES.index("mouthSmileRight")]] = 0.4
    assert mouth.teeth_show(raised).height == 1.0 and mouth.teeth_show(smiling).height == 1.0

    def teeth_light(show: mouth.TeethShow) -> float:
        """Light (levels above the throat's, summed over rows) under the upper lip."""
        img, x, top, bottom, first, last = _painted_interior(teeth_rgb=None, teeth=show)
        column = img[first:last + 1, x].astype(float).min(axis=1)
        return float(np.clip(column[: len(column) // 2] - 60.0, 0.0, None).sum())

    full, edge = teeth_light(mouth.TeethShow()), teeth_light(low)
    assert full > 150 and 0.05 * full < edge < 0.4 * full, (full, edge)
    # a smile bares more of them (liveportrait_d0: the upper teeth fill most of a smile)
    assert mouth.teeth_show(smiling).smile == pytest.approx(0.4)
    assert teeth_light(mouth.TeethShow(smile=0.8)) > 1.4 * full


def test_a_source_that_shows_teeth_gets_no_invented_ones() -> None:
    img, x, top, bottom, first, last = _painted_interior(teeth_rgb=np.array([220, 215, 205], np.float32))
    assert img[first + 2, x].max() < 100


def _layer_alpha(open_px: float, teeth_rgb) -> float:
    """The strongest cover of the cavity painted for the canonical mouth opened by ``open_px``."""
    src = _face_points()
    tgt = _open_mouth(src, open_px)
    xs, ys, depth = _opening_pixels(src, tgt)
    look = mouth.MouthLook(gap=3.0, cavity_rgb=np.array([40, 16, 14], np.float32), teeth_rgb=teeth_rgb)
    layer = mouth.cavity_layer(512, xs, ys, depth, tgt, look)
    return 0.0 if layer is None else float(layer.alpha.max())


def test_a_thin_gap_under_a_portraits_own_teeth_is_a_faint_shadow() -> None:
    """The jaw opening a pixel more than the portrait's shows a faint shadow under its
    teeth, not a drawn dark line; a real opening is painted in full."""
    teeth = np.array([220, 215, 205], np.float32)
    assert _layer_alpha(1.5, teeth) < 0.4  # measured 0.24
    assert _layer_alpha(12.0, teeth) > 0.95
    # lips parting without teeth: a dark line is right (0.67, anti-aliased)
    assert _layer_alpha(1.5, None) > 2.0 * _layer_alpha(1.5, teeth)


def test_the_throat_between_a_sources_teeth_is_darkest_under_the_upper_teeth() -> None:
    """In the upper teeth's shadow, not lit along its edge like a gap between lips."""
    img, x, top, bottom, first, last = _painted_interior(teeth_rgb=np.array([220, 215, 205], np.float32))
    col = img[first:last + 1, x].astype(np.float32).mean(1)
    h = last - first
    assert col[1:3].mean() < col[h // 5:h // 3].mean()  # above the tongue (row 0: the anti-aliased edge)


def test_lips_parted_in_speech_show_teeth_not_a_dark_slit() -> None:
    """A closed mouth parted a little (inner-lip gap 9-13 % of the mouth width) shows the
    incisors' edges under the upper lip at full strength; they used to start at 12 %, so
    such openings were a dark slit."""
    from dexstudio.render.warp import mouth as m

    closed = _face_points().copy()
    inner = list(ls.LIPS_INNER)
    mid = closed[inner, 1].mean()
    closed[inner, 1] = mid + 0.05 * (closed[inner, 1] - mid)
    width = float(np.linalg.norm(closed[ls.MOUTH_CORNER_LEFT, :2] - closed[ls.MOUTH_CORNER_RIGHT, :2]))
    for open_px in (6.0, 8.0):
        rel = m.mouth_gap(_open_mouth(closed, open_px)) / width
        assert 0.08 < rel < 0.14, rel
        img, x, top, bottom, first, last = _painted_interior(teeth_rgb=None, open_px=open_px, src=closed)
        teeth = img[first + 1, x].astype(int)
        assert teeth.min() > 100, (open_px, rel, teeth)  # light (a dark slit measured 9-26)


def test_the_cavity_edge_is_anti_aliased_on_a_tilted_mouth() -> None:
    """On a tilted mouth the cavity's upper edge is placed to sub-pixel precision: its
    per-column position (from the layer's cover) bends smoothly, without the 1-pixel
    steps of a blurred binary mask (largest second difference: 0.37 px before, 0.04 now)."""
    src = _face_points()  # closed: the whole opening is cavity, its top edge is the upper lip
    tgt = _open_mouth(src, 24.0)
    c = tgt[ls.UPPER_LIP_INNER_MID, :2].copy()
    a = np.radians(7.0)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    tgt[:, :2] = (tgt[:, :2] - c) @ rot.T + c
    poly = tgt[list(ls.LIPS_INNER), :2]
    ys, xs = np.mgrid[int(poly[:, 1].min()) - 1:int(poly[:, 1].max()) + 2,
                      int(poly[:, 0].min()) - 1:int(poly[:, 0].max()) + 2]
    inside = np.zeros(ys.shape, np.uint8)
    cv2.fillPoly(inside, [np.round(poly - [xs.min(), ys.min()]).astype(np.int32)], 1)
    xs, ys = xs[inside > 0], ys[inside > 0]
    _, _, depth = mouth.mouth_map(xs.astype(np.float32), ys.astype(np.float32), src, tgt)
    look = mouth.MouthLook(gap=0.0, cavity_rgb=np.array([40, 16, 14], np.float32), teeth_rgb=None)
    layer = mouth.cavity_layer(512, xs, ys, depth, tgt, look)
    assert layer is not None
    x0, y0, x1, y1 = layer.box
    alpha = layer.alpha[..., 0]
    # the edge per column: rows above the mouth's middle that are not (yet) cavity
    mid_y = int(np.round(0.5 * (tgt[ls.UPPER_LIP_INNER_MID, 1] + tgt[ls.LOWER_LIP_INNER_MID, 1]))) - y0
    cols = np.arange(int(tgt[ls.UPPER_LIP_INNER_MID, 0]) - 20, int(tgt[ls.UPPER_LIP_INNER_MID, 0]) + 21) - x0
    edge = (1.0 - alpha[:mid_y, cols]).sum(0)
    assert np.ptp(edge) > 3.0  # the tilt moves the edge by several pixels over these columns
    assert np.abs(np.diff(edge, 2)).max() < 0.15


def _mouth_frame_uv(pts: np.ndarray, x: float, y: float) -> tuple[float, float]:
    a, e, n, width = mouth._frame(pts)
    d = np.array([x, y]) - a
    return float(d @ e) / width, float(d @ n)


def test_the_folded_far_corner_of_an_open_mouth_is_cavity_not_a_stretched_lip() -> None:
    """A wide-open mouth on a turned head: the far corner lies behind the inner-lip points
    beside it along the corner axis (u < 0 for them). Those pixels are part of the
    opening and are painted as cavity, instead of sampling the lip corner stretched
    into a vertical wedge (liveportrait_s10 x d18 frame 82)."""
    src = _face_points()
    tgt = _open_mouth(src, 20.0)
    # the far corner recedes to mid-height behind its upper neighbour; the lower lip
    # beside it stays on the near side
    tgt[78, :2] += (9.0, 10.0)
    tgt[[95, 88], 0] += 12.0
    assert _mouth_frame_uv(tgt, *tgt[191, :2])[0] < 0 < _mouth_frame_uv(tgt, *tgt[95, :2])[0]
    # a pixel of the opening just beyond the corner, below the upper lip: the lip
    # curves taken one by one put it above a spike of the upper lip down to the corner
    a, e, n, width = mouth._frame(tgt)
    _, v_up = _mouth_frame_uv(tgt, *tgt[191, :2])
    p = a + (-0.01 * width) * e + 0.7 * v_up * n
    _, _, depth = mouth.mouth_map(np.array([p[0]], np.float32), np.array([p[1]], np.float32), src, tgt)
    assert depth[0] > 1.0  # inside the cavity by more than a pixel (was -6.5: sampled the lip)


def test_the_opening_bounds_are_the_lip_curves_on_an_ordinary_mouth() -> None:
    tgt = _open_mouth(_face_points(), 12.0)
    a, e, n, width = mouth._frame(tgt)
    u, top, bottom = mouth._opening_bounds(tgt, a, e, n, width)
    (uu, vu), (ul, vl) = mouth._lip_curves(tgt, a, e, n, width)
    assert np.all(np.diff(u) > 0)
    assert np.allclose(top, np.interp(u, uu, vu), atol=1e-9)
    assert np.allclose(bottom, np.interp(u, ul, vl), atol=1e-9)
    closed = _face_points()  # lips touching (or crossing by a hair): no opening invented
    a, e, n, width = mouth._frame(closed)
    u, top, bottom = mouth._opening_bounds(closed, a, e, n, width)
    (uu, vu), (ul, vl) = mouth._lip_curves(closed, a, e, n, width)
    crossed = np.interp(u, uu, vu) > np.interp(u, ul, vl)
    assert np.allclose((bottom - top)[crossed], (np.interp(u, ul, vl) - np.interp(u, uu, vu))[crossed])


def _large_painted_teeth(scale: float, open_of_width: float, teeth: mouth.TeethShow):
    """A closed source mouth on a face ``scale`` x the usual size, opened by
    ``open_of_width`` of its width, painted with invented teeth into a mid-grey image
    (large enough for the face): (image, target points, xs, ys, cavity depth)."""
    src = _face_points()
    src[:, :2] = 256 + scale * (src[:, :2] - 256)
    lower = [95, 88, 178, 87, 14, 317, 402, 318, 324]
    src[lower, 1] -= src[14, 1] - src[13, 1]  # a closed source mouth: all of the opening is painted
    width = float(np.linalg.norm(src[78, :2] - src[308, :2]))
    tgt = _open_mouth(src, open_of_width * width)
    xs, ys, cav = _opening_pixels(src, tgt)
    look = mouth.MouthLook(gap=0.5, cavity_rgb=np.array([40, 16, 14], np.float32), teeth_rgb=None,
                           tongue_rgb=np.array([150, 70, 70], np.float32),
                           white_rgb=np.array([230, 220, 205], np.float32), face_size_px=scale * 240)
    size = 1024 if scale > 3.0 else 512
    layer = mouth.cavity_layer(size, xs, ys, cav, tgt, look, teeth)
    img = np.full((size, size, 3), 128, np.uint8)
    layer.apply(img)
    return img, tgt, xs, ys, cav


def test_a_smile_leaves_a_dark_gap_under_the_invented_teeth() -> None:
    """A smiling mouth opened a little (liveportrait_d10 frame 222) shows its upper teeth
    over the lower teeth's dark gap; the band used to fill the opening down to the lower
    lip, a grey block."""
    # an inner-lip gap of 12 % of the mouth's width
    img, tgt, xs, ys, cav = _large_painted_teeth(3.0, 0.15, mouth.TeethShow(smile=1.0))
    x = int(round(tgt[13, 0]))
    col = (cav > 0) & (xs == x)
    column = img[int(ys[col].min()):int(ys[col].max()) + 1, x].astype(float).mean(axis=1)
    h = len(column)
    assert h >= 10
    teeth = column > 120
    assert teeth[: h // 2].sum() >= 0.4 * h  # a broad band of teeth under the upper lip
    assert not teeth[int(np.ceil(0.8 * h)):].any(), column.round().tolist()  # the bottom fifth is dark


def test_invented_teeth_follow_the_portraits_light(sample_state) -> None:
    """A dim portrait gets dim teeth, a bright one bright teeth (they were lifted to one
    brightness for every portrait); without visible eye whites the skin sets it."""
    p = sample_state.payload

    def level(gain: float, eye_mask: np.ndarray) -> float:
        crop = np.clip(p.crop.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        return float(mouth.analyse_mouth(crop, p.landmarks, p.face_size_px, eye_mask).white_rgb.mean())

    full, half, third = level(1.0, p.eye_mask), level(0.5, p.eye_mask), level(0.3, p.eye_mask)
    assert full <= mouth._TEETH_LEVEL[1] + 1e-3 and third < half < full
    assert third / half == pytest.approx(0.6, abs=0.06)  # in proportion to the light (below the cap)
    no_eyes = level(0.5, np.zeros_like(p.eye_mask))  # the skin's light alone
    assert mouth._TEETH_LEVEL[0] < no_eyes <= half


def test_the_lines_between_invented_teeth_close_up_towards_the_corners() -> None:
    """Teeth are evenly spaced along the dental arch, which turns away towards the
    mouth's corners: seen from the front, the lines between them close up there (evenly
    spaced across the mouth they read as piano keys)."""
    img, tgt, _, _, _ = _large_painted_teeth(4.0, 0.25, mouth.TeethShow(smile=0.5))  # lines many px apart
    # a row through the teeth just under the upper lip, mid-mouth to the right corner
    x_mid, x_end = tgt[13, 0], tgt[308, 0]
    y = int(round(tgt[13, 1])) + 4
    cols = np.arange(int(x_mid) - 2, int(x_mid + 0.85 * (x_end - x_mid)))
    row = img[y, cols].astype(float).mean(axis=1)
    teeth = np.nonzero(row < 100)[0]  # the teeth fade out before the corner
    end = int(teeth[0]) if len(teeth) else len(row)
    assert end > 0.5 * len(row)
    cols, row = cols[:end], row[:end]
    dips = [int(c) for i, c in enumerate(cols[1:-1], 1) if row[i] < row[i - 1] and row[i] <= row[i + 1]
            and row[i] < np.max(row[max(0, i - 6):i + 7]) - 3]
    assert len(dips) >= 3, dips
    assert abs(dips[0] - x_mid) <= 1.5  # the central incisors' line
    # the arch's lines, seen from the front: 0.129 and 0.249 of the width from the middle
    # (evenly spaced every 0.15, they were 0.15 and 0.30), closing up towards the corner
    w_t = float(np.linalg.norm(tgt[308, :2] - tgt[78, :2]))
    expect = 0.5 * w_t * np.sin(np.deg2rad([14.0, 28.0])) / np.sin(np.deg2rad(70.0))
    assert np.allclose(np.array(dips[1:3]) - x_mid, expect, atol=2.0), (dips, x_mid, expect)
    gaps = np.diff(dips)
    assert gaps[0] > gaps[1], dips


def test_a_lipstick_does_not_colour_the_mouths_interior(sample_state) -> None:
    """A purple or black lipstick gave a purple or black tongue: the interior takes natural
    lips' hue at the lipstick's brightness; natural lips and a black-and-white photo keep
    their own colour."""
    p = sample_state.payload
    S = p.crop.shape[0]
    outer = np.zeros((S, S), np.uint8)
    cv2.fillPoly(outer, [np.round(p.landmarks[list(ls.LIPS_OUTER), :2]).astype(np.int32)], 1)
    inner = np.zeros((S, S), np.uint8)
    cv2.fillPoly(inner, [np.round(p.landmarks[list(ls.LIPS_INNER), :2]).astype(np.int32)], 1)
    lips = (outer > 0) & (inner == 0)

    def look(crop: np.ndarray) -> mouth.MouthLook:
        return mouth.analyse_mouth(crop, p.landmarks, p.face_size_px, p.eye_mask)

    natural = look(p.crop)
    lip_rgb = p.crop[lips].astype(np.float32).mean(0)
    assert np.allclose(natural.tongue_rgb, np.clip(lip_rgb * 0.9 + [15, 2, 6], 0, 255), atol=1e-3)  # as it was
    for paint in ((90, 40, 140), (35, 30, 35)):  # purple, black
        crop = p.crop.copy()
        crop[lips] = paint
        t, c = look(crop).tongue_rgb, look(crop).cavity_rgb
        assert t[0] > 1.4 * t[2] and t[0] > 1.4 * t[1], (paint, t)  # a red tongue
        assert c[0] > 1.3 * c[2], (paint, c)
        assert abs(float(t.mean()) - (0.9 * float(np.mean(paint)) + 23 / 3)) < 3.0  # at the lipstick's brightness
    grey = np.repeat(p.crop.mean(2, keepdims=True), 3, axis=2).astype(np.uint8)  # a black-and-white photo
    t = look(grey).tongue_rgb
    assert float(np.ptp(t - np.array([15, 2, 6], np.float32))) < 1.0  # its grey, as it was
