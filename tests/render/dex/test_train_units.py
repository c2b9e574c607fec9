"""Training pieces: dataset cache, gradient accumulation, config files, AMP on CUDA."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dexstudio.cli import main
from dexstudio.render.dex.motion_net import MotionNet, MotionNetConfig, load_motion_net, save_motion_net
from dexstudio.render.dex.train.data import DatasetError, VideoFolderDataset
from dexstudio.render.dex.train.loop import TrainConfig
from dexstudio.render.dex.train.motion_trainer import MotionTrainConfig, MotionTrainer, face_mask
from dexstudio.render.dex.train.synthetic import write_synthetic_dataset


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("units") / "videos"
    write_synthetic_dataset(d, n_clips=2, n_frames=8, size=64)
    return d


def test_dataset_caches_clips_once(videos) -> None:
    ds = VideoFolderDataset(videos, 32)
    assert len(ds) == 2 and ds.total_frames == 16
    fr = ds.frames(0)
    assert fr.shape == (8, 32, 32, 3) and fr.dtype == np.uint8 and isinstance(fr, np.memmap)
    mtimes = [c.frames_file.stat().st_mtime_ns for c in ds.clips]
    again = VideoFolderDataset(videos, 32)
    assert [c.frames_file.stat().st_mtime_ns for c in again.clips] == mtimes  # reused, not re-decoded
    rng = np.random.default_rng(0)
    c, i, j = ds.sample_pair(rng)
    assert i != j and 0 <= c < 2
    c, s, win = ds.sample_window(rng, 4)
    assert win == list(range(win[0], win[0] + 4))


def test_empty_folder_is_a_dataset_error(tmp_path) -> None:
    with pytest.raises(DatasetError):
        VideoFolderDataset(tmp_path, 32)


def test_gradient_accumulation_steps_the_optimizer_once_per_step(videos, tmp_path) -> None:
    cfg = MotionTrainConfig(model=MotionNetConfig.tiny(),
                            train=TrainConfig(max_steps=3, batch_size=2, grad_accum=3, lr=1e-3,
                                              checkpoint_every=3, sample_every=100, device="cpu"))
    tr = MotionTrainer(VideoFolderDataset(videos, 32), tmp_path / "o", cfg)
    calls = []
    orig = tr.micro_step
    tr.micro_step = lambda step, micro: (calls.append((step, micro)), orig(step, micro))[1]  # type: ignore
    res = tr.run()
    assert calls == [(s, m) for s in (1, 2, 3) for m in range(3)]
    state = torch.load(tmp_path / "o" / "checkpoints" / "step_000003" / "trainer_state.pt", weights_only=False)
    assert all(int(v["step"]) == 3 for v in state["optimizer"]["state"].values())
    assert len(res.losses) == 3


def test_config_file_drives_the_run(videos, tmp_path) -> None:
    cfg = MotionTrainConfig(model=MotionNetConfig.tiny(),
                            train=TrainConfig(max_steps=2, batch_size=2, lr=5e-4, device="cpu",
                                              checkpoint_every=100, sample_every=100))
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg.to_dict()))
    out = tmp_path / "out"
    assert main(["train", "motion", str(videos), "--out", str(out), "--config", str(path), "--quiet"]) == 0
    saved = MotionTrainConfig.from_dict(json.loads((out / "train_config.json").read_text()))
    assert saved == cfg
    assert (out / "checkpoints" / "step_000002").is_dir()  # the last step always saves


def test_motion_net_round_trip_and_face_mask(tmp_path) -> None:
    torch.manual_seed(0)
    m = MotionNet(MotionNetConfig.tiny())
    loaded = load_motion_net(save_motion_net(m, tmp_path / "m"))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(m.eval()(x, x.flip(0)).prediction, loaded(x, x.flip(0)).prediction)
        pose, code = loaded.encode(x)
    assert pose.shape == (2, 6) and code.shape == (2, 68)
    assert ((code[:, :52] >= 0) & (code[:, :52] <= 1)).all()
    mask = face_mask(32, 0.35)
    assert mask[0, 0, 16, 16] > 0.9 and mask[0, 0, 0, 0] < 0.1


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_training_on_cuda(videos, tmp_path, precision) -> None:
    assert main(["train", "motion", str(videos), "--out", str(tmp_path / "m"), "--preset", "tiny",
                 "--device", "cuda", "--precision", precision, "--max-steps", "4", "--quiet"]) == 0
    assert main(["train", "animator", str(videos), "--motion", str(tmp_path / "m"), "--out",
                 str(tmp_path / "a"), "--preset", "tiny", "--device", "cuda", "--precision", precision,
                 "--max-steps", "4", "--batch-size", "2", "--quiet"]) == 0
