"""GPU-only: fp16 / bf16 sampling on CUDA (acceptance 5; skipped without a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dexstudio.render.dex.animator import DexAnimator
from dexstudio.render.dex.device import Precision
from dexstudio.render.dex.face import centered_analysis


@pytest.mark.gpu
@pytest.mark.parametrize("precision", [Precision.FP16, Precision.BF16])
def test_half_precision_sampling_on_cuda(precision, tiny_model, mk_motion) -> None:
    anim = DexAnimator(model=tiny_model, face_analyzer=centered_analysis, device="cuda", precision=precision)
    img = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    st = anim.prepare(img)
    lat = anim.render_intermediate(st, mk_motion(yaw=10, jaw=0.3))
    assert np.isfinite(lat).all()
    ref = DexAnimator(model=tiny_model, face_analyzer=centered_analysis, device="cuda",
                      precision=Precision.FP32)
    lat32 = ref.render_intermediate(ref.prepare(img), mk_motion(yaw=10, jaw=0.3))
    assert np.abs(lat - lat32).max() < 0.1 * (np.abs(lat32).max() + 1e-3)
    frames = list(anim.render_clip(st, [mk_motion(yaw=y) for y in range(6)]))
    assert len(frames) == 6 and frames[0].dtype == np.uint8
    assert torch.cuda.is_available()


@pytest.mark.gpu
def test_sd15_sized_step_on_cuda(mk_motion) -> None:
    from dexstudio.render.dex.conditioning import build_conditioning
    from dexstudio.render.dex.config import DexConfig
    from dexstudio.render.dex.model import DexModel

    cfg = DexConfig.sd15()
    model = DexModel(cfg).cuda().eval()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16):
        ref = model.reference_features(torch.randn(1, 4, 64, 64, device="cuda"))
        cond = build_conditioning(mk_motion(), [mk_motion(yaw=10)] * 2, cfg)
        eps = model.predict_noise(torch.randn(2, 4, 64, 64, device="cuda"), torch.tensor(500), ref, cond,
                                  torch.ones(2), torch.ones(2), num_frames=2)
    assert eps.shape == (2, 4, 64, 64) and torch.isfinite(eps).all()
