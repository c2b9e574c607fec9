"""The reference UNet and the denoising UNet, assembled from diffusers blocks.

Both are :class:`DexUNet`: the SD-1.5 layout (``conv_in``, ``time_embedding``,
``down_blocks``, ``mid_block``, ``up_blocks``, ``conv_out``; the same attribute names as
diffusers' ``UNet2DConditionModel`` so SD-1.5 UNet weights load by name) with our
attention processors (:mod:`dexstudio.render.dex.attention`):

* role REFERENCE: runs once per source at t = 0 on the clean source latent and writes
  every ``attn1`` input (B, h*h, c) into a :class:`ReferenceBank`; no ``conv_out``.
* role DENOISING: reads the bank (reference attention + 3D-warp residual), takes the
  pose-encoder features added after ``conv_in`` (pose branch 1), the expression tokens
  in every ``attn2`` (extra cross-attention), and temporal attention
  (diffusers ``TransformerTemporalModel``) after each transformer of the last up stage.
"""

from __future__ import annotations

import enum
from typing import Any, Optional

import torch
from diffusers.models.attention_processor import Attention
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.transformers.transformer_temporal import TransformerTemporalModel
from diffusers.models.unets.unet_2d_blocks import UNetMidBlock2DCrossAttn, get_down_block, get_up_block
from torch import nn

from dexstudio.render.dex.attention import (
    DexAttnContext,
    DexCrossAttnProcessor,
    ReferenceAttnProcessor,
    ReferenceWriteProcessor,
)
from dexstudio.render.dex.config import DexConfig


class UNetRole(enum.Enum):
    REFERENCE = "reference"
    DENOISING = "denoising"


class TemporalTransformer(nn.Module):
    """A spatial ``Transformer2DModel`` followed by temporal attention over frames.

    Input/output (B*F, C, H, W), frames innermost. Temporal attention runs only when the
    context says ``num_frames > 1``; its output projection starts at zero (a no-op).
    """

    def __init__(self, spatial: nn.Module, channels: int, config: DexConfig) -> None:
        super().__init__()
        t = config.temporal
        self.spatial = spatial
        heads = t.num_attention_heads
        self.temporal = TransformerTemporalModel(
            num_attention_heads=heads, attention_head_dim=channels // heads, in_channels=channels,
            norm_num_groups=config.unet.norm_num_groups, positional_embeddings="sinusoidal",
            num_positional_embeddings=t.max_frames)
        nn.init.zeros_(self.temporal.proj_out.weight)
        nn.init.zeros_(self.temporal.proj_out.bias)

    def forward(self, hidden_states: torch.Tensor, *args: Any,
                cross_attention_kwargs: Optional[dict[str, Any]] = None, return_dict: bool = False,
                **kwargs: Any) -> tuple[torch.Tensor]:
        out = self.spatial(hidden_states, *args, cross_attention_kwargs=cross_attention_kwargs,
                           return_dict=False, **kwargs)[0]
        ctx = (cross_attention_kwargs or {}).get("dex")
        n = ctx.num_frames if isinstance(ctx, DexAttnContext) else 1
        if n > 1:
            out = self.temporal(out, num_frames=n, return_dict=False)[0]
        return (out,)


