"""``dexstudio animate`` end to end on the bundled sample, and its bad-input paths."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
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
    animate_document,
    evaluate_document,
    run_animate,
    source_info,
)
from dexstudio.core.errors import Cancelled, DexStudioError, NoFaceError, OutputError
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


def test_a_folder_output_gets_png_frames(tmp_path, sample_portrait, short_driving, capsys) -> None:
    out = tmp_path / "frames"
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(short_driving),
               "-o", str(out) + "/", "-q", "--size", "128"])
    assert rc == 0 and "24 frames" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(24)]
    assert np.asarray(Image.open(out / names[0])).shape == (128, 128, 3)


@pytest.mark.parametrize("name", ["o.gif", "o.avi", "o"])
def test_an_output_name_of_another_kind_is_refused_before_work(tmp_path, sample_portrait, short_driving,
                                                               capsys, name) -> None:
    """It used to get an MP4 under that name."""
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(short_driving),
               "-o", str(tmp_path / name), "-q"])
    err = capsys.readouterr().err
    assert rc == OutputError.exit_code and ".mp4" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_frames_larger_than_h264_allows_are_scaled_and_the_user_told(tmp_path, sample_portrait, short_driving,
                                                                       capsys, monkeypatch) -> None:
    """A 48-megapixel photo pasted back is larger than any H.264 level allows (tested
    here with a smaller limit): the video is scaled down and the summary says so."""
    import dexstudio.io.export as export_mod

    monkeypatch.setattr(export_mod, "H264_MAX_MACROBLOCKS", 400)  # 320 x 320 at most
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(short_driving),
               "-o", str(tmp_path / "o.mp4"), "-q", "--paste-back"])
    out = capsys.readouterr().out
    assert rc == 0 and "larger than H.264 allows" in out and "(512 x 512)" in out
    info = _probe(tmp_path / "o.mp4")
    assert info.width == info.height and info.width <= 320


@pytest.mark.parametrize("extra, says", [
    (["--reference-frame", "24"], "beyond the end of short.mp4, which has 24 frames"),
    (["--reference-frame", "-1"], "is not a frame"),
    (["--reference-frame", "3", "--absolute"], "no effect with --absolute"),
])
def test_a_reference_frame_the_clip_cannot_have_is_refused_before_work(tmp_path, sample_portrait, short_driving,
                                                                       capsys, monkeypatch, extra, says) -> None:
    """It used to be taken as the clip's last frame without a word."""
    import dexstudio.motion.extract as extract_mod

    def no_tracking(*args, **kwargs):
        raise AssertionError("the clip was tracked")

    monkeypatch.setattr(extract_mod, "run_extraction", no_tracking)
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(short_driving),
               "-o", str(tmp_path / "o.mp4"), "-q", *extra])
    err = capsys.readouterr().err
    assert rc == DexStudioError.exit_code and says in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_reference_frame_beyond_a_clip_of_unstated_length_is_refused_once_tracked(
        tmp_path, sample_portrait, short_driving, capsys, monkeypatch) -> None:
    """A container that does not state its frame count is checked against the track."""
    import dexstudio.io.video_reader as vr

    real = vr.probe
    monkeypatch.setattr(vr, "probe", lambda p: replace(real(p), n_frames=10_000, n_frames_exact=False))
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(short_driving),
               "-o", str(tmp_path / "o.mp4"), "-q", "--size", "128", "--reference-frame", "30"])
    err = capsys.readouterr().err
    assert rc == DexStudioError.exit_code and "which has 24 frames" in err and "from 0 to 23" in err
    assert not (tmp_path / "o.mp4").exists()


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


def _own() -> FrameMotion:
    return FrameMotion((3.0, -2.0, 1.0), (0.05, -0.1), 1.0, (0.1,) * 52, (0.0,) * 16, 0.0)


def _evaluate(opts: MotionOptions, track=None):
    return evaluate_document(animate_document(track or _toy_track(), source_info("src.png", _own()), opts))


