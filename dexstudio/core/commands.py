"""Undoable edit commands and the functions that build them.

A command stores only deltas (the old and new immutable parts it replaces), never a
copy of the document, so a 1,000-step history is small. Commands are independent of
any stack: ``cmd.redo(doc)``, ``cmd.undo(doc)``, ``cmd.merge_with(other) -> bool``
(a drag = one undo step: commands built with the same non-None ``merge_key`` on the
same target merge), ``cmd.text``. :class:`dexstudio.core.undo.UndoStack` or a Qt
``QUndoStack`` wrapper drive them.

Build commands with the functions below (``add_key(doc, "expr.jawOpen", 30, 0.8)``);
they raise :class:`~dexstudio.core.errors.ChannelLockedError` for a locked channel
and ``ValueError``/``KeyError`` for bad arguments *before* anything changes.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import replace
from typing import Hashable, Iterable, Optional, Sequence

from dexstudio.core.channel_state import (
    ChannelState, CombineMode, Freeze, FreezeMode, GroupState, Retarget, Smoothing,
)
from dexstudio.core.channels import CHANNEL_SPECS, ChannelGroup, channels_in_group, resolve_channel_selector
from dexstudio.core.document import Document
from dexstudio.core.errors import ChannelLockedError
from dexstudio.core.keys import Interp, Key, KeyCurve
from dexstudio.core.project import (
    CHANNEL_INDEX, GROUPS, ExportSettings, ProjectSettings, ProjectState, RenderSettings, SourceInfo,
)
from dexstudio.core.take import PerformanceSource, Take
from dexstudio.core.timebase import FrameRange

ChannelSelector = str | ChannelGroup | Sequence[str]


class Command(abc.ABC):
    """An undoable edit. Attributes: ``text`` (undo menu label), ``merge_key``."""

    text: str = ""
    merge_key: Optional[Hashable] = None

    @abc.abstractmethod
    def redo(self, doc: Document) -> None:
        """Apply the edit (also the first "do")."""

    @abc.abstractmethod
    def undo(self, doc: Document) -> None:
        """Revert the edit."""

    def merge_with(self, other: "Command") -> bool:
        """Absorb ``other`` (applied right after this one); True if merged."""
        return False

    @property
    def merge_id(self) -> int:
        """Integer id for ``QUndoCommand.id()``: -1 when the command never merges."""
        return -1 if self.merge_key is None else hash(self.merge_key) & 0x7FFFFFFF

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.text!r}>"


class EditChannels(Command):
    """Replace the states of some channels.

    Args:
        text: undo label.
        changes: ``(channel index, before, after)`` triples.
        merge_key: commands with equal non-None keys on the same channels merge.
    """

    def __init__(self, text: str, changes: Sequence[tuple[int, ChannelState, ChannelState]],
                 merge_key: Optional[Hashable] = None) -> None:
        self.text = text
        self.changes = tuple(changes)
        self.merge_key = merge_key

    def redo(self, doc: Document) -> None:
        doc.apply_state(doc.state.with_channels({i: after for i, _, after in self.changes}))

    def undo(self, doc: Document) -> None:
        doc.apply_state(doc.state.with_channels({i: before for i, before, _ in self.changes}))

    def merge_with(self, other: Command) -> bool:
        if (not isinstance(other, EditChannels) or self.merge_key is None
                or other.merge_key != self.merge_key
                or [i for i, _, _ in self.changes] != [i for i, _, _ in other.changes]):
            return False
        self.changes = tuple((i, b, a2) for (i, b, _), (_, _, a2) in zip(self.changes, other.changes))
        return True


class EditGroups(Command):
    """Replace the states of some channel groups (``(group index, before, after)``)."""

    def __init__(self, text: str, changes: Sequence[tuple[int, GroupState, GroupState]]) -> None:
        self.text = text
        self.changes = tuple(changes)

    def redo(self, doc: Document) -> None:
        doc.apply_state(doc.state.with_groups({i: a for i, _, a in self.changes}))

    def undo(self, doc: Document) -> None:
        doc.apply_state(doc.state.with_groups({i: b for i, b, _ in self.changes}))


class ProjectField(enum.Enum):
    """Top-level parts of a project replaced whole by :class:`SetField`."""

    SETTINGS = "settings"
    SOURCE = "source"
    TAKES = "takes"
    PERFORMANCE = "performance"
    RENDER = "render"
    EXPORT = "export"


class SetField(Command):
    """Replace one top-level part of the project (takes tuple, settings, ...)."""

    def __init__(self, text: str, field: ProjectField, before: object, after: object,
                 merge_key: Optional[Hashable] = None) -> None:
        self.text = text
        self.field = field
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def redo(self, doc: Document) -> None:
        doc.apply_state(replace(doc.state, **{self.field.value: self.after}))

    def undo(self, doc: Document) -> None:
        doc.apply_state(replace(doc.state, **{self.field.value: self.before}))

    def merge_with(self, other: Command) -> bool:
        if (isinstance(other, SetField) and self.merge_key is not None
                and other.merge_key == self.merge_key and other.field is self.field):
            self.after = other.after
            return True
        return False


class MacroCommand(Command):
    """Several commands as one undo step (undone in reverse order)."""

    def __init__(self, text: str, commands: Sequence[Command]) -> None:
        self.text = text
        self.commands = tuple(commands)

    def redo(self, doc: Document) -> None:
        for c in self.commands:
            c.redo(doc)

    def undo(self, doc: Document) -> None:
        for c in reversed(self.commands):
            c.undo(doc)


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------
def resolve_channels(selector: ChannelSelector) -> tuple[str, ...]:
    """Channel ids from a channel id, a group name (``"pose"``), ``"expression"``,
    ``"all"``, a :class:`ChannelGroup` or a sequence of channel ids."""
    if isinstance(selector, ChannelGroup):
        return channels_in_group(selector)
    if isinstance(selector, str):
        return resolve_channel_selector(selector)
    out = []
    for s in selector:
        if s not in CHANNEL_SPECS:
            raise KeyError(f"unknown channel id {s!r}")
        out.append(s)
    return tuple(out)


def is_locked(state: ProjectState, channel_id: str) -> bool:
    """True when the channel or its group is locked."""
    ch = state.channel(channel_id)
    return ch.lock or state.group(CHANNEL_SPECS[channel_id].group).lock


def _check_unlocked(state: ProjectState, ids: Iterable[str]) -> None:
    locked = [c for c in ids if is_locked(state, c)]
    if locked:
        names = ", ".join(locked[:5]) + (" ..." if len(locked) > 5 else "")
        raise ChannelLockedError(f"cannot edit locked channel(s) {names}",
                                 "unlock the channel (or its group) first")


def _edit(doc: Document, text: str, selector: ChannelSelector, fn, merge_key: Optional[Hashable] = None,
          check_lock: bool = True) -> EditChannels:
    ids = resolve_channels(selector)
    if check_lock:
        _check_unlocked(doc.state, ids)
    changes = []
    for cid in ids:
        i = CHANNEL_INDEX[cid]
        before = doc.state.channels[i]
        after = fn(before)
        changes.append((i, before, after))
    return EditChannels(text, changes, merge_key)


# ----------------------------------------------------------------------------------------
# keys
# ----------------------------------------------------------------------------------------
def add_key(doc: Document, channel_id: str, frame: int, value: float, interp: Interp = Interp.BEZIER,
            merge_key: Optional[Hashable] = None) -> EditChannels:
    """Add (or replace) a key on ``channel_id``."""
    key = Key(frame, value, interp)
    return _edit(doc, f"Add key {channel_id} @{frame}", channel_id,
                 lambda s: replace(s, keys=s.keys.with_key(key)), merge_key)


def delete_key(doc: Document, channel_id: str, frame: int) -> EditChannels:
    doc.state.channel(channel_id).keys.index_of(frame)
    return _edit(doc, f"Delete key {channel_id} @{frame}", channel_id,
                 lambda s: replace(s, keys=s.keys.without_key(frame)))


def move_key(doc: Document, channel_id: str, frame: int, new_frame: int,
             new_value: Optional[float] = None, merge_key: Optional[Hashable] = None) -> EditChannels:
    """Move a key in time (and optionally value). For a drag, build each step from the
    key's *current* frame with the same ``merge_key``: the steps merge into one."""
    doc.state.channel(channel_id).keys.index_of(frame)
    return _edit(doc, f"Move key {channel_id}", channel_id,
                 lambda s: replace(s, keys=s.keys.moved(frame, new_frame, new_value)), merge_key)


