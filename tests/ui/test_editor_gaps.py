"""Bezier handles, blend-weight rows, crossfade, live preferences and head-axes
placement, against synthetic documents (no media, fast)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtWidgets import QDialogButtonBox

from dexstudio.core import commands as C
from dexstudio.core.channel_state import CombineMode, FreezeMode
from dexstudio.core.keys import Interp as CoreInterp
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.take import PerformanceSource, Take
from dexstudio.core.timebase import FrameRange
from dexstudio.ui.curve_data import BLEND_PREFIX, HandleSide, Interp, KeyRef

CID = "expr.jawOpen"
BID = BLEND_PREFIX + CID


@pytest.fixture
def win(make_window):
    w = make_window()
    w.session.new_synthetic_project(frames=120, channels=1)
    w.channel_tree.select_channels([CID])
    return w


def _pixels_differ(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.any(a != b, axis=-1).sum())


def _grab(w) -> np.ndarray:
    from PySide6.QtGui import QImage

    img = w.curve_editor.plot.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    ptr = img.constBits()
    arr = np.frombuffer(ptr, dtype=np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


# ---------------------------------------------------------------------------- 1. Bezier handles
def test_bezier_handles_shown_dragged_one_undo_step(qtbot, win):
    s, ed = win.session, win.curve_editor
    s.insert_keys([(CID, 20), (CID, 50), (CID, 80)], [0.1, 0.6, 0.2])
    ed.frame_all()
    before_pixels = _grab(win)
    ref = KeyRef(CID, 50)
    ed.set_selection({ref})
    pos = ed.handle_positions(ref)
    assert set(pos) == {HandleSide.IN, HandleSide.OUT}
    # the handles are one third of a segment away from the key, on the curve's tangent
    assert pos[HandleSide.IN][0] == pytest.approx(40.0)
    assert pos[HandleSide.OUT][0] == pytest.approx(60.0)
    qtbot.wait(10)
    assert _pixels_differ(_grab(win), before_pixels) > 20  # handles are drawn
    curve0 = s.state.channel(CID).keys
    v50 = curve0.evaluate(55)[0]
    n = s.undo_stack.count()
    # drag the out handle up in steps (aligned: the in handle follows)
    c = ed.curves()[CID]
    y_key = float(c.to_display(0.6, ed.normalized))
    pts = [(60.0, y_key + 0.05 * i) for i in range(1, 8)]
    ed.programmatic_handle_drag(ref, HandleSide.OUT, pts)
    k = s.state.channel(CID).keys.key_at(50)
    span = c.soft_max - c.soft_min
    want = (0.35 * span) / 10.0  # (display rise * span) over 10 frames
    assert k.out_slope == pytest.approx(want, rel=1e-6)
    assert k.in_slope == pytest.approx(want, rel=1e-6)  # aligned
    assert s.state.channel(CID).keys.evaluate(55)[0] > v50  # the curve follows the handle
    assert s.undo_stack.count() == n + 1  # one undo step for the whole drag
    # the shown handle moved with the document
    assert ed.handle_positions(ref)[HandleSide.OUT][1] == pytest.approx(pts[-1][1], abs=1e-6)
    s.undo_stack.undo()
    assert s.state.channel(CID).keys == curve0
    # broken handles: Shift-drag the in handle only
    s.undo_stack.redo()
    ed.programmatic_handle_drag(ref, HandleSide.IN, [(40.0, y_key), (40.0, y_key)], broken=True)
    k = s.state.channel(CID).keys.key_at(50)
    assert k.in_slope == pytest.approx(0.0, abs=1e-9)
    assert k.out_slope == pytest.approx(want, rel=1e-6)
    # back to auto
    ed.handlesResetRequested.emit([ref])
    k = s.state.channel(CID).keys.key_at(50)
    assert k.in_slope is None and k.out_slope is None


def test_handles_only_for_bezier_keys(win):
    s, ed = win.session, win.curve_editor
    s.insert_keys([(CID, 20), (CID, 50)], [0.1, 0.6])
    s.set_interpolation([KeyRef(CID, 20)], Interp.LINEAR)
    assert s.state.channel(CID).keys.key_at(20).interp is CoreInterp.LINEAR
    ed.set_selection({KeyRef(CID, 20)})
    assert ed.handle_positions(KeyRef(CID, 20)) == {}  # linear segment after, no segment before


def test_handle_drag_on_locked_channel_changes_nothing(win, messages):
    s, ed = win.session, win.curve_editor
    s.insert_keys([(CID, 20), (CID, 50)], [0.1, 0.6])
    s.set_channel_flags([CID], lock=True)
    curve0 = s.state.channel(CID).keys
    ref = KeyRef(CID, 50)
    ed.set_selection({ref})
    ed.programmatic_handle_drag(ref, HandleSide.IN, [(40.0, 0.9)])
    assert s.state.channel(CID).keys == curve0
    assert any("lock" in t for t in messages.texts())


# ---------------------------------------------------------------------------- 2. blend weight
def test_blend_weight_row_shown_and_editable(qtbot, win):
    s, ed = win.session, win.curve_editor
    s.insert_keys([(CID, 30)], [0.9])
    assert BID not in ed.curves()
    s.set_blend_weight([CID], 0.5)  # a constant weight 0.5: a flat white line once shown
    ed.frame_all()

    def white_pixels() -> int:
        img = _grab(win).astype(np.int32)
        return int(((img[..., 0] > 200) & (img[..., 1] > 200) & (img[..., 2] > 200)).sum())

    qtbot.wait(10)
    white0 = white_pixels()
    win.inspector.combine.setCurrentIndex(win.inspector.combine.findData(CombineMode.BLEND))
    win.inspector.combine.activated.emit(win.inspector.combine.currentIndex())
    assert s.state.channel(CID).combine is CombineMode.BLEND
    assert BID in ed.curves()  # its own row
    row = ed.curves()[BID]
    assert row.label.startswith("Blend weight")
    ed.frame_all()
    qtbot.wait(10)
    assert white_pixels() > white0 + 100  # the weight row is drawn (near white)
    # constant weight: the slider sets the constant (no keys)
    win.inspector.blend.setValue(25)
    bw = s.state.channel(CID).blend_weight
    assert bw.keys == () and bw.default == pytest.approx(0.25)
    np.testing.assert_allclose(ed.curves()[BID].values, 0.25)
    # keys on the weight row through the curve editor, as on a channel
    s.set_playhead(10)
    ed.request_insert(10, near_value=0.25)  # nearest row at that height: the weight row
    s.insert_keys([(BID, 90)], [1.0])
    bw = s.state.channel(CID).blend_weight
    assert bw.frames == (10, 90)
    assert bw.key_at(90).value == pytest.approx(1.0)
    # with keys, the slider sets a key at the playhead
    s.set_playhead(50)
    n = s.undo_stack.count()
    win.inspector.blend.setValue(60)
    win.inspector.blend.setValue(70)  # same slider drag: merges
    bw = s.state.channel(CID).blend_weight
    assert bw.frames == (10, 50, 90) and bw.key_at(50).value == pytest.approx(0.7)
    assert s.undo_stack.count() == n + 1
    # the evaluated channel follows the weight: at frame 90 (w = 1) the keys win fully
    assert s.value_at(CID, 90) == pytest.approx(0.9, abs=1e-6)
    # drag the weight key (value clamped to 0..1), one undo step
    ed.set_selection({KeyRef(BID, 50)})
    ed.begin_programmatic_drag()
    ed.programmatic_drag_step(5, 0.2)
    ed.programmatic_drag_step(5, 5.0, final=True)
    bw = s.state.channel(CID).blend_weight
    assert bw.frames == (10, 55, 90) and bw.key_at(55).value == pytest.approx(1.0)
    s.undo_stack.undo()
    assert s.state.channel(CID).blend_weight.frames == (10, 50, 90)
    # delete a weight key
    ed.set_selection({KeyRef(BID, 90)})
    ed.request_delete()
    assert s.state.channel(CID).blend_weight.frames == (10, 50)
    # leaving BLEND removes the row
    s.set_combine([CID], CombineMode.OVERRIDE)
    assert BID not in ed.curves()


def _two_takes(w) -> tuple[str, str]:
    s = w.session
    a = Take.from_motion(synthetic_track(n_frames=120, seed=1), "a", take_id="take-a")
    b = Take.from_motion(synthetic_track(n_frames=120, seed=2), "b", take_id="take-b")
    s.add_take(a)
    s.add_take(b)
    return "take-a", "take-b"


def test_crossfade_dialog_issues_undoable_command(qtbot, make_window):
    w = make_window()
    s = w.session
    a, b = _two_takes(w)
    perf0 = s.state.performance
    dlg = w.open_crossfade_dialog()
    assert dlg is not None and dlg.isVisible() and not dlg.isModal()
    dlg.take_a.setCurrentIndex(dlg.take_a.findData(a))
    dlg.take_b.setCurrentIndex(dlg.take_b.findData(a))
    assert not dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()  # same take
    dlg.take_b.setCurrentIndex(dlg.take_b.findData(b))
    dlg.first.setValue(40)
    dlg.last.setValue(60)
    dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    perf = s.state.performance
    assert perf == PerformanceSource.crossfade(a, b, FrameRange(40, 61))
    ta, tb = s.state.take(a), s.state.take(b)
    yaw = 0  # pose.yaw column
    # the performance layer: take A before the fade, take B after it, a mix inside
    perf_layer = s.doc.layers("pose.yaw", [30, 50, 80]).performance
    assert perf_layer[0] == pytest.approx(ta.values[30, yaw], abs=1e-5)
    assert perf_layer[2] == pytest.approx(tb.values[80, yaw], abs=1e-5)
    lo, hi = sorted((ta.values[50, yaw], tb.values[50, yaw]))
    assert lo - 1e-5 <= perf_layer[1] <= hi + 1e-5
    assert ta.values[80, yaw] != pytest.approx(tb.values[80, yaw])
    s.undo_stack.undo()  # one undo step restores the single-take performance
    assert s.state.performance == perf0


def test_crossfade_needs_two_takes(win, messages):
    assert win.open_crossfade_dialog() is None
    assert any("two takes" in t for t in messages.texts())


# ---------------------------------------------------------------------------- 3. preferences live
def test_preferences_apply_live_without_restart(qtbot, win, tmp_path):
    w = win
    old_worker = w.preview.worker
    gen = w.preview.generation
    dlg = w.open_preferences()
    assert dlg.isVisible()  # non-blocking
    dlg.threads.setValue(1)
    dlg.mem.setValue(512)
    dlg.disk.setValue(2)
    dlg.accept()
    assert w.prefs.cpu_threads == 1 and w.prefs.memory_cache_mb == 512
    assert w.preview.generation == gen + 1
    new = w.preview.worker
    assert new is not old_worker and new.is_alive and not old_worker.is_alive
    assert new.cpu_threads == 1
    assert new.frames_memory.capacity == 512 * 2**20
    assert new.frames_disk.capacity == 2 * 2**30
    # unchanged preferences keep the worker
    dlg = w.open_preferences()
    dlg.accept()
    assert w.preview.worker is new


def test_worker_restart_keeps_disk_cache(qtbot, make_window, sample_portrait, ui):
    """Frames rendered before a preferences change come back from the disk cache."""
    w = make_window()
    w.open_source(str(sample_portrait))
    ui.wait_until(qtbot, lambda: w.session.state.source.path != "")
    w.session.insert_keys([("expr.jawOpen", 0)], [0.5])
    before = ui.wait_rendered(qtbot, w)
    req = w.preview.current_request()
    ui.wait_until(qtbot, lambda: w.preview.worker.frames_disk.get(req.key) is not None, 30)
    old = w.preview.worker
    w.apply_preferences(replace(w.prefs, memory_cache_mb=300))
    assert w.preview.generation == 1 and w.preview.worker is not old and not old.is_alive
    after = ui.wait_rendered(qtbot, w)
    np.testing.assert_array_equal(after, before)
    stats = w.preview.worker.stats()
    assert stats.hits >= 1  # the playhead frame came back from the disk cache


# ---------------------------------------------------------------------------- 4. head axes
def test_driving_axes_at_landmark_centre(win):
    w = win
    lm = np.zeros((120, 478, 2), dtype=np.float32)
    lm[..., 0] = 300 + np.linspace(-40, 40, 478)
    lm[..., 1] = 120 + np.linspace(-60, 60, 478)
    take = w.session.active_take()
    w._landmarks[take.id] = lm
    pts = lm[0].astype(np.float64)
    origin = pts.mean(axis=0)
    o, tips = w._axes_for(origin, 60.0, take.values[0, :3])
    assert o == pytest.approx([300.0, 120.0])
    assert np.all(np.hypot(*(tips - o).T) <= 60.0 + 1e-6)


def test_result_axes_follow_the_rendered_head(qtbot, win):
    from dexstudio.ui.tasks import HeadGeometry

    w = win
    img = np.zeros((96, 96, 3), dtype=np.uint8)
    w.viewer.result.set_image(img)
    w._head = HeadGeometry(crop_size=96, center=(40.0, 52.0), face_size=30.0, own_translation=(0.0, 0.0))
    w._head_path = w.session.state.source.path
    # hold the head still at t = (0.1, -0.2): the origin moves by t * face size
    w.session.run(C.freeze, "pose.tx", mode=FreezeMode.VALUE, value=0.1)
    w.session.run(C.freeze, "pose.ty", mode=FreezeMode.VALUE, value=-0.2)
    axes = w.result_head_axes()
    assert axes is not None
    o, tips = axes
    assert o == pytest.approx([40.0 + 0.1 * 30.0, 52.0 - 0.2 * 30.0])
    assert tuple(o) != (48.0, 48.0)  # not the image centre
    # drawn there: toggling the overlay paints coloured pixels near the head origin
    w.act_axes.setChecked(True)
    w._toggle_overlays()
    pane = w.viewer.result
    pane.resize(200, 218)
    qtbot.wait(10)
    shot = pane.grab().toImage()
    t = pane._target_rect()
    s = t.width() / 96
    px = shot.pixelColor(int(t.left() + o[0] * s), int(t.top() + o[1] * s))
    assert (px.red(), px.green(), px.blue()) != (0, 0, 0)  # an axis line starts at the origin


# ---------------------------------------------------------------------------- real mouse on a handle
def _mouse(ed, kind, pos, buttons, button):
    import time

    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    vp = ed.plot.viewport()
    ev = QMouseEvent(kind, QPointF(pos), QPointF(vp.mapToGlobal(pos)), button, buttons,
                     Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, ev)
    QApplication.processEvents()
    if kind == ev.Type.MouseMove:
        time.sleep(0.012)  # pyqtgraph rate-limits mouse moves (100/s)


def _to_widget(ed, x: float, y_display: float):
    from PySide6.QtCore import QPointF

    return ed.plot.mapFromScene(ed.vb.mapViewToScene(QPointF(x, y_display)))


def test_real_mouse_drags_a_handle(qtbot, win):
    from PySide6.QtCore import QEvent, Qt

    s, ed = win.session, win.curve_editor
    s.insert_keys([(CID, 20), (CID, 50), (CID, 80)], [0.1, 0.6, 0.2])
    ed.frame_all()
    qtbot.wait(50)
    L, N = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    P, R, M = QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease, QEvent.Type.MouseMove
    c = ed.curves()[CID]
    key_pos = _to_widget(ed, 50, float(c.to_display(0.6, ed.normalized)))
    _mouse(ed, P, key_pos, L, L)
    _mouse(ed, R, key_pos, N, L)
    ref = KeyRef(CID, 50)
    assert ed.selection == {ref}
    hx, hy = ed.handle_positions(ref)[HandleSide.OUT]
    n = s.undo_stack.count()
    frames0 = s.state.channel(CID).keys.frames
    _mouse(ed, P, _to_widget(ed, hx, hy), L, L)
    for i in range(1, 9):
        _mouse(ed, M, _to_widget(ed, hx, hy + 0.03 * i), L, N)
    _mouse(ed, R, _to_widget(ed, hx, hy + 0.24), N, L)
    k = s.state.channel(CID).keys.key_at(50)
    assert k is not None and s.state.channel(CID).keys.frames == frames0  # the key did not move
    assert k.out_slope is not None and k.out_slope > 0.01  # the handle now points up
    assert k.in_slope == pytest.approx(k.out_slope)
    assert s.undo_stack.count() == n + 1
    assert ed.selection == {ref}  # still selected, handles still shown
    assert HandleSide.OUT in ed.handle_positions(ref)


def test_result_axes_geometry_measured_for_opened_project(qtbot, make_window, sample_portrait, ui, tmp_path):
    """A portrait analysed on open, and one in a reopened project, both give the result
    head axes at the warp animator's head centre (not the image centre)."""
    w = make_window()
    w.open_source(str(sample_portrait))
    ui.wait_until(qtbot, lambda: w.session.state.source.path != "" and w._head is not None, 60)
    head = w._head
    assert head.crop_size > 0 and head.face_size > 0.1 * head.crop_size
    ui.wait_rendered(qtbot, w)
    o, tips = w.result_head_axes()
    img = w.viewer.result.image_array()
    ev = w.session.doc.evaluate([w.session.playhead])
    assert tuple(o) == pytest.approx(head.origin(ev.translation[0], (img.shape[1], img.shape[0])))
    path = tmp_path / "p.dexproj"
    assert w.save_to(path)
    w2 = make_window()
    assert w2.open_project(str(path), confirm=False)
    ui.wait_until(qtbot, lambda: w2._head is not None, 60)
    assert w2._head.center == pytest.approx(head.center, abs=1e-6)
    assert not w2.session.dirty  # measuring the head changed nothing in the document


