"""What the viewer shows besides the rendered result: the driving clip's frame at the
playhead (with its landmarks and head axes) and the result's head-axes overlay."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
from PySide6.QtCore import QObject, Slot

from dexstudio.core.rotation import euler_to_matrix
from dexstudio.ui.driving_loader import DrivingFrameLoader

if TYPE_CHECKING:
    from dexstudio.ui.main_window import MainWindow

DRIVING_CACHE_FRAMES = 120
#: the driving pane zooms to the face when all of the take's face boxes together span
#: less than this share of the frame's height (a webcam or interview shot) ...
ZOOM_BELOW = 0.2
#: ... showing a square in which the face is this share of the side
ZOOM_FACE_SHARE = 0.4


def face_view(landmarks: np.ndarray, frame_shape: tuple[int, ...]) -> Optional[tuple[int, int, int, int]]:
    """The part of the driving frames to show for a take whose face is small in them:
    (x0, y0, x1, y1) pixels, one square for the whole take (the view does not jump), or
    None to show whole frames.

    Args:
        landmarks: (F, N, 2+) the take's 2D landmarks, pixels (NaN where the face was lost).
        frame_shape: (H, W, ...) of the frames.
    """
    pts = np.asarray(landmarks[:, :468, :2], np.float32)
    ok = np.isfinite(pts).all(axis=(1, 2))
    if not ok.any():
        return None
    pts = pts[ok]
    lo, hi = pts.min(axis=(0, 1)), pts.max(axis=(0, 1))
    H, W = int(frame_shape[0]), int(frame_shape[1])
    if hi[1] - lo[1] >= ZOOM_BELOW * H:
        return None
    face_h = float(np.percentile(pts[:, :, 1].max(1) - pts[:, :, 1].min(1), 90))
    side = int(round(min(max(hi[0] - lo[0], hi[1] - lo[1], face_h / ZOOM_FACE_SHARE), min(H, W))))
    c = 0.5 * (lo + hi)
    x0 = int(round(np.clip(c[0] - side / 2, 0, W - side)))
    y0 = int(round(np.clip(c[1] - side / 2, 0, H - side)))
    return x0, y0, x0 + side, y0 + side


def axes_for(origin, length: float, euler) -> tuple[np.ndarray, np.ndarray]:
    """Head axes: ``origin`` (2,) image px, 3 tips (3, 2) ``length`` px away along the
    rotated x (right), y (up) and z (towards the viewer) axes."""
    R = np.asarray(euler_to_matrix(float(euler[0]), float(euler[1]), float(euler[2]))).reshape(3, 3)
    o = np.asarray(origin, dtype=np.float64)
    tips = np.array([o + length * np.array([R[0, i], -R[1, i]]) for i in range(3)])
    return o, tips


class DrivingView(QObject):
    """Keeps the viewer's driving pane and overlays in step with the playhead.

    Args:
        window: the owning main window (session, viewer, preview, media, view actions).
    """

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self._w = window
        self._cache: dict[tuple[str, int], np.ndarray] = {}  # (clip, frame) -> (H, W, 3) uint8
        self._shown: Optional[tuple[str, int]] = None  # the (clip, frame) the pane should show
        self._views: dict[str, Optional[tuple[int, int, int, int]]] = {}  # take id -> face_view
        self.loader = DrivingFrameLoader(self)  # reads frames off the GUI thread
        self.loader.loaded.connect(self._on_loaded)

    def update_driving(self) -> None:
        """Show the active take's driving frame at the playhead: at once when it was read
        before, else when the loader has read it (the newest request wins)."""
        w = self._w
        take = w.session.active_take()
        path = w.media.driving_path()
        if take is None or path is None or not Path(path).is_file():
            self._shown = None
            w.viewer.driving.clear()
            return
        idx = w.session.playhead - take.start
        if idx < 0 or idx >= take.values.shape[0]:
            return
        self._shown = (str(path), idx)
        img = self._cache.get(self._shown)
        if img is None:
            self.loader.request(str(path), idx)
            return
        self._show(img, idx)

    @Slot(str, int, object)
    def _on_loaded(self, path: str, idx: int, img: object) -> None:
        if img is None:
            return
        if len(self._cache) > DRIVING_CACHE_FRAMES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[(path, idx)] = img  # type: ignore[assignment]
        if self._shown == (path, idx):
            self._show(img, idx)  # type: ignore[arg-type]

    def _show(self, img: np.ndarray, idx: int) -> None:
        """Put frame ``idx`` of the active take's clip and its overlays in the pane."""
        w = self._w
        take = w.session.active_take()
        if take is None:
            return
        lm = w.media.landmarks.get(take.id)
        if take.id not in self._views and lm is not None:
            self._views[take.id] = face_view(lm, img.shape)
        view = self._views.get(take.id)
        shift = np.zeros(2)
        if view is not None and view[2] <= img.shape[1] and view[3] <= img.shape[0]:
            img = img[view[1]:view[3], view[0]:view[2]]  # a small face: its part of the frame
            shift = np.array([view[0], view[1]], np.float64)
        w.viewer.driving.set_image(np.ascontiguousarray(img))
        pts = lm[idx] if lm is not None and idx < len(lm) else None
        axes = None
        if pts is not None and np.isfinite(np.asarray(pts, dtype=np.float64)[:, :2]).all():
            p2 = np.asarray(pts, dtype=np.float64)[:, :2] - shift
            pts = p2
            origin = p2.mean(axis=0)  # the head's landmarks centre in the driving frame
            length = 0.5 * float(np.ptp(p2[:, 1]))  # half the face height
            axes = axes_for(origin, length, take.values[idx, :3])
        w.viewer.driving.set_overlays(pts, axes)

    def close(self) -> None:
        """Stop the loader's thread and close the clip (the window closes)."""
        self.loader.close()

    def result_head_axes(self) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """Head axes of the result at the playhead: at the rendered head centre (the warp
        animator's projection centre of its target points), or None when unknown."""
        w = self._w
        head = w.media.head
        img = w.viewer.result.image_array()
        if (img is None or head is None or w.media.head_path != w.session.state.source.path
                or len(w.session.frame_range) == 0):
            return None
        ev = w.session.doc.evaluate([w.session.playhead])
        size = (int(img.shape[1]), int(img.shape[0]))
        if w.preview.output.paste_back:
            return None  # the preview shows the crop; paste-back geometry is not tracked
        o = head.origin(ev.translation[0], size)
        return axes_for(o, head.axis_length(float(ev.scale[0]), size), ev.euler[0])

    def update_overlays(self) -> None:
        if self._w.viewer.result.image_array() is None:
            return
        self._w.viewer.result.set_overlays(None, self.result_head_axes())

    def toggle_side_by_side(self) -> None:
        self._w.viewer.set_side_by_side(self._w.act_side.isChecked())

    def toggle_overlays(self) -> None:
        self._w.viewer.set_overlays_visible(self._w.act_landmarks.isChecked(), self._w.act_axes.isChecked())
        self.update_overlays()


__all__ = ["DRIVING_CACHE_FRAMES", "DrivingView", "axes_for", "face_view"]
