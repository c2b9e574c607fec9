import errno
import math
import os
import tempfile
from fractions import Fraction

import av
import numpy as np
import pytest

from dexstudio.core.errors import Cancelled, OutputError, UnreadableFileError
from dexstudio.core.progress import CancelToken
from dexstudio.core.timebase import FrameRange, FrameRate
from dexstudio.io.audio import AudioMode, read_audio
from dexstudio.io.export import (
    ExportFormat,
    ExportLayout,
    ExportSettings,
    VideoExporter,
    compose_side_by_side,
    export_frames,
    fit_into,
)
from dexstudio.io.image import load_image

AAC_FRAME_S = 1024 / 44100  # one AAC frame at 44.1 kHz, 23.2 ms


@pytest.fixture(scope="module")
def portrait(sample_portrait):
    return load_image(sample_portrait)


def moving_frames(portrait, n, w=128, h=96):
    """``n`` natural frames: a ``w x h`` window on the sample portrait (native detail, not
    downscaled), sliding 2 px right and 1 px down per frame."""
    y0, x0 = 120, 140
    assert y0 + h + n <= portrait.shape[0] and x0 + w + 2 * n <= portrait.shape[1]
    for i in range(n):
        yield np.ascontiguousarray(portrait[y0 + i:y0 + i + h, x0 + 2 * i:x0 + 2 * i + w])


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def decode_video(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        rate, tb = v.average_rate, v.time_base
        frames, pts = [], []
        for f in c.decode(v):
            frames.append(f.to_ndarray(format="rgb24"))
            pts.append(f.pts)
        return frames, rate, tb, pts, len(c.streams.audio)


def decode_audio(path):
    """All audio of ``path`` as ``(channels, n) float32`` and the stream's stated duration (s)."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        chunks = [f.to_ndarray() for f in c.decode(s)]
        stated = Fraction(s.duration) * s.time_base
        return np.concatenate(chunks, axis=1), s.sample_rate, stated


def best_lag(out, ref, max_lag=3000):
    """Lag (samples) of ``out`` relative to ``ref`` maximising their correlation."""
    n = min(out.shape[-1], ref.shape[-1]) - 2 * max_lag
    a = out[0, max_lag:max_lag + n]
    scores = [float(np.dot(a, ref[0, max_lag + k:max_lag + k + n])) for k in range(-max_lag, max_lag + 1)]
    return int(np.argmax(scores)) - max_lag


def only_files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_mp4_round_trip(tmp_path, portrait):
    fps = FrameRate(30000, 1001)
    src = list(moving_frames(portrait, 24))
    reports = []
    out = tmp_path / "out.mp4"
    res = export_frames(out, iter(src), ExportSettings(fps=fps, frame_range=FrameRange(0, 24)),
                        progress=reports.append)
    assert res.frames == 24 and res.size == (128, 96) and not res.has_audio
    assert res.duration == Fraction(24 * 1001, 30000)
    frames, rate, tb, pts, n_audio = decode_video(out)
    assert len(frames) == 24 and n_audio == 0
    assert frames[0].shape == (96, 128, 3)
    assert rate == Fraction(30000, 1001)  # exact, not 29.97
    assert [Fraction(p) * tb for p in pts] == [fps.frame_to_seconds(i) for i in range(24)]
    worst = min(psnr(a, b) for a, b in zip(frames, src))
    assert worst > 35, worst
    assert [r.done for r in reports] == list(range(1, 25)) and reports[-1].total == 24
    assert only_files(tmp_path) == ["out.mp4"]


@pytest.mark.parametrize("mode", [AudioMode.COPY, AudioMode.ENCODE])
def test_audio_is_kept_trimmed_and_aligned(tmp_path, portrait, sample_driving, mode):
    fps = FrameRate(30)
    rng = FrameRange(31, 61)
    out = tmp_path / f"{mode.value}.mp4"
    settings = ExportSettings(fps=fps, frame_range=rng, audio_source=sample_driving, audio_mode=mode)
    res = export_frames(out, moving_frames(portrait, len(rng)), settings)
    assert res.has_audio
    audio, rate, stated = decode_audio(out)
    video_s = Fraction(len(rng), 30)
    assert abs(stated - video_s) <= Fraction(1024, rate)
    assert abs(audio.shape[1] / rate - float(video_s)) <= 2 * AAC_FRAME_S  # decoders emit whole frames
    # the output's first sample is the driving clip's sample at frame 31
    ref = read_audio(sample_driving, fps.frame_to_seconds(rng.start) - Fraction(1, 10), Fraction(2))
    lead = rate // 10
    lag = best_lag(np.pad(audio, ((0, 0), (lead, 0))), ref, max_lag=90)  # 220 Hz: 200-sample period
    assert abs(lag) <= 2, lag
    assert np.abs(audio).max() > 0.05  # the tone is there, not silence


@pytest.mark.media
def test_real_clip_audio_duration_and_sync(tmp_path, portrait, media_dir):
    clip = media_dir / "driving" / "liveportrait_d10.mp4"
    fps = FrameRate(30)
    rng = FrameRange(100, 190)
    out = tmp_path / "d10.mp4"
    res = export_frames(out, moving_frames(portrait, len(rng), 64, 64),
                        ExportSettings(fps=fps, frame_range=rng, audio_source=clip, crf=30))
    assert res.has_audio
    audio, rate, stated = decode_audio(out)
    assert abs(float(stated) - len(rng) / 30) <= AAC_FRAME_S
    ref = read_audio(clip, fps.frame_to_seconds(rng.start), Fraction(len(rng), 30))
    n = min(ref.shape[1], audio.shape[1])
    lag = best_lag(audio[:, :n], np.pad(ref[:, :n], ((0, 0), (3000, 3000)))[:, 3000:], max_lag=1000)
    assert lag == 0
    # copied packets decode to the source's own samples (after the pre-roll frame)
    assert np.abs(audio[:, 2048:n - 2048] - ref[:, 2048:n - 2048]).max() < 1e-4


def test_silent_driving_clip_gives_silent_video(tmp_path, portrait):
    silent = tmp_path / "silent.mp4"
    export_frames(silent, moving_frames(portrait, 10), ExportSettings(fps=FrameRate(25)))
    out = tmp_path / "out.mp4"
    res = export_frames(out, moving_frames(portrait, 10),
                        ExportSettings(fps=FrameRate(25), audio_source=silent, frame_range=FrameRange(2, 12)))
    assert not res.has_audio
    frames, *_, n_audio = decode_video(out)
    assert len(frames) == 10 and n_audio == 0


def test_missing_audio_source_fails_before_work(tmp_path, portrait):
    with pytest.raises(UnreadableFileError, match="does not exist"):
        VideoExporter(tmp_path / "o.mp4", ExportSettings(fps=FrameRate(30), audio_source=tmp_path / "nope.mp4"))
    assert only_files(tmp_path) == []


def test_side_by_side_sizes_and_purity():
    src = np.full((512, 512, 3), 10, np.uint8)
    drv = np.full((480, 640, 3), 20, np.uint8)
    res = np.full((256, 256, 3), 30, np.uint8)
    copies = [a.copy() for a in (src, drv, res)]
    out = compose_side_by_side(src, drv, res, 256, labels=None)
    assert out.shape == (256, 256 + 341 + 256, 3)
    assert (out[:, :256] == 10).all() and (out[:, 256:597] == 20).all() and (out[:, 597:] == 30).all()
    labelled = compose_side_by_side(src, drv, res, 256)
    assert labelled.shape == out.shape and (labelled != out).any()
    assert (labelled[-50:] == out[-50:]).all()  # labels only at the top
    for a, b in zip((src, drv, res), copies):
        np.testing.assert_array_equal(a, b)


def test_side_by_side_export(tmp_path, portrait):
    drv = list(moving_frames(portrait, 6, 100, 75))  # odd composite width
    out = tmp_path / "sbs.mp4"
    settings = ExportSettings(fps=FrameRate(30), layout=ExportLayout.SIDE_BY_SIDE)
    res = export_frames(out, moving_frames(portrait, 6, 64, 64), settings, drivings=drv, source_image=portrait)
    assert res.size == (64 + 85 + 64 + 1, 64)  # 213 padded to even
    frames, *_ = decode_video(out)
    assert len(frames) == 6 and frames[0].shape == (64, 214, 3)


def test_fit_into_letterboxes():
    a = np.full((96, 128, 3), 200, np.uint8)
    b = fit_into(a, (64, 64))
    assert b.shape == (64, 64, 3)
    assert (b[:8] == 0).all() and (b[-8:] == 0).all() and (b[16:48] == 200).all()


def test_cancel_mid_export_leaves_nothing(tmp_path, portrait):
    token = CancelToken()
    out = tmp_path / "out.mp4"
    out_files_during = []
    with pytest.raises(Cancelled):
        with VideoExporter(out, ExportSettings(fps=FrameRate(30), audio_source=None), cancel=token) as ex:
            for i, f in enumerate(moving_frames(portrait, 20)):
                if i == 8:
                    out_files_during.extend(only_files(tmp_path))
                    token.cancel()
                ex.write(f)
    assert len(out_files_during) == 1 and out_files_during[0].endswith(".tmp")  # it was writing a temp
    assert only_files(tmp_path) == []


def test_exception_and_ctrl_c_leave_previous_file_intact(tmp_path, portrait, sample_driving):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous export")
    for exc in (RuntimeError("render failed"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with VideoExporter(out, ExportSettings(fps=FrameRate(30), audio_source=sample_driving)) as ex:
                for i, f in enumerate(moving_frames(portrait, 12)):
                    if i == 6:
                        raise exc
                    ex.write(f)
        assert out.read_bytes() == b"previous export"
        assert only_files(tmp_path) == ["out.mp4"]


def test_zero_frames_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(OutputError, match="nothing to export"):
        with VideoExporter(tmp_path / "o.mp4", ExportSettings(fps=FrameRate(30))):
            pass
    assert only_files(tmp_path) == []


def test_read_only_folder_is_typed_before_work(tmp_path, monkeypatch):
    real_access = os.access
    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(ro) else real_access(p, mode))
    for fmt, name in ((ExportFormat.MP4, "o.mp4"), (ExportFormat.PNG_SEQUENCE, "seq")):
        with pytest.raises(OutputError, match="read-only"):
            VideoExporter(ro / name, ExportSettings(fps=FrameRate(30), format=fmt))
    assert only_files(ro) == []


def test_temp_creation_denied_is_typed(tmp_path, monkeypatch):
    def deny(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", deny)
    monkeypatch.setattr(tempfile, "mkdtemp", deny)
    for fmt, name in ((ExportFormat.MP4, "o.mp4"), (ExportFormat.PNG_SEQUENCE, "seq")):
        with pytest.raises(OutputError, match="choose a folder"):
            VideoExporter(tmp_path / name, ExportSettings(fps=FrameRate(30), format=fmt))
    assert only_files(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_really_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError):
            VideoExporter(ro / "o.mp4", ExportSettings(fps=FrameRate(30)))
    finally:
        ro.chmod(0o700)


def test_unicode_output_path_and_new_folder(tmp_path, portrait):
    out = tmp_path / "résultats 結果" / "portrait_😀.mp4"
    res = export_frames(out, moving_frames(portrait, 10), ExportSettings(fps=FrameRate(24)))
    assert out.is_file() and res.frames == 10
    frames, rate, *_ = decode_video(out)
    assert len(frames) == 10 and rate == 24


def test_odd_frame_size_is_padded_to_even(tmp_path, portrait):
    out = tmp_path / "odd.mp4"
    src = list(moving_frames(portrait, 10, 33, 21))
    res = export_frames(out, src, ExportSettings(fps=FrameRate(30)))
    assert res.size == (34, 22)
    frames, *_ = decode_video(out)
    assert frames[0].shape == (22, 34, 3)
    assert psnr(frames[3][:21, :33], src[3]) > 30


def test_frame_size_change_and_overrun_are_errors(tmp_path, portrait):
    with pytest.raises(ValueError, match="same size"):
        with VideoExporter(tmp_path / "a.mp4", ExportSettings(fps=FrameRate(30))) as ex:
            ex.write(np.zeros((32, 32, 3), np.uint8))
            ex.write(np.zeros((34, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="frame range"):
        with VideoExporter(tmp_path / "b.mp4", ExportSettings(fps=FrameRate(30), frame_range=FrameRange(5, 7))) as ex:
            for _ in range(3):
                ex.write(np.zeros((32, 32, 3), np.uint8))
    assert only_files(tmp_path) == []


def test_png_sequence(tmp_path, portrait):
    out = tmp_path / "seq"
    src = list(moving_frames(portrait, 5, 33, 21))
    settings = ExportSettings(fps=FrameRate(30), format=ExportFormat.PNG_SEQUENCE, frame_range=FrameRange(10, 15))
    res = export_frames(out, src, settings)
    assert res.size == (33, 21)  # PNG keeps odd sizes
    names = only_files(out)
    assert names == [f"frame_{i:06d}.png" for i in range(10, 15)]
    for name, f in zip(names, src):
        np.testing.assert_array_equal(load_image(out / name), f)  # lossless
    # a second export replaces the folder atomically
    export_frames(out, src[:2], ExportSettings(fps=FrameRate(30), format=ExportFormat.PNG_SEQUENCE))
    assert only_files(out) == ["frame_000000.png", "frame_000001.png"]
    assert only_files(tmp_path) == ["seq"]


def test_a_png_export_never_replaces_a_folder_of_other_files(tmp_path, portrait):
    """A PNG export replaces its folder as a whole: a folder holding anything but an
    earlier export's frames (the user's own files) is refused, before and at the end."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    settings = ExportSettings(fps=FrameRate(30), format=ExportFormat.PNG_SEQUENCE)
    with pytest.raises(OutputError, match="holds other files"):
        export_frames(out, list(moving_frames(portrait, 2)), settings)
    assert only_files(out) == ["notes.txt"]
    # a file that arrives during the export is also kept (checked again at the end)
    (out / "notes.txt").unlink()
    with pytest.raises(OutputError, match="holds other files"):
        with VideoExporter(out, settings) as ex:
            ex.write(next(iter(moving_frames(portrait, 1))))
            (out / "late.txt").write_text("keep me too")
    assert only_files(out) == ["late.txt"]
    assert only_files(tmp_path) == ["mine"]  # no temporary folder left


