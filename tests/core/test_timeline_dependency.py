"""The dependency range of every edit is exact: compared with brute-force evaluation."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dexstudio.core.document import ChangeKind, DocumentChanged
from dexstudio.core.evaluator import Evaluator
from dexstudio.core.rangeset import RangeSet
from timeline_helpers import make_doc, random_command
from dexstudio.core.errors import ChannelLockedError


def _rows_changed(a, b) -> np.ndarray:
    m = np.zeros(len(a), dtype=bool)
    for name in ("euler", "rotation", "translation", "scale", "blendshapes", "detail", "detail_weight"):
        x, y = getattr(a, name), getattr(b, name)
        m |= (x != y).reshape(len(a), -1).any(axis=1)
    return m


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_changed_frames_exact_against_brute_force(seed: int) -> None:
    doc, stack = make_doc(90)
    rng = np.random.default_rng(seed)
    events: list[DocumentChanged] = []
    doc.changed.connect(events.append)
    checked = 0
    for _ in range(40):
        try:
            cmd = random_command(doc, rng)
        except ChannelLockedError:
            continue
        old_state = doc.state
        window = old_state.settings.frame_range
        before = Evaluator().evaluate(old_state, window)  # fresh evaluator: no caches
        events.clear()
        if rng.random() < 0.15 and stack.can_undo:
            stack.undo()
        else:
            stack.push(cmd)
        new_state = doc.state
        ev = events[-1] if events else None
        if ev is not None and ChangeKind.SETTINGS in ev.kinds:
            assert ev.changed_frames == RangeSet.of(new_state.settings.frame_range)
            continue
        after = Evaluator().evaluate(new_state, window)
        expected = RangeSet.from_mask(window.start, _rows_changed(before, after))
        got = RangeSet.empty() if ev is None else ev.changed_frames
        assert got == expected, (cmd, got, expected)
        # the document's cached evaluation equals a fresh evaluator's
        cached = doc.evaluate(window)
        assert not _rows_changed(cached, after).any()
        checked += 1
    assert checked > 10


def test_key_edit_changes_only_its_segment() -> None:
    from dexstudio.core import commands as C

    doc, stack = make_doc(120, second=False)
    for f, v in ((10, 0.1), (40, 0.5), (80, 0.2)):
        stack.push(C.add_key(doc, "expr.jawOpen", f, v))
    events: list[DocumentChanged] = []
    doc.changed.connect(events.append)
    stack.push(C.set_key_value(doc, "expr.jawOpen", 40, 0.7))
    assert events[-1].changed_frames.bounds().start >= 11
    assert events[-1].changed_frames.bounds().stop <= 80
    assert events[-1].channels == ("expr.jawOpen",)
    stack.push(C.set_channel_flags(doc, "expr.jawOpen", lock=True))
    assert events[-1].changed_frames.is_empty


def test_event_kinds_and_rerender_all() -> None:
    from dataclasses import replace

    from dexstudio.core import commands as C
    from dexstudio.core.project import RenderSettings, SourceInfo

    doc, stack = make_doc(60, second=False)
    events: list[DocumentChanged] = []
    doc.changed.connect(events.append)
    stack.push(C.set_render(doc, replace(RenderSettings(), steps=10)))
    ev = events[-1]
    assert ev.kinds == frozenset({ChangeKind.RENDER}) and ev.changed_frames.is_empty and ev.rerender_all
    stack.push(C.set_source(doc, SourceInfo("/new/face.png", None, doc.state.source.own_values)))
    ev = events[-1]
    assert ChangeKind.SOURCE in ev.kinds and ev.rerender_all and ev.changed_frames.is_empty
    stack.push(C.add_key(doc, "pose.roll", 10, 5.0))
    ev = events[-1]
    assert ev.kinds == frozenset({ChangeKind.CHANNELS}) and not ev.rerender_all
    assert ev.channels == ("pose.roll",) and ev.changed_frames == RangeSet.of((0, 60))
    assert ev.revision == doc.revision
    n = len(events)
    stack.push(C.add_key(doc, "pose.roll", 10, 5.0))  # same state: no event
    assert len(events) == n
    doc.changed.disconnect(events.append)
    stack.undo()
    assert len(events) == n
