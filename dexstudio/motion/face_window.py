"""Footage where the face is small in the frame: find it, then track inside a window.

MediaPipe's face detector looks at the whole frame shrunk to 128 x 128 pixels and finds
faces that fill a good part of it (it is made for selfies). In an ordinary webcam,
interview or vlog shot the face is smaller: liveportrait_d10 placed as a 300 px square
(a face ~15 % of the height) in a 1920 x 1080 frame was not found in any frame.

When tracking the whole frame finds no face, or loses it in most frames, extraction
looks again here: a few frames spread over the clip are searched in overlapping square
tiles of half the frame's short side, then of 0.3 of it if that found nothing (the face
is then large enough for the detector: down to ~7 % of the frame's height),
and the faces found give one fixed window, a square around all of them, with the face
about :data:`FACE_SHARE` of its side. The clip is then tracked inside that window and the
landmarks moved back to frame pixels. The window is fixed for the clip (a window that
follows the face would feed the tracker's noise back into its own input), so a person
who walks far across the frame can leave it (those frames count as lost).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from dexstudio.motion.tracker import FaceObservation

__all__ = ["FACE_SHARE", "TILE_SHARES", "FaceWindow", "find_face_window"]

#: the face's height as a share of the window's side
FACE_SHARE = 0.3
#: tiles searched: this share of the frame's short side, overlapping by half; the next
#: (smaller, more tiles) only when the one before found no face
TILE_SHARES = (0.5, 0.3)


@dataclass(frozen=True)
class FaceWindow:
    """A window of the frame, pixels: ``[x0, x1) x [y0, y1)``."""

    x0: int
    y0: int
    x1: int
    y1: int

    def crop(self, rgb: np.ndarray) -> np.ndarray:
        """(y1 - y0, x1 - x0, 3) uint8 contiguous copy of the window of ``rgb``."""
        return np.ascontiguousarray(rgb[self.y0:self.y1, self.x0:self.x1])

    def crop_frames(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, rgb)`` pairs with each frame cropped to the window."""
        for i, rgb in frames:
            yield i, self.crop(rgb)

    def to_frame(self, obs: FaceObservation) -> FaceObservation:
        """An observation made inside the window, in frame pixels (the window is not
        scaled: x, y shift, z stays)."""
        return obs.moved(self.x0, self.y0)


def _tiles(width: int, height: int, side: int) -> Iterator[tuple[int, int]]:
    """Top-left corners of ``side`` squares covering the frame, overlapping by half."""
    step = max(1, side // 2)

    def starts(n: int) -> list[int]:
        s = list(range(0, max(1, n - side + 1), step))
        if s[-1] + side < n:
            s.append(n - side)
        return s

    for y in starts(height):
        for x in starts(width):
            yield x, y


def _faces_in_tiles(frames: Sequence[np.ndarray], detect: Callable[[np.ndarray], list[FaceObservation]],
                    side: int) -> list[tuple[float, float, float, float]]:
    """Face boxes (frame pixels) found in ``side`` tiles of the frames."""
    boxes: list[tuple[float, float, float, float]] = []
    height, width = frames[0].shape[:2]
    for rgb in frames:
        for x, y in _tiles(width, height, side):
            for f in detect(np.ascontiguousarray(rgb[y:y + side, x:x + side])):
                bx0, by0, bx1, by1 = f.bbox
                boxes.append((bx0 + x, by0 + y, bx1 + x, by1 + y))
    return boxes


def find_face_window(frames: Sequence[np.ndarray], detect: Callable[[np.ndarray], list[FaceObservation]],
                     face_share: float = FACE_SHARE,
                     tile_shares: Sequence[float] = TILE_SHARES) -> Optional[FaceWindow]:
    """The window to track in (module doc), or None when no tile of any frame shows a face.

    Args:
        frames: a few (H, W, 3) uint8 frames of the clip, all the same size.
        detect: faces in one image (``FaceTracker.detect_image``).
        face_share: the largest face's height as a share of the window's side.
        tile_shares: tile sides as shares of the frame's short side, tried in turn.
    """
    height, width = frames[0].shape[:2]
    boxes: list[tuple[float, float, float, float]] = []
    for share in tile_shares:
        boxes = _faces_in_tiles(frames, detect, max(16, int(min(height, width) * share)))
        if boxes:
            break
    if not boxes:
        return None
    b = np.asarray(boxes, np.float64)
    ux0, uy0, ux1, uy1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    face_h = float((b[:, 3] - b[:, 1]).max())
    win = int(round(min(max(ux1 - ux0, uy1 - uy0, face_h / face_share), min(width, height))))
    cx, cy = 0.5 * (ux0 + ux1), 0.5 * (uy0 + uy1)
    x0 = int(round(np.clip(cx - win / 2, 0, width - win)))
    y0 = int(round(np.clip(cy - win / 2, 0, height - win)))
    return FaceWindow(x0, y0, x0 + win, y0 + win)