def set_key_value(doc: Document, channel_id: str, frame: int, value: float,
                  merge_key: Optional[Hashable] = None) -> EditChannels:
    doc.state.channel(channel_id).keys.index_of(frame)
    return _edit(doc, f"Set key {channel_id} @{frame}", channel_id,
                 lambda s: replace(s, keys=s.keys.with_value(frame, value)), merge_key)


def set_key_interp(doc: Document, channel_id: str, frame: int, interp: Interp) -> EditChannels:
    doc.state.channel(channel_id).keys.index_of(frame)
    return _edit(doc, f"Interpolation {interp.value}", channel_id,
                 lambda s: replace(s, keys=s.keys.with_interp(frame, interp)))


def set_key_slopes(doc: Document, channel_id: str, frame: int, in_slope: Optional[float],
                   out_slope: Optional[float], merge_key: Optional[Hashable] = None) -> EditChannels:
    """Edit Bezier handles (slopes in units per frame; None = auto-clamped)."""
    doc.state.channel(channel_id).keys.index_of(frame)
    return _edit(doc, f"Edit handles {channel_id} @{frame}", channel_id,
                 lambda s: replace(s, keys=s.keys.with_slopes(frame, in_slope, out_slope)), merge_key)


def set_keys(doc: Document, channel_id: str, curve: KeyCurve, text: str = "Set keys",
             merge_key: Optional[Hashable] = None) -> EditChannels:
    """Replace the whole key layer of a channel."""
    return _edit(doc, text, channel_id, lambda s: replace(s, keys=curve), merge_key)


