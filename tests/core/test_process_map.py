"""ProcessMap: ordered results from forked processes, errors, dead workers, cancel, close."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from dexstudio.core.errors import Cancelled, NoFaceError
from dexstudio.core.process_map import ProcessMap, WorkerProcessError, fork_available
from dexstudio.core.progress import CancelToken

pytestmark = pytest.mark.skipif(not fork_available(), reason="ProcessMap needs fork (Linux)")

SHAPE = (4, 5, 3)


def fill(k: int, out: np.ndarray) -> None:
    out[...] = (k * 7) % 256
    out[0, 0, 0] = k % 256


def _children_of_this_process() -> list[int]:
    """PIDs of our live, non-zombie children (from /proc)."""
    me = os.getpid()
    kids = []
    for task in os.listdir("/proc"):
        if not task.isdigit():
            continue
        try:
            with open(f"/proc/{task}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            kids.append(int(task))
    return kids


def test_items_come_back_in_order_with_their_values() -> None:
    before = set(_children_of_this_process())
    with ProcessMap(fill, 23, SHAPE, np.uint8, processes=2, per_process=2) as pm:
        got = list(pm)
    assert len(got) == 23
    for k, a in enumerate(got):
        assert a.shape == SHAPE and a.dtype == np.uint8
        assert a[0, 0, 0] == k % 256 and a[1, 1, 1] == (k * 7) % 256
    # fresh arrays, not views of reused slots
    assert got[0][1, 1, 1] == 0 and got[4][1, 1, 1] == 28
    assert set(_children_of_this_process()) <= before


def test_the_work_runs_in_other_processes() -> None:
    def pid_into(k: int, out: np.ndarray) -> None:
        out[0] = os.getpid()

    pids = {int(a[0]) for a in ProcessMap(pid_into, 8, (1,), np.int64, processes=2)}
    assert os.getpid() not in pids
    assert len(pids) == 2


def test_float_items_and_more_processes_than_items() -> None:
    def f(k: int, out: np.ndarray) -> None:
        out[...] = k + 0.25

    got = list(ProcessMap(f, 1, (3,), np.float32, processes=4))
    assert len(got) == 1 and np.allclose(got[0], 0.25)
    assert list(ProcessMap(f, 0, (3,), np.float32)) == []


def test_a_typed_error_arrives_at_its_item_with_its_hint() -> None:
    def f(k: int, out: np.ndarray) -> None:
        if k == 5:
            raise NoFaceError("no face in frame 5", "pick another clip")
        fill(k, out)

    got = []
    with pytest.raises(NoFaceError) as info:
        for a in ProcessMap(f, 12, SHAPE):
            got.append(a)
    assert len(got) == 5
    assert info.value.hint == "pick another clip"


def test_an_error_that_cannot_be_pickled_arrives_as_text() -> None:
    class Local(Exception):  # a local class cannot be pickled
        pass

    def f(k: int, out: np.ndarray) -> None:
        raise Local("a local failure")

    with pytest.raises(WorkerProcessError, match="a local failure"):
        list(ProcessMap(f, 3, SHAPE))


def test_a_worker_that_dies_is_reported_not_waited_for() -> None:
    def f(k: int, out: np.ndarray) -> None:
        if k == 3:
            os._exit(9)  # as if killed (out of memory)
        fill(k, out)

    t = time.perf_counter()
    with pytest.raises(WorkerProcessError, match="stopped"):
        list(ProcessMap(f, 10, SHAPE, processes=2))
    assert time.perf_counter() - t < 10


def test_cancel_stops_the_workers() -> None:
    token = CancelToken()

    def slow(k: int, out: np.ndarray) -> None:
        time.sleep(0.05)
        fill(k, out)

    before = set(_children_of_this_process())
    pm = ProcessMap(slow, 1000, SHAPE, processes=2, cancel=token)
    got = 0
    with pytest.raises(Cancelled):
        for _ in pm:
            got += 1
            if got == 3:
                token.cancel()
    assert got == 3
    assert set(_children_of_this_process()) <= before


def test_cancel_while_waiting_for_a_slow_item() -> None:
    token = CancelToken()

    def stuck(k: int, out: np.ndarray) -> None:
        time.sleep(30)

    pm = ProcessMap(stuck, 4, SHAPE, processes=1, cancel=token)
    threading.Timer(0.3, token.cancel).start()
    t = time.perf_counter()
    with pytest.raises(Cancelled):
        next(pm)
    pm.close()  # a worker stuck in its item is terminated after a grace period
    assert time.perf_counter() - t < 10


def test_leaving_early_stops_the_workers() -> None:
    before = set(_children_of_this_process())
    with ProcessMap(fill, 500, SHAPE, processes=2) as pm:
        for k, _ in enumerate(pm):
            if k == 2:
                break
    assert set(_children_of_this_process()) <= before


def test_without_fork_it_refuses(monkeypatch) -> None:
    import dexstudio.core.process_map as m

    monkeypatch.setattr(m, "fork_available", lambda: False)
    with pytest.raises(RuntimeError, match="fork"):
        ProcessMap(fill, 3, SHAPE)
