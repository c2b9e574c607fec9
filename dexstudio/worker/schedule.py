"""Which pending frame to render next (pure data structure; the worker holds its lock).

Order:
1. the playhead frame;
2. the priority window (the visible / playing span): frames at or after the playhead in
   ascending order, then the window's frames before the playhead;
3. the background fill: the rest of the range from the playhead forward, wrapping to
   the range start.

Each pick costs O(log n) (bisect on a sorted list of pending frames); changing the
playhead costs nothing, so scrubbing never rebuilds a heap.
"""

from __future__ import annotations

import bisect
import enum
from typing import Generic, Iterator, Mapping, Optional, TypeVar

from dexstudio.core.timebase import FrameRange

T = TypeVar("T")


class Tier(enum.IntEnum):
    PLAYHEAD = 0
    WINDOW = 1
    BACKGROUND = 2


class PendingQueue(Generic[T]):
    """Pending items by frame, one per frame (a newer item for a frame replaces the older)."""

    def __init__(self) -> None:
        self._items: dict[int, T] = {}
        self._frames: list[int] = []  # sorted keys of _items
        self.playhead = 0
        self.window: Optional[FrameRange] = None

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, frame: object) -> bool:
        return frame in self._items

    def get(self, frame: int) -> Optional[T]:
        return self._items.get(frame)

    def frames(self) -> Iterator[int]:
        return iter(self._frames)

    def put(self, frame: int, item: T) -> Optional[T]:
        """Add or replace; returns the replaced item."""
        old = self._items.get(frame)
        if old is None:
            bisect.insort(self._frames, frame)
        self._items[frame] = item
        return old

    def update(self, items: Mapping[int, T]) -> None:
        new = [f for f in items if f not in self._items]
        self._items.update(items)
        if new:
            if len(new) > 64:
                self._frames = sorted(self._items)
            else:
                for f in new:
                    bisect.insort(self._frames, f)

    def remove(self, frame: int) -> Optional[T]:
        item = self._items.pop(frame, None)
        if item is not None:
            i = bisect.bisect_left(self._frames, frame)
            del self._frames[i]
        return item

    def clear(self) -> None:
        self._items.clear()
        self._frames.clear()

    def _first_at_or_after(self, frame: int, stop: Optional[int] = None) -> Optional[int]:
        i = bisect.bisect_left(self._frames, frame)
        if i < len(self._frames) and (stop is None or self._frames[i] < stop):
            return self._frames[i]
        return None

    def peek(self) -> Optional[tuple[int, Tier]]:
        """The next frame to render and its tier, or None when empty."""
        if not self._frames:
            return None
        ph = self.playhead
        if ph in self._items:
            return ph, Tier.PLAYHEAD
        w = self.window
        if w is not None and len(w):
            f = self._first_at_or_after(max(ph, w.start), w.stop) if ph < w.stop else None
            if f is None and w.start < ph:
                f = self._first_at_or_after(w.start, min(ph, w.stop))
            if f is not None:
                return f, Tier.WINDOW
        f = self._first_at_or_after(ph)
        if f is None:
            f = self._frames[0]
        return f, Tier.BACKGROUND

    def pop(self) -> Optional[tuple[int, T, Tier]]:
        nxt = self.peek()
        if nxt is None:
            return None
        frame, tier = nxt
        item = self.remove(frame)
        assert item is not None
        return frame, item, tier

    def order(self) -> list[int]:
        """Every pending frame in pick order (for tests and diagnostics; O(n log n))."""
        saved = dict(self._items), list(self._frames)
        out = []
        while self._frames:
            popped = self.pop()
            assert popped is not None
            out.append(popped[0])
        self._items, self._frames = saved
        return out
