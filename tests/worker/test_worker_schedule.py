"""Pick order: playhead, then the window (ahead first), then the background fill (wrapping)."""

from __future__ import annotations

from dexstudio.core.timebase import FrameRange
from dexstudio.worker.schedule import PendingQueue, Tier


def queue(frames: range, playhead: int = 0, window: FrameRange | None = None) -> PendingQueue[str]:
    q: PendingQueue[str] = PendingQueue()
    q.update({f: f"r{f}" for f in frames})
    q.playhead = playhead
    q.window = window
    return q


def test_playhead_then_window_ahead_then_window_behind_then_background_wrapping() -> None:
    q = queue(range(0, 20), playhead=10, window=FrameRange(8, 14))
    assert q.peek() == (10, Tier.PLAYHEAD)
    assert q.order() == [10, 11, 12, 13, 8, 9, 14, 15, 16, 17, 18, 19, 0, 1, 2, 3, 4, 5, 6, 7]
    assert len(q) == 20  # order() does not consume


def test_playhead_move_changes_the_next_pick_immediately() -> None:
    q = queue(range(100))
    assert q.pop()[0] == 0  # type: ignore[index]
    q.playhead = 70
    assert q.pop()[:3:2] == (70, Tier.PLAYHEAD)  # type: ignore[index]
    assert q.pop()[:3:2] == (71, Tier.BACKGROUND)  # type: ignore[index]


def test_replacing_a_pending_item_keeps_one_entry() -> None:
    q = queue(range(3))
    assert q.put(1, "new") == "r1"
    assert len(q) == 3 and q.get(1) == "new"
    assert [q.pop()[1] for _ in range(3)] == ["r0", "new", "r2"]  # type: ignore[index]
    assert q.pop() is None


def test_window_entirely_behind_playhead_and_remove() -> None:
    q = queue(range(10), playhead=9, window=FrameRange(2, 4))
    assert q.order() == [9, 2, 3, 0, 1, 4, 5, 6, 7, 8]
    assert q.remove(2) == "r2" and q.remove(2) is None
    assert 2 not in q and list(q.frames()) == [0, 1, 3, 4, 5, 6, 7, 8, 9]
