"""What the lids hide: the eyeball a frame shows where the source's lids cover it.

When the frame's eye opens wider than the source's (eyeWide, the narrow eye of a
turned portrait opened by the driver, gaze moving the iris under a lid), the rigid
eyeball sample (:func:`dexstudio.render.warp.eyes.eyeball_map`) lands outside the
source's eye opening, or inside it on the lid margin. Those pixels used to show lid
and lash pixels: dark jagged bands across the white of the eye and a second lash
line across the iris. They are painted from the source's eyeball continued under
its lids instead (inpainted once per source from what its opening shows).

A sample on the source's lid margin still shows the source where the frame's pixel
is itself as near its lid (an eye as open as the source's keeps its real margin).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dexstudio.render.warp.eyes import EyeSpec, eye_width
from dexstudio.render.warp.paint_layer import PaintLayer

#: the band inside the source's eye opening that belongs to the lids (lashes, the lid's
#: rim and its shadow), eye widths: about 3 px for a 45 px eye
_MARGIN = 0.06
#: the eyeball texture reaches this far beyond the eye's corners and lids, eye widths
_PAD = (0.25, 0.5)


@dataclass(frozen=True, eq=False)
class EyeballLook:
    """One source eyeball, prepared once: its texture continued under the lids.

    Attributes:
        box: (x0, y0, x1, y1) the window of ``texture`` and ``depth`` in source crop
            pixels.
        texture: (h, w, 3) uint8 the source inside its opening (lid margin left out),
            continued outwards by inpainting (Telea): the iris and the white of the eye
            as they run on under the lids.
        depth: (h, w) float32 distance to the edge of the source's eye opening, pixels
            (0 outside it).
        margin_px: width of the lid margin band inside the source's opening, pixels.
    """

    box: tuple[int, int, int, int]
    texture: np.ndarray
    depth: np.ndarray
    margin_px: float


def analyse_eyeball(crop: np.ndarray, landmarks: np.ndarray, eye: EyeSpec, eye_mask: np.ndarray) -> EyeballLook:
    """Prepare one source eyeball (see :class:`EyeballLook`).

    Args:
        crop: (S, S, 3) uint8 source crop.
        landmarks: (478, 2+) source points, crop pixels.
        eye: which eye.
        eye_mask: (S, S) uint8 the source's eye openings
            (:func:`dexstudio.render.warp.eyes.eye_mask`).
    """
    S = crop.shape[0]
    w = eye_width(landmarks, eye)
    pts = landmarks[list(eye.contour), :2]
    lo = np.floor(pts.min(0) - [_PAD[0] * w, _PAD[1] * w]).astype(int)
    hi = np.ceil(pts.max(0) + [_PAD[0] * w, _PAD[1] * w]).astype(int) + 1
    x0, y0 = np.clip(lo, 0, S)
    x1, y1 = np.clip(hi, 0, S)
    box = (int(x0), int(y0), int(x1), int(y1))
    window = np.ascontiguousarray(crop[y0:y1, x0:x1])
    inside = np.ascontiguousarray(eye_mask[y0:y1, x0:x1] > 0).astype(np.uint8)
    if window.size == 0:
        return EyeballLook(box, window.copy(), inside.astype(np.float32), 1.0)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    margin = max(1.0, _MARGIN * w)
    known = depth > margin
    if known.sum() < 4:  # a shut eye shows nothing to continue
        return EyeballLook(box, window.copy(), depth, margin)
    unknown = (~known).astype(np.uint8) * 255
    texture = cv2.inpaint(window, unknown, max(2.0, 0.08 * w), cv2.INPAINT_TELEA)
    return EyeballLook(box, texture, depth, margin)


def hidden_eyeball_layer(xs: np.ndarray, ys: np.ndarray, sx: np.ndarray, sy: np.ndarray, look: EyeballLook,
                         source: np.ndarray, target: np.ndarray, eye: EyeSpec,
                         size: int) -> tuple[np.ndarray, PaintLayer | None]:
    """Which eye-opening pixels keep their source sample, and the paint for the others.

    A pixel keeps its sample where that lies inside the source's opening clear of the
    lid margin, or where the pixel lies no deeper in the frame's opening than its
    sample in the source's, +1 px (an eye as open as the source's keeps its real
    margin; pixels on the frame's lid keep the lid's map, as the raster of the mesh and
    the source's opening differ by a pixel). The others show the eyeball texture
    (:class:`EyeballLook`) at their sample.

    Args:
        xs, ys: (N,) int target pixel coordinates of one eye's opening (crop).
        sx, sy: (N,) float32 their rigid eyeball samples (source crop pixels, the gaze
            shift included).
        look: the source eyeball (:func:`analyse_eyeball`).
        source, target: (478, 2+) landmarks, crop pixels.
        eye: which eye.
        size: crop side S.
    Returns:
        (real, layer): (N,) bool, the pixels that show their source sample; the painted
        eyeball over the others (anti-aliased into their neighbours), or None when all
        are real.
    """
    bx, by, bx1, by1 = look.box
    mx = sx.astype(np.float32) - bx
    my = sy.astype(np.float32) - by
    ix, iy = np.rint(mx).astype(np.int32), np.rint(my).astype(np.int32)
    inside = (ix >= 0) & (iy >= 0) & (ix < bx1 - bx) & (iy < by1 - by)
    d_src = np.where(inside, look.depth[np.clip(iy, 0, by1 - by - 1), np.clip(ix, 0, bx1 - bx - 1)], 0.0)
    if (d_src > look.margin_px).all():  # every sample clear of the lids
        return np.ones(len(xs), bool), None
    x0, y0 = int(xs.min()) - 2, int(ys.min()) - 2
    x1, y1 = int(xs.max()) + 3, int(ys.max()) + 3
    h, w = y1 - y0, x1 - x0
    opening = np.zeros((h, w), np.uint8)
    opening[ys - y0, xs - x0] = 1
    # distance of each pixel to the edge of the frame's opening (1 on it), in source pixels
    k = eye_width(target, eye) / eye_width(source, eye)
    d_tgt = cv2.distanceTransform(opening, cv2.DIST_L2, 3)[ys - y0, xs - x0] / k
    real = (d_src > look.margin_px) | (d_tgt <= d_src + 1.0)
    if real.all() or look.texture.size == 0:
        return real, None
    col = cv2.remap(look.texture, mx.reshape(1, -1), my.reshape(1, -1), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)
    rgb = np.zeros((h, w, 3), np.float32)
    rgb[ys - y0, xs - x0] = col
    cover = np.zeros((h, w), np.float32)
    cover[ys - y0, xs - x0] = (~real).astype(np.float32)
    alpha = cv2.GaussianBlur(cover, (0, 0), 0.6) * opening  # soft towards the real pixels, not over the lids
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x1, size), min(y1, size)
    sl = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
    return real, PaintLayer((cx0, cy0, cx1, cy1), rgb[sl], alpha[sl][..., None].astype(np.float32))
