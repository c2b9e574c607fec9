"""Typed worker events and a small thread-safe observer (no Qt).

Events are delivered **on the worker's threads** (the render thread; a failed cache write
is reported from the cache-writer thread), synchronously, in the order they happen.
Listeners must be quick and must not block on the worker (calling ``set_playhead`` or
``submit_range`` from a listener is fine: they only take a short lock). The Qt bridge
(``dexstudio/ui``) subscribes one listener that re-emits each event as a Qt signal; Qt's
queued connections then run the GUI slots on the GUI thread. A listener that raises is
logged and does not stop the worker.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable, Generic, Optional, TypeVar, Union

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameReady:
    """A frame's image for its current request is available.

    Attributes:
        frame: timeline frame number.
        request_key: :attr:`RenderRequest.key` of the request it answers.
        image: (H, W, 3) uint8 RGB, read-only (shared with the memory cache: do not modify).
        from_cache: True when served from the memory or disk cache (no animator call).
    """

    frame: int
    request_key: str
    image: np.ndarray
    from_cache: bool


@dataclass(frozen=True)
class FillProgress:
    """Progress of the submitted range: ``done`` of ``total`` frames have current images."""

    done: int
    total: int


@dataclass(frozen=True)
class CacheStats:
    """Cumulative cache counters of this worker.

    Attributes:
        hits: frames served from a cache (memory or disk).
        misses: frames that needed the animator.
        bytes_in_memory: bytes held by the in-memory frame cache.
        bytes_on_disk: bytes of the on-disk frame cache (this worker's view).
        corrupt: corrupt disk entries detected (deleted and re-rendered).
        intermediate_hits: intermediates (denoised latents) reused.
        animator_calls: render / render_intermediate / decode calls made.
    """

    hits: int
    misses: int
    bytes_in_memory: int
    bytes_on_disk: int
    corrupt: int = 0
    intermediate_hits: int = 0
    animator_calls: int = 0


@dataclass(frozen=True)
class RenderError:
    """A frame (or the source, ``frame`` None) could not be rendered.

    Attributes:
        frame: the frame, or None for errors not tied to one (animator creation).
        error: the exception (a :class:`DexStudioError` for user-caused problems).
        request_key: key of the failed request ("" when none).
        frames_dropped: other pending frames dropped because of the same cause
            (e.g. no face in the source).
    """

    frame: Optional[int]
    error: BaseException
    request_key: str = ""
    frames_dropped: int = 0


@dataclass(frozen=True)
class DeviceFallback:
    """The worker left a device (CUDA out of memory): ``message`` says what happened."""

    message: str
    from_device: str
    to_device: str


WorkerEvent = Union[FrameReady, FillProgress, CacheStats, RenderError, DeviceFallback]
E = TypeVar("E")


class Subscription:
    """Handle returned by :meth:`EventBus.subscribe`; :meth:`close` unsubscribes."""

    def __init__(self, bus: "EventBus", entry: tuple[Optional[type], Callable]) -> None:
        self._bus = bus
        self._entry = entry

    def close(self) -> None:
        self._bus._remove(self._entry)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus(Generic[E]):
    """Typed observer: ``subscribe(FrameReady, fn)`` or ``subscribe(None, fn)`` for all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: tuple[tuple[Optional[type], Callable], ...] = ()

    def subscribe(self, event_type: Optional[type], callback: Callable[[E], None]) -> Subscription:
        entry = (event_type, callback)
        with self._lock:
            self._listeners = (*self._listeners, entry)
        return Subscription(self, entry)

    def _remove(self, entry: tuple[Optional[type], Callable]) -> None:
        with self._lock:
            self._listeners = tuple(e for e in self._listeners if e is not entry)

    def emit(self, event: E) -> None:
        for event_type, callback in self._listeners:  # snapshot (tuple): safe to mutate meanwhile
            if event_type is None or isinstance(event, event_type):
                try:
                    callback(event)
                except Exception:  # a broken listener must not kill the worker
                    log.exception("worker event listener %r failed on %s", callback,
                                  type(event).__name__)


class EventRecorder:
    """Test/CLI helper: records every event; ``of(FrameReady)`` filters by type."""

    def __init__(self, bus: EventBus) -> None:
        self._lock = threading.Lock()
        self.events: list[object] = []
        self._cond = threading.Condition(self._lock)
        self.subscription = bus.subscribe(None, self._on)

    def _on(self, event: object) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, event_type: type[E]) -> list[E]:
        with self._lock:
            return [e for e in self.events if isinstance(e, event_type)]

    def clear(self) -> None:
        with self._lock:
            self.events.clear()

    def wait_for(self, predicate: Callable[[list[object]], bool], timeout: float = 10.0) -> bool:
        """Wait until ``predicate(events)`` is true; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.events), timeout)
