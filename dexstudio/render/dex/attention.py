"""Attention processors of the DeX UNets (diffusers ``Attention`` modules, our processors).

* :class:`ReferenceWriteProcessor` (reference UNet, ``attn1``): plain self-attention that
  also stores its input tokens in the :class:`ReferenceBank` under the block's name.
* :class:`ReferenceAttnProcessor` (denoising UNet, ``attn1``): self-attention whose keys
  and values are ``[x ; ref]``: the block's own tokens concatenated with the reference
  tokens of the same block (reference attention). It also adds pose branch 2: the
  reference tokens lifted to 3D, warped by the source-to-target transform, projected
  back and passed through a zero-initialised conv (``pose.warp_kernel``), added to the block's residual stream.
* :class:`DexCrossAttnProcessor` (``attn2``): cross-attention to the appearance tokens
  plus, in the denoising UNet, an *extra* decoupled cross-attention to the 32 expression
  tokens with its own key/value projections (the IP-Adapter pattern).

Everything per call travels in one :class:`DexAttnContext` passed as
``cross_attention_kwargs={"dex": ctx}``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from dexstudio.render.dex.warp3d import RigidTransform, warp_tokens


class BankMode(enum.Enum):
    WRITE = "write"
    READ = "read"


@dataclass
class ReferenceBank:
    """Reference tokens per block name: (Bs, N, c) each, Bs = number of sources."""

    features: dict[str, torch.Tensor] = field(default_factory=dict)

    def to(self, device: torch.device | str, dtype: torch.dtype) -> "ReferenceBank":
        return ReferenceBank({k: v.to(device, dtype) for k, v in self.features.items()})

    def detach(self) -> "ReferenceBank":
        return ReferenceBank({k: v.detach() for k, v in self.features.items()})


@dataclass
class DexAttnContext:
    """Per-forward inputs of the attention processors.

    Attributes:
        mode: WRITE in the reference UNet, READ in the denoising UNet.
        bank: reference tokens (written or read).
        ref_index: (B,) long, which bank row each denoising sample uses (READ).
        keep_ref: (B,) float 0/1; 0 = the null reference (reference tokens masked out).
        keep_motion: (B,) float 0/1; 0 = the null motion (no warp residual; the caller
            also passes null expression tokens and a zero pose map).
        transform: B source-to-target transforms for pose branch 2 (None = no warp).
        expression_tokens: (B, 32, 16) expression tokens (READ).
        num_frames: frames per clip in the batch (> 1 enables temporal attention).
        warp_cache: warped reference residuals per block (they do not depend on the
            timestep, so one sampling call computes each once).
    """

    mode: BankMode
    bank: ReferenceBank
    ref_index: Optional[torch.Tensor] = None
    keep_ref: Optional[torch.Tensor] = None
    keep_motion: Optional[torch.Tensor] = None
    transform: Optional[RigidTransform] = None
    expression_tokens: Optional[torch.Tensor] = None
    num_frames: int = 1
    warp_cache: dict[str, torch.Tensor] = field(default_factory=dict)


def _heads(attn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    b, n, _ = x.shape
    return x.view(b, n, attn.heads, -1).transpose(1, 2)


def _attend(attn: nn.Module, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
            bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """(B, Nq, C) x (B, Nk, C) -> (B, Nq, C) multi-head attention (no output projection)."""
    b, n, _ = q.shape
    k, v = k.to(q.dtype), v.to(q.dtype)
    if bias is not None:
        bias = bias.to(q.dtype)  # under autocast q may be fp16 while the mask was built in fp32
    out = F.scaled_dot_product_attention(_heads(attn, q), _heads(attn, k), _heads(attn, v), attn_mask=bias)
    return out.transpose(1, 2).reshape(b, n, -1)


def _project_out(attn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return attn.to_out[1](attn.to_out[0](x))


def _self_attention(attn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return _project_out(attn, _attend(attn, attn.to_q(x), attn.to_k(x), attn.to_v(x)))


class ReferenceWriteProcessor(nn.Module):
    """Reference UNet ``attn1``: self-attention; stores its input (B, N, c) in the bank."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __call__(self, attn: nn.Module, hidden_states: torch.Tensor,
                 encoder_hidden_states: Optional[torch.Tensor] = None,
                 attention_mask: Optional[torch.Tensor] = None,
                 dex: Optional[DexAttnContext] = None) -> torch.Tensor:
        if dex is not None and dex.mode is BankMode.WRITE:
            dex.bank.features[self.name] = hidden_states
        return _self_attention(attn, hidden_states)