def set_combine(doc: Document, selector: ChannelSelector, mode: CombineMode,
                blend_weight: Optional[KeyCurve] = None) -> EditChannels:
    """Set the combine mode (and, for BLEND, optionally the weight curve)."""
    def fn(s: ChannelState) -> ChannelState:
        return replace(s, combine=mode, blend_weight=blend_weight if blend_weight is not None else s.blend_weight)
    return _edit(doc, f"Combine {mode.value}", selector, fn)


def set_blend_weight(doc: Document, selector: ChannelSelector, weight: KeyCurve,
                     merge_key: Optional[Hashable] = None) -> EditChannels:
    return _edit(doc, "Blend weight", selector, lambda s: replace(s, blend_weight=weight), merge_key)


# ----------------------------------------------------------------------------------------
# operators
# ----------------------------------------------------------------------------------------
def set_retarget(doc: Document, selector: ChannelSelector, retarget: Optional[Retarget] = None,
                 merge_key: Optional[Hashable] = None, **changes: object) -> EditChannels:
    """Set the retarget of channels: a whole :class:`Retarget`, or field changes
    (``set_retarget(doc, "pose.yaw", gain=0.5)``)."""
    def fn(s: ChannelState) -> ChannelState:
        rt = retarget if retarget is not None else s.retarget
        return replace(s, retarget=replace(rt, **changes) if changes else rt)
    return _edit(doc, "Retarget", selector, fn, merge_key)


def set_smoothing(doc: Document, selector: ChannelSelector, smoothing: Smoothing,
                  merge_key: Optional[Hashable] = None) -> EditChannels:
    return _edit(doc, f"Smooth {smoothing.kind.value}", selector,
                 lambda s: replace(s, smoothing=smoothing), merge_key)


def freeze(doc: Document, selector: ChannelSelector, mode: FreezeMode = FreezeMode.FRAME,
           value: Optional[float] = None, frame: int = 0, range: Optional[FrameRange] = None) -> EditChannels:
    """Freeze channels (a group selector freezes the whole group at once).

    FRAME mode holds each channel at its own value at ``frame``; VALUE mode holds
    ``value`` (None = each channel's default). ``range`` limits the hold (None = all).
    """
    def fn(s: ChannelState, cid: str) -> ChannelState:
        v = value if value is not None else CHANNEL_SPECS[cid].default
        return replace(s, freeze=Freeze(mode, float(v), int(frame), range))
    ids = resolve_channels(selector)
    _check_unlocked(doc.state, ids)
    changes = [(CHANNEL_INDEX[c], doc.state.channel(c), fn(doc.state.channel(c), c)) for c in ids]
    return EditChannels("Freeze", changes)


def unfreeze(doc: Document, selector: ChannelSelector) -> EditChannels:
    return _edit(doc, "Unfreeze", selector, lambda s: replace(s, freeze=None))


def set_channel_flags(doc: Document, selector: ChannelSelector, mute: Optional[bool] = None,
                      solo: Optional[bool] = None, lock: Optional[bool] = None) -> EditChannels:
    """Mute / solo / lock channels (allowed on locked channels, so they can be unlocked)."""
    def fn(s: ChannelState) -> ChannelState:
        return replace(s, mute=s.mute if mute is None else mute, solo=s.solo if solo is None else solo,
                       lock=s.lock if lock is None else lock)
    return _edit(doc, "Channel flags", selector, fn, check_lock=False)


