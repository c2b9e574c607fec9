"""The editor's entry point: ``run_app(project)`` (``dexstudio``, ``dexstudio studio``,
``make studio``)."""

from __future__ import annotations

import sys
from typing import Optional


def make_window():
    """The main window with the user's settings (tests replace this factory)."""
    from dexstudio.ui.main_window import MainWindow

    return MainWindow()


def run_app(project: Optional[str] = None) -> int:
    """Open the editor (optionally on a ``.dexproj``) and run until it closes."""
    from PySide6.QtWidgets import QApplication

    from dexstudio.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("DeXStudio")
    app.setApplicationName("DeX Studio")
    apply_theme(app)
    win = make_window()
    if project:
        win.open_project(project, confirm=False)
    win.show()
    code = app.exec()
    win.shutdown()
    return int(code)
