"""Project files: byte-stable round trip, relative paths, upgrades, typed errors,
autosave and recovery, size/speed of a big project."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dexstudio.core import commands as C
from dexstudio.core.channel_state import FreezeMode, RetargetMode
from dexstudio.core.document import Document
from dexstudio.core.errors import ProjectFileError
from dexstudio.core.motion import ExpressionModel, MotionSource
from dexstudio.core.project import SourceInfo
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.take import Take
from dexstudio.core.timebase import FrameRange
from dexstudio.core.undo import UndoStack
from dexstudio.io.project_file import (
    Autosaver, has_recovery, load_project, load_recovery, project_from_bytes, project_to_bytes,
    recovery_path, save_project,
)
from dexstudio.io.project_schema import VERSION, upgrade_v0_to_v1

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from timeline_helpers import make_doc, random_edits  # noqa: E402


def _equal_eval(a: Document, b: Document) -> bool:
    w = a.state.settings.frame_range
    return np.array_equal(a.evaluate_values(w).values, b.evaluate_values(w).values)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**31 - 1))
def test_save_load_save_is_byte_identical(tmp_path: Path, seed: int) -> None:
    doc, stack = make_doc(60)
    random_edits(doc, stack, np.random.default_rng(seed), 30)
    p = tmp_path / f"p{seed}.dexproj"
    save_project(doc, p)
    first = p.read_bytes()
    doc2 = load_project(p)
    for part in ("settings", "source", "performance", "channels", "groups", "render", "export"):
        assert getattr(doc2.state, part) == getattr(doc.state, part), part
    assert [t.id for t in doc2.state.takes] == [t.id for t in doc.state.takes]
    assert not doc2.dirty
    save_project(doc2, p)
    assert p.read_bytes() == first
    assert _equal_eval(doc, doc2)


def test_take_arrays_and_model_round_trip(tmp_path: Path) -> None:
    tr = synthetic_track(40, seed=5)
    rng = np.random.default_rng(0)
    tr.expression_model = ExpressionModel(rng.random((468, 3), dtype=np.float32),
                                          rng.random((52, 468, 3), dtype=np.float32),
                                          rng.random((16, 468, 3), dtype=np.float32), 12.5)
    tr.source = MotionSource(str(tmp_path / "media" / "drive.mp4"), "ab" * 32, "mediapipe", "{}", 640, 480)
    doc = Document()
    UndoStack(doc).push(C.add_take(doc, Take.from_motion(tr, "drive")))
    p = tmp_path / "p.dexproj"
    save_project(doc, p)
    t = load_project(p).state.takes[0]
    t0 = doc.state.takes[0]
    assert np.array_equal(t.values, t0.values) and np.array_equal(t.valid, t0.valid)
    assert np.array_equal(t.expression_model.blend_basis, tr.expression_model.blend_basis)
    assert t.expression_model.face_size == 12.5
    assert t.source == tr.source


def test_media_paths_relative_beside_the_project(tmp_path: Path) -> None:
    doc, stack = make_doc(30, second=False)
    inside = tmp_path / "proj" / "media" / "face.png"
    stack.push(C.set_source(doc, SourceInfo(str(inside))))
    p = tmp_path / "proj" / "a.dexproj"
    p.parent.mkdir()
    save_project(doc, p)
    data = json.loads(p.read_text())
    assert data["source"]["path"] == "media/face.png"
    assert load_project(p).state.source.path == str(inside)
    # moving the whole folder keeps the link
    moved = tmp_path / "moved"
    (tmp_path / "proj").rename(moved)
    assert load_project(moved / "a.dexproj").state.source.path == str(moved / "media" / "face.png")
    # outside the folder: absolute
    outside = tmp_path / "elsewhere" / "face.png"
    stack.push(C.set_source(doc, SourceInfo(str(outside))))
    p2 = moved / "a.dexproj"
    save_project(doc, p2)
    assert json.loads(p2.read_text())["source"]["path"] == str(outside)


def test_v0_file_upgrades(tmp_path: Path) -> None:
    doc, _ = make_doc(30, second=False)
    take_json = json.loads(project_to_bytes(doc.state, tmp_path / "x.dexproj"))["takes"]
    v0 = {"schema": "dexstudio.project", "version": 0, "fps": 29.97, "frame_range": [0, 30],
          "source_path": "face.png", "active_take": "a", "takes": take_json,
          "channels": {"pose.yaw": {"keys": [[0, 1.0], [10, 3.0]], "gain": 0.5, "mute": False},
                       "expr.jawOpen": {"frozen": True}}}
    p = tmp_path / "old.dexproj"
    p.write_text(json.dumps(v0))
    st = load_project(p).state
    assert st.settings.rate.num == 30000 and st.settings.rate.den == 1001
    assert st.source.path == str(tmp_path / "face.png")
    assert st.performance.take_a == "a"
    yaw = st.channel("pose.yaw")
    assert yaw.keys.frames == (0, 10) and yaw.retarget.gain == 0.5
    assert yaw.retarget.mode is RetargetMode.ABSOLUTE
    assert st.channel("expr.jawOpen").freeze.mode is FreezeMode.FRAME
    assert upgrade_v0_to_v1(v0)["version"] == VERSION
    assert p.read_text() == json.dumps(v0)  # loading never rewrites


@pytest.mark.parametrize("content,needle", [
    (b"", "empty"),
    (b'{"schema": "dexstudio.project", "version": 1, "settings"', "truncated"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a DeX Studio project"),
    (b'{"schema": "something.else", "version": 1}', "not a DeX Studio project"),
    (b"[1, 2, 3]", "not a DeX Studio project"),
    (b'{"schema": "dexstudio.project", "version": 99}', "newer DeX Studio"),
    (b'{"schema": "dexstudio.project", "version": "1"}', "version"),
    (b'{"schema": "dexstudio.project", "version": 1, "settings": {}}', "corrupt"),
])
def test_bad_files_raise_typed_errors_and_stay_untouched(tmp_path: Path, content: bytes, needle: str) -> None:
    p = tmp_path / "bad.dexproj"
    p.write_bytes(content)
    with pytest.raises(ProjectFileError) as e:
        load_project(p)
    assert needle in str(e.value) and str(p) in str(e.value) and e.value.hint
    assert p.read_bytes() == content


def test_truncated_real_project_and_missing_file(tmp_path: Path) -> None:
    doc, _ = make_doc(30)
    p = tmp_path / "a.dexproj"
    save_project(doc, p)
    data = p.read_bytes()
    for cut in (len(data) // 3, len(data) - 10):
        with pytest.raises(ProjectFileError):
            project_from_bytes(data[:cut], p)
    with pytest.raises(ProjectFileError, match="does not exist"):
        load_project(tmp_path / "nope.dexproj")
    with pytest.raises(ProjectFileError, match="folder"):
        load_project(tmp_path)


def test_autosave_when_dirty_and_recovery(tmp_path: Path) -> None:
    now = [0.0]
    doc, stack = make_doc(30, second=False)
    p = tmp_path / "a.dexproj"
    save_project(doc, p)
    auto = Autosaver(doc, interval_s=10.0, clock=lambda: now[0])
    now[0] = 20.0
    assert auto.tick() is None  # clean: nothing to save
    stack.push(C.add_key(doc, "pose.yaw", 5, 3.0))
    now[0] = 25.0
    assert auto.tick() is None  # interval not over since the last tick
    now[0] = 31.0
    assert auto.tick() == recovery_path(p)
    now[0] = 45.0
    assert auto.tick() is None  # nothing new since the autosave
    assert has_recovery(p)
    rec = load_recovery(p)
    assert rec.dirty and rec.path == p
    assert rec.state.channel("pose.yaw").keys.frames == (5,)
    assert load_project(p).state.channel("pose.yaw").keys.frames == ()  # project untouched
    save_project(doc, p)
    assert not has_recovery(p) and not recovery_path(p).exists()


def test_big_project_save_load_fast(tmp_path: Path) -> None:
    doc = Document()
    UndoStack(doc).push(C.add_take(doc, Take.from_motion(synthetic_track(18000, seed=1), "long")))
    p = tmp_path / "big.dexproj"
    t0 = time.perf_counter()
    save_project(doc, p)
    t1 = time.perf_counter()
    doc2 = load_project(p)
    t2 = time.perf_counter()
    assert np.array_equal(doc2.state.takes[0].values, doc.state.takes[0].values)
    assert p.stat().st_size < 9e6
    # generous bound for a loaded 2-core CI box; `dexstudio bench timeline` reports the numbers
    assert t1 - t0 < 2.0 and t2 - t1 < 2.0
    assert doc2.state.settings.frame_range == FrameRange(0, 18000)


def test_autosave_of_an_unsaved_document_uses_the_fallback(tmp_path: Path) -> None:
    doc, stack = make_doc(30, second=False)
    doc.mark_modified()
    now = [0.0]
    auto = Autosaver(doc, interval_s=1.0, clock=lambda: now[0])
    assert auto.tick() is None  # no path and no fallback: nowhere to write
    auto.fallback_path = tmp_path / "untitled.dexproj"
    now[0] = 2.0
    assert auto.tick() == recovery_path(tmp_path / "untitled.dexproj")
    assert has_recovery(tmp_path / "untitled.dexproj")  # the project file does not exist yet
    base = tmp_path / "untitled.dexproj"
    assert project_to_bytes(load_recovery(base).state, base) == project_to_bytes(doc.state, base)
