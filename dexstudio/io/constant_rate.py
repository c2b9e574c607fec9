"""Frames of a variable-frame-rate clip re-timed to its constant rate.

Everything downstream counts driving frames at one rate: frame ``k`` is at ``k / fps``
seconds on the clip's timeline, and the export lays the driving audio under the video
by that rule. Many real clips are not evenly timed: phones lower the frame rate in low
light, screen and video-call recordings skip frames while the picture is still (a
frozen second is one frame lasting a second). Counted one by one, such a clip's frames
drift from their audio by the time the skipped frames would have taken.

:func:`constant_rate` gives each output slot ``k`` (time ``t0 + k / fps``) the frame
shown at that time, rounded to the nearest slot: a frame that lasts several slots is
repeated, and of frames closer together than a slot the later one is kept (as
``ffmpeg -vsync cfr`` does). An evenly timed clip comes out frame for frame as it is.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar("T")

__all__ = ["constant_rate"]


def constant_rate(frames: Iterable[tuple[Optional[float], T]], fps: float) -> Iterator[tuple[int, T]]:
    """Re-time ``(time, frame)`` pairs (seconds, presentation order) to ``fps``.

    Yields ``(slot, frame)`` with slots 0, 1, 2, ... in order; a frame may be yielded for
    several slots in a row, or not at all (module doc). Once a frame has no time (None),
    that frame and the rest are counted one slot each, as they come.

    Args:
        frames: pairs of presentation time (seconds) and anything.
        fps: the constant rate, frames per second (> 0).
    """
    t0: Optional[float] = None
    held: Optional[T] = None
    has_held = False
    slot = 0  # the next slot to fill
    untimed = False
    for t, frame in frames:
        if untimed or t is None or fps <= 0:
            untimed = True
            if has_held:
                yield slot, held  # type: ignore[misc]
                slot += 1
            held, has_held = frame, True
            continue
        if t0 is None:
            t0 = t
        starts = int(round((t - t0) * fps))  # the slot this frame is shown from
        if has_held:
            while slot < starts:  # the held frame lasts until this one starts
                yield slot, held  # type: ignore[misc]
                slot += 1
        held, has_held = frame, True  # a held frame not yet shown in any slot is replaced
    if has_held:
        yield slot, held  # type: ignore[misc]
