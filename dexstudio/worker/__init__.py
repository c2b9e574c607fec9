"""Background render worker: frozen requests, priorities, caches, cancellation (Qt-free).

Public API:

* :class:`RenderRequest`, :class:`RequestBuilder`, :class:`SourceImage`,
  :class:`OutputOptions` (``dexstudio.worker.request``): what to render, built on the
  caller's thread.
* :class:`RenderWorker`, :class:`WorkerConfig` (``dexstudio.worker.worker``): the thread.
* events (``dexstudio.worker.events``): :class:`FrameReady`, :class:`FillProgress`,
  :class:`CacheStats`, :class:`RenderError`, :class:`DeviceFallback` on an
  :class:`EventBus`, delivered on the worker thread.
* :func:`iter_frames` (``dexstudio.worker.feed``): frames in order for export.
* :class:`DiskCache`, :class:`LRUCache`: the caches.
"""

from dexstudio.worker.disk_cache import DiskCache
from dexstudio.worker.events import (
    CacheStats,
    DeviceFallback,
    EventBus,
    EventRecorder,
    FillProgress,
    FrameReady,
    RenderError,
)
from dexstudio.worker.feed import iter_frames
from dexstudio.worker.lru import LRUCache
from dexstudio.worker.request import OutputOptions, RenderRequest, RequestBuilder, SourceImage
from dexstudio.worker.worker import RenderWorker, WorkerConfig

__all__ = [
    "CacheStats", "DeviceFallback", "DiskCache", "EventBus", "EventRecorder", "FillProgress",
    "FrameReady", "LRUCache", "OutputOptions", "RenderError", "RenderRequest", "RenderWorker",
    "RequestBuilder", "SourceImage", "WorkerConfig", "iter_frames",
]
