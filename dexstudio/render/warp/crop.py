"""The working crop: a square, axis-aligned window of the source around the face.

Crop pixel = (image pixel - origin) * ``size / side``. Parts of the window outside the
image are filled by :func:`extend_edges` (and ignored by paste-back).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CropBox:
    """Square window of the source image.

    Attributes:
        x0, y0: top-left corner in image pixels (may be negative).
        side: window side in image pixels.
        size: side of the working crop in crop pixels.
    """

    x0: float
    y0: float
    side: float
    size: int

    @property
    def zoom(self) -> float:
        """Crop pixels per image pixel."""
        return self.size / self.side

    def to_crop(self, pts: np.ndarray) -> np.ndarray:
        """(N, 2 or 3) image points -> crop points (z scales like x, y)."""
        p = np.asarray(pts, np.float64).copy()
        p[:, 0] -= self.x0
        p[:, 1] -= self.y0
        return p * self.zoom

    def to_image(self, pts: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_crop`."""
        p = np.asarray(pts, np.float64) / self.zoom
        p[:, 0] += self.x0
        p[:, 1] += self.y0
        return p


def choose_crop(landmarks_px: np.ndarray, size: int, margin: float = 2.1,
                up_shift: float = 0.08, image_shape: tuple[int, ...] | None = None,
                min_margin: float = 1.4) -> CropBox:
    """A face-centred square window around 468 mesh landmarks.

    When ``image_shape`` is given the window is kept inside the image where possible:
    shrunk (down to ``min_margin``) and shifted (keeping the face inside) so that little
    or nothing beyond it shows.

    Args:
        landmarks_px: (N >= 468, 2+) image pixels.
        size: output crop side in pixels.
        margin: window side / largest landmark-box side (room for hair, ears, neck).
        up_shift: move the centre up by this fraction of the landmark box height (hair).
        image_shape: (H, W, ...) of the image.
    """
    lm = np.asarray(landmarks_px)[:468, :2]
    lo, hi = lm.min(0), lm.max(0)
    w, h = hi - lo
    side = float(max(w, h) * margin)
    cx = float(0.5 * (lo[0] + hi[0]))
    cy = float(0.5 * (lo[1] + hi[1]) - up_shift * h)
    x0, y0 = cx - side / 2, cy - side / 2
    if image_shape is not None:
        H, W = image_shape[:2]
        side = float(min(side, max(min(H, W), min_margin * max(w, h))))
        x0, y0 = cx - side / 2, cy - side / 2
        # shift inside the image, but never so far that the face leaves the window
        x0 = float(np.clip(np.clip(x0, 0, max(0.0, W - side)), hi[0] + 0.05 * w - side, lo[0] - 0.05 * w))
        y0 = float(np.clip(np.clip(y0, 0, max(0.0, H - side)), hi[1] + 0.05 * h - side, lo[1] - 0.05 * h))
    return CropBox(x0, y0, side, int(size))


def extract_crop(image: np.ndarray, box: CropBox) -> np.ndarray:
    """(H, W, 3) uint8 image -> (size, size, 3) uint8 crop (the image continued by
    :func:`extend_edges` where the window reaches beyond it)."""
    H, W = image.shape[:2]
    z, n = box.zoom, box.size
    # the crop pixels whose centres fall inside the image
    cx0 = min(n, max(0, int(np.ceil(-box.x0 * z - 1e-6))))
    cy0 = min(n, max(0, int(np.ceil(-box.y0 * z - 1e-6))))
    cx1 = max(cx0, min(n, int(np.floor((W - 1 - box.x0) * z + 1e-6)) + 1))
    cy1 = max(cy0, min(n, int(np.floor((H - 1 - box.y0) * z + 1e-6)) + 1))
    if (cx0, cy0, cx1, cy1) == (0, 0, n, n):
        return _resample(image, box, 0, 0, n, n)
    if cx1 <= cx0 or cy1 <= cy0:  # the window misses the image
        return np.zeros((n, n, 3), np.uint8)
    inner = _resample(image, box, cx0, cy0, cx1 - cx0, cy1 - cy0)
    pad = max(cx0, cy0, n - cx1, n - cy1)
    ext = extend_edges(inner, pad)
    return np.ascontiguousarray(ext[pad - cy0:pad - cy0 + n, pad - cx0:pad - cx0 + n])


