"""ordered_map: parallel per-item work, results in order, errors in place, cancel, close."""

from __future__ import annotations

import random
import threading
import time

import pytest

from dexstudio.core.errors import Cancelled
from dexstudio.core.parallel import ordered_map
from dexstudio.core.progress import CancelToken


def jittery_square(x: int) -> int:
    time.sleep(random.random() * 0.002)  # finish out of order
    return x * x


@pytest.mark.parametrize("threads", [0, 1, 2, 3])
def test_results_are_in_input_order(threads):
    assert list(ordered_map(jittery_square, range(60), threads=threads, depth=5)) == [
        x * x for x in range(60)]


def test_work_runs_on_several_threads():
    seen: set[int] = set()
    barrier = threading.Barrier(2, timeout=5)

    def fn(x):
        seen.add(threading.get_ident())
        if x < 2:
            barrier.wait()  # only passes when two workers run at once
        return x

    assert list(ordered_map(fn, range(10), threads=2, depth=4)) == list(range(10))
    assert len(seen) == 2


def test_an_error_is_raised_at_the_failed_items_position():
    def fn(x):
        if x == 7:
            raise ValueError("bad item 7")
        return x

    got = []
    with pytest.raises(ValueError, match="bad item 7"):
        for y in ordered_map(fn, range(100), threads=2, depth=4):
            got.append(y)
    assert got == list(range(7))


def test_an_error_while_iterating_the_items_is_raised_in_place():
    def items():
        yield from range(5)
        raise OSError("decoder failed")

    got = []
    with pytest.raises(OSError, match="decoder failed"):
        for y in ordered_map(lambda x: x, items(), threads=2, depth=3):
            got.append(y)
    assert got == list(range(5))


def test_at_most_depth_items_are_taken_ahead_of_the_consumer():
    taken = []

    def items():
        for i in range(1000):
            taken.append(i)
            yield i

    gen = ordered_map(lambda x: x, items(), threads=2, depth=4)
    assert next(gen) == 0
    time.sleep(0.2)
    assert len(taken) <= 1 + 4
    gen.close()


def test_cancel_raises_and_stops_the_workers():
    token = CancelToken()
    calls = []

    def fn(x):
        calls.append(x)
        return x

    with pytest.raises(Cancelled):
        for y in ordered_map(fn, range(100_000), threads=2, depth=4, cancel=token):
            if y == 10:
                token.cancel()
    assert len(calls) < 100


def test_closing_early_stops_the_worker_threads():
    before = threading.active_count()
    gen = ordered_map(lambda x: x, range(100_000), threads=2, depth=4, name="closing-test")
    next(gen)
    gen.close()
    deadline = time.time() + 5
    while time.time() < deadline and any(t.name.startswith("closing-test") for t in threading.enumerate()):
        time.sleep(0.02)
    assert not any(t.name.startswith("closing-test") for t in threading.enumerate())
    assert threading.active_count() <= before
