"""The viewer's driving pane shows the driving clip's frame at the playhead, read by
seeking (not by decoding the clip from its start at every scrub step)."""

from __future__ import annotations

import numpy as np

from dexstudio.io.video_reader import iter_frames


def test_the_driving_pane_follows_the_playhead(qtbot, make_window, sample_portrait, sample_driving, ui):
    w = make_window()
    ui.load_sample(qtbot, w, sample_portrait, sample_driving)
    frames = {i: f for i, f in iter_frames(sample_driving) if i in (5, 6, 7, 80)}
    start = w.session.state.takes[0].start
    seeks = {}
    for i in (80, 5, 6, 7):
        w.session.set_playhead(start + i)
        ui.wait_until(qtbot, lambda: w.viewer.driving.image_array() is not None)
        shown = w.viewer.driving.image_array()
        assert shown.shape == frames[i].shape
        assert np.array_equal(shown, frames[i]), i
        seeks[i] = w.driving_view._reader.seeks
    assert seeks[80] >= 1 and seeks[5] == seeks[80] + 1  # back to 5: one seek
    assert seeks[7] == seeks[5]  # 6 and 7 decode on from 5 (playback)
    w.close()
    assert w.driving_view._reader is None
