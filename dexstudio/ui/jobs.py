"""Long work off the GUI thread: one QThread per job, progress + cancel, clean shutdown.

A job is a plain function ``fn(progress, cancel) -> result`` (Qt-free: extraction,
export, portrait analysis). :class:`JobRunner` runs it in a QThread; the job's
signals are delivered to the GUI thread (queued) where :class:`JobHandle` re-emits
them. Cancel is cooperative (:class:`~dexstudio.core.progress.CancelToken`).
:meth:`JobRunner.shutdown` cancels every job, then ``quit()`` + ``wait()`` on every
thread, so no "QThread destroyed while running" can happen.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, Signal, Slot

from dexstudio.core.errors import Cancelled, DexStudioError
from dexstudio.core.progress import CancelToken, Progress

log = logging.getLogger(__name__)

JobFn = Callable[[Callable[[Progress], None], CancelToken], Any]


class _Worker(QObject):
    """Lives in the job's thread; runs the function once."""

    progressed = Signal(int, int, str)  # done, total (-1 = unknown), stage
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    done = Signal()

    def __init__(self, fn: JobFn, cancel: CancelToken) -> None:
        super().__init__()
        self._fn = fn
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        def progress(p: Progress) -> None:
            self.progressed.emit(int(p.done), -1 if p.total is None else int(p.total), p.stage)

        try:
            result = self._fn(progress, self._cancel)
        except Cancelled as exc:
            self.failed.emit(exc)
        except DexStudioError as exc:
            self.failed.emit(exc)
        except Exception as exc:  # noqa: BLE001 - reported to the user, never lost
            log.error("background job failed:\n%s", traceback.format_exc())
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
        finally:
            self.done.emit()


class JobHandle(QObject):
    """A running job, seen from the GUI thread.

    Signals:
        progressed(int, int, str): done, total (-1 unknown), stage.
        succeeded(object): the function's result.
        failed(object): the exception (``Cancelled`` when cancelled).
        finished(): after succeeded/failed, when the thread has stopped.
    """

    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, name: str, fn: JobFn, parent: QObject) -> None:
        super().__init__(parent)
        self.name = name
        self.cancel_token = CancelToken()
        self.thread = QThread()
        self.thread.setObjectName(f"dexstudio-job-{name}")
        self._worker = _Worker(fn, self.cancel_token)
        self._worker.moveToThread(self.thread)
        self.thread.started.connect(self._worker.run)
        # receivers are slots of this GUI-thread object: queued delivery
        self._worker.progressed.connect(self._on_progress)
        self._worker.succeeded.connect(self._on_success)
        self._worker.failed.connect(self._on_failure)
        self._worker.done.connect(self._on_done)
        self.running = False

    def start(self) -> None:
        self.running = True
        self.thread.start()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, stage: str) -> None:
        self.progressed.emit(done, total, stage)

    @Slot(object)
    def _on_success(self, result: object) -> None:
        self.succeeded.emit(result)

    @Slot(object)
    def _on_failure(self, exc: object) -> None:
        self.failed.emit(exc)

    @Slot()
    def _on_done(self) -> None:
        self.thread.quit()
        self.thread.wait()
        self.running = False
        self.finished.emit()

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Cancel, quit and wait (GUI thread). True when the thread has ended."""
        self.cancel()
        self.thread.quit()
        ok = self.thread.wait(timeout_ms)
        self.running = False
        return bool(ok)


class JobRunner(QObject):
    """Starts jobs and stops them all on shutdown."""

    jobsChanged = Signal()

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.jobs: list[JobHandle] = []

    def start(self, name: str, fn: JobFn) -> JobHandle:
        job = JobHandle(name, fn, self)
        job.finished.connect(self._on_finished)
        self.jobs.append(job)
        job.start()
        self.jobsChanged.emit()
        return job

    @Slot()
    def _on_finished(self) -> None:
        self.jobs = [j for j in self.jobs if j.running]
        self.jobsChanged.emit()

    def busy(self, name: Optional[str] = None) -> bool:
        return any(j.running and (name is None or j.name == name) for j in self.jobs)

    def cancel_all(self) -> None:
        for j in self.jobs:
            j.cancel()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        ok = True
        for j in list(self.jobs):
            ok = j.stop(timeout_ms) and ok
        self.jobs.clear()
        return ok
