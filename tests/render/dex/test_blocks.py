"""Tiny-config block shapes, reference attention, pose/expression branches (acceptance 1)."""

from __future__ import annotations

import time

import pytest
import torch

from dexstudio.render.dex.attention import BankMode, DexAttnContext, ReferenceBank
from dexstudio.render.dex.conditioning import build_conditioning, render_pose_map
from dexstudio.render.dex.config import DexConfig
from dexstudio.render.dex.warp3d import RigidTransform


def test_config_json_round_trip(tiny_config: DexConfig) -> None:
    for cfg in (tiny_config, DexConfig.sd15()):
        assert DexConfig.from_json(cfg.to_json()) == cfg
    assert DexConfig.sd15().unet.block_out_channels == (320, 640, 1280, 1280)
    assert DexConfig.sd15().expression_dim == 512


def test_config_rejects_inconsistent_sizes() -> None:
    with pytest.raises(ValueError):
        DexConfig(image_size=500)
    with pytest.raises(KeyError):
        DexConfig.from_dict({"image_size": 32, "bogus": 1})


def test_block_shapes(tiny_model, tiny_config, mk_motion) -> None:
    cfg = tiny_config
    m = tiny_model
    s, h = cfg.image_size, cfg.latent_size
    img = torch.rand(2, 3, s, s) * 2 - 1
    with torch.no_grad():
        lat = m.encode_image(img)
        assert lat.shape == (2, 4, h, h)
        assert m.decode_latent(lat).shape == (2, 3, s, s)
        ref = m.reference_features(lat)
        assert ref.appearance.shape == (2, cfg.appearance.grid ** 2, cfg.unet.cross_attention_dim)
        sides = {"down_blocks.0": h, "mid_block": h // 2, "up_blocks.1": h}
        widths = {"down_blocks.0": 32, "mid_block": 64, "up_blocks.1": 32}
        assert len(ref.bank.features) == 4
        for name, feat in ref.bank.features.items():
            key = next(k for k in sides if name.startswith(k))
            assert feat.shape == (2, sides[key] ** 2, widths[key])
        cond = build_conditioning(mk_motion(), [mk_motion(yaw=10), mk_motion(jaw=0.5), mk_motion()], cfg)
        assert cond.pose_map.shape == (3, 3, s, s)
        assert cond.expression.shape == (3, 68)
        assert cond.transform.rotation.shape == (3, 3, 3)
        pose_feat = m.pose_encoder(cond.pose_map)
        assert pose_feat.shape == (3, cfg.unet.block_out_channels[0], h, h)
        tokens = m.expression_encoder(cond.expression)
        assert tokens.shape == (3, 32, 16)
        eps = m.predict_noise(torch.randn(3, 4, h, h), torch.tensor(500), ref, cond, torch.ones(3),
                              torch.ones(3), ref_index=torch.tensor([0, 1, 0]))
        assert eps.shape == (3, 4, h, h)


def test_sd15_expression_shape() -> None:
    from dexstudio.render.dex.encoders import ExpressionEncoder

    enc = ExpressionEncoder(DexConfig.sd15())
    assert enc(torch.zeros(1, 68)).shape == (1, 32, 16)


def test_denoising_step_is_fast_on_cpu(tiny_model, tiny_config, mk_motion) -> None:
    h = tiny_config.latent_size
    with torch.no_grad():
        ref = tiny_model.reference_features(torch.randn(1, 4, h, h))
        cond = build_conditioning(mk_motion(), [mk_motion()] * 3, tiny_config)
        x = torch.randn(3, 4, h, h)
        tiny_model.predict_noise(x, torch.tensor(10), ref, cond, torch.ones(3), torch.ones(3))
        t0 = time.perf_counter()
        tiny_model.predict_noise(x, torch.tensor(10), ref, cond, torch.ones(3), torch.ones(3))
        assert time.perf_counter() - t0 < 0.5


def _denoiser_out(model, cfg, ref, cond, keep_ref, keep_motion, num_frames=1):
    h = cfg.latent_size
    g = torch.Generator().manual_seed(3)
    x = torch.randn(cond.batch, 4, h, h, generator=g)
    with torch.no_grad():
        return model.predict_noise(x, torch.tensor(300), ref, cond, torch.tensor(keep_ref, dtype=torch.float32),
                                   torch.tensor(keep_motion, dtype=torch.float32), num_frames=num_frames)


def test_reference_attention_reads_the_bank_and_null_reference_ignores_it(tiny_model, tiny_config,
                                                                           mk_motion) -> None:
    cfg, m = tiny_config, tiny_model
    h = cfg.latent_size
    torch.manual_seed(1)
    with torch.no_grad():
        ref_a = m.reference_features(torch.randn(1, 4, h, h))
        ref_b = m.reference_features(torch.randn(1, 4, h, h))
    cond = build_conditioning(mk_motion(), [mk_motion(yaw=5)], cfg)
    a = _denoiser_out(m, cfg, ref_a, cond, [1.0], [1.0])
    b = _denoiser_out(m, cfg, ref_b, cond, [1.0], [1.0])
    assert (a - b).abs().max() > 1e-4  # the reference matters
    a0 = _denoiser_out(m, cfg, ref_a, cond, [0.0], [1.0])
    b0 = _denoiser_out(m, cfg, ref_b, cond, [0.0], [1.0])
    assert torch.allclose(a0, b0, atol=1e-6)  # null reference: bank masked, null tokens


def test_reference_write_and_read_use_the_same_block_names(tiny_model) -> None:
    ref_names = {n for n, mod in tiny_model.reference_unet.named_modules() if n.endswith("attn1")}
    procs = {mod.processor.name for n, mod in tiny_model.denoising_unet.named_modules()
             if n.endswith("attn1") and hasattr(mod.processor, "warp_conv")}
    assert procs == ref_names


def test_motion_branches_change_the_output_and_null_motion_ignores_them(tiny_model, tiny_config,
                                                                         mk_motion) -> None:
    cfg, m = tiny_config, tiny_model
    h = cfg.latent_size
    with torch.no_grad():
        ref = m.reference_features(torch.randn(1, 4, h, h))
    src = mk_motion()
    base = build_conditioning(src, [mk_motion()], cfg)
    posed = build_conditioning(src, [mk_motion(yaw=25, roll=-10)], cfg)
    smiling = build_conditioning(src, [mk_motion(smile=1.0, jaw=0.6)], cfg)
    o = _denoiser_out(m, cfg, ref, base, [1.0], [1.0])
    assert (o - _denoiser_out(m, cfg, ref, posed, [1.0], [1.0])).abs().max() > 1e-5
    assert (o - _denoiser_out(m, cfg, ref, smiling, [1.0], [1.0])).abs().max() > 1e-5
    n0 = _denoiser_out(m, cfg, ref, base, [1.0], [0.0])
    assert torch.allclose(n0, _denoiser_out(m, cfg, ref, posed, [1.0], [0.0]), atol=1e-6)
    assert torch.allclose(n0, _denoiser_out(m, cfg, ref, smiling, [1.0], [0.0]), atol=1e-6)


def test_warp_branch_uses_the_transform(tiny_model, tiny_config) -> None:
    m = tiny_model
    proc = next(mod.processor for n, mod in m.denoising_unet.named_modules() if n.endswith("attn1"))
    ref = torch.randn(2, 16 * 16, 32)
    ident = proc.warp_residual(ref, RigidTransform.identity(2))
    assert ident.shape == ref.shape
    turned = RigidTransform(torch.tensor([[[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]]).expand(2, 3, 3),
                            torch.zeros(2, 3), torch.ones(2))
    assert (proc.warp_residual(ref, turned) - ident).abs().max() > 1e-4


def test_temporal_attention_mixes_frames_only_in_clips(tiny_model, tiny_config, mk_motion) -> None:
    cfg, m = tiny_config, tiny_model
    h = cfg.latent_size
    with torch.no_grad():
        ref = m.reference_features(torch.randn(1, 4, h, h))
    motions = [mk_motion(yaw=y) for y in (0, 5, 10)]
    c1 = build_conditioning(mk_motion(), motions, cfg)
    c2 = build_conditioning(mk_motion(), motions[:2] + [mk_motion(yaw=-20, jaw=1.0)], cfg)
    single_a = _denoiser_out(m, cfg, ref, c1, [1.0] * 3, [1.0] * 3, num_frames=1)
    single_b = _denoiser_out(m, cfg, ref, c2, [1.0] * 3, [1.0] * 3, num_frames=1)
    assert torch.allclose(single_a[0], single_b[0], atol=1e-6)  # independent frames
    clip_a = _denoiser_out(m, cfg, ref, c1, [1.0] * 3, [1.0] * 3, num_frames=3)
    clip_b = _denoiser_out(m, cfg, ref, c2, [1.0] * 3, [1.0] * 3, num_frames=3)
    assert (clip_a[0] - clip_b[0]).abs().max() > 1e-6  # frame 0 sees frame 2 through time


def test_reference_unet_writes_bank_only_in_write_mode(tiny_model, tiny_config) -> None:
    h = tiny_config.latent_size
    bank = ReferenceBank()
    with torch.no_grad():
        tiny_model.reference_unet(torch.randn(1, 4, h, h), torch.tensor([0]), torch.randn(1, 4, 32),
                                  DexAttnContext(BankMode.READ, bank))
    assert bank.features == {}


def test_pose_map_marks_the_face_and_follows_translation(tiny_config, mk_motion) -> None:
    cfg = tiny_config
    maps = render_pose_map([mk_motion(), mk_motion(tx=0.3)], cfg)
    cov = maps[:, 0]
    xs = torch.linspace(-1, 1, cfg.image_size)
    cx = [(c.sum(0) * xs).sum() / c.sum() for c in cov]
    assert abs(float(cx[0])) < 0.05
    assert float(cx[1]) == pytest.approx(0.3 * 2 * cfg.pose.face_fraction, abs=0.06)
