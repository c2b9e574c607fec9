"""An ordered, bounded, cancellable parallel map on forked processes, for frames.

:func:`dexstudio.core.parallel.ordered_map` runs work on threads, which only helps where
the heavy parts release the GIL. The warp animator's ``render`` is many small numpy and
OpenCV calls: two threads measured 1.07-1.15x over one. Forked processes have a GIL
each. They inherit the caller's state (the prepared source, the evaluated motion), so
nothing is pickled on the way in. Each writes its frames into slots of an anonymous
shared mapping, and the caller copies them out in order.

Only where ``fork`` exists and is safe: Linux (:func:`fork_available`). The caller forks
from a process without live Python threads of its own (a command line run between its
phases), never from a Qt application. A crashed or killed worker is reported as an error,
not waited for.
"""

from __future__ import annotations

import mmap
import multiprocessing as mp
import pickle
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Callable, Iterator, Optional

import numpy as np

from dexstudio.core.progress import CancelToken

__all__ = ["ProcessMap", "WorkerProcessError", "fork_available", "peak_rss_mb"]

_POLL_S = 0.1
_JOIN_S = 2.0


class WorkerProcessError(RuntimeError):
    """A worker process died (killed, out of memory, crashed) or raised an error that
    could not be sent back as it was."""


def fork_available() -> bool:
    """Whether :class:`ProcessMap` can run here (Linux: ``fork`` is safe for
    numpy/OpenCV work; macOS and Windows have no safe ``fork``)."""
    return sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods()


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a :class:`WorkerProcessError` with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return WorkerProcessError(f"a render process failed:\n{text}")


def _serve(fn: Callable[[int, np.ndarray], None], conn: Connection, slots: list[np.ndarray]) -> None:
    """A worker's loop: take an item index, fill its slot, answer ``(index, error)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            k = conn.recv()
        except EOFError:
            return
        if k is None:
            return
        err: Optional[BaseException] = None
        try:
            fn(k, slots[k % len(slots)])
        except BaseException as exc:  # handed to the caller
            err = _picklable(exc)
        try:
            conn.send((k, err))
        except OSError:  # the caller is gone (killed): nothing to answer
            return


class ProcessMap:
    """Items ``0 .. count - 1`` of ``fn``, in order, computed by ``processes`` forked
    processes; iterate it for the arrays. The processes start (fork) when it is made.

    Item ``k`` goes to process ``k % processes``; each has at most ``per_process`` items in
    flight, so memory is bounded whatever ``count`` is: ``processes * per_process`` slots
    of ``shape``.

    Args:
        fn: ``fn(k, out)`` writes item ``k`` into ``out`` (an array of ``shape`` and
            ``dtype``). It runs in a forked child: it sees the caller's state as it was at
            the fork, and what it changes there is not seen by the caller.
        count: number of items.
        shape, dtype: of one item's array.
        processes: worker processes (>= 1).
        per_process: items in flight per process.
        cancel: checked before each item; raises :class:`Cancelled` in the caller.
    Iterating yields a fresh array (a copy out of the shared slot) per item and raises
    whatever ``fn`` raised, at the failed item (:class:`WorkerProcessError` where it could
    not be pickled), or :class:`WorkerProcessError` if a worker died. :meth:`close` (also
    on exit from a ``with`` block, and when iteration ends or fails) stops the workers.
    """

    def __init__(self, fn: Callable[[int, np.ndarray], None], count: int, shape: tuple[int, ...],
                 dtype: np.dtype | type = np.uint8, processes: int = 2, per_process: int = 3,
                 cancel: Optional[CancelToken] = None) -> None:
        if not fork_available():
            raise RuntimeError("ProcessMap needs fork (Linux); use dexstudio.core.parallel.ordered_map")
        self.count = max(0, int(count))
        self.cancel = cancel
        self._next = 0
        self._conns: list[Connection] = []
        self._procs: list[BaseProcess] = []
        self._buf: Optional[mmap.mmap] = None
        self._slots: list[np.ndarray] = []
        if self.count == 0:
            return
        self.processes = max(1, min(int(processes), self.count))
        self.depth = self.processes * max(1, int(per_process))
        dt = np.dtype(dtype)
        n_el = int(np.prod(shape))
        nbytes = max(1, n_el * dt.itemsize)
        self._buf = mmap.mmap(-1, nbytes * self.depth)  # anonymous, shared: children write, we read
        self._slots = [np.frombuffer(self._buf, dt, count=n_el, offset=k * nbytes).reshape(shape)
                       for k in range(self.depth)]
        ctx = mp.get_context("fork")
        for stream in (sys.stdout, sys.stderr):  # no buffered text written twice by a child
            if stream is not None:
                stream.flush()
        try:
            for _ in range(self.processes):
                here, there = ctx.Pipe()
                p = ctx.Process(target=_serve, args=(fn, there, self._slots), daemon=True,
                                name="dexstudio-render")
                p.start()
                there.close()
                self._conns.append(here)
                self._procs.append(p)
            for k in range(min(self.depth, self.count)):
                self._conns[k % self.processes].send(k)
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Iterator[np.ndarray]:
        return self

    def __next__(self) -> np.ndarray:
        k = self._next
        if k >= self.count or not self._procs:
            self.close()
            raise StopIteration
        try:
            out = self._take(k)
        except BaseException:
            self.close()
            raise
        self._next = k + 1
        return out

    def _take(self, k: int) -> np.ndarray:
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()
        conn, proc = self._conns[k % self.processes], self._procs[k % self.processes]
        while not conn.poll(_POLL_S):
            if self.cancel is not None:
                self.cancel.raise_if_cancelled()
            if not proc.is_alive():
                raise WorkerProcessError(f"a render process stopped (exit code {proc.exitcode}) before "
                                         f"item {k}; out of memory?")
        try:
            got, err = conn.recv()
        except (EOFError, OSError):
            raise WorkerProcessError(f"a render process stopped before item {k}; out of memory?") from None
        if got != k:
            raise WorkerProcessError(f"a render process answered item {got} where {k} was due")
        if err is not None:
            raise err
        out = self._slots[k % self.depth].copy()
        if k + self.depth < self.count:
            conn.send(k + self.depth)
        return out

    def close(self) -> None:
        """Stop the workers (each finishes the item it is on) and free the slots. Idempotent."""
        conns, procs = self._conns, self._procs
        self._conns, self._procs = [], []
        for conn in conns:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for p in procs:
            p.join(_JOIN_S)
            if p.is_alive():
                p.terminate()
                p.join(_JOIN_S)
        for conn in conns:
            conn.close()
        self._slots = []
        if self._buf is not None:
            try:
                self._buf.close()
            except BufferError:  # a view still alive somewhere: the mapping goes with it
                pass
            self._buf = None

    def __enter__(self) -> "ProcessMap":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a safety net; callers close (or exhaust) explicitly
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory in MB: of this process, or with ``children`` of its largest
    finished child process (0 if none). 0 where the platform cannot tell (Windows)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    r = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / (1024.0 * 1024.0)  # kB on Linux, bytes on macOS