def set_group_flags(doc: Document, group: ChannelGroup, mute: Optional[bool] = None,
                    solo: Optional[bool] = None, lock: Optional[bool] = None) -> EditGroups:
    i = GROUPS.index(group)
    b = doc.state.groups[i]
    a = GroupState(b.mute if mute is None else mute, b.solo if solo is None else solo,
                   b.lock if lock is None else lock)
    return EditGroups(f"{group.value} flags", [(i, b, a)])


def set_channel_source(doc: Document, selector: ChannelSelector,
                       source: Optional[PerformanceSource]) -> EditChannels:
    """Per-channel performance source (None = follow the document's)."""
    return _edit(doc, "Channel take", selector, lambda s: replace(s, source=source))


# ----------------------------------------------------------------------------------------
# project parts
# ----------------------------------------------------------------------------------------
def add_take(doc: Document, take: Take, activate: bool = True, adopt_timing: bool = True) -> Command:
    """Add a take. The first take of a project sets the project's rate and frame range
    (``adopt_timing``); later takes are resampled to the project rate. With ``activate``
    (default) it becomes the document's performance source ``take_a``."""
    st = doc.state
    if st.has_take(take.id):
        raise ValueError(f"a take with id {take.id!r} already exists; choose another name")
    cmds: list[Command] = []
    if not st.takes and adopt_timing:
        settings = ProjectSettings(take.rate, take.frame_range)
        cmds.append(SetField("Project settings", ProjectField.SETTINGS, st.settings, settings))
    else:
        take = take.resampled(st.settings.rate)
    cmds.append(SetField(f"Add take {take.name}", ProjectField.TAKES, st.takes, st.takes + (take,)))
    if activate:
        cmds.append(SetField("Activate take", ProjectField.PERFORMANCE, st.performance,
                             PerformanceSource(take.id)))
    return MacroCommand(f"Add take {take.name}", cmds)


def remove_take(doc: Document, take_id: str) -> SetField:
    st = doc.state
    st.take(take_id)
    return SetField(f"Remove take {take_id}", ProjectField.TAKES, st.takes,
                    tuple(t for t in st.takes if t.id != take_id))


def set_take_start(doc: Document, take_id: str, start: int, merge_key: Optional[Hashable] = None) -> SetField:
    """Slide a take on the timeline."""
    st = doc.state
    new = tuple(t.with_start(start) if t.id == take_id else t for t in st.takes)
    st.take(take_id)
    return SetField("Move take", ProjectField.TAKES, st.takes, new, merge_key)


def set_performance(doc: Document, source: PerformanceSource, merge_key: Optional[Hashable] = None) -> SetField:
    """Set the document's performance source (active take, blend, cross-fade)."""
    for tid in source.take_ids:
        doc.state.take(tid)
    return SetField("Performance source", ProjectField.PERFORMANCE, doc.state.performance, source, merge_key)


def set_source(doc: Document, source: SourceInfo) -> SetField:
    return SetField("Source portrait", ProjectField.SOURCE, doc.state.source, source)


def set_settings(doc: Document, settings: ProjectSettings) -> Command:
    """Set the frame rate and range. A new rate resamples every take to it (one undo step)."""
    st = doc.state
    cmd = SetField("Project settings", ProjectField.SETTINGS, st.settings, settings)
    if settings.rate == st.settings.rate or not st.takes:
        return cmd
    takes = tuple(t.resampled(settings.rate) for t in st.takes)
    return MacroCommand("Project settings", [SetField("Resample takes", ProjectField.TAKES, st.takes, takes), cmd])


def set_render(doc: Document, render: RenderSettings) -> SetField:
    return SetField("Render settings", ProjectField.RENDER, doc.state.render, render)


def set_export(doc: Document, export: ExportSettings) -> SetField:
    return SetField("Export settings", ProjectField.EXPORT, doc.state.export, export)


__all__ = [
    "Command", "EditChannels", "EditGroups", "SetField", "ProjectField", "MacroCommand",
    "resolve_channels", "is_locked", "add_key", "delete_key", "move_key", "set_key_value",
    "set_key_interp", "set_key_slopes", "set_keys", "set_combine", "set_blend_weight",
    "set_retarget", "set_smoothing", "freeze", "unfreeze", "set_channel_flags", "set_group_flags",
    "set_channel_source", "add_take", "remove_take", "set_take_start", "set_performance",
    "set_source", "set_settings", "set_render", "set_export",
]
