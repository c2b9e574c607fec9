"""Face tracking on several cores: frames dealt to tracker "lanes" in chunks, results in order.

MediaPipe's landmarker runs one inference at a time per instance and releases the GIL
while it runs (ctypes), so two instances in two threads track two frames at once. The
frames of a clip are dealt round-robin in chunks of ``chunk`` frames: lane ``k`` tracks
chunks ``k, k + n, k + 2n, ...``; :func:`tracked_in_order` yields ``(index, faces)`` in
frame order, so everything downstream (the face follower, the statistics, the spill
file) stays sequential and unchanged.

Results do not depend on the number of lanes for a tracker that re-detects every frame
(MediaPipe with ``num_faces`` above the faces present, the extraction default):
measured identical landmarks and blendshapes on liveportrait_d10 with 1 lane and with 2
lanes at chunks of 16 and 64 (``tests/motion/test_lanes.py`` asserts it on the sample).

Memory stays bounded: each lane queues at most ``chunk`` frames.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from dexstudio.core.parallel import available_cores
from dexstudio.core.progress import CancelToken
from dexstudio.core.timebase import FrameRate
from dexstudio.motion.tracker import FaceObservation, FaceTracker

_DONE = object()


def auto_lanes(limit: int = 4) -> int:
    """Tracker lanes for this machine: one per core available to the process, at most ``limit``."""
    return max(1, min(limit, available_cores()))


def timestamp_ms(index: int, rate: FrameRate, base_ms: int) -> int:
    """Tracker timestamp of frame ``index`` (ms, strictly increasing with the index)."""
    return base_ms + index * 1000 * rate.den // rate.num


def _put(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Blocking put that gives up when ``stop`` is set; True when the item went in."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def tracked_in_order(frames: Iterable[tuple[int, np.ndarray]], trackers: Sequence[FaceTracker],
                     rate: FrameRate, base_ms: int, chunk: int = 4,
                     cancel: Optional[CancelToken] = None,
                     ) -> Iterator[tuple[int, list[FaceObservation]]]:
    """Track ``frames`` with ``trackers`` (one thread each) and yield results in frame order.

    Args:
        frames: ``(index, rgb (H, W, 3) uint8)`` with increasing indices; consumed once.
        trackers: one per lane; each sees strictly increasing timestamps.
        rate: frame rate (timestamps).
        base_ms: timestamp of frame 0 (above every tracker's ``last_timestamp_ms``).
        chunk: consecutive frames a lane tracks before the next lane takes over.
        cancel: checked per frame; stops every thread.
    Yields:
        ``(index, faces)`` for every frame, in order. A tracker's error is raised here.
    """
    if not trackers:
        raise ValueError("tracked_in_order needs at least one tracker")
    if len(trackers) == 1:  # no threads: the plain loop
        tracker = trackers[0]
        for index, rgb in frames:
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield index, tracker.track_frame(rgb, timestamp_ms(index, rate, base_ms))
        return

    n = len(trackers)
    stop = threading.Event()
    inputs = [queue.Queue(maxsize=chunk) for _ in range(n)]
    outputs: list[queue.Queue] = [queue.Queue() for _ in range(n)]
    feed_error: list[BaseException] = []

    def lane(k: int) -> None:
        tracker = trackers[k]
        try:
            while not stop.is_set():
                try:
                    item = inputs[k].get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is _DONE:
                    break
                index, rgb = item
                outputs[k].put((index, tracker.track_frame(rgb, timestamp_ms(index, rate, base_ms))))
        except BaseException as exc:  # handed to the consumer at the failed frame's position;
            # the other lanes go on, so every frame before it is still delivered (stopping
            # them here could end another lane first: a silently shorter track)
            outputs[k].put(exc)
            return
        outputs[k].put(_DONE)

    def feed() -> None:
        try:
            for pos, item in enumerate(frames):
                if not _put(inputs[(pos // chunk) % n], item, stop):
                    return
        except BaseException as exc:  # a decoder error
            feed_error.append(exc)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:  # a generator: stop its decoder thread now
                close()
        for q in inputs:
            _put(q, _DONE, stop)

    threads = [threading.Thread(target=lane, args=(k,), daemon=True, name=f"dexstudio-track-{k}")
               for k in range(n)]
    threads.append(threading.Thread(target=feed, daemon=True, name="dexstudio-track-feed"))
    for t in threads:
        t.start()
    try:
        pos = 0
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            out = outputs[(pos // chunk) % n]
            try:
                item = out.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                raise item
            if item is _DONE:
                break
            yield item
            pos += 1
        if feed_error:
            raise feed_error[0]
    finally:
        stop.set()
        for t in threads:
            t.join()
