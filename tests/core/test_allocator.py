"""Allocator tuning: accepted by glibc, harmless elsewhere."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dexstudio.core.allocator import MAX_MMAP_THRESHOLD, keep_large_blocks


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_glibc_accepts_the_thresholds_and_large_arrays_still_work():
    assert keep_large_blocks() is True
    a = np.ones(MAX_MMAP_THRESHOLD // 8 + 1000)  # above the threshold: still mmap-served
    b = np.ones(1 << 20)
    assert a.sum() == len(a) and b.sum() == len(b)


@pytest.mark.skipif(sys.platform.startswith("linux"), reason="off Linux only")
def test_off_linux_nothing_changes():
    assert keep_large_blocks() is False
