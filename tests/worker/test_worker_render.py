"""The render worker with a counting synthetic animator: incremental re-render, restart,
priority, supersession, intermediates, device fallback, errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from worker_helpers import builder_for, make_ev

from dexstudio.core.errors import NoFaceError
from dexstudio.core.timebase import FrameRange
from dexstudio.worker import (
    DeviceFallback,
    EventRecorder,
    FillProgress,
    FrameReady,
    OutputOptions,
    RenderError,
    RenderWorker,
    RequestBuilder,
    SourceImage,
    WorkerConfig,
)
from dexstudio.worker.testing import SyntheticAnimator, SyntheticLatentAnimator

N = 40


def frames_ready(rec: EventRecorder) -> list[FrameReady]:
    return rec.of(FrameReady)


def run_range(worker: RenderWorker, rec: EventRecorder, requests: dict, replace: bool = True) -> list[FrameReady]:
    rec.clear()
    worker.submit_range(requests, replace=replace)
    assert worker.wait_idle(10)
    return frames_ready(rec)


def test_full_render_then_incremental_edit_then_undo(source: SourceImage, config: WorkerConfig,
                                                      make_worker) -> None:
    anim = SyntheticAnimator()
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    b = builder_for(anim, source)
    yaw = np.linspace(-10, 10, N)
    full = b.build(make_ev(yaw))

    ready = run_range(worker, rec, full)
    assert sorted(e.frame for e in ready) == list(range(N))
    assert anim.calls["render"] == N and not any(e.from_cache for e in ready)
    assert rec.of(FillProgress)[-1] == FillProgress(N, N)
    for e in ready:  # the image is the animator's output for that frame's motion
        assert np.array_equal(e.image, anim._pixels(worker.sources.get(full[e.frame].source_state_id),
                                                    full[e.frame].motion.key()))
        assert e.request_key == full[e.frame].key

    # "move a keyframe": frames 12..19 change; rebuild the whole range (the editor may)
    edited = yaw.copy()
    edited[12:20] += 3.0
    ready = run_range(worker, rec, b.build(make_ev(edited)))
    assert anim.calls["render"] == N + 8
    assert sorted(e.frame for e in ready if not e.from_cache) == list(range(12, 20))
    assert sum(e.from_cache for e in ready) == N - 8

    # undo: everything is a cache hit, no animator call
    ready = run_range(worker, rec, b.build(make_ev(yaw)))
    assert anim.calls["render"] == N + 8
    assert len(ready) == N and all(e.from_cache for e in ready)
    stats = worker.stats()
    assert stats.misses == N + 8 and stats.hits == 2 * N - 8
    assert anim.calls["prepare"] == 1  # the source state is cached


def test_merge_submit_of_changed_frames_only(source: SourceImage, config: WorkerConfig,
                                             make_worker) -> None:
    anim = SyntheticAnimator()
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    b = builder_for(anim, source)
    yaw = np.zeros(N)
    run_range(worker, rec, b.build(make_ev(yaw)))
    changed = b.build(make_ev(np.full(5, 7.0), start=30))
    ready = run_range(worker, rec, changed, replace=False)
    assert sorted(e.frame for e in ready) == list(range(30, 35))
    assert anim.calls["render"] == 2  # frame 0..39 all had yaw 0: one render; the edit: one more
    assert worker.progress() == FillProgress(N, N)


def test_restart_serves_everything_from_disk_with_zero_animator_calls(
        source: SourceImage, config: WorkerConfig, make_worker) -> None:
    yaw = np.linspace(0, 30, N)
    first = SyntheticAnimator()
    w1 = make_worker(first, config)
    rec1 = EventRecorder(w1.events)
    images = {e.frame: e.image for e in run_range(w1, rec1, builder_for(first, source).build(make_ev(yaw)))}
    assert w1.close()

    second = SyntheticAnimator()  # a new process would build a new animator and worker
    w2 = make_worker(second, config)
    rec2 = EventRecorder(w2.events)
    ready = run_range(w2, rec2, builder_for(second, source).build(make_ev(yaw)))
    assert len(ready) == N and all(e.from_cache for e in ready)
    assert sum(second.calls.values()) == 0
    assert all(np.array_equal(e.image, images[e.frame]) for e in ready)
    assert w2.stats().hits == N and w2.stats().misses == 0


def test_playhead_frame_is_served_next_during_a_long_fill(source: SourceImage, config: WorkerConfig,
                                                          make_worker) -> None:
    delay = 0.02
    anim = SyntheticAnimator(delay_s=delay)
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    reqs = builder_for(anim, source).build(make_ev(np.arange(300, dtype=float)))
    worker.submit_range(reqs, window=FrameRange(0, 10))
    assert rec.wait_for(lambda ev: sum(isinstance(e, FrameReady) for e in ev) >= 5)
    latencies = []
    for target in (250, 120, 290, 200):
        t0 = time.perf_counter()
        worker.set_playhead(target)
        assert rec.wait_for(lambda ev: any(isinstance(e, FrameReady) and e.frame == target for e in ev))
        latencies.append(time.perf_counter() - t0)
    # one frame render time (the running job finishes) + the target's own render + slack
    assert max(latencies) < 2 * delay + 0.15, latencies
    order = [e.frame for e in frames_ready(rec)]
    assert order[:5] == [0, 1, 2, 3, 4]


def test_superseded_pending_request_is_never_rendered(source: SourceImage, config: WorkerConfig,
                                                      make_worker) -> None:
    anim = SyntheticAnimator(delay_s=0.01)
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    b = builder_for(anim, source)
    old = b.build(make_ev(np.arange(30, dtype=float)))
    new = b.build(make_ev(np.arange(30, dtype=float) + 100))
    worker.submit_range(old)
    worker.submit_range({f: r for f, r in new.items() if f >= 20}, replace=False)
    assert worker.wait_idle(10)
    rendered = set(anim.rendered)
    assert not any(old[f].motion.key() in rendered for f in range(20, 30))
    assert all(new[f].motion.key() in rendered for f in range(20, 30))
    last = {e.frame: e.request_key for e in frames_ready(rec)}
    assert all(last[f] == new[f].key for f in range(20, 30))
    assert all(e.request_key != old[e.frame].key for e in frames_ready(rec) if e.frame >= 20)


def test_running_request_is_abandoned_when_superseded(source: SourceImage, config: WorkerConfig,
                                                      make_worker) -> None:
    anim = SyntheticAnimator(delay_s=3.0)  # polls its CancelToken
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    b = builder_for(anim, source)
    worker.submit_range(b.build(make_ev(np.array([1.0]))))
    deadline = time.time() + 5
    while anim.calls["render"] == 0 and time.time() < deadline:
        time.sleep(0.005)
    anim.delay_s = 0.0
    t0 = time.perf_counter()
    new = b.build(make_ev(np.array([2.0])))
    worker.submit_range(new)
    assert rec.wait_for(lambda ev: any(isinstance(e, FrameReady) for e in ev), timeout=5)
    assert time.perf_counter() - t0 < 1.0  # not after the 3 s render
    ready = frames_ready(rec)
    assert [e.request_key for e in ready] == [new[0].key]
    assert not rec.of(RenderError)


class _NoCancelAnimator(SyntheticAnimator):
    """An animator whose render takes no CancelToken."""

    def render(self, state, motion, expression_model=None):  # type: ignore[override]
        return super().render(state, motion, expression_model)


def test_superseded_result_without_cancel_support_is_cached_not_announced(
        source: SourceImage, config: WorkerConfig, make_worker) -> None:
    anim = _NoCancelAnimator(delay_s=0.3)
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    b = builder_for(anim, source)
    old = b.build(make_ev(np.array([1.0])))
    worker.submit_range(old)
    while anim.calls["render"] == 0:
        time.sleep(0.005)
    new = b.build(make_ev(np.array([2.0])))
    worker.submit_range(new)
    assert worker.wait_idle(5)
    assert [e.request_key for e in frames_ready(rec)] == [new[0].key]
    assert worker.cached_frame(old[0]) is not None  # finished work is kept for undo


def test_intermediate_cached_so_decode_only_change_does_not_redo_it(
        source: SourceImage, config: WorkerConfig, make_worker) -> None:
    a1 = SyntheticLatentAnimator(gain=1.0)
    worker = make_worker(a1, config)
    rec = EventRecorder(worker.events)
    ev = make_ev(np.linspace(0, 5, 10))
    run_range(worker, rec, RequestBuilder(source, a1).build(ev))
    assert a1.calls["render_intermediate"] == 10 and a1.calls["decode"] == 10

    a2 = SyntheticLatentAnimator(gain=0.5)  # decode-only setting changed
    worker.set_animator_factory(lambda device: a2)
    ready = run_range(worker, rec, RequestBuilder(source, a2).build(ev))
    assert a2.calls["render_intermediate"] == 0 and a2.calls["decode"] == 10
    assert a2.calls["prepare"] == 1  # a new animator instance prepares its source again
    assert len(ready) == 10 and not any(e.from_cache for e in ready)
    assert worker.stats().intermediate_hits == 10
    assert a1.closed  # the replaced animator was released


def test_output_size_resizes_and_is_part_of_the_key(source: SourceImage, config: WorkerConfig,
                                                    make_worker) -> None:
    anim = SyntheticAnimator(size=32)
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    ready = run_range(worker, rec, RequestBuilder(source, anim, output=OutputOptions(size=16)).build(
        make_ev(np.zeros(2))))
    assert all(e.image.shape == (16, 16, 3) for e in ready)
    pasted = RequestBuilder(source, anim, output=OutputOptions(paste_back=True)).build(make_ev(np.zeros(1)))
    ready = run_range(worker, rec, pasted)
    assert ready[0].image.shape == source.image.shape
    assert np.array_equal(ready[0].image[:16, :16], anim._pixels(worker.sources.get(pasted[0].source_state_id),
                                                                pasted[0].motion.key())[:16, :16])


def test_paste_back_needs_the_protocol(source: SourceImage, config: WorkerConfig, make_worker) -> None:
    anim = SyntheticLatentAnimator()
    anim.render_frame = None  # type: ignore[assignment,method-assign]  # no paste-back support
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    run_range(worker, rec, RequestBuilder(source, anim, output=OutputOptions(paste_back=True)).build(
        make_ev(np.zeros(1))))
    errs = rec.of(RenderError)
    assert len(errs) == 1 and "paste" in str(errs[0].error)


def test_oom_retries_with_smaller_batch(source: SourceImage, config: WorkerConfig, make_worker) -> None:
    anim = SyntheticAnimator(device="cuda", oom_devices=("cuda",), max_ok_batch=2)
    cfg = WorkerConfig(**{**config.__dict__, "batch_size": 8})
    worker = make_worker(anim, cfg, device_chooser=lambda pref: "cuda")
    rec = EventRecorder(worker.events)
    worker.submit_range(builder_for(anim, source).build(make_ev(np.arange(1.0))))  # creates the animator
    assert worker.wait_idle(5)
    ready = run_range(worker, rec, builder_for(anim, source).build(make_ev(np.arange(30.0) + 1)))
    assert len(ready) == 30 and not rec.of(RenderError) and not rec.of(DeviceFallback)
    assert anim.calls["oom"] >= 1  # 8 did not fit, then 4 did not, then 2 did
    assert max(anim.batch_sizes) == 2 and worker.device == "cuda"
    assert anim.calls["render"] == 31


def test_oom_at_batch_one_falls_back_to_cpu_with_a_warning_event(
        source: SourceImage, config: WorkerConfig, make_worker) -> None:
    devices: list[str] = []
    animators: list[SyntheticAnimator] = []

    def factory(device: str) -> SyntheticAnimator:
        devices.append(device)
        animators.append(SyntheticAnimator(device=device, oom_devices=("cuda",), max_ok_batch=0))
        return animators[-1]

    worker = RenderWorker(factory, config, device_chooser=lambda pref: "cuda")
    try:
        rec = EventRecorder(worker.events)
        ready = run_range(worker, rec, builder_for(SyntheticAnimator(), source).build(
            make_ev(np.arange(10.0))))
        assert len(ready) == 10 and not rec.of(RenderError)
        fb = rec.of(DeviceFallback)
        assert len(fb) == 1 and (fb[0].from_device, fb[0].to_device) == ("cuda", "cpu")
        assert "CPU" in fb[0].message
        assert devices == ["cuda", "cpu"] and worker.device == "cpu"
        assert animators[0].closed and animators[1].calls["render"] == 10
    finally:
        assert worker.close()


def test_render_error_is_an_event_and_other_frames_render(source: SourceImage, config: WorkerConfig,
                                                         make_worker) -> None:
    anim = SyntheticAnimator(fail_yaw=5.0)
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    reqs = builder_for(anim, source).build(make_ev(np.arange(10.0)))
    ready = run_range(worker, rec, reqs)
    errs = rec.of(RenderError)
    assert [e.frame for e in errs] == [5] and isinstance(errs[0].error, ValueError)
    assert sorted(e.frame for e in ready) == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert worker.is_alive


def test_no_face_fails_the_source_once_and_drops_its_frames(source: SourceImage, config: WorkerConfig,
                                                           make_worker) -> None:
    anim = SyntheticAnimator(no_face=True)
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    run_range(worker, rec, builder_for(anim, source).build(make_ev(np.arange(20.0))))
    errs = rec.of(RenderError)
    assert len(errs) == 1 and isinstance(errs[0].error, NoFaceError)
    assert errs[0].frames_dropped == 19 and anim.calls["prepare"] == 1
    assert worker.is_alive


def test_animator_factory_failure_is_an_event(source: SourceImage, config: WorkerConfig) -> None:
    def broken(device: str) -> SyntheticAnimator:
        raise RuntimeError("cannot load the model")

    with RenderWorker(broken, config) as worker:
        rec = EventRecorder(worker.events)
        run_range(worker, rec, builder_for(SyntheticAnimator(), source).build(make_ev(np.arange(5.0))))
        errs = rec.of(RenderError)
        assert len(errs) == 1 and "cannot load" in str(errs[0].error)
    assert not worker.is_alive


def test_mismatched_requests_are_rejected(source: SourceImage, config: WorkerConfig, make_worker) -> None:
    anim = SyntheticAnimator(seed=1)
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    run_range(worker, rec, builder_for(SyntheticAnimator(seed=2), source).build(make_ev(np.zeros(3))))
    errs = rec.of(RenderError)
    assert len(errs) == 1 and "rebuild the requests" in str(errs[0].error)
    assert anim.calls["render"] == 0


def test_disk_limit_holds_and_corrupt_entry_is_rerendered(source: SourceImage, tmp_path: Path,
                                                          make_worker) -> None:
    anim = SyntheticAnimator(size=32)
    per = 32 * 32 * 3 + 64
    cfg = WorkerConfig(cache_dir=tmp_path / "c", cpu_threads=1, memory_cache_bytes=0,
                       disk_cache_bytes=20 * per)
    worker = make_worker(anim, cfg)
    rec = EventRecorder(worker.events)
    reqs = builder_for(anim, source).build(make_ev(np.arange(60.0)))
    run_range(worker, rec, reqs)
    files = list((tmp_path / "c" / "frames").rglob("*.dxc"))
    assert sum(f.stat().st_size for f in files) <= 20 * per
    assert worker.stats().bytes_on_disk <= 20 * per

    keep = {59: reqs[59]}  # recently written: on disk
    path = worker.frames_disk.path_for(reqs[59].key)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    calls = anim.calls["render"]
    ready = run_range(worker, rec, keep)
    assert len(ready) == 1 and not ready[0].from_cache
    assert anim.calls["render"] == calls + 1 and worker.stats().corrupt == 1
    assert np.array_equal(ready[0].image, worker.frames_disk.get(reqs[59].key))


def test_renders_happen_on_the_worker_thread(source: SourceImage, config: WorkerConfig,
                                             make_worker) -> None:
    anim = SyntheticAnimator()
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    run_range(worker, rec, builder_for(anim, source).build(make_ev(np.arange(3.0))))
    assert anim.render_threads == {"dexstudio-render-worker"}


def test_listener_errors_do_not_stop_the_worker(source: SourceImage, config: WorkerConfig,
                                                make_worker) -> None:
    anim = SyntheticAnimator()
    worker = make_worker(anim, config)
    worker.events.subscribe(FrameReady, lambda e: 1 / 0)
    rec = EventRecorder(worker.events)
    ready = run_range(worker, rec, builder_for(anim, source).build(make_ev(np.arange(4.0))))
    assert len(ready) == 4 and worker.is_alive


def test_explicit_missing_device_is_a_typed_error(config: WorkerConfig) -> None:
    import torch

    from dexstudio.render.device import DeviceError

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError, match="--device"):
        RenderWorker(lambda d: SyntheticAnimator(), WorkerConfig(**{**config.__dict__, "device": "cuda"}))


def test_animator_identity_builds_matching_requests(source: SourceImage, config: WorkerConfig) -> None:
    made: list[str] = []

    def factory(device: str) -> SyntheticLatentAnimator:
        made.append(device)
        return SyntheticLatentAnimator(gain=2.0)

    with RenderWorker(factory, config) as worker:
        ident = worker.animator_identity(timeout=5)
        assert (ident.animator_id, ident.device) == ("synthetic-latent", "cpu")
        assert ident.settings_key.endswith("gain=2.0") and "gain" not in ident.intermediate_settings_key
        assert worker.animator_identity(timeout=5) is ident and made == ["cpu"]
        rec = EventRecorder(worker.events)
        b = RequestBuilder.from_identity(ident, source)
        ready = run_range(worker, rec, b.build(make_ev(np.arange(3.0))))
        assert len(ready) == 3 and not rec.of(RenderError) and made == ["cpu"]


def test_animator_identity_raises_the_factory_error(config: WorkerConfig) -> None:
    def broken(device: str) -> SyntheticAnimator:
        raise NoFaceError("boom", "hint")

    with RenderWorker(broken, config) as worker:
        with pytest.raises(NoFaceError, match="boom"):
            worker.animator_identity(timeout=5)


def test_playhead_preempts_a_slow_cancel_aware_background_frame(
        source: SourceImage, config: WorkerConfig, make_worker) -> None:
    delay = 0.25
    anim = SyntheticAnimator(delay_s=delay)
    worker = make_worker(anim, config)
    rec = EventRecorder(worker.events)
    reqs = builder_for(anim, source).build(make_ev(np.arange(12.0)))
    worker.submit_range(reqs)
    while anim.calls["render"] == 0:
        time.sleep(0.002)
    time.sleep(0.02)  # frame 0 is in the middle of its render
    t0 = time.perf_counter()
    worker.set_playhead(9)
    assert rec.wait_for(lambda ev: any(isinstance(e, FrameReady) and e.frame == 9 for e in ev), 5)
    latency = time.perf_counter() - t0
    assert latency < delay + 0.05 + 0.05, latency  # one frame render + 50 ms (+ test slack)
    assert worker.wait_idle(10)
    ready = frames_ready(rec)
    assert sorted(e.frame for e in ready) == list(range(12))  # the preempted frame 0 came back
    assert [e.frame for e in ready][0] == 9


def test_unwritable_cache_folder_turns_the_disk_cache_off(source: SourceImage, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cfg = WorkerConfig(cache_dir=blocker / "cache", cpu_threads=1)
    anim = SyntheticAnimator()
    with RenderWorker(lambda d: anim, cfg) as worker:
        assert worker.warnings and "render cache is off" in worker.warnings[0]
        rec = EventRecorder(worker.events)
        assert len(run_range(worker, rec, builder_for(anim, source).build(make_ev(np.arange(3.0))))) == 3


def test_full_disk_is_reported_once_and_rendering_goes_on(source: SourceImage, config: WorkerConfig,
                                                          make_worker) -> None:
    from dexstudio.core.errors import OutputError

    anim = SyntheticAnimator()
    worker = make_worker(anim, config)

    def full(key: str, array: np.ndarray) -> bool:
        raise OutputError("the disk is full", "free some space")

    worker.frames_disk.put = full  # type: ignore[method-assign]
    rec = EventRecorder(worker.events)
    ready = run_range(worker, rec, builder_for(anim, source).build(make_ev(np.arange(5.0))))
    assert len(ready) == 5
    errs = rec.of(RenderError)
    assert len(errs) == 1 and errs[0].frame is None and isinstance(errs[0].error, OutputError)
