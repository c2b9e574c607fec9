"""Driving frames for the viewer, read off the GUI thread; the newest request wins.

Reading a driving frame means a seek and a few decodes (:class:`FrameReader`): 20-290 ms
for a jump on liveportrait_d10, more on a long-GOP HD clip. In the GUI thread that froze
the window at every scrub step. :class:`DrivingFrameLoader` hands requests to one
reader thread; while it reads, newer requests replace the waiting one (scrubbing
skips the frames passed over), and each frame read arrives in the GUI thread through
the ``loaded`` signal.
"""

from __future__ import annotations

import threading
from typing import Optional

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from dexstudio.core.errors import DexStudioError
from dexstudio.io.frame_reader import FrameReader

__all__ = ["DrivingFrameLoader"]


class _ReaderWorker(QObject):
    """Lives in the loader's thread: reads the newest wanted frame, one at a time."""

    done = Signal(str, int, object)  # path, frame, (H, W, 3) uint8 or None (unreadable)

    def __init__(self, loader: "DrivingFrameLoader") -> None:
        super().__init__()
        self._loader = loader
        self.reader: Optional[FrameReader] = None

    @Slot()
    def work(self) -> None:
        want = self._loader._take()
        if want is None:  # a newer wake-up already served it
            return
        path, index = want
        img: Optional[np.ndarray] = None
        try:
            if self.reader is None or str(self.reader.path) != path:
                self.close_reader()
                self.reader = FrameReader(path)
            img = self.reader.frame(index)
        except (DexStudioError, IndexError, OSError):
            img = None
        self.done.emit(path, index, img)

    def close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None


class DrivingFrameLoader(QObject):
    """Reads driving frames in its own thread (module doc).

    Signals:
        loaded(str, int, object): a frame read: the clip's path, the frame's index and
            the (H, W, 3) uint8 RGB image, or None when it could not be read.
    """

    loaded = Signal(str, int, object)
    _wake = Signal()

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._want: Optional[tuple[str, int]] = None
        self._thread = QThread()
        self._thread.setObjectName("dexstudio-driving-frames")
        self._worker = _ReaderWorker(self)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.work)  # queued: runs in the loader's thread
        self._worker.done.connect(self._on_done)  # queued: back in the GUI thread
        self._closed = False

    def request(self, path: str, index: int) -> None:
        """Read frame ``index`` of ``path`` (replaces a request still waiting). The thread
        starts with the first request: a window that never shows a driving frame (most
        of the test suite's) runs none."""
        if self._closed:
            return
        if not self._thread.isRunning():
            self._thread.start()
        with self._lock:
            self._want = (str(path), int(index))
        self._wake.emit()

    def _take(self) -> Optional[tuple[str, int]]:
        with self._lock:
            want, self._want = self._want, None
        return want

    @Slot(str, int, object)
    def _on_done(self, path: str, index: int, img: object) -> None:
        self.loaded.emit(path, index, img)

    @property
    def reader(self) -> Optional[FrameReader]:
        """The open clip's reader (for tests and benchmarks; read it only when idle)."""
        return self._worker.reader

    def close(self) -> None:
        """Drop waiting requests, stop the thread and close the clip (GUI thread; idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._take()
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()
        self._worker.close_reader()
