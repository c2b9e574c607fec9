"""Edits from gestures: the curve editor's key / handle / interpolation requests, the
Insert key action, and the Crossfade takes dialog, each turned into one session
command (one undo step)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import QObject, Slot

from dexstudio.core.errors import DexStudioError
from dexstudio.ui.crossfade_dialog import CrossfadeDialog, CrossfadeRequest
from dexstudio.ui.curve_editor import CurveEditor

if TYPE_CHECKING:
    from dexstudio.ui.main_window import MainWindow


class EditActions(QObject):
    """Connects the curve editor's edit signals to the session.

    Args:
        window: the owning main window (session, status bar, errors).
        curve_editor: the editor whose gestures become edits.
    """

    def __init__(self, window: "MainWindow", curve_editor: CurveEditor) -> None:
        super().__init__(window)
        self._w = window
        self.session = window.session
        self._crossfade_dialog: Optional[CrossfadeDialog] = None
        ce = curve_editor
        ce.insertKeysRequested.connect(self._on_insert_keys)
        ce.deleteKeysRequested.connect(self._on_delete_keys)
        ce.keysDragged.connect(self._on_keys_dragged)
        ce.interpolationRequested.connect(self._on_interp)
        ce.handleDragged.connect(self._on_handle_dragged)
        ce.handlesResetRequested.connect(self._on_handles_reset)

    # ------------------------------------------------------------------ curve editor gestures
    @Slot(list)
    def _on_insert_keys(self, refs: list) -> None:
        self.session.insert_keys([(r.channel_id, self.session.playhead if r.frame is None else r.frame)
                                  for r in refs])

    def insert_key_at_playhead(self) -> None:
        if not self.session.selected:
            self._w.statusBar().showMessage("Select a channel in the channel tree to key it", 4000)
            return
        self.session.insert_keys([(c, self.session.playhead) for c in self.session.selected[:32]])

    @Slot(list)
    def _on_delete_keys(self, refs: list) -> None:
        self.session.delete_keys(refs)

    @Slot(int, list, bool)
    def _on_keys_dragged(self, drag_id: int, moves: list, final: bool) -> None:
        self.session.drag_keys(drag_id, moves, final)

    @Slot(list, object)
    def _on_interp(self, refs: list, interp: object) -> None:
        self.session.set_interpolation(refs, interp)  # type: ignore[arg-type]

    @Slot(int, object, bool)
    def _on_handle_dragged(self, drag_id: int, move: object, final: bool) -> None:
        self.session.drag_handle(drag_id, move, final)  # type: ignore[arg-type]

    @Slot(list)
    def _on_handles_reset(self, refs: list) -> None:
        self.session.reset_handles(refs)

    # ------------------------------------------------------------------ takes
    def open_crossfade_dialog(self) -> Optional[CrossfadeDialog]:
        """Non-modal "Crossfade takes" dialog (needs two takes)."""
        st = self.session.state
        if len(st.takes) < 2:
            self._w.show_error(DexStudioError("a crossfade needs two takes",
                                              "add another driving clip first (File > Add driving clip)"))
            return None
        active = self.session.active_take()
        dlg = CrossfadeDialog(st.takes, self.session.frame_range, self.session.playhead,
                              active.id if active is not None else None, self._w)
        dlg.crossfadeRequested.connect(self._on_crossfade_requested)
        self._crossfade_dialog = dlg
        dlg.show()
        return dlg

    @Slot(object)
    def _on_crossfade_requested(self, req: object) -> None:
        assert isinstance(req, CrossfadeRequest)
        if self.session.crossfade_takes(req.take_a, req.take_b, req.first, req.last):
            self._w.statusBar().showMessage(f"Crossfade from frame {req.first} to {req.last}", 4000)


__all__ = ["EditActions"]
