"""What the lids hide: an eye opened wider than the source's shows eyeball, not the
source's lid margin or lashes (:mod:`dexstudio.render.warp.eyeball`)."""

from __future__ import annotations

import cv2
import numpy as np

from dexstudio.motion import landmark_sets as ls
from dexstudio.render.warp import eyeball, eyes
from eye_shapes import frontal_face, lower_upper_lid

S = 512
EYE = eyes.RIGHT
SCLERA = (225, 220, 215)
IRIS = (110, 80, 60)
LASH = (30, 25, 25)


def _source() -> tuple[np.ndarray, np.ndarray]:
    """The frontal face with its right iris (radius 5 px, centred in the opening) and a
    crop: skin, the white of the eye, a brown iris and a dark band of lashes and lid
    shadow along the inside of the upper margin (1.5 px, within the margin band the
    module leaves to the lids: 6 % of the 31 px eye)."""
    P = frontal_face()
    c = P[list(EYE.contour)].mean(0)
    P[EYE.iris_center] = c
    for k, i in enumerate(ls.RIGHT_IRIS):
        t = k * np.pi / 2
        P[i] = c + [5 * np.cos(t), 5 * np.sin(t), 0]
    crop = np.full((S, S, 3), (200, 160, 140), np.uint8)
    mask = eyes.eye_mask(P, S)
    crop[mask > 0] = SCLERA
    cv2.circle(crop, (int(round(c[0])), int(round(c[1]))), 5, IRIS, -1)
    crop[mask == 0] = (200, 160, 140)  # the iris under the lids is not seen
    depth = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 3)
    a, e, n, w = eyes._eye_frame(P, EYE)
    ys, xs = np.nonzero((depth > 0) & (depth <= 1.5))
    upper = ((np.stack([xs, ys], 1) - a) @ n) < 0
    crop[ys[upper], xs[upper]] = LASH
    return P, crop


