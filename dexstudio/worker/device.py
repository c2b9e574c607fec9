"""Device helpers of the render worker: CPU thread count and CUDA out-of-memory detection.

The choice (auto: cuda > mps > cpu, or an override) is :func:`dexstudio.render.device.choose_device`.
torch is never imported here: a worker running a torch-free animator never loads it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

from dexstudio.render.device import DeviceChoice, DeviceError, choose_device

__all__ = ["DeviceChoice", "DeviceError", "choose_device", "default_cpu_threads", "apply_cpu_threads",
           "single_threaded_kernels",
           "is_out_of_memory", "release_device_memory"]


def default_cpu_threads() -> int:
    """cores - 1, at least 1 (one core stays free for the editor's GUI thread)."""
    return max(1, (os.cpu_count() or 1) - 1)


def apply_cpu_threads(n: int) -> None:
    """Set the intra-op thread count of the numeric libraries already loaded (torch,
    OpenCV, BLAS).

    BLAS matters although the warp animator's products are small: OpenBLAS wakes its
    threads for each one and they spin between calls. ``dexstudio render`` of
    liveportrait_d10 (448 frames, 2 cores) made 277,000 ``sched_yield`` calls and spent
    6-8 s of system time with BLAS left at its default (cores) threads.
    """
    n = max(1, int(n))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        cv2.setNumThreads(n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")  # process-wide until changed again


@contextlib.contextmanager
def single_threaded_kernels(opencv: bool = True) -> Iterator[None]:
    """BLAS (and, with ``opencv``, OpenCV) run single-threaded inside the block; restored after.

    For pipelines that already keep every core busy with their own threads (tracker
    lanes, render threads, the encoder): the libraries' own worker threads then only
    spin and steal time. Measured on the 2-core machine, rendering liveportrait_d10 at
    512: 7.5 s of CPU for 3.8 s of wall time with OpenBLAS's two threads, 5.1 s with one.
    """
    import cv2  # imported here, so its pool is limited even when nothing loaded it yet
    from threadpoolctl import threadpool_limits

    before = cv2.getNumThreads() if opencv else None
    with threadpool_limits(limits=1, user_api="blas"):
        if before is not None:
            cv2.setNumThreads(1)
        try:
            yield
        finally:
            if before is not None:
                cv2.setNumThreads(before)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a CUDA (or MPS) out-of-memory error, without importing torch."""
    torch = sys.modules.get("torch")
    if torch is not None:
        oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
        if oom is not None and isinstance(exc, oom):
            return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def release_device_memory(device: str) -> None:
    """Return cached allocator blocks after an OOM so a retry has room."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if device.startswith("cuda") and torch.cuda.is_available():
            torch.cuda.empty_cache()
        elif device == "mps" and hasattr(torch, "mps"):
            torch.mps.empty_cache()
    except Exception:  # pragma: no cover
        pass
