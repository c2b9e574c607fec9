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
from dexstudio.core.keys import KeyCurve
from dexstudio.core.project import CHANNEL_INDEX, ProjectState, SourceInfo
from dexstudio.core.take import PerformanceSource, Take
from dexstudio.core.timebase import FrameRange
from dexstudio.core.keys import Key
from dexstudio.ui.curve_data import (
    BLEND_PREFIX, INTERP_LABELS, CurveData, HandleMove, Interp, KeyMove, KeyRef, channel_of, is_blend_id,
)
from dexstudio.ui.undo import CoreUndoCommand





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

    # ------------------------------------------------------------------ curve rows
    def key_curve(self, curve_id: str) -> KeyCurve:
        """The key curve behind a curve-editor row: a channel's keys, or its blend
        weight curve for a ``blend:`` row."""
        cs = self.state.channel(channel_of(curve_id))
        return cs.blend_weight if is_blend_id(curve_id) else cs.keys

    def rows_command(self, rows: dict[str, KeyCurve], text: str,
                     merge_key: Optional[object] = None) -> Optional[C.Command]:
        """One command that sets the key curves of several rows (channels and their
        blend-weight rows; both rows of one channel land in one change).

        Raises:
            ChannelLockedError: a row's channel is locked (nothing changes).
        """
        st = self.state
        chans = sorted({channel_of(r) for r in rows})
        locked = [c for c in chans if C.is_locked(st, c)]
        if locked:
            raise ChannelLockedError(f"cannot edit locked channel(s) {', '.join(locked)}", "unlock them first")
        changes = []
        for cid in chans:
            i = CHANNEL_INDEX[cid]
            before = st.channels[i]
            after = before
            if cid in rows:
                after = replace(after, keys=rows[cid])
            if BLEND_PREFIX + cid in rows:
                after = replace(after, blend_weight=rows[BLEND_PREFIX + cid])
            if after != before:
                changes.append((i, before, after))
        return C.EditChannels(text, changes, merge_key=merge_key) if changes else None

    def _push_rows(self, rows: dict[str, KeyCurve], text: str) -> None:
        try:
            cmd = self.rows_command(rows, text)
        except DexStudioError as exc:
            self.userError.emit(exc)
            return
        if cmd is not None:
            self.push(cmd)

    def _curve_value_at(self, curve_id: str, frame: int) -> float:
        if is_blend_id(curve_id):
            return float(np.clip(self.key_curve(curve_id).evaluate(int(frame))[0], 0.0, 1.0))
        return self.value_at(curve_id, frame)

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
        # one command per curve row (commands of one macro are built from the same state)
        rows: dict[str, KeyCurve] = {}
        n = 0
        for i, (cid, frame) in enumerate(refs):
            v = values[i] if values is not None else self._curve_value_at(cid, frame)
            curve = rows.get(cid, self.key_curve(cid))
            k0 = curve.key_at(int(frame))
            key = Key(int(frame), float(v)) if k0 is None else replace(k0, value=float(v))
            rows[cid] = curve.with_key(key)
            n += 1
        if rows:
            self._push_rows(rows, "Insert key" if n == 1 else f"Insert {n} keys")

    def set_key_at_playhead(self, channel_id: str, value: float, merge_key: Optional[object] = None) -> None:
        """Expression panel: set (or add) the key at the playhead; slider drags merge."""
        try:
            cmd = C.add_key(self.doc, channel_id, self.playhead, float(value), merge_key=merge_key)
        except DexStudioError as exc:
            self.userError.emit(exc)
            return
        self.push(cmd)

    def delete_keys(self, refs: Sequence[KeyRef]) -> None:
        rows: dict[str, KeyCurve] = {}
        for r in refs:
            curve = rows.get(r.channel_id, self.key_curve(r.channel_id))
            if curve.key_at(r.frame) is not None:
                rows[r.channel_id] = curve.without_key(r.frame)
        if rows:
            self._push_rows(rows, "Delete keys")

    def set_interpolation(self, refs: Sequence[KeyRef], interp: Interp) -> None:
        rows: dict[str, KeyCurve] = {}
        for r in refs:
            curve = rows.get(r.channel_id, self.key_curve(r.channel_id))
            if curve.key_at(r.frame) is not None:
                rows[r.channel_id] = curve.with_interp(r.frame, interp)
        if rows:
            self._push_rows(rows, f"Interpolation {INTERP_LABELS[interp]}")

    def drag_keys(self, drag_id: int, moves: Sequence[KeyMove], final: bool) -> None:
        """One step of a key drag. Every step of one drag (same ``drag_id``) merges into
        a single undo step; targets are relative to the keys at the start of the drag."""
        st = self.state
        start = self._drag_start.get(drag_id)
        if start is None:
            start = {m.channel_id: self.key_curve(m.channel_id) for m in moves}
            locked = sorted({channel_of(cid) for cid in start if C.is_locked(st, channel_of(cid))})
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
        new_curves: dict[str, KeyCurve] = {}
        for cid, curve0 in start.items():
            mine = [m for m in moves if m.channel_id == cid]
            moved = {m.frame for m in mine}
            curve = curve0
            for f in moved:
                if curve.key_at(f) is not None:
                    curve = curve.without_key(f)
            sp = spec(channel_of(cid))
            lo, hi = (0.0, 1.0) if is_blend_id(cid) else (sp.hard_min, sp.hard_max)
            for m in mine:
                k0 = curve0.key_at(m.frame)
                if k0 is None:
                    continue
                v = m.new_value
                if lo is not None:
                    v = max(lo, v)
                if hi is not None:
                    v = min(hi, v)
                nf = min(max(int(m.new_frame), rng.start), max(rng.start, rng.stop - 1))
                curve = curve.with_key(replace(k0, frame=nf, value=float(v)))
            new_curves[cid] = curve
        # one command per drag step on the same channels with the same merge key: they merge
        cmd = self.rows_command(new_curves, "Move keys", merge_key=("drag", drag_id))
        if cmd is not None:
            self.push(cmd)
        if final:
            self._drag_start.pop(drag_id, None)

    def drag_handle(self, drag_id: int, move: HandleMove, final: bool) -> None:
        """One step of a Bezier handle drag (core ``set_key_slopes``); every step of one
        drag merges into a single undo step."""
        cid = channel_of(move.channel_id)
        if is_blend_id(move.channel_id):
            curve = self.key_curve(move.channel_id)
            if curve.key_at(move.frame) is None:
                return
            new = curve.with_slopes(move.frame, float(move.in_slope), float(move.out_slope))
            self.run(C.set_blend_weight, cid, new, merge_key=("handle", drag_id))
        else:
            self.run(C.set_key_slopes, cid, int(move.frame), float(move.in_slope),
                     float(move.out_slope), merge_key=("handle", drag_id))

    def reset_handles(self, refs: Sequence[KeyRef]) -> None:
        """Back to auto-clamped slopes for these keys (one undo step)."""
        rows: dict[str, KeyCurve] = {}
        for r in refs:
            curve = rows.get(r.channel_id, self.key_curve(r.channel_id))
            if curve.key_at(r.frame) is not None:
                rows[r.channel_id] = curve.with_slopes(r.frame, None, None)
        if rows:
            self._push_rows(rows, "Auto handles")

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

    def blend_weight_at(self, channel_id: str, frame: Optional[int] = None) -> float:
        """The channel's blend weight (0..1) at ``frame`` (default: the playhead)."""
        curve = self.state.channel(channel_id).blend_weight
        f = self.playhead if frame is None else int(frame)
        return float(np.clip(curve.evaluate(f)[0], 0.0, 1.0))

    def set_blend_weight(self, ids: Sequence[str], weight: float, merge_key: Optional[object] = None) -> None:
        """The inspector's slider: a channel whose blend weight curve has keys gets a key
        at the playhead; one without keys gets a new constant weight. One command for
        all ``ids`` (slider drags merge through ``merge_key``)."""
        st = self.state
        locked = [c for c in ids if C.is_locked(st, c)]
        if locked:
            self.userError.emit(ChannelLockedError(f"cannot change locked channel(s) {', '.join(locked)}",
                                                   "unlock them first"))
            return
        w = float(np.clip(weight, 0.0, 1.0))
        changes = []
        for cid in ids:
            i = CHANNEL_INDEX[cid]
            before = st.channels[i]
            curve = before.blend_weight
            if curve.keys:
                k0 = curve.key_at(self.playhead)
                key = Key(self.playhead, w) if k0 is None else replace(k0, value=w)
                new = curve.with_key(key)
            else:
                new = KeyCurve((), w)
            if new != curve:
                changes.append((i, before, replace(before, blend_weight=new)))
        if changes:
            self.push(C.EditChannels("Blend weight", changes, merge_key=merge_key))

    def crossfade_takes(self, take_a: str, take_b: str, first: int, last: int) -> bool:
        """Cross-fade the performance from ``take_a`` to ``take_b`` between frames
        ``first`` and ``last`` (inclusive; weight 0 at ``first``, 1 at ``last``)."""
        if take_a == take_b:
            self.userError.emit(DexStudioError("a crossfade needs two different takes", "choose another take B"))
            return False
        a, b = sorted((int(first), int(last)))
        src = PerformanceSource.crossfade(take_a, take_b, FrameRange(a, max(a + 1, b + 1)))
        return self.run(C.set_performance, src)

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
        kf, kv, kh, kb = _key_arrays(keys)
        muted = st.channel(channel_id).mute or st.group(sp.group).mute
        return CurveData(channel_id, rng.start, final, perf_out, kf, kv, sp.soft_min, sp.soft_max, muted,
                         key_handles=kh, key_bezier=kb)

    def blend_curve_data(self, channel_id: str) -> CurveData:
        """The blend-weight row of a channel (0..1) over the project range."""
        rng = self.frame_range
        curve = self.state.channel(channel_id).blend_weight
        frames = np.arange(rng.start, max(rng.start + 1, rng.stop), dtype=np.int64)
        vals = np.clip(curve.evaluate(frames), 0.0, 1.0).astype(np.float64)
        kf, kv, kh, kb = _key_arrays(curve)
        name = CHANNEL_SPECS[channel_id].display_name
        return CurveData(BLEND_PREFIX + channel_id, rng.start, vals, None, kf, kv, 0.0, 1.0, False,
                         key_handles=kh, key_bezier=kb, label=f"Blend weight ({name})")

    def curve_ids_for(self, channel_ids: Sequence[str]) -> list[str]:
        """The curve rows for these channels: each channel, followed by its blend-weight
        row when its keyframe layer is in BLEND mode."""
        out: list[str] = []
        for cid in channel_ids:
            out.append(cid)
            if self.state.channel(cid).combine is CombineMode.BLEND:
                out.append(BLEND_PREFIX + cid)
        return out

    def curve_row(self, curve_id: str) -> CurveData:
        return self.blend_curve_data(channel_of(curve_id)) if is_blend_id(curve_id) else self.curve_data(curve_id)


