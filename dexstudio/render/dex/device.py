"""Device and precision choice: cuda > mps > cpu unless overridden; autocast only on CUDA."""

from __future__ import annotations

import contextlib
import enum
from typing import ContextManager, Optional

import torch

from dexstudio.render.device import choose_device


class Precision(enum.Enum):
    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"

    @property
    def dtype(self) -> torch.dtype:
        return {Precision.FP32: torch.float32, Precision.FP16: torch.float16,
                Precision.BF16: torch.bfloat16}[self]


def pick_device(override: Optional[str] = None) -> torch.device:
    """``override`` ("auto", "cpu", "cuda", "cuda:1", "mps") or the best available.

    Raises:
        dexstudio.render.device.DeviceError: an accelerator was asked for and is absent.
    """
    if override and ":" in override:
        return torch.device(override)
    return torch.device(choose_device(override or "auto"))


def autocast(device: torch.device, precision: Precision) -> ContextManager:
    """fp16/bf16 autocast on CUDA; a no-op elsewhere (CPU/MPS run in fp32)."""
    if device.type == "cuda" and precision is not Precision.FP32:
        return torch.autocast("cuda", dtype=precision.dtype)
    return contextlib.nullcontext()
