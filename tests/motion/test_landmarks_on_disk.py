"""The track's overlay landmarks: streamed to a file during extraction, mapped read-only."""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.io.landmark_file import sidecar_path
from dexstudio.motion.extract import (
    ExtractSettings,
    _fill_invalid,
    _fill_invalid_block,
    _neighbour_valid,
    run_extraction,
)
from dexstudio.motion.tracker import FaceTracker, MediaPipeTracker

DROPPED = {0, 1, 30, 31, 32, 89}  # no face reported there (first, middle, last frames)


class Recording(FaceTracker):
    """MediaPipe, recording the 2D landmarks it returns and dropping the faces of DROPPED."""

    tracker_id = "recording"

    def __init__(self, log: dict[int, np.ndarray]):
        self.mp = MediaPipeTracker()
        self.log = log
        self.frame = 0

    def settings_key(self) -> str:
        return '{"tracker": "recording"}'

    def detect_image(self, rgb):
        return self.mp.detect_image(rgb)

    def track_frame(self, rgb, ts):
        self.last_timestamp_ms = ts
        faces = self.mp.track_frame(rgb, ts)
        i, self.frame = self.frame, self.frame + 1
        if i in DROPPED:
            return []
        assert len(faces) == 1
        self.log[i] = faces[0].landmarks[:, :2].astype(np.float32)
        return faces

    def close(self):
        self.mp.close()


@pytest.mark.parametrize("chunk", [1, 3, 7, 100])
def test_chunked_gap_fill_equals_the_whole_array_fill(chunk):
    rng = np.random.default_rng(0)
    F = 40
    values = rng.uniform(0, 512, (F, 5, 2)).astype(np.float32)
    values[:, 0] = np.nan  # points a tracker does not have (68-point layout) stay NaN
    for valid in (rng.uniform(size=F) > 0.4, np.r_[np.zeros(5, bool), np.ones(F - 10, bool), np.zeros(5, bool)]):
        data = values.copy()
        data[~valid] = np.nan
        expected = _fill_invalid(data.copy(), valid)
        prev, nxt = _neighbour_valid(valid)
        got = np.concatenate([_fill_invalid_block(data[a: a + chunk].copy(), a, valid, prev, nxt,
                                                  lambda j: data[j]) for a in range(0, F, chunk)])
        np.testing.assert_array_equal(got, expected)


def test_extracted_landmarks_are_a_read_only_memmap_of_what_was_tracked(sample_driving, tmp_path, monkeypatch):
    monkeypatch.setenv("DEXSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    log: dict[int, np.ndarray] = {}
    r = run_extraction(sample_driving, ExtractSettings(), tracker_factory=lambda s: Recording(log))
    t = r.track
    F = t.n_frames
    assert r.report.n_lost == len(DROPPED) and sorted(set(range(F)) - set(log)) == sorted(DROPPED)
    lm = t.landmarks_2d
    assert isinstance(lm, np.memmap) and not lm.flags.writeable
    assert lm.shape == (F, 478, 2) and lm.dtype == np.float32
    expected = np.full((F, 478, 2), np.nan, np.float32)
    for i, pts in log.items():
        expected[i] = pts
    _fill_invalid(expected, t.valid)
    np.testing.assert_array_equal(lm, expected)  # tracked frames exact, lost ones interpolated
    assert np.isfinite(lm).all()

    # it is the cache entry's sidecar; a cached re-open maps it again
    entries = list((tmp_path / "cache" / "motion").glob("*.npz"))
    assert len(entries) == 1 and sidecar_path(entries[0]).is_file()
    again = run_extraction(sample_driving, ExtractSettings(), tracker_factory=lambda s: Recording({}))
    assert again.report.cache_hit and isinstance(again.track.landmarks_2d, np.memmap)
    np.testing.assert_array_equal(again.track.landmarks_2d, expected)

    # sidecar gone: the cached track still opens, only without overlays
    sidecar_path(entries[0]).unlink()
    third = run_extraction(sample_driving, ExtractSettings(), tracker_factory=lambda s: Recording({}))
    assert third.report.cache_hit and third.track.landmarks_2d is None
    np.testing.assert_array_equal(third.track.euler, t.euler)


def test_uncached_extraction_leaves_no_landmark_file(sample_driving, tmp_path, monkeypatch):
    monkeypatch.setenv("DEXSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    r = run_extraction(sample_driving, ExtractSettings(), cache=False,
                       tracker_factory=lambda s: Recording({}))
    lm = r.track.landmarks_2d
    assert isinstance(lm, np.memmap) and np.isfinite(lm[45]).all()
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert leftovers == []  # POSIX: the anonymous file is unlinked while mapped
