"""Paste a rendered frame back into the full-resolution source.

The frame's backward map (crop pixels) is resampled to the full-resolution window and
the *original* image is remapped through it, so the pasted face keeps the original's
resolution (no 512 px blur on a 4k photo). The motion fades out over the outer part of
the window (a feathered weight on the map's displacement), so the window's border is the
original: no seam, even where the crop border gave (``warp_field.yielding_anchors``).
Window sides at the image's own edge are not faded (nothing lies beyond them). Work goes
in horizontal bands, so memory stays bounded for 4k sources.
"""

from __future__ import annotations

import cv2
import numpy as np

from dexstudio.render.warp.crop import CropBox
from dexstudio.render.warp.paint_layer import PaintLayer


def beyond_pad(box: CropBox, image_shape: tuple[int, ...], crop_pad: int) -> int:
    """Pixels the original must be continued beyond its edges for paste-back: 0 where no
    window side reaches the image's edge (a border can give only there, and ``crop_pad``
    crop pixels at most)."""
    H, W = image_shape[:2]
    if box.x0 > 0 and box.y0 > 0 and box.x0 + box.side < W and box.y0 + box.side < H:
        return 0
    return int(np.ceil(crop_pad / box.zoom)) + 1


def paste_back(image: np.ndarray, box: CropBox, fmap: np.ndarray, paint: PaintLayer | None,
               band: int = 256, out: np.ndarray | None = None,
               beyond: tuple[np.ndarray, int] | None = None) -> np.ndarray:
    """The full-resolution frame.

    Args:
        image: (H, W, 3) uint8 original source.
        box: the working crop window.
        fmap: (S, S, 2) float32 backward map of the frame (crop pixels).
        paint: the frame's painted layer (mouth interior, lash lines; crop pixels) or None.
        band: rows processed at a time (bounds temporary memory to ~ band x window width).
        out: optional (H, W, 3) uint8 buffer to write into (reused across frames).
        beyond: the original continued beyond its edges by P pixels and P
            (:func:`~dexstudio.render.warp.crop.extend_edges`), sampled where the map
            reaches beyond the image (a border that gave); None: its edges replicated.
    Returns:
        (H, W, 3) uint8.
    """
    H, W = image.shape[:2]
    S = fmap.shape[0]
    if out is None:
        out = image.copy()
    else:
        np.copyto(out, image)
    z = box.zoom
    X0 = max(0, int(np.floor(box.x0)))
    X1 = min(W, int(np.ceil(box.x0 + box.side)))
    Y0 = max(0, int(np.floor(box.y0)))
    Y1 = min(H, int(np.ceil(box.y0 + box.side)))
    if X1 <= X0 or Y1 <= Y0:
        return out
    disp = (fmap - _grid(S)) / z  # backward displacement in image pixels, on the crop grid
    paint_full = None
    if paint is not None:
        paint_full = np.zeros((S, S, 4), np.float32)
        x0, y0, x1, y1 = paint.box
        paint_full[y0:y1, x0:x1, :3] = paint.rgb
        paint_full[y0:y1, x0:x1, 3:] = paint.alpha
    src, off = (image, 0.0) if beyond is None else (beyond[0], float(beyond[1]))
    xs = np.arange(X0, X1, dtype=np.float32)
    u = (xs - box.x0) * z  # crop x of each output column
    # a window side at or past the image's edge has nothing beyond it to fade into: the
    # warp is kept up to the edge there (the border may have given, warp_field.yielding_anchors)
    wx = feather_1d(u, S, open_sides=(box.x0 <= 0, box.x0 + box.side >= W))
    open_y = (box.y0 <= 0, box.y0 + box.side >= H)
    for ya in range(Y0, Y1, band):
        yb = min(Y1, ya + band)
        ys = np.arange(ya, yb, dtype=np.float32)
        v = (ys - box.y0) * z
        # crop -> image resampling of the displacement for this band, as one affine warp
        M = np.array([[z, 0.0, (X0 - box.x0) * z], [0.0, z, (ya - box.y0) * z]], np.float64)
        d = cv2.warpAffine(disp, M, (X1 - X0, yb - ya), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        # the motion fades out toward the window's border (not the colours: faded colours
        # showed the unmoved photo through the moved one where the border gave)
        _fade(d, wx, feather_1d(v, S, open_sides=open_y))
        d[..., 0] += xs[None, :] + off
        d[..., 1] += ys[:, None] + off
        res = cv2.remap(src, d, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if paint_full is not None:
            m = cv2.warpAffine(paint_full, M, (X1 - X0, yb - ya), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            a = m[..., 3:]
            if a.max() > 0:
                res = np.clip(res.astype(np.float32) * (1 - a) + m[..., :3] * a + 0.5, 0, 255).astype(np.uint8)
        out[ya:yb, X0:X1] = res
    return out


def _fade(d: np.ndarray, wx: np.ndarray, wy: np.ndarray) -> None:
    """Scale the (h, w, 2) displacement ``d`` in place by min(wx, wy) per pixel, (w,) and
    (h,) weights that are 1 but in strips along the ends; only those strips are touched."""
    def ones_between(wt: np.ndarray) -> tuple[int, int]:
        inner = np.nonzero(wt >= 1.0)[0]
        return (int(inner[0]), int(inner[-1]) + 1) if len(inner) else (len(wt), len(wt))

    a, b = ones_between(wx)
    r0, r1 = ones_between(wy)
    for cs in (np.s_[:a], np.s_[b:]):  # the left and right strips, every row
        d[:, cs] *= np.minimum(wx[cs][None, :], wy[:, None])[..., None]
    for rs in (np.s_[:r0], np.s_[r1:]):  # the top and bottom strips, between them
        d[rs, a:b] *= wy[rs, None, None]


def feather_1d(t: np.ndarray, size: int, margin: float = 0.08,
               open_sides: tuple[bool, bool] = (False, False)) -> np.ndarray:
    """Smoothstep weight of crop coordinates along one axis: 0 at the crop border, except
    on the sides flagged in ``open_sides`` (low, high), which are not faded."""
    d = np.minimum(np.where(open_sides[0], np.inf, t), np.where(open_sides[1], np.inf, size - 1 - t))
    x = np.clip(d / (margin * size), 0.0, 1.0)
    return (x * x * (3 - 2 * x)).astype(np.float32)


def _grid(size: int) -> np.ndarray:
    from dexstudio.render.warp.warp_field import identity_grid

    return identity_grid(size)
