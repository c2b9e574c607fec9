"""A thread-safe LRU cache bounded by a size (bytes for frames, a count for source states)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, Optional, TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def nbytes_of(value: object) -> int:
    """Size of an array in bytes (1 for anything else)."""
    return int(value.nbytes) if isinstance(value, np.ndarray) else 1


class LRUCache(Generic[K, V]):
    """Least-recently-used cache whose entries' sizes sum to at most ``capacity``.

    Args:
        capacity: the bound (bytes with ``sizeof=nbytes_of``, entries with ``sizeof=lambda v: 1``).
            0 disables the cache. An entry larger than the capacity is not stored.
        sizeof: size of one value.
    """

    def __init__(self, capacity: int, sizeof: Callable[[V], int] = nbytes_of) -> None:
        if capacity < 0:
            raise ValueError(f"cache capacity must be >= 0, got {capacity}")
        self.capacity = int(capacity)
        self._sizeof = sizeof
        self._lock = threading.Lock()
        self._data: "OrderedDict[K, tuple[V, int]]" = OrderedDict()
        self._size = 0

    def get(self, key: K) -> Optional[V]:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            self._data.move_to_end(key)
            return item[0]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def put(self, key: K, value: V) -> None:
        size = int(self._sizeof(value))
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._size -= old[1]
            if size > self.capacity:
                return
            self._data[key] = (value, size)
            self._size += size
            while self._size > self.capacity:
                _, (_, s) = self._data.popitem(last=False)
                self._size -= s

    def pop(self, key: K) -> Optional[V]:
        with self._lock:
            item = self._data.pop(key, None)
            if item is None:
                return None
            self._size -= item[1]
            return item[0]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._size = 0

    @property
    def size(self) -> int:
        """Current total size (bytes or entries)."""
        return self._size

    def __len__(self) -> int:
        return len(self._data)
