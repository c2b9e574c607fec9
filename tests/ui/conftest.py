"""Fixtures for the editor tests: an isolated settings file, a small preview crop, a
private render cache, and message boxes that record instead of blocking."""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QSettings, QStandardPaths  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from dexstudio.ui.preferences import Preferences  # noqa: E402

CROP = 96  # small renders keep the UI tests fast


class MessageLog:
    """Captured QMessageBox calls: ``(kind, text)``; ``answer`` is what question() returns."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.answer = QMessageBox.StandardButton.Discard

    def texts(self, kind: str = "warning") -> list[str]:
        return [t for k, t in self.calls if k == kind]


@pytest.fixture
def messages(monkeypatch) -> MessageLog:
    log = MessageLog()

    def warn(_parent, _title, text, *a, **k):
        log.calls.append(("warning", text))
        return QMessageBox.StandardButton.Ok

    def question(_parent, _title, text, *a, **k):
        log.calls.append(("question", text))
        return log.answer

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(warn))
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(warn))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return log


@pytest.fixture
def ui_settings(tmp_path: Path) -> QSettings:
    QStandardPaths.setTestModeEnabled(True)
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    Preferences(crop_size=CROP, cache_dir=str(tmp_path / "cache"), memory_cache_mb=256).save(s)
    return s


@pytest.fixture
def make_window(qtbot, ui_settings, messages):
    """Factory of main windows (closed and joined at teardown)."""
    from dexstudio.ui.main_window import MainWindow
    from dexstudio.ui.theme import apply_theme

    apply_theme(QApplication.instance())
    made = []

    def make():
        w = MainWindow(settings=ui_settings, enable_autosave=False)
        qtbot.addWidget(w)
        w.resize(1280, 800)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.shutdown()
        assert not any(j.thread.isRunning() for j in w.jobs.jobs)
        assert not w.preview.worker.is_alive
    # collect the windows' garbage now, with their threads joined, rather than at some
    # allocation of a later test while that test's window starts its own: the whole
    # suite hung twice in a garbage collection during the next window's construction
    made.clear()
    gc.collect()


def wait_until(qtbot, cond: Callable[[], bool], timeout_s: float = 90.0) -> None:
    qtbot.waitUntil(cond, timeout=int(timeout_s * 1000))


def wait_rendered(qtbot, w, timeout_s: float = 60.0) -> np.ndarray:
    """Wait until the result pane shows the current playhead request's image."""
    def ok() -> bool:
        req = w.preview.current_request()
        if req is None or w.preview.busy:
            return False
        img = w.preview.worker.cached_frame(req)
        shown = w.viewer.result.image_array()
        return img is not None and shown is not None and shown is img
    wait_until(qtbot, ok, timeout_s)
    return np.array(w.viewer.result.image_array(), copy=True)


def load_sample(qtbot, w, portrait: Path, driving: Path) -> None:
    w.open_source(str(portrait))
    wait_until(qtbot, lambda: w.session.state.source.path != "")
    w.add_driving(str(driving))
    wait_until(qtbot, lambda: len(w.session.state.takes) == 1)


class Helpers:
    """Test helpers as a fixture (tests import nothing from conftest)."""

    wait_until = staticmethod(wait_until)
    wait_rendered = staticmethod(wait_rendered)
    load_sample = staticmethod(load_sample)


@pytest.fixture
def ui() -> Helpers:
    return Helpers()
