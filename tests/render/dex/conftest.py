"""Shared fixtures of the DeX animator tests: tiny config, seeded model, motions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from dexstudio.render.base import FrameMotion
from dexstudio.render.dex.config import DexConfig
from dexstudio.render.dex.model import DexModel


@pytest.fixture
def tiny_config() -> DexConfig:
    return DexConfig.tiny()


def make_model(config: DexConfig, seed: int = 0, perturb_zero_init: bool = True) -> DexModel:
    """A seeded tiny model; zero-initialised branch outputs get small random weights so
    every branch (pose encoder, 3D warp, temporal) actually affects the output."""
    torch.manual_seed(seed)
    model = DexModel(config)
    if perturb_zero_init:
        g = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if ("warp_conv" in name or "temporal.proj_out" in name or "pose_encoder.out" in name
                        or "null_tokens" in name):
                    p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()


@pytest.fixture
def tiny_model(tiny_config: DexConfig) -> DexModel:
    return make_model(tiny_config)


def motion(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0, tx: float = 0.0, ty: float = 0.0,
           scale: float = 1.0, jaw: float = 0.0, smile: float = 0.0, detail0: float = 0.0) -> FrameMotion:
    b = np.zeros(52)
    b[17] = jaw  # jawOpen
    b[23] = smile  # mouthSmileLeft
    d = np.zeros(16)
    d[0] = detail0
    return FrameMotion((yaw, pitch, roll), (tx, ty), scale, FrameMotion._q(b), FrameMotion._q(d), 1.0)


def with_(m: FrameMotion, **kw: object) -> FrameMotion:
    return dataclasses.replace(m, **kw)


@pytest.fixture
def model_factory():
    """``make_model(config, seed=0, perturb_zero_init=True)``."""
    return make_model


@pytest.fixture
def mk_motion():
    """``motion(yaw=..., jaw=..., ...)`` -> FrameMotion."""
    return motion
