"""Export formats from the window: PNG sequence with paste-back, side by side, motion CSV/JSON."""

from __future__ import annotations

import numpy as np
from PIL import Image

from dexstudio.core.timebase import FrameRange
from dexstudio.ui.export_dialog import ExportRequest
from dexstudio.ui.preferences import ExportFormatPref


def test_png_paste_back_side_by_side_and_motion(qtbot, make_window, sample_portrait, sample_driving,
                                                 tmp_path, messages, ui):
    w = make_window()
    ui.load_sample(qtbot, w, sample_portrait, sample_driving)
    w.open_export_dialog()
    # PNG sequence, pasted back into the full 512x512 portrait
    out = tmp_path / "frames"
    job = w._start_export(ExportRequest(out, ExportFormatPref.PNG, False, 0, True, FrameRange(10, 13), 18))
    ui.wait_until(qtbot, lambda: not job.running, 120)
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 3, messages.calls
    img = np.asarray(Image.open(pngs[0]))
    assert img.shape[:2] == (512, 512)
    # side by side MP4: source | driving | result, scaled to 120 px high
    sbs = tmp_path / "sbs.mp4"
    job = w._start_export(ExportRequest(sbs, ExportFormatPref.SIDE_BY_SIDE, False, 120, False,
                                        FrameRange(0, 4), 23))
    ui.wait_until(qtbot, lambda: not job.running, 120)
    from dexstudio.io.video_reader import probe

    info = probe(sbs)
    assert info.n_frames == 4 and info.width > 2 * info.height, (info.width, info.height)
    assert not messages.texts()
    # the edited motion as Live Link Face CSV and as JSON
    w.session.insert_keys([("expr.jawOpen", 5)], [0.6])
    w.export_motion(str(tmp_path / "m.csv"))
    w.export_motion(str(tmp_path / "m.json"))
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines[0].startswith("Timecode,BlendShapeCount") and len(lines) == 91
    from dexstudio.io.motion_files import load_motion_json

    track = load_motion_json(tmp_path / "m.json")
    assert track.n_frames == 90
    assert abs(float(track.blendshapes[5, 17]) - 0.6) < 1e-3  # jawOpen is ARKit index 17
