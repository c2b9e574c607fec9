"""Face choice rules and frame-to-frame following (synthetic observations)."""

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
