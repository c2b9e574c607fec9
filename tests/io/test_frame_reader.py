"""FrameReader: frame i by seeking is exactly iter_frames' i-th frame."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from dexstudio.core.errors import NotAVideoError
from dexstudio.io.frame_reader import FrameReader
from dexstudio.io.video_reader import iter_frames


def _check(clip: Path, order: list[int]) -> FrameReader:
    frames = [f for _, f in iter_frames(clip)]
    r = FrameReader(clip)
    for i in order:
        assert np.array_equal(r.frame(i), frames[i]), i
    return r


def _clip(path: Path, n: int = 60, fmt: str | None = None, keyint: int = 12) -> Path:
    """Frames whose content encodes their index (a moving bar and a grey level)."""
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream("libx264", rate=25, options={"g": str(keyint), "bf": "2"})
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(n):
            img = np.full((48, 64, 3), 4 * i % 256, np.uint8)
            img[:, i % 64] = 255
            for pk in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    return path


def test_random_and_sequential_reads_match_the_stream(tmp_path) -> None:
    clip = _clip(tmp_path / "c.mp4")
    rng = np.random.default_rng(1)
    order = [int(i) for i in rng.integers(0, 60, 30)] + list(range(20, 40)) + [59, 0]
    r = _check(clip, order)
    assert r.n_frames == 60
    seeks = r.seeks
    for i in range(1, 60):  # playback from frame 0: decodes on, never seeks
        r.frame(i)
    assert r.seeks == seeks
    r.frame(30)  # back: one seek, to the keyframe before it
    assert r.seeks == seeks + 1
    r.close()


def test_the_sample_clip(sample_driving) -> None:
    with FrameReader(sample_driving) as r:
        assert r.n_frames == 90
    _check(sample_driving, [89, 3, 45, 46, 47, 10, 0]).close()


def test_outside_the_clip_is_an_index_error(tmp_path) -> None:
    with FrameReader(_clip(tmp_path / "c.mp4", n=10)) as r:
        with pytest.raises(IndexError):
            r.frame(10)
        with pytest.raises(IndexError):
            r.frame(-1)
        assert r.frame(9).shape == (48, 64, 3)


def test_a_stream_without_timestamps_is_read_in_order(tmp_path) -> None:
    """A raw H.264 stream carries no timestamps: frames are counted from the start."""
    clip = _clip(tmp_path / "c.h264", n=30, fmt="h264")
    r = _check(clip, [12, 3, 29, 4, 5])
    assert r.n_frames is None and r.seeks == 0
    r.close()


def test_not_a_video_is_typed(tmp_path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_text("hello")
    with pytest.raises(NotAVideoError):
        FrameReader(bad)


@pytest.mark.media
def test_every_media_clip(media_dir) -> None:
    rng = np.random.default_rng(0)
    for clip in sorted((media_dir / "driving").glob("*.mp4")):
        n = sum(1 for _ in iter_frames(clip))
        order = [int(i) for i in rng.integers(0, n, 12)] + [n - 1, 0, 1, 2]
        _check(clip, order).close()
