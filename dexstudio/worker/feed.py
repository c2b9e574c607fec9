"""Frames in timeline order from the worker, for export (bounded memory).

The worker answers out of order (cache hits come back at once, renders later); an
exporter needs frame after frame. :func:`iter_frames` keeps at most ``lookahead``
requests in flight, reorders what comes back and yields ``(frame, image)`` in order.
It takes over the worker's range and playhead while it runs (the CLI owns its worker;
the editor runs exports on its own worker so the preview keeps its range).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Iterable, Iterator, Optional, Sized

import numpy as np

from dexstudio.core.errors import Cancelled, DexStudioError
from dexstudio.core.progress import CancelToken, Progress, ProgressCallback, null_progress
from dexstudio.worker.events import DeviceFallback, FrameReady, RenderError
from dexstudio.worker.request import RenderRequest
from dexstudio.worker.worker import RenderWorker


class FrameRenderError(RuntimeError):
    """A frame failed to render during an export (wraps the animator's error)."""


def iter_frames(worker: RenderWorker, requests: Iterable[RenderRequest], *, lookahead: int = 8,
                cancel: Optional[CancelToken] = None, progress: ProgressCallback = null_progress,
                on_fallback: Optional[Callable[[DeviceFallback], None]] = None,
                poll_s: float = 0.1) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame, image)`` for ``requests`` in their order.

    Args:
        worker: a running worker.
        requests: one request per output frame, in output order (distinct frames); read
            lazily, ``lookahead`` ahead (a generator that evaluates chunks keeps memory flat).
        lookahead: requests in flight at once (memory: at most this many images buffered).
        cancel: checked while waiting; raises :class:`Cancelled`.
        progress: called after each yielded frame (``Progress(done, total, "render")``;
            total None when ``requests`` has no length).
        on_fallback: called (worker thread) on a device fallback (e.g. print a warning).

    Raises:
        DexStudioError: a frame failed with a user-caused error (re-raised as is).
        FrameRenderError: a frame failed otherwise.
        Cancelled: ``cancel`` was cancelled.
        ValueError: a frame appears twice among the requests in flight.
    """
    if lookahead < 1:
        raise ValueError("lookahead must be >= 1")
    total = len(requests) if isinstance(requests, Sized) else None
    source = iter(requests)
    inflight: deque[RenderRequest] = deque()
    cond = threading.Condition()
    wanted: dict[int, str] = {}  # in-flight frame -> request key (guarded by cond)
    ready: dict[int, np.ndarray] = {}
    failure: list[BaseException] = []

    def on_frame(ev: FrameReady) -> None:
        with cond:
            if wanted.get(ev.frame) == ev.request_key:
                ready[ev.frame] = ev.image
                cond.notify_all()

    def on_error(ev: RenderError) -> None:
        with cond:
            if ev.frame is None or ev.frame in wanted:
                failure.append(ev.error)
                cond.notify_all()

    def refill(first: bool) -> None:
        new: dict[int, RenderRequest] = {}
        while len(inflight) < lookahead:
            r = next(source, None)
            if r is None:
                break
            with cond:
                if r.frame in wanted:
                    raise ValueError(f"iter_frames got frame {r.frame} twice")
                wanted[r.frame] = r.key
            inflight.append(r)
            new[r.frame] = r
        if first:
            worker.submit_range(new, replace=True)
        elif new:
            worker.submit_range(new, replace=False)

    subs = [worker.events.subscribe(FrameReady, on_frame),
            worker.events.subscribe(RenderError, on_error)]
    if on_fallback is not None:
        subs.append(worker.events.subscribe(DeviceFallback, on_fallback))
    try:
        refill(first=True)
        if inflight:
            worker.set_playhead(inflight[0].frame)
        done = 0
        while inflight:
            req = inflight[0]
            with cond:
                while req.frame not in ready:
                    if failure:
                        err = failure[0]
                        if isinstance(err, DexStudioError):
                            raise err
                        raise FrameRenderError(f"frame {req.frame} failed to render: {err}") from err
                    if cancel is not None and cancel.cancelled:
                        raise Cancelled("rendering was cancelled; nothing partial was written")
                    if not worker.is_alive:
                        raise FrameRenderError("the render worker stopped")
                    cond.wait(poll_s)
                image = ready.pop(req.frame)
                del wanted[req.frame]
            inflight.popleft()
            refill(first=False)
            if inflight:
                worker.set_playhead(inflight[0].frame)
            yield req.frame, image
            done += 1
            progress(Progress(done, total, "render"))
    finally:
        for s in subs:
            s.close()
        worker.cancel_pending()
