"""Helpers for the render worker tests: evaluated motion built directly, workers that close."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

from dexstudio.core.channels import ARKIT_NAMES, N_BLENDSHAPES, N_DETAIL
from dexstudio.core.evaluated import EvaluatedMotion
from dexstudio.core.rotation import euler_to_matrix
from dexstudio.worker import RenderWorker, RequestBuilder, SourceImage, WorkerConfig
from dexstudio.worker.testing import SyntheticAnimator
from worker_helpers import builder_for, make_ev  # noqa: F401  (fixtures use them)


@pytest.fixture
def source() -> SourceImage:
    rng = np.random.default_rng(7)
    return SourceImage.from_array(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))


@pytest.fixture
def config(tmp_path: Path) -> WorkerConfig:
    return WorkerConfig(cache_dir=tmp_path / "cache", cpu_threads=1,
                        memory_cache_bytes=64 << 20, disk_cache_bytes=64 << 20,
                        stats_interval_s=0.0)


@pytest.fixture
def make_worker() -> Iterator[Callable[..., RenderWorker]]:
    """``make_worker(animator, config, **kw)``: a worker over that animator, closed at teardown."""
    workers: list[RenderWorker] = []

    def make(animator: SyntheticAnimator, config: WorkerConfig, **kw) -> RenderWorker:
        w = RenderWorker(lambda device: animator, config, **kw)
        workers.append(w)
        return w

    yield make
    for w in workers:
        assert w.close(timeout=5.0), "worker thread did not stop"
        assert not w.is_alive