def test_relative_mode_maps_reference_to_own() -> None:
    own = _own()
    ev = _evaluate(MotionOptions(reference_frame=1))
    assert len(ev) == 5 and np.array_equal(ev.frames, np.arange(5))
    assert np.allclose(ev.euler[1], own.euler, atol=1e-6)
    assert np.allclose(ev.translation[1], own.translation) and np.isclose(ev.scale[1], 1.0)
    assert np.isclose(ev.blendshapes[1, 17], 0.1) and np.isclose(ev.blendshapes[3, 17], 0.3)
    assert np.isclose(ev.scale[3], 1.15 / 1.05)
    # relative pose is additive per Euler angle: +10 deg of yaw relative to the reference
    assert np.allclose(ev.euler[:, 0], own.euler[0] + np.arange(5) * 5.0 - 5.0, atol=1e-5)
    assert np.allclose(ev.euler[:, 1:], np.asarray(own.euler[1:])[None], atol=1e-6)
    absolute = _evaluate(MotionOptions(absolute=True))
    assert np.allclose(absolute.euler[:, 0], [10, 15, 20, 25, 30])


def test_detail_is_relative_to_the_reference_frame() -> None:
    """The source's own detail is 0: detail(f) - detail(ref) applies, so the reference
    frame gets exactly the source's own values (the identity)."""
    tr = _toy_track()
    det = np.random.default_rng(0).normal(size=(5, 16)).astype(np.float32)
    tr = type(tr)(rate=tr.rate, quaternion=tr.quaternion, euler=tr.euler, translation=tr.translation,
                  scale=tr.scale, blendshapes=tr.blendshapes, detail=det, valid=tr.valid)
    ev = _evaluate(MotionOptions(reference_frame=2), tr)
    assert np.allclose(ev.detail, det.astype(np.float64) - det[2], atol=1e-6)
    assert np.all(ev.detail[2] == 0.0)
    assert np.allclose(_evaluate(MotionOptions(absolute=True), tr).detail, det, atol=1e-6)


def test_smoothing_is_the_cores_gaussian() -> None:
    from dexstudio.core.filters import gaussian

    ev = _evaluate(MotionOptions(smooth=1.5))
    jaw = _toy_track().blendshapes[:, 17].astype(np.float32).astype(np.float64)
    sm = gaussian(jaw, 1.5)
    assert np.allclose(ev.blendshapes[:, 17], 0.1 + sm - sm[0], atol=1e-6)
    with pytest.raises(ValueError, match="sigma"):
        MotionOptions(smooth=-1.0)


def test_freeze_holds_the_source_values() -> None:
    own = _own()
    ev = _evaluate(MotionOptions(freeze=parse_freeze(["pose"])))
    assert np.allclose(ev.euler, own.euler) and np.allclose(ev.scale, 1.0)
    assert not np.allclose(ev.blendshapes[:, 17], 0.1)
    ev = _evaluate(MotionOptions(freeze=parse_freeze(["jaw"])))
    assert np.allclose(ev.blendshapes[:, 17], 0.1) and (ev.detail_weight == 0).all()


def test_reference_frame_renders_as_the_source_itself(tmp_path, sample_portrait, short_driving) -> None:
    """The driving clip's frame 0 is the reference: its target motion is the portrait's own
    motion (detail relative: 0) and the rendered frame is the prepared crop (measured: exact)."""
    from dexstudio.io.image import load_image
    from dexstudio.render.base import SourceOptions
    from dexstudio.render.warp import WarpAnimator, WarpSettings

    a = WarpAnimator(WarpSettings())
    try:
        crop = a.prepare(load_image(sample_portrait), SourceOptions(crop_size=128)).payload.crop
    finally:
        a.close()
    frames: dict[int, np.ndarray] = {}

    def hook(i: int, f: np.ndarray) -> None:
        if i in (0, 12):
            frames[i] = f.copy()

    run_animate(sample_portrait, short_driving, tmp_path / "r.mp4", AnimateOptions(size=128), frame_hook=hook)
    d0 = np.abs(frames[0].astype(np.int16) - crop)
    assert d0.max() <= 1 and d0.mean() < 0.01, (d0.max(), d0.mean())
    assert np.abs(frames[12].astype(np.int16) - crop).mean() > 1.0  # later frames do move


