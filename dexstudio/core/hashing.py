"""Content hashes used as cache keys (stable across processes and runs)."""

from __future__ import annotations

import hashlib

import numpy as np


def array_content_hash(array: np.ndarray) -> str:
    """sha256 hex of an array's dtype, shape and bytes (C order).

    Equal arrays give equal keys; a transposed, reshaped or re-typed array does not.
    """
    a = np.ascontiguousarray(array)
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}|{a.shape}".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()
