"""Device helpers of the render worker: CPU thread count and CUDA out-of-memory detection.

The choice (auto: cuda > mps > cpu, or an override) is :func:`dexstudio.render.device.choose_device`.
torch is never imported here: a worker running a torch-free animator never loads it.
"""

from __future__ import annotations

import os
import sys

from dexstudio.render.device import DeviceChoice, DeviceError, choose_device

__all__ = ["DeviceChoice", "DeviceError", "choose_device", "default_cpu_threads", "apply_cpu_threads",
           "is_out_of_memory", "release_device_memory"]


def default_cpu_threads() -> int:
    """cores - 1, at least 1 (one core stays free for the editor's GUI thread)."""
    return max(1, (os.cpu_count() or 1) - 1)


def apply_cpu_threads(n: int) -> None:
    """Set the intra-op thread count of the numeric libraries already loaded (torch, OpenCV)."""
    n = max(1, int(n))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        cv2.setNumThreads(n)


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
