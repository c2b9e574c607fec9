"""All trainable parts of the DeX animator in one module, plus its two core operations.

Components (attribute names = checkpoint key prefixes):
``vae`` (diffusers AutoencoderKL), ``reference_unet`` and ``denoising_unet``
(:class:`DexUNet`), ``pose_encoder``, ``expression_encoder``, ``appearance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from diffusers import AutoencoderKL
from torch import nn

from dexstudio.render.dex.attention import BankMode, DexAttnContext, ReferenceBank
from dexstudio.render.dex.conditioning import MotionConditioning
from dexstudio.render.dex.config import DexConfig
from dexstudio.render.dex.encoders import AppearanceTokenizer, ExpressionEncoder, PoseEncoder
from dexstudio.render.dex.unet import DexUNet, UNetRole


@dataclass
class ReferenceFeatures:
    """The "cached latents" of one or more sources (computed once per source).

    Attributes:
        latent: (Bs, 4, h, w) scaled VAE latent of the source crop.
        appearance: (Bs, T, cross_attention_dim) appearance tokens.
        bank: reference-UNet tokens per block, (Bs, N, c) each.
    """

    latent: torch.Tensor
    appearance: torch.Tensor
    bank: ReferenceBank

    def to(self, device: torch.device | str, dtype: torch.dtype) -> "ReferenceFeatures":
        return ReferenceFeatures(self.latent.to(device, dtype), self.appearance.to(device, dtype),
                                 self.bank.to(device, dtype))


class DexModel(nn.Module):
    """The DeX diffusion animator's networks (see module docstring)."""

    def __init__(self, config: DexConfig) -> None:
        super().__init__()
        self.config = config
        v = config.vae
        n = len(v.block_out_channels)
        self.vae = AutoencoderKL(
            in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n,
            up_block_types=("UpDecoderBlock2D",) * n, block_out_channels=v.block_out_channels,
            layers_per_block=v.layers_per_block, latent_channels=v.latent_channels,
            norm_num_groups=v.norm_num_groups, sample_size=config.image_size,
            scaling_factor=v.scaling_factor)
        self.reference_unet = DexUNet(config, UNetRole.REFERENCE)
        self.denoising_unet = DexUNet(config, UNetRole.DENOISING)
        self.pose_encoder = PoseEncoder(config)
        self.expression_encoder = ExpressionEncoder(config)
        self.appearance = AppearanceTokenizer(config)

    # -- VAE ---------------------------------------------------------------------------
    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) in -1..1 -> (B, 4, S/f, S/f) scaled latent (posterior mode)."""
        return self.vae.encode(images).latent_dist.mode() * self.config.vae.scaling_factor

    def decode_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """(B, 4, h, w) scaled latent -> (B, 3, S, S) in -1..1 (unclamped)."""
        return self.vae.decode(latent / self.config.vae.scaling_factor).sample

    # -- reference ---------------------------------------------------------------------
    def reference_features(self, latent: torch.Tensor) -> ReferenceFeatures:
        """Run the reference UNet once at t = 0 on clean source latents (B, 4, h, w)."""
        app = self.appearance(latent)
        bank = ReferenceBank()
        t = torch.zeros(latent.shape[0], dtype=torch.long, device=latent.device)
        self.reference_unet(latent, t, app, DexAttnContext(BankMode.WRITE, bank))
        return ReferenceFeatures(latent, app, bank)

    # -- denoising ---------------------------------------------------------------------
    def predict_noise(self, noisy: torch.Tensor, timestep: torch.Tensor, ref: ReferenceFeatures,
                      motion: MotionConditioning, keep_ref: torch.Tensor, keep_motion: torch.Tensor,
                      ref_index: Optional[torch.Tensor] = None, num_frames: int = 1,
                      warp_cache: Optional[dict[str, torch.Tensor]] = None) -> torch.Tensor:
        """Noise prediction of the denoising UNet.

        Args:
            noisy: (B, 4, h, w) noisy latents.
            timestep: (B,) or scalar training timestep.
            ref: reference features of Bs sources; ``ref_index`` (B,) picks one per sample
                (default: all use source 0).
            motion: B samples' conditioning (pose map, transform, expression code).
            keep_ref, keep_motion: (B,) 0/1 masks; 0 = the learned/zero null condition.
            num_frames: frames per clip in the batch (> 1 enables temporal attention).
            warp_cache: reuse warped reference residuals across timesteps (inference).
        Returns:
            (B, 4, h, w) predicted noise.
        """
        b = noisy.shape[0]
        dev, dt = noisy.device, noisy.dtype
        idx = ref_index if ref_index is not None else torch.zeros(b, dtype=torch.long, device=dev)
        km = keep_motion.to(dev, dt)
        kr = keep_ref.to(dev, dt)
        pose = self.pose_encoder(motion.pose_map.to(dev, dt)) * km[:, None, None, None]
        expr = self.expression_encoder(motion.expression.to(dev, dt))
        expr = torch.where(km[:, None, None] > 0, expr, self.expression_encoder.null(b).to(dt))
        app = torch.where(kr[:, None, None] > 0, ref.appearance[idx].to(dt), self.appearance.null(b).to(dt))
        ctx = DexAttnContext(BankMode.READ, ref.bank, ref_index=idx, keep_ref=kr, keep_motion=km,
                             transform=motion.transform.to(dev, dt), expression_tokens=expr,
                             num_frames=num_frames, warp_cache=warp_cache if warp_cache is not None else {})
        out = self.denoising_unet(noisy, timestep, app, ctx, pose)
        assert out is not None
        return out
