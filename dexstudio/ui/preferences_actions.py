"""Applying preferences live: the Preferences dialog, a new render worker for device /
thread / cache changes, the DeX animator checkpoint (loaded in the background), the
startup check of the saved device, and the render worker's config from preferences."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtCore import QObject, Slot

from dexstudio.core.errors import DexStudioError
from dexstudio.render.base import Animator
from dexstudio.ui.animators import prefs_warp_factory
from dexstudio.ui.preferences import Preferences, PreferencesDialog
from dexstudio.worker.worker import GiB, MiB, WorkerConfig

if TYPE_CHECKING:
    from dexstudio.ui.main_window import MainWindow


def worker_config(p: Preferences) -> WorkerConfig:
    """The render worker's config for preferences ``p``."""
    from dexstudio.render.device import DeviceChoice

    return WorkerConfig(device=DeviceChoice(p.device.value), cpu_threads=p.cpu_threads or None,
                        memory_cache_bytes=p.memory_cache_mb * MiB, disk_cache_bytes=p.disk_cache_gb * GiB,
                        cache_dir=Path(p.cache_dir) if p.cache_dir else None)


def check_device_pref(prefs: Preferences) -> tuple[Preferences, Optional[DexStudioError]]:
    """A saved device that this machine lacks (a CUDA choice on a CPU-only machine)
    falls back to automatic for this session: (preferences to use, the error or None)."""
    from dexstudio.render.device import choose_device
    from dexstudio.ui.preferences import DevicePref

    try:
        choose_device(prefs.device.value)
    except DexStudioError as exc:
        return replace(prefs, device=DevicePref.AUTO), exc
    return prefs, None


class PreferencesActions(QObject):
    """Edit > Preferences for the window (which holds ``prefs`` and ``settings``).

    Args:
        window: the owning main window.
    """

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self._w = window
        self._dialog: Optional[PreferencesDialog] = None
        self._dex_factory: Optional[Callable[[str], Animator]] = None

    def open_preferences(self) -> PreferencesDialog:
        """The Preferences dialog, non-blocking (window-modal ``open()``): OK applies."""
        dlg = PreferencesDialog(self._w.prefs, self._w)
        dlg.accepted.connect(self._on_prefs_accepted)
        self._dialog = dlg
        dlg.open()
        return dlg

    @Slot()
    def _on_prefs_accepted(self) -> None:
        dlg = self._dialog
        if dlg is not None:
            self.apply_preferences(dlg.value())

    def apply_preferences(self, prefs: Preferences) -> None:
        """Save the preferences; switching to the DeX animator checks its checkpoint
        first (a missing one is a clear error and the warp animator stays)."""
        from dexstudio.core.project import AnimatorKind

        w = self._w
        if prefs.animator is AnimatorKind.DEX and prefs.animator != w.prefs.animator:
            if not self._switch_to_dex(prefs.checkpoint):
                prefs = replace(prefs, animator=AnimatorKind.WARP)
        old = w.prefs
        w.prefs = prefs
        prefs.save(w.settings)
        # live: a new render worker for device / threads / cache changes (frames cached on
        # disk stay and are found again), a new preview crop, a new autosave interval
        try:
            restarted = w.preview.reconfigure(worker_config(w.prefs))
        except DexStudioError as exc:  # the device is not available: keep the old one
            w.show_error(exc)
            w.prefs = prefs = replace(prefs, device=old.device)
            prefs.save(w.settings)
            restarted = w.preview.reconfigure(worker_config(w.prefs))
        warp_look = (prefs.full_turns, prefs.still_background) != (old.full_turns, old.still_background)
        if warp_look and prefs.animator is AnimatorKind.WARP:
            # the source is prepared again with the new setting (it is part of the warp
            # animator's settings key, so frames of either setting stay cached apart)
            make = prefs_warp_factory(prefs)
            w.preview.set_animator(make, make("cpu"))
        if prefs.crop_size != old.crop_size:
            w.session_sync.sync_preview_inputs()
        if prefs.autosave_s != old.autosave_s and w.project.autosaver is not None:
            w.project.reset_autosaver(prefs.autosave_s)
        w.device_label.setText(f"device: {w.preview.device}")
        w.statusBar().showMessage("Preferences applied" + (": render worker restarted" if restarted else ""),
                                  5000)

    def _switch_to_dex(self, checkpoint: str) -> bool:
        from dexstudio.render.dex.checkpoint import require_checkpoint

        try:
            folder = require_checkpoint(checkpoint or None)
        except DexStudioError as exc:
            self._w.show_error(exc)
            return False

        def factory(device: str) -> Animator:
            from dexstudio.render.dex.animator import DexAnimator

            return DexAnimator(folder, device=None if device in ("", "auto") else device)

        def load(progress, cancel):
            return factory("cpu")

        job = self._w.jobs.start("load-dex", load)
        self._w.job_status.track(job, "Loading the DeX checkpoint")
        job.setProperty("checkpoint", str(folder))
        self._dex_factory = factory
        job.succeeded.connect(self._on_dex_loaded)
        job.failed.connect(self._w.show_error)
        return True

    @Slot(object)
    def _on_dex_loaded(self, animator: object) -> None:
        self._w.preview.set_animator(self._dex_factory, animator)  # type: ignore[arg-type]
        self._w.statusBar().showMessage("Rendering with the DeX diffusion animator", 5000)


__all__ = ["PreferencesActions", "check_device_pref", "worker_config"]
