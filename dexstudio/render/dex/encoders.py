"""Small condition encoders of the DeX animator (pose map, expression, appearance)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dexstudio.render.dex.config import DexConfig


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class PoseEncoder(nn.Module):
    """Pose branch 1: pose map -> features added to the denoising UNet after ``conv_in``.

    Shapes: (B, 3, S, S) pose map -> (B, C0, S/f, S/f), f = VAE factor, C0 = the UNet's
    first block width. The last conv is zero-initialised so training starts from the
    unconditioned UNet (as ControlNet / Animate Anyone's pose guider).
    """

    def __init__(self, config: DexConfig) -> None:
        super().__init__()
        ch = config.pose.encoder_channels
        layers: list[nn.Module] = [nn.Conv2d(3, ch[0], 3, padding=1), nn.SiLU()]
        for a, b in zip(ch[:-1], ch[1:]):
            layers += [nn.Conv2d(a, a, 3, padding=1), nn.SiLU(),
                       nn.Conv2d(a, b, 3, padding=1, stride=2), nn.SiLU()]
        self.body = nn.Sequential(*layers)
        self.out = _zero(nn.Conv2d(ch[-1], config.unet.block_out_channels[0], 3, padding=1))

    def forward(self, pose_map: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(pose_map))


class ExpressionEncoder(nn.Module):
    """Expression code -> tokens for the extra cross-attention.

    Shapes: (B, 68) = 52 blendshapes + 16 detail -> (B, 32, 16) tokens (512-d code).
    ``null_tokens`` (32, 16) is the learned "no motion" condition used by guidance.
    """

    def __init__(self, config: DexConfig) -> None:
        super().__init__()
        e = config.expression
        self.n_tokens, self.token_dim = e.n_tokens, e.token_dim
        self.mlp = nn.Sequential(nn.Linear(e.in_dim, e.hidden_dim), nn.SiLU(),
                                 nn.Linear(e.hidden_dim, e.n_tokens * e.token_dim))
        self.norm = nn.LayerNorm(e.token_dim)
        self.pos = nn.Parameter(torch.randn(e.n_tokens, e.token_dim) * 0.02)
        self.null_tokens = nn.Parameter(torch.zeros(e.n_tokens, e.token_dim))

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        tok = self.mlp(code).view(code.shape[0], self.n_tokens, self.token_dim)
        return self.norm(tok) + self.pos

    def null(self, batch: int) -> torch.Tensor:
        return self.null_tokens.expand(batch, -1, -1)


class AppearanceTokenizer(nn.Module):
    """Global appearance tokens from the source latent (the block cross-attention context).

    Shapes: (B, 4, h, w) source latent -> (B, g*g, cross_attention_dim). SD-1.5 put text
    here; Animate Anyone a CLIP image embedding; no CLIP weights ship, so a small learned
    tokenizer of the VAE latent stands in. ``null_tokens`` is the "no reference" condition.
    """

    def __init__(self, config: DexConfig) -> None:
        super().__init__()
        a = config.appearance
        self.grid = a.grid
        self.conv = nn.Sequential(nn.Conv2d(config.vae.latent_channels, a.hidden, 3, padding=1), nn.SiLU(),
                                  nn.Conv2d(a.hidden, a.hidden, 3, padding=1))
        self.proj = nn.Linear(a.hidden, config.unet.cross_attention_dim)
        self.null_tokens = nn.Parameter(torch.zeros(a.grid * a.grid, config.unet.cross_attention_dim))

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.conv(latent), self.grid)
        return self.proj(x.flatten(2).transpose(1, 2))

    def null(self, batch: int) -> torch.Tensor:
        return self.null_tokens.expand(batch, -1, -1)
