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


def make_ev(yaw: np.ndarray, start: int = 0, jaw: np.ndarray | None = None) -> EvaluatedMotion:
    """EvaluatedMotion whose only varying channels are yaw (deg) and jawOpen."""
    yaw = np.asarray(yaw, dtype=np.float64)
    n = yaw.shape[0]
    euler = np.zeros((n, 3))
    euler[:, 0] = yaw
    bs = np.zeros((n, N_BLENDSHAPES))
    if jaw is not None:
        bs[:, ARKIT_NAMES.index("jawOpen")] = jaw
    return EvaluatedMotion(
        frames=np.arange(start, start + n, dtype=np.int64), euler=euler,
        rotation=euler_to_matrix(euler[:, 0], euler[:, 1], euler[:, 2]), translation=np.zeros((n, 2)), scale=np.ones(n),
        blendshapes=bs, detail=np.zeros((n, N_DETAIL)), detail_weight=np.ones(n))


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


def builder_for(animator: SyntheticAnimator, source: SourceImage, **kw) -> RequestBuilder:
    return RequestBuilder(source, animator, **kw)