def _key_arrays(curve: KeyCurve) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """(K,) frames, (K,) values, (K, 2, 2) Bezier handle positions, (K, 2) bool: the
    in / out handle shapes a Bezier segment (in: the segment before the key, out: after)."""
    keys = curve.keys
    kf = np.array(curve.frames, dtype=np.int64)
    kv = np.array([k.value for k in keys], dtype=np.float64)
    if not keys:
        return kf, kv, None, None
    n_k = len(keys)
    bez = np.array([(i > 0 and keys[i - 1].interp is Interp.BEZIER,
                     i + 1 < n_k and k.interp is Interp.BEZIER) for i, k in enumerate(keys)], dtype=bool)
    ins, outs = curve.slopes()
    n = len(keys)
    h = np.zeros((n, 2, 2), dtype=np.float64)
    for i, k in enumerate(keys):
        h_in = (k.frame - keys[i - 1].frame) if i > 0 else None
        h_out = (keys[i + 1].frame - k.frame) if i + 1 < n else None
        h_in = h_in or h_out or 1
        h_out = h_out or h_in or 1
        h[i, 0] = (k.frame - h_in / 3.0, k.value - ins[i] * h_in / 3.0)
        h[i, 1] = (k.frame + h_out / 3.0, k.value + outs[i] * h_out / 3.0)
    return kf, kv, h, bez


__all__ = ["EditorSession"]