class DexUNet(nn.Module):
    """SD-1.5-shaped UNet from diffusers blocks (see module docstring).

    Forward shapes: sample (B, 4, h, w), timestep (B,) or scalar, appearance tokens
    (B, T, cross_attention_dim), pose features (B, C0, h, w) or None -> (B, 4, h, w)
    noise prediction (DENOISING) or None (REFERENCE: the bank is filled instead).
    """

    def __init__(self, config: DexConfig, role: UNetRole) -> None:
        super().__init__()
        u = config.unet
        self.role = role
        boc = u.block_out_channels
        temb = boc[0] * 4
        common = dict(resnet_eps=u.norm_eps, resnet_act_fn="silu", resnet_groups=u.norm_num_groups,
                      cross_attention_dim=u.cross_attention_dim, num_attention_heads=u.num_attention_heads,
                      attention_head_dim=u.num_attention_heads)
        self.conv_in = nn.Conv2d(config.vae.latent_channels, boc[0], 3, padding=1)
        self.time_proj = Timesteps(boc[0], flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(boc[0], temb)
        self.down_blocks = nn.ModuleList()
        out_ch = boc[0]
        for i, kind in enumerate(u.down_block_types):
            in_ch, out_ch = out_ch, boc[i]
            self.down_blocks.append(get_down_block(
                kind, num_layers=u.layers_per_block, in_channels=in_ch, out_channels=out_ch,
                temb_channels=temb, add_downsample=i < len(boc) - 1, downsample_padding=1, **common))
        self.mid_block = UNetMidBlock2DCrossAttn(
            in_channels=boc[-1], temb_channels=temb, resnet_eps=u.norm_eps, resnet_act_fn="silu",
            resnet_groups=u.norm_num_groups, cross_attention_dim=u.cross_attention_dim,
            num_attention_heads=u.num_attention_heads)
        self.up_blocks = nn.ModuleList()
        rev = list(reversed(boc))
        out_ch = rev[0]
        for i, kind in enumerate(u.up_block_types):
            prev, out_ch = out_ch, rev[i]
            in_ch = rev[min(i + 1, len(boc) - 1)]
            self.up_blocks.append(get_up_block(
                kind, num_layers=u.layers_per_block + 1, in_channels=in_ch, out_channels=out_ch,
                prev_output_channel=prev, temb_channels=temb, add_upsample=i < len(boc) - 1,
                resolution_idx=i, **common))
        self.conv_norm_out: Optional[nn.Module] = None
        self.conv_out: Optional[nn.Module] = None
        if role is UNetRole.DENOISING:
            self.conv_norm_out = nn.GroupNorm(u.norm_num_groups, boc[0], eps=u.norm_eps)
            self.conv_out = nn.Conv2d(boc[0], config.vae.latent_channels, 3, padding=1)
        self._install_processors(config)
        if role is UNetRole.DENOISING:
            last = self.up_blocks[-1]
            last.attentions = nn.ModuleList(
                TemporalTransformer(a, boc[0], config) for a in last.attentions)

    def _install_processors(self, config: DexConfig) -> None:
        for name, mod in self.named_modules():
            if not isinstance(mod, Attention):
                continue
            if name.endswith("attn1"):
                if self.role is UNetRole.REFERENCE:
                    mod.set_processor(ReferenceWriteProcessor(name))
                else:
                    mod.set_processor(ReferenceAttnProcessor(name, mod.to_q.in_features, config.pose.warp_kernel))
            elif name.endswith("attn2"):
                expr = config.expression.token_dim if self.role is UNetRole.DENOISING else 0
                mod.set_processor(DexCrossAttnProcessor(mod.to_q.out_features, expr))

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, appearance: torch.Tensor,
                ctx: DexAttnContext, pose_features: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
        b = sample.shape[0]
        t = timestep if torch.is_tensor(timestep) else torch.tensor(timestep)
        t = t.to(sample.device).reshape(-1).expand(b)
        emb = self.time_embedding(self.time_proj(t).to(sample.dtype))
        kw = dict(encoder_hidden_states=appearance, cross_attention_kwargs={"dex": ctx})
        x = self.conv_in(sample)
        if pose_features is not None:
            x = x + pose_features.to(x.dtype)
        skips: tuple[torch.Tensor, ...] = (x,)
        for block in self.down_blocks:
            if getattr(block, "has_cross_attention", False):
                x, res = block(x, emb, **kw)
            else:
                x, res = block(x, emb)
            skips += res
        x = self.mid_block(x, emb, **kw)
        for block in self.up_blocks:
            n = len(block.resnets)
            res, skips = skips[-n:], skips[:-n]
            if getattr(block, "has_cross_attention", False):
                x = block(x, res, emb, **kw)
            else:
                x = block(x, res, emb)
        if self.conv_out is None:
            return None
        return self.conv_out(torch.nn.functional.silu(self.conv_norm_out(x)))
