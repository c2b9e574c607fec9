"""The render worker: one background thread that owns the device and the animator.

Usage (Qt-free; the editor's Qt bridge subscribes to ``worker.events`` and re-emits each
event as a signal, so GUI slots run on the GUI thread)::

    factory = lambda device: WarpAnimator(WarpSettings(device=device))
    with RenderWorker(factory, WorkerConfig()) as worker:
        worker.events.subscribe(FrameReady, on_frame)          # called on the worker thread
        builder = RequestBuilder.from_identity(worker.animator_identity(),
                                               SourceImage.from_array(img))
        worker.submit_range(builder.build(document.evaluate(frames)), window=FrameRange(0, 90))
        worker.set_playhead(42)                                 # served next
        ...
        # an edit changed frames 30..60: rebuild only those and merge them in
        worker.submit_range(builder.build(document.evaluate(changed)), replace=False)

(:class:`dexstudio.worker.project_render.DocumentRenderFeed` does the last step from the
document's change events.)

Scheduling: :class:`dexstudio.worker.schedule.PendingQueue` (playhead, then the window,
then the background fill). A request for a frame replaces the pending one (dropped
before it starts); if the frame is being rendered with other content, the running job's
:class:`CancelToken` is cancelled (animators whose ``render`` takes a ``cancel`` keyword
stop at their next safe point; for others the result is cached but not announced).
Moving the playhead to a frame that is not ready preempts the running job the same way
(the preempted frame is queued again), so with a cancel-aware animator the playhead
frame waits for the next safe point, not for a whole background frame.

Paste-back (``OutputOptions.paste_back``) uses the optional pair
``animator.render_frame(state, motion, expression_model) -> F`` and
``animator.paste_back(state, F) -> (H, W, 3) uint8`` (the warp animator has both).

Each job looks in the memory cache, then the disk cache (content-addressed by
:attr:`RenderRequest.key`); on a miss the animator renders it (with the intermediate
cached separately for animators that declare one), the output options are applied and
the image goes to both caches.

Devices: the animator is created on the worker thread by ``animator_factory(device)``.
On a CUDA out-of-memory error the worker halves its batch size and retries; at batch 1
it recreates the animator on the CPU, emits :class:`DeviceFallback` and continues. No
animator error ever escapes the thread: it becomes a :class:`RenderError` event.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from dexstudio.core.errors import Cancelled, DexStudioError, OutputError
from dexstudio.core.progress import CancelToken
from dexstudio.core.timebase import FrameRange
from dexstudio.render.base import Animator, SourceState
from dexstudio.worker.cache_dir import render_cache_dir
from dexstudio.worker.device import (
    DeviceChoice,
    apply_cpu_threads,
    choose_device,
    default_cpu_threads,
    is_out_of_memory,
    release_device_memory,
)
from dexstudio.worker.disk_cache import DiskCache
from dexstudio.worker.disk_writer import DiskWriter
from dexstudio.worker.events import (
    CacheStats,
    DeviceFallback,
    EventBus,
    FillProgress,
    FrameReady,
    RenderError,
)
from dexstudio.worker.lru import LRUCache
from dexstudio.worker.request import RenderRequest
from dexstudio.worker.schedule import PendingQueue, Tier

log = logging.getLogger(__name__)

#: Creates the animator on the worker thread for a device string ("cuda", "mps", "cpu").
AnimatorFactory = Callable[[str], Animator]

MiB = 1 << 20
GiB = 1 << 30


class AnimatorMismatchError(DexStudioError):
    """A request was built for another animator or other settings than the worker runs."""


class UnsupportedOutputError(DexStudioError):
    """The output options ask for something the animator cannot do (e.g. paste-back)."""


@dataclass(frozen=True)
class WorkerConfig:
    """Render worker settings (the sizes are what the user sets in preferences).

    Attributes:
        device: auto (cuda > mps > cpu), or an explicit device.
        cpu_threads: intra-op threads on the CPU (None = cores - 1, at least 1).
        memory_cache_bytes: bound of the in-memory frame cache (LRU).
        disk_cache_bytes: bound of the on-disk frame cache (0 = no disk cache).
        cache_dir: root of the disk caches (None = ``$DEXSTUDIO_CACHE_DIR`` or the user
            cache dir, + ``/render``).
        source_cache_entries: prepared source states kept (LRU by count).
        intermediate_memory_bytes: bound of the in-memory intermediate (latent) cache.
        intermediate_disk_bytes: bound of the on-disk intermediate cache.
        batch_size: most frames per ``render_batch`` call in the background fill (used only
            when the animator has ``render_batch``; halved on CUDA out-of-memory).
        stats_interval_s: least time between two :class:`CacheStats` events.
    """

    device: DeviceChoice = DeviceChoice.AUTO
    cpu_threads: Optional[int] = None
    memory_cache_bytes: int = 1 * GiB
    disk_cache_bytes: int = 8 * GiB
    cache_dir: Optional[Path] = None
    source_cache_entries: int = 4
    intermediate_memory_bytes: int = 256 * MiB
    intermediate_disk_bytes: int = 2 * GiB
    batch_size: int = 1
    stats_interval_s: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", DeviceChoice(self.device))
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise ValueError("cpu_threads must be >= 1")


@dataclass(frozen=True)
class AnimatorIdentity:
    """What requests for the worker's animator must carry (see :meth:`RequestBuilder.from_identity`)."""

    animator_id: str
    settings_key: str
    intermediate_settings_key: str
    device: str

    @classmethod
    def of(cls, animator: Animator, device: str) -> "AnimatorIdentity":
        ikey = getattr(animator, "intermediate_settings_key", None)
        settings = animator.settings_key()
        return cls(animator.animator_id, settings, ikey() if callable(ikey) else settings, device)


