"""MotionTrack JSON (exact round trip), NPZ cache and Live Link Face CSV."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from dexstudio.core.channels import ARKIT_NAMES_UPPER, N_BLENDSHAPES, N_DETAIL
from dexstudio.core.errors import UnreadableFileError
from dexstudio.core.motion import ExpressionModel, MotionSource, MotionTrack
from dexstudio.core.rotation import euler_to_matrix, matrix_to_quaternion
from dexstudio.core.timebase import FrameRate
from dexstudio.io.motion_files import (
    LLF_ANGLE_UNIT_DEG,
    LLF_HEADER,
    MotionFileError,
    llf_timecode,
    load_llf_csv,
    load_motion,
    load_motion_json,
    load_track_npz,
    save_llf_csv,
    save_motion,
    save_motion_json,
    save_track_npz,
)


def make_track(F: int = 40, seed: int = 0, model: bool = True) -> MotionTrack:
    rng = np.random.default_rng(seed)
    euler = rng.uniform(-30, 30, (F, 3))
    R = euler_to_matrix(euler[:, 0], euler[:, 1], euler[:, 2])
    em = None
    if model:
        em = ExpressionModel(mean_shape=rng.standard_normal((468, 3)).astype(np.float32),
                             blend_basis=rng.standard_normal((N_BLENDSHAPES, 468, 3)).astype(np.float32),
                             detail_basis=rng.standard_normal((N_DETAIL, 468, 3)).astype(np.float32),
                             face_size=17.5)
    return MotionTrack(
        rate=FrameRate(30000, 1001), quaternion=matrix_to_quaternion(R), euler=euler,
        translation=rng.standard_normal((F, 2)), scale=rng.uniform(0.8, 1.2, F),
        blendshapes=rng.uniform(0, 1, (F, N_BLENDSHAPES)).astype(np.float32),
        detail=rng.standard_normal((F, N_DETAIL)).astype(np.float32),
        valid=rng.uniform(size=F) > 0.1, expression_model=em,
        landmarks_2d=rng.uniform(0, 512, (F, 478, 2)).astype(np.float32),
        source=MotionSource("/x/ü.mp4", "ab" * 32, "mediapipe-facelandmarker", '{"a": 1}', 512, 512),
        face_size_px=rng.uniform(100, 200, F))


def assert_tracks_equal(a: MotionTrack, b: MotionTrack) -> None:
    assert a.rate == b.rate and a.source == b.source
    for k in ("quaternion", "euler", "translation", "scale", "blendshapes", "detail", "valid",
              "landmarks_2d", "face_size_px"):
        x, y = getattr(a, k), getattr(b, k)
        assert x.dtype == y.dtype, k
        np.testing.assert_array_equal(x, y, err_msg=k)
    if a.expression_model is None:
        assert b.expression_model is None
    else:
        for k in ("mean_shape", "blend_basis", "detail_basis"):
            np.testing.assert_array_equal(getattr(a.expression_model, k), getattr(b.expression_model, k))
        assert a.expression_model.face_size == b.expression_model.face_size


def test_json_round_trip_is_exact(tmp_path):
    t = make_track()
    p = tmp_path / "m.json"
    save_motion_json(p, t)
    d = json.loads(p.read_text())
    assert d["schema"] == "dexstudio.motion" and d["version"] == 1
    assert_tracks_equal(t, load_motion_json(p))
    assert_tracks_equal(t, load_motion(p))


def test_json_without_optional_parts(tmp_path):
    t = make_track(model=False)
    t.landmarks_2d = None
    t.source = None
    p = tmp_path / "m.json"
    save_motion(p, t)
    back = load_motion(p)
    assert back.landmarks_2d is None and back.expression_model is None and back.source is None


def test_npz_round_trip(tmp_path):
    t = make_track()
    p = tmp_path / "m.npz"
    save_track_npz(p, t, {"n_lost": 3, "lost_ranges": [(1, 4)]})
    back, extra = load_track_npz(p)
    assert_tracks_equal(t, back)
    assert extra == {"n_lost": 3, "lost_ranges": ((1, 4),)}


@pytest.mark.parametrize("content,match", [
    ("{not json", "not valid JSON"),
    ('{"schema": "other", "version": 1}', "not a DeX Studio motion file"),
    ('{"schema": "dexstudio.motion", "version": 99}', "version 99"),
    ('{"schema": "dexstudio.motion", "version": 1, "rate": [30, 1]}', "damaged"),
])
def test_bad_json_files(tmp_path, content, match):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(MotionFileError, match=match):
        load_motion_json(p)


def test_truncated_json(tmp_path):
    p = tmp_path / "m.json"
    save_motion_json(p, make_track(5))
    p.write_text(p.read_text()[:-200])
    with pytest.raises(MotionFileError):
        load_motion_json(p)


def test_missing_motion_file(tmp_path):
    with pytest.raises(UnreadableFileError):
        load_motion(tmp_path / "none.json")
    with pytest.raises(MotionFileError, match="unknown motion file type"):
        load_motion(tmp_path / "x.txt")
    with pytest.raises(MotionFileError, match="NAME.csv"):
        save_motion(tmp_path / "x.bvh", make_track(3))


def test_llf_csv_layout(tmp_path):
    t = make_track(F=35)
    p = tmp_path / "m.csv"
    save_llf_csv(p, t)
    rows = list(csv.reader(p.open()))
    assert tuple(rows[0]) == LLF_HEADER
    assert rows[0][:3] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft"]
    assert rows[0][2 + 52:2 + 55] == ["HeadYaw", "HeadPitch", "HeadRoll"]
    assert len(rows) == 36 and all(len(r) == len(LLF_HEADER) for r in rows)
    assert rows[1][0] == "00:00:00:00.000" and rows[31][0] == "00:00:01:00.000"
    assert rows[1][1] == "52"
    assert float(rows[1][2 + 52]) == pytest.approx(t.euler[0, 0] / LLF_ANGLE_UNIT_DEG)
    assert llf_timecode(30 * 3661 + 7, FrameRate(30)) == "01:01:01:07.000"


def test_llf_csv_round_trip(tmp_path):
    t = make_track(F=35)
    p = tmp_path / "m.csv"
    save_motion(p, t)
    back = load_motion(p)
    np.testing.assert_allclose(back.blendshapes, t.blendshapes, atol=1e-7)
    np.testing.assert_allclose(back.euler, t.euler, atol=1e-9)
    np.testing.assert_allclose(back.quaternion, t.quaternion, atol=1e-9)
    assert back.n_frames == 35 and back.rate == FrameRate(30)
    assert back.expression_model is None and not back.detail.any() and back.valid.all()


def test_llf_csv_columns_by_name(tmp_path):
    p = tmp_path / "few.csv"
    p.write_text("Timecode,BlendShapeCount,JawOpen,HeadYaw,EyeBlinkRight\n"
                 "10:00:00:00.000,52,0.5,0.1,0.25\n10:00:00:01.500,52,0.75,-0.2,0\n")
    t = load_llf_csv(p, rate=FrameRate(25))
    jaw = ARKIT_NAMES_UPPER.index("JawOpen")
    blink = ARKIT_NAMES_UPPER.index("EyeBlinkRight")
    np.testing.assert_allclose(t.blendshapes[:, jaw], [0.5, 0.75])
    np.testing.assert_allclose(t.blendshapes[:, blink], [0.25, 0.0])
    np.testing.assert_allclose(t.euler[:, 0], [9.0, -18.0])
    assert t.rate == FrameRate(25)


@pytest.mark.parametrize("content,match", [
    ("a,b,c\n1,2,3\n", "not a Live Link Face CSV"),
    ("Timecode,BlendShapeCount,JawOpen\n", "no frames"),
    ("Timecode,BlendShapeCount,JawOpen\n00:00:00:00.000,52,abc\n", "row 2"),
    ("Timecode,BlendShapeCount,JawOpen\nyesterday,52,0.1\n", "timecode"),
])
def test_bad_csv(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(MotionFileError, match=match):
        load_llf_csv(p)


def test_binary_file_as_csv(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(MotionFileError):
        load_llf_csv(p)


def test_cache_dir_env_override(tmp_path, monkeypatch):
    from dexstudio.io import cache_dirs

    monkeypatch.setenv(cache_dirs.CACHE_ENV_VAR, str(tmp_path / "c"))
    assert cache_dirs.user_cache_dir() == tmp_path / "c"
    assert cache_dirs.cache_subdir("motion").is_dir()
    monkeypatch.delenv(cache_dirs.CACHE_ENV_VAR)
    assert "dexstudio" in str(cache_dirs.user_cache_dir())
