"""Streaming video reader: info, frames, hashing and typed errors."""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from pathlib import Path

import av
import numpy as np
import pytest

from dexstudio.core.errors import CorruptVideoError, NotAVideoError, UnreadableFileError
from dexstudio.io.video_reader import (
    TruncatedVideoWarning,
    content_hash,
    iter_frames,
    iter_frames_prefetched,
    probe,
)


def write_clip(path: Path, n: int = 30, size: int = 64, faststart: bool = False) -> Path:
    """A small H.264 clip of flat frames whose grey level encodes the index."""
    opts = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=opts) as c:
        s = c.add_stream("libx264", rate=30)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), 8 * i % 256, np.uint8), format="rgb24")
            for pk in s.encode(frame):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    return path


def test_probe_sample(sample_driving):
    info = probe(sample_driving)
    assert (info.width, info.height) == (512, 512)
    assert info.rate.fps == 30 and info.n_frames == 90 and info.n_frames_exact
    assert info.has_audio and info.rotation == 0 and info.codec == "h264"
    assert info.duration == pytest.approx(3.0, abs=0.1)


def test_iter_frames_range_and_values(tmp_path):
    clip = write_clip(tmp_path / "c.mp4", n=20)
    frames = list(iter_frames(clip, start=5, stop=9))
    assert [i for i, _ in frames] == [5, 6, 7, 8]
    assert frames[0][1].shape == (64, 64, 3) and frames[0][1].dtype == np.uint8
    assert abs(int(frames[0][1].mean()) - 40) <= 3
    assert len(list(iter_frames(clip))) == 20


def test_prefetched_matches_plain_and_stops_early(tmp_path):
    clip = write_clip(tmp_path / "c.mp4", n=20)
    a = [(i, f.mean()) for i, f in iter_frames(clip)]
    b = [(i, f.mean()) for i, f in iter_frames_prefetched(clip, depth=2)]
    assert a == b
    gen = iter_frames_prefetched(clip, depth=2)
    next(gen)
    gen.close()  # the decode thread ends without consuming the rest


def test_content_hash_streams(tmp_path):
    clip = write_clip(tmp_path / "c.mp4")
    assert content_hash(clip) == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert content_hash(clip, chunk=7) == content_hash(clip)


def test_unicode_path(tmp_path):
    clip = write_clip(tmp_path / "vidéo – 顔 😀.mp4", n=5)
    assert probe(clip).n_frames == 5
    assert len(list(iter_frames(clip))) == 5


def test_missing_folder_and_permission(tmp_path):
    with pytest.raises(UnreadableFileError, match="does not exist"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(UnreadableFileError, match="folder"):
        probe(tmp_path)
    clip = write_clip(tmp_path / "c.mp4", n=2)
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions are not enforced")
    clip.chmod(0)
    try:
        with pytest.raises(UnreadableFileError, match="permission"):
            probe(clip)
    finally:
        clip.chmod(0o644)


def test_permission_error_is_typed_even_as_root(tmp_path, monkeypatch):
    """Root ignores file modes; simulate the failing access check."""
    clip = write_clip(tmp_path / "c.mp4", n=2)
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(UnreadableFileError, match="permission"):
        probe(clip)


def test_not_a_video(tmp_path, sample_portrait):
    txt = tmp_path / "notes.mp4"
    txt.write_text("this is not a video\n" * 20)
    with pytest.raises(NotAVideoError, match="not a video"):
        probe(txt)
    with pytest.raises(NotAVideoError, match="still image"):
        probe(sample_portrait)
    img_as_mp4 = tmp_path / "photo.mp4"
    shutil.copy(sample_portrait, img_as_mp4)
    with pytest.raises(NotAVideoError):
        list(iter_frames(img_as_mp4))


def test_truncated_with_index_at_end_is_corrupt(tmp_path, sample_driving):
    """PyAV writes the mp4 index (moov) last: half a file cannot be opened."""
    half = tmp_path / "half.mp4"
    data = sample_driving.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptVideoError, match="truncated"):
        probe(half)
    with pytest.raises(CorruptVideoError):
        list(iter_frames(half))


