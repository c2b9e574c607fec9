"""Commands, merging, the undo stack, and undo of random edit sequences (byte-exact)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dexstudio.core import commands as C
from dexstudio.core.channels import ChannelGroup
from dexstudio.core.errors import ChannelLockedError, DexStudioError
from dexstudio.core.keys import Interp
from dexstudio.io.project_file import project_to_bytes
from timeline_helpers import make_doc, random_edits


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_undo_of_200_random_edits_restores_bytes(seed: int) -> None:
    doc, stack = make_doc(60)
    path = Path("/nonexistent/project/p.dexproj")  # only used to relativise media paths
    original = project_to_bytes(doc.state, path)
    rng = np.random.default_rng(seed)
    assert random_edits(doc, stack, rng, 200) == 200
    mid = project_to_bytes(doc.state, path)
    while stack.undo():
        pass
    assert project_to_bytes(doc.state, path) == original
    assert not doc.dirty
    while stack.redo():
        pass
    assert project_to_bytes(doc.state, path) == mid


def test_drag_merges_into_one_undo_step() -> None:
    doc, stack = make_doc(60, second=False)
    stack.push(C.add_key(doc, "expr.jawOpen", 10, 0.2))
    frame = 10
    for step in range(1, 20):
        stack.push(C.move_key(doc, "expr.jawOpen", frame, 10 + step, 0.2 + step * 0.01, merge_key=("drag", 1)))
        frame = 10 + step
    assert len(stack) == 2
    assert doc.state.channel("expr.jawOpen").keys.frames == (29,)
    stack.undo()
    assert doc.state.channel("expr.jawOpen").keys.frames == (10,)
    # a new drag (another merge key) is its own step
    stack.redo()
    stack.push(C.move_key(doc, "expr.jawOpen", 29, 30, merge_key=("drag", 2)))
    assert len(stack) == 3


def test_no_merge_across_clean_state() -> None:
    doc, stack = make_doc(60, second=False)
    stack.push(C.set_retarget(doc, "pose.yaw", gain=0.9, merge_key="gain"))
    stack.set_clean()
    stack.push(C.set_retarget(doc, "pose.yaw", gain=0.8, merge_key="gain"))
    assert len(stack) == 2 and not stack.is_clean
    stack.undo()
    assert stack.is_clean


def test_locked_channel_and_group_refuse_edits() -> None:
    doc, stack = make_doc(60, second=False)
    stack.push(C.set_channel_flags(doc, "expr.jawOpen", lock=True))
    with pytest.raises(ChannelLockedError) as e:
        C.add_key(doc, "expr.jawOpen", 5, 0.5)
    assert isinstance(e.value, DexStudioError) and "unlock" in str(e.value)
    stack.push(C.set_group_flags(doc, ChannelGroup.POSE, lock=True))
    with pytest.raises(ChannelLockedError):
        C.freeze(doc, "pose")
    stack.push(C.set_channel_flags(doc, "expr.jawOpen", lock=False))  # unlocking is allowed
    stack.push(C.add_key(doc, "expr.jawOpen", 5, 0.5))


def _history_bytes(stack) -> int:
    """Bytes of every distinct object the history references (deep, by identity)."""
    seen: set[int] = set()
    total = 0
    todo: list[object] = list(stack._commands)  # noqa: SLF001
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, np.ndarray):
            total += o.nbytes
        elif isinstance(o, (tuple, list)):
            todo.extend(o)
        elif hasattr(o, "__dict__"):
            todo.extend(vars(o).values())
        elif hasattr(o, "__dataclass_fields__"):
            todo.extend(getattr(o, f) for f in o.__dataclass_fields__)
    return total


def test_stack_limit_and_memory_of_1000_steps() -> None:
    doc, stack = make_doc(3000, second=False)
    for i in range(1100):
        stack.push(C.add_key(doc, "expr.jawOpen" if i % 2 else "pose.yaw", (i * 97) % 3000, float(i % 10) / 10))
    assert len(stack) == 1000
    assert stack.undo_text.startswith("Add key")
    # deltas only: no command holds an array (takes are never copied into the history)
    for cmd in stack._commands:  # noqa: SLF001
        for _, before, after in cmd.changes:
            assert not any(isinstance(v, np.ndarray) for v in vars(before).values())
    used = _history_bytes(stack)
    # 1,000 steps of growing key layers (up to 550 keys per channel): a few MB, while one
    # copy of a 10-minute take alone would be 18000 x 74 x 4 = 5.3 MB per step
    assert used < 8e6, used


def test_each_builder_and_undo_restores_state() -> None:
    from dexstudio.core.channel_state import CombineMode, FilterKind, FreezeMode, Smoothing
    from dexstudio.core.keys import KeyCurve, Key
    from dexstudio.core.take import PerformanceSource
    from dexstudio.core.timebase import FrameRange

    doc, stack = make_doc(60)
    s0 = doc.state
    cmds = [
        lambda: C.add_key(doc, "pose.yaw", 10, 5.0, Interp.LINEAR),
        lambda: C.set_key_value(doc, "pose.yaw", 10, 6.0),
        lambda: C.set_key_interp(doc, "pose.yaw", 10, Interp.EASE_OUT),
        lambda: C.set_key_slopes(doc, "pose.yaw", 10, 0.1, -0.1),
        lambda: C.move_key(doc, "pose.yaw", 10, 12),
        lambda: C.delete_key(doc, "pose.yaw", 12),
        lambda: C.set_keys(doc, "expr.jawOpen", KeyCurve((Key(0, 0.0), Key(30, 1.0)))),
        lambda: C.set_combine(doc, "expr.jawOpen", CombineMode.BLEND),
        lambda: C.set_blend_weight(doc, "expr.jawOpen", KeyCurve((), 0.25)),
        lambda: C.set_retarget(doc, "pose", gain=0.5),
        lambda: C.set_smoothing(doc, "mouth", Smoothing(FilterKind.GAUSSIAN, 0.5)),
        lambda: C.freeze(doc, "pose", FreezeMode.VALUE, 0.0),
        lambda: C.unfreeze(doc, "pose"),
        lambda: C.set_channel_flags(doc, "expr.jawOpen", mute=True),
        lambda: C.set_group_flags(doc, ChannelGroup.EYES, solo=True),
        lambda: C.set_channel_source(doc, "brows", PerformanceSource("b")),
        lambda: C.set_performance(doc, PerformanceSource.crossfade("a", "b", FrameRange(30, 40))),
        lambda: C.set_take_start(doc, "b", 5),
        lambda: C.remove_take(doc, "b"),
    ]
    for make in cmds:
        before = doc.state
        cmd = make()
        stack.push(cmd)
        assert doc.state != before or isinstance(cmd, C.EditChannels), cmd
        assert cmd.text
    while stack.undo():
        pass
    assert doc.state == s0
    with pytest.raises(KeyError):
        C.delete_key(doc, "pose.yaw", 999)
    with pytest.raises(ValueError):
        C.add_take(doc, doc.state.takes[0])


def test_failing_listener_neither_hides_the_event_nor_loses_the_undo_step() -> None:
    doc, stack = make_doc(30, second=False)
    seen = []

    def bad(ev) -> None:
        raise RuntimeError("listener bug")

    doc.changed.connect(bad)
    doc.changed.connect(seen.append)
    with pytest.raises(RuntimeError):
        stack.push(C.add_key(doc, "pose.yaw", 3, 1.0))
    assert len(seen) == 1 and stack.can_undo
    doc.changed.disconnect(bad)
    stack.undo()
    assert doc.state.channel("pose.yaw").keys.frames == ()
