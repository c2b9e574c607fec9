"""A tiny Qt-free observer: ``signal.connect(cb)``, ``signal.emit(event)``."""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

E = TypeVar("E")


class Signal(Generic[E]):
    """Synchronous callbacks, called in connection order on the emitting thread."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[E], None]] = []

    def connect(self, callback: Callable[[E], None]) -> Callable[[E], None]:
        """Add ``callback`` (returns it, so it can be used as a decorator)."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[E], None]) -> None:
        """Remove ``callback``; no error if it is not connected."""
        try:
            self._callbacks.remove(callback)
        except ValueError:
            pass

    def emit(self, event: E) -> None:
        """Call every callback; if some raise, the first error is re-raised after all ran."""
        error: BaseException | None = None
        for cb in list(self._callbacks):
            try:
                cb(event)
            except Exception as exc:  # noqa: BLE001 - re-raised below
                if error is None:
                    error = exc
        if error is not None:
            raise error

    def __len__(self) -> int:
        return len(self._callbacks)


__all__ = ["Signal"]
