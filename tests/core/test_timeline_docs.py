"""Runs the worked example of docs/timeline.md exactly as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dexstudio.core.take import Take
from dexstudio.core.timebase import FrameRange

DOC = Path(__file__).resolve().parents[2] / "docs" / "timeline.md"


def _snippet() -> str:
    text = DOC.read_text()
    part = text.split("## Worked example", 1)[1]
    m = re.search(r"```python\n(.*?)```", part, re.S)
    assert m, "docs/timeline.md has no python snippet under '## Worked example'"
    return m.group(1)


def test_worked_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(_snippet(), str(DOC), "exec"), ns)  # noqa: S102 - the doc's own example
    assert "[0.  0.4 0.8]" in capsys.readouterr().out
    doc, again, track = ns["doc"], ns["again"], ns["track"]
    assert (tmp_path / "smile.dexproj").is_file()
    # the reloaded project evaluates exactly like the edited one
    w = FrameRange(0, 300)
    assert np.array_equal(doc.evaluate_values(w).values, again.evaluate_values(w).values)
    m = ns["motion"]
    raw_yaw = Take.from_motion(track, "x").channel("pose.yaw").astype(np.float64)
    half = 0.5 * (raw_yaw - raw_yaw[0])
    outside = np.r_[0:30, 61:300]
    assert np.allclose(m.euler[outside, 0], half[outside])           # yaw halved
    assert np.all(m.euler[30:61] == m.euler[30])                     # pose frozen 30..60
    assert np.all(m.scale[30:61] == m.scale[30])
    assert m.blendshapes[45, 23] == pytest.approx(0.4)               # the smile
    assert m.blendshapes[45, 24] == pytest.approx(0.4)
    # the smile keys (frames 30 and 60) override an expression channel there: no detail
    # residual on those frames; elsewhere the expression is the unedited performance
    assert np.all(m.detail_weight[30:61] == 0.0)
    assert np.all(m.detail_weight[outside] == 1.0)
