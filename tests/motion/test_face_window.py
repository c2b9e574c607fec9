"""A small face: found in tiles, then tracked inside a window around it."""

from __future__ import annotations

import numpy as np

from dexstudio.motion.face_window import FACE_SHARE, FaceWindow, _tiles, find_face_window
from dexstudio.motion.tracker import FaceObservation


def _obs(x0, y0, x1, y1) -> FaceObservation:
    lm = np.zeros((478, 3), np.float32)
    lm[:, 0] = np.linspace(x0, x1, 478)
    lm[:, 1] = np.linspace(y0, y1, 478)
    return FaceObservation(landmarks=lm, blendshapes=np.zeros(52, np.float32), transform=np.eye(4, dtype=np.float32),
                           bbox=(x0, y0, x1, y1))


def test_tiles_cover_the_frame_overlapping_by_half() -> None:
    tiles = list(_tiles(1920, 1080, 540))
    covered = np.zeros((1080, 1920), bool)
    for x, y in tiles:
        covered[y:y + 540, x:x + 540] = True
    assert covered.all()
    assert {x for x, _ in tiles} >= {0, 270, 1380} and {y for _, y in tiles} == {0, 270, 540}


def test_a_face_only_a_tile_can_see_gives_a_window_around_it() -> None:
    """The fake detector sees the face (100 px tall at 1200..1300 x 400..500) only when it
    fills a tile well: never in the whole frame."""
    frame = np.zeros((1080, 1920, 3), np.uint8)

    def detect(img: np.ndarray) -> list[FaceObservation]:
        h, w = img.shape[:2]
        if h > 600:  # the whole frame: too small to see
            return []
        # where the face lies in this tile: find it by the marker pixels
        ys, xs = np.nonzero(img[..., 0] == 255)
        if len(xs) < 100 * 100:  # cut by the tile's edge
            return []
        return [_obs(float(xs.min()), float(ys.min()), float(xs.max()) + 1, float(ys.max()) + 1)]

    assert find_face_window([frame], detect) is None  # no face anywhere
    frame[400:500, 1200:1300, 0] = 255
    assert detect(frame) == []
    win = find_face_window([frame, frame], detect)
    assert win is not None
    side = win.x1 - win.x0
    assert side == win.y1 - win.y0 == round(100 / FACE_SHARE)
    assert win.x0 <= 1200 and win.x1 >= 1300 and win.y0 <= 400 and win.y1 >= 500
    assert 0 <= win.x0 and win.x1 <= 1920 and 0 <= win.y0 and win.y1 <= 1080


def test_a_window_never_leaves_the_frame_and_shifts_observations_back() -> None:
    win = FaceWindow(100, 50, 400, 350)
    rgb = np.arange(600 * 800 * 3, dtype=np.uint32).astype(np.uint8).reshape(600, 800, 3)
    crop = win.crop(rgb)
    assert crop.shape == (300, 300, 3) and crop.flags.c_contiguous
    assert np.array_equal(crop, rgb[50:350, 100:400])
    o = win.to_frame(_obs(10, 20, 110, 140))
    assert o.bbox == (110, 70, 210, 190)
    assert o.landmarks[0, 0] == 110 and o.landmarks[0, 1] == 70 and o.landmarks[0, 2] == 0


def test_a_smaller_face_is_searched_in_smaller_tiles() -> None:
    """A detector that sees the 60 px face only in tiles up to 400 px: the 540 px tiles
    find nothing, the 324 px ones (0.3 of 1080) do."""
    frame = np.zeros((1080, 1920, 3), np.uint8)
    frame[700:760, 300:360, 0] = 255
    sides = []

    def detect(img: np.ndarray) -> list[FaceObservation]:
        sides.append(img.shape[0])
        ys, xs = np.nonzero(img[..., 0] == 255)
        if img.shape[0] > 400 or len(xs) < 60 * 60:
            return []
        return [_obs(float(xs.min()), float(ys.min()), float(xs.max()) + 1, float(ys.max()) + 1)]

    win = find_face_window([frame], detect)
    assert win is not None and {540, 324} <= set(sides)
    assert win.x0 <= 300 and win.x1 >= 360 and win.y0 <= 700 and win.y1 >= 760
    assert win.x1 - win.x0 == round(60 / FACE_SHARE)
