"""``dexstudio animate`` end to end on the bundled sample, and its bad-input paths."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dexstudio.cli import main
from dexstudio.commands.animate import (
    AnimateOptions,
    ChannelSelectorError,
    MotionOptions,
    parse_freeze,
    run_animate,
    track_to_motion,
)
from dexstudio.core.errors import Cancelled, NoFaceError, OutputError
from dexstudio.core.progress import CancelToken
from dexstudio.render.base import FrameMotion


def _write_clip(path: Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    from dexstudio.core.timebase import FrameRate
    from dexstudio.io.export import ExportSettings, VideoExporter

    with VideoExporter(path, ExportSettings(fps=FrameRate(fps), crf=12)) as ex:
        for f in frames:
            ex.write(f)
    return path


@pytest.fixture(scope="module")
def short_driving(tmp_path_factory, sample_driving) -> Path:
    """The first 24 frames of the bundled driving clip, without audio."""
    from dexstudio.io.video_reader import iter_frames

    frames = [f for _, f in iter_frames(sample_driving, 0, 24)]
    return _write_clip(tmp_path_factory.mktemp("drv") / "short.mp4", frames)


def _probe(path: Path):
    from dexstudio.io.video_reader import probe

    return probe(path)


def test_animate_sample_with_audio(tmp_path, sample_portrait, sample_driving, capsys) -> None:
    out = tmp_path / "o.mp4"
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(sample_driving),
               "-o", str(out), "-q", "--size", "256"])
    assert rc == 0
    line = capsys.readouterr().out
    assert "90 frames" in line and str(out) in line and "with audio" in line
    info = _probe(out)
    assert info.n_frames == 90 and (info.width, info.height) == (256, 256) and info.has_audio


def test_paste_back_writes_full_resolution(tmp_path, sample_portrait, short_driving) -> None:
    s = run_animate(sample_portrait, short_driving, tmp_path / "p.mp4", AnimateOptions(size=256, paste_back=True))
    info = _probe(s.output)
    assert (info.width, info.height) == (512, 512) and s.frames == 24 and not s.has_audio


def test_driving_without_audio_gives_silent_video(tmp_path, sample_portrait, short_driving) -> None:
    s = run_animate(sample_portrait, short_driving, tmp_path / "n.mp4", AnimateOptions(size=128))
    assert s.frames == 24 and not s.has_audio and s.output.is_file()


def test_face_lost_for_a_second(tmp_path, sample_portrait, sample_driving) -> None:
    from dexstudio.io.video_reader import iter_frames

    frames = [f for _, f in iter_frames(sample_driving, 0, 60)]
    for i in range(20, 50):  # one second without a face
        frames[i] = np.full_like(frames[i], 90)
    drv = _write_clip(tmp_path / "lost.mp4", frames)
    s = run_animate(sample_portrait, drv, tmp_path / "l.mp4", AnimateOptions(size=128))
    assert s.frames == 60 and _probe(s.output).n_frames == 60


def test_cancel_during_export_leaves_nothing(tmp_path, sample_portrait, short_driving) -> None:
    token = CancelToken()
    out = tmp_path / "c.mp4"

    def progress(p) -> None:
        if p.stage == "export" and p.done >= 5:
            token.cancel()

    with pytest.raises(Cancelled):
        run_animate(sample_portrait, short_driving, out, AnimateOptions(size=128), progress=progress, cancel=token)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_read_only_output_folder_fails_before_work(tmp_path, sample_portrait, short_driving,
                                                   monkeypatch, capsys) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if str(p) == str(ro) else real(p, m))
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(short_driving),
               "-o", str(ro / "x.mp4"), "-q"])
    err = capsys.readouterr().err
    assert rc == OutputError.exit_code and "read-only" in err and "Traceback" not in err
    assert list(ro.iterdir()) == []


def test_no_face_source_is_a_clean_cli_error(tmp_path, short_driving, capsys) -> None:
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((300, 300, 3), 200, np.uint8)).save(blank)
    rc = main(["animate", "--source", str(blank), "--driving", str(short_driving), "-o", str(tmp_path / "o.mp4")])
    err = capsys.readouterr().err
    assert rc == NoFaceError.exit_code and "no face" in err and "Traceback" not in err
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("kind", ["rgba", "gray", "exif"])
def test_unusual_source_images(tmp_path, sample_portrait, short_driving, kind) -> None:
    img = Image.open(sample_portrait).convert("RGB")
    path = tmp_path / f"src_{kind}.png"
    if kind == "rgba":
        a = Image.new("L", img.size, 255)
        a.paste(0, (0, 0, 40, 40))  # a transparent corner
        rgba = img.copy()
        rgba.putalpha(a)
        rgba.save(path)
    elif kind == "gray":
        img.convert("L").save(path)
    else:
        path = tmp_path / "src_exif.jpg"
        exif = Image.Exif()
        exif[0x0112] = 6  # stored rotated: viewers turn it 90 degrees clockwise
        img.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=95)
    s = run_animate(path, short_driving, tmp_path / f"{kind}.mp4", AnimateOptions(size=128))
    assert s.frames == 24


def test_freeze_selectors() -> None:
    assert "pose.yaw" in parse_freeze(["pose"])
    ex = parse_freeze(["expression"])
    assert "expr.jawOpen" in ex and "detail.00" in ex and "pose.yaw" not in ex
    assert parse_freeze(["expr.jawOpen,eyes"]) >= {"expr.jawOpen", "expr.eyeBlinkLeft"}
    with pytest.raises(ChannelSelectorError) as e:
        parse_freeze(["nose-hair"])
    assert "expr.jawOpen" in str(e.value)


def _toy_track(n: int = 5):
    from dexstudio.core.motion import MotionTrack
    from dexstudio.core.rotation import euler_to_matrix, matrix_to_quaternion
    from dexstudio.core.timebase import FrameRate

    euler = np.zeros((n, 3))
    euler[:, 0] = np.arange(n) * 5.0 + 10.0  # yaw 10, 15, 20 ...
    bs = np.zeros((n, 52), np.float32)
    bs[:, 17] = np.linspace(0.2, 0.6, n)  # jawOpen (Live Link index 17)
    return MotionTrack(rate=FrameRate(30), quaternion=matrix_to_quaternion(euler_to_matrix(euler[:, 0], 0, 0)),
                       euler=euler, translation=np.tile([0.1, 0.0], (n, 1)), scale=np.linspace(1.0, 1.2, n),
                       blendshapes=bs, detail=np.zeros((n, 16), np.float32), valid=np.ones(n, bool))


def test_relative_mode_maps_reference_to_own() -> None:
    own = FrameMotion((3.0, -2.0, 1.0), (0.05, -0.1), 1.0, (0.1,) * 52, (0.0,) * 16, 0.0)
    ev = track_to_motion(_toy_track(), own, MotionOptions(reference_frame=1))
    assert np.allclose(ev.euler[1], own.euler, atol=1e-6)
    assert np.allclose(ev.translation[1], own.translation) and np.isclose(ev.scale[1], 1.0)
    assert np.isclose(ev.blendshapes[1, 17], 0.1) and np.isclose(ev.blendshapes[3, 17], 0.3)
    assert np.isclose(ev.scale[3], 1.15 / 1.05)
    assert abs(ev.euler[3, 0] - (3.0 + 10.0)) < 0.2  # +10 deg of yaw relative to the reference
    absolute = track_to_motion(_toy_track(), own, MotionOptions(absolute=True))
    assert np.allclose(absolute.euler[:, 0], [10, 15, 20, 25, 30])


def test_freeze_holds_the_source_values() -> None:
    own = FrameMotion((3.0, -2.0, 1.0), (0.05, -0.1), 1.0, (0.1,) * 52, (0.0,) * 16, 0.0)
    ev = track_to_motion(_toy_track(), own, MotionOptions(freeze=parse_freeze(["pose"])))
    assert np.allclose(ev.euler, own.euler) and np.allclose(ev.scale, 1.0)
    assert not np.allclose(ev.blendshapes[:, 17], 0.1)
    ev = track_to_motion(_toy_track(), own, MotionOptions(freeze=parse_freeze(["jaw"])))
    assert np.allclose(ev.blendshapes[:, 17], 0.1) and (ev.detail_weight == 0).all()
