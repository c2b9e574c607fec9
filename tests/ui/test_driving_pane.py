"""The viewer's driving pane shows the driving clip's frame at the playhead, read off the
GUI thread by seeking (not by decoding the clip from its start at every scrub step)."""

from __future__ import annotations

import time

import numpy as np

from dexstudio.io.video_reader import iter_frames


def test_the_driving_pane_follows_the_playhead(qtbot, make_window, sample_portrait, sample_driving, ui):
    w = make_window()
    ui.load_sample(qtbot, w, sample_portrait, sample_driving)
    frames = {i: f for i, f in iter_frames(sample_driving) if i in (5, 6, 7, 80)}
    start = w.session.state.takes[0].start
    seeks = {}
    for i in (80, 5, 6, 7):
        t = time.perf_counter()
        w.session.set_playhead(start + i)
        assert time.perf_counter() - t < 0.5  # the GUI thread does not read the frame
        ui.wait_until(qtbot, lambda: (w.viewer.driving.image_array() is not None
                                      and np.array_equal(w.viewer.driving.image_array(), frames[i])))
        seeks[i] = w.driving_view.loader.reader.seeks
    assert seeks[80] >= 1 and seeks[5] == seeks[80] + 1  # back to 5: one seek
    assert seeks[7] == seeks[5]  # 6 and 7 decode on from 5 (playback)
    w.close()
    assert w.driving_view.loader.reader is None
    assert not w.driving_view.loader._thread.isRunning()


def test_scrubbing_shows_the_last_frame_asked_for(qtbot, make_window, sample_portrait, sample_driving, ui):
    """Requests made while the loader reads replace each other: the pane ends on the
    playhead's frame, not on one passed over."""
    w = make_window()
    ui.load_sample(qtbot, w, sample_portrait, sample_driving)
    last = {i: f for i, f in iter_frames(sample_driving) if i == 61}[61]
    start = w.session.state.takes[0].start
    for i in (85, 3, 70, 12, 40, 88, 61):
        w.session.set_playhead(start + i)
    ui.wait_until(qtbot, lambda: (w.viewer.driving.image_array() is not None
                                  and np.array_equal(w.viewer.driving.image_array(), last)))
    qtbot.wait(300)  # nothing older arrives after it
    assert np.array_equal(w.viewer.driving.image_array(), last)