def test_save_project_renders_the_same_document(tmp_path, sample_portrait, short_driving) -> None:
    from dexstudio.io.project_file import load_project

    proj = tmp_path / "p.dexproj"
    run_animate(sample_portrait, short_driving, tmp_path / "s.mp4",
                AnimateOptions(size=128, motion=MotionOptions(reference_frame=3, freeze=parse_freeze(["jaw"]),
                                                              smooth=1.0), save_project=proj))
    doc = load_project(proj)
    st = doc.state
    assert st.render.crop_size == 128 and len(st.settings.frame_range) == 24
    assert Path(st.source.path).resolve() == sample_portrait.resolve()
    jaw = st.channel("expr.jawOpen")
    assert jaw.freeze is not None and jaw.freeze.value == st.source.own("expr.jawOpen")
    assert st.channel("pose.yaw").retarget.reference_frame == 3
    assert st.channel("detail.00").smoothing.sigma == 1.0
    ev = evaluate_document(doc)
    assert np.allclose(ev.euler[3], [st.source.own(c) for c in ("pose.yaw", "pose.pitch", "pose.roll")])


def test_full_turns_turns_the_reveal_limit_off(tmp_path, sample_portrait, short_driving, capsys) -> None:
    from dexstudio.commands.animate import make_animator

    assert make_animator("warp", "cpu").settings.reveal is not None
    assert make_animator("warp", "cpu", full_turns=True).settings.reveal is None
    out = tmp_path / "f.mp4"
    assert main(["animate", "--source", str(sample_portrait), "--driving", str(short_driving),
                 "-o", str(out), "-q", "--size", "128", "--full-turns"]) == 0
    assert _probe(out).n_frames == 24


def test_moving_background_turns_the_still_background_off(tmp_path, sample_portrait, short_driving) -> None:
    from dexstudio.commands.animate import make_animator

    assert make_animator("warp", "cpu").settings.static_background
    moving = make_animator("warp", "cpu", moving_background=True)
    assert not moving.settings.static_background and moving.settings.reveal is not None
    assert moving.settings_key() != make_animator("warp", "cpu").settings_key()
    out = tmp_path / "m.mp4"
    assert main(["animate", "--source", str(sample_portrait), "--driving", str(short_driving),
                 "-o", str(out), "-q", "--size", "128", "--moving-background"]) == 0
    assert _probe(out).n_frames == 24
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(short_driving), "-o",
               str(tmp_path / "p.mp4"), "-q", "--moving-background", "--save-project", str(tmp_path / "p.dexproj")])
    assert rc == 2 and not (tmp_path / "p.mp4").exists()


def test_full_turns_cannot_be_saved_in_a_project(tmp_path, sample_portrait, short_driving, capsys) -> None:
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(short_driving),
               "-o", str(tmp_path / "f.mp4"), "-q", "--full-turns", "--save-project", str(tmp_path / "p.dexproj")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--full-turns" in err and "drop" in err
    assert not (tmp_path / "f.mp4").exists()


@pytest.mark.parametrize("paste", [False, True])
def test_render_processes_give_the_frames_threads_give(tmp_path, sample_portrait, short_driving, monkeypatch,
                                                       paste) -> None:
    """On a CPU the warp animator renders in forked processes (each with its own GIL);
    the frames are exactly those of the threaded path, in order, crop or pasted back."""
    import dexstudio.commands.animate as animate_mod
    from dexstudio.core.process_map import ProcessMap, fork_available
    from dexstudio.render.warp import WarpAnimator

    if not fork_available():
        pytest.skip("render processes need fork (Linux)")
    made: list[int] = []

    class Spy(ProcessMap):
        def __init__(self, *a, **k) -> None:
            made.append(k.get("processes", 0))
            super().__init__(*a, **k)

    def frames_of(name: str) -> list[np.ndarray]:
        got: list[np.ndarray] = []
        run_animate(sample_portrait, short_driving, tmp_path / f"{name}.mp4",
                    AnimateOptions(size=128, paste_back=paste), frame_hook=lambda i, f: got.append(f.copy()))
        return got

    monkeypatch.setattr(animate_mod, "ProcessMap", Spy)
    forked = frames_of("forked")
    assert made == [2] or (os.cpu_count() or 1) < 2
    monkeypatch.setattr(WarpAnimator, "render_processes", lambda self: 0)
    threaded = frames_of("threaded")
    assert len(made) <= 1  # the threaded run made none
    assert len(forked) == len(threaded) == 24
    for a, b in zip(forked, threaded):
        assert a.shape == b.shape and np.array_equal(a, b)


