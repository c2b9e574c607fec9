"""A compact set of frames: sorted, disjoint, non-adjacent half-open ranges.

Used for dependency ranges ("which frames' evaluated output changed") in change
events; the render cache drops exactly these frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from dexstudio.core.timebase import FrameRange


@dataclass(frozen=True)
class RangeSet:
    """Frames as a tuple of ``(start, stop)`` half-open ranges, sorted, disjoint and
    merged (no two ranges touch). Build with :meth:`of`, :meth:`from_mask` or
    :meth:`from_frames`; the constructor normalises whatever it is given."""

    ranges: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ranges", _normalise(self.ranges))

    # -- construction -------------------------------------------------------------------
    @classmethod
    def empty(cls) -> "RangeSet":
        return cls(())

    @classmethod
    def of(cls, *ranges: FrameRange | tuple[int, int]) -> "RangeSet":
        """From FrameRanges or ``(start, stop)`` pairs."""
        pairs = [(r.start, r.stop) if isinstance(r, FrameRange) else (int(r[0]), int(r[1]))
                 for r in ranges]
        return cls(tuple(pairs))

    @classmethod
    def from_mask(cls, first_frame: int, mask: np.ndarray) -> "RangeSet":
        """From a (N,) bool mask over frames ``first_frame .. first_frame + N - 1``."""
        m = np.asarray(mask, dtype=bool)
        if m.size == 0 or not m.any():
            return cls(())
        d = np.diff(np.concatenate([[False], m, [False]]).astype(np.int8))
        starts = np.flatnonzero(d == 1) + first_frame
        stops = np.flatnonzero(d == -1) + first_frame
        return cls(tuple(zip(starts.tolist(), stops.tolist())))

    @classmethod
    def from_frames(cls, frames: Iterable[int]) -> "RangeSet":
        f = np.unique(np.asarray(list(frames), dtype=np.int64))
        if f.size == 0:
            return cls(())
        lo = int(f[0])
        mask = np.zeros(int(f[-1]) - lo + 1, dtype=bool)
        mask[f - lo] = True
        return cls.from_mask(lo, mask)

    # -- queries ------------------------------------------------------------------------
    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __len__(self) -> int:
        """Number of frames."""
        return sum(b - a for a, b in self.ranges)

    def __iter__(self) -> Iterator[FrameRange]:
        return (FrameRange(a, b) for a, b in self.ranges)

    def __contains__(self, frame: object) -> bool:
        if not isinstance(frame, (int, np.integer)):
            return False
        return any(a <= frame < b for a, b in self.ranges)

    @property
    def is_empty(self) -> bool:
        return not self.ranges

    def frames(self) -> np.ndarray:
        """All frames as a sorted (N,) int64 array."""
        if not self.ranges:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in self.ranges])

    def bounds(self) -> FrameRange | None:
        """Smallest FrameRange covering the set (None when empty)."""
        return FrameRange(self.ranges[0][0], self.ranges[-1][1]) if self.ranges else None

    # -- algebra ------------------------------------------------------------------------
    def union(self, other: "RangeSet") -> "RangeSet":
        return RangeSet(self.ranges + other.ranges)

    __or__ = union

    def intersect(self, window: FrameRange) -> "RangeSet":
        out = []
        for a, b in self.ranges:
            lo, hi = max(a, window.start), min(b, window.stop)
            if lo < hi:
                out.append((lo, hi))
        return RangeSet(tuple(out))

    def __str__(self) -> str:
        return "{" + ", ".join(f"{a}:{b}" for a, b in self.ranges) + "}"


def _normalise(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    items = sorted((int(a), int(b)) for a, b in ranges if int(b) > int(a))
    out: list[tuple[int, int]] = []
    for a, b in items:
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return tuple(out)


__all__ = ["RangeSet"]