def test_png_sequence_cancel_leaves_nothing(tmp_path, portrait):
    token = CancelToken()
    with pytest.raises(Cancelled):
        with VideoExporter(tmp_path / "seq", ExportSettings(fps=FrameRate(30), format=ExportFormat.PNG_SEQUENCE),
                           cancel=token) as ex:
            for i, f in enumerate(moving_frames(portrait, 6)):
                if i == 3:
                    token.cancel()
                ex.write(f)
    assert only_files(tmp_path) == []


def test_settings_validation():
    with pytest.raises(ValueError):
        ExportSettings(fps=FrameRate(30), crf=60)
    with pytest.raises(ValueError):
        ExportSettings(fps=FrameRate(30), preset="warp9")
    with pytest.raises(ValueError):
        VideoExporter("x.mp4", ExportSettings(fps=FrameRate(30), layout=ExportLayout.SIDE_BY_SIDE))


def test_range_running_past_the_audio_is_padded_with_silence(tmp_path, portrait, sample_driving):
    fps = FrameRate(30)
    rng = FrameRange(80, 100)  # the sample's audio ends at 3.0 s = frame 90
    out = tmp_path / "tail.mp4"
    res = export_frames(out, moving_frames(portrait, len(rng), 32, 32),
                        ExportSettings(fps=fps, frame_range=rng, audio_source=sample_driving))
    assert res.has_audio
    audio, rate, stated = decode_audio(out)
    assert abs(stated - Fraction(len(rng), 30)) <= Fraction(1024, rate)
    cut = rate // 3  # output time of the audio's end
    assert np.abs(audio[:, :cut - 1500]).max() > 0.05
    assert np.abs(audio[:, cut + 1500:]).max() < 0.01


