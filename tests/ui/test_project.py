"""Project handling in the window: dirty title, confirm on close, save / recent files,
autosave + recovery prompt; transport."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QMessageBox

from dexstudio.io.project_file import Autosaver, recovery_path

CID = "expr.jawOpen"


def test_dirty_title_save_recent_and_confirm_close(make_window, tmp_path, messages, ui_settings):
    w = make_window()
    w.session.new_synthetic_project(frames=60, channels=2)
    assert "*" not in w.windowTitle()
    w.session.insert_keys([(CID, 10)], [0.5])
    assert w.windowTitle().startswith("Untitled*")
    # closing with unsaved changes asks; Cancel keeps the window open
    messages.answer = QMessageBox.StandardButton.Cancel
    assert not w.close()
    assert w.isVisible() and messages.texts("question")
    proj = tmp_path / "a.dexproj"
    assert w.save_to(proj)
    assert w.windowTitle().startswith("a.dexproj") and "*" not in w.windowTitle()
    assert str(proj) in (ui_settings.value("recent") or [])
    # undo after saving makes it dirty again; redo back to the saved state is clean
    w.act_undo.trigger()
    assert "*" in w.windowTitle()
    w.act_redo.trigger()
    assert "*" not in w.windowTitle()


def test_autosave_and_recovery_prompt(make_window, tmp_path, messages):
    w = make_window()
    w.session.new_synthetic_project(frames=60, channels=2)
    proj = tmp_path / "b.dexproj"
    assert w.save_to(proj)
    w.session.insert_keys([(CID, 20)], [0.7])
    w._autosaver = Autosaver(w.session.doc, 0.0)
    w._on_autosave_tick()
    assert recovery_path(proj).is_file()
    # a crash: the window goes away without saving; the autosave stays
    w._closing = True  # no save prompt
    w.shutdown()
    assert recovery_path(proj).is_file()  # a dirty window keeps its autosave
    w2 = make_window()
    messages.answer = QMessageBox.StandardButton.Yes
    assert w2.open_project(str(proj), confirm=False)
    assert any("autosave" in t.lower() for t in messages.texts("question"))
    assert w2.session.state.channel(CID).keys.frames == (20,)
    assert w2.session.dirty  # recovered work is not in the file yet


def test_playback_advances_and_shuttle(qtbot, make_window):
    w = make_window()
    w.session.new_synthetic_project(frames=300, channels=1)
    w.session.set_playhead(0)
    w.toggle_play()
    assert w.playing
    qtbot.wait(400)
    f1 = w.session.playhead
    assert f1 > 3  # ~12 frames at 30 fps in 0.4 s (frames are dropped, never slowed)
    w.shuttle(1)  # L again: faster
    assert w._shuttle == 2
    w.shuttle(0)  # K
    assert not w.playing
    f2 = w.session.playhead
    qtbot.wait(100)
    assert w.session.playhead == f2
    w.step(1)
    assert w.session.playhead == f2 + 1
    w.go_end()
    assert w.session.playhead == 299
    w.go_start()
    assert w.session.playhead == 0
    # Space is the play shortcut
    assert w.act_play.shortcut().toString() == "Space"


def test_run_app_opens_a_project_and_exits_cleanly(qtbot, make_window, tmp_path, monkeypatch, messages, ui_settings):
    from PySide6.QtWidgets import QApplication

    from dexstudio.ui import app as app_mod

    w = make_window()
    w.session.new_synthetic_project(frames=30, channels=1)
    proj = tmp_path / "c.dexproj"
    assert w.save_to(proj)
    seen = {}
    made = []

    def make():
        made.append(_isolated(ui_settings))
        return made[-1]

    def fake_exec() -> int:  # instead of the event loop: look at the window, then quit
        seen["visible"] = made[-1].isVisible()
        seen["title"] = made[-1].windowTitle()
        seen["frames"] = len(made[-1].session.frame_range)
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(fake_exec))
    monkeypatch.setattr(app_mod, "make_window", make)
    assert app_mod.run_app(str(proj)) == 0
    assert seen == {"visible": True, "title": "c.dexproj — DeX Studio", "frames": 30}
    assert not made[-1].preview.worker.is_alive  # run_app shut the window down


def _isolated(settings):
    from dexstudio.ui.main_window import MainWindow

    return MainWindow(settings=settings, enable_autosave=False)


def test_second_take_and_switching_the_active_take(qtbot, make_window, sample_driving, ui):
    w = make_window()
    for _ in range(2):
        job = w.add_driving(str(sample_driving))
        ui.wait_until(qtbot, lambda: not job.running, 120)
    st = w.session.state
    assert len(st.takes) == 2 and st.takes[0].id != st.takes[1].id
    assert w.take_combo.count() == 2 and w.take_combo.isEnabled()
    second = st.takes[1].id
    assert w.session.active_take().id == second  # a new take becomes active
    w.take_combo.setCurrentIndex(0)
    w._on_take_chosen(0)
    assert w.session.state.performance.take_a == st.takes[0].id
    w.act_undo.trigger()
    assert w.session.state.performance.take_a == second
    assert w.take_combo.currentData() == second
