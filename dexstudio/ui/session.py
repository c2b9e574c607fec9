"""The editor session: the one core :class:`Document` the window shows, its Qt undo
stack, the playhead and the channel selection.

Widgets never keep copies of project data: they read ``session.doc`` when
:attr:`EditorSession.documentChanged` fires and send edits through the methods here,
which build core commands and push them on :attr:`EditorSession.undo_stack`.
Core change events are emitted on the GUI thread (every edit is made there), so they
are re-emitted synchronously as a Qt signal.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Optional, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoStack

from dexstudio.core import commands as C
from dexstudio.core.channel_state import CombineMode, FreezeMode, Smoothing
from dexstudio.core.channels import ALL_CHANNEL_IDS, CHANNEL_SPECS, ChannelGroup, spec
from dexstudio.core.document import Document, DocumentChanged
from dexstudio.core.errors import ChannelLockedError, DexStudioError
from dexstudio.core.keys import Interp as CoreInterp
from dexstudio.core.keys import KeyCurve
from dexstudio.core.project import CHANNEL_INDEX, ProjectState, SourceInfo
from dexstudio.core.take import Take
from dexstudio.core.timebase import FrameRange
from dexstudio.ui.curve_data import CurveData, Interp, KeyMove, KeyRef
from dexstudio.ui.undo import CoreUndoCommand


def core_interp(it: Interp) -> CoreInterp:
    return CoreInterp[it.name]


class EditorSession(QObject):
    """Document + undo stack + playhead + selection.

    Signals:
        documentReplaced(): a new document was opened/created (rebuild everything).
        documentChanged(object): a :class:`DocumentChanged` of the current document.
        playheadChanged(int): the current frame.
        channelSelectionChanged(object): tuple of selected channel ids.
        dirtyChanged(bool): unsaved changes appeared / were saved.
        userError(object): a :class:`DexStudioError` the user caused (shown in a dialog).
    """

    documentReplaced = Signal()
    documentChanged = Signal(object)
    playheadChanged = Signal(int)
    channelSelectionChanged = Signal(object)
    dirtyChanged = Signal(bool)
    userError = Signal(object)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(1000)
        self.doc = Document()
        self.doc.changed.connect(self._on_doc_changed)
        self.playhead = 0
        self.selected: tuple[str, ...] = ()
        self._drag_start: dict[int, dict[str, KeyCurve]] = {}
        self._last_dirty = False
        self.undo_stack.cleanChanged.connect(self._emit_dirty)

    # ------------------------------------------------------------------ document
    @property
    def state(self) -> ProjectState:
        return self.doc.state

    @property
    def frame_range(self) -> FrameRange:
        return self.doc.state.settings.frame_range

    def set_document(self, doc: Document) -> None:
        """Replace the document (new/open); clears the undo history."""
        self.doc.changed.disconnect(self._on_doc_changed)
        self.undo_stack.clear()
        self.doc = doc
        self.doc.changed.connect(self._on_doc_changed)
        self._drag_start.clear()
        self.playhead = self.frame_range.clamp(self.playhead) if len(self.frame_range) else 0
        self.undo_stack.setClean()
        self.documentReplaced.emit()
        self._emit_dirty()
        self.playheadChanged.emit(self.playhead)

    def new_document(self) -> None:
        self.set_document(Document())

    def new_synthetic_project(self, frames: int, channels: int) -> None:
        """A project with a synthetic take of ``frames`` frames (benchmarks, demos)."""
        from dexstudio.core.synthetic import synthetic_track

        doc = Document()
        take = Take.from_motion(synthetic_track(n_frames=frames), "synthetic")
        C.add_take(doc, take).redo(doc)
        doc.mark_saved()
        self.set_document(doc)
        self.select_channels(ALL_CHANNEL_IDS[:channels])

    def mark_clean(self) -> None:
        self.undo_stack.setClean()
        self._emit_dirty()

    @property
    def dirty(self) -> bool:
        return self.doc.dirty

    def _on_doc_changed(self, event: DocumentChanged) -> None:
        self.documentChanged.emit(event)
        self._emit_dirty()

    @Slot()
    def _emit_dirty(self, *_args) -> None:
        d = self.doc.dirty
        if d != self._last_dirty:
            self._last_dirty = d
            self.dirtyChanged.emit(d)

    # ------------------------------------------------------------------ commands
    def push(self, cmd: C.Command) -> None:
        """Apply a core command through the undo stack."""
        self.undo_stack.push(CoreUndoCommand(self.doc, cmd))

    def run(self, build, *args, **kwargs) -> bool:
        """Build a command with ``build(doc, *args)`` and push it; a user error (a locked
        channel, a missing key) becomes :attr:`userError` and changes nothing."""
        try:
            cmd = build(self.doc, *args, **kwargs)
        except DexStudioError as exc:
            self.userError.emit(exc)
            return False
        except (KeyError, ValueError) as exc:
            self.userError.emit(DexStudioError(str(exc).strip("'\""), "nothing was changed"))
            return False
        self.push(cmd)
        return True

    # ------------------------------------------------------------------ time / selection
    def set_playhead(self, frame: int) -> None:
        rng = self.frame_range
        f = rng.clamp(int(frame)) if len(rng) else 0
        if f != self.playhead:
            self.playhead = f
            self.playheadChanged.emit(f)

    def select_channels(self, ids: Iterable[str]) -> None:
        sel = tuple(c for c in ids if c in CHANNEL_SPECS)
        if sel != self.selected:
            self.selected = sel
            self.channelSelectionChanged.emit(sel)

    # ------------------------------------------------------------------ keys
    def value_at(self, channel_id: str, frame: int) -> float:
        return float(self.doc.channel_values(channel_id, [int(frame)])[0])

    def insert_keys(self, refs: Sequence[tuple[str, int]], values: Optional[Sequence[float]] = None) -> None:
        """Insert keys (value: the channel's current value there unless given); one undo step."""
        cmds = []
        try:
            for i, (cid, frame) in enumerate(refs):
                v = values[i] if values is not None else self.value_at(cid, frame)
                cmds.append(C.add_key(self.doc, cid, int(frame), float(v)))
        except DexStudioError as exc:
            self.userError.emit(exc)
            return
        if not cmds:
            return
        self.push(cmds[0] if len(cmds) == 1 else C.MacroCommand(f"Insert {len(cmds)} keys", cmds))

    def set_key_at_playhead(self, channel_id: str, value: float, merge_key: Optional[object] = None) -> None:
        """Expression panel: set (or add) the key at the playhead; slider drags merge."""
        try:
            cmd = C.add_key(self.doc, channel_id, self.playhead, float(value), merge_key=merge_key)
        except DexStudioError as exc:
            self.userError.emit(exc)
            return
        self.push(cmd)

    def delete_keys(self, refs: Sequence[KeyRef]) -> None:
        by_ch: dict[str, list[int]] = {}
        for r in refs:
            by_ch.setdefault(r.channel_id, []).append(r.frame)
        cmds = []
        try:
            for cid, frames in by_ch.items():
                curve = self.state.channel(cid).keys
                for f in frames:
                    curve = curve.without_key(f)
                cmds.append(C.set_keys(self.doc, cid, curve, text="Delete keys"))
        except DexStudioError as exc:
            self.userError.emit(exc)
            return
        if cmds:
            self.push(cmds[0] if len(cmds) == 1 else C.MacroCommand("Delete keys", cmds))

    def set_interpolation(self, refs: Sequence[KeyRef], interp: Interp) -> None:
        by_ch: dict[str, list[int]] = {}
        for r in refs:
            by_ch.setdefault(r.channel_id, []).append(r.frame)
        cmds = []
        try:
            for cid, frames in by_ch.items():
                curve = self.state.channel(cid).keys
                for f in frames:
                    if curve.key_at(f) is not None:
                        curve = curve.with_interp(f, core_interp(interp))
                cmds.append(C.set_keys(self.doc, cid, curve, text=f"Interpolation {interp.label}"))
        except DexStudioError as exc:
            self.userError.emit(exc)
            return
        if cmds:
            self.push(cmds[0] if len(cmds) == 1 else C.MacroCommand(f"Interpolation {interp.label}", cmds))

    def drag_keys(self, drag_id: int, moves: Sequence[KeyMove], final: bool) -> None:
        """One step of a key drag. Every step of one drag (same ``drag_id``) merges into
        a single undo step; targets are relative to the keys at the start of the drag."""
        st = self.state
        start = self._drag_start.get(drag_id)
        if start is None:
            start = {m.channel_id: st.channel(m.channel_id).keys for m in moves}
            locked = [cid for cid in start if C.is_locked(st, cid)]
            if locked:
                self.userError.emit(ChannelLockedError(f"cannot move keys of locked channel(s) "
                                                       f"{', '.join(locked)}", "unlock them first"))
                self._drag_start[drag_id] = {}
                return
            self._drag_start[drag_id] = start
        if not start:
            if final:
                self._drag_start.pop(drag_id, None)
            return
        rng = self.frame_range
        changes = []
        for cid, curve0 in start.items():
            mine = [m for m in moves if m.channel_id == cid]
            moved = {m.frame for m in mine}
            curve = curve0
            for f in moved:
                if curve.key_at(f) is not None:
                    curve = curve.without_key(f)
            sp = spec(cid)
            for m in mine:
                k0 = curve0.key_at(m.frame)
                if k0 is None:
                    continue
                v = m.new_value
                if sp.hard_min is not None:
                    v = max(sp.hard_min, v)
                if sp.hard_max is not None:
                    v = min(sp.hard_max, v)
                nf = min(max(int(m.new_frame), rng.start), max(rng.start, rng.stop - 1))
                curve = curve.with_key(replace(k0, frame=nf, value=float(v)))
            i = CHANNEL_INDEX[cid]
            before = st.channels[i]
            changes.append((i, before, replace(before, keys=curve)))
        # one command per drag step on the same channels with the same merge key: they merge
        cmd = C.EditChannels("Move keys", changes, merge_key=("drag", drag_id))
        # the command's "before" must be the state now (the previous step's result)
        self.push(cmd)
        if final:
            self._drag_start.pop(drag_id, None)

    # ------------------------------------------------------------------ channel settings
    def set_channel_flags(self, ids: Sequence[str], **flags: bool) -> None:
        self.run(C.set_channel_flags, list(ids), **flags)

    def set_group_flags(self, group: ChannelGroup, **flags: bool) -> None:
        self.run(C.set_group_flags, group, **flags)

    def set_frozen(self, ids: Sequence[str], frozen: bool, mode: FreezeMode = FreezeMode.FRAME,
                   value: Optional[float] = None, frame: Optional[int] = None,
                   rng: Optional[FrameRange] = None) -> None:
        if frozen:
            self.run(C.freeze, list(ids), mode=mode, value=value,
                     frame=self.playhead if frame is None else frame, range=rng)
        else:
            self.run(C.unfreeze, list(ids))

    def set_retarget(self, ids: Sequence[str], merge_key: Optional[object] = None, **fields) -> None:
        self.run(C.set_retarget, list(ids), merge_key=merge_key, **fields)

    def set_combine(self, ids: Sequence[str], mode: CombineMode) -> None:
        self.run(C.set_combine, list(ids), mode)

    def set_blend_weight(self, ids: Sequence[str], weight: float, merge_key: Optional[object] = None) -> None:
        self.run(C.set_blend_weight, list(ids), KeyCurve((), float(weight)), merge_key=merge_key)

    def set_smoothing(self, ids: Sequence[str], smoothing: Smoothing, merge_key: Optional[object] = None) -> None:
        self.run(C.set_smoothing, list(ids), smoothing, merge_key=merge_key)

    # ------------------------------------------------------------------ media
    def set_source(self, path: str, own_values: Optional[Sequence[float]] = None,
                   face_index: Optional[int] = None) -> None:
        info = SourceInfo(str(path), face_index,
                          tuple(own_values) if own_values is not None else SourceInfo().own_values)
        self.run(C.set_source, info)

    def add_take(self, take: Take) -> None:
        name, n = take.id, 2
        while self.state.has_take(take.id):
            take = replace(take, id=f"{name}-{n}", name=f"{take.name} {n}")
            n += 1
        self.run(C.add_take, take)

    def active_take(self) -> Optional[Take]:
        tid = self.state.performance.take_a if hasattr(self.state.performance, "take_a") else None
        if tid and self.state.has_take(tid):
            return self.state.take(tid)
        return self.state.takes[0] if self.state.takes else None

    # ------------------------------------------------------------------ curves for display
    def curve_data(self, channel_id: str) -> CurveData:
        """The curve editor's view of one channel over the project range."""
        rng = self.frame_range
        st = self.state
        sp = spec(channel_id)
        cs = st.channel(channel_id)
        keys = cs.keys
        # the performance is drawn apart only where keys / a freeze / a mute replace it
        edited = bool(keys) or cs.freeze is not None or cs.mute or st.group(sp.group).mute
        if edited:
            lay = self.doc.layers(channel_id, rng)
            final = np.asarray(lay.final, dtype=np.float64)
            perf = np.asarray(lay.retargeted, dtype=np.float64)
            perf_out = (None if not np.isfinite(perf).any() or np.array_equal(perf, final)
                        else np.where(np.isfinite(perf), perf, np.nan))
        else:
            final = np.asarray(self.doc.channel_values(channel_id, rng), dtype=np.float64)
            perf_out = None
        kf = np.array(keys.frames, dtype=np.int64)
        kv = np.array([k.value for k in keys.keys], dtype=np.float64)
        muted = st.channel(channel_id).mute or st.group(sp.group).mute
        return CurveData(channel_id, rng.start, final, perf_out, kf, kv, sp.soft_min, sp.soft_max, muted)


__all__ = ["EditorSession", "core_interp"]
