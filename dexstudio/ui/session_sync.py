"""Keeps the window's views in step with the session: on a new or changed document
the curve editor (rate, range, curve rows), the frame spin box and timecode, the take
chooser, the preview's inputs and the driving pane; on a playhead move all of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from dexstudio.core.document import ChangeKind, DocumentChanged
from dexstudio.ui.curve_data import channel_of
from dexstudio.ui.curve_editor import CurveEditor

if TYPE_CHECKING:
    from dexstudio.ui.main_window import MainWindow


class SessionSync(QObject):
    """Connects the session's signals (and the frame spin box, take chooser and curve
    editor scrubbing) to the window's views.

    Args:
        window: the owning main window (session, preview, media, widgets).
        curve_editor: the curve editor kept in step.
    """

    def __init__(self, window: "MainWindow", curve_editor: CurveEditor) -> None:
        super().__init__(window)
        self._w = window
        self.session = window.session
        self.curve_editor = curve_editor
        s = self.session
        s.documentReplaced.connect(self.on_document_replaced)
        s.documentChanged.connect(self._on_document_changed)
        s.playheadChanged.connect(self._on_playhead)
        s.channelSelectionChanged.connect(self._on_channel_selection)
        window.frame_spin.valueChanged.connect(self._on_frame_spin)
        window.take_combo.activated.connect(self.on_take_chosen)
        curve_editor.playheadScrubbed.connect(self._on_scrub)

    @Slot()
    def on_document_replaced(self) -> None:
        rng = self.session.frame_range
        self.curve_editor.set_rate(self.session.state.settings.rate)
        self.curve_editor.set_frame_range(rng.start, rng.stop)
        self._w.frame_spin.blockSignals(True)
        self._w.frame_spin.setRange(rng.start, max(rng.start, rng.stop - 1))
        self._w.frame_spin.blockSignals(False)
        self._w.media.load_source_image()
        self.sync_preview_inputs()
        self._refresh_takes()
        self._w.preview.set_document(self.session.doc)
        self._refresh_curves()
        self.curve_editor.frame_all()
        self._w.project.update_title()
        self._on_playhead(self.session.playhead)
        self._w.project.reset_autosaver(self._w.prefs.autosave_s)

    def _refresh_takes(self) -> None:
        st = self.session.state
        self._w.take_combo.blockSignals(True)
        self._w.take_combo.clear()
        if not st.takes:
            self._w.take_combo.addItem("(none: keyframes only)", None)
        for t in st.takes:
            self._w.take_combo.addItem(f"{t.name} ({t.values.shape[0]} frames)", t.id)
        active = self.session.active_take()
        if active is not None:
            self._w.take_combo.setCurrentIndex(max(0, self._w.take_combo.findData(active.id)))
        self._w.take_combo.setEnabled(len(st.takes) > 1)
        self._w.take_combo.blockSignals(False)

    @Slot(int)
    def on_take_chosen(self, index: int) -> None:
        from dexstudio.core import commands as C
        from dexstudio.core.take import PerformanceSource

        tid = self._w.take_combo.itemData(index)
        active = self.session.active_take()
        if tid is None or (active is not None and active.id == tid):
            return
        self.session.run(C.set_performance, PerformanceSource(tid))

    @Slot(object)
    def _on_document_changed(self, ev: DocumentChanged) -> None:
        if ev.kinds & {ChangeKind.TAKES, ChangeKind.PERFORMANCE}:
            self._refresh_takes()
        if ChangeKind.SETTINGS in ev.kinds:
            rng = self.session.frame_range
            self.curve_editor.set_rate(self.session.state.settings.rate)
            self.curve_editor.set_frame_range(rng.start, rng.stop)
            self._w.frame_spin.setRange(rng.start, max(rng.start, rng.stop - 1))
        if ev.kinds & {ChangeKind.SOURCE, ChangeKind.TAKES, ChangeKind.PERFORMANCE, ChangeKind.RENDER}:
            if ChangeKind.SOURCE in ev.kinds:
                self._w.media.load_source_image()
            self.sync_preview_inputs()
        self._w.preview.on_document_changed(ev)
        shown = set(self.curve_editor.curves())
        touched = {c for c in shown if channel_of(c) in set(ev.channels)}
        if ev.kinds & {ChangeKind.SETTINGS, ChangeKind.TAKES, ChangeKind.PERFORMANCE, ChangeKind.GROUPS,
                       ChangeKind.SOURCE} or touched:
            changed = shown if len(ev.channels) > 8 else touched
            if set(self._wanted_curve_ids()) != shown:  # a channel entered / left BLEND
                self._refresh_curves()
                self.curve_editor.ensure_values_visible()
            elif ev.kinds & {ChangeKind.SETTINGS, ChangeKind.TAKES}:
                self._refresh_curves()
                self.curve_editor.frame_all()
            else:
                for cid in changed:
                    self.curve_editor.update_curve(self.session.curve_row(cid), _keys=False)
                self.curve_editor._refresh_keys()
                self.curve_editor.ensure_values_visible()
        self._w.driving_view.update_driving()

    def sync_preview_inputs(self) -> None:
        """Hand the preview the portrait, face, crop size and expression model in use."""
        take = self.session.active_take()
        self._w.preview.set_expression_model(take.expression_model if take is not None else None)
        st = self.session.state
        self._w.preview.set_source(self._w.media.source_image, st.source.face_index, self._w.prefs.crop_size)

    def _wanted_curve_ids(self) -> list[str]:
        """Curve rows for the selected channels (+ blend-weight rows under BLEND)."""
        return self.session.curve_ids_for(self.session.selected[:32])

    def _refresh_curves(self) -> None:
        if len(self.session.frame_range) == 0:
            self.curve_editor.set_curves([])
            return
        self.curve_editor.set_curves([self.session.curve_row(c) for c in self._wanted_curve_ids()])

    @Slot(object)
    def _on_channel_selection(self, _ids: object) -> None:
        self._refresh_curves()
        self.curve_editor.frame_all()

    # ------------------------------------------------------------------ playhead
    @Slot(int)
    def _on_playhead(self, frame: int) -> None:
        self.curve_editor.set_playhead(frame)
        self._w.frame_spin.blockSignals(True)
        self._w.frame_spin.setValue(frame)
        self._w.frame_spin.blockSignals(False)
        self._w.timecode_label.setText(self.session.state.settings.rate.timecode(frame))
        self._w.preview.show_frame(frame)
        self._w.driving_view.update_driving()
        self._w.driving_view.update_overlays()

    @Slot(int)
    def _on_frame_spin(self, v: int) -> None:
        self.session.set_playhead(v)

    @Slot(int)
    def _on_scrub(self, frame: int) -> None:
        self.session.set_playhead(frame)


__all__ = ["SessionSync"]
