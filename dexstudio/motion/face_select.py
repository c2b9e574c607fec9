"""Choosing one face among several and following it from frame to frame.

The first frame with faces picks the face by an index (faces sorted left to right), a
box the user drew (largest overlap) or a rule (largest, most central, highest score).
Later frames keep the face whose box is nearest the last accepted one (centre
distance in units of its size, sizes within a factor 2); a face elsewhere (a second
person entering) is never taken over -- the frame is marked lost instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from dexstudio.core.errors import NoFaceError
from dexstudio.motion.tracker import FaceObservation

Box = tuple[float, float, float, float]


class FaceRule(enum.Enum):
    """How to choose among several faces when no index or box is given."""

    LARGEST = "largest"
    MOST_CENTRAL = "central"
    HIGHEST_SCORE = "score"


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def choose_face(faces: Sequence[FaceObservation], frame_size: tuple[int, int],
                rule: FaceRule = FaceRule.LARGEST, index: Optional[int] = None,
                box: Optional[Box] = None) -> FaceObservation:
    """Pick one face of one frame.

    Args:
        faces: the frame's faces (non-empty).
        frame_size: (width, height) pixels.
        rule: used when neither ``index`` nor ``box`` is given.
        index: 0-based index into the faces sorted by box centre x (left to right).
        box: (x0, y0, x1, y1) pixels; the face overlapping it most.
    Raises:
        NoFaceError: ``index`` out of range or ``box`` overlaps no face.
    """
    if not faces:
        raise NoFaceError("no face in this frame", "use footage where a face is visible")
    if index is not None:
        ordered = sorted(faces, key=lambda f: f.center[0])
        if not 0 <= index < len(ordered):
            raise NoFaceError(f"face index {index} does not exist: {len(ordered)} face(s) found",
                              f"use --face-index between 0 and {len(ordered) - 1} (left to right)")
        return ordered[index]
    if box is not None:
        scores = [iou(f.bbox, box) for f in faces]
        k = int(np.argmax(scores))
        if scores[k] <= 0.0:
            raise NoFaceError(f"no face overlaps the box {tuple(round(v) for v in box)}",
                              "draw the box around the face to follow")
        return faces[k]
    if rule is FaceRule.LARGEST:
        return max(faces, key=lambda f: f.area)
    if rule is FaceRule.HIGHEST_SCORE:
        return max(faces, key=lambda f: (f.score, f.area))
    cx, cy = frame_size[0] / 2, frame_size[1] / 2
    return min(faces, key=lambda f: (f.center[0] - cx) ** 2 + (f.center[1] - cy) ** 2)


@dataclass
class FaceFollower:
    """Follows one face across frames by box proximity.

    Args:
        max_shift: largest accepted centre move per frame, in face sizes.
        gap_growth: extra allowed move per lost frame (the face may move while lost).
        max_size_ratio: largest accepted size change between accepted frames.
    """

    max_shift: float = 0.5
    gap_growth: float = 0.1
    max_size_ratio: float = 2.0
    _last: Optional[Box] = None
    _gap: int = 0

    @property
    def started(self) -> bool:
        return self._last is not None

    def start(self, face: FaceObservation) -> None:
        self._last = face.bbox
        self._gap = 0

    def follow(self, faces: Sequence[FaceObservation]) -> Optional[FaceObservation]:
        """The followed face among ``faces``, or None (lost this frame)."""
        assert self._last is not None, "start() first"
        x0, y0, x1, y1 = self._last
        size = max(x1 - x0, y1 - y0, 1.0)
        c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        limit = min(self.max_shift + self.gap_growth * self._gap, 1.5)
        best, best_d = None, np.inf
        for f in faces:
            fsize = max(f.bbox[2] - f.bbox[0], f.bbox[3] - f.bbox[1], 1.0)
            ratio = max(fsize / size, size / fsize)
            d = float(np.hypot(*(np.array(f.center) - c))) / size
            if ratio <= self.max_size_ratio and d <= limit and d < best_d:
                best, best_d = f, d
        if best is None:
            self._gap += 1
        else:
            self._last = best.bbox
            self._gap = 0
        return best
