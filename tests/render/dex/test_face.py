"""Source-face analysis for the DeX animator (MediaPipe + solve_pose)."""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.core.errors import NoFaceError
from dexstudio.io.image import load_image
from dexstudio.render.base import SourceOptions
from dexstudio.render.dex.face import MediaPipeFaceAnalyzer, centered_analysis, crop_square


@pytest.fixture(scope="module")
def analyzer():
    a = MediaPipeFaceAnalyzer()
    yield a
    a.close()


def test_real_portrait_gives_a_face_centred_crop(analyzer, sample_portrait) -> None:
    img = load_image(sample_portrait)
    face = analyzer(img, SourceOptions(), 0.6)
    x0, y0, x1, y1 = face.crop_box
    assert x1 - x0 == pytest.approx(y1 - y0)
    assert 0.2 * img.shape[1] < x1 - x0 < 2.5 * img.shape[1]
    assert 0 < (x0 + x1) / 2 < img.shape[1] and 0 < (y0 + y1) / 2 < img.shape[0]
    assert all(abs(a) < 45 for a in face.own_motion.euler)
    assert face.own_motion.translation == (0.0, 0.0) and face.own_motion.scale == 1.0
    crop = crop_square(img, face.crop_box, 64)
    assert crop.shape == (64, 64, 3)


def test_blank_image_has_no_face(analyzer) -> None:
    with pytest.raises(NoFaceError):
        analyzer(np.full((128, 128, 3), 90, np.uint8), SourceOptions(), 0.6)


def test_requested_face_index_out_of_range(analyzer, sample_portrait) -> None:
    with pytest.raises(NoFaceError, match="face 3"):
        analyzer(load_image(sample_portrait), SourceOptions(face_index=3), 0.6)


def test_centered_analysis_is_the_middle_square() -> None:
    f = centered_analysis(np.zeros((40, 60, 3), np.uint8), SourceOptions(), 0.6)
    assert f.crop_box == (10.0, 0.0, 50.0, 40.0)