def test_truncated_faststart_keeps_decodable_frames(tmp_path):
    clip = write_clip(tmp_path / "fs.mp4", n=60, size=128, faststart=True)
    cut = tmp_path / "cut.mp4"
    data = clip.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.75)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = list(iter_frames(cut))
    assert 0 < len(frames) < 60
    assert any(issubclass(w.category, TruncatedVideoWarning) for w in caught)


def test_frames_are_swscale_rgb_on_one_thread(sample_driving):
    """The reader converts on one swscale thread (no thread pool per frame): the same
    pixels as PyAV's default conversion."""
    ours = [f for _, f in iter_frames(sample_driving, 0, 4)]
    with av.open(str(sample_driving)) as c:
        theirs = [fr.to_ndarray(format="rgb24") for _, fr in zip(range(4), c.decode(video=0))]
    assert len(ours) == 4 and all(np.array_equal(a, b) for a, b in zip(ours, theirs))


def test_an_older_pyav_without_the_threads_argument_still_reads(tmp_path, monkeypatch):
    import dexstudio.io.video_reader as vr

    clip = write_clip(tmp_path / "c.mp4", n=3)
    real = av.VideoFrame.to_ndarray

    class OldFrame:
        def __init__(self, frame):
            self.frame = frame

        def to_ndarray(self, format=None):  # noqa: A002 - PyAV's name
            return real(self.frame, format=format)

    monkeypatch.setattr(vr, "_SWS_THREADS_ARG", [True])
    with av.open(str(clip)) as c:
        frames = [vr._to_rgb(OldFrame(fr)) for fr in c.decode(video=0)]
    assert len(frames) == 3 and frames[0].shape == (64, 64, 3)
    assert vr._SWS_THREADS_ARG == [False]


def _write_turned_clip(path: Path, upright: np.ndarray, degrees: int, n: int = 3) -> Path:
    """A clip whose frames are ``upright`` stored turned clockwise by ``degrees``, with a
    display matrix that turns them back (as a phone stores a portrait recording)."""
    stored = np.ascontiguousarray(np.rot90(upright, -degrees // 90))
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.height, s.width = stored.shape[:2]
        s.pix_fmt = "yuv420p"
        s.set_display_rotation(degrees)
        for _ in range(n):
            for pk in s.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    return path


@pytest.mark.skipif(not hasattr(av.video.stream.VideoStream, "set_display_rotation"),
                    reason="this PyAV cannot write a display matrix")
@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_clip_turned_for_display_is_read_upright(tmp_path, degrees):
    upright = np.zeros((48, 64, 3), np.uint8)  # landscape, bright top-left corner
    upright[:16, :16] = 250
    clip = _write_turned_clip(tmp_path / f"turned{degrees}.mp4", upright, degrees)
    info = probe(clip)
    assert info.rotation == degrees
    assert (info.width, info.height) == (64, 48)
    frames = [f for _, f in iter_frames(clip)] + [f for _, f in iter_frames_prefetched(clip)]
    for f in frames:
        assert f.shape == (48, 64, 3) and f.flags.c_contiguous
        assert f[:16, :16].mean() > 200 and f[-16:, -16:].mean() < 30


def test_the_older_rotate_tag_is_clockwise_and_a_frame_without_a_matrix_keeps_it():
    from types import SimpleNamespace

    from dexstudio.io.video_reader import _frame_rotation, _stream_rotation

    assert _stream_rotation(SimpleNamespace(metadata={"rotate": "90"})) == 270
    assert _stream_rotation(SimpleNamespace(metadata={"rotate": "-90"})) == 90
    assert _stream_rotation(SimpleNamespace(metadata={})) is None
    assert _frame_rotation(SimpleNamespace(), 270) == 270  # an older PyAV: no frame.rotation
    assert _frame_rotation(SimpleNamespace(rotation=-90.0), 0) == 270
