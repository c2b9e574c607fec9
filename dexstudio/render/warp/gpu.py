"""The GPU path of the final resampling: the same backward map through
``torch.nn.functional.grid_sample`` (bilinear, border padding, align_corners=True)."""

from __future__ import annotations

import numpy as np


def grid_sample_remap(img: np.ndarray, fmap: np.ndarray, device: str) -> np.ndarray:
    """(H, W, 3) uint8 image sampled at (h, w, 2) pixel positions -> (h, w, 3) uint8."""
    import torch
    import torch.nn.functional as F

    H, W = img.shape[:2]
    t = torch.from_numpy(np.ascontiguousarray(img)).to(device).permute(2, 0, 1)[None].float()
    g = torch.from_numpy(np.ascontiguousarray(fmap)).to(device)
    gx = g[..., 0] * (2.0 / max(W - 1, 1)) - 1.0
    gy = g[..., 1] * (2.0 / max(H - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], -1)[None]
    out = F.grid_sample(t, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
