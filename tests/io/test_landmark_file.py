"""Overlay landmarks on disk: streamed .npy writer, read-only memmap, sidecar of the npz cache."""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.io.landmark_file import LandmarkFileWriter, open_landmarks, sidecar_path, write_landmarks
from dexstudio.io.motion_files import load_track_npz, save_track_npz

from test_motion_files import assert_tracks_equal, make_track


def _landmarks(F: int = 50, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1920, (F, 478, 2)).astype(np.float32)


def test_chunked_writer_gives_a_read_only_memmap(tmp_path):
    lm = _landmarks()
    p = tmp_path / "a.npy"
    with LandmarkFileWriter(p, len(lm), 478) as w:
        for a in range(0, len(lm), 7):
            w.write(lm[a: a + 7])
            assert not p.exists()  # appears only once complete
    arr = w.open()
    assert isinstance(arr, np.memmap) and not arr.flags.writeable
    assert arr.dtype == np.float32 and arr.shape == lm.shape
    np.testing.assert_array_equal(arr, lm)
    np.testing.assert_array_equal(np.load(p), lm)  # a plain .npy file
    with pytest.raises(ValueError):
        arr[0, 0, 0] = 1.0


def test_incomplete_or_failed_write_leaves_no_file(tmp_path):
    lm = _landmarks(10)
    p = tmp_path / "a.npy"
    with pytest.raises(ValueError, match="5 of 10"):
        with LandmarkFileWriter(p, 10, 478) as w:
            w.write(lm[:5])
    with pytest.raises(RuntimeError):
        with LandmarkFileWriter(p, 10, 478) as w:
            w.write(lm[:5])
            raise RuntimeError("cancelled")
    with pytest.raises(ValueError, match="does not fit"):
        with LandmarkFileWriter(p, 10, 478) as w:
            w.write(lm)
            w.write(lm[:1])
    assert list(tmp_path.iterdir()) == []


def test_anonymous_file_lives_as_long_as_the_array(tmp_path):
    lm = _landmarks(20)
    with LandmarkFileWriter(None, 20, 478, folder=tmp_path) as w:
        w.write(lm)
    arr = w.open()
    np.testing.assert_array_equal(arr, lm)
    del arr
    import gc

    gc.collect()
    assert list(tmp_path.iterdir()) == []  # POSIX: unlinked at once; else when collected


def test_open_landmarks_rejects_missing_and_damaged_files(tmp_path):
    p = tmp_path / "a.npy"
    assert open_landmarks(p) is None
    write_landmarks(p, _landmarks(30), chunk=8)
    assert open_landmarks(p, (30, 478, 2)).shape == (30, 478, 2)
    assert open_landmarks(p, (31, 478, 2)) is None  # stale: another track's length
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])  # truncated
    assert open_landmarks(p) is None
    p.write_bytes(b"not a numpy file at all")
    assert open_landmarks(p) is None
    np.save(p, np.zeros((30, 478, 2), np.float64))  # another dtype
    assert open_landmarks(p) is None


def test_npz_cache_keeps_landmarks_in_a_mapped_sidecar(tmp_path):
    t = make_track()
    p = tmp_path / "m.npz"
    save_track_npz(p, t)
    side = sidecar_path(p)
    assert side.name == "m.lm2d.npy" and side.is_file()
    with np.load(p) as z:
        assert not any("landmarks" in k for k in z.files)  # not in the npz
    back, _ = load_track_npz(p)
    assert isinstance(back.landmarks_2d, np.memmap) and not back.landmarks_2d.flags.writeable
    assert_tracks_equal(t, back)
    # saving a track whose landmarks already map the sidecar keeps the file as is
    mtime = side.stat().st_mtime_ns
    save_track_npz(p, back)
    assert side.stat().st_mtime_ns == mtime
    assert_tracks_equal(t, load_track_npz(p)[0])


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage", "other_length"])
def test_npz_cache_without_a_usable_sidecar_loads_without_overlays(tmp_path, damage):
    t = make_track()
    p = tmp_path / "m.npz"
    save_track_npz(p, t)
    side = sidecar_path(p)
    if damage == "missing":
        side.unlink()
    elif damage == "truncated":
        side.write_bytes(side.read_bytes()[:-100])
    elif damage == "garbage":
        side.write_bytes(b"\x00" * 1000)
    else:
        write_landmarks(side, _landmarks(t.n_frames + 1))
    back, _ = load_track_npz(p)
    assert back.landmarks_2d is None  # no overlays, everything else intact
    for k in ("quaternion", "euler", "translation", "scale", "blendshapes", "detail", "valid", "face_size_px"):
        np.testing.assert_array_equal(getattr(t, k), getattr(back, k), err_msg=k)
    assert back.source == t.source and back.expression_model is not None
