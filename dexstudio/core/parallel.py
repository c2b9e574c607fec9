"""An ordered, bounded, cancellable parallel map on threads.

For per-frame work whose heavy parts release the GIL (OpenCV, numpy): ``threads`` workers
take items in turn and the results come back in input order, with at most ``depth``
results in flight (memory bounded whatever the clip length).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, TypeVar

from dexstudio.core.progress import CancelToken

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity on Linux, else ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


@dataclass
class _Cursor:
    """Where :func:`ordered_map` stands in its items: the next index to hand out and,
    once known, the index at which they end."""

    next: int = 0
    end: Optional[int] = None


def ordered_map(fn: Callable[[T], R], items: Iterable[T], threads: int = 2, depth: int = 4,
                cancel: Optional[CancelToken] = None, name: str = "dexstudio-map") -> Iterator[R]:
    """Yield ``fn(item)`` for every item, in order, computed by ``threads`` threads.

    Args:
        fn: the work; must be safe to call from several threads at once.
        items: consumed once, lazily (at most ``depth`` ahead of the consumer).
        threads: worker threads (1 still overlaps the work with the consumer); 0 runs
            ``fn`` in the consumer's thread.
        depth: the most items taken but not yet yielded (>= threads).
        cancel: checked before each item; raises :class:`Cancelled` in the consumer.
    Raises:
        Whatever ``fn`` or the iteration of ``items`` raised, in the consumer's thread,
        at the position of the failed item. Closing the generator stops the workers.
    """
    if threads <= 0:
        for item in items:
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield fn(item)
        return

    depth = max(int(depth), int(threads), 1)
    source = iter(items)
    lock = threading.Lock()  # guards ``source`` and the slot hand-out
    stop = threading.Event()
    slots = threading.Semaphore(depth)
    results: dict[int, object] = {}
    ready = threading.Condition()
    state = _Cursor()

    def take() -> tuple[int, object]:
        with lock:
            if state.end is not None:
                return -1, _DONE
            k = state.next
            try:
                item = next(source)
            except StopIteration:
                state.end = k
                return -1, _DONE
            except BaseException as exc:  # the iteration itself failed: report at k
                state.end = k + 1
                return k, exc
            state.next = k + 1
            return k, item

    def work() -> None:
        while not stop.is_set():
            if not slots.acquire(timeout=0.1):
                continue
            k, item = take()
            if item is _DONE:
                slots.release()
                with ready:
                    ready.notify_all()
                return
            if isinstance(item, BaseException):
                out: object = item
            else:
                try:
                    out = fn(item)  # type: ignore[arg-type]
                except BaseException as exc:  # handed to the consumer
                    out = exc
            with ready:
                results[k] = out
                ready.notify_all()

    workers = [threading.Thread(target=work, daemon=True, name=f"{name}-{i}") for i in range(threads)]
    for w in workers:
        w.start()
    try:
        k = 0
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            with ready:
                while k not in results:
                    end = state.end
                    if end is not None and k >= end:
                        return
                    ready.wait(0.1)
                    if cancel is not None and cancel.cancelled:
                        break
                if k not in results:
                    continue  # cancelled: raised at the top of the loop
                out = results.pop(k)
            slots.release()
            if isinstance(out, BaseException):
                raise out
            yield out  # type: ignore[misc]
            k += 1
    finally:
        stop.set()
        for w in workers:
            w.join()
