"""iter_frames: in order, bounded lookahead, cache hits mixed in, errors and cancel."""

from __future__ import annotations

import numpy as np
import pytest
from worker_helpers import builder_for, make_ev

from dexstudio.core.errors import Cancelled
from dexstudio.core.progress import CancelToken, Progress
from dexstudio.worker import RenderWorker, SourceImage, WorkerConfig, iter_frames
from dexstudio.worker.feed import FrameRenderError
from dexstudio.worker.testing import SyntheticAnimator


def test_frames_come_in_order_with_progress(source: SourceImage, config: WorkerConfig) -> None:
    anim = SyntheticAnimator()
    reqs = builder_for(anim, source).build(make_ev(np.arange(30.0), start=10))
    with RenderWorker(lambda d: anim, config) as worker:
        # pre-render every third frame so cache hits come back out of order
        worker.submit_range({f: r for f, r in reqs.items() if f % 3 == 0})
        assert worker.wait_idle(5)
        seen: list[Progress] = []
        out = list(iter_frames(worker, list(reqs.values()), lookahead=4, progress=seen.append))
        assert [f for f, _ in out] == list(range(10, 40))
        assert worker.wait_idle(5)  # includes the background cache writes
        assert all(np.array_equal(img, worker.frames_disk.get(reqs[f].key)) for f, img in out)
        assert seen[-1] == Progress(30, 30, "render") and len(seen) == 30
        assert worker.pending == 0


def test_error_in_a_frame_raises(source: SourceImage, config: WorkerConfig) -> None:
    anim = SyntheticAnimator(fail_yaw=3.0)
    reqs = builder_for(anim, source).build(make_ev(np.arange(6.0)))
    with RenderWorker(lambda d: anim, config) as worker:
        got = []
        with pytest.raises(FrameRenderError, match="yaw 3.0"):
            for f, _ in iter_frames(worker, list(reqs.values()), lookahead=2):
                got.append(f)
        assert got == [0, 1, 2]


def test_cancel(source: SourceImage, config: WorkerConfig) -> None:
    anim = SyntheticAnimator(delay_s=0.01)
    reqs = builder_for(anim, source).build(make_ev(np.arange(200.0)))
    token = CancelToken()
    with RenderWorker(lambda d: anim, config) as worker:
        with pytest.raises(Cancelled):
            for f, _ in iter_frames(worker, list(reqs.values()), cancel=token):
                if f == 5:
                    token.cancel()
        assert worker.wait_idle(5)
    assert anim.calls["render"] < 20  # the rest was dropped


def test_requests_are_read_lazily(source: SourceImage, config: WorkerConfig) -> None:
    anim = SyntheticAnimator()
    reqs = list(builder_for(anim, source).build(make_ev(np.arange(50.0))).values())
    pulled: list[int] = []

    def gen():
        for r in reqs:
            pulled.append(r.frame)
            yield r

    seen: list[Progress] = []
    with RenderWorker(lambda d: anim, config) as worker:
        it = iter_frames(worker, gen(), lookahead=5, progress=seen.append)
        first = next(it)
        assert first[0] == 0 and len(pulled) <= 6  # only the lookahead was read
        rest = [f for f, _ in it]
    assert rest == list(range(1, 50)) and seen[-1] == Progress(50, None, "render")


def test_duplicate_frames_rejected(source: SourceImage, config: WorkerConfig) -> None:
    anim = SyntheticAnimator()
    r = builder_for(anim, source).build(make_ev(np.zeros(1)))[0]
    with RenderWorker(lambda d: anim, config) as worker:
        with pytest.raises(ValueError, match="twice"):
            list(iter_frames(worker, [r, r]))
