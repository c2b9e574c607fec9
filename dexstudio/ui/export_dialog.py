"""The export dialog: what to write (MP4 with audio / PNG sequence / side by side, size,
crop or paste-back, range) and, while it runs, progress with a Cancel button."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from dexstudio.core.timebase import FrameRange
from dexstudio.ui.preferences import ExportFormatPref, Preferences


@dataclass(frozen=True)
class ExportRequest:
    """What the user asked to export.

    Attributes:
        path: output .mp4 file or PNG-sequence folder.
        format: MP4, PNG sequence or side-by-side MP4.
        include_audio: copy the driving clip's audio (MP4 only).
        height: output height in pixels (0 = rendered size); width follows the aspect.
        paste_back: paste the animated face back into the full portrait (else the crop).
        frame_range: frames to export.
        crf: x264 quality.
    """

    path: Path
    format: ExportFormatPref
    include_audio: bool
    height: int
    paste_back: bool
    frame_range: FrameRange
    crf: int


class ExportDialog(QDialog):
    """Signals: ``exportRequested(ExportRequest)`` when Export is pressed,
    ``cancelRequested()`` when Cancel is pressed during an export."""

    exportRequested = Signal(object)
    cancelRequested = Signal()

    def __init__(self, prefs: Preferences, frame_range: FrameRange, default_path: str,
                 has_audio: bool, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export video")
        self.setMinimumWidth(560)
        self._running = False
        lay = QVBoxLayout(self)

        g = QGroupBox("Output", self)
        f = QFormLayout(g)
        self.format = QComboBox(g)
        self.format.addItem("MP4 video (H.264) with audio", ExportFormatPref.MP4)
        self.format.addItem("PNG image sequence (folder)", ExportFormatPref.PNG)
        self.format.addItem("Side by side MP4: source | driving | result", ExportFormatPref.SIDE_BY_SIDE)
        self.format.setCurrentIndex(max(0, self.format.findData(prefs.export_format)))
        self.format.currentIndexChanged.connect(self._format_changed)
        f.addRow("Format:", self.format)
        row = QHBoxLayout()
        self.path = QLineEdit(default_path, g)
        self.path.setMinimumWidth(320)
        browse = QPushButton("Browse...", g)
        browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        f.addRow("File:", row)
        self.audio = QCheckBox("Include the driving clip's audio", g)
        self.audio.setChecked(has_audio)
        self.audio.setEnabled(has_audio)
        if not has_audio:
            self.audio.setToolTip("The driving clip has no audio track")
        f.addRow("", self.audio)
        lay.addWidget(g)

        g = QGroupBox("Frame", self)
        f = QFormLayout(g)
        self.framing = QComboBox(g)
        self.framing.addItem("Face crop (the working crop)", False)
        self.framing.addItem("Paste back into the full portrait", True)
        f.addRow("Framing:", self.framing)
        self.height_ = QSpinBox(g)
        self.height_.setRange(0, 4320)
        self.height_.setSpecialValueText("Rendered size")
        self.height_.setSuffix(" px high")
        self.height_.setValue(prefs.export_height)
        f.addRow("Size:", self.height_)
        self.crf = QSpinBox(g)
        self.crf.setRange(0, 51)
        self.crf.setValue(prefs.export_crf)
        self.crf.setToolTip("x264 quality: 0 lossless, 18 visually lossless, 28 small")
        f.addRow("Quality (CRF):", self.crf)
        rr = QHBoxLayout()
        self.start = QSpinBox(g)
        self.stop = QSpinBox(g)
        for s in (self.start, self.stop):
            s.setRange(frame_range.start, max(frame_range.start, frame_range.stop))
            s.setMinimumWidth(90)
        self.start.setValue(frame_range.start)
        self.stop.setValue(frame_range.stop)
        self.stop.setToolTip("First frame not exported (the range is start .. stop-1)")
        rr.addWidget(QLabel("from", g))
        rr.addWidget(self.start)
        rr.addWidget(QLabel("to (exclusive)", g))
        rr.addWidget(self.stop)
        rr.addStretch(1)
        f.addRow("Range:", rr)
        lay.addWidget(g)

        self.progress = QProgressBar(self)
        self.progress.setRange(0, max(1, len(frame_range)))
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m frames")
        self.status = QLabel("", self)
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)

        bb = QHBoxLayout()
        bb.addStretch(1)
        self.export_btn = QPushButton("Export", self)
        self.export_btn.setDefault(True)
        self.export_btn.clicked.connect(self._export)
        self.close_btn = QPushButton("Close", self)
        self.close_btn.clicked.connect(self._close_or_cancel)
        bb.addWidget(self.export_btn)
        bb.addWidget(self.close_btn)
        lay.addLayout(bb)
        self._format_changed()

    @Slot()
    def _format_changed(self) -> None:
        fmt = self.format.currentData()
        self.audio.setVisible(fmt is not ExportFormatPref.PNG)
        p = self.path.text().strip()
        if p:
            base = Path(p)
            if fmt is ExportFormatPref.PNG and base.suffix.lower() == ".mp4":
                self.path.setText(str(base.with_suffix("")) + "_frames")
            elif fmt is not ExportFormatPref.PNG and base.suffix.lower() != ".mp4":
                self.path.setText(str(base).removesuffix("_frames") + ".mp4")

    def _browse(self) -> None:
        if self.format.currentData() is ExportFormatPref.PNG:
            p = QFileDialog.getExistingDirectory(self, "Folder for the PNG sequence")
        else:
            p, _ = QFileDialog.getSaveFileName(self, "Export video", self.path.text(), "MP4 video (*.mp4)")
        if p:
            self.path.setText(p)

    def request(self) -> ExportRequest:
        start, stop = self.start.value(), self.stop.value()
        return ExportRequest(Path(self.path.text().strip()), self.format.currentData(),
                             self.audio.isChecked() and self.audio.isEnabled(), self.height_.value(),
                             bool(self.framing.currentData()), FrameRange(start, max(start, stop)),
                             self.crf.value())

    @Slot()
    def _export(self) -> None:
        if not self.path.text().strip():
            self.status.setText("Choose where to write the export.")
            return
        if self.stop.value() <= self.start.value():
            self.status.setText("The range is empty: 'to' must be after 'from'.")
            return
        self.exportRequested.emit(self.request())

    def set_running(self, running: bool) -> None:
        self._running = running
        self.export_btn.setEnabled(not running)
        self.close_btn.setText("Cancel" if running else "Close")
        if running:
            self.status.setText("Exporting...")

    @Slot(int, int, str)
    def on_progress(self, done: int, total: int, stage: str) -> None:
        if total > 0:
            self.progress.setMaximum(total)
        self.progress.setValue(done)

    def finish(self, text: str) -> None:
        self.set_running(False)
        self.status.setText(text)

    @Slot()
    def _close_or_cancel(self) -> None:
        if self._running:
            self.cancelRequested.emit()
            self.status.setText("Cancelling...")
        else:
            self.accept()

    def reject(self) -> None:  # Esc / window close
        if self._running:
            self.cancelRequested.emit()
            return
        super().reject()

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        if ev.key() == Qt.Key.Key_Escape and self._running:
            self.cancelRequested.emit()
            return
        super().keyPressEvent(ev)
