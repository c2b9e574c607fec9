"""Animator factories for the window's preview and background jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from dexstudio.render.base import Animator

if TYPE_CHECKING:
    from dexstudio.ui.preferences import Preferences


def warp_factory(crop_size: int, full_turns: bool = False,
                 moving_background: bool = False) -> Callable[[str], Animator]:
    """A factory ``make(device) -> WarpAnimator`` (``""`` or ``"cpu"``: the CPU).

    ``full_turns``: render head turns in full instead of easing those that would reveal
    surface the portrait hides (``WarpSettings.reveal``; the face may tear).
    ``moving_background``: the background near the head moves with it instead of
    staying still (``WarpSettings.static_background`` off).
    """
    from dexstudio.render.warp.animator import WarpAnimator, WarpSettings

    def make(device: str) -> Animator:
        settings = WarpSettings(device="cpu" if device in ("", "cpu") else device)
        return WarpAnimator(settings.with_choices(full_turns, moving_background))
    return make


def prefs_warp_factory(prefs: "Preferences") -> Callable[[str], Animator]:
    """:func:`warp_factory` as the preferences set it (crop size, full head turns, still
    background)."""
    return warp_factory(prefs.crop_size, prefs.full_turns, not prefs.still_background)


__all__ = ["prefs_warp_factory", "warp_factory"]
