"""Progressive hybrid CFG reproduces its written formula (acceptance 1)."""

from __future__ import annotations

import math

import pytest
import torch

from dexstudio.render.dex.config import GuidanceConfig, WeightShape
from dexstudio.render.dex.guider import FULL, REF_ONLY, UNCOND, ProgressiveHybridGuidance


@pytest.mark.parametrize("shape", list(WeightShape))
def test_guider_matches_formula(shape: WeightShape) -> None:
    cfg = GuidanceConfig(ref_start=3.0, ref_end=1.2, motion_start=0.8, motion_end=4.0, shape=shape)
    g = ProgressiveHybridGuidance(cfg)
    assert g.branches == (UNCOND, REF_ONLY, FULL)
    torch.manual_seed(0)
    n = 7
    for i in range(n):
        eps = torch.randn(3, 2, 4, 5, 5)
        tau = i / (n - 1)
        s = {WeightShape.LINEAR: tau, WeightShape.COSINE: (1 - math.cos(math.pi * tau)) / 2,
             WeightShape.CONSTANT: 0.0}[shape]
        w_ref = 3.0 + (1.2 - 3.0) * s
        w_mot = 0.8 + (4.0 - 0.8) * s
        e_u, e_r, e_f = eps
        expected = e_u + w_ref * (e_r - e_u) + w_mot * (e_f - e_r)
        assert torch.allclose(g.combine(eps, i, n), expected, atol=1e-6)


def test_weights_run_from_start_to_end() -> None:
    g = ProgressiveHybridGuidance(GuidanceConfig(ref_start=3, ref_end=1, motion_start=1, motion_end=2))
    assert g.weights(0, 10) == pytest.approx((3.0, 1.0))
    assert g.weights(9, 10) == pytest.approx((1.0, 2.0))


def test_unit_weights_reduce_to_the_conditional_prediction() -> None:
    g = ProgressiveHybridGuidance(GuidanceConfig(1.0, 1.0, 1.0, 1.0))
    assert g.branches == (FULL,)
    eps = torch.randn(1, 2, 4, 3, 3)
    assert torch.equal(g.combine(eps, 0, 5), eps[0])
    # the three-branch formula with unit weights is eps_full too
    g3 = ProgressiveHybridGuidance(GuidanceConfig(1.0, 1.0, 1.0, 1.0 + 1e-9))
    e = torch.randn(3, 1, 4, 2, 2)
    assert torch.allclose(g3.combine(e, 0, 5), e[2], atol=1e-6)
