"""The viewer: source | driving | result side by side, or the result alone.

Each :class:`ImagePane` paints an RGB uint8 array scaled to fit (or zoomed), keeps the
last good image while a new one renders (a small "rendering" marker shows in the
corner) and can overlay landmarks and head axes.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QWidget


def to_qimage(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 RGB -> QImage (copies, so the array may be reused)."""
    arr = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w, _ = arr.shape
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ImagePane(QWidget):
    """One image with caption, busy marker and optional overlays.

    Signals:
        clicked(float, float): a click in image pixel coordinates (choose a face).
    """

    clicked = Signal(float, float)

    def __init__(self, caption: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.setMinimumSize(160, 160)
        self._image: Optional[QImage] = None
        self._array: Optional[np.ndarray] = None
        self.busy = False
        self.zoom = 1.0  # 1 = fit
        self.placeholder = "No image"
        self.landmarks: Optional[np.ndarray] = None  # (N, 2) image pixels
        self.axes: Optional[tuple[np.ndarray, np.ndarray]] = None  # origin (2,), 3 tips (3, 2)
        self.show_landmarks = False
        self.show_axes = False

    # ------------------------------------------------------------------ state
    def set_image(self, rgb: Optional[np.ndarray]) -> None:
        """Show ``rgb`` ((H, W, 3) uint8); None keeps the last good image."""
        if rgb is None:
            return
        self._array = rgb
        self._image = to_qimage(rgb)
        self.update()

    def clear(self) -> None:
        self._array, self._image = None, None
        self.update()

    def image_array(self) -> Optional[np.ndarray]:
        """The array currently shown (the last good frame)."""
        return self._array

    def set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.update()

    def set_overlays(self, landmarks: Optional[np.ndarray],
                     axes: Optional[tuple[np.ndarray, np.ndarray]]) -> None:
        self.landmarks, self.axes = landmarks, axes
        self.update()

    # ------------------------------------------------------------------ geometry
    def _target_rect(self) -> QRectF:
        assert self._image is not None
        r = QRectF(self.rect()).adjusted(2, 18, -2, -2)
        iw, ih = self._image.width(), self._image.height()
        s = min(r.width() / iw, r.height() / ih) * self.zoom
        w, h = iw * s, ih * s
        return QRectF(r.center().x() - w / 2, r.center().y() - h / 2, w, h)

    def mousePressEvent(self, ev) -> None:  # noqa: N802
        if self._image is not None and ev.button() == Qt.MouseButton.LeftButton:
            t = self._target_rect()
            if t.contains(ev.position()):
                sx = self._image.width() / t.width()
                self.clicked.emit((ev.position().x() - t.left()) * sx, (ev.position().y() - t.top()) * sx)
        super().mousePressEvent(ev)

    def wheelEvent(self, ev) -> None:  # noqa: N802
        self.zoom = float(np.clip(self.zoom * (1.15 if ev.angleDelta().y() > 0 else 1 / 1.15), 0.2, 8.0))
        self.update()

    def mouseDoubleClickEvent(self, ev) -> None:  # noqa: N802
        self.zoom = 1.0  # back to fit
        self.update()

    # ------------------------------------------------------------------ paint
    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#181a1f"))
        p.setPen(QColor("#8a93a3"))
        f = QFont(p.font())
        f.setPointSizeF(8.0)
        p.setFont(f)
        p.drawText(QRectF(6, 2, self.width() - 12, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   self.caption)
        if self._image is None:
            p.drawText(QRectF(self.rect()).adjusted(12, 20, -12, -8),
                       int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap), self.placeholder)
        else:
            t = self._target_rect()
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, t.width() < self._image.width())
            p.drawImage(t, self._image)
            s = t.width() / self._image.width()
            if self.show_landmarks and self.landmarks is not None:
                p.setPen(QPen(QColor(136, 192, 208, 200), 2))
                pts = [QPointF(t.left() + x * s, t.top() + y * s) for x, y in self.landmarks[::2]]
                p.drawPoints(pts)
            if self.show_axes and self.axes is not None:
                o, tips = self.axes
                po = QPointF(t.left() + o[0] * s, t.top() + o[1] * s)
                for tip, col in zip(tips, ("#bf616a", "#a3be8c", "#81a1c1")):
                    p.setPen(QPen(QColor(col), 2))
                    p.drawLine(po, QPointF(t.left() + tip[0] * s, t.top() + tip[1] * s))
        if self.busy:  # subtle "rendering" marker, top right
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(235, 203, 139, 200))
            p.drawEllipse(QPointF(self.width() - 10, 10), 4, 4)
            p.setPen(QColor("#ebcb8b"))
            p.drawText(QRectF(0, 2, self.width() - 18, 16),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "rendering")
        p.end()


class Viewer(QWidget):
    """Source | driving | result, or result alone."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.source = ImagePane("Source", self)
        self.source.placeholder = "Open a source portrait (File > Open source, or drop an image)"
        self.driving = ImagePane("Driving", self)
        self.driving.placeholder = "No driving clip: keyframe by hand, or add one"
        self.result = ImagePane("Result", self)
        self.result.placeholder = "The animated portrait appears here"
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(3)
        for pane in (self.source, self.driving, self.result):
            lay.addWidget(pane, 1)
        self.side_by_side = True

    def set_side_by_side(self, on: bool) -> None:
        self.side_by_side = on
        self.source.setVisible(on)
        self.driving.setVisible(on)

    def set_overlays_visible(self, landmarks: bool, axes: bool) -> None:
        for pane in (self.driving, self.result):
            pane.show_landmarks, pane.show_axes = landmarks, axes
            pane.update()
