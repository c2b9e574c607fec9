"""Clean shutdown: close() during a long fill, after an error, from a listener, idempotent;
no thread survives; the animator is closed on the worker thread."""

from __future__ import annotations

import threading
import time

import numpy as np
from worker_helpers import builder_for, make_ev

from dexstudio.worker import EventRecorder, FrameReady, RenderError, RenderWorker, SourceImage, WorkerConfig
from dexstudio.worker.testing import SyntheticAnimator


def _worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "dexstudio-render-worker"]


def test_close_during_a_long_fill_is_fast_and_joins(source: SourceImage, config: WorkerConfig) -> None:
    before = len(_worker_threads())
    anim = SyntheticAnimator(delay_s=0.5)
    worker = RenderWorker(lambda d: anim, config)
    rec = EventRecorder(worker.events)
    worker.submit_range(builder_for(anim, source).build(make_ev(np.arange(1000.0))))
    while anim.calls["render"] == 0:
        time.sleep(0.005)
    t0 = time.perf_counter()
    assert worker.close(timeout=5)
    assert time.perf_counter() - t0 < 0.5  # the running render was cancelled, not waited out
    assert not worker.is_alive and anim.closed
    assert len(_worker_threads()) == before
    assert not rec.of(FrameReady) and not rec.of(RenderError)
    worker.submit_range(builder_for(anim, source).build(make_ev(np.arange(3.0))))  # ignored
    assert worker.close()  # idempotent


def test_close_after_an_animator_error(source: SourceImage, config: WorkerConfig) -> None:
    anim = SyntheticAnimator(fail_yaw=0.0)
    with RenderWorker(lambda d: anim, config) as worker:
        rec = EventRecorder(worker.events)
        worker.submit_range(builder_for(anim, source).build(make_ev(np.zeros(3))))
        assert rec.wait_for(lambda ev: any(isinstance(e, RenderError) for e in ev))
        assert worker.wait_idle(5)
    assert not worker.is_alive and anim.closed


def test_close_with_an_animator_that_ignores_cancellation(source: SourceImage, config: WorkerConfig) -> None:
    class Stubborn(SyntheticAnimator):
        def render(self, state, motion, expression_model=None):  # type: ignore[override]
            return super().render(state, motion, expression_model)

    anim = Stubborn(delay_s=0.3)
    worker = RenderWorker(lambda d: anim, config)
    worker.submit_range(builder_for(anim, source).build(make_ev(np.arange(100.0))))
    while anim.calls["render"] == 0:
        time.sleep(0.005)
    assert worker.close(timeout=5)  # waits out the one running frame, renders no other
    assert anim.calls["render"] == 1 and not worker.is_alive


def test_close_from_an_event_listener(source: SourceImage, config: WorkerConfig) -> None:
    anim = SyntheticAnimator()
    worker = RenderWorker(lambda d: anim, config)
    closed = threading.Event()

    def on_frame(ev: FrameReady) -> None:
        worker.close()  # must not deadlock (it cannot join itself)
        closed.set()

    worker.events.subscribe(FrameReady, on_frame)
    worker.submit_range(builder_for(anim, source).build(make_ev(np.arange(50.0))))
    assert closed.wait(5)
    assert worker.close(timeout=5) and not worker.is_alive
    assert anim.calls["render"] < 50


def test_unstarted_worker_closes(config: WorkerConfig) -> None:
    worker = RenderWorker(lambda d: SyntheticAnimator(), config, start=False)
    assert worker.close()


def test_idle_worker_closes_without_creating_the_animator(config: WorkerConfig) -> None:
    made: list[str] = []
    with RenderWorker(lambda d: made.append(d) or SyntheticAnimator(), config) as worker:  # type: ignore[func-returns-value]
        time.sleep(0.05)
    assert not worker.is_alive and made == []