def _cuda() -> bool:
    from dexstudio.render import device

    return device._cuda_available()


@pytest.mark.skipif(_cuda(), reason="needs a machine without CUDA")
def test_unavailable_device_keeps_the_worker_and_other_changes(win, messages):
    from dexstudio.ui.preferences import DevicePref

    w = win
    old = w.preview.worker
    w.apply_preferences(replace(w.prefs, device=DevicePref.CUDA, cpu_threads=1))
    assert any("cuda" in t.lower() for t in messages.texts())  # a clear error
    assert w.prefs.device is DevicePref.AUTO  # reverted
    assert w.prefs.cpu_threads == 1  # the other change applied
    assert w.preview.worker is not old and w.preview.worker.is_alive
    assert w.preview.worker.cpu_threads == 1 and w.preview.device == "cpu"


@pytest.mark.skipif(_cuda(), reason="needs a machine without CUDA")
def test_saved_unavailable_device_still_starts(qtbot, ui_settings, messages):
    from dexstudio.ui.main_window import MainWindow
    from dexstudio.ui.preferences import DevicePref, Preferences

    replace(Preferences.load(ui_settings), device=DevicePref.CUDA).save(ui_settings)
    w = MainWindow(settings=ui_settings, enable_autosave=False)
    qtbot.addWidget(w)
    try:
        assert w.preview.device == "cpu" and w.preview.worker.is_alive
        assert "cuda" in w.statusBar().currentMessage().lower()
    finally:
        w.shutdown()
    assert not w.preview.worker.is_alive