def test_disk_full_mid_export_is_typed_and_leaves_nothing(tmp_path, portrait, monkeypatch):
    from dexstudio.io import export as export_mod

    real_write = export_mod._Mp4Sink.write
    calls = []

    def write_until_full(self, frame):
        calls.append(1)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, frame)

    monkeypatch.setattr(export_mod._Mp4Sink, "write", write_until_full)
    out = tmp_path / "o.mp4"
    with pytest.raises(OutputError, match="disk is full"):
        export_frames(out, moving_frames(portrait, 8, 32, 32), ExportSettings(fps=FrameRate(30)))
    assert only_files(tmp_path) == []


@pytest.mark.parametrize("fmt, name", [(ExportFormat.MP4, "o.mp4"), (ExportFormat.PNG_SEQUENCE, "seq")])
def test_failed_final_rename_keeps_previous_output(tmp_path, portrait, monkeypatch, fmt, name):
    out = tmp_path / name
    export_frames(out, moving_frames(portrait, 2, 32, 32), ExportSettings(fps=FrameRate(30), format=fmt))
    before = sorted(p.name for p in out.iterdir()) if out.is_dir() else out.read_bytes()

    real_replace = os.replace

    def deny(src, dst):
        if str(dst) == str(out) and str(src).endswith(".tmp"):  # only the new output's rename fails
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", deny)
    with pytest.raises(OutputError):
        export_frames(out, moving_frames(portrait, 5, 32, 32), ExportSettings(fps=FrameRate(30), format=fmt))
    after = sorted(p.name for p in out.iterdir()) if out.is_dir() else out.read_bytes()
    assert after == before
    assert only_files(tmp_path) == [name]


