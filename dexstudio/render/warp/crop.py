"""The working crop: a square, axis-aligned window of the source around the face.

Crop pixel = (image pixel - origin) * ``size / side``. Parts of the window outside the
image are filled by edge replication (and ignored by paste-back).
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
    or no edge replication shows.

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
    """(H, W, 3) uint8 image -> (size, size, 3) uint8 crop (edge-replicated outside)."""
    z = box.zoom
    M = np.array([[z, 0.0, -box.x0 * z], [0.0, z, -box.y0 * z]], np.float64)
    if z < 1.0:  # downscale: INTER_AREA first (not an affine option), then place
        x0 = int(np.floor(max(box.x0, 0)))
        y0 = int(np.floor(max(box.y0, 0)))
        x1 = int(np.ceil(min(box.x0 + box.side, image.shape[1])))
        y1 = int(np.ceil(min(box.y0 + box.side, image.shape[0])))
        if x1 > x0 and y1 > y0:
            region = image[y0:y1, x0:x1]
            small = cv2.resize(region, (max(1, round((x1 - x0) * z)), max(1, round((y1 - y0) * z))),
                               interpolation=cv2.INTER_AREA)
            sx = small.shape[1] / (x1 - x0)
            sy = small.shape[0] / (y1 - y0)
            M2 = np.array([[z / sx, 0.0, (x0 - box.x0) * z], [0.0, z / sy, (y0 - box.y0) * z]])
            return cv2.warpAffine(small, M2, (box.size, box.size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(image, M, (box.size, box.size), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)
