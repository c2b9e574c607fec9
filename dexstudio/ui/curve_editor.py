"""The curve editor: pyqtgraph plot of channel curves, keys, playhead, ruler and cache bar.

It draws :class:`~dexstudio.ui.curve_data.CurveData` values and reports gestures as
signals; it never edits data itself. Speed: every curve is a ``PlotDataItem`` with
``clipToView`` + peak downsampling and no finite check, so 24 channels x 18,000 frames
redraw in a few milliseconds (``dexstudio bench ui``).

Mouse: click a key to select it (Shift adds, Ctrl toggles), drag on empty space to box
select, drag a key to move the selection (time snapped to frames), double-click to
insert a key, click on empty space to move the playhead, middle-drag or Alt+drag to pan,
wheel to zoom (Ctrl+wheel: time only, Shift+wheel: values only), right-click for the
interpolation menu. A selected Bezier key shows its in/out handles: drag one to set the
key's slopes (the other handle follows, aligned; Shift+drag breaks them apart); one drag
is one undo step. Keys: I insert at playhead, Del delete, F / Home frame all.

Blend-weight rows (``blend:<channel>`` ids, see :mod:`dexstudio.ui.curve_data`) are drawn
like channels in their own colour.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QKeyEvent, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from dexstudio.core.channels import CHANNEL_SPECS, ChannelGroup
from dexstudio.core.timebase import FrameRate
from dexstudio.ui.curve_data import (
    CurveData, HandleMove, HandleSide, INTERP_LABELS, Interp, KeyMove, KeyRef, channel_of, is_blend_id,
)
from dexstudio.ui.envelope_curve import CurveLayer, EnvelopeCurveItem
from dexstudio.ui.theme import icon

pg.setConfigOptions(antialias=False, background="#1b1e23", foreground="#8a93a3")

#: Curve colours per channel group (the hue tells the group at a glance).
GROUP_COLORS: dict[ChannelGroup, tuple[str, ...]] = {
    ChannelGroup.POSE: ("#bf616a", "#d08770", "#ebcb8b", "#a3be8c", "#8fbcbb", "#b48ead"),
    ChannelGroup.EYES: ("#88c0d0", "#81a1c1", "#5e81ac"),
    ChannelGroup.BROWS: ("#d08770", "#ebcb8b"),
    ChannelGroup.JAW: ("#a3be8c", "#8fbcbb"),
    ChannelGroup.MOUTH: ("#b48ead", "#e58fb0", "#f0a6ca", "#c9a0dc"),
    ChannelGroup.CHEEKS_NOSE: ("#ebcb8b", "#d8b46a"),
    ChannelGroup.GAZE: ("#88c0d0", "#8fbcbb"),
    ChannelGroup.DETAIL: ("#7b8496", "#99a1b3"),
}
KEY_COLOR = QColor("#ebcb8b")
BLEND_COLOR = QColor("#e5e9f0")  # blend-weight rows: near white, unlike every group hue
HANDLE_COLOR = QColor("#88c0d0")
KEY_SELECTED_COLOR = QColor("#ffffff")
PLAYHEAD_COLOR = "#e06c75"
PICK_RADIUS_PX = 7.0
# shared objects: pyqtgraph caches rendered key symbols per (brush, pen) object
_KEY_BRUSH = pg.mkBrush(KEY_COLOR)
_KEY_BRUSH_SEL = pg.mkBrush(KEY_SELECTED_COLOR)
_KEY_PEN = pg.mkPen("#1b1e23", width=1)
_KEY_PEN_SEL = pg.mkPen("#ffffff", width=1)


def channel_color(channel_id: str) -> QColor:
    """A stable colour for a channel, by group (blend-weight rows: :data:`BLEND_COLOR`)."""
    if is_blend_id(channel_id):
        return QColor(BLEND_COLOR)
    spec = CHANNEL_SPECS.get(channel_id)
    group = spec.group if spec else ChannelGroup.DETAIL
    palette = GROUP_COLORS[group]
    return QColor(palette[hash(channel_id) % len(palette)] if spec is None else
                  palette[list(CHANNEL_SPECS).index(channel_id) % len(palette)])


class TimeAxis(pg.AxisItem):
    """The time ruler: frame numbers, with timecode under the major ticks."""

    def __init__(self, orientation: str = "top") -> None:
        super().__init__(orientation)
        self.rate = FrameRate(30)
        self.show_timecode = True

    def _major(self, span: float, size: float) -> float:
        """Smallest 'nice' frame spacing whose labels do not overlap."""
        fps = max(1, round(self.rate.fps))
        per_px = span / max(size, 1.0)
        cands = sorted({1, 2, 5, 10, 20, 50, 100, fps, 2 * fps, 5 * fps, 10 * fps, 30 * fps, 60 * fps,
                        120 * fps, 300 * fps, 600 * fps, 1800 * fps, 3600 * fps})
        for c in cands:
            label_px = 118 if (self.show_timecode and c >= fps) else 34
            if c / per_px >= label_px:
                return float(c)
        return float(cands[-1])

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802 (pyqtgraph API)
        major = self._major(maxVal - minVal, size)
        minor = max(1.0, major / 5 if major % 5 == 0 else major / 2 if major % 2 == 0 else major)
        return [(major, 0.0), (minor, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        fps = max(1, round(self.rate.fps))
        if self.show_timecode and spacing >= fps:
            return [f"{int(round(v))}  {self.rate.timecode(int(round(v)))}" for v in values]
        return [str(int(round(v))) for v in values]


class CacheBar(QWidget):
    """A thin bar under the ruler: rendered frames in teal, the playhead frame marked."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(6)
        self.setToolTip("Cache: frames already rendered are teal")
        self._mask = np.zeros(0, dtype=bool)
        self._start = 0
        self._x0, self._x1 = 0.0, 1.0
        self._left_px = 0.0
        self._width_px = 1.0

    def set_mask(self, start: int, mask: np.ndarray) -> None:
        self._start, self._mask = start, np.asarray(mask, dtype=bool)
        self.update()

    @property
    def mask(self) -> np.ndarray:
        return self._mask

    def set_view(self, x0: float, x1: float, left_px: float, width_px: float) -> None:
        self._x0, self._x1, self._left_px, self._width_px = x0, x1, left_px, max(1.0, width_px)
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#1b1e23"))
        if self._mask.size == 0 or self._x1 <= self._x0:
            return
        # runs of cached frames -> rectangles (vectorised run detection)
        m = np.concatenate([[False], self._mask, [False]]).astype(np.int8)
        d = np.diff(m)
        starts = np.flatnonzero(d == 1) + self._start
        stops = np.flatnonzero(d == -1) + self._start
        k = self._width_px / (self._x1 - self._x0)
        color = QColor("#4f9a94")
        for a, b in zip(starts, stops):
            xa = self._left_px + (a - 0.5 - self._x0) * k
            xb = self._left_px + (b - 0.5 - self._x0) * k
            if xb < self._left_px or xa > self._left_px + self._width_px:
                continue
            p.fillRect(QRectF(xa, 1, max(1.0, xb - xa), self.height() - 2), color)


