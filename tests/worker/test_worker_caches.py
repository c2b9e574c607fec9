"""Memory LRU and the on-disk content-addressed cache: bounds, eviction order, corruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dexstudio.worker.disk_cache import DiskCache, decode_entry, encode_entry
from dexstudio.worker.lru import LRUCache


def key(i: int) -> str:
    return f"{i:064x}"


def frame(i: int, side: int = 32) -> np.ndarray:
    return np.full((side, side, 3), i % 256, np.uint8)


def test_lru_bounded_by_bytes_and_evicts_least_recent() -> None:
    c: LRUCache[str, np.ndarray] = LRUCache(3 * frame(0).nbytes)
    for i in range(3):
        c.put(key(i), frame(i))
    assert c.get(key(0)) is not None  # 0 is now the most recent
    c.put(key(3), frame(3))
    assert key(1) not in c and key(0) in c and key(2) in c and key(3) in c
    assert c.size == 3 * frame(0).nbytes
    c.put(key(9), np.zeros(10 ** 6, np.uint8))  # larger than the capacity: not stored
    assert key(9) not in c and len(c) == 3


def test_lru_by_count() -> None:
    c: LRUCache[str, object] = LRUCache(2, sizeof=lambda _: 1)
    for i in range(5):
        c.put(str(i), object())
    assert len(c) == 2 and "3" in c and "4" in c


@pytest.mark.parametrize("arr", [frame(5), np.linspace(0, 1, 24, dtype=np.float16).reshape(2, 3, 4),
                                 np.zeros((0, 3), np.float32), np.arange(7, dtype=np.int64)])
def test_entry_roundtrip(arr: np.ndarray) -> None:
    out = decode_entry(encode_entry(arr))
    assert out.dtype == arr.dtype and out.shape == arr.shape and np.array_equal(out, arr)
    assert not out.flags.writeable


def test_disk_roundtrip_and_persistence(tmp_path: Path) -> None:
    c = DiskCache(tmp_path, 10 << 20)
    assert c.get(key(1)) is None
    assert c.put(key(1), frame(1))
    again = DiskCache(tmp_path, 10 << 20)  # a "restart"
    assert np.array_equal(again.get(key(1)), frame(1))
    assert again.total_bytes == c.total_bytes > frame(1).nbytes


def test_disk_eviction_keeps_total_under_limit_oldest_access_first(tmp_path: Path) -> None:
    entry = len(encode_entry(frame(0)))
    c = DiskCache(tmp_path, capacity=10 * entry, low_water=0.8)
    for i in range(10):
        c.put(key(i), frame(i))
        time.sleep(0.002)
    assert c.get(key(0)) is not None  # touch: 0 becomes the most recently accessed
    time.sleep(0.002)
    c.put(key(10), frame(10))  # 11 entries > 10: evict the 3 least recently accessed
    assert c.evicted == 3
    assert key(0) in c, "the recently read entry was evicted before older ones"
    assert [key(i) in c for i in range(1, 5)] == [False, False, False, True]
    for i in range(11, 60):  # keep filling far past the limit
        c.put(key(i), frame(i))
        assert c.total_bytes <= c.capacity
    on_disk = sum(p.stat().st_size for p in tmp_path.rglob("*.dxc"))
    assert on_disk == c.total_bytes <= c.capacity
    assert key(59) in c


def test_eviction_counts_files_of_other_processes(tmp_path: Path) -> None:
    entry = len(encode_entry(frame(0)))
    a = DiskCache(tmp_path, capacity=8 * entry, rescan_every=1)
    b = DiskCache(tmp_path, capacity=8 * entry, rescan_every=1)
    for i in range(6):
        a.put(key(i), frame(i))
    for i in range(6, 12):
        b.put(key(100 + i), frame(i))
    on_disk = sum(p.stat().st_size for p in tmp_path.rglob("*.dxc"))
    assert on_disk <= 8 * entry


def _corrupt(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "payload":
        data[-10] ^= 0xFF
        path.write_bytes(bytes(data))
    elif how == "header":
        data[10] ^= 0x5A
        path.write_bytes(bytes(data))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "magic":
        data[0:4] = b"XXXX"
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "payload", "header", "empty", "magic"])
def test_corrupt_entry_detected_deleted_never_served(tmp_path: Path, how: str) -> None:
    c = DiskCache(tmp_path, 10 << 20)
    c.put(key(3), frame(3))
    _corrupt(c.path_for(key(3)), how)
    fresh = DiskCache(tmp_path, 10 << 20)
    assert fresh.get(key(3)) is None
    assert fresh.corrupt == 1
    assert not c.path_for(key(3)).exists()
    fresh.put(key(3), frame(3))
    assert np.array_equal(fresh.get(key(3)), frame(3))


def test_concurrent_writers_same_and_different_keys(tmp_path: Path) -> None:
    caches = [DiskCache(tmp_path, 64 << 20) for _ in range(4)]
    errors: list[BaseException] = []

    def write(c: DiskCache, seed: int) -> None:
        try:
            for i in range(40):
                k = i % 10  # shared keys: the same content written by every thread
                c.put(key(k), frame(k, 64))
                got = c.get(key(k))
                assert got is None or np.array_equal(got, frame(k, 64))
                c.put(key(1000 + seed * 100 + i), frame(i, 16))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(c, s)) for s, c in enumerate(caches)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    check = DiskCache(tmp_path, 64 << 20)
    for k in range(10):
        assert np.array_equal(check.get(key(k)), frame(k, 64))
    assert check.corrupt == 0
    assert not list(tmp_path.rglob(".tmp-*"))


def test_stale_temp_files_are_removed_at_open(tmp_path: Path) -> None:
    c = DiskCache(tmp_path, 10 << 20)
    c.put(key(1), frame(1))
    stale = c.path_for(key(1)).parent / ".tmp-999-dead"
    stale.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh_tmp = c.path_for(key(1)).parent / ".tmp-999-live"
    fresh_tmp.write_bytes(b"being written")
    DiskCache(tmp_path, 10 << 20)
    assert not stale.exists() and fresh_tmp.exists()


_WRITER = """
import sys, numpy as np
from dexstudio.worker.disk_cache import DiskCache
c = DiskCache(sys.argv[1], 1 << 30)
print('ready', flush=True)
i = 0
while True:
    c.put(f'{i % 50:064x}', np.full((512, 512, 3), i % 50, np.uint8))
    i += 1
