"""SIGKILL in the middle of saving leaves the previous project intact and loadable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from dexstudio.io.project_file import load_project

SCRIPT = r"""
import os, sys, time
from pathlib import Path
import dexstudio.io.atomic as atomic
from dexstudio.core import commands as C
from dexstudio.core.document import Document
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.take import Take
from dexstudio.core.undo import UndoStack
from dexstudio.io.project_file import save_project

path = Path(sys.argv[1])
announce = sys.argv[2] == "announce"
doc = Document()
stack = UndoStack(doc)
stack.push(C.add_take(doc, Take.from_motion(synthetic_track(18000, seed=1), "long")))
save_project(doc, path)
print("saved", flush=True)
if announce:  # tell the parent when the temp file is written but not yet renamed
    real_fsync = os.fsync
    def slow_fsync(fd):
        print("in-save", flush=True)
        time.sleep(0.5)
        real_fsync(fd)
    atomic.os.fsync = slow_fsync
i = 0
while True:
    i += 1
    stack.push(C.add_key(doc, "pose.yaw", i, float(i)))
    save_project(doc, path)
"""


def _check(path: Path) -> None:
    doc = load_project(path)  # intact: the previous (or the just-finished) save
    n_keys = len(doc.state.channel("pose.yaw").keys)
    assert doc.state.takes[0].n_frames == 18000
    assert doc.state.channel("pose.yaw").keys.frames == tuple(range(1, n_keys + 1))


def test_sigkill_mid_save_keeps_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "big.dexproj"
    script = tmp_path / "saver.py"
    script.write_text(SCRIPT)
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(repo))
    rng = np.random.default_rng(0)
    for mode in ("announce", "random", "random"):
        proc = subprocess.Popen([sys.executable, str(script), str(path), mode], stdout=subprocess.PIPE, env=env)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"saved"
        if mode == "announce":
            # wait until a later save has written its temp file, then kill before the rename
            assert proc.stdout.readline().strip() == b"in-save"
        else:
            time.sleep(0.2 + float(rng.uniform(0, 0.5)))  # anywhere in the save loop
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _check(path)
        leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".big.dexproj")]
        if mode == "announce":
            # the killed save left its hidden temp file; it is never loaded
            assert leftovers and all(p.suffix == ".tmp" for p in leftovers)
