"""``dexstudio demo``, ``dexstudio eval``, ``dexstudio bench render``, ``dexstudio train basis``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dexstudio.cli import main


def test_demo_renders_video_and_poster(tmp_path, capsys) -> None:
    from dexstudio.io.video_reader import probe

    rc = main(["demo", "-o", str(tmp_path), "--frames", "30"])
    assert rc == 0
    out = capsys.readouterr().out
    assert str((tmp_path / "demo.mp4").resolve()) in out
    info = probe(tmp_path / "demo.mp4")
    assert info.n_frames == 30 and (info.width, info.height) == (512, 512)
    assert (tmp_path / "demo_poster.png").is_file()

def test_demo_performance_moves_head_and_face() -> None:
    from dexstudio.commands.demo import demo_performance
    from dexstudio.core.channels import ARKIT_NAMES
    from dexstudio.render.base import FrameMotion

    own = FrameMotion.neutral()
    ev = demo_performance(own, 120)
    assert np.ptp(ev.euler[:, 0]) > 25  # a head turn
    for name in ("mouthSmileLeft", "eyeBlinkLeft", "jawOpen"):
        assert ev.blendshapes[:, ARKIT_NAMES.index(name)].max() > 0.3, name
    jaw = ev.blendshapes[:, ARKIT_NAMES.index("jawOpen")]
    assert (np.diff(np.sign(np.diff(jaw[80:118]))) != 0).sum() >= 6  # several syllables


def test_eval_self_reenactment_beats_doing_nothing(sample_driving) -> None:
    from dexstudio.commands.eval import evaluate

    r = evaluate(sample_driving, None, max_frames=30)
    assert r.self_reenactment and r.frames == 30 and r.result.lost == 0
    assert r.result.kp < 0.5 * r.baseline.kp
    assert r.result.pose < r.baseline.pose
    assert r.result.psnr > r.baseline.psnr


def test_eval_cli_prints_table(sample_portrait, sample_driving, capsys) -> None:
    rc = main(["eval", "-q", "--source", str(sample_portrait), "--driving", str(sample_driving),
               "--max-frames", "10", "--freeze", "pose"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "astronaut_driving.mp4" in out and "frozen pose drift" in out


def test_eval_cli_checks_every_input_before_printing_the_table(sample_driving, tmp_path, capsys) -> None:
    missing = tmp_path / "nope.mp4"
    rc = main(["eval", "-q", "--driving", str(sample_driving), str(missing)])
    captured = capsys.readouterr()
    assert rc != 0 and "nope.mp4" in captured.err and "does not exist" in captured.err
    assert "result/baseline" not in captured.out  # no half table, no work done on the first clip
    rc = main(["eval", "-q", "--source", str(tmp_path / "none.jpg"), "--driving", str(sample_driving)])
    captured = capsys.readouterr()
    assert rc != 0 and "none.jpg" in captured.err and "result/baseline" not in captured.out


def test_bench_render_sizes() -> None:
    from dexstudio.commands.bench_render import bench_render_sizes

    ms = bench_render_sizes((128,), frames=3)
    assert 0 < ms[128] < 1000


def test_train_basis_on_the_sample(tmp_path, sample_driving) -> None:
    from dexstudio.render.warp.basis import load_basis

    out = tmp_path / "b.npz"
    rc = main(["train", "basis", str(sample_driving), "-o", str(out), "--stride", "3", "--no-pose-bias"])
    assert rc == 0
    b = load_basis(out)
    assert b.basis.shape == (52, 478, 3) and b.info["clips"] == ["astronaut_driving.mp4"]
    assert np.isfinite(b.basis).all()


def test_encoder_threads_leave_the_cores_to_the_render_processes(monkeypatch) -> None:
    import dexstudio.commands.animate as A

    monkeypatch.setattr(A, "available_cores", lambda: 2)
    assert A.encoder_threads(2, False) == 1  # two render processes fill both cores
    assert A.encoder_threads(2, True) == 0  # pasted back / side by side: x264's own threads
    assert A.encoder_threads(0, False) == 0  # rendering on threads or a GPU
    monkeypatch.setattr(A, "available_cores", lambda: 8)
    assert A.encoder_threads(2, False) == 6


def test_eval_refuses_a_reference_frame_beyond_the_clip(sample_driving, capsys) -> None:
    from dexstudio.io.video_reader import probe

    n = probe(sample_driving).n_frames
    rc = main(["eval", "-q", "--driving", str(sample_driving), "--reference-frame", str(n)])
    captured = capsys.readouterr()
    assert rc != 0 and f"which has {n} frames" in captured.err and "result/baseline" not in captured.out