def _resample(image: np.ndarray, box: CropBox, ox: int, oy: int, w: int, h: int) -> np.ndarray:
    """Crop pixels [ox, ox + w) x [oy, oy + h) of the window, (h, w, 3) uint8 (area-averaged
    when the window is shrunk, bicubic when enlarged)."""
    z = box.zoom
    x0c, y0c = box.x0 + ox / z, box.y0 + oy / z  # image position of crop pixel (ox, oy)
    M = np.array([[z, 0.0, -x0c * z], [0.0, z, -y0c * z]], np.float64)
    if z < 1.0:  # downscale: INTER_AREA first (not an affine option), then place
        x0 = int(np.floor(max(x0c, 0)))
        y0 = int(np.floor(max(y0c, 0)))
        x1 = int(np.ceil(min(x0c + w / z, image.shape[1])))
        y1 = int(np.ceil(min(y0c + h / z, image.shape[0])))
        if x1 > x0 and y1 > y0:
            region = image[y0:y1, x0:x1]
            small = cv2.resize(region, (max(1, round((x1 - x0) * z)), max(1, round((y1 - y0) * z))),
                               interpolation=cv2.INTER_AREA)
            sx = small.shape[1] / (x1 - x0)
            sy = small.shape[0] / (y1 - y0)
            M2 = np.array([[z / sx, 0.0, (x0 - x0c) * z], [0.0, z / sy, (y0 - y0c) * z]])
            return cv2.warpAffine(small, M2, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(image, M, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


#: blur (Gaussian sigma, pixels) of the extended edge per pixel of distance from it
_EDGE_BLUR_PER_PX = 0.5
#: the blur levels the extension is interpolated between (sigma, pixels; 0 = the edge itself)
_EDGE_SIGMAS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def _blurred_edge_band(edge: np.ndarray, depth: int) -> np.ndarray:
    """(depth, N, 3) float32 band continuing a (N, 3) edge line outward: row k (k = 1 at
    the edge) is the line blurred along itself with sigma ``_EDGE_BLUR_PER_PX * k``."""
    line = edge.astype(np.float32)[None]  # (1, N, 3)
    levels = [line[0]]
    for s in _EDGE_SIGMAS[1:]:
        levels.append(cv2.GaussianBlur(line, (0, 0), sigmaX=s, sigmaY=1e-6, borderType=cv2.BORDER_REPLICATE)[0])
    sig = np.asarray(_EDGE_SIGMAS)
    want = np.minimum(_EDGE_BLUR_PER_PX * np.arange(1, depth + 1), sig[-1])
    hi = np.clip(np.searchsorted(sig, want), 1, len(sig) - 1)
    t = ((want - sig[hi - 1]) / (sig[hi] - sig[hi - 1]))[:, None, None].astype(np.float32)
    stack = np.stack(levels)  # (L, N, 3)
    return stack[hi - 1] * (1 - t) + stack[hi] * t


def extend_edges(image: np.ndarray, pad: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (H + 2 pad, W + 2 pad, 3) uint8: the image continued beyond its
    edges by its edge lines, blurred along the edge more the farther out.

    This is what a warp shows where it samples beyond the crop (a head moving away from a
    border it nearly touches; :func:`~dexstudio.render.warp.warp_field.yielding_anchors`).
    Plain edge replication draws each edge pixel out into a streak; a mirror repeats
    what lies just inside, so a bald head a few pixels under the top edge showed a second,
    detached crown above it (makeittalk_dwayne x liveportrait_d3 frame 141).
    """
    H, W = image.shape[:2]
    # replicated first, so the top and bottom edge lines run on into the corners
    out = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    if pad <= 0:
        return out

    def band(line: np.ndarray) -> np.ndarray:
        return np.clip(_blurred_edge_band(line, pad) + 0.5, 0, 255).astype(np.uint8)

    out[:pad] = band(out[pad])[::-1]
    out[pad + H:] = band(out[pad + H - 1])
    # left and right: the image's rows only (the corners belong to the top and bottom bands)
    out[pad:pad + H, :pad] = band(out[pad:pad + H, pad])[::-1].transpose(1, 0, 2)
    out[pad:pad + H, pad + W:] = band(out[pad:pad + H, pad + W - 1]).transpose(1, 0, 2)
    return out
