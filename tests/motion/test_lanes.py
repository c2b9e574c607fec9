"""Tracker lanes: parallel tracking gives the same track, in order, with errors and cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dexstudio.core.errors import Cancelled
from dexstudio.core.progress import CancelToken
from dexstudio.core.timebase import FrameRate
from dexstudio.motion.extract import ExtractSettings, run_extraction
from dexstudio.motion.lanes import auto_lanes, timestamp_ms, tracked_in_order
from dexstudio.motion.tracker import FaceObservation, FaceTracker

RATE = FrameRate(30, 1)


class Stamp(FaceTracker):
    """Reports one 'face' whose landmarks encode the frame's first pixel and its timestamp."""

    tracker_id = "stamp"

    def __init__(self, fail_at: int = -1):
        self.fail_at = fail_at
        self.seen: list[int] = []
        self.threads: set[int] = set()

    def settings_key(self) -> str:
        return '{"tracker": "stamp"}'

    def detect_image(self, rgb):
        return []

    def track_frame(self, rgb, ts):
        assert not self.seen or ts > self.seen[-1], "timestamps must increase per tracker"
        self.seen.append(ts)
        self.threads.add(threading.get_ident())
        value = int(rgb[0, 0, 0])
        if value == self.fail_at:
            raise RuntimeError(f"boom at {value}")
        lm = np.full((478, 3), float(value), np.float32)
        return [FaceObservation(landmarks=lm, blendshapes=np.zeros(52, np.float32),
                                transform=np.eye(4, dtype=np.float32),
                                bbox=(0.0, 0.0, 1.0, 1.0))]


def frames(n: int):
    for i in range(n):
        yield i, np.full((4, 4, 3), i % 256, np.uint8)


@pytest.mark.parametrize("lanes,chunk", [(1, 4), (2, 1), (2, 4), (3, 5)])
def test_results_come_back_in_frame_order_whatever_the_lanes(lanes, chunk):
    trackers = [Stamp() for _ in range(lanes)]
    out = list(tracked_in_order(frames(50), trackers, RATE, 1000, chunk=chunk))
    assert [i for i, _ in out] == list(range(50))
    assert [int(f[0].landmarks[0, 0]) for _, f in out] == list(range(50))
    assert sum(len(t.seen) for t in trackers) == 50
    if lanes > 1:
        assert all(t.seen for t in trackers), "every lane tracked some frames"
        ts_all = sorted(ts for t in trackers for ts in t.seen)
        assert ts_all == [timestamp_ms(i, RATE, 1000) for i in range(50)]


def test_a_tracker_error_reaches_the_consumer_and_stops_the_lanes():
    trackers = [Stamp(fail_at=13), Stamp(fail_at=13)]
    got = []
    with pytest.raises(RuntimeError, match="boom at 13"):
        for i, _ in tracked_in_order(frames(200), trackers, RATE, 0, chunk=2):
            got.append(i)
    assert got == list(range(13))
    assert sum(len(t.seen) for t in trackers) < 200


def test_cancel_stops_parallel_tracking():
    token = CancelToken()
    trackers = [Stamp(), Stamp()]
    with pytest.raises(Cancelled):
        for i, _ in tracked_in_order(frames(10_000), trackers, RATE, 0, chunk=4, cancel=token):
            if i == 20:
                token.cancel()
    assert sum(len(t.seen) for t in trackers) < 200


def test_closing_early_releases_the_frame_source():
    closed = threading.Event()

    def source():
        try:
            yield from frames(10_000)
        finally:
            closed.set()

    gen = tracked_in_order(source(), [Stamp(), Stamp()], RATE, 0, chunk=4)
    next(gen)
    gen.close()
    assert closed.wait(5.0)


def test_auto_lanes_is_between_one_and_the_limit():
    assert 1 <= auto_lanes() <= 4
    assert auto_lanes(limit=1) == 1


def test_two_mediapipe_lanes_track_the_sample_exactly_like_one(sample_driving):
    """The built-in tracker re-detects every frame, so the lane count cannot change results."""
    one = run_extraction(sample_driving, ExtractSettings(), cache=False, lanes=1).track
    two = run_extraction(sample_driving, ExtractSettings(), cache=False, lanes=2).track
    assert one.n_frames == two.n_frames
    np.testing.assert_array_equal(one.valid, two.valid)
    np.testing.assert_allclose(one.quaternion, two.quaternion, atol=1e-6)
    np.testing.assert_allclose(one.blendshapes, two.blendshapes, atol=1e-6)
    np.testing.assert_allclose(one.detail, two.detail, atol=1e-6)


class SlowThenOk(Stamp):
    """Takes a while on its first frame (so another lane fails meanwhile)."""

    def track_frame(self, rgb, ts):
        if not self.seen:
            import time

            time.sleep(0.3)
        return super().track_frame(rgb, ts)


def test_an_error_in_a_lane_the_consumer_is_not_waiting_on_is_still_raised():
    # lane 0 (frames 0-3, 8-11, ...) is slow on frame 0; lane 1 fails on its first frame (4)
    trackers = [SlowThenOk(), Stamp(fail_at=4)]
    got = []
    with pytest.raises(RuntimeError, match="boom at 4"):
        for i, _ in tracked_in_order(frames(40), trackers, RATE, 0, chunk=4):
            got.append(i)
    assert got == list(range(len(got))) and len(got) <= 4
