"""Curve editor gestures against a synthetic document (no media, fast)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from dexstudio.core.keys import Interp as CoreInterp
from dexstudio.ui.curve_data import Interp, KeyRef

CID = "expr.jawOpen"


@pytest.fixture
def win(make_window):
    w = make_window()
    w.session.new_synthetic_project(frames=120, channels=1)
    w.channel_tree.select_channels([CID, "pose.yaw"])
    return w


def test_insert_select_delete_interp(qtbot, win):
    s, ed = win.session, win.curve_editor
    s.set_playhead(10)
    ed.request_insert(10)
    assert s.state.channel(CID).keys.frames == (10,)
    assert s.state.channel("pose.yaw").keys.frames == (10,)
    # the key's value is the curve's value there: inserting changes nothing visible
    assert s.state.channel(CID).keys.keys[0].value == pytest.approx(s.value_at(CID, 10))
    s.insert_keys([(CID, 50)], [0.9])
    # box select everything on the jaw curve between frames 40 and 60
    ed._finish_box(QPointF(40, -10), QPointF(60, 10), Qt.KeyboardModifier.NoModifier)
    assert ed.selection == {KeyRef(CID, 50)}
    ed.interpolationRequested.emit(sorted(ed.selection, key=str), Interp.CONSTANT)
    assert s.state.channel(CID).keys.key_at(50).interp is CoreInterp.CONSTANT
    qtbot.keyClick(ed, Qt.Key.Key_Delete)
    assert s.state.channel(CID).keys.frames == (10,)
    win.act_undo.trigger()
    assert s.state.channel(CID).keys.frames == (10, 50)


def test_drag_is_one_undo_step_and_snaps_to_frames(win):
    s, ed = win.session, win.curve_editor
    s.insert_keys([(CID, 30)], [0.2])
    n = s.undo_stack.count()
    ed.set_selection({KeyRef(CID, 30)})
    ed.begin_programmatic_drag()
    for i in range(30):
        ed._update_drag(QPointF(i * 0.37, 0.01 * i), final=False)  # fractional frames
    ed._update_drag(QPointF(7.4, 0.3), final=True)
    keys = s.state.channel(CID).keys
    assert keys.frames == (37,)  # snapped to an integer frame
    assert keys.keys[0].value == pytest.approx(0.5)
    assert s.undo_stack.count() == n + 1
    assert ed.selection == {KeyRef(CID, 37)}
    s.undo_stack.undo()
    assert s.state.channel(CID).keys.frames == (30,)
    assert s.state.channel(CID).keys.keys[0].value == pytest.approx(0.2)


def test_locked_channel_refuses_edits(win, messages):
    s = win.session
    s.set_channel_flags([CID], lock=True)
    s.insert_keys([(CID, 5)])
    assert not s.state.channel(CID).keys
    assert messages.texts() and "locked" in messages.texts()[-1]


def test_expression_slider_keys_at_playhead_on_still_portrait(make_window):
    w = make_window()  # no driving clip at all
    s = w.session
    s.set_playhead(12)
    slider = w.expression_panel.sliders["expr.mouthSmileLeft"]
    slider.setSliderDown(True)
    w.expression_panel._merge["expr.mouthSmileLeft"] = 99
    n = s.undo_stack.count()
    for v in (100, 300, 700):
        w.expression_panel.set_value("expr.mouthSmileLeft", v / 1000)
    slider.setSliderDown(False)
    keys = s.state.channel("expr.mouthSmileLeft").keys
    assert keys.frames == (12,) and keys.keys[0].value == pytest.approx(0.7)
    assert s.undo_stack.count() == n + 1
    assert s.value_at("expr.mouthSmileLeft", 12) == pytest.approx(0.7)


def test_curve_data_and_cache_bar(win):
    c = win.session.curve_data(CID)
    assert c.values.shape == (120,) and np.isfinite(c.values).all()
    win.curve_editor.set_cache_mask(0, np.arange(120) < 40)
    assert win.curve_editor.cache_bar.mask.sum() == 40


def test_group_mute_and_freeze_toggles(win):
    from dexstudio.core.channels import ChannelGroup, channels_in_group
    from dexstudio.ui.channel_tree import COL_FREEZE, COL_MUTE

    tree = win.channel_tree
    tree.group_item(ChannelGroup.JAW).setCheckState(COL_MUTE, Qt.CheckState.Checked)
    assert win.session.state.group(ChannelGroup.JAW).mute
    tree.item("pose.roll").setCheckState(COL_FREEZE, Qt.CheckState.Checked)
    assert win.session.state.channel("pose.roll").freeze is not None
    assert tree.group_item(ChannelGroup.POSE).checkState(COL_FREEZE) == Qt.CheckState.PartiallyChecked
    assert all(win.session.state.channel(c).freeze is None
               for c in channels_in_group(ChannelGroup.POSE) if c != "pose.roll")


def _mouse(ed, kind, pos, buttons, button, mods=Qt.KeyboardModifier.NoModifier):
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    vp = ed.plot.viewport()
    ev = QMouseEvent(kind, QPointF(pos), QPointF(vp.mapToGlobal(pos)), button, buttons, mods)
    QApplication.sendEvent(vp, ev)
    QApplication.processEvents()
    if kind == ev.Type.MouseMove:
        time.sleep(0.012)  # pyqtgraph drops moves faster than its mouse rate limit (100/s)


def _at(ed, cid, frame, value):
    c = ed.curves()[cid]
    sp = ed.vb.mapViewToScene(QPointF(frame, float(c.to_display(value, ed.normalized))))
    return ed.plot.mapFromScene(sp)


def test_real_mouse_click_drag_box_and_double_click(qtbot, make_window):
    from PySide6.QtCore import QEvent

    w = make_window()
    s, ed = w.session, w.curve_editor
    s.new_synthetic_project(frames=120, channels=1)
    w.channel_tree.select_channels([CID])
    s.insert_keys([(CID, 60)], [0.5])
    ed.frame_all()
    qtbot.wait(50)
    L, N = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    P, R, M = QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease, QEvent.Type.MouseMove
    # click on the key selects it
    p = _at(ed, CID, 60, 0.5)
    _mouse(ed, P, p, L, L)
    _mouse(ed, R, p, N, L)
    assert ed.selection == {KeyRef(CID, 60)}
    # drag it: time snaps to frames, value follows, one undo step
    n = s.undo_stack.count()
    _mouse(ed, P, p, L, L)
    for i in range(1, 13):
        _mouse(ed, M, _at(ed, CID, 60 + i, 0.5 + 0.02 * i), L, N)
    _mouse(ed, R, _at(ed, CID, 72, 0.74), N, L)
    keys = s.state.channel(CID).keys
    assert keys.frames == (72,)
    assert keys.keys[0].value == pytest.approx(0.74, abs=0.03)
    assert s.undo_stack.count() == n + 1
    # box select on empty space around it
    ed.set_selection(set())
    from PySide6.QtCore import QPoint

    ed.frame_all()  # the drag took the key above the framed range
    qtbot.wait(50)
    k = _at(ed, CID, 72, s.state.channel(CID).keys.keys[0].value)
    a, b = k + QPoint(-40, 30), k + QPoint(40, -30)
    _mouse(ed, P, a, L, L)
    for t in np.linspace(0, 1, 6)[1:]:
        _mouse(ed, M, a + (b - a) * t, L, N)
    _mouse(ed, R, b, N, L)
    assert ed.selection == {KeyRef(CID, 72)}
    # double-click inserts a key on the curve there
    q = _at(ed, CID, 20, s.value_at(CID, 20))
    from PySide6.QtTest import QTest

    QTest.mouseDClick(ed.plot.viewport(), L, Qt.KeyboardModifier.NoModifier, q)
    assert 20 in s.state.channel(CID).keys.frames or 19 in s.state.channel(CID).keys.frames \
        or 21 in s.state.channel(CID).keys.frames


def test_inspector_edits_apply_to_selection_with_one_undo_per_gesture(win):
    from dexstudio.core.channel_state import CombineMode, FilterKind, RetargetMode

    s, insp = win.session, win.inspector
    win.channel_tree.select_channels(["pose.yaw", "pose.pitch"])
    n = s.undo_stack.count()
    for v in (0.9, 0.8, 0.7, 0.5):  # a spin box held down: one gesture
        insp.gain.setValue(v)
    assert s.state.channel("pose.yaw").retarget.gain == pytest.approx(0.5)
    assert s.state.channel("pose.pitch").retarget.gain == pytest.approx(0.5)
    assert s.undo_stack.count() == n + 1
    insp._new_merge()
    insp.rt_mode.setCurrentIndex(insp.rt_mode.findData(RetargetMode.ABSOLUTE))
    insp._on_rt_mode()
    assert s.state.channel("pose.yaw").retarget.mode is RetargetMode.ABSOLUTE
    insp.combine.setCurrentIndex(insp.combine.findData(CombineMode.BLEND))
    insp._on_combine()
    insp.blend.setValue(25)
    assert s.state.channel("pose.pitch").combine is CombineMode.BLEND
    assert s.state.channel("pose.pitch").blend_weight.default == pytest.approx(0.25)
    raw = s.doc.channel_values("pose.yaw", s.frame_range)
    insp.filter.setCurrentIndex(insp.filter.findData(FilterKind.GAUSSIAN))
    insp._on_smoothing()
    assert s.state.channel("pose.yaw").smoothing.kind is FilterKind.GAUSSIAN
    smooth = s.doc.channel_values("pose.yaw", s.frame_range)
    assert np.abs(np.diff(smooth, 2)).mean() < np.abs(np.diff(raw, 2)).mean()  # evaluated curve is smoother
    assert s.undo_stack.count() == n + 5