def _x264_threads(path) -> str:
    """The ``threads=`` x264 records in its settings message inside the stream."""
    blob = path.read_bytes()
    k = blob.index(b"x264 - core")
    opts = blob[k:k + 2000].split(b"options: ")[1].split(b" ")
    return next(o for o in opts if o.startswith(b"threads=")).decode()


def test_encoder_threads_reach_x264(tmp_path, portrait):
    fps = FrameRate(30, 1)
    one = tmp_path / "one.mp4"
    export_frames(one, moving_frames(portrait, 6, 320, 320), ExportSettings(fps=fps, encoder_threads=1))
    assert _x264_threads(one) == "threads=1"
    auto = tmp_path / "auto.mp4"
    export_frames(auto, moving_frames(portrait, 6, 320, 320), ExportSettings(fps=fps))
    assert _x264_threads(auto) != "threads=1" or (os.cpu_count() or 1) == 1  # x264's own: 1.5 per core
    with pytest.raises(ValueError):
        ExportSettings(fps=fps, encoder_threads=-1)


def test_the_output_name_chooses_the_format(tmp_path):
    from dexstudio.io.export import ExportFormat, format_for_output

    assert format_for_output(str(tmp_path / "a.mp4")) is ExportFormat.MP4
    assert format_for_output(str(tmp_path / "a.MOV")) is ExportFormat.MP4
    assert format_for_output(str(tmp_path / "a.m4v")) is ExportFormat.MP4
    assert format_for_output(str(tmp_path / "new_folder") + "/") is ExportFormat.PNG_SEQUENCE
    assert format_for_output(str(tmp_path)) is ExportFormat.PNG_SEQUENCE  # an existing folder
    for bad in ("a.gif", "a.webm", "a"):
        with pytest.raises(OutputError, match="cannot write"):
            format_for_output(str(tmp_path / bad))


