"""Checkpoint round trip and typed errors (acceptance 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from dexstudio.core.errors import CheckpointError, ModelNotFoundError
from dexstudio.render.dex.animator import CHECKPOINT_ENV, DexAnimator
from dexstudio.render.dex.checkpoint import from_pretrained, read_config, save_pretrained
from dexstudio.render.dex.face import centered_analysis


def _portrait() -> np.ndarray:
    return (np.random.default_rng(3).random((40, 40, 3)) * 255).astype(np.uint8)


def test_round_trip_gives_identical_outputs(tmp_path, tiny_model, tiny_config, mk_motion) -> None:
    folder = save_pretrained(tiny_model, tmp_path / "ckpt")
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    meta = json.loads((folder / "config.json").read_text())
    assert meta["format_version"] == 1
    assert read_config(folder) == tiny_config
    loaded = from_pretrained(folder)
    m = mk_motion(yaw=7, jaw=0.5)
    a = DexAnimator(model=tiny_model, face_analyzer=centered_analysis, device="cpu")
    b = DexAnimator(folder, face_analyzer=centered_analysis, device="cpu")
    sa, sb = a.prepare(_portrait()), b.prepare(_portrait())
    assert np.array_equal(a.render_intermediate(sa, m), b.render_intermediate(sb, m))
    assert np.array_equal(a.render(sa, m), b.render(sb, m))
    for k, v in tiny_model.state_dict().items():
        assert np.array_equal(v.numpy(), loaded.state_dict()[k].numpy()), k


def test_missing_key_fails_with_the_key_named(tmp_path, tiny_model) -> None:
    folder = save_pretrained(tiny_model, tmp_path / "ckpt")
    state = load_file(str(folder / "model.safetensors"))
    gone = "denoising_unet.conv_out.weight"
    del state[gone]
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        from_pretrained(folder)
    assert gone in str(err.value) and "missing" in str(err.value)


def test_wrong_shape_and_extra_keys_are_named(tmp_path, tiny_model) -> None:
    import torch

    folder = save_pretrained(tiny_model, tmp_path / "ckpt")
    state = load_file(str(folder / "model.safetensors"))
    state["expression_encoder.pos"] = torch.zeros(5, 5)
    state["something.else"] = torch.zeros(1)
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        from_pretrained(folder)
    msg = str(err.value)
    assert "expression_encoder.pos" in msg and "something.else" in msg


def test_wrong_version_and_format(tmp_path, tiny_model) -> None:
    folder = save_pretrained(tiny_model, tmp_path / "ckpt")
    meta = json.loads((folder / "config.json").read_text())
    meta["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="version 99"):
        from_pretrained(folder)
    meta["format"] = "something"
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError):
        from_pretrained(folder)


def test_truncated_weights(tmp_path, tiny_model) -> None:
    folder = save_pretrained(tiny_model, tmp_path / "ckpt")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        from_pretrained(folder)


def test_selecting_dex_without_checkpoint_says_how_to_train(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    with pytest.raises(ModelNotFoundError) as err:
        DexAnimator()
    assert "dexstudio train animator" in str(err.value)
    with pytest.raises(ModelNotFoundError) as err2:
        DexAnimator(tmp_path / "nowhere")
    assert "nowhere" in str(err2.value) and "dexstudio train animator" in str(err2.value)


def test_checkpoint_from_environment(tmp_path, tiny_model, monkeypatch) -> None:
    folder = save_pretrained(tiny_model, tmp_path / "ckpt")
    monkeypatch.setenv(CHECKPOINT_ENV, str(folder))
    anim = DexAnimator(face_analyzer=centered_analysis, device="cpu")
    assert anim.config == tiny_model.config