class _KeysItem(pg.ScatterPlotItem):
    """Key diamonds. Clicks pass through to the view box, which picks keys itself."""

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        ev.ignore()


@dataclass
class _HandleDrag:
    ref: KeyRef
    side: HandleSide
    key_frame: float
    key_value: float  # channel units
    in_slope: float  # slopes at drag start (channel units per frame)
    out_slope: float
    broken: bool  # Shift: move only this handle
    drag_id: int


@dataclass
class _DragState:
    keys: list[tuple[KeyRef, float]]  # selected keys with their value at drag start
    origin: QPointF  # view coordinates where the drag started
    drag_id: int


class CurveViewBox(pg.ViewBox):
    """ViewBox with key picking, box select and key drag; owned by :class:`CurveEditor`."""

    def __init__(self, editor: "CurveEditor") -> None:
        super().__init__(enableMenu=False)
        self._editor = editor
        self.setMouseMode(pg.ViewBox.PanMode)

    # --- picking ---
    def pick_key(self, scene_pos: QPointF) -> Optional[KeyRef]:
        return self._editor._pick(self.mapSceneToView(scene_pos), self.viewPixelSize())

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        ed = self._editor
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            if ed._pick_handle(self.mapSceneToView(ev.scenePos()), self.viewPixelSize()) is not None:
                return  # a click on a handle keeps the selection
            key = self.pick_key(ev.scenePos())
            mods = ev.modifiers()
            if key is not None:
                ed._select_key(key, mods)
            else:
                if not (mods & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)):
                    ed.set_selection(set())
                ed.playheadScrubbed.emit(int(round(self.mapSceneToView(ev.scenePos()).x())))
        elif ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            key = self.pick_key(ev.scenePos())
            if key is not None and key not in ed.selection:
                ed.set_selection({key})
            ed._show_context_menu(ev.screenPos().toPoint())

    def mouseDoubleClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            frame = int(round(p.x()))
            self._editor.playheadScrubbed.emit(frame)
            self._editor.request_insert(frame, near_value=p.y())

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        ed = self._editor
        pan = (ev.button() == Qt.MouseButton.MiddleButton
               or (ev.button() == Qt.MouseButton.LeftButton
                   and ev.modifiers() & Qt.KeyboardModifier.AltModifier))
        if pan or ev.button() == Qt.MouseButton.RightButton:
            # pan (middle / Alt) or zoom (right) as pyqtgraph does by default
            if pan and ev.button() == Qt.MouseButton.LeftButton:
                ev.accept()
                tr = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
                self.translateBy(x=tr.x(), y=tr.y())
                return
            if ev.button() == Qt.MouseButton.MiddleButton:
                ev.accept()
                tr = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
                self.translateBy(x=tr.x(), y=tr.y())
                return
            super().mouseDragEvent(ev, axis)
            return
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        ev.accept()
        if ev.isStart():
            ed._handle_drag = None
            down = self.mapSceneToView(ev.buttonDownScenePos())
            h = ed._pick_handle(down, self.viewPixelSize())
            if h is not None:
                ed._begin_handle_drag(h[0], h[1], bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier))
                return
            key = self.pick_key(ev.buttonDownScenePos())
            if key is not None:
                if key not in ed.selection:
                    ed._select_key(key, ev.modifiers())
                ed._begin_drag(self.mapSceneToView(ev.buttonDownScenePos()))
            else:
                ed._drag = None
                self._box_origin = self.mapSceneToView(ev.buttonDownScenePos())
                ed._show_box(self._box_origin, self._box_origin)
            return
        cur = self.mapSceneToView(ev.scenePos())
        if ed._handle_drag is not None:
            ed._update_handle_drag(cur, final=ev.isFinish())
            return
        if ed._drag is not None:
            ed._update_drag(cur, final=ev.isFinish())
        else:
            origin = getattr(self, "_box_origin", cur)
            ed._show_box(origin, cur)
            if ev.isFinish():
                ed._finish_box(origin, cur, ev.modifiers())

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802
        mods = ev.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier:
            axis = 0
        elif mods & Qt.KeyboardModifier.ShiftModifier:
            axis = 1
        super().wheelEvent(ev, axis)


