"""A fast pyqtgraph curve item for long, dense channel curves.

Where a visible pixel column holds more than ~2 samples, the curve is drawn as its
per-column min..max envelope (one vertical line per column, joined to the neighbour
columns so that no gap appears): exactly the pixels a full polyline would touch, at a
cost that depends on the widget width, not on the number of frames. Zoomed in, it is
an ordinary polyline. 24 curves x 18,000 frames draw in a few milliseconds.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF


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
        self._lines = internals.PrimitiveArray(QLineF, 4)

    # ------------------------------------------------------------------ data
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
        if self._y.size:
            lo, hi = float(np.nanmin(self._y)), float(np.nanmax(self._y))
            self._bounds = QRectF(self._start, lo, max(1.0, self._y.size - 1), max(hi - lo, 1e-9))
        else:
            self._bounds = QRectF()
        self.update()

    def data(self) -> tuple[int, np.ndarray]:
        return self._start, self._y

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802
        if not self._y.size:
            return None, None
        if ax == 0:
            return self._start, self._start + self._y.size - 1
        return float(np.nanmin(self._y)), float(np.nanmax(self._y))

    # ------------------------------------------------------------------ paint
    def paint(self, painter: QPainter, option=None, widget=None) -> None:
        n = self._y.size
        if n == 0:
            return
        tr = painter.transform()
        sx, sy, dx, dy = tr.m11(), tr.m22(), tr.dx(), tr.dy()
        if sx <= 0:
            return
        vb = self.getViewBox()
        if vb is None:
            return
        (vx0, vx1), _ = vb.viewRange()
        i0 = max(0, int(np.floor(vx0)) - self._start - 1)
        i1 = min(n, int(np.ceil(vx1)) - self._start + 2)
        if i1 - i0 < 1:
            return
        y = self._y[i0:i1]
        x_dev = (np.arange(i0, i1, dtype=np.float64) + self._start) * sx + dx
        y_dev = y * sy + dy
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(self._pen)
        if y.size <= 2 * (x_dev[-1] - x_dev[0] + 1):
            poly = pg.functions.arrayToQPolygonF(x_dev, y_dev) if hasattr(
                pg.functions, "arrayToQPolygonF") else QPolygonF([QPointF(a, b) for a, b in zip(x_dev, y_dev)])
            painter.drawPolyline(poly)
        else:
            col = np.floor(x_dev - x_dev[0]).astype(np.int64)
            starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
            lo = np.minimum.reduceat(y_dev, starts)
            hi = np.maximum.reduceat(y_dev, starts)
            # join each column to its left neighbour so the line stays connected
            lo_j = np.minimum(lo, np.r_[hi[0], hi[:-1]])
            hi_j = np.maximum(hi, np.r_[lo[0], lo[:-1]])
            xc = x_dev[0] + col[starts] + 0.5
            self._lines.resize(xc.size)
            m = self._lines.ndarray()
            m[:, 0] = xc
            m[:, 1] = lo_j
            m[:, 2] = xc
            m[:, 3] = hi_j
            painter.drawLines(*self._lines.drawargs())
        painter.restore()