def test_full_turns_preference_switches_the_warp_animator_live(qtbot, win, tmp_path):
    """The editor's counterpart of ``animate --full-turns``: a preference, applied live,
    remembered across sessions, and part of the render cache key."""
    from PySide6.QtCore import QSettings

    from dexstudio.ui.preferences import Preferences

    w = win
    key_before = w.preview.key_animator.settings_key()
    assert w.preview.key_animator.settings.reveal is not None  # eased by default
    dlg = w.open_preferences()
    assert not dlg.full_turns.isChecked()
    dlg.full_turns.setChecked(True)
    dlg.accept()
    assert w.prefs.full_turns
    assert w.preview.key_animator.settings.reveal is None
    assert w.preview.key_animator.settings_key() != key_before  # frames of each setting cached apart
    assert w.preview.worker._factory("cpu").settings.reveal is None  # the worker renders the same way
    store = QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)
    w.prefs.save(store)
    assert Preferences.load(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)).full_turns


def test_still_background_preference_switches_the_warp_animator_live(qtbot, win, tmp_path):
    """The editor's counterpart of ``animate --moving-background``."""
    from PySide6.QtCore import QSettings

    from dexstudio.ui.preferences import Preferences

    w = win
    key_before = w.preview.key_animator.settings_key()
    assert w.preview.key_animator.settings.static_background  # still by default
    dlg = w.open_preferences()
    assert dlg.still_background.isChecked()
    dlg.still_background.setChecked(False)
    dlg.accept()
    assert not w.prefs.still_background
    assert not w.preview.key_animator.settings.static_background
    assert w.preview.key_animator.settings_key() != key_before
    assert not w.preview.worker._factory("cpu").settings.static_background
    store = QSettings(str(tmp_path / "prefs2.ini"), QSettings.Format.IniFormat)
    w.prefs.save(store)
    assert not Preferences.load(QSettings(str(tmp_path / "prefs2.ini"), QSettings.Format.IniFormat)).still_background
