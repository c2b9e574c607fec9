"""A painted layer (colour + coverage in a box) composited over a rendered crop: what
the warp paints where no source pixel fits (the mouth interior, a shut eye's lash line).
Paste-back carries it to the full-resolution image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True, eq=False)
class PaintLayer:
    """Painted pixels to composite over a crop (the mouth interior, the lash lines).

    Attributes:
        box: (x0, y0, x1, y1) in crop pixels.
        rgb: (h, w, 3) float32 colours; alpha: (h, w, 1) float32 in 0..1.
    """

    box: tuple[int, int, int, int]
    rgb: np.ndarray
    alpha: np.ndarray

    def apply(self, out: np.ndarray) -> None:
        """Composite into ``out`` (S, S, 3) uint8 in place."""
        x0, y0, x1, y1 = self.box
        roi = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = np.clip(roi * (1 - self.alpha) + self.rgb * self.alpha, 0, 255).astype(np.uint8)

    def faded(self, weight: float) -> "PaintLayer":
        """This layer with its coverage times ``weight`` (0..1)."""
        return PaintLayer(self.box, self.rgb, self.alpha * np.float32(np.clip(weight, 0.0, 1.0)))

    def with_over(self, top: Optional["PaintLayer"]) -> "PaintLayer":
        """One layer that paints this one and then ``top`` over it (their boxes' union;
        e.g. the eyes' lash lines with the mouth, so paste-back carries both)."""
        if top is None:
            return self
        x0, y0 = min(self.box[0], top.box[0]), min(self.box[1], top.box[1])
        x1, y1 = max(self.box[2], top.box[2]), max(self.box[3], top.box[3])
        rgb = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
        alpha = np.zeros((y1 - y0, x1 - x0, 1), np.float32)
        for layer in (self, top):  # premultiplied "over"
            a0, b0, a1, b1 = layer.box
            sl = (slice(b0 - y0, b1 - y0), slice(a0 - x0, a1 - x0))
            rgb[sl] = rgb[sl] * (1 - layer.alpha) + layer.rgb * layer.alpha
            alpha[sl] = alpha[sl] * (1 - layer.alpha) + layer.alpha
        return PaintLayer((x0, y0, x1, y1), rgb / np.maximum(alpha, 1e-6), alpha)
