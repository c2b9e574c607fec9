"""Source-face analysis for the DeX animator: which face, its own motion, the model crop.

Injected into :class:`~dexstudio.render.dex.animator.DexAnimator` as a callable so the
animator can be tested without a face tracker; :class:`MediaPipeFaceAnalyzer` is the
real one (MediaPipe landmarks + :func:`dexstudio.motion.pose.solve_pose`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from dexstudio.core.channels import N_DETAIL
from dexstudio.core.errors import NoFaceError
from dexstudio.render.base import FaceRule, FrameMotion, SourceOptions


@dataclass(frozen=True)
class FaceAnalysis:
    """One source face.

    Attributes:
        crop_box: (x0, y0, x1, y1) square crop in source pixels, centred on the face,
            side = face size / ``face_fraction`` (may extend past the image: padded).
        own_motion: the face's own pose (translation 0 and scale 1 by construction of
            the crop) and expression.
    """

    crop_box: tuple[float, float, float, float]
    own_motion: FrameMotion


FaceAnalyzer = Callable[[np.ndarray, SourceOptions, float], FaceAnalysis]
"""(image (H, W, 3) uint8, options, face_fraction) -> FaceAnalysis; raises NoFaceError."""


def crop_square(image: np.ndarray, box: tuple[float, float, float, float], size: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8 crop of ``box`` (edge-padded), bilinear."""
    import cv2

    x0, y0, x1, y1 = box
    s = size / max(x1 - x0, 1e-6)
    m = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], np.float64)
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def centered_analysis(image: np.ndarray, options: SourceOptions, face_fraction: float) -> FaceAnalysis:
    """A trivial analyzer: the face is the centred square, frontal and neutral (tests, crops)."""
    h, w = image.shape[:2]
    side = min(h, w)
    x0, y0 = (w - side) / 2, (h - side) / 2
    return FaceAnalysis((x0, y0, x0 + side, y0 + side), FrameMotion.neutral())


def _pick(faces: list, options: SourceOptions, width: int, height: int) -> int:
    order = sorted(range(len(faces)), key=lambda i: faces[i].center[0])  # left to right
    if options.face_index is not None:
        if options.face_index >= len(faces):
            raise NoFaceError(f"face {options.face_index} was requested but {len(faces)} face(s) were found",
                              "choose a face index below the number of faces, or none to pick by rule")
        return order[options.face_index]
    if options.face_rule is FaceRule.MOST_CENTRAL:
        return min(order, key=lambda i: (faces[i].center[0] - width / 2) ** 2 + (faces[i].center[1] - height / 2) ** 2)
    if options.face_rule is FaceRule.HIGHEST_SCORE:
        return max(order, key=lambda i: faces[i].score)
    return max(order, key=lambda i: faces[i].area)


class MediaPipeFaceAnalyzer:
    """MediaPipe landmarks -> head pose (solve_pose) and blendshapes of the chosen face."""

    def __init__(self, tracker: Optional[object] = None) -> None:
        from dexstudio.motion.face_model import load_canonical_face
        from dexstudio.motion.tracker import MediaPipeTracker

        self._tracker = tracker if tracker is not None else MediaPipeTracker()
        self._face = load_canonical_face()

    def __call__(self, image: np.ndarray, options: SourceOptions, face_fraction: float) -> FaceAnalysis:
        from dexstudio.motion.pose import solve_pose

        faces = self._tracker.detect_image(image)  # type: ignore[attr-defined]
        if not faces:
            raise NoFaceError("no face was found in the source portrait",
                              "use a portrait where one face is clearly visible and reasonably large")
        obs = faces[_pick(faces, options, image.shape[1], image.shape[0])]
        fit = solve_pose(obs.landmarks, self._face)
        size_px = fit.face_size_px(self._face)
        side = size_px / face_fraction
        cx, cy = float(fit.center_px[0]), float(fit.center_px[1])
        box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
        e = fit.euler
        motion = FrameMotion((float(e[0]), float(e[1]), float(e[2])), (0.0, 0.0), 1.0,
                             FrameMotion._q(obs.blendshapes), (0.0,) * N_DETAIL, 0.0)
        return FaceAnalysis(box, motion)

    def close(self) -> None:
        close = getattr(self._tracker, "close", None)
        if close is not None:
            close()
