"""Compute-device choice shared by the animators: cuda > mps > cpu, with an override."""

from __future__ import annotations

import enum

from dexstudio.core.errors import DexStudioError


class DeviceError(DexStudioError):
    """The requested compute device is not available on this machine."""


class DeviceChoice(enum.Enum):
    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"
    MPS = "mps"


def _cuda_possible() -> bool:
    """Cheap pre-check (no torch import): on Linux CUDA needs an NVIDIA device node."""
    import os
    import sys

    if "torch" in sys.modules or not sys.platform.startswith("linux"):
        return True
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/nvidia0")


def _cuda_available() -> bool:
    if not _cuda_possible():
        return False
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return bool(torch.cuda.is_available())


def _mps_available() -> bool:
    import sys

    if sys.platform != "darwin":
        return False
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_device(preference: str | DeviceChoice = DeviceChoice.AUTO) -> str:
    """Resolve a device preference to a torch device string ("cuda", "mps" or "cpu").

    Args:
        preference: "auto" (cuda > mps > cpu), or an explicit "cpu" / "cuda" / "mps".
    Raises:
        DeviceError: an explicit accelerator was asked for and is not present.
    """
    try:
        choice = preference if isinstance(preference, DeviceChoice) else DeviceChoice(str(preference).lower())
    except ValueError:
        raise DeviceError(f"unknown device {preference!r}",
                          "use --device auto, cpu, cuda or mps") from None
    if choice is DeviceChoice.CPU:
        return "cpu"
    if choice is DeviceChoice.CUDA:
        if not _cuda_available():
            raise DeviceError("--device cuda was requested but no CUDA GPU is available",
                              "use --device auto or --device cpu")
        return "cuda"
    if choice is DeviceChoice.MPS:
        if not _mps_available():
            raise DeviceError("--device mps was requested but Apple MPS is not available",
                              "use --device auto or --device cpu")
        return "mps"
    if _cuda_available():
        return "cuda"
    if _mps_available():
        return "mps"
    return "cpu"
