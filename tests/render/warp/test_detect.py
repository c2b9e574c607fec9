"""Finding the source face: a small face in a large photo (a group or full-body shot)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dexstudio.core.errors import NoFaceError


def test_a_face_four_percent_of_a_12_megapixel_photo_is_found(warp_animator, sample_portrait) -> None:
    """The sample pasted as a 300 px square into 4000 x 3000 (its face ~120 px tall): the
    whole image and the 0.6 / 0.4 tiles showed the detector no face."""
    from dexstudio.io.image import load_image
    from dexstudio.render.warp.detect import detect_faces

    big = np.full((3000, 4000, 3), 120, np.uint8)
    big[1200:1500, 2500:2800] = cv2.resize(load_image(sample_portrait), (300, 300), interpolation=cv2.INTER_AREA)
    faces = detect_faces(big, warp_animator._get_tracker())
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].bbox
    assert 2500 <= x0 < x1 <= 2800 and 1200 <= y0 < y1 <= 1500


def test_no_face_in_a_large_photo_is_a_typed_error(warp_animator) -> None:
    with pytest.raises(NoFaceError, match="no face"):
        warp_animator.prepare(np.full((1500, 2000, 3), 120, np.uint8))
