"""DeX UNets load Stable-Diffusion-layout UNet/VAE weights by name."""

from __future__ import annotations

import pytest
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel

from dexstudio.core.errors import ModelNotFoundError
from dexstudio.render.dex.sd_init import init_from_sd15


def _sd_folder(tmp_path, cfg):
    u, v = cfg.unet, cfg.vae
    torch.manual_seed(3)
    unet = UNet2DConditionModel(
        sample_size=cfg.latent_size, in_channels=4, out_channels=4, down_block_types=u.down_block_types,
        up_block_types=u.up_block_types, block_out_channels=u.block_out_channels,
        layers_per_block=u.layers_per_block, cross_attention_dim=u.cross_attention_dim,
        attention_head_dim=u.num_attention_heads, norm_num_groups=u.norm_num_groups, norm_eps=u.norm_eps)
    n = len(v.block_out_channels)
    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n,
                        up_block_types=("UpDecoderBlock2D",) * n, block_out_channels=v.block_out_channels,
                        layers_per_block=v.layers_per_block, latent_channels=v.latent_channels,
                        norm_num_groups=v.norm_num_groups)
    unet.save_pretrained(tmp_path / "sd" / "unet")
    vae.save_pretrained(tmp_path / "sd" / "vae")
    return tmp_path / "sd", unet.state_dict(), vae.state_dict()


def test_sd_layout_weights_load_into_both_unets(tmp_path, tiny_config, model_factory) -> None:
    folder, unet_sd, vae_sd = _sd_folder(tmp_path, tiny_config)
    model = model_factory(tiny_config, perturb_zero_init=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = init_from_sd15(model, folder)
    assert report.vae_loaded and report.unet_tensors == 2 * len(unet_sd) - 4  # no conv_out in the reference
    st = model.state_dict()
    last = f"up_blocks.{len(tiny_config.unet.block_out_channels) - 1}.attentions."
    for k, v in unet_sd.items():
        dex_key = k
        if k.startswith(last):  # the last up stage's transformers are wrapped with temporal attention
            i = k[len(last):].split(".", 1)
            dex_key = f"{last}{i[0]}.spatial.{i[1]}"
        assert torch.equal(st[f"denoising_unet.{dex_key}"], v), k
        if not k.startswith("conv_norm_out") and not k.startswith("conv_out"):
            assert torch.equal(st[f"reference_unet.{k}"], v), k  # the reference UNet is unwrapped
    for k, v in vae_sd.items():
        assert torch.equal(st[f"vae.{k}"], v)
    for k in st:  # new modules are untouched
        if ".temporal." in k or ".processor." in k or k.startswith(("pose_encoder", "expression_encoder")):
            assert torch.equal(st[k], before[k]), k


def test_missing_sd_folder_is_a_user_error(tmp_path, tiny_model) -> None:
    with pytest.raises(ModelNotFoundError):
        init_from_sd15(tiny_model, tmp_path)