"""


def test_killed_writer_leaves_no_entry_that_is_served_corrupt(tmp_path: Path) -> None:
    """SIGKILL a process in the middle of writing; every entry read back is intact or absent.

    Then simulate the worst case a crash can leave at the final name (a torn file, as if
    the rename reached the disk before the data): it is detected, not served.
    """
    root = Path(__file__).resolve().parents[2]
    p = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE,
                         cwd=root)
    assert p.stdout is not None and p.stdout.readline().strip() == b"ready"
    time.sleep(0.4)
    p.send_signal(signal.SIGKILL)
    p.wait()
    c = DiskCache(tmp_path, 1 << 30)
    served = 0
    for i in range(50):
        got = c.get(key(i))
        if got is not None:
            served += 1
            assert np.array_equal(got, np.full((512, 512, 3), i, np.uint8))
    assert served > 0
    torn = c.path_for(key(7))
    torn.parent.mkdir(parents=True, exist_ok=True)
    torn.write_bytes(encode_entry(np.full((512, 512, 3), 7, np.uint8))[:300_000])
    assert c.get(key(7)) is None and c.corrupt >= 1 and not torn.exists()


def test_disabled_disk_cache(tmp_path: Path) -> None:
    c = DiskCache(tmp_path / "never", 0)
    assert not c.put(key(1), frame(1)) and c.get(key(1)) is None
    assert not (tmp_path / "never").exists()


def test_bad_keys_rejected(tmp_path: Path) -> None:
    c = DiskCache(tmp_path, 1 << 20)
    with pytest.raises(ValueError):
        c.put("../../etc/passwd", frame(1))
