"""Exports: the Export video dialog and its background job (progress, cancel, result
in the dialog), and Export motion (Live Link Face CSV or DeX Studio JSON). Owned by
the main window; job results arrive at its @Slot methods in the GUI thread."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog

from dexstudio.core.errors import Cancelled, DexStudioError
from dexstudio.ui import tasks
from dexstudio.ui.animators import prefs_warp_factory
from dexstudio.ui.export_dialog import ExportDialog, ExportRequest
from dexstudio.ui.jobs import JobHandle
from dexstudio.ui.preferences import ExportFormatPref
from dexstudio.ui.preferences_actions import worker_config
from dexstudio.worker.request import OutputOptions

if TYPE_CHECKING:
    from dexstudio.ui.main_window import MainWindow


class ExportActions(QObject):
    """Export video / export motion for the window's session.

    Args:
        window: the owning main window (session, preview, prefs, media, jobs).
    """

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self._w = window
        self.dialog: Optional[ExportDialog] = None
        self.job: Optional[JobHandle] = None

    def open_export_dialog(self) -> Optional[ExportDialog]:
        if self._w.media.source_image is None or self._w.preview.builder is None:
            self._w.show_error(DexStudioError("there is nothing to export yet",
                                              "open a source portrait first (File > Open source portrait)"))
            return None
        base = self._w.session.doc.path.with_suffix(".mp4") if self._w.session.doc.path else Path.home() / "dexstudio_export.mp4"
        drv = self._w.media.driving_path()
        has_audio = False
        if drv:
            try:
                from dexstudio.io.video_reader import probe

                has_audio = probe(drv).has_audio
            except DexStudioError:
                has_audio = False
        dlg = ExportDialog(self._w.prefs, self._w.session.frame_range, str(base), has_audio, self._w)
        dlg.exportRequested.connect(self.start_export)
        dlg.cancelRequested.connect(self.cancel_export)
        self.dialog = dlg
        dlg.show()
        return dlg

    @Slot(object)
    def start_export(self, req: ExportRequest) -> Optional[JobHandle]:
        builder = self._w.preview.make_builder(OutputOptions(paste_back=req.paste_back))
        if builder is None:
            return None
        rng = req.frame_range.intersect(self._w.session.frame_range)
        if len(rng) == 0:
            self._w.show_error(DexStudioError("the export range is empty", "choose frames inside the project"))
            return None
        if req.format is ExportFormatPref.SIDE_BY_SIDE and self._w.media.driving_path() is None:
            self._w.show_error(DexStudioError("side by side needs a driving clip",
                                              "add a driving clip, or export the result alone"))
            return None
        requests = list(builder.build(self._w.session.doc.evaluate(rng)).values())
        take = self._w.session.active_take()
        prefs = self._w.prefs
        fn = tasks.export_video(req, requests, self._w.session.state.settings.rate,
                                prefs_warp_factory(prefs), worker_config(prefs),
                                self._w.media.source_image, self._w.media.driving_path(), take.start if take else 0)
        job = self._w.jobs.start("export", fn)
        self.job = job
        if self.dialog is not None:
            self.dialog.set_running(True)
            job.progressed.connect(self.dialog.on_progress)
        job.succeeded.connect(self._on_export_done)
        job.failed.connect(self._on_export_failed)
        return job

    @Slot()
    def cancel_export(self) -> None:
        if self.job is not None:
            self.job.cancel()

    @Slot(object)
    def _on_export_done(self, path: object) -> None:
        self.job = None
        msg = f"Exported to {path}"
        self._w.statusBar().showMessage(msg, 6000)
        if self.dialog is not None:
            self.dialog.finish(msg)

    @Slot(object)
    def _on_export_failed(self, exc: object) -> None:
        self.job = None
        if self.dialog is not None:
            self.dialog.finish("Cancelled: nothing was written." if isinstance(exc, Cancelled)
                               else f"Failed: {getattr(exc, 'message', exc)}")
        if not isinstance(exc, Cancelled):
            self._w.show_error(exc)

    def export_motion_dialog(self) -> None:
        if len(self._w.session.frame_range) == 0:
            return
        p, _ = QFileDialog.getSaveFileName(self._w, "Export motion", "motion.csv",
                                           "Live Link Face CSV (*.csv);;DeX Studio motion JSON (*.json)")
        if p:
            self.export_motion(p)

    def export_motion(self, path: str) -> None:
        from dexstudio.io.motion_files import save_llf_csv, save_motion_json

        track = tasks.motion_track_from_evaluated(self._w.session.doc.evaluate(self._w.session.frame_range),
                                                  self._w.session.state.settings.rate)
        try:
            (save_motion_json if path.lower().endswith(".json") else save_llf_csv)(path, track)
        except DexStudioError as exc:
            self._w.show_error(exc)
            return
        self._w.statusBar().showMessage(f"Motion exported to {path}", 5000)


__all__ = ["ExportActions"]