def test_frames_larger_than_h264_allows_are_scaled_to_its_largest():
    from dexstudio.io.export import H264_MAX_MACROBLOCKS, h264_fit

    assert h264_fit(3511, 3511) == (3511, 3511)  # hallo_reference_7 pasted back: allowed
    assert h264_fit(1920, 1080) == (1920, 1080)
    w, h = h264_fit(8064, 6048)  # a 48-megapixel phone photo pasted back
    assert w % 2 == 0 and h % 2 == 0 and abs(w / h - 8064 / 6048) < 0.002
    assert -(-w // 16) * -(-h // 16) <= H264_MAX_MACROBLOCKS
    assert w * h > 0.98 * H264_MAX_MACROBLOCKS * 256  # the largest that fits, within 2 %
    w, h = h264_fit(20000, 400)  # too long a side
    assert w <= 16880 and abs(w / h - 50) < 0.3


def test_an_oversized_mp4_export_is_scaled_and_says_so(tmp_path, monkeypatch):
    import dexstudio.io.export as export_mod
    from dexstudio.io.video_reader import probe

    monkeypatch.setattr(export_mod, "H264_MAX_MACROBLOCKS", 20)  # a tiny "largest frame"
    monkeypatch.setattr(export_mod, "H264_MAX_SIDE_MB", 8)
    frames = [np.full((64, 160, 3), 40 * i, np.uint8) for i in range(3)]  # 10 x 4 macroblocks
    res = export_frames(tmp_path / "o.mp4", frames, ExportSettings(fps=FrameRate(30)))
    assert res.scaled_from == (160, 64)
    w, h = res.size
    assert -(-w // 16) * -(-h // 16) <= 20 and abs(w / h - 2.5) < 0.15
    assert (probe(tmp_path / "o.mp4").width, probe(tmp_path / "o.mp4").height) == (w, h)
    small = export_frames(tmp_path / "s.mp4", [np.zeros((32, 48, 3), np.uint8)], ExportSettings(fps=FrameRate(30)))
    assert small.scaled_from is None and small.size == (48, 32)
