"""Preferences: a typed value persisted with QSettings, and its dialog."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, fields, replace
from typing import Optional

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
    QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from dexstudio.core.project import AnimatorKind


class DevicePref(enum.Enum):
    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class ExportFormatPref(enum.Enum):
    MP4 = "mp4"
    PNG = "png"
    SIDE_BY_SIDE = "side-by-side"


@dataclass(frozen=True)
class Preferences:
    """Everything the Preferences dialog sets.

    Attributes:
        device: render device choice.
        cpu_threads: threads for CPU rendering (0 = automatic: cores - 1).
        memory_cache_mb, disk_cache_gb: render cache limits.
        cache_dir: render cache folder ("" = the user cache folder).
        animator: default animator of new projects.
        checkpoint: DeX checkpoint (.safetensors) for the DeX animator.
        export_format, export_crf, export_height: default export settings (height 0 = source).
        crop_size: working crop of the preview render, pixels.
        full_turns: warp animator: render head turns in full instead of easing those that
            would reveal what the portrait hides (the face may tear).
        still_background: warp animator: the background stays still while the head moves
            (off: the background near the head moves with it).
        autosave_s: autosave interval, seconds.
    """

    device: DevicePref = DevicePref.AUTO
    cpu_threads: int = 0
    memory_cache_mb: int = 1024
    disk_cache_gb: int = 8
    cache_dir: str = ""
    animator: AnimatorKind = AnimatorKind.WARP
    checkpoint: str = ""
    export_format: ExportFormatPref = ExportFormatPref.MP4
    export_crf: int = 18
    export_height: int = 0
    crop_size: int = 512
    full_turns: bool = False
    still_background: bool = True
    autosave_s: int = 60

    @classmethod
    def load(cls, settings: QSettings) -> "Preferences":
        out = cls()
        for f in fields(cls):
            raw = settings.value(f"prefs/{f.name}")
            if raw is None:
                continue
            default = getattr(out, f.name)
            try:
                if isinstance(default, enum.Enum):
                    val = type(default)(str(raw))
                elif isinstance(default, bool):
                    val = str(raw).lower() in ("1", "true", "yes")
                elif isinstance(default, int):
                    val = int(raw)
                else:
                    val = str(raw)
            except (TypeError, ValueError):
                continue
            out = replace(out, **{f.name: val})
        return out

    def save(self, settings: QSettings) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            settings.setValue(f"prefs/{f.name}", v.value if isinstance(v, enum.Enum) else v)
        settings.sync()


def _combo(parent: QWidget, items: list[tuple[str, object]], current: object, tip: str) -> QComboBox:
    c = QComboBox(parent)
    for label, data in items:
        c.addItem(label, data)
    idx = next((i for i, (_, d) in enumerate(items) if d == current), 0)
    c.setCurrentIndex(idx)
    c.setToolTip(tip)
    return c


class PreferencesDialog(QDialog):
    """Edit :class:`Preferences`; :meth:`value` returns the edited value."""

    def __init__(self, prefs: Preferences, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)

        g = QGroupBox("Rendering", self)
        f = QFormLayout(g)
        self.device = _combo(g, [("Automatic (CUDA when available)", DevicePref.AUTO),
                                 ("CPU", DevicePref.CPU), ("CUDA GPU", DevicePref.CUDA)],
                             prefs.device, "Where frames are rendered")
        f.addRow("Device:", self.device)
        self.threads = QSpinBox(g)
        self.threads.setRange(0, max(1, os.cpu_count() or 1))
        self.threads.setSpecialValueText("Automatic (cores - 1)")
        self.threads.setValue(prefs.cpu_threads)
        self.threads.setToolTip("Threads the CPU renderer uses")
        f.addRow("CPU threads:", self.threads)
        self.animator = _combo(g, [("Warp (built in, real time on a CPU)", AnimatorKind.WARP),
                                   ("DeX diffusion (needs a checkpoint and a GPU)", AnimatorKind.DEX)],
                               prefs.animator, "Which animator renders new projects")
        f.addRow("Animator:", self.animator)
        ck = QHBoxLayout()
        self.checkpoint = QLineEdit(prefs.checkpoint, g)
        self.checkpoint.setPlaceholderText("DeX checkpoint (.safetensors)")
        b = QPushButton("Browse...", g)
        b.clicked.connect(self._browse_checkpoint)
        ck.addWidget(self.checkpoint, 1)
        ck.addWidget(b)
        f.addRow("Checkpoint:", ck)
        self.crop = QSpinBox(g)
        self.crop.setRange(64, 2048)
        self.crop.setSingleStep(64)
        self.crop.setSuffix(" px")
        self.crop.setValue(prefs.crop_size)
        f.addRow("Preview crop size:", self.crop)
        def check(text: str, on: bool, tip: str) -> QCheckBox:
            box = QCheckBox(text, g)
            box.setChecked(on)
            box.setToolTip(tip)
            f.addRow("", box)
            return box

        self.full_turns = check("Full head turns (warp animator)", prefs.full_turns,
                                "Off: turns that would show a cheek or ear the portrait hides are eased "
                                "(a frontal face stays below ~18 deg of yaw). On: turns are rendered in "
                                "full and the face may tear.")
        self.still_background = check("Still background (warp animator)", prefs.still_background,
                                      "On: the background around the head stays where it is while the head "
                                      "moves (the person is found by colour in the portrait). Off: it moves "
                                      "with the head, e.g. when hair is mistaken for background.")
        lay.addWidget(g)

        g = QGroupBox("Cache", self)
        f = QFormLayout(g)
        self.mem = QSpinBox(g)
        self.mem.setRange(64, 65536)
        self.mem.setSingleStep(256)
        self.mem.setSuffix(" MB")
        self.mem.setValue(prefs.memory_cache_mb)
        f.addRow("Memory cache:", self.mem)
        self.disk = QSpinBox(g)
        self.disk.setRange(1, 4096)
        self.disk.setSuffix(" GB")
        self.disk.setValue(prefs.disk_cache_gb)
        f.addRow("Disk cache:", self.disk)
        loc = QHBoxLayout()
        self.cache_dir = QLineEdit(prefs.cache_dir, g)
        self.cache_dir.setPlaceholderText("default: the user cache folder")
        b = QPushButton("Browse...", g)
        b.clicked.connect(self._browse_cache)
        loc.addWidget(self.cache_dir, 1)
        loc.addWidget(b)
        f.addRow("Location:", loc)
        self.autosave = QSpinBox(g)
        self.autosave.setRange(10, 3600)
        self.autosave.setSuffix(" s")
        self.autosave.setValue(prefs.autosave_s)
        f.addRow("Autosave every:", self.autosave)
        lay.addWidget(g)

        g = QGroupBox("Export defaults", self)
        f = QFormLayout(g)
        self.export_format = _combo(g, [("MP4 with audio", ExportFormatPref.MP4),
                                        ("PNG sequence", ExportFormatPref.PNG),
                                        ("Side by side MP4", ExportFormatPref.SIDE_BY_SIDE)],
                                    prefs.export_format, "Default format of the export dialog")
        f.addRow("Format:", self.export_format)
        self.crf = QSpinBox(g)
        self.crf.setRange(0, 51)
        self.crf.setValue(prefs.export_crf)
        self.crf.setToolTip("x264 quality: 0 lossless, 18 visually lossless, 28 small")
        f.addRow("Quality (CRF):", self.crf)
        self.height_ = QSpinBox(g)
        self.height_.setRange(0, 4320)
        self.height_.setSpecialValueText("Source size")
        self.height_.setSuffix(" px high")
        self.height_.setValue(prefs.export_height)
        f.addRow("Size:", self.height_)
        lay.addWidget(g)

        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    def _browse_checkpoint(self) -> None:
        p, _ = QFileDialog.getOpenFileName(self, "DeX checkpoint", "", "Checkpoints (*.safetensors)")
        if p:
            self.checkpoint.setText(p)

    def _browse_cache(self) -> None:
        p = QFileDialog.getExistingDirectory(self, "Cache folder")
        if p:
            self.cache_dir.setText(p)

    def value(self) -> Preferences:
        return Preferences(
            device=self.device.currentData(), cpu_threads=self.threads.value(),
            memory_cache_mb=self.mem.value(), disk_cache_gb=self.disk.value(),
            cache_dir=self.cache_dir.text().strip(), animator=self.animator.currentData(),
            checkpoint=self.checkpoint.text().strip(), export_format=self.export_format.currentData(),
            export_crf=self.crf.value(), export_height=self.height_.value(), crop_size=self.crop.value(),
            full_turns=self.full_turns.isChecked(), still_background=self.still_background.isChecked(),
            autosave_s=self.autosave.value(),
        )
