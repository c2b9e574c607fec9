"""Help > Keyboard shortcuts: a table of every action with a shortcut."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog, QHeaderView, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)


class ShortcutsDialog(QDialog):
    """Help > Keyboard shortcuts: every action with a shortcut, from the window's menus."""

    def __init__(self, actions: list[QAction], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(520, 560)
        rows = [(a.property("helpText") or a.text().replace("&", ""),
                 a.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
                for a in actions if not a.shortcut().isEmpty()]
        rows += [("Frame all (curve editor)", "F / Home"), ("Insert key (curve editor)", "I / double-click"),
                 ("Box select keys", "drag on empty space"), ("Pan curves", "middle-drag / Alt+drag"),
                 ("Zoom time / values", "Ctrl+wheel / Shift+wheel")]
        t = QTableWidget(len(rows), 2, self)
        t.setHorizontalHeaderLabels(["Action", "Shortcut"])
        t.verticalHeader().hide()
        t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        t.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for i, (a, k) in enumerate(rows):
            t.setItem(i, 0, QTableWidgetItem(a))
            t.setItem(i, 1, QTableWidgetItem(k))
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        lay = QVBoxLayout(self)
        lay.addWidget(t)
        b = QPushButton("Close", self)
        b.clicked.connect(self.accept)
        lay.addWidget(b, 0, Qt.AlignmentFlag.AlignRight)


__all__ = ["ShortcutsDialog"]
