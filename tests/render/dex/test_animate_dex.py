"""`dexstudio animate --animator dex`: a checkpoint folder drives the same CLI as warp."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from dexstudio.cli import main
from dexstudio.render.dex.checkpoint import save_pretrained


def _short_clip(src: Path, dst: Path, n: int) -> None:
    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        vs = o.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 512, 512, "yuv420p"
        for k, f in enumerate(i.decode(video=0)):
            if k >= n:
                break
            for p in vs.encode(av.VideoFrame.from_ndarray(f.to_ndarray(format="rgb24"), format="rgb24")):
                o.mux(p)
        for p in vs.encode(None):
            o.mux(p)


def test_animate_with_a_dex_checkpoint(tmp_path, tiny_model, sample_portrait, sample_driving,
                                       monkeypatch) -> None:
    monkeypatch.setenv("DEXSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    ckpt = tmp_path / "ckpt"
    save_pretrained(tiny_model, ckpt)
    clip = tmp_path / "short.mp4"
    _short_clip(sample_driving, clip, 4)
    out = tmp_path / "dex.mp4"
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(clip), "-o", str(out),
               "--animator", "dex", "--checkpoint", str(ckpt), "--size", "64", "-q"])
    assert rc == 0
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 4
    assert frames[0].shape[0] == frames[0].shape[1] > 0
    assert float(np.std(frames[0])) > 1.0  # a picture, not a constant frame


def test_animate_dex_without_checkpoint_says_how_to_get_one(tmp_path, sample_portrait, sample_driving,
                                                            monkeypatch, capsys) -> None:
    monkeypatch.delenv("DEXSTUDIO_DEX_CHECKPOINT", raising=False)
    rc = main(["animate", "--source", str(sample_portrait), "--driving", str(sample_driving),
               "-o", str(tmp_path / "x.mp4"), "--animator", "dex"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "dexstudio train animator" in err and "Traceback" not in err
    assert not (tmp_path / "x.mp4").exists()
