"""The face-alignment tracker plugin: manifest, error paths, 68-point adapter."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dexstudio.core.errors import ModelNotFoundError  # noqa: E402
from dexstudio.core.rotation import euler_to_matrix  # noqa: E402
from dexstudio.motion import landmark_sets as ls  # noqa: E402
from dexstudio.motion.face_model import load_canonical_face  # noqa: E402
from dexstudio.motion.pose import project  # noqa: E402
from plugins.face_alignment_tracker import PLUGIN  # noqa: E402
from plugins.face_alignment_tracker import tracker as fat  # noqa: E402

FACE = load_canonical_face()


def synthetic68(yaw, pitch, roll, scale=6.0, center=(320.0, 240.0)):
    pts = project(FACE, euler_to_matrix(yaw, pitch, roll), scale, np.array(center))
    return pts[list(ls.IBUG68_TO_MESH), :2]


def test_manifest():
    assert PLUGIN.kind == "tracker" and PLUGIN.entry.endswith(":FaceAlignmentTracker")
    assert PLUGIN.tracker_id == fat.FaceAlignmentTracker.tracker_id
    assert all(w for w in PLUGIN.weights)


def test_missing_weights_raise_before_any_import(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    imported = []
    monkeypatch.setattr(fat, "_import_face_alignment", lambda: imported.append(1))
    with pytest.raises(ModelNotFoundError) as ei:
        fat.FaceAlignmentTracker()
    msg = str(ei.value)
    assert str(tmp_path / "hub" / "checkpoints") in msg and "never downloads" in msg
    assert PLUGIN.weights[0] in msg
    assert imported == []  # checked the files first


def test_checkpoints_dir_follows_torch_rules(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert fat.checkpoints_dir() == tmp_path / "th" / "hub" / "checkpoints"
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fat.checkpoints_dir() == tmp_path / "xdg" / "torch" / "hub" / "checkpoints"


@pytest.mark.skipif(importlib.util.find_spec("face_alignment") is not None,
                    reason="face-alignment is installed here")
def test_package_missing_is_a_clear_error(tmp_path, monkeypatch):
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    for w in PLUGIN.weights:
        (folder / w).write_bytes(b"placeholder")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(fat.PluginUnavailableError, match="pip install face-alignment"):
        fat.FaceAlignmentTracker()


@pytest.mark.parametrize("ypr", [(0, 0, 0), (25, -10, 12), (-35, 15, -20)])
def test_adapter_recovers_pose_and_keeps_expression_neutral(ypr):
    ch = fat.landmarks68_to_channels(synthetic68(*ypr))
    np.testing.assert_allclose(ch.euler, ypr, atol=1e-6)
    np.testing.assert_allclose(ch.center_px, [320.0, 240.0], atol=1e-6)
    assert ch.face_size_px == pytest.approx(6.0 * FACE.face_size)
    assert ch.blendshapes.shape == (52,) and not ch.blendshapes.any()
    with pytest.raises(ValueError, match="68"):
        fat.landmarks68_to_channels(np.zeros((5, 2)))


def test_68_point_observations_through_the_extraction_pipeline(sample_driving, tmp_path, monkeypatch):
    """A stand-in 68-point tracker (MediaPipe's points at the iBUG-mapped indices)."""
    from dexstudio.motion.extract import ExtractSettings, run_extraction
    from dexstudio.motion.tracker import FaceTracker, MediaPipeTracker

    monkeypatch.setenv("DEXSTUDIO_CACHE_DIR", str(tmp_path))

    class Fake68(FaceTracker):
        tracker_id = "fake68"

        def __init__(self):
            self.mp = MediaPipeTracker()

        def settings_key(self):
            return '{"tracker": "fake68"}'

        def detect_image(self, rgb):
            return [fat.observation_from_points(o.landmarks[list(ls.IBUG68_TO_MESH), :2])
                    for o in self.mp.detect_image(rgb)]

        def track_frame(self, rgb, ts):
            self.last_timestamp_ms = ts
            return [fat.observation_from_points(o.landmarks[list(ls.IBUG68_TO_MESH), :2])
                    for o in self.mp.track_frame(rgb, ts)]

        def close(self):
            self.mp.close()

    r = run_extraction(sample_driving, ExtractSettings(), cache=False, tracker_factory=lambda s: Fake68())
    t = r.track
    assert r.report.n_lost == 0 and t.source.tracker_id == "fake68"
    assert not t.blendshapes.any() and np.abs(t.detail).max() < 1e-6
    # the sample's in-plane roll (15 deg sine) is recovered from 68 points alone
    roll = t.euler[:, 2] - t.euler[0, 2]
    assert roll.max() > 10 and roll.min() < -10
    assert np.isnan(t.landmarks_2d[0, ls.FOREHEAD_TOP]).all() and np.isfinite(t.landmarks_2d[0, list(ls.IBUG68_TO_MESH)]).all()