def _opening(P: np.ndarray) -> np.ndarray:
    """(S, S) uint8 the right eye's opening alone."""
    m = np.zeros((S, S), np.uint8)
    cv2.fillPoly(m, [np.round(P[list(EYE.contour), :2] * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
    return m


def _render_eye(src: np.ndarray, crop: np.ndarray, tgt: np.ndarray):
    """The frame's eye opening: its pixels, their eyeball samples and what shows there
    (the sample, or the painted eyeball where :func:`hidden_eyeball_layer` paints)."""
    mask_t = _opening(tgt)
    ys, xs = np.nonzero(mask_t)
    sx, sy, _ = eyes.eyeball_map(xs.astype(np.float32), ys.astype(np.float32), EYE, src, tgt, eyes.eye_mask(src, S))
    look = eyeball.analyse_eyeball(crop, src, EYE, eyes.eye_mask(src, S))
    real, layer = eyeball.hidden_eyeball_layer(xs, ys, sx, sy, look, src, tgt, EYE, S)
    shown = np.zeros((S, S, 3), np.uint8)
    shown[ys, xs] = cv2.remap(crop, sx.reshape(1, -1), sy.reshape(1, -1), cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)
    if layer is not None:
        layer.apply(shown)
    depth_t = cv2.distanceTransform((mask_t > 0).astype(np.uint8), cv2.DIST_L2, 3)[ys, xs]
    return xs, ys, real, layer, shown, depth_t


def test_an_eye_as_open_as_the_source_keeps_every_sample() -> None:
    src, crop = _source()
    xs, ys, real, layer, _, _ = _render_eye(src, crop, src.copy())
    assert (real >= 1.0).all() and layer is None


def test_a_wider_eye_shows_eyeball_where_the_lid_was_not_its_lashes() -> None:
    src, crop = _source()
    tgt = lower_upper_lid(src, 1.6)  # the upper lid raised: 60 % more opening
    xs, ys, real, layer, shown, depth_t = _render_eye(src, crop, tgt)
    assert layer is not None and (real < 0.5).sum() > 20
    lum = shown[ys, xs].astype(np.float32).mean(1)
    inner = depth_t > 3.0  # clear of the frame's own lid margin (1.5 px of lashes, +1 px of tolerance)
    # no lash-dark pixel inside the widened opening (the lashes stay on the lid)
    assert lum[inner].min() > 60.0
    # the revealed band is the white of the eye, continued (not skin, not the lid)
    painted = (real < 0.5) & inner
    far_from_iris = np.hypot(xs - src[EYE.iris_center, 0], ys - src[EYE.iris_center, 1]) > 8
    band = shown[ys[painted & far_from_iris], xs[painted & far_from_iris]].astype(np.float32)
    assert len(band) > 10
    # white, a little shaded where the inpainting reaches the iris (measured 30 levels
    # darker); the skin is 55-75 levels off in green and blue, the lashes 190
    assert np.abs(band.mean(0) - SCLERA).max() < 40 and band.mean(1).min() > 120


def _look_aside(src: np.ndarray, dx: float) -> np.ndarray:
    """The source's landmarks with the right iris moved ``dx`` px along the eye (a gaze
    to the side; lids and corners where they were)."""
    tgt = src.copy()
    tgt[[EYE.iris_center, *EYE.iris_ring], 0] += dx
    return tgt


def _render_gaze(src: np.ndarray, crop: np.ndarray, tgt: np.ndarray):
    """The frame's eye opening through :func:`gaze_eyeball_layer`: (xs, ys, shown)."""
    ys, xs = np.nonzero(_opening(tgt))
    look = eyeball.analyse_eyeball(crop, src, EYE, eyes.eye_mask(src, S))
    sx, sy, shift = eyes.rigid_eyeball(xs.astype(np.float32), ys.astype(np.float32), EYE, src, tgt)
    out = eyeball.gaze_eyeball_layer(xs, ys, sx, sy, shift, look, crop, src, tgt, EYE, S)
    if out is None:
        return xs, ys, None
    mx, my, layer = out
    shown = np.zeros((S, S, 3), np.uint8)
    shown[ys, xs] = cv2.remap(crop, mx.reshape(1, -1), my.reshape(1, -1), cv2.INTER_LINEAR).reshape(-1, 3)
    layer.apply(shown)
    return xs, ys, shown


def _iris_run(shown: np.ndarray, y: int, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """x of the iris-coloured pixels of the opening on row ``y``."""
    on_row = xs[ys == y]
    px = shown[y, on_row].astype(np.float32)
    return on_row[np.abs(px - IRIS).max(1) < 25]


def test_a_look_aside_moves_the_iris_whole_and_shows_the_white_behind_it() -> None:
    src, crop = _source()
    c = src[EYE.iris_center, :2]
    cy = int(round(c[1]))
    xs, ys, shown = _render_gaze(src, crop, _look_aside(src, 5.0))
    assert shown is not None
    run = _iris_run(shown, cy, xs, ys)
    # the iris keeps its width (2 x 5 px radius + its anti-aliased edge) and its new place
    assert 9 <= len(run) <= 12, run
    assert abs(run.mean() - (c[0] + 5.0)) < 1.0
    # where its trailing half was, the white of the eye shows (no iris smeared over it)
    behind = shown[cy, int(round(c[0])) - 3:int(round(c[0])) - 1].astype(np.float32)
    assert np.abs(behind - SCLERA).max(1).max() < 30, behind
    # the smooth displacement this replaces left the iris there, stretched over that white
    sx, sy, _ = eyes.eyeball_map(xs.astype(np.float32), ys.astype(np.float32), EYE, src, _look_aside(src, 5.0),
                                 eyes.eye_mask(src, S))
    smooth = np.zeros_like(shown)
    smooth[ys, xs] = cv2.remap(crop, sx.reshape(1, -1), sy.reshape(1, -1), cv2.INTER_LINEAR).reshape(-1, 3)
    old_run = _iris_run(smooth, cy, xs, ys)
    assert old_run.mean() < c[0] + 4.0 and old_run.min() <= int(round(c[0])) - 2  # measured: 3.3 px moved, 12 wide


def test_an_iris_that_keeps_its_place_keeps_the_smooth_map() -> None:
    src, crop = _source()
    _, _, shown = _render_gaze(src, crop, _look_aside(src, 0.1))
    assert shown is None  # below the threshold: eyeball_map and the hidden-eyeball layer, exact for the source


def test_no_bare_eyeball_for_an_eye_that_shows_no_white_or_no_iris() -> None:
    src, _ = _source()
    crop = np.full((S, S, 3), (200, 160, 140), np.uint8)
    crop[eyes.eye_mask(src, S) > 0] = IRIS  # all iris: nothing to continue the white from
    look = eyeball.analyse_eyeball(crop, src, EYE, eyes.eye_mask(src, S))
    # no white-of-the-eye colour to be found: the iris falls back to the smooth map
    assert look.bare is None
    # a shut or squinting eye: the tracker's "iris" and "white" both lid skin (liveportrait_s6)
    crop[eyes.eye_mask(src, S) > 0] = (200, 160, 140)
    assert eyeball.analyse_eyeball(crop, src, EYE, eyes.eye_mask(src, S)).bare is None
    # an open one has its bare eyeball
    _, open_crop = _source()
    assert eyeball.analyse_eyeball(open_crop, src, EYE, eyes.eye_mask(src, S)).bare is not None


def test_gaze_weight_ramps_from_the_onset_to_full() -> None:
    assert eyeball.gaze_weight(np.array([0.2, 0.0])) == 0.0
    assert eyeball.gaze_weight(np.array([0.0, 1.2])) == 1.0
    w = [eyeball.gaze_weight(np.array([s, 0.0])) for s in np.linspace(0.25, 1.0, 16)]
    assert w[0] == 0.0 and w[-1] == 1.0 and np.all(np.diff(w) > 0)


def test_a_gaze_sweep_changes_the_eye_gradually(warp_animator, sample_state) -> None:
    """A gaze that starts moving the iris used to switch the moved iris (and the edge
    repaint that goes with it) on at once: 5-20 pixels of the eye jumped by 40-115 grey
    levels where the iris shift crossed 0.25 px, and a gaze hovering there (one that
    looks at the camera) flickered. Swept through the onset in 0.05 px steps, no step
    changes a pixel of the eyes by more than 30 levels."""
    from dataclasses import replace

    from dexstudio.core.channels import ARKIT_NAMES

    own = sample_state.own_motion
    L = sample_state.payload.landmarks
    eye_box = [(int(L[list(e.contour), 0].min()) - 4, int(L[list(e.contour), 1].min()) - 4,
                int(L[list(e.contour), 0].max()) + 5, int(L[list(e.contour), 1].max()) + 5)
               for e in (eyes.RIGHT, eyes.LEFT)]
    prev, steps, shifts = None, [], []
    for g in np.linspace(0.0, 0.12, 25):  # iris shifts 0 .. 1.2 px, 0.05 px a step
        b = list(own.blendshapes)
        for name in ("eyeLookOutRight", "eyeLookInLeft"):  # both eyes look to one side
            b[ARKIT_NAMES.index(name)] = min(1.0, own.blendshapes[ARKIT_NAMES.index(name)] + g)
        m = replace(own, blendshapes=tuple(b))
        P, _ = warp_animator.target_points(sample_state, m)
        shifts.append(max(float(np.hypot(*eyes.rigid_eyeball(np.zeros(1, np.float32), np.zeros(1, np.float32),
                                                             e, L, P)[2])) for e in (eyes.RIGHT, eyes.LEFT)))
        img = warp_animator.render(sample_state, m).astype(np.int16)
        if prev is not None:
            steps.append(max(int(np.abs(img[y0:y1, x0:x1] - prev[y0:y1, x0:x1]).max())
                             for x0, y0, x1, y1 in eye_box))
        prev = img
    assert shifts[0] < 0.25 < shifts[-1]  # the sweep crosses the onset
    assert max(steps) <= 30, steps  # measured: at most 23 (and 76 when it switched on at once)


def test_which_samples_show_the_source_changes_gradually_as_they_move() -> None:
    """Where an eye is opened wider than the source's, each pixel either showed its
    source sample or the painted eyeball, switched by its sample's depth in the source's
    opening (read from the nearest pixel): as an iris moved, pixels at the lid margin
    flipped between lashes and the white of the eye. The depth is now interpolated and
    each rule ramps over a pixel, so a sample moved 0.1 px changes how much of its
    source a pixel shows by a fraction. On liveportrait_s42 x d10: eye pixels jumping
    more than 40 levels while their map moved less than 0.3 px, 670 -> 233."""
    src, crop = _source()
    tgt = lower_upper_lid(src, 1.6)
    mask_t = _opening(tgt)
    ys, xs = np.nonzero(mask_t)
    sx, sy, _ = eyes.eyeball_map(xs.astype(np.float32), ys.astype(np.float32), EYE, src, tgt, eyes.eye_mask(src, S))
    look = eyeball.analyse_eyeball(crop, src, EYE, eyes.eye_mask(src, S))
    real, layer = eyeball.hidden_eyeball_layer(xs, ys, sx, sy, look, src, tgt, EYE, S)
    assert layer is not None and ((real > 0.05) & (real < 0.95)).any()  # a ramp, not a switch
    for dx, dy in ((0.1, 0.0), (0.0, 0.1), (-0.1, 0.07)):
        moved, _ = eyeball.hidden_eyeball_layer(xs, ys, sx + dx, sy + dy, look, src, tgt, EYE, S)
        assert np.abs(moved - real).max() <= 0.25
