"""Face choice rules, frame-to-frame following and optional smoothing (synthetic data)."""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.core.errors import NoFaceError
from dexstudio.motion.face_select import FaceFollower, FaceRule, choose_face, iou
from dexstudio.motion.tracker import FaceObservation


def face(x0, y0, x1, y1, score=1.0) -> FaceObservation:
    lm = np.array([[x0, y0, 0], [x1, y1, 0]], np.float32)
    return FaceObservation(landmarks=lm, blendshapes=np.zeros(52, np.float32), transform=np.eye(4),
                           bbox=(x0, y0, x1, y1), score=score)


FACES = [face(600, 100, 700, 200, 0.9), face(0, 0, 300, 300, 0.6), face(350, 200, 450, 300, 0.99)]


def test_rules():
    size = (800, 500)
    assert choose_face(FACES, size, FaceRule.LARGEST) is FACES[1]
    assert choose_face(FACES, size, FaceRule.HIGHEST_SCORE) is FACES[2]
    assert choose_face(FACES, size, FaceRule.MOST_CENTRAL) is FACES[2]


def test_index_is_left_to_right_and_box_overlap():
    size = (800, 500)
    assert choose_face(FACES, size, index=0) is FACES[1]
    assert choose_face(FACES, size, index=2) is FACES[0]
    assert choose_face(FACES, size, box=(590, 90, 690, 190)) is FACES[0]
    with pytest.raises(NoFaceError, match="between 0 and 2"):
        choose_face(FACES, size, index=3)
    with pytest.raises(NoFaceError, match="no face overlaps"):
        choose_face(FACES, size, box=(750, 450, 790, 490))
    with pytest.raises(NoFaceError):
        choose_face([], size)


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)


def test_follower_ignores_a_new_face_and_survives_gaps():
    f = FaceFollower()
    f.start(face(100, 100, 200, 200))
    moved = face(110, 105, 210, 205)
    newcomer = face(500, 100, 800, 400)  # larger, elsewhere
    assert f.follow([newcomer, moved]) is moved
    assert f.follow([newcomer]) is None  # lost, not swapped
    assert f.follow([]) is None
    back = face(130, 110, 230, 210)
    assert f.follow([newcomer, back]) is back
    assert f.follow([face(120, 110, 420, 410)]) is None  # size jumped x3: another face


def test_smooth_track_is_a_parameter_not_baked_in():
    from dexstudio.core.motion import MotionTrack
    from dexstudio.core.rotation import euler_to_matrix, matrix_to_quaternion
    from dexstudio.core.timebase import FrameRate
    from dexstudio.motion.smoothing import SmoothSettings, smooth_track

    rng = np.random.default_rng(0)
    F = 120
    euler = np.stack([10 * np.sin(np.linspace(0, 3, F)), np.zeros(F), np.zeros(F)], 1)
    noisy = euler + rng.normal(0, 1.0, (F, 3))
    R = euler_to_matrix(noisy[:, 0], noisy[:, 1], noisy[:, 2])
    t = MotionTrack(rate=FrameRate(30), quaternion=matrix_to_quaternion(R), euler=noisy,
                    translation=np.zeros((F, 2)), scale=np.ones(F),
                    blendshapes=rng.uniform(0, 1, (F, 52)).astype(np.float32),
                    detail=np.zeros((F, 16), np.float32), valid=np.ones(F, bool))
    s = smooth_track(t, SmoothSettings(min_cutoff=1.0, beta=0.0))
    assert np.abs(s.euler - euler)[10:].mean() < np.abs(noisy - euler)[10:].mean()
    assert s.blendshapes.min() >= 0 and s.blendshapes.max() <= 1
    np.testing.assert_array_equal(t.euler, noisy)  # raw values untouched
