"""Content-addressed on-disk cache of arrays (rendered frames, intermediates).

Layout: ``<root>/<key[:2]>/<key>.dxc`` where ``key`` is a hex content hash
(:attr:`RenderRequest.key`). One file per entry::

    magic  b"DXC1"                      4 bytes
    header_len                          u32 little-endian (bytes of the header below)
    header  dtype str (u8 len + ascii), ndim (u8), shape (ndim x u64),
            payload_len (u64), crc32 of the payload (u32)
    payload raw array bytes, C order

Safety:

* **Concurrent writers** (two editor windows, the CLI beside the editor): each writes a
  uniquely named temp file in the entry's folder and ``os.replace``-s it onto the final
  name; the rename is atomic, the last writer wins with identical content.
* **Partial writes / crashes**: a reader checks the magic, the header, the payload length
  against the file size and the payload's CRC-32; any mismatch counts as corrupt: the
  file is deleted and the caller re-renders. A corrupt entry is never served. Temp files
  left by a killed process are removed at open once they are older than a minute.
* **Size bound**: the total size of entries is kept at most ``capacity`` bytes; when a
  write passes it, the oldest entries by *access time* are deleted until the total is at
  most ``capacity * low_water``. The access time is the file's mtime, bumped on every
  hit (filesystem atimes are unreliable under ``relatime``/``noatime``).

The in-memory index (key -> size, access time) is this process's view. It is refreshed
from the folder every ``rescan_every`` writes or ``rescan_s`` seconds and before every
eviction, so files written by other processes are counted (the bound can be exceeded by
what other processes wrote since the last refresh).
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from dexstudio.core.errors import OutputError

log = logging.getLogger(__name__)

MAGIC = b"DXC1"
SUFFIX = ".dxc"
_TMP_PREFIX = ".tmp-"
_STALE_TMP_S = 60.0


@dataclass(frozen=True)
class DiskCacheStats:
    entries: int
    bytes: int
    corrupt: int
    evicted: int


def _entry_parts(array: np.ndarray) -> tuple[bytes, memoryview]:
    """(magic + header, payload view) of an entry, without copying the payload."""
    a = np.ascontiguousarray(array)
    payload = memoryview(a).cast("B") if a.size else memoryview(b"")
    dt = a.dtype.str.encode("ascii")
    header = (struct.pack("<B", len(dt)) + dt + struct.pack("<B", a.ndim)
              + struct.pack(f"<{a.ndim}Q", *a.shape)
              + struct.pack("<QI", len(payload), zlib.crc32(payload) & 0xFFFFFFFF))
    return MAGIC + struct.pack("<I", len(header)) + header, payload


def encode_entry(array: np.ndarray) -> bytes:
    """Serialise an array to the entry format (header + payload)."""
    head, payload = _entry_parts(array)
    return head + bytes(payload)


class CorruptEntry(ValueError):
    """A cache file that fails its checks."""


def decode_entry(data: bytes) -> np.ndarray:
    """Parse and verify an entry; raises :class:`CorruptEntry`. Returns a read-only array."""
    try:
        if data[:4] != MAGIC:
            raise CorruptEntry("bad magic")
        (hlen,) = struct.unpack_from("<I", data, 4)
        pos = 8
        if hlen > 4096 or pos + hlen > len(data):
            raise CorruptEntry("bad header length")
        (dlen,) = struct.unpack_from("<B", data, pos)
        dtype = np.dtype(data[pos + 1:pos + 1 + dlen].decode("ascii"))
        pos += 1 + dlen
        (ndim,) = struct.unpack_from("<B", data, pos)
        pos += 1
        shape = struct.unpack_from(f"<{ndim}Q", data, pos)
        pos += 8 * ndim
        plen, crc = struct.unpack_from("<QI", data, pos)
        pos += 12
        if pos != 8 + hlen:
            raise CorruptEntry("header size mismatch")
        payload = memoryview(data)[pos:]
        if len(payload) != plen or plen != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise CorruptEntry(f"payload is {len(payload)} bytes, header says {plen}")
        if zlib.crc32(payload) & 0xFFFFFFFF != crc:
            raise CorruptEntry("checksum mismatch")
        arr = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape, dtype=np.int64)),
                            offset=pos).reshape(shape)
        return arr  # frombuffer over bytes: read-only
    except CorruptEntry:
        raise
    except (struct.error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise CorruptEntry(str(exc)) from None


class DiskCache:
    """Bounded, content-addressed array store in ``root`` (see the module docstring).

    Args:
        root: the folder (created).
        capacity: bound in bytes; 0 disables the cache (nothing read or written).
        low_water: eviction stops at ``capacity * low_water`` bytes.
        rescan_every, rescan_s: refresh the index from the folder after this many writes
            or this many seconds (other processes' files).
    """

    def __init__(self, root: str | os.PathLike[str], capacity: int, low_water: float = 0.9,
                 rescan_every: int = 256, rescan_s: float = 10.0) -> None:
        if capacity < 0:
            raise ValueError(f"disk cache capacity must be >= 0, got {capacity}")
        self.root = Path(root)
        self.capacity = int(capacity)
        self.low_water = float(low_water)
        self.rescan_every = max(1, int(rescan_every))
        self.rescan_s = float(rescan_s)
        self._puts_since_scan = 0
        self._last_scan = time.monotonic()
        self._lock = threading.Lock()
        self._index: dict[str, tuple[int, int]] = {}  # key -> (bytes, access ns)
        self._total = 0
        self.corrupt = 0
        self.evicted = 0
        if self.capacity:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"cannot create the render cache folder {self.root}: "
                                  f"{exc.strerror or exc}",
                                  "set DEXSTUDIO_CACHE_DIR to a writable folder or lower the "
                                  "disk cache size to 0") from None
            self._rescan(clean_tmp=True)

    # -- paths and index ------------------------------------------------------------------
    def path_for(self, key: str) -> Path:
        if len(key) < 8 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"cache keys are lowercase hex digests, got {key!r}")
        return self.root / key[:2] / f"{key}{SUFFIX}"

    def _rescan(self, clean_tmp: bool = False) -> None:
        index: dict[str, tuple[int, int]] = {}
        now = time.time()
        for shard in self.root.iterdir() if self.root.is_dir() else ():
            if not shard.is_dir():
                continue
            try:
                entries = list(os.scandir(shard))
            except OSError:
                continue
            for e in entries:
                try:
                    st = e.stat()
                except OSError:
                    continue
                if e.name.startswith(_TMP_PREFIX):
                    if clean_tmp and now - st.st_mtime > _STALE_TMP_S:
                        _unlink(Path(e.path))
                    continue
                if e.name.endswith(SUFFIX):
                    index[e.name[:-len(SUFFIX)]] = (st.st_size, st.st_mtime_ns)
        with self._lock:
            self._index = index
            self._total = sum(s for s, _ in index.values())
            self._puts_since_scan = 0
            self._last_scan = time.monotonic()

    # -- public API -----------------------------------------------------------------------
    def get(self, key: str) -> Optional[np.ndarray]:
        """The stored array, or None (absent, or corrupt: then deleted and counted)."""
        if not self.capacity:
            return None
        path = self.path_for(key)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            self._forget(key)
            return None
        except OSError as exc:
            log.warning("render cache: cannot read %s: %s", path, exc)
            return None
        try:
            arr = decode_entry(data)
        except CorruptEntry as exc:
            log.warning("render cache: corrupt entry %s (%s): deleted, will re-render", path, exc)
            _unlink(path)
            with self._lock:
                self.corrupt += 1
            self._forget(key)
            return None
        now = time.time_ns()
        try:
            os.utime(path, ns=(now, now))
        except OSError:
            pass
        with self._lock:
            old = self._index.get(key)
            if old is None:
                self._total += len(data)
            self._index[key] = (len(data), now)
        return arr

    def put(self, key: str, array: np.ndarray) -> bool:
        """Store ``array`` under ``key`` (atomic); returns False if not stored (too big/disabled).

        Raises:
            OutputError: the cache folder cannot be written (full disk, permissions).
        """
        if not self.capacity:
            return False
        head, payload = _entry_parts(array)
        size = len(head) + len(payload)
        if size > self.capacity:
            return False
        path = self.path_for(key)
        tmp = path.parent / f"{_TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(head)
                f.write(payload)
            os.replace(tmp, path)
        except OSError as exc:
            _unlink(tmp)
            raise OutputError(f"cannot write the render cache at {self.root}: {exc.strerror or exc}",
                              "free disk space, lower the disk cache size, or set "
                              "DEXSTUDIO_CACHE_DIR to another folder") from None
        now = time.time_ns()
        with self._lock:
            old = self._index.get(key)
            self._total += size - (old[0] if old else 0)
            self._index[key] = (size, now)
            self._puts_since_scan += 1
            stale = (self._puts_since_scan >= self.rescan_every
                     or time.monotonic() - self._last_scan > self.rescan_s)
        if stale:
            self._rescan()
        if self._total > self.capacity:
            self.evict()
        return True

    def __contains__(self, key: str) -> bool:
        return bool(self.capacity) and self.path_for(key).is_file()

    def evict(self) -> int:
        """Delete oldest-accessed entries until the total is at most ``capacity * low_water``.

        Returns the number of entries deleted.
        """
        self._rescan()
        target = int(self.capacity * self.low_water)
        with self._lock:
            if self._total <= self.capacity:
                return 0
            order = sorted(self._index.items(), key=lambda kv: kv[1][1])
        n = 0
        for key, (size, _) in order:
            with self._lock:
                if self._total <= target:
                    break
                self._index.pop(key, None)
                self._total -= size
            _unlink(self.path_for(key))
            n += 1
        with self._lock:
            self.evicted += n
        return n

    def _forget(self, key: str) -> None:
        with self._lock:
            old = self._index.pop(key, None)
            if old is not None:
                self._total -= old[0]

    @property
    def total_bytes(self) -> int:
        return self._total

    def stats(self) -> DiskCacheStats:
        with self._lock:
            return DiskCacheStats(len(self._index), self._total, self.corrupt, self.evicted)

    def clear(self) -> None:
        """Delete every entry (the folder stays)."""
        self._rescan()
        with self._lock:
            keys = list(self._index)
            self._index.clear()
            self._total = 0
        for k in keys:
            _unlink(self.path_for(k))


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:  # pragma: no cover - permissions
        log.warning("render cache: cannot delete %s: %s", path, exc)
