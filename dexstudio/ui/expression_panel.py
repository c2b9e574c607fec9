"""The expression panel: sliders for the named expression channels that set keys at
the playhead. Works on a still portrait without any driving clip; one slider drag is
one undo step."""

from __future__ import annotations

import itertools
from typing import Optional

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QSlider, QWidget

from dexstudio.core.channels import CHANNEL_SPECS

#: (label, channel id) of the panel's sliders, in display order.
EXPRESSION_SLIDERS: tuple[tuple[str, str], ...] = (
    ("Smile L", "expr.mouthSmileLeft"), ("Smile R", "expr.mouthSmileRight"),
    ("Blink L", "expr.eyeBlinkLeft"), ("Blink R", "expr.eyeBlinkRight"),
    ("Eyes wide L", "expr.eyeWideLeft"), ("Eyes wide R", "expr.eyeWideRight"),
    ("Brows up", "expr.browInnerUp"), ("Brow down L", "expr.browDownLeft"),
    ("Brow down R", "expr.browDownRight"), ("Brow outer L", "expr.browOuterUpLeft"),
    ("Brow outer R", "expr.browOuterUpRight"), ("Jaw open", "expr.jawOpen"),
    ("Pucker", "expr.mouthPucker"), ("Funnel", "expr.mouthFunnel"),
    ("Frown L", "expr.mouthFrownLeft"), ("Frown R", "expr.mouthFrownRight"),
    ("Cheek puff", "expr.cheekPuff"), ("Sneer L", "expr.noseSneerLeft"),
    ("Gaze left", "expr.eyeLookOutLeft"), ("Gaze right", "expr.eyeLookInLeft"),
    ("Gaze up", "expr.eyeLookUpLeft"), ("Gaze down", "expr.eyeLookDownLeft"),
)

_drag_ids = itertools.count(1)


class ExpressionPanel(QScrollArea):
    """Sliders 0..1 bound to the session: moving one keys its channel at the playhead."""

    STEPS = 1000

    def __init__(self, session, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWidgetResizable(True)
        body = QWidget()
        self.setWidget(body)
        grid = QGridLayout(body)
        grid.setContentsMargins(6, 6, 6, 6)
        grid.setVerticalSpacing(3)
        self.sliders: dict[str, QSlider] = {}
        self.labels: dict[str, QLabel] = {}
        self._updating = False
        self._merge: dict[str, int] = {}
        hint = QLabel("Move a slider to key that expression at the playhead.", body)
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        grid.addWidget(hint, 0, 0, 1, 3)
        for row, (label, cid) in enumerate(EXPRESSION_SLIDERS, start=1):
            name = QLabel(label, body)
            name.setToolTip(f"{CHANNEL_SPECS[cid].display_name} ({cid})")
            s = QSlider(Qt.Orientation.Horizontal, body)
            s.setRange(0, self.STEPS)
            s.setObjectName(cid)
            s.setToolTip(f"Key {cid} at the playhead")
            val = QLabel("0.00", body)
            val.setMinimumWidth(34)
            val.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(name, row, 0)
            grid.addWidget(s, row, 1)
            grid.addWidget(val, row, 2)
            s.valueChanged.connect(self._on_value)
            s.sliderPressed.connect(self._on_pressed)
            s.sliderReleased.connect(self._on_released)
            self.sliders[cid] = s
            self.labels[cid] = val
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(len(EXPRESSION_SLIDERS) + 1, 1)
        session.documentChanged.connect(self.refresh)
        session.documentReplaced.connect(self.refresh)
        session.playheadChanged.connect(self.refresh)
        self.refresh()

    @Slot()
    def refresh(self, *_args) -> None:
        rng = self.session.frame_range
        if len(rng) == 0:
            return
        ids = tuple(cid for _, cid in EXPRESSION_SLIDERS)
        vals = self.session.doc.evaluate_values([rng.clamp(self.session.playhead)], ids).values[0]
        self._updating = True
        try:
            for cid, v in zip(ids, vals):
                s = self.sliders[cid]
                if not s.isSliderDown():
                    s.setValue(int(round(float(v) * self.STEPS)))
                self.labels[cid].setText(f"{float(v):.2f}")
        finally:
            self._updating = False

    @Slot()
    def _on_pressed(self) -> None:
        cid = self.sender().objectName()
        self._merge[cid] = next(_drag_ids)

    @Slot()
    def _on_released(self) -> None:
        self._merge.pop(self.sender().objectName(), None)

    @Slot(int)
    def _on_value(self, v: int) -> None:
        if self._updating:
            return
        cid = self.sender().objectName()
        self.set_value(cid, v / self.STEPS)

    def set_value(self, cid: str, value: float) -> None:
        """Key ``cid`` at the playhead (a slider drag merges into one undo step)."""
        mid = self._merge.get(cid)
        self.session.set_key_at_playhead(cid, value, merge_key=None if mid is None else ("expr-slider", cid, mid))
