"""Project files: new / open / save / save as, recent files, the autosave timer and
the recovery prompt, the dirty title and the save-changes question. Owned by the
main window; lives in the GUI thread."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from dexstudio.core.errors import DexStudioError

if TYPE_CHECKING:
    from dexstudio.io.project_file import Autosaver
    from dexstudio.ui.main_window import MainWindow

PROJECT_FILTER = "DeX Studio projects (*.dexproj)"
MAX_RECENT = 8


class ProjectActions(QObject):
    """The window's File menu for ``.dexproj`` projects and their autosave.

    Args:
        window: the owning main window (its session, settings, recent menu, status bar).
    """

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self._w = window
        self.autosaver: Optional["Autosaver"] = None
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(5000)
        self.autosave_timer.timeout.connect(self._on_autosave_tick)

    # ------------------------------------------------------------------ title / confirm
    def untitled_path(self) -> Path:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or str(Path.home())
        return Path(base) / "untitled.dexproj"

    def update_title(self, *_args) -> None:
        s = self._w.session
        p = s.doc.path
        name = p.name if p else "Untitled"
        self._w.setWindowTitle(f"{name}{'*' if s.dirty else ''} — DeX Studio")

    def confirm_discard(self) -> bool:
        """Ask to save unsaved changes; False when the user cancels."""
        if not self._w.session.dirty:
            return True
        r = QMessageBox.question(self._w, "DeX Studio", "The project has unsaved changes. Save them?",
                                 QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                 | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if r == QMessageBox.StandardButton.Save:
            return self.save()
        return r == QMessageBox.StandardButton.Discard

    # ------------------------------------------------------------------ file actions
    def new_project(self) -> None:
        if self.confirm_discard():
            self.discard_autosave()
            self._w.session.new_document()

    def open_project_dialog(self) -> None:
        if not self.confirm_discard():
            return
        p, _ = QFileDialog.getOpenFileName(self._w, "Open project", "", PROJECT_FILTER)
        if p:
            self.open_project(p, confirm=False)

    def open_project(self, path: str, confirm: bool = True) -> bool:
        from dexstudio.io.project_file import has_recovery, load_project, load_recovery

        if confirm and not self.confirm_discard():
            return False
        try:
            doc = load_project(path)
            if has_recovery(path):
                r = QMessageBox.question(self._w, "DeX Studio",
                                         f"An autosave of {Path(path).name} newer than the file exists "
                                         "(DeX Studio did not close normally). Recover it?",
                                         QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                         QMessageBox.StandardButton.Yes)
                if r == QMessageBox.StandardButton.Yes:
                    doc = load_recovery(path)
        except DexStudioError as exc:
            self._w.show_error(exc)
            return False
        self._w.media.forget_source_image()
        self._w.session.set_document(doc)
        self.add_recent(str(path))
        return True

    def save(self) -> bool:
        if self._w.session.doc.path is None:
            return self.save_as()
        return self.save_to(self._w.session.doc.path)

    def save_as(self) -> bool:
        p, _ = QFileDialog.getSaveFileName(self._w, "Save project", "untitled.dexproj", PROJECT_FILTER)
        if not p:
            return False
        if not p.endswith(".dexproj"):
            p += ".dexproj"
        return self.save_to(Path(p))

    def save_to(self, path: Path) -> bool:
        from dexstudio.io.project_file import save_project

        session = self._w.session
        try:
            save_project(session.doc, path)
        except DexStudioError as exc:
            self._w.show_error(exc)
            return False
        except OSError as exc:
            self._w.show_error(DexStudioError(f"cannot save to {path}: {exc.strerror}",
                                              "choose a folder you can write to (File > Save as)"))
            return False
        session.undo_stack.setClean()
        session._emit_dirty()
        self.update_title()
        self.add_recent(str(path))
        self.discard_untitled()
        self._w.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    # ------------------------------------------------------------------ recent files
    def add_recent(self, path: str) -> None:
        settings = self._w.settings
        recent = [p for p in (settings.value("recent", []) or []) if p != path]
        recent.insert(0, path)
        settings.setValue("recent", recent[:MAX_RECENT])
        self.rebuild_recent_menu()

    def rebuild_recent_menu(self) -> None:
        menu = self._w.recent_menu
        menu.clear()
        recent = self._w.settings.value("recent", []) or []
        if isinstance(recent, str):
            recent = [recent]
        for p in recent:
            a = menu.addAction(p)
            a.setData(p)
            a.triggered.connect(self._open_recent)
        menu.setEnabled(bool(recent))

    @Slot()
    def _open_recent(self) -> None:
        a = self.sender()
        if isinstance(a, QAction):
            self.open_project(a.data())

    # ------------------------------------------------------------------ autosave / recovery
    def reset_autosaver(self, interval_s: float) -> None:
        """A fresh autosaver for the session's current document."""
        from dexstudio.io.project_file import Autosaver

        self.autosaver = Autosaver(self._w.session.doc, float(interval_s), fallback_path=self.untitled_path())

    @Slot()
    def _on_autosave_tick(self) -> None:
        if self.autosaver is None:
            return
        try:
            self.autosaver.tick()
        except DexStudioError as exc:
            self._w.statusBar().showMessage(f"Autosave failed: {exc.message}", 6000)

    def offer_untitled_recovery(self) -> None:
        from dexstudio.io.project_file import has_recovery, load_recovery

        untitled = self.untitled_path()
        if self._w.session.doc.path is not None or not has_recovery(untitled):
            return
        r = QMessageBox.question(self._w, "DeX Studio", "DeX Studio did not close normally. "
                                 "Recover the unsaved project from the autosave?",
                                 QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                 QMessageBox.StandardButton.Yes)
        if r == QMessageBox.StandardButton.Yes:
            try:
                doc = load_recovery(untitled)
            except DexStudioError as exc:
                self._w.show_error(exc)
                return
            doc.path = None
            self._w.session.set_document(doc)
        else:
            self.discard_untitled()

    def discard_untitled(self) -> None:
        from dexstudio.io.project_file import discard_recovery

        discard_recovery(self.untitled_path())

    def discard_autosave(self) -> None:
        from dexstudio.io.project_file import discard_recovery

        if self._w.session.doc.path is not None:
            discard_recovery(self._w.session.doc.path)
        self.discard_untitled()


__all__ = ["MAX_RECENT", "PROJECT_FILTER", "ProjectActions"]
