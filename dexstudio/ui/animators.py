"""Animator factories for the window's preview and background jobs."""

from __future__ import annotations

from typing import Callable

from dexstudio.render.base import Animator


def warp_factory(crop_size: int) -> Callable[[str], Animator]:
    """A factory ``make(device) -> WarpAnimator`` (``""`` or ``"cpu"``: the CPU)."""
    from dexstudio.render.warp.animator import WarpAnimator, WarpSettings

    def make(device: str) -> Animator:
        return WarpAnimator(WarpSettings(device="cpu" if device in ("", "cpu") else device))
    return make


__all__ = ["warp_factory"]
