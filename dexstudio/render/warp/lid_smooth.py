"""A closing lid's stretched skin, smoothed along the lid.

As the upper lid comes down, its band between the crease and the lashes grows taller than
the source shows it, and most of all just under the crease, where the lid map samples the
skin that was folded there (:func:`dexstudio.render.warp.eyes.lid_samples`). Any detail
along the lid in those few source rows (pores, wrinkles, a painting's brush marks) is drawn
out into vertical streaks (makeittalk_morgan's shut eyes). Where a pixel is stretched more
than ``_SMOOTH_FROM`` times, :func:`stretched_lid_layer` paints it from the source blurred
along the eye's axis (``_SIGMA`` eye widths), in full from ``_SMOOTH_FULL``: the skin keeps
its tone and its shading across the lid but loses the streaks.
"""

from __future__ import annotations

import cv2
import numpy as np

from dexstudio.render.warp.paint_layer import PaintLayer

#: a lid pixel stretched less than this many times is left as it is
_SMOOTH_FROM = 1.5
#: ... and from this many times it is painted from the smoothed skin in full
_SMOOTH_FULL = 3.0
#: the blur along the eye's axis, in eye widths (source)
_SIGMA = 0.05
#: samples of the blur along the axis (over +-2 sigma)
_TAPS = 9


def stretched_lid_layer(crop: np.ndarray, xs: np.ndarray, ys: np.ndarray, sx: np.ndarray, sy: np.ndarray,
                        stretch: np.ndarray, axis: np.ndarray, eye_width: float) -> PaintLayer | None:
    """The lid's pixels stretched past ``_SMOOTH_FROM``, painted from the source smoothed
    along the eye (module doc).

    Args:
        crop: (S, S, 3) uint8 the source crop.
        xs, ys: (N,) int the lid's pixels in the frame, crop pixels.
        sx, sy, stretch: (N,) float32 their source samples and stretch
            (:func:`dexstudio.render.warp.eyes.lid_samples`).
        axis: (2,) unit vector along the source's eye (outer to inner corner).
        eye_width: the source's eye width, pixels.
    Returns:
        a paint layer over those pixels, or None when none is stretched that far.
    """
    alpha_px = np.clip((stretch - _SMOOTH_FROM) / (_SMOOTH_FULL - _SMOOTH_FROM), 0.0, 1.0)
    sel = alpha_px > 0.0
    if not sel.any():
        return None
    sigma = max(_SIGMA * eye_width, 0.5)
    axis = np.asarray(axis, np.float64)
    # the blur, taken at the samples only: each is the Gaussian-weighted mean of _TAPS
    # bilinear samples along the eye's axis (one remap of an N x _TAPS map)
    t = np.linspace(-2.0 * sigma, 2.0 * sigma, _TAPS)
    w = np.exp(-0.5 * (t / sigma) ** 2)
    w = (w / w.sum()).astype(np.float32)
    px, py = sx[sel].astype(np.float32), sy[sel].astype(np.float32)
    mx = np.ascontiguousarray(px[:, None] + (t * axis[0]).astype(np.float32)[None, :])  # (N, _TAPS)
    my = np.ascontiguousarray(py[:, None] + (t * axis[1]).astype(np.float32)[None, :])
    taps = cv2.remap(crop, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # (N, _TAPS, 3)
    col = (taps.astype(np.float32) * w[None, :, None]).sum(axis=1)
    tx, ty = xs[sel], ys[sel]
    x0, y0 = int(tx.min()), int(ty.min())
    x1, y1 = int(tx.max()) + 1, int(ty.max()) + 1
    rgb = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    alpha = np.zeros((y1 - y0, x1 - x0, 1), np.float32)
    rgb[ty - y0, tx - x0] = col
    alpha[ty - y0, tx - x0, 0] = alpha_px[sel]
    return PaintLayer((x0, y0, x1, y1), rgb, alpha)
