"""apply_cpu_threads holds BLAS to the worker's thread count (its threads spun otherwise)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from dexstudio.worker.device import apply_cpu_threads


def _blas_threads() -> list[int]:
    return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]


def test_apply_cpu_threads_limits_blas() -> None:
    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS is loaded with numpy
    if not _blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can see")
    with threadpool_limits(limits=None, user_api="blas"):  # restores the process's setting after
        apply_cpu_threads(1)
        assert _blas_threads() and all(n == 1 for n in _blas_threads())