class CurveEditor(QWidget):
    """Curve editor widget.

    Signals:
        playheadScrubbed(int): the user clicked/dragged the time to a frame.
        insertKeysRequested(list[KeyRef]): insert keys (value = current curve value).
        deleteKeysRequested(list[KeyRef]): delete these keys.
        keysDragged(int, list[KeyMove], bool): a drag step: drag id (same for one whole
            drag), target positions from the drag start, and whether it is the last step.
        interpolationRequested(list[KeyRef], Interp): set the interpolation of keys.
        handleDragged(int, HandleMove, bool): a Bezier handle drag step: drag id, the
            key's new slopes, whether it is the last step.
        handlesResetRequested(list[KeyRef]): back to auto-clamped handles.
        selectionChanged(): the key selection changed.
    """

    playheadScrubbed = Signal(int)
    insertKeysRequested = Signal(list)
    deleteKeysRequested = Signal(list)
    keysDragged = Signal(int, list, bool)
    interpolationRequested = Signal(list, object)
    handleDragged = Signal(int, object, bool)
    handlesResetRequested = Signal(list)
    selectionChanged = Signal()

    _drag_ids = itertools.count(1)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.normalized = True
        self.selection: set[KeyRef] = set()
        self._curves: dict[str, CurveData] = {}
        self._items: dict[str, tuple[EnvelopeCurveItem, EnvelopeCurveItem]] = {}  # live (dragged)
        self._live: set[str] = set()
        self._drag: Optional[_DragState] = None
        self._handle_drag: Optional[_HandleDrag] = None
        self._handle_refs: list[tuple[KeyRef, HandleSide, float, float]] = []  # display coords
        self._playhead = 0
        self._range = (0, 1)

        self.vb = CurveViewBox(self)
        self.axis = TimeAxis("top")
        self.plot = pg.PlotWidget(viewBox=self.vb, axisItems={"top": self.axis})
        self.plot.setObjectName("curvePlot")
        pi = self.plot.getPlotItem()
        pi.showAxis("top")
        pi.hideAxis("bottom")
        pi.showGrid(x=False, y=False)  # translucent grid lines cost ~10 ms a repaint
        pi.getAxis("left").setWidth(44)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseTracking(True)

        self.perf_layer = CurveLayer()
        self.perf_layer.setZValue(2)
        self.main_layer = CurveLayer()
        self.main_layer.setZValue(5)
        self.plot.addItem(self.perf_layer)
        self.plot.addItem(self.main_layer)
        self.keys_item = _KeysItem(size=9, symbol="d", pxMode=True, hoverable=False)
        self.keys_item.setZValue(20)
        # the view box picks keys itself (click, Shift/Ctrl-click, drag): the scatter must
        # not swallow the clicks
        self.keys_item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.plot.addItem(self.keys_item)
        # Bezier handles of the selected keys: lines key->handle and round handle ends
        self.handle_lines = pg.PlotCurveItem(pen=pg.mkPen(HANDLE_COLOR, width=1), connect="pairs")
        self.handle_lines.setZValue(18)
        self.plot.addItem(self.handle_lines)
        self.handles_item = _KeysItem(size=7, symbol="o", pxMode=True, hoverable=False,
                                      brush=pg.mkBrush(HANDLE_COLOR), pen=pg.mkPen("#1b1e23", width=1))
        self.handles_item.setZValue(19)
        self.handles_item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.plot.addItem(self.handles_item)
        self.playhead = pg.InfiniteLine(pos=0, angle=90, movable=True,
                                        pen=pg.mkPen(PLAYHEAD_COLOR, width=1.5),
                                        hoverPen=pg.mkPen("#ff9aa2", width=2))
        self.playhead.setZValue(30)
        self.playhead.sigDragged.connect(self._on_playhead_dragged)
        self.plot.addItem(self.playhead)
        self.loop_region = pg.LinearRegionItem(movable=False, brush=QColor(136, 192, 208, 18),
                                               pen=pg.mkPen(QColor(136, 192, 208, 60)))
        self.loop_region.setZValue(-10)
        self.loop_region.hide()
        self.plot.addItem(self.loop_region)
        self.box = QRectF()
        self.box_item = pg.QtWidgets.QGraphicsRectItem()
        self.box_item.setPen(pg.mkPen("#88c0d0", width=1, style=Qt.PenStyle.DashLine))
        self.box_item.setBrush(QColor(136, 192, 208, 30))
        self.box_item.setZValue(40)
        self.box_item.hide()
        self.vb.addItem(self.box_item, ignoreBounds=True)

        self.cache_bar = CacheBar(self)
        self.vb.sigXRangeChanged.connect(self._sync_cache_bar)
        self.vb.sigResized.connect(self._sync_cache_bar)

        bar = QHBoxLayout()
        bar.setContentsMargins(2, 2, 2, 0)
        self.btn_frame = self._tool("frame_all", "Frame all keys and curves (F / Home)", self.frame_all)
        self.btn_insert = self._tool("key_add", "Insert key at the playhead (I, or double-click)",
                                     lambda: self.request_insert(self._playhead))
        self.btn_delete = self._tool("key_delete", "Delete selected keys (Del)", self.request_delete)
        self.btn_norm = self._tool("overlay", "Normalized view: every curve over its soft range",
                                   self._toggle_normalized)
        self.btn_norm.setCheckable(True)
        self.btn_norm.setChecked(True)
        for b in (self.btn_frame, self.btn_insert, self.btn_delete, self.btn_norm):
            bar.addWidget(b)
        self.legend = QLabel(self)
        self.legend.setObjectName("hint")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.legend.setToolTip("Curves shown: bright = result, dark = performance where keys/freeze "
                               "replace it, diamonds = keys")
        bar.addSpacing(8)
        bar.addWidget(self.legend, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.cache_bar)

    def _tool(self, icon_name: str, tip: str, slot) -> QToolButton:
        b = QToolButton(self)
        b.setIcon(icon(icon_name))
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.clicked.connect(slot)
        return b

    # ------------------------------------------------------------------ data in
    def set_rate(self, rate: FrameRate) -> None:
        self.axis.rate = rate
        self.axis.picture = None
        self.axis.update()

    def set_frame_range(self, start: int, stop: int) -> None:
        self._range = (start, max(start + 1, stop))
        self.vb.setLimits(xMin=start - (stop - start) * 0.5 - 10, xMax=stop + (stop - start) * 0.5 + 10)

    def set_curves(self, curves: list[CurveData]) -> None:
        """Show exactly these channels (others are removed)."""
        wanted = {c.channel_id for c in curves}
        for cid in list(self._curves):
            if cid not in wanted:
                self._drop_live_items(cid)
                self.main_layer.remove(cid)
                self.perf_layer.remove(cid)
                self._curves.pop(cid, None)
        for c in curves:
            self.update_curve(c, _keys=False)
        self.selection = {k for k in self.selection if k.channel_id in wanted}
        self._refresh_keys()
        self._update_legend()

    def _update_legend(self) -> None:
        parts = []
        for cid in list(self._curves)[:12]:
            c = self._curves[cid]
            name = c.label or (CHANNEL_SPECS[cid].display_name if cid in CHANNEL_SPECS else cid)
            parts.append(f'<span style="color:{channel_color(cid).name()}">&#9632;</span>&nbsp;{name}')
        more = len(self._curves) - 12
        self.legend.setText("&nbsp;&nbsp;".join(parts) + (f"&nbsp;&nbsp;+{more} more" if more > 0 else ""))

    def update_curve(self, c: CurveData, _keys: bool = True) -> None:
        """Replace one channel's data (fast path during drags)."""
        cid = c.channel_id
        self._curves[cid] = c
        color = channel_color(cid)
        if c.muted:
            color = color.darker(220)
        dim = QColor(color).darker(260)  # opaque: no blending cost per pixel
        y = np.asarray(c.to_display(c.values, self.normalized), dtype=np.float64)
        yp = (None if c.performance is None else
              np.asarray(c.to_display(c.performance, self.normalized), dtype=np.float64))
        if cid in self._live:
            items = self._items.get(cid)
            if items is None:
                items = (EnvelopeCurveItem(dim), EnvelopeCurveItem(color))
                items[0].setZValue(3)
                items[1].setZValue(6)
                for it in items:
                    self.plot.addItem(it)
                self._items[cid] = items
            self.main_layer.remove(cid)
            self.perf_layer.remove(cid)
            perf, main = items
            main.set_color(color)
            main.set_data(c.start, y)
            if yp is not None:
                perf.set_data(c.start, yp)
                perf.show()
            else:
                perf.hide()
        else:
            self._drop_live_items(cid)
            self.main_layer.set_curve(cid, c.start, y, color)
            if yp is not None:
                self.perf_layer.set_curve(cid, c.start, yp, dim)
            else:
                self.perf_layer.remove(cid)
        if _keys:
            self._refresh_keys()

    def _drop_live_items(self, cid: str) -> None:
        items = self._items.pop(cid, None)
        if items is not None:
            for it in items:
                self.plot.removeItem(it)

    def _set_live(self, cids: set[str]) -> None:
        """Channels being dragged are drawn by their own items; the rest stay cached."""
        old, self._live = self._live, set(cids)
        for cid in old ^ self._live:
            c = self._curves.get(cid)
            if c is not None:
                self.update_curve(c, _keys=False)

    def curves(self) -> dict[str, CurveData]:
        return dict(self._curves)

    def set_playhead(self, frame: int) -> None:
        self._playhead = int(frame)
        if not self.playhead.moving:
            self.playhead.blockSignals(True)
            self.playhead.setValue(frame)
            self.playhead.blockSignals(False)

    def set_loop(self, rng: Optional[tuple[int, int]]) -> None:
        if rng is None:
            self.loop_region.hide()
        else:
            self.loop_region.setRegion((rng[0] - 0.5, rng[1] - 0.5))
            self.loop_region.show()

    def set_cache_mask(self, start: int, mask: np.ndarray) -> None:
        self.cache_bar.set_mask(start, mask)

    # ------------------------------------------------------------------ keys
    def _refresh_keys(self) -> None:
        xs, ys, brushes, pens, data = [], [], [], [], []
        for cid, c in self._curves.items():
            if c.key_frames.size == 0:
                continue
            d = np.asarray(c.to_display(c.key_values, self.normalized), dtype=np.float64)
            for f, y in zip(c.key_frames.tolist(), d.tolist()):
                ref = KeyRef(cid, int(f))
                sel = ref in self.selection
                xs.append(float(f))
                ys.append(y)
                brushes.append(_KEY_BRUSH_SEL if sel else _KEY_BRUSH)
                pens.append(_KEY_PEN_SEL if sel else _KEY_PEN)
                data.append(ref)
        self.keys_item.setData(x=xs, y=ys, brush=brushes, pen=pens, data=data)
        self._refresh_handles()

    def _refresh_handles(self) -> None:
        """Handles of the selected keys that have Bezier segments (display coords)."""
        refs: list[tuple[KeyRef, HandleSide, float, float]] = []
        lx: list[float] = []
        ly: list[float] = []
        for ref in sorted(self.selection, key=lambda k: (k.channel_id, k.frame)):
            c = self._curves.get(ref.channel_id)
            if c is None or c.key_handles is None or c.key_bezier is None:
                continue
            idx = np.flatnonzero(c.key_frames == ref.frame)
            if idx.size == 0 or not c.key_bezier[idx[0]].any():
                continue
            i = int(idx[0])
            ky = float(c.to_display(c.key_values[i], self.normalized))
            for j, side in enumerate((HandleSide.IN, HandleSide.OUT)):
                if not c.key_bezier[i, j]:
                    continue
                hf, hv = c.key_handles[i, j]
                hy = float(c.to_display(hv, self.normalized))
                refs.append((ref, side, float(hf), hy))
                lx += [float(ref.frame), float(hf)]
                ly += [ky, hy]
        self._handle_refs = refs
        self.handles_item.setData(x=[r[2] for r in refs], y=[r[3] for r in refs])
        self.handle_lines.setData(x=np.asarray(lx, dtype=np.float64), y=np.asarray(ly, dtype=np.float64))

    def handle_positions(self, ref: KeyRef) -> dict[HandleSide, tuple[float, float]]:
        """Display positions of the shown handles of a selected key (tests, tools)."""
        return {side: (x, y) for r, side, x, y in self._handle_refs if r == ref}

    def _pick_handle(self, p: QPointF, px: tuple[float, float]) -> Optional[tuple[KeyRef, HandleSide]]:
        """The handle nearest ``p`` within the pick radius, unless a key is nearer."""
        sx = max(abs(float(px[0])), 1e-12)
        sy = max(abs(float(px[1])), 1e-12)
        best, best_d = None, PICK_RADIUS_PX
        key = self._pick(p, px)
        if key is not None:
            c = self._curves[key.channel_id]
            i = int(np.flatnonzero(c.key_frames == key.frame)[0])
            ky = float(c.to_display(c.key_values[i], self.normalized))
            best_d = min(best_d, float(np.hypot((key.frame - p.x()) / sx, (ky - p.y()) / sy)))
        for ref, side, x, y in self._handle_refs:
            d = float(np.hypot((x - p.x()) / sx, (y - p.y()) / sy))
            if d <= best_d:
                best, best_d = (ref, side), d
        return best

    def _begin_handle_drag(self, ref: KeyRef, side: HandleSide, broken: bool) -> None:
        c = self._curves[ref.channel_id]
        i = int(np.flatnonzero(c.key_frames == ref.frame)[0])
        kv = float(c.key_values[i])
        assert c.key_handles is not None
        (fi, vi), (fo, vo) = c.key_handles[i]
        s_in = (kv - vi) / max(ref.frame - fi, 1e-9)
        s_out = (vo - kv) / max(fo - ref.frame, 1e-9)
        self._handle_drag = _HandleDrag(ref, side, float(ref.frame), kv, float(s_in), float(s_out),
                                        broken, next(self._drag_ids))
        self._set_live({ref.channel_id})  # redrawn by its own items during the drag

    def _update_handle_drag(self, cur: QPointF, final: bool) -> None:
        st = self._handle_drag
        if st is None:
            return
        c = self._curves.get(st.ref.channel_id)
        if c is None:
            self._handle_drag = None
            return
        v = c.from_display(cur.y(), self.normalized)
        if st.side is HandleSide.OUT:
            slope = (v - st.key_value) / max(cur.x() - st.key_frame, 0.05)
        else:
            slope = (st.key_value - v) / max(st.key_frame - cur.x(), 0.05)
        if st.broken:
            s_in, s_out = (slope, st.out_slope) if st.side is HandleSide.IN else (st.in_slope, slope)
        else:
            s_in = s_out = slope
        if final:
            self._handle_drag = None
        self.handleDragged.emit(st.drag_id, HandleMove(st.ref.channel_id, st.ref.frame, st.side,
                                                        float(s_in), float(s_out)), final)
        if final:
            self._set_live(set())

    def programmatic_handle_drag(self, ref: KeyRef, side: HandleSide, points: list[tuple[float, float]],
                                 broken: bool = False) -> None:
        """Drag a handle of a selected key through display ``points`` (tests/benchmarks)."""
        self._begin_handle_drag(ref, side, broken)
        for i, (x, y) in enumerate(points):
            self._update_handle_drag(QPointF(x, y), final=i == len(points) - 1)

    def _pick(self, p: QPointF, px: tuple[float, float]) -> Optional[KeyRef]:
        """The key within :data:`PICK_RADIUS_PX` of ``p`` (view coords); ``px`` = view
        units per device pixel (x, y)."""
        best, best_d = None, PICK_RADIUS_PX
        sx = max(abs(float(px[0])), 1e-12)
        sy = max(abs(float(px[1])), 1e-12)
        for cid, c in self._curves.items():
            if c.key_frames.size == 0:
                continue
            d = np.asarray(c.to_display(c.key_values, self.normalized), dtype=np.float64)
            dist = np.hypot((c.key_frames - p.x()) / sx, (d - p.y()) / sy)
            i = int(np.argmin(dist))
            if dist[i] <= best_d:
                best, best_d = KeyRef(cid, int(c.key_frames[i])), float(dist[i])
        return best

    def set_selection(self, sel: set[KeyRef]) -> None:
        if sel != self.selection:
            self.selection = set(sel)
            self._refresh_keys()
            self.selectionChanged.emit()

    def _select_key(self, key: KeyRef, mods) -> None:
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.set_selection(self.selection ^ {key})
        elif mods & Qt.KeyboardModifier.ShiftModifier:
            self.set_selection(self.selection | {key})
        else:
            self.set_selection({key})

    def _show_box(self, a: QPointF, b: QPointF) -> None:
        r = QRectF(a, b).normalized()
        self.box_item.setRect(r)
        self.box_item.show()

    def _finish_box(self, a: QPointF, b: QPointF, mods) -> None:
        self.box_item.hide()
        r = QRectF(a, b).normalized()
        hit: set[KeyRef] = set()
        for cid, c in self._curves.items():
            if c.key_frames.size == 0:
                continue
            d = np.asarray(c.to_display(c.key_values, self.normalized), dtype=np.float64)
            inside = ((c.key_frames >= r.left()) & (c.key_frames <= r.right())
                      & (d >= r.top()) & (d <= r.bottom()))
            hit |= {KeyRef(cid, int(f)) for f in c.key_frames[inside]}
        if mods & Qt.KeyboardModifier.ShiftModifier:
            hit |= self.selection
        self.set_selection(hit)

    def _key_value(self, ref: KeyRef) -> float:
        c = self._curves[ref.channel_id]
        idx = np.flatnonzero(c.key_frames == ref.frame)
        return float(c.key_values[idx[0]]) if idx.size else 0.0

    def _begin_drag(self, origin: QPointF) -> None:
        keys = [(k, self._key_value(k)) for k in sorted(self.selection, key=lambda k: (k.channel_id, k.frame))
                if k.channel_id in self._curves]
        self._drag = _DragState(keys, origin, next(self._drag_ids))
        self._set_live({k.channel_id for k, _ in keys})

    def drag_moves(self, dframe: int, ddisplay: float) -> list[KeyMove]:
        """Targets of the current drag for an offset of ``dframe`` frames and ``ddisplay``
        display units (public for the benchmark and tests)."""
        assert self._drag is not None
        moves = []
        for ref, v0 in self._drag.keys:
            c = self._curves[ref.channel_id]
            moves.append(KeyMove(ref.channel_id, ref.frame, ref.frame + dframe,
                                 v0 + ddisplay * c.value_scale(self.normalized)))
        return moves

    def _update_drag(self, cur: QPointF, final: bool) -> None:
        st = self._drag
        if st is None:
            return
        dframe = int(round(cur.x() - st.origin.x()))
        moves = self.drag_moves(dframe, cur.y() - st.origin.y())
        if final:
            self._drag = None
        # the selection follows the keys
        self.selection = {KeyRef(m.channel_id, m.new_frame) for m in moves}
        self.keysDragged.emit(st.drag_id, moves, final)
        if final:
            self._set_live(set())
            self.selectionChanged.emit()

    def begin_programmatic_drag(self) -> int:
        """Start a drag of the selection without a mouse (benchmark/tests); returns its id."""
        self._begin_drag(QPointF(0, 0))
        assert self._drag is not None
        return self._drag.drag_id

    def programmatic_drag_step(self, dframe: int, ddisplay: float, final: bool = False) -> None:
        self._update_drag(QPointF(dframe, ddisplay), final)

    # ------------------------------------------------------------------ commands out
    def request_insert(self, frame: int, near_value: Optional[float] = None) -> None:
        """Insert keys at ``frame``: on the curve nearest ``near_value`` when given
        (double-click), otherwise on every shown channel."""
        if not self._curves:
            return
        cids = list(self._curves)
        if near_value is not None:
            def dist(cid: str) -> float:
                c = self._curves[cid]
                i = min(max(frame - c.start, 0), len(c.values) - 1)
                return abs(float(c.to_display(c.values[i], self.normalized)) - near_value)
            cids = [min(cids, key=dist)]
        self.insertKeysRequested.emit([KeyRef(cid, int(frame)) for cid in cids])

    def request_delete(self) -> None:
        if self.selection:
            refs = sorted(self.selection, key=lambda k: (k.channel_id, k.frame))
            self.set_selection(set())
            self.deleteKeysRequested.emit(refs)

    def _show_context_menu(self, global_pos) -> None:
        menu = QMenu(self)
        refs = sorted(self.selection, key=lambda k: (k.channel_id, k.frame))
        for it in Interp:
            act = QAction(INTERP_LABELS[it], menu)
            act.setEnabled(bool(refs))
            act.triggered.connect(lambda _=False, it=it: self.interpolationRequested.emit(refs, it))
            menu.addAction(act)
        menu.addSeparator()
        a = menu.addAction("Auto handles (reset Bezier slopes)")
        a.setEnabled(bool(refs))
        a.triggered.connect(lambda: self.handlesResetRequested.emit(refs))
        a = menu.addAction("Insert key at playhead\tI")
        a.triggered.connect(lambda: self.request_insert(self._playhead))
        a = menu.addAction("Delete keys\tDel")
        a.setEnabled(bool(refs))
        a.triggered.connect(self.request_delete)
        a = menu.addAction("Frame all\tF")
        a.triggered.connect(self.frame_all)
        menu.exec(global_pos)

    # ------------------------------------------------------------------ view
    def frame_all(self) -> None:
        lo, hi = np.inf, -np.inf
        for c in self._curves.values():
            for arr in (c.values, c.performance, c.key_values):
                if arr is not None and arr.size:
                    d = np.asarray(c.to_display(arr, self.normalized))
                    lo, hi = min(lo, float(np.nanmin(d))), max(hi, float(np.nanmax(d)))
        if not np.isfinite(lo):
            lo, hi = 0.0, 1.0
        if hi - lo < 1e-6:
            lo, hi = lo - 0.5, hi + 0.5
        pad = (hi - lo) * 0.08
        self.vb.setRange(xRange=self._range, yRange=(lo - pad, hi + pad), padding=0.02)

    def ensure_values_visible(self) -> None:
        """Widen the value range when curves or keys left it (not during a drag)."""
        if self._drag is not None or not self._curves:
            return
        lo, hi = np.inf, -np.inf
        for c in self._curves.values():
            for arr in (c.values, c.key_values):
                if arr is not None and arr.size:
                    d = np.asarray(c.to_display(arr, self.normalized))
                    lo, hi = min(lo, float(np.nanmin(d))), max(hi, float(np.nanmax(d)))
        if not np.isfinite(lo):
            return
        (_, _), (y0, y1) = self.vb.viewRange()
        if lo < y0 or hi > y1:
            pad = (max(hi, y1) - min(lo, y0)) * 0.05
            self.vb.setYRange(min(lo, y0) - pad, max(hi, y1) + pad, padding=0)

    def _toggle_normalized(self) -> None:
        self.normalized = self.btn_norm.isChecked()
        curves = list(self._curves.values())
        for c in curves:
            self.update_curve(c, _keys=False)
        self._refresh_keys()
        self.frame_all()

    @Slot()
    def _sync_cache_bar(self, *_args) -> None:
        x0, x1 = self.vb.viewRange()[0]
        geo = self.vb.sceneBoundingRect()
        view_left = self.plot.mapFromScene(geo.topLeft()).x()
        self.cache_bar.set_view(x0, x1, float(view_left), float(geo.width()))

    @Slot()
    def _on_playhead_dragged(self) -> None:
        f = int(round(self.playhead.value()))
        if f != self._playhead:
            self._playhead = f
            self.playheadScrubbed.emit(f)

    # ------------------------------------------------------------------ keyboard
    def event(self, ev) -> bool:
        if ev.type() == QEvent.Type.ShortcutOverride and isinstance(ev, QKeyEvent):
            if ev.key() in (Qt.Key.Key_Home, Qt.Key.Key_F, Qt.Key.Key_I, Qt.Key.Key_Delete,
                            Qt.Key.Key_Backspace) and not ev.modifiers():
                ev.accept()
                return True
        return super().event(ev)

    def keyPressEvent(self, ev: QKeyEvent) -> None:  # noqa: N802
        k = ev.key()
        if k in (Qt.Key.Key_F, Qt.Key.Key_Home):
            self.frame_all()
        elif k == Qt.Key.Key_I:
            self.request_insert(self._playhead)
        elif k in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.request_delete()
        elif k in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.vb.scaleBy((0.8, 1.0))
        elif k == Qt.Key.Key_Minus:
            self.vb.scaleBy((1.25, 1.0))
        else:
            super().keyPressEvent(ev)