@dataclass
class _Job:
    frame: int
    request: RenderRequest
    tier: Tier
    token: CancelToken
    preempted: bool = False  # cancelled for the playhead: requeued, not dropped


def _accepts_cancel(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False
    return "cancel" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _frozen(image: np.ndarray) -> np.ndarray:
    """The worker keeps the arrays animators return (caches, events) and marks them read-only;
    a view into a buffer the animator may reuse is copied first."""
    if image.base is not None or not image.flags.c_contiguous:
        image = np.ascontiguousarray(image).copy()
    if image.flags.writeable:
        image.flags.writeable = False
    return image


class RenderWorker:
    """Background renderer with priorities, caches and cancellation (see the module doc).

    Args:
        animator_factory: ``device -> Animator``, called on the worker thread (again with
            ``"cpu"`` after a CUDA out-of-memory fallback).
        config: sizes, device, threads.
        events: the bus to emit on (a new one by default; :attr:`events`).
        device_chooser: maps the device preference to a device string (tests inject one).
        start: start the thread now (else call :meth:`start`).

    Raises:
        DeviceError: an explicit device is missing (on the caller's thread).

    A cache folder that cannot be created turns the disk caches off (logged, and listed
    in :attr:`warnings`); a disk that fills up later is reported once as a
    :class:`RenderError` with an :class:`OutputError` and the preview goes on from memory.
    """

    def __init__(self, animator_factory: AnimatorFactory, config: WorkerConfig = WorkerConfig(), *,
                 events: Optional[EventBus] = None,
                 device_chooser: Callable[[DeviceChoice], str] = choose_device,
                 start: bool = True) -> None:
        self.config = config
        self.events: EventBus = events if events is not None else EventBus()
        self._factory = animator_factory
        self.device = device_chooser(config.device)
        self.cpu_threads = config.cpu_threads or default_cpu_threads()
        root = Path(config.cache_dir) if config.cache_dir is not None else render_cache_dir()
        self.frames_memory: LRUCache[str, np.ndarray] = LRUCache(config.memory_cache_bytes)
        self.warnings: list[str] = []
        self.frames_disk = self._open_disk_cache(root / "frames", config.disk_cache_bytes)
        self.intermediate_memory: LRUCache[str, np.ndarray] = LRUCache(config.intermediate_memory_bytes)
        self.intermediate_disk = self._open_disk_cache(root / "intermediate", config.intermediate_disk_bytes)
        self.sources: LRUCache[str, SourceState] = LRUCache(config.source_cache_entries,
                                                            sizeof=lambda _: 1)
        self._batch = config.batch_size
        self._writer = DiskWriter(self._on_disk_error)

        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._queue: PendingQueue[RenderRequest] = PendingQueue()
        self._target: dict[int, str] = {}  # frame -> key of its current request
        self._done: set[int] = set()  # frames whose current image was delivered
        self._running: list[_Job] = []
        self._closed = False
        self._swap_factory = True  # create the animator at the first job
        self._animator: Optional[Animator] = None
        self._animator_error: Optional[BaseException] = None
        self._identity: Optional[AnimatorIdentity] = None  # of the factory's first animator
        self._accepted_settings: set[str] = set()  # settings keys of this factory's animators
        self._identity_wanted = False
        self._disk_write_failed = False

        self._hits = 0
        self._misses = 0
        self._intermediate_hits = 0
        self._animator_calls = 0
        self._last_stats = 0.0

        self._thread = threading.Thread(target=self._run, name="dexstudio-render-worker", daemon=True)
        if start:
            self._thread.start()

    def _open_disk_cache(self, folder: Path, capacity: int) -> DiskCache:
        try:
            return DiskCache(folder, capacity)
        except OutputError as exc:
            msg = f"the render cache is off: {exc}"
            log.warning("render worker: %s", msg)
            self.warnings.append(msg)
            return DiskCache(folder, 0)

    # ------------------------------------------------------------------ caller-thread API
    def start(self) -> None:
        if not self._thread.is_alive() and not self._closed:
            self._thread.start()

    def submit_range(self, requests: Mapping[int, RenderRequest], window: Optional[FrameRange] = None,
                     *, replace: bool = True) -> None:
        """Queue requests by frame.

        Args:
            requests: ``{frame: request}`` (from :meth:`RequestBuilder.build`).
            window: the visible / playing span rendered right after the playhead.
            replace: True: these frames become the whole range (other pending frames are
                dropped, progress restarts). False: merge (an edit's changed frames).
        """
        with self._cond:
            if self._closed:
                return
            running = {j.frame: j for j in self._running}
            if replace:
                self._queue.clear()
                self._target = {}
                self._done = set()
            for frame, req in requests.items():
                key = req.key
                self._target[frame] = key
                self._done.discard(frame)
                job = running.get(frame)
                if job is not None and job.request.key == key:
                    self._queue.remove(frame)  # the running job answers it
                    continue
                self._queue.put(frame, req)
            for frame, job in running.items():
                if self._target.get(frame) != job.request.key:
                    job.token.cancel()  # superseded (or dropped from the range)
            if window is not None:
                self._queue.window = window
            self._cond.notify_all()

    def set_playhead(self, frame: int, window: Optional[FrameRange] = None) -> None:
        """Render ``frame`` next (and then ``window``, when given)."""
        with self._cond:
            frame = int(frame)
            self._queue.playhead = frame
            if window is not None:
                self._queue.window = window
            if frame in self._queue:  # preempt background work (cancel-aware animators stop early)
                for job in self._running:
                    if job.frame != frame:  # incl. the previous playhead frame
                        job.preempted = True
                        job.token.cancel()
            self._cond.notify_all()

    def cancel_pending(self) -> None:
        """Drop every pending request and abandon the running ones."""
        with self._cond:
            self._queue.clear()
            self._target = {}
            self._done = set()
            for job in self._running:
                job.token.cancel()
            self._cond.notify_all()

    def set_animator_factory(self, factory: AnimatorFactory) -> None:
        """Switch animators (new settings): the worker recreates it before its next job."""
        with self._cond:
            self._factory = factory
            self._swap_factory = True
            self._animator_error = None
            self._identity = None
            self._accepted_settings = set()
            self._cond.notify_all()

    def animator_identity(self, timeout: Optional[float] = 60.0) -> AnimatorIdentity:
        """The id and settings keys of the worker's animator (created on the worker thread
        if needed; blocks). Build requests with ``RequestBuilder.from_identity``.

        Raises:
            the animator factory's error (e.g. ModelNotFoundError for a missing checkpoint);
            TimeoutError when the worker does not answer in time.
        """
        with self._cond:
            if self._closed:
                raise RuntimeError("the render worker is closed")
            if not self._swap_factory:
                if self._animator_error is not None:
                    raise self._animator_error
                if self._identity is not None:
                    return self._identity
            self._identity_wanted = True
            self._cond.notify_all()
            ok = self._cond.wait_for(lambda: self._closed or (not self._identity_wanted
                                                             and not self._swap_factory), timeout)
            if not ok:
                raise TimeoutError("the render worker did not create its animator in time")
            if self._animator_error is not None:
                raise self._animator_error
            if self._identity is None:
                raise RuntimeError("the render worker is closed")
            return self._identity

    def cached_frame(self, request: RenderRequest) -> Optional[np.ndarray]:
        """The frame's image if it is in the memory cache (any thread, no waiting)."""
        return self.frames_memory.get(request.key)

    def wait_idle(self, timeout: Optional[float] = None) -> bool:
        """Block until nothing is pending or running; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if not self._cond.wait_for(lambda: self._closed or (not self._queue and not self._running),
                                       timeout):
                return False
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._writer.flush(left)  # cache files written too

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def stats(self) -> CacheStats:
        return CacheStats(self._hits, self._misses, self.frames_memory.size,
                          self.frames_disk.total_bytes, self.frames_disk.corrupt + self.intermediate_disk.corrupt,
                          self._intermediate_hits, self._animator_calls)

    def progress(self) -> FillProgress:
        with self._lock:
            return FillProgress(len(self._done), len(self._target))

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def close(self, timeout: float = 10.0) -> bool:
        """Cancel everything, stop and join the thread. Idempotent.

        Returns True when the thread ended within ``timeout`` (an animator that neither
        takes a CancelToken nor returns keeps a daemon thread alive: then False, logged).
        """
        with self._cond:
            self._closed = True
            self._queue.clear()
            for job in self._running:
                job.token.cancel()
            self._cond.notify_all()
        if self._thread.ident is None:  # never started
            return self._writer.close(timeout)
        if threading.current_thread() is self._thread:
            return False  # closing from a listener: the loop exits after this job
        self._thread.join(timeout)
        writer_ok = self._writer.close(timeout)
        if self._thread.is_alive() or not writer_ok:
            log.warning("render worker did not stop within %.1f s (an animator call is stuck); "
                        "it is a daemon thread and will not block exit", timeout)
            return False
        return True

    def __enter__(self) -> "RenderWorker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ worker thread
    def _run(self) -> None:
        try:
            while True:
                jobs = self._next_jobs()
                if jobs is None:
                    break
                try:
                    self._process(jobs)
                except Exception as exc:  # never let the thread die
                    log.exception("render worker: unexpected error")
                    for job in jobs:
                        self.events.emit(RenderError(job.frame, exc, job.request.key))
                finally:
                    with self._cond:
                        self._requeue_preempted()
                        self._running = []
                        self._cond.notify_all()
                    self._maybe_emit_stats()
        finally:
            self._close_animator()
            with self._cond:
                self._running = []
                self._cond.notify_all()

    def _next_jobs(self) -> Optional[list[_Job]]:
        while True:
            with self._cond:
                while not self._closed and not self._queue and not self._identity_wanted:
                    self._cond.wait()
                if self._closed:
                    return None
                if self._queue:
                    return self._pop_jobs()
            try:  # only an identity request: create the animator
                self._ensure_animator()
            except Exception:
                pass  # kept in _animator_error; animator_identity() raises it
            with self._cond:
                self._identity_wanted = False
                self._cond.notify_all()

    def _requeue_preempted(self) -> None:
        """Put preempted jobs that are still wanted and undelivered back (lock held)."""
        for job in self._running:
            if (job.preempted and not self._closed and self._target.get(job.frame) == job.request.key
                    and job.frame not in self._done and job.frame not in self._queue):
                self._queue.put(job.frame, job.request)

    def _pop_jobs(self) -> list[_Job]:
        """Take the next job(s) off the queue (lock held)."""
        popped = self._queue.pop()
        assert popped is not None
        frame, req, tier = popped
        jobs = [_Job(frame, req, tier, CancelToken())]
        if tier is not Tier.PLAYHEAD and self._batch > 1 and self._can_batch() and not req.output.paste_back:
            while len(jobs) < self._batch:
                nxt = self._queue.peek()
                if nxt is None or nxt[1] is Tier.PLAYHEAD:
                    break
                cand = self._queue.get(nxt[0])
                if cand is None or cand.source_state_id != req.source_state_id:
                    break
                self._queue.remove(nxt[0])
                jobs.append(_Job(nxt[0], cand, nxt[1], CancelToken()))
        self._running = jobs
        return jobs

    def _can_batch(self) -> bool:
        a = self._animator
        return a is not None and hasattr(a, "render_batch") and not a.has_intermediate

    def _process(self, jobs: list[_Job]) -> None:
        to_render: list[_Job] = []
        for job in jobs:
            img = self._lookup(job.request)
            if img is not None:
                self._hits += 1
                self._deliver(job, img, from_cache=True)
            else:
                to_render.append(job)
        if not to_render:
            return
        self._misses += len(to_render)
        try:
            animator = self._ensure_animator()
            self._check_request(animator, to_render[0].request)
            state = self._source_state(animator, to_render[0].request)
        except Exception as exc:
            self._fail_source(to_render, exc)
            return
        live = [j for j in to_render if not j.token.cancelled]
        if not live:
            return
        try:
            images = self._render_with_fallback(state, live)
        except Cancelled:
            return  # abandoned: superseded or closing
        except Exception as exc:
            for job in live:
                log.info("render worker: frame %d failed: %s", job.frame, exc)
                self.events.emit(RenderError(job.frame, exc, job.request.key))
            return
        for job, img in zip(live, images):
            if img is None:
                continue
            try:
                out = self._apply_output(state, job.request, img)
            except Exception as exc:
                self.events.emit(RenderError(job.frame, exc, job.request.key))
                continue
            self._store(job.request, out)
            self._deliver(job, out, from_cache=False)  # only if still the frame's request

    # -- caches -----------------------------------------------------------------------------
    def _lookup(self, req: RenderRequest) -> Optional[np.ndarray]:
        img = self.frames_memory.get(req.key)
        if img is not None:
            return img
        img = self._writer.pending(self.frames_disk, req.key)
        if img is None:
            img = self.frames_disk.get(req.key)
        if img is not None:
            self.frames_memory.put(req.key, img)
        return img

    def _store(self, req: RenderRequest, image: np.ndarray) -> None:
        self.frames_memory.put(req.key, image)
        self._disk_put(self.frames_disk, req.key, image, req.frame)

    def _disk_put(self, cache: DiskCache, key: str, array: np.ndarray, frame: int) -> None:
        self._writer.put(cache, key, array)  # written on the cache-writer thread

    def _on_disk_error(self, key: str, exc: OutputError) -> None:
        if not self._disk_write_failed:  # say it once; the preview goes on from memory
            self._disk_write_failed = True
            self.events.emit(RenderError(None, exc, key))

    def _deliver(self, job: _Job, image: np.ndarray, from_cache: bool) -> None:
        with self._cond:
            current = self._target.get(job.frame) == job.request.key and not self._closed
            if current:
                self._done.add(job.frame)
            progress = FillProgress(len(self._done), len(self._target))
        if current:
            self.events.emit(FrameReady(job.frame, job.request.key, image, from_cache))
            self.events.emit(progress)

    def _maybe_emit_stats(self) -> None:
        now = time.monotonic()
        with self._lock:
            idle = not self._queue
        if idle or now - self._last_stats >= self.config.stats_interval_s:
            self._last_stats = now
            self.events.emit(self.stats())

    # -- animator and sources -----------------------------------------------------------------
    def _ensure_animator(self) -> Animator:
        with self._cond:
            swap, factory = self._swap_factory, self._factory
            self._swap_factory = False
        if swap:
            self._close_animator()
            self.sources.clear()
            try:
                self._animator = factory(self.device)
                self._animator_error = None
                ident = AnimatorIdentity.of(self._animator, self.device)
                with self._cond:
                    self._accepted_settings.add(ident.settings_key)
                    if self._identity is None:
                        self._identity = ident
                    self._identity_wanted = False
                    self._cond.notify_all()
            except Exception as exc:
                self._animator_error = exc
                with self._cond:
                    self._identity_wanted = False
                    self._cond.notify_all()
            if self._animator is not None and self.device == "cpu":
                apply_cpu_threads(self.cpu_threads)
        if self._animator_error is not None:
            raise self._animator_error
        assert self._animator is not None
        return self._animator

    def _close_animator(self) -> None:
        a, self._animator = self._animator, None
        if a is not None:
            try:
                a.close()
            except Exception:  # pragma: no cover
                log.exception("render worker: animator.close() failed")

    def _check_request(self, animator: Animator, req: RenderRequest) -> None:
        # after a CPU fallback the animator may report other settings (e.g. its device);
        # requests built for the factory's first animator stay valid
        if req.animator_id != animator.animator_id or req.settings_key not in self._accepted_settings:
            raise AnimatorMismatchError(
                f"a render request for {req.animator_id!r} ({req.settings_key}) reached a worker "
                f"running {animator.animator_id!r} ({animator.settings_key()})",
                "rebuild the requests after changing the animator or its settings")

    def _source_state(self, animator: Animator, req: RenderRequest) -> SourceState:
        state = self.sources.get(req.source_state_id)
        if state is None:
            state = self._call_with_oom_retry(lambda a: a.prepare(req.source.image, req.source.options))
            self.sources.put(req.source_state_id, state)
        return state

    def _fail_source(self, jobs: Sequence[_Job], exc: BaseException) -> None:
        """Source (or animator) failure: every pending frame of that source fails too."""
        sid = jobs[0].request.source_state_id
        with self._cond:
            dropped = [f for f in list(self._queue.frames())
                       if (r := self._queue.get(f)) is not None and r.source_state_id == sid]
            for f in dropped:
                self._queue.remove(f)
        self.events.emit(RenderError(jobs[0].frame, exc, jobs[0].request.key,
                                     frames_dropped=len(dropped) + len(jobs) - 1))

    # -- rendering with OOM handling --------------------------------------------------------
    def _call_with_oom_retry(self, call: Callable[[Animator], object]):  # type: ignore[no-untyped-def]
        """Run ``call(animator)``; on CUDA OOM fall back to the CPU once and retry."""
        while True:
            animator = self._ensure_animator()
            try:
                return call(animator)
            except Exception as exc:
                if not is_out_of_memory(exc) or self.device == "cpu":
                    raise
                self._fallback_to_cpu(exc)

    def _fallback_to_cpu(self, exc: BaseException) -> None:
        old = self.device
        release_device_memory(old)
        msg = (f"the GPU ({old}) ran out of memory even with a batch of 1; rendering continues "
               f"on the CPU (slower). Close other GPU programs or lower the output size to use "
               f"the GPU again. ({exc})")
        log.warning("render worker: %s", msg)
        self.device = "cpu"
        with self._cond:
            self._swap_factory = True
        self.events.emit(DeviceFallback(msg, old, "cpu"))

    def _render_with_fallback(self, state: SourceState, jobs: list[_Job]) -> list[Optional[np.ndarray]]:
        """Images for ``jobs`` (None where a job was abandoned)."""
        out: list[Optional[np.ndarray]] = []
        i = 0
        while i < len(jobs):
            animator = self._ensure_animator()
            n = min(self._batch, len(jobs) - i) if self._can_batch() else 1
            chunk = jobs[i:i + n]
            try:
                out.extend(self._render_chunk(animator, state, chunk))
                i += n
            except Exception as exc:
                if not is_out_of_memory(exc) or self.device == "cpu":
                    raise
                release_device_memory(self.device)
                if n > 1 or self._batch > 1:
                    self._batch = max(1, min(self._batch, n) // 2)
                    log.warning("render worker: out of memory on %s; batch size now %d",
                                self.device, self._batch)
                    continue
                self._fallback_to_cpu(exc)
                state = self._source_state(self._ensure_animator(), chunk[0].request)
        return out

    def _render_chunk(self, animator: Animator, state: SourceState,
                      chunk: list[_Job]) -> list[Optional[np.ndarray]]:
        if len(chunk) > 1:
            token = _AnyToken([j.token for j in chunk])
            fn = animator.render_batch  # type: ignore[attr-defined]
            kwargs = {"cancel": token} if _accepts_cancel(fn) else {}
            self._animator_calls += 1
            imgs = fn(state, [j.request.motion for j in chunk], chunk[0].request.expression_model,
                      **kwargs)
            return [_frozen(np.asarray(im)) for im in imgs]
        job = chunk[0]
        if job.token.cancelled:
            return [None]
        try:
            return [_frozen(self._render_one(animator, state, job))]
        except Cancelled:
            if self._closed or job.token.cancelled:
                return [None]
            raise

    def _render_one(self, animator: Animator, state: SourceState, job: _Job) -> np.ndarray:
        req = job.request
        if req.output.paste_back:
            render_frame = getattr(animator, "render_frame", None)
            paste = getattr(animator, "paste_back", None)
            if render_frame is None or paste is None:
                raise UnsupportedOutputError(
                    f"the {req.animator_id!r} animator cannot paste the face back into the original",
                    "render the crop instead (turn paste-back off)")
            self._animator_calls += 1
            return np.asarray(paste(state, render_frame(state, req.motion, req.expression_model)))
        if not animator.has_intermediate:
            kwargs = {"cancel": job.token} if _accepts_cancel(animator.render) else {}
            self._animator_calls += 1
            return np.asarray(animator.render(state, req.motion, req.expression_model, **kwargs))
        ikey = req.intermediate_key
        inter = self.intermediate_memory.get(ikey)
        if inter is None:
            inter = self._writer.pending(self.intermediate_disk, ikey)
        if inter is None:
            inter = self.intermediate_disk.get(ikey)
        if inter is None:
            kwargs = {"cancel": job.token} if _accepts_cancel(animator.render_intermediate) else {}
            self._animator_calls += 1
            inter = _frozen(np.asarray(animator.render_intermediate(state, req.motion,
                                                                    req.expression_model, **kwargs)))
            self._disk_put(self.intermediate_disk, ikey, inter, job.frame)
        else:
            self._intermediate_hits += 1
        self.intermediate_memory.put(ikey, inter)
        self._animator_calls += 1
        return np.asarray(animator.decode(state, inter))

    def _apply_output(self, state: SourceState, req: RenderRequest, image: np.ndarray) -> np.ndarray:
        out = image
        if not req.output.paste_back and req.output.size is not None and out.shape[0] != req.output.size:
            import cv2

            interp = cv2.INTER_AREA if req.output.size < out.shape[0] else cv2.INTER_CUBIC
            out = cv2.resize(np.ascontiguousarray(out), (req.output.size, req.output.size),
                             interpolation=interp)
        return _frozen(np.ascontiguousarray(out))


class _AnyToken(CancelToken):
    """Cancelled when all of a batch's tokens are (a batch stops only if nobody wants it)."""

    def __init__(self, tokens: Sequence[CancelToken]) -> None:
        super().__init__()
        self._tokens = list(tokens)

    @property
    def cancelled(self) -> bool:
        return all(t.cancelled for t in self._tokens)

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled("cancelled")
