"""Fast pyqtgraph items for long, dense channel curves.

Where a visible pixel column holds more than ~2 samples, a curve is drawn as its
per-column min..max envelope (one vertical line per column, joined to the neighbour
columns so that no gap appears): exactly the pixels a full polyline would touch, at a
cost that depends on the widget width, not on the number of frames. Zoomed in, it is
an ordinary polyline.

:class:`CurveLayer` draws many curves in one item: the envelopes of all curves of the
same length are computed with one vectorised reduction, and the rendered layer is
kept as an image until the view, the size or a curve changes -- so while one key is
dragged, the other curves cost one image blit (the dragged channel is drawn live by
an :class:`EnvelopeCurveItem`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPen


def _envelope_lines(x_dev0: float, sx: float, i0: int, start: int, ydev: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Per-pixel-column envelope of ``ydev`` ((C, n) device y of samples i0..i0+n-1).

    Returns ``(xc (m,), lo (C, m), hi (C, m))`` joined envelopes, or None when there are
    fewer than 2 samples per column (then draw polylines).
    """
    n = ydev.shape[1]
    x = (np.arange(i0, i0 + n, dtype=np.float64) + start) * sx + x_dev0
    if n <= 2 * (x[-1] - x[0] + 1):
        return None
    col = np.floor(x - x[0]).astype(np.int64)
    starts = np.flatnonzero(np.diff(col, prepend=-1))
    lo = np.minimum.reduceat(ydev, starts, axis=1)
    hi = np.maximum.reduceat(ydev, starts, axis=1)
    lo_j = lo.copy()
    hi_j = hi.copy()
    np.minimum(lo_j[:, 1:], hi[:, :-1], out=lo_j[:, 1:])
    np.maximum(hi_j[:, 1:], lo[:, :-1], out=hi_j[:, 1:])
    xc = x[0] + col[starts] + 0.5
    return xc, lo_j, hi_j


