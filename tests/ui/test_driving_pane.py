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


def test_face_view_zooms_only_on_a_small_face() -> None:
    from dexstudio.ui.driving_view import ZOOM_FACE_SHARE, face_view

    lm = np.full((5, 478, 2), np.nan, np.float32)
    assert face_view(lm, (1080, 1920, 3)) is None  # never tracked: the whole frame
    yy, xx = np.meshgrid(np.linspace(0, 1, 22), np.linspace(0, 1, 22))
    face = np.stack([xx.ravel()[:478], yy.ravel()[:478]], -1).astype(np.float32)
    for i in range(5):
        lm[i] = face * 100 + [1200 + 10 * i, 500]  # a 100 px face moving right
    x0, y0, x1, y1 = face_view(lm, (1080, 1920, 3))
    assert x1 - x0 == y1 - y0 == round(100 / ZOOM_FACE_SHARE)
    assert x0 <= 1200 and x1 >= 1340 and y0 <= 500 and y1 >= 600
    big = face * 300 + [600, 300]  # 28 % of the frame's height (a close-up): whole frames
    assert face_view(np.repeat(big[None], 3, 0), (1080, 1920, 3)) is None


def test_a_small_driving_face_is_shown_zoomed(qtbot, make_window, sample_portrait, sample_driving, tmp_path, ui):
    import av
    import cv2

    path = tmp_path / "wide.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 1280, 720, "yuv420p"
        for _, f in iter_frames(sample_driving, 0, 12):
            big = np.full((720, 1280, 3), 140, np.uint8)
            big[380:540, 820:980] = cv2.resize(f, (160, 160), interpolation=cv2.INTER_AREA)
            for pk in s.encode(av.VideoFrame.from_ndarray(big, format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    w = make_window()
    ui.load_sample(qtbot, w, sample_portrait, path)
    w.session.set_playhead(w.session.state.takes[0].start + 5)
    ui.wait_until(qtbot, lambda: w.viewer.driving.image_array() is not None
                  and w.viewer.driving.image_array().shape[0] < 720)
    shown = w.viewer.driving.image_array()
    assert shown.shape[0] == shown.shape[1] < 400  # the face's square, not the 1280 x 720 frame
    pts = w.viewer.driving.landmarks
    assert pts is not None and (pts[:, :2] >= 0).all() and (pts[:, :2] < shown.shape[0]).all()
