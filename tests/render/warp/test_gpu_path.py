"""The grid_sample resampling path (used on a GPU) matches cv2.remap; run here on torch's CPU."""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.render.warp.gpu import grid_sample_remap
from dexstudio.render.warp.warp_field import identity_grid


def _case():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    g = identity_grid(64).copy()
    g[..., 0] += 2.5 * np.sin(g[..., 1] / 9.0)
    g[..., 1] += 1.5 * np.cos(g[..., 0] / 7.0)
    return img, g.astype(np.float32)


def test_grid_sample_matches_remap_on_cpu() -> None:
    import cv2

    img, g = _case()
    a = cv2.remap(img, g, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    b = grid_sample_remap(img, g, "cpu")
    assert b.shape == a.shape and b.dtype == np.uint8
    assert np.abs(a.astype(int) - b).max() <= 2


@pytest.mark.gpu
def test_grid_sample_on_cuda_matches_cpu() -> None:
    img, g = _case()
    assert np.abs(grid_sample_remap(img, g, "cuda").astype(int) - grid_sample_remap(img, g, "cpu")).max() <= 1