class _LineBuffer:
    def __init__(self) -> None:
        self.arr = internals.PrimitiveArray(QLineF, 4)

    def draw(self, painter: QPainter, xc: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        self.arr.resize(xc.size)
        m = self.arr.ndarray()
        m[:, 0] = xc
        m[:, 1] = lo
        m[:, 2] = xc
        m[:, 3] = hi
        painter.drawLines(*self.arr.drawargs())


def _visible(vb, start: int, n: int) -> tuple[int, int]:
    (vx0, vx1), _ = vb.viewRange()
    i0 = max(0, int(np.floor(vx0)) - start - 1)
    i1 = min(n, int(np.ceil(vx1)) - start + 2)
    return i0, i1


class EnvelopeCurveItem(pg.GraphicsObject):
    """One curve ``y[i]`` at ``x = start + i`` (uniform frame spacing), in view coordinates.

    Args:
        color: line colour; width is always 1 device pixel (cosmetic).
    """

    def __init__(self, color: QColor) -> None:
        super().__init__()
        self._pen = QPen(QColor(color))
        self._pen.setCosmetic(True)
        self._pen.setWidth(1)
        self._start = 0
        self._y = np.zeros(0, dtype=np.float64)
        self._bounds = QRectF()
        self._lines = _LineBuffer()

    def set_color(self, color: QColor) -> None:
        self._pen.setColor(QColor(color))
        self.update()

    def color(self) -> QColor:
        return self._pen.color()

    def set_data(self, start: int, y: np.ndarray) -> None:
        """``y``: (F,) float64 display values of frames ``start .. start+F-1``."""
        self.prepareGeometryChange()
        self._start = int(start)
        self._y = np.ascontiguousarray(y, dtype=np.float64)
        self._bounds = _bounds(self._start, self._y)
        self.update()

    def data(self) -> tuple[int, np.ndarray]:
        return self._start, self._y

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def paint(self, painter: QPainter, option=None, widget=None) -> None:
        vb = self.getViewBox()
        if vb is None or self._y.size == 0:
            return
        tr = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(self._pen)
        _draw_curves(painter, vb, tr.m11(), tr.m22(), tr.dx(), tr.dy(), self._start,
                     self._y[None, :], [self._pen], self._lines)
        painter.restore()


def _bounds(start: int, y: np.ndarray) -> QRectF:
    if not y.size or not np.isfinite(y).any():
        return QRectF()
    lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
    return QRectF(start, lo, max(1.0, y.shape[-1] - 1), max(hi - lo, 1e-9))


def _draw_curves(painter: QPainter, vb, sx: float, sy: float, dx: float, dy: float, start: int,
                 Y: np.ndarray, pens: list[QPen], lines: _LineBuffer) -> None:
    """Draw the rows of ``Y`` ((C, F) display values from frame ``start``) in device space."""
    if sx <= 0:
        return
    i0, i1 = _visible(vb, start, Y.shape[1])
    if i1 - i0 < 1:
        return
    ydev = Y[:, i0:i1] * sy + dy
    env = _envelope_lines(dx, sx, i0, start, ydev)
    if env is None:
        x = (np.arange(i0, i1, dtype=np.float64) + start) * sx + dx
        for row, pen in zip(ydev, pens):
            painter.setPen(pen)
            painter.drawPolyline(pg.functions.arrayToQPolygonF(x, row))
        return
    xc, lo, hi = env
    for c, pen in enumerate(pens):
        painter.setPen(pen)
        lines.draw(painter, xc, lo[c], hi[c])


class CurveLayer(pg.GraphicsObject):
    """Many curves drawn as one cached image (see the module docstring).

    Curves of equal ``(start, length)`` share one (C, F) matrix, so a repaint does one
    envelope reduction per group, not one per curve.
    """

    def __init__(self) -> None:
        super().__init__()
        self._curves: dict[str, tuple[int, np.ndarray, QPen]] = {}
        self._groups: list[tuple[int, np.ndarray, list[QPen]]] = []
        self._dirty_groups = True
        self._bounds = QRectF()
        self._cache_key: Optional[tuple] = None
        self._cache: Optional[QImage] = None
        self._lines = _LineBuffer()

    def set_curve(self, key: str, start: int, y: np.ndarray, color: QColor) -> None:
        pen = QPen(QColor(color))
        pen.setCosmetic(True)
        pen.setWidth(1)
        self._curves[key] = (int(start), np.ascontiguousarray(y, dtype=np.float64), pen)
        self._changed()

    def remove(self, key: str) -> None:
        if self._curves.pop(key, None) is not None:
            self._changed()

    def keys(self) -> list[str]:
        return list(self._curves)

    def _changed(self) -> None:
        self.prepareGeometryChange()
        self._dirty_groups = True
        self._cache_key = None
        self._bounds = None  # computed when asked
        self.update()

    def _rebuild_groups(self) -> None:
        by: dict[tuple[int, int], list[tuple[np.ndarray, QPen]]] = {}
        for start, y, pen in self._curves.values():
            by.setdefault((start, y.size), []).append((y, pen))
        self._groups = [(start, np.stack([y for y, _ in items]), [p for _, p in items])
                        for (start, _), items in by.items()]
        self._dirty_groups = False

    def boundingRect(self) -> QRectF:  # noqa: N802
        if self._bounds is None:
            b = QRectF()
            for start, y, _ in self._curves.values():
                r = _bounds(start, y)
                if not r.isNull():
                    b = r if b.isNull() else b.united(r)
            self._bounds = b
        return self._bounds

    def paint(self, painter: QPainter, option=None, widget=None) -> None:
        vb = self.getViewBox()
        if vb is None or not self._curves:
            return
        if self._dirty_groups:
            self._rebuild_groups()
        tr = painter.transform()
        view = vb.viewRect()
        dev = tr.mapRect(view).toAlignedRect()
        if dev.width() <= 0 or dev.height() <= 0:
            return
        key = (tr.m11(), tr.m22(), tr.dx(), tr.dy(), dev.x(), dev.y(), dev.width(), dev.height())
        if key != self._cache_key or self._cache is None:
            img = QImage(dev.width(), dev.height(), QImage.Format.Format_ARGB32_Premultiplied)
            img.fill(0)
            p = QPainter(img)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            for start, Y, pens in self._groups:
                _draw_curves(p, vb, tr.m11(), tr.m22(), tr.dx() - dev.x(), tr.dy() - dev.y(), start, Y,
                             pens, self._lines)
            p.end()
            self._cache, self._cache_key = img, key
        painter.save()
        painter.resetTransform()
        painter.drawImage(QPointF(dev.x(), dev.y()), self._cache)
        painter.restore()
