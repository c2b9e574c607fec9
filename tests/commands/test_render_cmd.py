"""``dexstudio render PROJECT -o OUT.mp4``: renders through the worker and the exporter,
uses the cache on a second run, leaves no partial file on Ctrl-C, typed errors."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

from dexstudio.cli import main
from dexstudio.core.commands import add_key, add_take, set_source
from dexstudio.core.document import Document
from dexstudio.core.project import SourceInfo
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.take import Take
from dexstudio.core.timebase import FrameRange
from dexstudio.core.undo import UndoStack
from dexstudio.io.image import save_image
from dexstudio.io.project_file import load_project, save_project
from dexstudio.worker import WorkerConfig
from dexstudio.worker.feed import FrameRenderError
from dexstudio.worker.project_render import ProjectNotRenderableError, render_project
from dexstudio.worker.testing import SyntheticAnimator

N = 24


def make_project(tmp_path: Path, source: Path | None = None, n: int = N) -> Path:
    if source is None:
        source = tmp_path / "portrait.png"
        rng = np.random.default_rng(1)
        save_image(source, rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
    doc = Document()
    stack = UndoStack(doc)
    stack.push(add_take(doc, Take.from_motion(synthetic_track(n, seed=5), "drive")))
    stack.push(set_source(doc, SourceInfo(path=str(source))))
    stack.push(add_key(doc, "expr.jawOpen", 5, 0.8))
    path = tmp_path / "edit.dexproj"
    save_project(doc, path)
    return path


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def worker_threads() -> int:
    return sum(t.name == "dexstudio-render-worker" for t in threading.enumerate())


def config(tmp_path: Path) -> WorkerConfig:
    return WorkerConfig(cache_dir=tmp_path / "cache", cpu_threads=1, memory_cache_bytes=32 << 20,
                        disk_cache_bytes=64 << 20)


def test_render_project_with_a_counting_animator_then_from_cache(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    anim = SyntheticAnimator(size=64)
    out = tmp_path / "out.mp4"
    s = render_project(load_project(project), out, config=config(tmp_path),
                       animator_factory=lambda d: anim)
    assert out.is_file() and s.frames == N and not s.has_audio
    frames = decoded_frames(out)
    assert len(frames) == N and frames[0].shape == (64, 64, 3)
    assert anim.calls["render"] == s.stats.misses and s.stats.hits + s.stats.misses == N

    again = SyntheticAnimator(size=64)
    out2 = tmp_path / "again.mp4"
    s2 = render_project(load_project(project), out2, config=config(tmp_path),
                        animator_factory=lambda d: again, frame_range=FrameRange(4, 20))
    assert s2.frames == 16 and s2.stats.hits == 16 and sum(again.calls.values()) == 0
    assert out2.read_bytes() != b""
    assert worker_threads() == 0


def test_interrupt_leaves_no_partial_file_and_no_thread(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    out = tmp_path / "out.mp4"

    def interrupt(p) -> None:  # Ctrl-C in the middle of the render
        if p.done == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_project(load_project(project), out, config=config(tmp_path),
                       animator_factory=lambda d: SyntheticAnimator(size=64, delay_s=0.01),
                       progress=interrupt)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "edit.dexproj", "portrait.png"]
    assert worker_threads() == 0


def test_render_error_leaves_no_file(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    out = tmp_path / "out.mp4"
    doc = load_project(project)
    yaw3 = float(np.round(doc.evaluate(3).euler[0, 0], 4))  # the animator fails on frame 3
    with pytest.raises(FrameRenderError, match="synthetic failure"):
        render_project(doc, out, config=config(tmp_path),
                       animator_factory=lambda d: SyntheticAnimator(size=64, fail_yaw=yaw3))
    assert not out.exists() and worker_threads() == 0


def test_cli_errors_are_typed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project(tmp_path)
    assert main(["render", str(project), "-o", str(tmp_path / "o.mp4"), "--range", "5:500",
                 "--cache-dir", str(tmp_path / "c")]) == 2
    assert "--range" in capsys.readouterr().err
    assert main(["render", str(project), "-o", str(tmp_path / "o.mp4"), "--range", "x"]) == 2
    assert "START:STOP" in capsys.readouterr().err
    assert main(["render", str(project), "-o", str(tmp_path / "o.mp4"), "--crf", "99"]) == 2
    assert "--crf" in capsys.readouterr().err
    import torch

    if not torch.cuda.is_available():
        assert main(["render", str(project), "-o", str(tmp_path / "o.mp4"), "--device", "cuda",
                     "--cache-dir", str(tmp_path / "c")]) == 2
        assert "no CUDA GPU" in capsys.readouterr().err
    doc = Document()
    save_project(doc, tmp_path / "empty.dexproj")
    with pytest.raises(ProjectNotRenderableError, match="no source portrait"):
        render_project(load_project(tmp_path / "empty.dexproj"), tmp_path / "o.mp4")
    assert main(["render", str(tmp_path / "missing.dexproj"), "-o", str(tmp_path / "o.mp4")]) != 0
    assert not (tmp_path / "o.mp4").exists()


def test_cli_renders_the_bundled_portrait_with_the_warp_animator(
        tmp_path: Path, sample_portrait: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project(tmp_path, source=sample_portrait, n=12)
    out = tmp_path / "warp.mp4"
    args = ["render", str(project), "-o", str(out), "--range", "2:10", "--size", "128", "-q",
            "--device", "cpu", "--threads", "1", "--cache-dir", str(tmp_path / "c")]
    assert main(args) == 0
    msg = capsys.readouterr().out
    assert "render: 8 frames" in msg and "hits 0/8" in msg
    frames = decoded_frames(out)
    assert len(frames) == 8 and frames[0].shape == (128, 128, 3)
    assert main(args) == 0  # second run: every frame from the disk cache
    assert "hits 8/8 (100%)" in capsys.readouterr().out


def _compare_with_animate(tmp_path: Path, source: Path, driving: Path) -> np.ndarray:
    """Mean squared error (8-bit RGB) per frame of `dexstudio render` of the project that `dexstudio animate
    --save-project` wrote (the document animate evaluated) against animate's own video
    (lossless, crf 0). Nothing is frozen: the pose and detail rules are the core's in both."""
    rendered, animated, project = tmp_path / "render.mp4", tmp_path / "animate.mp4", tmp_path / "a.dexproj"
    assert main(["animate", "--source", str(source), "--driving", str(driving), "-o", str(animated),
                 "-q", "--crf", "0", "--save-project", str(project)]) == 0
    assert main(["render", str(project), "-o", str(rendered), "-q", "--crf", "0",
                 "--cache-dir", str(tmp_path / "c")]) == 0
    a, b = decoded_frames(rendered), decoded_frames(animated)
    assert len(a) == len(b) > 0
    for p in (rendered, animated):
        with av.open(str(p)) as c:
            assert len(c.streams.audio) == 1  # the driving clip's audio is kept
    return np.array([np.mean((x.astype(np.float64) - y) ** 2) for x, y in zip(a, b)])


