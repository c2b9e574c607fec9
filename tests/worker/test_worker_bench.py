"""``dexstudio bench worker`` runs and reports sane numbers (tiny synthetic settings)."""

from __future__ import annotations

import pytest

from dexstudio.cli import main
from dexstudio.commands.bench_worker import run_worker_bench


def test_bench_numbers_are_consistent() -> None:
    r = run_worker_bench("synthetic", frames=60, requests=4, frame_ms=20.0, size=32)
    assert r.requests == 4
    assert 0.015 < r.render_median < 0.2
    assert 0 < r.latency_median <= r.latency_p90 <= r.latency_max < 5.0
    assert 0 <= r.within_budget <= r.requests


def test_bench_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "worker", "--frames", "30", "--requests", "2", "--frame-ms", "10",
                 "--size", "32"]) == 0
    out = capsys.readouterr().out
    assert "playhead latency" in out and "median" in out and "p90" in out
