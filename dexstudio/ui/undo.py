"""QUndoCommand wrappers over the core's command objects.

The core command does the work (``redo(doc)`` / ``undo(doc)`` / ``merge_with``); the
Qt stack only orders them. ``id()`` is the core's ``merge_id`` so that QUndoStack asks
``mergeWith`` only for commands that may merge (one undo step per drag).
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from dexstudio.core.commands import Command
from dexstudio.core.document import Document


class CoreUndoCommand(QUndoCommand):
    """One core :class:`~dexstudio.core.commands.Command` on the Qt undo stack."""

    def __init__(self, doc: Document, cmd: Command) -> None:
        super().__init__(cmd.text)
        self.doc = doc
        self.cmd = cmd

    def redo(self) -> None:
        self.cmd.redo(self.doc)

    def undo(self) -> None:
        self.cmd.undo(self.doc)

    def id(self) -> int:  # noqa: A003 (Qt API)
        return self.cmd.merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        if not isinstance(other, CoreUndoCommand) or other.doc is not self.doc:
            return False
        merged = self.cmd.merge_with(other.cmd)
        if merged:
            self.setText(self.cmd.text)
        return merged
