"""``dexstudio train motion|animator`` end to end on a tiny synthetic dataset (acceptance 3)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from dexstudio.cli import main
from dexstudio.render.dex.train.synthetic import write_synthetic_dataset

COMMON = ["--preset", "tiny", "--device", "cpu", "--quiet", "--seed", "0"]


def _losses(out: Path) -> list[tuple[int, float]]:
    with open(out / "loss.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [(int(r["step"]), float(r["total"])) for r in rows]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("dexdata") / "videos"
    write_synthetic_dataset(d, n_clips=3, n_frames=16, size=64)  # 48 frames of 64x64
    return d


@pytest.fixture(scope="module")
def motion_run(data_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("motion") / "run"
    rc = main(["train", "motion", str(data_dir), "--out", str(out), "--max-steps", "50", "--batch-size", "4",
               "--lr", "2e-3", "--checkpoint-every", "25", "--sample-every", "25", *COMMON])
    assert rc == 0
    return out


@pytest.mark.slow
def test_train_motion_loss_goes_down_and_writes_outputs(motion_run) -> None:
    losses = _losses(motion_run)
    assert [s for s, _ in losses] == list(range(1, 51))
    first = np.mean([v for _, v in losses[:10]])
    last = np.mean([v for _, v in losses[-10:]])
    assert last < 0.85 * first, (first, last)
    assert (motion_run / "checkpoints" / "step_000025" / "model.safetensors").is_file()
    assert (motion_run / "checkpoints" / "latest").read_text().strip() == "step_000050"
    assert (motion_run / "samples" / "step_000050.png").is_file()
    assert (motion_run / "train_config.json").is_file()


@pytest.mark.slow
def test_train_motion_resume_continues_from_saved_step(motion_run, data_dir, tmp_path, capsys) -> None:
    # an interrupted run resumed from its step-25 checkpoint reproduces the straight run
    part = tmp_path / "part"
    args = ["train", "motion", str(data_dir), "--out", str(part), "--batch-size", "4", "--lr", "2e-3",
            "--checkpoint-every", "25", "--sample-every", "100", *COMMON]
    assert main([*args, "--max-steps", "25"]) == 0
    capsys.readouterr()
    assert main([*args, "--max-steps", "50"]) == 0
    assert "trained steps 26..50" in capsys.readouterr().out
    straight = dict(_losses(motion_run))
    resumed = dict(_losses(part))
    assert sorted(resumed) == list(range(1, 51))
    for step in range(26, 51):
        assert resumed[step] == pytest.approx(straight[step], rel=1e-4, abs=1e-6), step
    # the finished run resumes past its end: steps 51..54 only, the log stays contiguous
    assert main(["train", "motion", str(data_dir), "--out", str(motion_run), "--max-steps", "54",
                 "--checkpoint-every", "4", *COMMON]) == 0
    assert "trained steps 51..54" in capsys.readouterr().out
    assert [s for s, _ in _losses(motion_run)] == list(range(1, 55))


@pytest.fixture(scope="module")
def animator_run(motion_run, data_dir, tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("anim") / "run"
    args = ["train", "animator", str(data_dir), "--motion", str(motion_run), "--out", str(out),
            "--batch-size", "2", "--lr", "1e-3", "--checkpoint-every", "10", "--sample-every", "30", *COMMON]
    assert main([*args, "--max-steps", "30"]) == 0
    return out, args


@pytest.mark.slow
def test_train_animator_loss_goes_down_and_resumes(animator_run, capsys) -> None:
    out, args = animator_run
    losses = _losses(out)
    assert [s for s, _ in losses][:30] == list(range(1, 31))
    first = np.mean([v for _, v in losses[:8]])
    last = np.mean([v for _, v in losses[22:30]])
    assert last < 0.7 * first, (first, last)
    assert (out / "samples" / "step_000030.png").is_file()
    capsys.readouterr()
    assert main([*args, "--max-steps", "34"]) == 0
    assert "trained steps 31..34" in capsys.readouterr().out
    assert [s for s, _ in _losses(out)] == list(range(1, 35))


@pytest.mark.slow
def test_train_animator_stage2_trains_only_temporal_modules(animator_run, motion_run, data_dir,
                                                            tmp_path) -> None:
    out, _ = animator_run
    stage1 = out / "checkpoints" / "step_000030"
    out2 = tmp_path / "anim2"
    assert main(["train", "animator", str(data_dir), "--motion", str(motion_run), "--out", str(out2),
                 "--stage", "2", "--window", "4", "--init-from", str(stage1), "--batch-size", "1",
                 "--lr", "1e-3", "--max-steps", "6", "--checkpoint-every", "6", "--sample-every", "100",
                 *COMMON]) == 0
    before = load_file(str(stage1 / "model.safetensors"))
    after = load_file(str(out2 / "checkpoints" / "step_000006" / "model.safetensors"))
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(".temporal." in k for k in changed)
    assert len(_losses(out2)) == 6


def test_trained_checkpoint_drives_the_animator(motion_run, data_dir, tmp_path) -> None:
    from dexstudio.render.base import FrameMotion
    from dexstudio.render.dex.animator import DexAnimator
    from dexstudio.render.dex.face import centered_analysis

    out = tmp_path / "anim"
    assert main(["train", "animator", str(data_dir), "--motion", str(motion_run), "--out", str(out),
                 "--batch-size", "1", "--max-steps", "2", "--sample-every", "100", *COMMON]) == 0
    anim = DexAnimator(out / "checkpoints" / "step_000002", face_analyzer=centered_analysis, device="cpu")
    assert DexAnimator(out, face_analyzer=centered_analysis, device="cpu").config == anim.config  # run folder
    st = anim.prepare(np.full((40, 40, 3), 128, np.uint8))
    assert anim.render(st, FrameMotion.neutral()).shape == (512, 512, 3)


def test_missing_data_and_motion_are_user_errors(tmp_path, motion_run, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "motion", str(empty), "--out", str(tmp_path / "o"), *COMMON]) == 2
    assert "no usable video" in capsys.readouterr().err
    assert main(["train", "animator", str(empty), "--motion", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "o2"), *COMMON]) == 2
    assert "dexstudio train motion" in capsys.readouterr().err


@pytest.mark.slow
def test_train_animator_with_the_apps_own_extraction(tmp_path, sample_driving, capsys, monkeypatch) -> None:
    """``--labels tracker``: MediaPipe extraction of a real face clip labels the frames."""
    import shutil

    monkeypatch.setenv("DEXSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "real"
    data.mkdir()
    shutil.copy(sample_driving, data / "drive.mp4")
    out = tmp_path / "anim"
    assert main(["train", "animator", str(data), "--labels", "tracker", "--out", str(out),
                 "--batch-size", "1", "--max-steps", "3", "--sample-every", "100", *COMMON]) == 0
    assert [s for s, _ in _losses(out)] == [1, 2, 3]
    # no --motion and --labels motion: a clear user error
    assert main(["train", "animator", str(data), "--labels", "motion", "--out", str(out), *COMMON]) == 2
    assert "--motion" in capsys.readouterr().err
