"""Progress reporting and cooperative cancellation for long operations (Qt-free)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Optional

from dexstudio.core.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One progress report. ``total`` is None when unknown."""

    done: int
    total: Optional[int]
    stage: str = ""

    @property
    def fraction(self) -> Optional[float]:
        return None if not self.total else min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """A thread-safe cancellation flag checked at safe points by long work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`Cancelled` if :meth:`cancel` was called."""
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


def null_progress(_: Progress) -> None:
    """A progress callback that ignores reports."""
