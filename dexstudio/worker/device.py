"""Device choice for the render worker (cuda > mps > cpu) and CUDA out-of-memory detection.

torch is imported lazily: a worker running a torch-free animator never loads it.
"""

from __future__ import annotations

import enum
import os
import sys

from dexstudio.core.errors import DexStudioError


class DevicePreference(enum.Enum):
    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"
    MPS = "mps"


class DeviceUnavailableError(DexStudioError):
    """The requested compute device is not present."""


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    return torch


def choose_device(preference: DevicePreference | str = DevicePreference.AUTO) -> str:
    """The device string to run on: ``"cuda"``, ``"mps"`` or ``"cpu"``.

    ``auto`` picks cuda > mps > cpu. An explicit device that is missing raises
    :class:`DeviceUnavailableError` (never a silent CPU fallback for an explicit choice).
    """
    pref = DevicePreference(preference)
    try:  # prefer the render layer's choice when the warp helper wrote one
        from dexstudio.render import device as render_device  # type: ignore[attr-defined]
    except ImportError:
        render_device = None
    if render_device is not None and hasattr(render_device, "choose_device"):
        try:
            return str(render_device.choose_device(pref.value))
        except DexStudioError:
            raise
        except Exception:  # an incompatible signature: fall back to ours
            pass
    if pref is DevicePreference.CPU:
        return "cpu"
    torch = _torch()
    has_cuda = bool(torch is not None and torch.cuda.is_available())
    has_mps = bool(torch is not None and getattr(torch.backends, "mps", None) is not None
                   and torch.backends.mps.is_available())
    if pref is DevicePreference.CUDA:
        if not has_cuda:
            raise DeviceUnavailableError("no CUDA GPU is available",
                                         "use --device auto or --device cpu")
        return "cuda"
    if pref is DevicePreference.MPS:
        if not has_mps:
            raise DeviceUnavailableError("Apple Metal (mps) is not available",
                                         "use --device auto or --device cpu")
        return "mps"
    return "cuda" if has_cuda else "mps" if has_mps else "cpu"


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
