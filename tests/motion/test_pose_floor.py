"""motion.pose_floor: the tracker's own pose noise on shifted / scaled copies of one image."""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.motion.pose_floor import PoseFloor, jitter_similarity, pose_floor


def test_jitter_is_a_shift_and_scale_without_rotation() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        m = jitter_similarity(rng, (512, 400), 6.0, 0.04)
        assert m[0, 1] == 0 and m[1, 0] == 0 and m[0, 0] == m[1, 1]
        assert 0.96 <= m[0, 0] <= 1.04
        centre = m @ np.array([256.0, 200.0, 1.0])
        assert np.all(np.abs(centre - [256.0, 200.0]) <= 6.0 + 1e-9)


def test_no_jitter_reads_no_rotation(sample_portrait) -> None:
    """Zero shift and scale: every copy is the image itself, so the floor is ~0."""
    from dexstudio.io.image import load_image
    from dexstudio.motion.extract import ExtractSettings, make_tracker
    from dexstudio.motion.face_model import load_canonical_face

    image = load_image(sample_portrait)
    with make_tracker(ExtractSettings()) as t:
        f = pose_floor(t, image, load_canonical_face(), copies=3, shift_px=0.0, scale=0.0)
    assert f.copies == 3
    assert f.max_deg < 0.05


def test_floor_on_the_sample_is_reproducible(sample_portrait) -> None:
    from dexstudio.io.image import load_image
    from dexstudio.motion.extract import ExtractSettings, make_tracker
    from dexstudio.motion.face_model import load_canonical_face

    image, face = load_image(sample_portrait), load_canonical_face()
    runs = []
    for _ in range(2):
        with make_tracker(ExtractSettings()) as t:
            runs.append(pose_floor(t, image, face, copies=6))
    assert runs[0] == runs[1]
    f = runs[0]
    assert f.copies == 6
    assert 0.0 < f.mean_deg <= f.max_deg < 3.0  # MediaPipe reads a few tenths of a degree


def test_no_face_gives_nan() -> None:
    from dexstudio.motion.extract import ExtractSettings, make_tracker
    from dexstudio.motion.face_model import load_canonical_face

    with make_tracker(ExtractSettings()) as t:
        f = pose_floor(t, np.full((256, 256, 3), 90, np.uint8), load_canonical_face(), copies=2)
    assert f.copies == 0 and np.isnan(f.max_deg)
    assert isinstance(f, PoseFloor)
