"""The main workflow through the real window (acceptance 1): sample portrait + clip ->
extraction -> key + drag on expr.mouthSmileLeft -> the rendered frame changes -> undo
restores it -> freeze Pose -> export MP4 -> save, close, reopen -> same state."""

from __future__ import annotations

import numpy as np

from dexstudio.core.channels import channels_in_group, ChannelGroup
from dexstudio.io.project_file import project_to_bytes
from dexstudio.ui.channel_tree import COL_FREEZE
from dexstudio.ui.curve_data import KeyRef
from dexstudio.ui.export_dialog import ExportRequest
from dexstudio.ui.preferences import ExportFormatPref
from PySide6.QtCore import Qt

from dexstudio.core.timebase import FrameRange

CID = "expr.mouthSmileLeft"


def test_full_workflow(qtbot, make_window, sample_portrait, sample_driving, tmp_path, messages, ui):
    load_sample, wait_rendered, wait_until = ui.load_sample, ui.wait_rendered, ui.wait_until
    w = make_window()
    load_sample(qtbot, w, sample_portrait, sample_driving)
    doc = w.session.doc
    assert len(w.session.frame_range) == 90
    assert doc.state.source.path.endswith("astronaut.png")
    # the portrait's own pose was measured (relative retargeting maps to it)
    assert any(abs(v) > 1e-3 for v in doc.state.source.own_values[:3])

    # select the channel in the tree -> its curve is shown
    w.channel_tree.select_channels([CID])
    assert w.session.selected == (CID,)
    assert set(w.curve_editor.curves()) == {CID}

    # insert a key at the playhead (I)
    w.session.set_playhead(40)
    before = wait_rendered(qtbot, w)
    w.curve_editor.setFocus()
    qtbot.keyClick(w.curve_editor, Qt.Key.Key_I)
    keys = doc.state.channel(CID).keys
    assert keys.frames == (40,)
    v0 = keys.keys[0].value
    steps_after_insert = w.session.undo_stack.count()

    # drag the key down (value) and right then back (time): many steps, ONE undo step
    ed = w.curve_editor
    ed.set_selection({KeyRef(CID, 40)})
    ed.begin_programmatic_drag()
    span = 1.0  # normalized view: display units = the 0..1 soft range
    for i in range(1, 11):
        ed.programmatic_drag_step(i % 3, -0.08 * i * span)
    ed.programmatic_drag_step(0, -0.9 * span, final=True)
    keys = doc.state.channel(CID).keys
    assert keys.frames == (40,)
    assert keys.keys[0].value == 0.0 or keys.keys[0].value < v0 - 0.5  # clamped to the hard range
    assert w.session.undo_stack.count() == steps_after_insert + 1
    assert w.session.value_at(CID, 40) < v0 - 0.5

    after = wait_rendered(qtbot, w)
    diff = np.abs(after.astype(int) - before.astype(int)).mean()
    assert diff > 0.5, f"the rendered frame did not change (mean abs diff {diff})"

    # undo the drag: key value and pixels come back
    w.act_undo.trigger()
    assert doc.state.channel(CID).keys.keys[0].value == v0
    restored = wait_rendered(qtbot, w)
    w.act_undo.trigger()  # the insert
    assert not doc.state.channel(CID).keys
    restored = wait_rendered(qtbot, w)
    assert np.array_equal(restored, before)

    # freeze the Pose group from the tree
    gi = w.channel_tree.group_item(ChannelGroup.POSE)
    gi.setCheckState(COL_FREEZE, Qt.CheckState.Checked)
    assert all(doc.state.channel(c).freeze is not None for c in channels_in_group(ChannelGroup.POSE))
    yaw = doc.channel_values("pose.yaw", FrameRange(0, 90))
    assert np.ptp(yaw) == 0.0
    # and key the smile again for the saved state
    w.session.set_playhead(20)
    w.session.insert_keys([(CID, 20)], [0.25])

    # export a short MP4 (with the clip's audio)
    dlg = w.open_export_dialog()
    assert dlg is not None
    out = tmp_path / "short.mp4"
    req = ExportRequest(out, ExportFormatPref.MP4, True, 0, False, FrameRange(0, 6), 23)
    job = w._start_export(req)
    wait_until(qtbot, lambda: not job.running, 120)
    assert out.is_file() and out.stat().st_size > 0
    from dexstudio.io.video_reader import probe

    info = probe(out)
    assert info.n_frames == 6 and info.width == 96 and info.has_audio
    assert not messages.texts("warning"), messages.calls

    # save, close, reopen -> the same state
    proj = tmp_path / "p.dexproj"
    assert w.save_to(proj)
    assert not w.session.dirty and "*" not in w.windowTitle()
    saved = project_to_bytes(doc.state, proj)
    w.close()
    w2 = make_window()
    assert w2.open_project(str(proj), confirm=False)
    st = w2.session.state
    assert project_to_bytes(st, proj) == saved
    assert st.channel(CID).keys.frames == (20,)
    assert all(st.channel(c).freeze is not None for c in channels_in_group(ChannelGroup.POSE))
    assert w2.source_image is not None
    w2.session.set_playhead(20)
    assert wait_rendered(qtbot, w2).shape == (96, 96, 3)
