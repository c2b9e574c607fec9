"""A Qt-free undo stack for :mod:`dexstudio.core.commands` (the UI may use a QUndoStack
wrapping the same commands instead)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from dexstudio.core.commands import Command
from dexstudio.core.document import Document
from dexstudio.core.observer import Signal


@dataclass(frozen=True)
class UndoStackChanged:
    """Emitted after push/undo/redo/clear: what the Edit menu shows."""

    can_undo: bool
    can_redo: bool
    undo_text: str
    redo_text: str
    clean: bool


class UndoStack:
    """Linear history of commands with merging and a size limit.

    Args:
        doc: the document the commands act on.
        limit: maximum number of undo steps kept (oldest dropped first).
    """

    def __init__(self, doc: Document, limit: int = 1000) -> None:
        self.doc = doc
        self.limit = limit
        self._commands: list[Command] = []
        self._index = 0  # commands[:index] are applied
        self._clean: Optional[int] = 0
        self.changed: Signal[UndoStackChanged] = Signal()

    # -- queries -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._commands)

    @property
    def index(self) -> int:
        return self._index

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._commands)

    @property
    def undo_text(self) -> str:
        return self._commands[self._index - 1].text if self.can_undo else ""

    @property
    def redo_text(self) -> str:
        return self._commands[self._index].text if self.can_redo else ""

    @property
    def is_clean(self) -> bool:
        return self._clean == self._index

    def set_clean(self) -> None:
        """Mark the current index as the saved state."""
        self._clean = self._index
        self._notify()

    # -- edits ---------------------------------------------------------------------------------
    def push(self, cmd: Command) -> None:
        """Apply ``cmd`` and record it (merged into the previous one when they merge).

        If a change listener raises, the edit has still happened: it is recorded (so it
        can be undone) before the error propagates."""
        rev = self.doc.revision
        try:
            cmd.redo(self.doc)
        except BaseException:
            if self.doc.revision != rev:
                self._record(cmd)
            raise
        self._record(cmd)

    def _record(self, cmd: Command) -> None:
        del self._commands[self._index:]
        if self._clean is not None and self._clean > self._index:
            self._clean = None
        top = self._commands[-1] if self._commands else None
        if top is not None and self._clean != self._index and top.merge_with(cmd):
            self._notify()
            return
        self._commands.append(cmd)
        self._index += 1
        if len(self._commands) > self.limit:
            drop = len(self._commands) - self.limit
            del self._commands[:drop]
            self._index -= drop
            if self._clean is not None:
                self._clean -= drop
                if self._clean < 0:
                    self._clean = None
        self._notify()

    def undo(self) -> bool:
        if not self.can_undo:
            return False
        self._index -= 1
        self._commands[self._index].undo(self.doc)
        self._notify()
        return True

    def redo(self) -> bool:
        if not self.can_redo:
            return False
        self._commands[self._index].redo(self.doc)
        self._index += 1
        self._notify()
        return True

    def clear(self) -> None:
        self._commands.clear()
        self._index = 0
        self._clean = 0
        self._notify()

    def _notify(self) -> None:
        self.changed.emit(UndoStackChanged(self.can_undo, self.can_redo, self.undo_text,
                                           self.redo_text, self.is_clean))


__all__ = ["UndoStack", "UndoStackChanged"]