class ReferenceAttnProcessor(nn.Module):
    """Denoising UNet ``attn1``: reference attention + pose branch 2 (3D warp residual).

    Args:
        name: the block's name (the bank key shared with the reference UNet).
        channels: c, the block width.

    Shapes: x (B, N, c) with N = h*h; ref = bank[name][ref_index] (B, N, c).
    ``out = attn(q=x, k/v=[x ; ref], ref masked where keep_ref = 0)
    + keep_ref * keep_motion * tokens(conv(project(warp(lift(ref), R, t, s))))`` where lift
    gives (B, 2c/h, h/2, h, h) and the conv (c -> c, k x k) starts at zero.
    """

    def __init__(self, name: str, channels: int, kernel: int = 1) -> None:
        super().__init__()
        self.name = name
        self.warp_conv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2)
        nn.init.zeros_(self.warp_conv.weight)
        nn.init.zeros_(self.warp_conv.bias)

    def warp_residual(self, ref: torch.Tensor, transform: RigidTransform) -> torch.Tensor:
        """(B, N, c) reference tokens -> (B, N, c) warped residual tokens."""
        side = int(math.isqrt(ref.shape[1]))
        fmap = self.warp_conv(warp_tokens(ref, side, transform))
        return fmap.flatten(2).transpose(1, 2)

    def __call__(self, attn: nn.Module, hidden_states: torch.Tensor,
                 encoder_hidden_states: Optional[torch.Tensor] = None,
                 attention_mask: Optional[torch.Tensor] = None,
                 dex: Optional[DexAttnContext] = None) -> torch.Tensor:
        x = hidden_states
        if dex is None or dex.mode is not BankMode.READ or self.name not in dex.bank.features:
            return _self_attention(attn, x)
        b, n, _ = x.shape
        ref_all = dex.bank.features[self.name]
        idx = dex.ref_index if dex.ref_index is not None else torch.zeros(b, dtype=torch.long, device=x.device)
        ref = ref_all[idx].to(x.dtype)
        keep_ref = dex.keep_ref if dex.keep_ref is not None else torch.ones(b, device=x.device)
        kv = torch.cat([x, ref], 1)
        bias = torch.zeros(b, 1, 1, n + ref.shape[1], device=x.device, dtype=x.dtype)
        bias[:, 0, 0, n:] = torch.where(keep_ref[:, None] > 0, 0.0, float("-inf")).to(x.dtype)
        out = _project_out(attn, _attend(attn, attn.to_q(x), attn.to_k(kv), attn.to_v(kv), bias))
        if dex.transform is not None:
            keep_mot = dex.keep_motion if dex.keep_motion is not None else torch.ones(b, device=x.device)
            gate = (keep_ref * keep_mot).to(x.dtype)
            res = dex.warp_cache.get(self.name)
            if res is None:
                res = self.warp_residual(ref, dex.transform)
                if not torch.is_grad_enabled():
                    dex.warp_cache[self.name] = res
            out = out + gate[:, None, None] * res
        return out


class DexCrossAttnProcessor(nn.Module):
    """``attn2``: appearance cross-attention (+ the extra expression cross-attention).

    Args:
        hidden: the attention's inner width (query width).
        expression_dim: token width of the expression tokens (16); 0 = no expression
            branch (the reference UNet).

    ``out = to_out(attn(q, K(app), V(app)) + attn(q, K_e(expr), V_e(expr)))``.
    """

    def __init__(self, hidden: int = 0, expression_dim: int = 0) -> None:
        super().__init__()
        self.to_k_expr: Optional[nn.Linear] = None
        self.to_v_expr: Optional[nn.Linear] = None
        if expression_dim:
            self.to_k_expr = nn.Linear(expression_dim, hidden, bias=False)
            self.to_v_expr = nn.Linear(expression_dim, hidden, bias=False)

    def __call__(self, attn: nn.Module, hidden_states: torch.Tensor,
                 encoder_hidden_states: Optional[torch.Tensor] = None,
                 attention_mask: Optional[torch.Tensor] = None,
                 dex: Optional[DexAttnContext] = None) -> torch.Tensor:
        x = hidden_states
        ctx = x if encoder_hidden_states is None else encoder_hidden_states
        q = attn.to_q(x)
        h = _attend(attn, q, attn.to_k(ctx), attn.to_v(ctx))
        if self.to_k_expr is not None and dex is not None and dex.expression_tokens is not None:
            e = dex.expression_tokens.to(x.dtype)
            h = h + _attend(attn, q, self.to_k_expr(e), self.to_v_expr(e))
        return _project_out(attn, h)
