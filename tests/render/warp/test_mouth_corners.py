"""The crease beside a closed mouth's corner smooths out as the mouth opens
(:mod:`dexstudio.render.warp.mouth_corners`)."""

from __future__ import annotations

import cv2
import numpy as np
from eye_shapes import frontal_face

from dexstudio.motion import landmark_sets as ls
from dexstudio.render.warp import mouth_corners as mc

SKIN = (200, 150, 130)
LIPS = (170, 80, 80)
CREASE = (140, 95, 80)


def _portrait(crease: bool) -> tuple[np.ndarray, np.ndarray]:
    """(crop, landmarks): skin, red lips, and (optionally) a 2 px dark line running 8 px
    out from each mouth corner and 3 px into the lips' corner."""
    P = frontal_face()
    lower = [95, 88, 178, 87, 14, 317, 402, 318, 324]
    P[lower, 1] -= P[14, 1] - P[13, 1]  # a closed mouth (an open one's corners are its interior)
    img = np.empty((512, 512, 3), np.uint8)
    img[:] = SKIN
    cv2.fillPoly(img, [np.round(P[list(ls.LIPS_OUTER), :2]).astype(np.int32)], LIPS)
    if crease:
        for corner, out in ((ls.MOUTH_CORNER_RIGHT, -1), (ls.MOUTH_CORNER_LEFT, 1)):
            x, y = np.round(P[corner, :2]).astype(int)
            cv2.line(img, (int(x - 3 * out), int(y)), (int(x + 8 * out), int(y + 1)), CREASE, 2)
    return img, P


def _opened(P: np.ndarray, px: float) -> np.ndarray:
    out = P.copy()
    out[[95, 88, 178, 87, 14, 317, 402, 318, 324], 1] += px
    return out


def _line_pixels(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs) of the crease drawn beside the right corner, outside the lips."""
    img, _ = _portrait(True)
    plain, _ = _portrait(False)
    ys, xs = np.nonzero(np.any(img != plain, axis=2))
    x = P[ls.MOUTH_CORNER_RIGHT, 0]
    keep = xs < x - 1
    return ys[keep], xs[keep]


def test_the_crease_is_found_beside_each_corner_and_nothing_on_plain_skin() -> None:
    img, P = _portrait(True)
    patches = mc.analyse_creases(img, P)
    assert len(patches) == 2
    ys, xs = _line_pixels(P)
    right = patches[0]
    x0, y0 = right.box[:2]
    assert right.mask[ys - y0, xs - x0].mean() > 0.5
    # the inpainted patch shows skin where the line was
    assert np.abs(right.smooth[ys - y0, xs - x0] - np.array(SKIN)).max() < 20
    # the lips away from the corner are kept
    mid = np.round(P[0, :2]).astype(int)  # upper lip's middle
    assert not any(p.box[0] <= mid[0] < p.box[2] and p.box[1] <= mid[1] < p.box[3] for p in patches)
    plain, P = _portrait(False)
    assert mc.analyse_creases(plain, P) == ()


def test_an_opened_mouth_shows_skin_where_the_crease_was_a_closed_one_keeps_it() -> None:
    img, P = _portrait(True)
    patches = mc.analyse_creases(img, P)
    ys, xs = _line_pixels(P)
    identity = np.dstack(np.meshgrid(np.arange(512, dtype=np.float32), np.arange(512, dtype=np.float32)))
    # closed as in the source: no layer
    assert mc.crease_fade(P, P) == 0.0
    assert mc.crease_layer(patches, identity, P, 0.0) is None
    # opened: the fade is full and the line is painted over with skin
    T = _opened(P, 20.0)
    fade = mc.crease_fade(P, T)
    assert fade == 1.0
    layer = mc.crease_layer(patches, identity, T, fade)
    assert layer is not None
    out = img.copy()
    layer.apply(out)
    before = np.abs(img[ys, xs].astype(int) - np.array(SKIN)).mean()
    after = np.abs(out[ys, xs].astype(int) - np.array(SKIN)).mean()
    assert before > 25 and after < 0.35 * before, (before, after)
    # half open: half way
    half = mc.crease_layer(patches, identity, T, 0.5)
    out_half = img.copy()
    half.apply(out_half)
    mid = np.abs(out_half[ys, xs].astype(int) - np.array(SKIN)).mean()
    assert after < mid < before


def test_textured_skin_beside_the_corner_is_left_alone() -> None:
    """Stubble or a beard is many thin dark lines: smoothing it smeared
    makeittalk_morgan's beard beside his opened mouth."""
    img, P = _portrait(True)
    rng = np.random.default_rng(0)
    for corner in (ls.MOUTH_CORNER_RIGHT, ls.MOUTH_CORNER_LEFT):
        x, y = P[corner, :2]
        for _ in range(60):  # hairs around the corner, crossing the crease
            a = rng.uniform(0, np.pi)
            cx, cy = x + rng.uniform(-14, 14), y + rng.uniform(-10, 10)
            d = 4 * np.array([np.cos(a), np.sin(a)])
            cv2.line(img, (int(cx - d[0]), int(cy - d[1])), (int(cx + d[0]), int(cy + d[1])), CREASE, 1)
    cv2.fillPoly(img, [np.round(P[list(ls.LIPS_OUTER), :2]).astype(np.int32)], LIPS)
    assert mc.analyse_creases(img, P) == ()


def test_a_crease_beside_one_corner_only_is_smoothed_there() -> None:
    """A portrait with a crease beside its left corner only: its one patch is laid
    around the left corner (patches were paired with corners by position)."""
    img, P = _portrait(True)
    plain, _ = _portrait(False)
    right_half = np.arange(512) < P[ls.MOUTH_CORNER_RIGHT, 0] + 10
    img[:, right_half] = plain[:, right_half]  # keep the crease beside the left corner only
    patches = mc.analyse_creases(img, P)
    assert [p.corner for p in patches] == [ls.MOUTH_CORNER_LEFT]
    ys, xs = np.nonzero(np.any(img != plain, axis=2) & ~right_half[None, :])
    ys, xs = ys[xs > P[ls.MOUTH_CORNER_LEFT, 0] + 1], xs[xs > P[ls.MOUTH_CORNER_LEFT, 0] + 1]
    identity = np.dstack(np.meshgrid(np.arange(512, dtype=np.float32), np.arange(512, dtype=np.float32)))
    layer = mc.crease_layer(patches, identity, _opened(P, 20.0), 1.0)
    assert layer is not None
    out = img.copy()
    layer.apply(out)
    before = np.abs(img[ys, xs].astype(int) - np.array(SKIN)).mean()
    after = np.abs(out[ys, xs].astype(int) - np.array(SKIN)).mean()
    assert after < 0.35 * before, (before, after)