@pytest.mark.slow
def test_render_matches_animate_on_the_bundled_sample(tmp_path: Path, sample_portrait: Path,
                                                      sample_driving: Path, monkeypatch) -> None:
    """Pixel-identical frames: animate evaluates the same core Document that render renders."""
    monkeypatch.setenv("DEXSTUDIO_CACHE_DIR", str(tmp_path / "usercache"))
    mse = _compare_with_animate(tmp_path, sample_portrait, sample_driving)
    assert mse.max() == 0.0, (mse.max(), np.count_nonzero(mse))


@pytest.mark.media
@pytest.mark.slow
def test_render_matches_animate_on_liveportrait_d10(tmp_path: Path, media_dir: Path, monkeypatch) -> None:
    """The real clip with its head motion (pose not frozen): pixel-identical too."""
    monkeypatch.setenv("DEXSTUDIO_CACHE_DIR", str(tmp_path / "usercache"))
    mse = _compare_with_animate(tmp_path, media_dir / "source" / "liveportrait_s6.jpg",
                                media_dir / "driving" / "liveportrait_d10.mp4")
    assert mse.max() == 0.0, (mse.max(), np.count_nonzero(mse))


@pytest.mark.slow
def test_ctrl_c_in_a_real_process_leaves_no_partial_file(tmp_path: Path, sample_portrait: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    project = make_project(tmp_path, source=sample_portrait, n=600)
    out = tmp_path / "out" / "clip.mp4"
    out.parent.mkdir()
    env = {**os.environ, "DEXSTUDIO_CACHE_DIR": str(tmp_path / "usercache")}
    # a terminal's Ctrl-C: the child gets the default SIGINT disposition even when this
    # test runs in a background job (where the shell ignores SIGINT, the child would inherit
    # that and Python would install no KeyboardInterrupt handler: it then ran to the end)
    p = subprocess.Popen([sys.executable, "-m", "dexstudio", "render", str(project), "-o", str(out), "-q",
                          "--threads", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=Path(__file__).resolve().parents[2],
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not any(out.parent.iterdir()):  # the export's temp file
            assert p.poll() is None, p.communicate()
            time.sleep(0.05)
        time.sleep(0.5)  # some frames encoded
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err.decode()
    assert b"interrupted; nothing partial was written" in err
    assert list(out.parent.iterdir()) == []
