"""single_threaded_kernels: BLAS (and OpenCV) held to one thread inside, restored after."""

from __future__ import annotations

import cv2
from threadpoolctl import threadpool_info

from dexstudio.worker.device import single_threaded_kernels


def blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]


def test_limits_inside_and_restores_after():
    before_cv = cv2.getNumThreads()
    before_blas = blas_threads()
    assert before_blas, "numpy's BLAS should be visible to threadpoolctl"
    cv2.setNumThreads(2)
    try:
        with single_threaded_kernels(opencv=True):
            assert cv2.getNumThreads() == 1
            assert all(n == 1 for n in blas_threads())
        assert cv2.getNumThreads() == 2
        assert blas_threads() == before_blas
    finally:
        cv2.setNumThreads(before_cv)


def test_opencv_left_alone_when_asked():
    before = cv2.getNumThreads()
    with single_threaded_kernels(opencv=False):
        assert cv2.getNumThreads() == before
    assert cv2.getNumThreads() == before


def test_restores_after_an_error():
    before_blas = blas_threads()
    try:
        with single_threaded_kernels():
            raise KeyError("x")
    except KeyError:
        pass
    assert blas_threads() == before_blas
