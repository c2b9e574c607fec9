"""Motion files become takes; evaluated channels export back to CSV / JSON."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dexstudio.core import commands as C
from dexstudio.core.channel_state import RetargetMode
from dexstudio.core.document import Document
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.undo import UndoStack
from dexstudio.io.motion_files import save_motion
from dexstudio.io.project_motion import export_channels, take_from_motion_file


def test_csv_and_json_import_then_export_round_trip(tmp_path: Path) -> None:
    tr = synthetic_track(60, seed=4)
    save_motion(tmp_path / "drive.csv", tr)
    save_motion(tmp_path / "drive.json", tr)
    t_csv = take_from_motion_file(tmp_path / "drive.csv")
    t_json = take_from_motion_file(tmp_path / "drive.json", name="j")
    assert t_csv.id == "drive" and t_csv.n_frames == 60
    assert t_csv.present[0] and not t_csv.present[3] and not t_csv.present[-1]
    assert t_json.present.all()
    assert np.allclose(t_csv.channel("expr.jawOpen"), t_json.channel("expr.jawOpen"), atol=1e-6)

    doc = Document()
    stack = UndoStack(doc)
    stack.push(C.add_take(doc, t_csv))
    stack.push(C.set_retarget(doc, "all", mode=RetargetMode.ABSOLUTE))
    stack.push(C.set_retarget(doc, "pose.yaw", gain=0.5))
    out = export_channels(doc, tmp_path / "out.csv")
    back = take_from_motion_file(tmp_path / "out.csv", name="back")
    assert np.allclose(back.channel("pose.yaw"), 0.5 * t_csv.channel("pose.yaw"), atol=1e-4)
    assert np.allclose(back.channel("expr.jawOpen"), t_csv.channel("expr.jawOpen"), atol=1e-6)
    assert out.n_frames == 60
    export_channels(doc, tmp_path / "out.json")
    assert take_from_motion_file(tmp_path / "out.json").n_frames == 60
