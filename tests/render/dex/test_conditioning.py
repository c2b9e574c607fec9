"""Disentanglement of the conditioning tensors (acceptance 1)."""

from __future__ import annotations

import torch

from dexstudio.render.dex.conditioning import build_conditioning


def _cond(cfg, src, tgt):
    return build_conditioning(src, [tgt], cfg)


def test_pose_only_change_alters_only_pose_inputs(tiny_config, tiny_model, mk_motion) -> None:
    src = mk_motion(yaw=5, jaw=0.2)
    a = _cond(tiny_config, src, mk_motion(smile=0.4, detail0=0.7))
    b = _cond(tiny_config, src, mk_motion(yaw=20, pitch=-8, roll=6, tx=0.1, ty=-0.05, scale=1.2,
                                          smile=0.4, detail0=0.7))
    assert not torch.allclose(a.pose_map, b.pose_map)
    assert not torch.allclose(a.transform.rotation, b.transform.rotation)
    assert not torch.allclose(a.transform.translation, b.transform.translation)
    assert not torch.allclose(a.transform.scale, b.transform.scale)
    assert torch.equal(a.expression, b.expression)
    with torch.no_grad():
        ta, tb = tiny_model.expression_encoder(a.expression), tiny_model.expression_encoder(b.expression)
    assert torch.equal(ta, tb)


def test_expression_only_change_alters_only_expression_tokens(tiny_config, tiny_model, mk_motion) -> None:
    src = mk_motion()
    a = _cond(tiny_config, src, mk_motion(yaw=12, roll=3))
    b = _cond(tiny_config, src, mk_motion(yaw=12, roll=3, jaw=0.8, smile=0.5, detail0=-1.0))
    assert torch.equal(a.pose_map, b.pose_map)
    assert torch.equal(a.transform.rotation, b.transform.rotation)
    assert torch.equal(a.transform.translation, b.transform.translation)
    assert torch.equal(a.transform.scale, b.transform.scale)
    assert not torch.equal(a.expression, b.expression)
    with torch.no_grad():
        ta, tb = tiny_model.expression_encoder(a.expression), tiny_model.expression_encoder(b.expression)
    assert ta.shape == (1, 32, 16)
    assert (ta - tb).abs().max() > 1e-4


def test_source_pose_enters_only_the_relative_transform(tiny_config, mk_motion) -> None:
    tgt = mk_motion(yaw=10)
    a = _cond(tiny_config, mk_motion(), tgt)
    b = _cond(tiny_config, mk_motion(yaw=10), tgt)
    assert torch.equal(a.pose_map, b.pose_map)  # the pose map is the absolute target pose
    assert torch.allclose(b.transform.rotation, torch.eye(3)[None], atol=1e-6)
    assert not torch.allclose(a.transform.rotation, torch.eye(3)[None], atol=1e-3)
