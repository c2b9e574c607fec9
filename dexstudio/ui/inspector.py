"""The channel inspector: retarget, layer mode, smoothing and freeze of the selected
channel(s). Every change is a command; continuous edits (a spin box held down, a
slider drag) merge into one undo step; the preview follows live."""

from __future__ import annotations

import itertools
from typing import Optional

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider,
    QSpinBox, QVBoxLayout, QWidget, QScrollArea, QCheckBox,
)

from dexstudio.core.channel_state import CombineMode, FilterKind, FreezeMode, RetargetMode, Smoothing
from dexstudio.core.channels import CHANNEL_SPECS
from dexstudio.core.timebase import FrameRange
from dexstudio.ui.session import EditorSession

_edit_serial = itertools.count(1)


class Inspector(QScrollArea):
    """Shows the first selected channel's settings; edits apply to every selected channel."""

    def __init__(self, session: EditorSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self.setWidget(body)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 6, 6, 6)
        self.title = QLabel("No channel selected", body)
        self.title.setObjectName("sectionTitle")
        self.title.setWordWrap(True)
        lay.addWidget(self.title)
        self._updating = False
        self._merge = next(_edit_serial)

        g = QGroupBox("Retarget", body)
        f = QFormLayout(g)
        self.rt_mode = QComboBox(g)
        self.rt_mode.addItem("Relative to reference frame", RetargetMode.RELATIVE)
        self.rt_mode.addItem("Absolute", RetargetMode.ABSOLUTE)
        self.rt_mode.setToolTip("Relative: the driving value at the reference frame maps to the portrait's own value")
        f.addRow("Mode:", self.rt_mode)
        self.gain = self._dspin(g, -10, 10, 0.05, 2, "Multiplies the motion (0.5 = half)")
        f.addRow("Gain:", self.gain)
        self.offset = self._dspin(g, -100, 100, 0.01, 3, "Added after the gain, channel units")
        f.addRow("Offset:", self.offset)
        rr = QHBoxLayout()
        self.ref = QSpinBox(g)
        self.ref.setRange(-1_000_000, 1_000_000)
        self.ref.setToolTip("Frame whose driving value maps to the portrait's own value")
        use = QPushButton("Playhead", g)
        use.setToolTip("Use the playhead frame as the reference frame")
        use.clicked.connect(self._ref_from_playhead)
        rr.addWidget(self.ref, 1)
        rr.addWidget(use)
        f.addRow("Reference:", rr)
        lay.addWidget(g)

        g = QGroupBox("Keyframe layer", body)
        f = QFormLayout(g)
        self.combine = QComboBox(g)
        self.combine.addItem("Override (keys replace)", CombineMode.OVERRIDE)
        self.combine.addItem("Offset (keys add)", CombineMode.OFFSET)
        self.combine.addItem("Blend (weight mixes)", CombineMode.BLEND)
        f.addRow("Mode:", self.combine)
        self.blend = QSlider(Qt.Orientation.Horizontal, g)
        self.blend.setRange(0, 100)
        self.blend.setToolTip("Blend weight of the keys over the performance (Blend mode), at the "
                              "playhead: sets a key there when the weight curve has keys (edit the "
                              "curve in the curve editor), else a constant weight")
        self.blend_label = QLabel("0.50", g)
        br = QHBoxLayout()
        br.addWidget(self.blend, 1)
        br.addWidget(self.blend_label)
        f.addRow("Blend weight:", br)
        lay.addWidget(g)

        g = QGroupBox("Smoothing", body)
        f = QFormLayout(g)
        self.filter = QComboBox(g)
        for label, kind in (("None", FilterKind.NONE), ("One-Euro", FilterKind.ONE_EURO),
                            ("Gaussian", FilterKind.GAUSSIAN), ("Butterworth low-pass", FilterKind.BUTTERWORTH)):
            self.filter.addItem(label, kind)
        f.addRow("Filter:", self.filter)
        self.strength = QSlider(Qt.Orientation.Horizontal, g)
        self.strength.setRange(0, 100)
        self.strength_label = QLabel("1.00", g)
        sr = QHBoxLayout()
        sr.addWidget(self.strength, 1)
        sr.addWidget(self.strength_label)
        f.addRow("Strength:", sr)
        lay.addWidget(g)

        g = QGroupBox("Freeze", body)
        f = QFormLayout(g)
        self.freeze_mode = QComboBox(g)
        self.freeze_mode.addItem("Off", None)
        self.freeze_mode.addItem("Hold the value at a frame", FreezeMode.FRAME)
        self.freeze_mode.addItem("Hold a value", FreezeMode.VALUE)
        f.addRow("Mode:", self.freeze_mode)
        self.freeze_frame = QSpinBox(g)
        self.freeze_frame.setRange(-1_000_000, 1_000_000)
        f.addRow("Frame:", self.freeze_frame)
        self.freeze_value = self._dspin(g, -1000, 1000, 0.01, 3, "Held value, channel units")
        f.addRow("Value:", self.freeze_value)
        fr = QHBoxLayout()
        self.freeze_all = QCheckBox("All", g)
        self.freeze_all.setToolTip("Hold over the whole clip (else only from .. to)")
        self.freeze_all.setChecked(True)
        self.freeze_from = QSpinBox(g)
        self.freeze_to = QSpinBox(g)
        for s in (self.freeze_from, self.freeze_to):
            s.setRange(-1_000_000, 1_000_000)
            s.setMinimumWidth(60)
            s.setMaximumWidth(80)
        fr.addWidget(self.freeze_all)
        fr.addWidget(self.freeze_from)
        fr.addWidget(QLabel("to", g))
        fr.addWidget(self.freeze_to)
        f.addRow("Range:", fr)
        apply = QPushButton("Apply freeze", g)
        apply.clicked.connect(self._apply_freeze)
        f.addRow("", apply)
        lay.addWidget(g)
        lay.addStretch(1)
        # the long item texts elide instead of widening the dock past its edge; the dock
        # is never narrower than what is left (nothing is cut off at its right side)
        for combo in (self.rt_mode, self.combine, self.filter, self.freeze_mode):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        self.setMinimumWidth(body.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
                             + 2 * self.frameWidth())

        self.rt_mode.activated.connect(self._on_rt_mode)
        self.gain.valueChanged.connect(self._on_gain)
        self.offset.valueChanged.connect(self._on_offset)
        self.ref.valueChanged.connect(self._on_ref)
        self.combine.activated.connect(self._on_combine)
        self.blend.valueChanged.connect(self._on_blend)
        self.blend.sliderReleased.connect(self._new_merge)
        self.filter.activated.connect(self._on_smoothing)
        self.strength.valueChanged.connect(self._on_smoothing)
        self.strength.sliderReleased.connect(self._new_merge)
        for w in (self.gain, self.offset, self.ref):
            w.editingFinished.connect(self._new_merge)
        session.channelSelectionChanged.connect(self.refresh)
        session.documentChanged.connect(self.refresh)
        session.documentReplaced.connect(self.refresh)
        session.playheadChanged.connect(self._on_playhead)
        self.refresh()

    @staticmethod
    def _dspin(parent: QWidget, lo: float, hi: float, step: float, dec: int, tip: str) -> QDoubleSpinBox:
        s = QDoubleSpinBox(parent)
        s.setRange(lo, hi)
        s.setSingleStep(step)
        s.setDecimals(dec)
        s.setToolTip(tip)
        s.setKeyboardTracking(False)
        return s

    @property
    def ids(self) -> tuple[str, ...]:
        return self.session.selected

    @Slot()
    def _new_merge(self) -> None:
        self._merge = next(_edit_serial)

    def _mk(self, field: str) -> tuple:
        return ("inspector", field, self.ids, self._merge)

    # ------------------------------------------------------------------ refresh
    @Slot()
    def refresh(self, *_args) -> None:
        ids = self.ids
        body = self.widget()
        body.setEnabled(bool(ids))
        if not ids:
            self.title.setText("No channel selected: pick one in the channel tree")
            return
        cs = self.session.state.channel(ids[0])
        name = CHANNEL_SPECS[ids[0]].display_name
        self.title.setText(name if len(ids) == 1 else f"{name} and {len(ids) - 1} more")
        self._updating = True
        try:
            self.rt_mode.setCurrentIndex(self.rt_mode.findData(cs.retarget.mode))
            self.gain.setValue(cs.retarget.gain)
            self.offset.setValue(cs.retarget.offset)
            # the reference frame is a frame of the project (a frame beyond it would quietly
            # use the edge frame's value); a stored one outside it stays shown as it is
            rng, ref = self.session.frame_range, cs.retarget.reference_frame
            self.ref.setRange(min(rng.start, ref), max(rng.stop - 1, rng.start, ref))
            self.ref.setValue(ref)
            self.combine.setCurrentIndex(self.combine.findData(cs.combine))
            self._show_blend(ids[0])
            self.blend.setEnabled(cs.combine is CombineMode.BLEND)
            self.filter.setCurrentIndex(self.filter.findData(cs.smoothing.kind))
            self.strength.setValue(int(round(cs.smoothing.strength * 100)))
            self.strength_label.setText(f"{cs.smoothing.strength:.2f}")
            fz = cs.freeze
            self.freeze_mode.setCurrentIndex(self.freeze_mode.findData(None if fz is None else fz.mode))
            if fz is not None:
                self.freeze_frame.setValue(fz.frame)
                self.freeze_value.setValue(fz.value)
                self.freeze_all.setChecked(fz.range is None)
                if fz.range is not None:
                    self.freeze_from.setValue(fz.range.start)
                    self.freeze_to.setValue(fz.range.stop)
            else:
                self.freeze_frame.setValue(self.session.playhead)
                rng = self.session.frame_range
                self.freeze_from.setValue(rng.start)
                self.freeze_to.setValue(rng.stop)
        finally:
            self._updating = False

    def _show_blend(self, channel_id: str) -> None:
        w = self.session.blend_weight_at(channel_id)
        self.blend.setValue(int(round(w * 100)))
        keyed = bool(self.session.state.channel(channel_id).blend_weight.keys)
        self.blend_label.setText(f"{w:.2f}" + (" (key)" if keyed else ""))

    @Slot(int)
    def _on_playhead(self, _frame: int) -> None:
        """The blend slider shows the weight curve's value at the playhead."""
        if self.ids and not self.blend.isSliderDown():
            self._updating = True
            try:
                self._show_blend(self.ids[0])
            finally:
                self._updating = False

    # ------------------------------------------------------------------ edits
    @Slot()
    def _on_rt_mode(self, *_a) -> None:
        if not self._updating and self.ids:
            self.session.set_retarget(self.ids, mode=self.rt_mode.currentData())

    @Slot(float)
    def _on_gain(self, v: float) -> None:
        if not self._updating and self.ids:
            self.session.set_retarget(self.ids, merge_key=self._mk("gain"), gain=float(v))

    @Slot(float)
    def _on_offset(self, v: float) -> None:
        if not self._updating and self.ids:
            self.session.set_retarget(self.ids, merge_key=self._mk("offset"), offset=float(v))

    @Slot(int)
    def _on_ref(self, v: int) -> None:
        if not self._updating and self.ids:
            self.session.set_retarget(self.ids, merge_key=self._mk("ref"), reference_frame=int(v))

    @Slot()
    def _ref_from_playhead(self) -> None:
        self.ref.setValue(self.session.playhead)
        self._new_merge()

    @Slot()
    def _on_combine(self, *_a) -> None:
        if not self._updating and self.ids:
            self.session.set_combine(self.ids, self.combine.currentData())

    @Slot(int)
    def _on_blend(self, v: int) -> None:
        self.blend_label.setText(f"{v / 100:.2f}")
        if not self._updating and self.ids:
            self.session.set_blend_weight(self.ids, v / 100.0, merge_key=self._mk("blend"))

    @Slot()
    def _on_smoothing(self, *_a) -> None:
        self.strength_label.setText(f"{self.strength.value() / 100:.2f}")
        if not self._updating and self.ids:
            base = self.session.state.channel(self.ids[0]).smoothing
            sm = Smoothing(self.filter.currentData(), self.strength.value() / 100.0, base.sigma,
                           base.cutoff_hz, base.min_cutoff, base.beta)
            self.session.set_smoothing(self.ids, sm, merge_key=self._mk("smooth"))

    @Slot()
    def _apply_freeze(self) -> None:
        if not self.ids:
            return
        mode = self.freeze_mode.currentData()
        if mode is None:
            self.session.set_frozen(self.ids, False)
            return
        rng = None
        if not self.freeze_all.isChecked():
            a, b = self.freeze_from.value(), self.freeze_to.value()
            rng = FrameRange(min(a, b), max(a, b))
        self.session.set_frozen(self.ids, True, mode=mode, value=self.freeze_value.value(),
                                frame=self.freeze_frame.value(), rng=rng)
