"""Dark theme (QSS from ``resources/styles``) and icons (SVGs from ``resources/icons``)."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from dexstudio.core.resources import resources_dir

RESOURCES = resources_dir()
ICONS = RESOURCES / "icons"
STYLES = RESOURCES / "styles"


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg`` (an empty icon if missing)."""
    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def apply_theme(app: QApplication) -> None:
    """Fusion style, a dark palette (for what QSS does not reach) and the dark QSS."""
    app.setStyle("Fusion")
    pal = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#23272e", QPalette.ColorRole.WindowText: "#d8dee9",
        QPalette.ColorRole.Base: "#1b1e23", QPalette.ColorRole.AlternateBase: "#242930",
        QPalette.ColorRole.Text: "#d8dee9", QPalette.ColorRole.Button: "#353b45",
        QPalette.ColorRole.ButtonText: "#d8dee9", QPalette.ColorRole.Highlight: "#3b5560",
        QPalette.ColorRole.HighlightedText: "#eceff4", QPalette.ColorRole.ToolTipBase: "#2b3038",
        QPalette.ColorRole.ToolTipText: "#eceff4", QPalette.ColorRole.PlaceholderText: "#6b7383",
        QPalette.ColorRole.Link: "#88c0d0",
    }
    for role, c in colors.items():
        pal.setColor(role, QColor(c))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#5c6370"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#5c6370"))
    app.setPalette(pal)
    qss = STYLES / "dark.qss"
    if qss.is_file():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))
    app.setWindowIcon(icon("app"))