def test_large_pasted_frames_render_on_threads(tmp_path, sample_portrait, short_driving, monkeypatch) -> None:
    """Pasted back into a large source, encoding dominates and processes only add copies:
    such frames render on threads."""
    import dexstudio.commands.animate as animate_mod
    from dexstudio.core.process_map import ProcessMap

    made: list[int] = []

    class Spy(ProcessMap):
        def __init__(self, *a, **k) -> None:
            made.append(1)
            super().__init__(*a, **k)

    monkeypatch.setattr(animate_mod, "ProcessMap", Spy)
    monkeypatch.setattr(animate_mod, "_PASTE_PROCESS_MAX_BYTES", 1000)
    got: list[np.ndarray] = []
    s = run_animate(sample_portrait, short_driving, tmp_path / "p.mp4", AnimateOptions(size=128, paste_back=True),
                    frame_hook=lambda i, f: got.append(f))
    assert made == [] and len(got) == s.frames == 24


def test_render_processes_that_cannot_start_fall_back_to_threads(tmp_path, sample_portrait, short_driving,
                                                                 monkeypatch) -> None:
    import dexstudio.commands.animate as animate_mod

    def no_fork(*a, **k):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(animate_mod, "ProcessMap", no_fork)
    got: list[int] = []
    s = run_animate(sample_portrait, short_driving, tmp_path / "t.mp4", AnimateOptions(size=128),
                    frame_hook=lambda i, f: got.append(i))
    assert got == list(range(24)) and s.frames == 24


def test_a_failed_export_stops_the_render_processes(tmp_path, sample_portrait, short_driving) -> None:
    import multiprocessing as mp

    class Boom(Exception):
        pass

    def hook(i: int, f: np.ndarray) -> None:
        if i == 5:
            raise Boom()

    out = tmp_path / "boom.mp4"
    try:
        run_animate(sample_portrait, short_driving, out, AnimateOptions(size=128), frame_hook=hook)
    except Boom:
        tb = sys.exc_info()[2]  # keeps run_animate's frame, and its frame iterator, alive
        assert not mp.active_children()  # stopped at once, not when the iterator is collected
        del tb
    else:
        pytest.fail("the hook's error did not propagate")
    assert not out.exists()


def test_head_travel_and_its_note() -> None:
    """How far the frames move the head from the source's place, and the hint past 0.3
    face sizes (a drawn-out neck: --freeze translation)."""
    from dexstudio.commands.animate import travel_note
    from dexstudio.core.driving import head_travel

    t = np.tile([0.1, -0.2], (5, 1))
    assert head_travel(t, (0.1, -0.2)) == pytest.approx(0.0)
    t[3] = [0.1 + 0.3, -0.2 - 0.4]
    assert head_travel(t, (0.1, -0.2)) == pytest.approx(0.5)
    assert head_travel(np.zeros((0, 2)), (0.0, 0.0)) == 0.0
    assert travel_note(0.29) is None
    note = travel_note(0.5)
    assert note is not None and "0.50 face sizes" in note and "--freeze translation" in note


@pytest.mark.media
def test_a_driver_who_travels_gets_the_hint_and_freeze_translation_holds_the_head(tmp_path, media_dir, capsys) -> None:
    """liveportrait_d20's camera tilts away: its head rises 0.63 face sizes."""
    drv = media_dir / "driving" / "liveportrait_d20.mp4"
    src = media_dir / "source" / "liveportrait_s42.jpg"
    rc = main(["animate", "--source", str(src), "--driving", str(drv), "-o", str(tmp_path / "a.mp4"), "-q",
               "--size", "256"])
    out = capsys.readouterr().out
    assert rc == 0 and "the driving head moves up to 0.6" in out and "--freeze translation" in out
    rc = main(["animate", "--source", str(src), "--driving", str(drv), "-o", str(tmp_path / "b.mp4"), "-q",
               "--size", "256", "--freeze", "translation"])
    assert rc == 0 and "face sizes across the frame" not in capsys.readouterr().out
