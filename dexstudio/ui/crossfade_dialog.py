"""The "Crossfade takes..." dialog: fade the performance from take A to take B over a
frame range (core ``PerformanceSource.crossfade`` through ``set_performance``; undoable).

The dialog only collects the choice; it is non-modal (``show()``) and reports it with
:attr:`CrossfadeDialog.crossfadeRequested`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget,
)

from dexstudio.core.take import Take
from dexstudio.core.timebase import FrameRange


@dataclass(frozen=True)
class CrossfadeRequest:
    """Fade from ``take_a`` to ``take_b``: weight 0 at ``first``, 1 at ``last`` (frames,
    inclusive)."""

    take_a: str
    take_b: str
    first: int
    last: int


class CrossfadeDialog(QDialog):
    """Take A, take B, from / to frames.

    Signals:
        crossfadeRequested(object): a :class:`CrossfadeRequest` (on OK).
    """

    crossfadeRequested = Signal(object)

    def __init__(self, takes: Sequence[Take], frame_range: FrameRange, playhead: int,
                 active: Optional[str] = None, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Crossfade takes")
        self.setMinimumWidth(420)
        lay = QVBoxLayout(self)
        intro = QLabel("The performance fades from take A to take B between the two frames "
                       "(ease in-out); before it plays A, after it plays B.", self)
        intro.setWordWrap(True)
        intro.setObjectName("hint")
        lay.addWidget(intro)
        form = QFormLayout()
        self.take_a = QComboBox(self)
        self.take_b = QComboBox(self)
        for t in takes:
            label = f"{t.name} ({t.values.shape[0]} frames)"
            self.take_a.addItem(label, t.id)
            self.take_b.addItem(label, t.id)
        ia = max(0, self.take_a.findData(active)) if active is not None else 0
        self.take_a.setCurrentIndex(ia)
        self.take_b.setCurrentIndex(1 if ia == 0 and len(takes) > 1 else 0)
        form.addRow("Take A (before):", self.take_a)
        form.addRow("Take B (after):", self.take_b)
        lo, hi = frame_range.start, max(frame_range.start, frame_range.stop - 1)
        self.first = QSpinBox(self)
        self.last = QSpinBox(self)
        for s in (self.first, self.last):
            s.setRange(lo, hi)
            s.setMinimumWidth(90)
        self.first.setValue(min(max(playhead, lo), hi))
        self.last.setValue(min(hi, self.first.value() + max(1, round(frame_range.stop - frame_range.start) // 10)))
        self.first.setToolTip("Last frame of pure take A (weight 0)")
        self.last.setToolTip("First frame of pure take B (weight 1)")
        form.addRow("From frame:", self.first)
        form.addRow("To frame:", self.last)
        lay.addLayout(form)
        self.warning = QLabel("", self)
        self.warning.setObjectName("hint")
        lay.addWidget(self.warning)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self._on_ok)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.take_a.currentIndexChanged.connect(self._validate)
        self.take_b.currentIndexChanged.connect(self._validate)
        self._validate()

    def value(self) -> CrossfadeRequest:
        a, b = sorted((self.first.value(), self.last.value()))
        return CrossfadeRequest(str(self.take_a.currentData()), str(self.take_b.currentData()), a, b)

    @Slot()
    def _validate(self, *_a) -> None:
        same = self.take_a.currentData() == self.take_b.currentData()
        self.warning.setText("Choose two different takes." if same else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not same)

    @Slot()
    def _on_ok(self) -> None:
        self.crossfadeRequested.emit(self.value())
        self.accept()


__all__ = ["CrossfadeDialog", "CrossfadeRequest"]
