"""The document: the current :class:`ProjectState`, its evaluator and change events.

Every mutation goes through :meth:`Document.apply_state` (commands call it); it
computes the *exact* set of frames in the project range whose evaluated output
changed (by re-evaluating only the affected channels over the project range, before
and after, from the evaluator's caches) and emits one :class:`DocumentChanged`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional

import numpy as np

from dexstudio.core.channels import ALL_CHANNEL_IDS
from dexstudio.core.evaluated import EvaluatedMotion
from dexstudio.core.evaluator import ChannelValues, Evaluator, FramesLike, LayerValues
from dexstudio.core.observer import Signal
from dexstudio.core.project import ProjectState
from dexstudio.core.rangeset import RangeSet


class ChangeKind(enum.Enum):
    """Which part of the project changed (a field of :class:`ProjectState`)."""

    SETTINGS = "settings"
    SOURCE = "source"
    TAKES = "takes"
    PERFORMANCE = "performance"
    CHANNELS = "channels"
    GROUPS = "groups"
    RENDER = "render"
    EXPORT = "export"


_FIELD_KIND = {f.name: ChangeKind(f.name) for f in fields(ProjectState)}
_MOTION_WIDE = frozenset({ChangeKind.SOURCE, ChangeKind.TAKES, ChangeKind.PERFORMANCE, ChangeKind.GROUPS})


@dataclass(frozen=True)
class DocumentChanged:
    """Emitted after every change of a document.

    Attributes:
        kinds: which parts of the project changed.
        channels: ids of the channels whose state changed (every channel when a
            take, the performance source, the source portrait or a group changed).
        changed_frames: exactly the frames within the project range whose evaluated
            motion (:meth:`Document.evaluate`) changed. When the frame range or rate
            changed (``SETTINGS``) it is the whole new project range.
        revision: the document's revision after the change.
    """

    kinds: frozenset[ChangeKind]
    channels: tuple[str, ...]
    changed_frames: RangeSet
    revision: int

    @property
    def rerender_all(self) -> bool:
        """True when every frame must be re-rendered whatever its motion (the source
        portrait, the render settings or the time settings changed)."""
        return bool(self.kinds & {ChangeKind.SOURCE, ChangeKind.RENDER, ChangeKind.SETTINGS})


class Document:
    """A project being edited.

    Attributes:
        changed: :class:`Signal` of :class:`DocumentChanged`.
        path: the project file (None until saved); relative media paths resolve
            against its folder.
    """

    def __init__(self, state: Optional[ProjectState] = None, path: Optional[Path] = None) -> None:
        self._state = state if state is not None else ProjectState()
        self._saved: Optional[ProjectState] = self._state
        self.path: Optional[Path] = Path(path) if path is not None else None
        self.revision = 0
        self.evaluator = Evaluator()
        self.changed: Signal[DocumentChanged] = Signal()

    # -- state --------------------------------------------------------------------------------
    @property
    def state(self) -> ProjectState:
        return self._state

    @property
    def dirty(self) -> bool:
        """True when the state differs from the last saved (or loaded) one."""
        return self._saved is None or self._state != self._saved

    def mark_modified(self) -> None:
        """Count the current state as unsaved (e.g. a recovered autosave)."""
        self._saved = None

    def mark_saved(self, path: Optional[Path] = None) -> None:
        self._saved = self._state
        if path is not None:
            self.path = Path(path)

    def apply_state(self, new: ProjectState) -> Optional[DocumentChanged]:
        """Replace the state (commands call this), emit and return the change event
        (None when nothing changed)."""
        old = self._state
        if new is old:
            return None
        kinds = frozenset(kind for name, kind in _FIELD_KIND.items()
                          if getattr(old, name) is not getattr(new, name)
                          and getattr(old, name) != getattr(new, name))
        if not kinds:
            self._state = new
            return None
        n = len(ALL_CHANNEL_IDS)
        if kinds & _MOTION_WIDE or ChangeKind.SETTINGS in kinds:
            changed_cols = list(range(n))
            channel_ids = ALL_CHANNEL_IDS
        else:
            changed_cols = [i for i in range(n) if old.channels[i] is not new.channels[i]
                            and old.channels[i] != new.channels[i]]
            channel_ids = tuple(ALL_CHANNEL_IDS[i] for i in changed_cols)
            if any(old.channels[i].solo != new.channels[i].solo for i in changed_cols):
                changed_cols = list(range(n))
        window = new.settings.frame_range
        if ChangeKind.SETTINGS in kinds:
            self._state = new
            frames = RangeSet.of(window)
        elif changed_cols:
            before = self.evaluator.evaluate_values(old, window, changed_cols)
            self._state = new
            after = self.evaluator.evaluate_values(new, window, changed_cols)
            mask = (before.values != after.values).any(axis=1) | (before.detail_weight != after.detail_weight)
            frames = RangeSet.from_mask(window.start, mask)
        else:
            self._state = new
            frames = RangeSet.empty()
        self.revision += 1
        event = DocumentChanged(kinds, channel_ids, frames, self.revision)
        self.changed.emit(event)
        return event

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, frames: FramesLike) -> EvaluatedMotion:
        """Evaluate the current state at ``frames`` (an int, a FrameRange or ints)."""
        return self.evaluator.evaluate(self._state, frames)

    def evaluate_values(self, frames: FramesLike, channel_ids: Optional[tuple[str, ...]] = None
                        ) -> ChannelValues:
        """Evaluated values of some channels (default all) as an (N, K) matrix."""
        cols = None if channel_ids is None else [ALL_CHANNEL_IDS.index(c) for c in channel_ids]
        return self.evaluator.evaluate_values(self._state, frames, cols)

    def layers(self, channel_id: str, frames: FramesLike) -> LayerValues:
        """Raw / performance / retargeted / keys / final curves of one channel."""
        return self.evaluator.layers(self._state, channel_id, frames)

    def channel_values(self, channel_id: str, frames: FramesLike) -> np.ndarray:
        """(N,) final values of one channel."""
        return self.evaluate_values(frames, (channel_id,)).values[:, 0]


__all__ = ["Document", "DocumentChanged", "ChangeKind"]
