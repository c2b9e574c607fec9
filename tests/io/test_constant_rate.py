"""Re-timing a variable-frame-rate clip to its constant rate."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from dexstudio.io.constant_rate import constant_rate
from dexstudio.io.frame_reader import FrameReader
from dexstudio.io.video_reader import iter_frames, probe


def _slots(times, fps):
    return [(k, f) for k, f in constant_rate(((t, i) for i, t in enumerate(times)), fps)]


def test_an_evenly_timed_clip_is_unchanged() -> None:
    times = [0.5 + i / 30 for i in range(20)]
    assert _slots(times, 30.0) == [(i, i) for i in range(20)]
    jitter = [t + (0.004 if i % 2 else -0.004) for i, t in enumerate(times)]  # phones' timestamps
    assert _slots(jitter, 30.0) == [(i, i) for i in range(20)]


def test_a_long_frame_repeats_and_close_frames_keep_the_later() -> None:
    # frame 1 lasts 3 slots (a still picture skipped by a screen recorder); frames 3 and 4
    # both round to slot 5: the later is shown
    assert _slots([0.0, 0.1, 0.4, 0.5, 0.52, 0.6], 10.0) == [
        (0, 0), (1, 1), (2, 1), (3, 1), (4, 2), (5, 4), (6, 5)]


def test_frames_without_times_are_counted() -> None:
    assert _slots([0.0, None, None], 10.0) == [(0, 0), (1, 1), (2, 2)]
    assert _slots([0.0, 0.3, None, 0.9], 10.0) == [(0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 3)]


def _vfr_clip(path: Path) -> tuple[Path, float]:
    """25 fps for 0.4 s, the picture frozen (no frames) until 1.0 s, 25 fps to 2.0 s; the
    frame at 1.6 s is white. Returns the path and the flash's time."""
    times = [i * 0.04 for i in range(10)] + [1.0 + i * 0.04 for i in range(26)]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        for t in times:
            img = np.full((32, 32, 3), 255 if abs(t - 1.6) < 1e-6 else 40, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = int(round(t * 1000))
            frame.time_base = Fraction(1, 1000)
            for pk in s.encode(frame):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    return path, 1.6


def test_a_variable_rate_clip_keeps_its_frames_at_their_times(tmp_path) -> None:
    """Counted one by one, the flash at 1.6 s came 15 frames early (0.6 s at 25 fps): the
    frozen stretch had no frames. Re-timed, frame k is the picture at k / fps."""
    clip, flash = _vfr_clip(tmp_path / "vfr.mp4")
    fps = probe(clip).rate.fps
    frames = [f for _, f in iter_frames(clip)]
    bright = [k for k, f in enumerate(frames) if f.mean() > 200]
    assert bright == [int(round(flash * fps))], (bright, fps)
    assert abs(len(frames) - round(2.04 * fps)) <= 1
    with FrameReader(clip) as r:
        assert r.n_frames == len(frames)
        for k in [bright[0], 3, len(frames) - 1, 12, 13, 14, bright[0] - 1]:
            assert np.array_equal(r.frame(k), frames[k]), k
