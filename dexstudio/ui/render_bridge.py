"""Preview rendering: a thin Qt bridge over the Qt-free render worker.

:class:`RenderBridge` subscribes to the worker's event bus (callbacks run on the
worker thread) and re-emits each event as a Qt signal of a QObject that lives in the
GUI thread: receivers are ``@Slot`` methods of GUI objects, so Qt delivers them queued
on the GUI thread. No lambda is ever connected to these signals.

:class:`PreviewRenderer` keeps the current request of every frame (built on the GUI
thread from the document, napari's slice-request pattern), re-submits exactly the
frames a document change touched, puts the playhead first, and shows a cached frame
at once when there is one (scrubbing).
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from dexstudio.core.document import DocumentChanged
from dexstudio.core.motion import ExpressionModel
from dexstudio.core.timebase import FrameRange
from dexstudio.render.base import Animator, SourceOptions
from dexstudio.render.device import choose_device
from dexstudio.worker.events import CacheStats, DeviceFallback, FrameReady, RenderError
from dexstudio.worker.request import OutputOptions, RenderRequest, RequestBuilder, SourceImage
from dexstudio.worker.worker import RenderWorker, WorkerConfig

log = logging.getLogger(__name__)


class RenderBridge(QObject):
    """Re-emits a :class:`RenderWorker`'s events as Qt signals.

    Signals:
        frameReady(int, str, object, bool): frame, request key, (H, W, 3) uint8 image, from cache.
        renderError(object, object): frame (or None), the exception.
        cacheStats(object): :class:`CacheStats`.
        deviceFallback(str): a warning message.
    """

    frameReady = Signal(int, str, object, bool)
    renderError = Signal(object, object)
    cacheStats = Signal(object)
    deviceFallback = Signal(str)

    def __init__(self, worker: RenderWorker, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self._subs = [
            worker.events.subscribe(FrameReady, self._emit_frame),
            worker.events.subscribe(RenderError, self._emit_error),
            worker.events.subscribe(CacheStats, self._emit_stats),
            worker.events.subscribe(DeviceFallback, self._emit_fallback),
        ]

    # worker thread -> signal emission (thread-safe; delivery is queued to GUI slots)
    def _emit_frame(self, ev: FrameReady) -> None:
        self.frameReady.emit(int(ev.frame), ev.request_key, ev.image, bool(ev.from_cache))

    def _emit_error(self, ev: RenderError) -> None:
        self.renderError.emit(ev.frame, ev.error)

    def _emit_stats(self, ev: CacheStats) -> None:
        self.cacheStats.emit(ev)

    def _emit_fallback(self, ev: DeviceFallback) -> None:
        self.deviceFallback.emit(ev.message)

    def close(self) -> bool:
        for s in self._subs:
            s.close()
        self._subs = []
        return self.worker.close()


AnimatorFactory = Callable[[str], Animator]


class PreviewRenderer(QObject):
    """Keeps the preview's requests in step with the document and the playhead.

    Signals:
        resultImage(object): the image to show for the playhead frame.
        busyChanged(bool): True while the playhead frame is being rendered.
        cacheMaskChanged(int, object): start frame, (N,) bool rendered frames.
        error(object): a render error for the playhead frame.
        deviceText(str): device / fallback state for the status bar.
    """

    resultImage = Signal(object)
    busyChanged = Signal(bool)
    cacheMaskChanged = Signal(int, object)
    error = Signal(object)
    deviceText = Signal(str)
    statsText = Signal(str)

    def __init__(self, factory: AnimatorFactory, key_animator: Animator, config: WorkerConfig,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self.key_animator = key_animator  # only id + settings keys are read (GUI thread)
        self.config = config
        self.worker = RenderWorker(factory, config)
        self.bridge = self._connect(RenderBridge(self.worker, self))
        self.generation = 0  # how many times the worker was recreated (preferences)
        self.source: Optional[SourceImage] = None
        self.expression_model: Optional[ExpressionModel] = None
        self.output = OutputOptions()
        self.builder: Optional[RequestBuilder] = None
        self.requests: dict[int, RenderRequest] = {}
        self.done: set[int] = set()
        self.range = FrameRange(0, 0)
        self.playhead = 0
        self.busy = False
        self.last_image: Optional[np.ndarray] = None
        self._doc = None
        self._mask_timer = QTimer(self)
        self._mask_timer.setSingleShot(True)
        self._mask_timer.setInterval(100)
        self._mask_timer.timeout.connect(self._emit_mask)
        self.deviceText.emit(self.worker.device)

    def _connect(self, bridge: RenderBridge) -> RenderBridge:
        bridge.frameReady.connect(self._on_frame_ready)
        bridge.renderError.connect(self._on_render_error)
        bridge.cacheStats.connect(self._on_stats)
        bridge.deviceFallback.connect(self._on_fallback)
        return bridge

    # ------------------------------------------------------------------ configuration
    @property
    def device(self) -> str:
        return self.worker.device

    def reconfigure(self, config: WorkerConfig) -> bool:
        """Apply new worker settings (device, CPU threads, cache sizes or folder) live:
        cancel the queued frames, close the old worker (its pending disk writes are
        flushed, so the frames cached on disk stay and the new worker finds them), start
        a new one and re-submit every frame. Returns False when ``config`` is unchanged.

        Raises:
            DeviceError: the device asked for is not available (the old worker stays).
        """
        if config == self.config:
            return False
        choose_device(config.device)  # DeviceError before anything is torn down
        old_bridge = self.bridge
        for sig in (old_bridge.frameReady, old_bridge.renderError, old_bridge.cacheStats,
                    old_bridge.deviceFallback):
            sig.disconnect()
        self.worker.cancel_pending()
        old_bridge.close()  # cancels the running job and joins the thread
        old_bridge.deleteLater()
        self.config = config
        self.worker = RenderWorker(self._factory, config)
        self.bridge = self._connect(RenderBridge(self.worker, self))
        self.generation += 1
        self.deviceText.emit(self.worker.device)
        self.resubmit_all()
        return True

    def set_document(self, doc) -> None:
        self._doc = doc
        self.resubmit_all()

    def set_source(self, image: Optional[np.ndarray], face_index: Optional[int], crop_size: int) -> None:
        self.source = (None if image is None else
                       SourceImage.from_array(image, SourceOptions(face_index=face_index, crop_size=crop_size)))
        self._rebuild_builder()

    def set_expression_model(self, model: Optional[ExpressionModel]) -> None:
        if model is not self.expression_model:
            self.expression_model = model
            self._rebuild_builder()

    def set_animator(self, factory: AnimatorFactory, key_animator: Animator) -> None:
        self._factory, self.key_animator = factory, key_animator
        self.worker.set_animator_factory(factory)
        self._rebuild_builder()

    def _rebuild_builder(self) -> None:
        if self.source is None:
            self.builder = None
        else:
            self.builder = RequestBuilder(self.source, self.key_animator, output=self.output,
                                          expression_model=self.expression_model)
        self.resubmit_all()

    def make_builder(self, output: OutputOptions) -> Optional[RequestBuilder]:
        """A builder like the preview's with other output options (export)."""
        if self.source is None:
            return None
        return RequestBuilder(self.source, self.key_animator, output=output,
                              expression_model=self.expression_model)

    # ------------------------------------------------------------------ requests
    def _window(self) -> FrameRange:
        return FrameRange(self.playhead, min(self.range.stop, self.playhead + 48)) if len(self.range) else self.range

    def resubmit_all(self) -> None:
        doc = self._doc
        self.done.clear()
        self.requests = {}
        if doc is None or self.builder is None:
            self.worker.cancel_pending()
            self._emit_mask()
            return
        self.range = doc.state.settings.frame_range
        if len(self.range) == 0:
            return
        self.requests = self.builder.build(doc.evaluate(self.range))
        self.worker.set_playhead(self.playhead, self._window())
        self.worker.submit_range(self.requests, window=self._window(), replace=True)
        self.show_frame(self.playhead)
        self._emit_mask()

    @Slot(object)
    def on_document_changed(self, event: DocumentChanged) -> None:
        doc = self._doc
        if doc is None or self.builder is None:
            return
        if event.rerender_all or doc.state.settings.frame_range != self.range:
            self.resubmit_all()
            return
        frames = event.changed_frames.frames() if len(event.changed_frames) else []
        frames = [int(f) for f in frames]
        if not frames:
            return
        new = self.builder.build(doc.evaluate(frames))
        for f, r in new.items():
            if self.requests.get(f) is None or self.requests[f].key != r.key:
                self.done.discard(f)
            self.requests[f] = r
        self.worker.set_playhead(self.playhead, self._window())
        self.worker.submit_range(new, replace=False)
        if self.playhead in new:
            self.show_frame(self.playhead)
        self._mask_timer.start()

    def show_frame(self, frame: int) -> None:
        """Make ``frame`` the playhead: show it now if cached, else render it next."""
        self.playhead = int(frame)
        req = self.requests.get(self.playhead)
        if req is None:
            self._set_busy(False)
            return
        img = self.worker.cached_frame(req)
        if img is not None:
            self.last_image = img
            self.resultImage.emit(img)
            self._set_busy(False)
        else:
            self._set_busy(True)
        self.worker.set_playhead(self.playhead, self._window())

    def current_request(self, frame: Optional[int] = None) -> Optional[RenderRequest]:
        return self.requests.get(self.playhead if frame is None else frame)

    def cache_mask(self) -> np.ndarray:
        n = len(self.range)
        m = np.zeros(n, dtype=bool)
        for f in self.done:
            if self.range.start <= f < self.range.stop:
                m[f - self.range.start] = True
        return m

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busyChanged.emit(busy)

    # ------------------------------------------------------------------ worker events (GUI thread)
    @Slot(int, str, object, bool)
    def _on_frame_ready(self, frame: int, key: str, image: object, from_cache: bool) -> None:
        req = self.requests.get(frame)
        if req is None or req.key != key:
            return  # stale
        self.done.add(frame)
        if frame == self.playhead:
            self.last_image = image  # type: ignore[assignment]
            self.resultImage.emit(image)
            self._set_busy(False)
        if not self._mask_timer.isActive():
            self._mask_timer.start()

    @Slot(object, object)
    def _on_render_error(self, frame: object, exc: object) -> None:
        if frame is None or frame == self.playhead:
            self._set_busy(False)
            self.error.emit(exc)

    @Slot(object)
    def _on_stats(self, stats: CacheStats) -> None:
        mb = stats.bytes_in_memory / 2**20
        self.statsText.emit(f"cache {len(self.done)}/{len(self.range)} frames, {mb:.0f} MB, "
                            f"{stats.hits} hits / {stats.misses} misses")

    @Slot(str)
    def _on_fallback(self, message: str) -> None:
        self.deviceText.emit(f"cpu (fallback: {message})")

    @Slot()
    def _emit_mask(self) -> None:
        self.cacheMaskChanged.emit(self.range.start, self.cache_mask())

    def wait_idle(self, timeout: float) -> bool:
        return self.worker.wait_idle(timeout)

    def close(self) -> None:
        self._mask_timer.stop()
        self.bridge.close()
