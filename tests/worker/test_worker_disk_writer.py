"""The background cache writer: queued entries are readable, flush writes them, errors reported."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from dexstudio.core.errors import OutputError
from dexstudio.worker.disk_cache import DiskCache
from dexstudio.worker.disk_writer import DiskWriter


def key(i: int) -> str:
    return f"{i:064x}"


def test_queued_entries_are_readable_then_on_disk(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, 64 << 20)
    gate = threading.Event()
    real_put = cache.put

    def slow_put(k: str, a: np.ndarray) -> bool:
        gate.wait(5)
        return real_put(k, a)

    cache.put = slow_put  # type: ignore[method-assign]
    w = DiskWriter(on_error=lambda k, e: None, max_pending=4)
    arrays = [np.full((8, 8, 3), i, np.uint8) for i in range(3)]
    for i, a in enumerate(arrays):
        w.put(cache, key(i), a)
    assert all(w.pending(cache, key(i)) is arrays[i] for i in range(3))
    assert not w.flush(timeout=0.05)  # still blocked
    gate.set()
    assert w.flush(timeout=5)
    assert all(w.pending(cache, key(i)) is None for i in range(3))
    assert all(np.array_equal(real_put and cache.get(key(i)), arrays[i]) for i in range(3))
    assert w.close()


def test_write_errors_are_reported_and_the_writer_goes_on(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, 64 << 20)
    errors: list[tuple[str, OutputError]] = []

    def failing_put(k: str, a: np.ndarray) -> bool:
        raise OutputError("disk full", "free space")

    good = DiskCache(tmp_path / "good", 64 << 20)
    cache.put = failing_put  # type: ignore[method-assign]
    w = DiskWriter(on_error=lambda k, e: errors.append((k, e)))
    w.put(cache, key(1), np.zeros((2, 2, 3), np.uint8))
    w.put(good, key(2), np.ones((2, 2, 3), np.uint8))
    assert w.close()
    assert [k for k, _ in errors] == [key(1)]
    assert good.get(key(2)) is not None
    w.put(good, key(3), np.ones((2, 2, 3), np.uint8))  # after close: written synchronously
    assert good.get(key(3)) is not None


def test_disabled_cache_is_skipped(tmp_path: Path) -> None:
    w = DiskWriter(on_error=lambda k, e: None)
    w.put(DiskCache(tmp_path / "off", 0), key(1), np.zeros(3))
    assert w.pending(DiskCache(tmp_path / "off", 0), key(1)) is None
    assert w.close()
