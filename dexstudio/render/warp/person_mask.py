"""Which pixels of the source crop are the person (head, hair, neck, body) and which are
background, so the warp can keep the background still while the head moves.

A talking-head clip is shot with a still camera: the background does not move when the
head turns. Without this mask the warp's outer field drags everything around the head
along with it, and the background "swims" (measured: the pixels above and beside the
face carried 71 % (d19) to all (d18) of the self-reenactment error above the do-nothing
baseline).

The mask is OpenCV's GrabCut on the crop at 256 px, started from what the landmarks say:

* sure person: the face mesh's hull;
* probably person: the hull of the face and its control rings (hair, ears, jaw; see the
  animator's ``_RINGS``), and a trapezoid from the jaw to the bottom edge (neck,
  shoulders);
* probably background: everything else (the crop border is not forced to background:
  long hair and shoulders often reach it).

GrabCut's colour models start from k-means with OpenCV's random generator, which is
seeded here, so a portrait always gets the same mask. 0.17 s of CPU per portrait on
average (8 of ../shared/media's) at 256 px and 3 iterations, once per source (the
prepared source is cached). A fourth iteration (0.20 s) changes the masks by IoU 0.002;
192 px (0.09 s) changes them by up to IoU 0.06 and scored 0.1 dB lower on d3.
"""

from __future__ import annotations

import cv2
import numpy as np

from dexstudio.motion import landmark_sets as ls

#: side of the square GrabCut runs at (pixels).
WORK_SIZE = 256
#: GrabCut iterations.
ITERATIONS = 3


def _prior(landmarks: np.ndarray, ring: np.ndarray, scale: float, n: int) -> np.ndarray:
    """(n, n) uint8 GrabCut labels from the landmarks (module docstring)."""
    labels = np.full((n, n), cv2.GC_PR_BGD, np.uint8)
    pts = landmarks[:468, :2] / scale
    around = np.concatenate([pts, ring / scale]) if len(ring) else pts
    cv2.fillConvexPoly(labels, cv2.convexHull(np.round(around).astype(np.int32)), cv2.GC_PR_FGD)
    chin = pts[ls.CHIN]
    width = float(np.ptp(pts[:, 0]))
    oval = pts[list(ls.FACE_OVAL)]
    low = oval[oval[:, 1] > pts[ls.NOSE_TIP, 1]]  # the jaw line
    xl, xr = float(low[:, 0].min()), float(low[:, 0].max())
    top = chin[1] - 0.1 * width
    body = np.array([[xl + 0.15 * width, top], [xr - 0.15 * width, top],
                     [xr + 0.9 * width, n - 1], [xl - 0.9 * width, n - 1]])
    if top < n - 1:
        cv2.fillConvexPoly(labels, np.round(body).astype(np.int32), cv2.GC_PR_FGD)
    cv2.fillConvexPoly(labels, cv2.convexHull(np.round(pts).astype(np.int32)), cv2.GC_FGD)
    return labels


def person_mask(crop: np.ndarray, landmarks: np.ndarray, ring: np.ndarray, seed: int = 0) -> np.ndarray:
    """Soft person mask of the source crop.

    Args:
        crop: (S, S, 3) uint8 RGB source crop.
        landmarks: (>= 468, 2+) face landmarks in crop pixels.
        ring: (R, 2) the animator's control points beyond the face, crop pixels.
        seed: OpenCV's random seed for GrabCut's colour models (reproducible masks).
    Returns:
        (S, S) float32 in [0, 1]: 1 = person, 0 = background (bilinear between GrabCut's
        ``WORK_SIZE`` px labels).
    """
    S = crop.shape[0]
    n = min(WORK_SIZE, S)
    scale = S / n
    small = cv2.resize(crop, (n, n), interpolation=cv2.INTER_AREA) if n != S else crop
    labels = _prior(np.asarray(landmarks, np.float64), np.asarray(ring, np.float64).reshape(-1, 2), scale, n)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(seed)  # this thread's generator: GrabCut's k-means start
    try:
        cv2.grabCut(np.ascontiguousarray(small), labels, None, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # degenerate colour statistics (e.g. a flat image): keep the prior
        pass
    person = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.float32)
    return cv2.resize(person, (S, S), interpolation=cv2.INTER_LINEAR) if n != S else person


def sample_mask(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(K,) mask values at (K, 2) crop-pixel points (nearest pixel, clamped to the crop)."""
    S = mask.shape[0]
    q = np.clip(np.round(np.asarray(points, np.float64)).astype(int), 0, S - 1)
    return mask[q[:, 1], q[:, 0]].astype(np.float64)
