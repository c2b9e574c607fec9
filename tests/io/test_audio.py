from fractions import Fraction

import av
import numpy as np
import pytest

from dexstudio.core.errors import MediaError, UnreadableFileError
from dexstudio.core.timebase import FrameRange, FrameRate
from dexstudio.io.audio import AudioMode, AudioReader, first_video_time, probe_audio, read_audio
from dexstudio.io.export import ExportSettings, export_frames


def write_pcm_clip(path, rate, seconds, freq=440.0, video=True):
    """An MKV with PCM audio (not copyable into MP4) and, optionally, a tiny video stream."""
    n = int(rate * seconds)
    tone = (0.4 * np.sin(2 * np.pi * freq * np.arange(n) / rate)).astype(np.float32)
    pcm = (tone * 32767).astype(np.int16)
    with av.open(str(path), "w", format="matroska") as c:
        if video:
            v = c.add_stream("libx264", rate=25)
            v.width = v.height = 32
            v.pix_fmt = "yuv420p"
        a = c.add_stream("pcm_s16le", rate=rate, layout="mono")
        if video:
            for i in range(int(seconds * 25)):
                f = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i, np.uint8), format="rgb24")
                f.pts = i
                for p in v.encode(f):
                    c.mux(p)
            for p in v.encode(None):
                c.mux(p)
        for pos in range(0, n, 1000):
            chunk = pcm[pos:pos + 1000][None, :]
            f = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="s16", layout="mono")
            f.sample_rate = rate
            f.pts = pos
            f.time_base = Fraction(1, rate)
            for p in a.encode(f):
                c.mux(p)
        for p in a.encode(None):
            c.mux(p)
    return tone


def test_probe_sample(sample_driving):
    info = probe_audio(sample_driving)
    assert info is not None
    assert info.codec == "aac" and info.sample_rate == 44100 and info.channels == 1
    assert info.copyable and info.start == 0
    assert info.duration == 3
    assert first_video_time(sample_driving) == 0


def test_read_is_sample_exact_and_tone_is_220hz(sample_driving):
    full = read_audio(sample_driving, 0, 3)
    assert full.shape == (1, 3 * 44100) and full.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(full[0, :44100]))
    assert np.argmax(spectrum) == 220  # 1 s window: bin = Hz
    start = Fraction(47, 30)
    part = read_audio(sample_driving, start, Fraction(1, 2))
    s0 = round(start * 44100)
    assert part.shape == (1, 22050)
    np.testing.assert_allclose(part, full[:, s0:s0 + 22050], atol=1e-5)  # 1 sample off = 3e-3


def test_reads_past_either_end_are_silence(sample_driving):
    a = read_audio(sample_driving, Fraction(-1, 2), 1)
    assert a.shape == (1, 44100)
    assert np.abs(a[:, :22050]).max() == 0 and np.abs(a[:, 22100:]).max() > 0.05
    b = read_audio(sample_driving, Fraction(5, 2), 1)
    assert np.abs(b[:, :22000]).max() > 0.05 and np.abs(b[:, 22050:]).max() == 0


def test_streaming_reads_concatenate_to_one_read(sample_driving):
    with AudioReader(sample_driving, Fraction(1, 3)) as r:
        parts = [r.read(n) for n in (1, 1023, 5000, 17, 30000)]
    whole = read_audio(sample_driving, Fraction(1, 3), Fraction(36041, 44100))
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, atol=1e-5)


@pytest.mark.media
def test_seek_in_real_clip_is_sample_exact(media_dir):
    clip = media_dir / "driving" / "liveportrait_d10.mp4"
    info = probe_audio(clip)
    assert info is not None and info.channels == 2 and info.copyable
    full = read_audio(clip, 0, 14)
    for start in (Fraction(10), Fraction(301, 30)):
        part = read_audio(clip, start, 2)  # seeks: the clip is long enough
        s0 = round(start * 44100)
        np.testing.assert_allclose(part, full[:, s0:s0 + part.shape[1]], atol=1e-5)


def test_no_audio_and_missing_files(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not media")
    silent = tmp_path / "silent.mp4"
    export_frames(silent, (np.zeros((16, 16, 3), np.uint8) for _ in range(3)), ExportSettings(fps=FrameRate(25)))
    assert probe_audio(silent) is None
    with pytest.raises(MediaError, match="no audio"):
        AudioReader(silent)
    with pytest.raises(UnreadableFileError):
        probe_audio(tmp_path / "missing.mp4")
    with pytest.raises(UnreadableFileError):
        probe_audio(tmp_path)
    with pytest.raises(MediaError):
        probe_audio(text)


def test_pcm_source_is_reencoded_and_odd_rate_resampled(tmp_path):
    clip = tmp_path / "pcm.mkv"
    write_pcm_clip(clip, 37800, 2.0)  # 37.8 kHz: not an AAC rate
    info = probe_audio(clip)
    assert info is not None and info.codec.startswith("pcm") and not info.copyable
    r = AudioReader(clip, 0)
    assert r.sample_rate == 48000
    a = r.read(48000)
    r.close()
    spectrum = np.abs(np.fft.rfft(a[0]))
    assert np.argmax(spectrum) == 440
    out = tmp_path / "out.mp4"
    res = export_frames(out, (np.zeros((16, 16, 3), np.uint8) for _ in range(25)),
                        ExportSettings(fps=FrameRate(25), frame_range=FrameRange(10, 35), audio_source=clip))
    assert res.has_audio
    with av.open(str(out)) as c:
        s = c.streams.audio[0]
        assert s.codec_context.name == "aac" and s.sample_rate == 48000
        assert abs(Fraction(s.duration) * s.time_base - 1) <= Fraction(1024, 48000)
    with pytest.raises(MediaError, match="cannot be copied"):
        export_frames(tmp_path / "o2.mp4", (np.zeros((16, 16, 3), np.uint8) for _ in range(2)),
                      ExportSettings(fps=FrameRate(25), audio_source=clip, audio_mode=AudioMode.COPY))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "pcm.mkv"]
