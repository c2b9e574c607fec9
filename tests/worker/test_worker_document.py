"""Document-driven acceptance: a key move re-renders exactly the timeline's dependency range,
undo re-renders nothing, a reopened project renders from the disk cache with no animator call."""

from __future__ import annotations

from pathlib import Path

from dexstudio.core.commands import add_key, add_take, move_key, set_key_value
from dexstudio.core.document import Document, DocumentChanged
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.take import Take
from dexstudio.core.undo import UndoStack
from dexstudio.worker import EventRecorder, FrameReady, RenderWorker, RequestBuilder, SourceImage, WorkerConfig
from dexstudio.worker.project_render import DocumentRenderFeed, project_requests
from dexstudio.worker.request import frame_motions
from dexstudio.worker.testing import SyntheticAnimator

N = 120


def make_doc() -> tuple[Document, UndoStack]:
    doc = Document()
    stack = UndoStack(doc)
    stack.push(add_take(doc, Take.from_motion(synthetic_track(N, seed=3), "drive")))
    stack.push(add_key(doc, "pose.yaw", 20, 5.0))
    stack.push(add_key(doc, "pose.yaw", 60, -8.0))
    stack.push(add_key(doc, "expr.jawOpen", 90, 0.7))
    return doc, stack


def motion_keys(doc: Document) -> list[str]:
    ev = doc.evaluate(doc.state.settings.frame_range)
    return [m.key() for m in frame_motions(ev)]


def render_all(worker: RenderWorker, rec: EventRecorder, feed: DocumentRenderFeed) -> list[FrameReady]:
    rec.clear()
    feed.submit_all()
    assert worker.wait_idle(20)
    return rec.of(FrameReady)


def test_key_move_rerenders_exactly_the_dependency_range_and_undo_none(
        source: SourceImage, config: WorkerConfig) -> None:
    doc, stack = make_doc()
    assert doc.state.settings.frame_range.stop == N
    anim = SyntheticAnimator()
    events: list[DocumentChanged] = []
    doc.changed.connect(events.append)
    with RenderWorker(lambda d: anim, config) as worker:
        rec = EventRecorder(worker.events)
        feed = DocumentRenderFeed(doc, worker, RequestBuilder(source, anim))
        ready = render_all(worker, rec, feed)
        assert len(ready) == N
        distinct = len(set(motion_keys(doc)))
        assert anim.calls["render"] == distinct

        before = motion_keys(doc)
        rec.clear()
        calls0 = anim.calls["render"]
        stack.push(move_key(doc, "pose.yaw", 60, 72))  # move one keyframe
        dep = events[-1].changed_frames
        assert worker.wait_idle(20)
        after = motion_keys(doc)
        brute = {f for f in range(N) if before[f] != after[f]}
        assert set(dep.frames().tolist()) == brute  # the timeline's range is exact here
        rendered = {e.frame for e in rec.of(FrameReady) if not e.from_cache}
        assert rendered == brute
        assert anim.calls["render"] - calls0 == len({after[f] for f in brute} - set(before))
        assert all(e.frame in brute for e in rec.of(FrameReady))  # nothing else was touched
        assert feed.resubmitted_frames == len(brute)

        rec.clear()
        calls1 = anim.calls["render"]
        stack.undo()
        assert worker.wait_idle(20)
        assert motion_keys(doc) == before
        undone = rec.of(FrameReady)
        assert {e.frame for e in undone} == brute and all(e.from_cache for e in undone)
        assert anim.calls["render"] == calls1  # undo: cache hits only

        # a value edit on one key: again exactly its range
        rec.clear()
        stack.push(set_key_value(doc, "expr.jawOpen", 90, 0.2))
        assert worker.wait_idle(20)
        dep = events[-1].changed_frames
        assert {e.frame for e in rec.of(FrameReady)} == set(dep.frames().tolist())
        feed.close()


def test_reopened_project_renders_from_disk_with_no_animator_calls(
        source: SourceImage, config: WorkerConfig, tmp_path: Path) -> None:
    from dexstudio.io.project_file import load_project, save_project

    doc, _ = make_doc()
    path = tmp_path / "p.dexproj"
    save_project(doc, path)
    first = SyntheticAnimator()
    with RenderWorker(lambda d: first, config) as worker:
        rec = EventRecorder(worker.events)
        assert len(render_all(worker, rec, DocumentRenderFeed(doc, worker, RequestBuilder(source, first)))) == N

    reopened = load_project(path)  # "after a restart": new document, animator and worker
    second = SyntheticAnimator()
    with RenderWorker(lambda d: second, config) as worker:
        rec = EventRecorder(worker.events)
        ready = render_all(worker, rec, DocumentRenderFeed(reopened, worker, RequestBuilder(source, second)))
        assert len(ready) == N and all(e.from_cache for e in ready)
        assert sum(second.calls.values()) == 0
        assert worker.stats().hits == N and worker.stats().misses == 0


def test_project_requests_in_order_and_chunked(source: SourceImage) -> None:
    doc, _ = make_doc()
    b = RequestBuilder(source, SyntheticAnimator())
    from dexstudio.core.timebase import FrameRange

    reqs = project_requests(doc, b, FrameRange(10, 100), chunk=16)
    assert [r.frame for r in reqs] == list(range(10, 100))
    whole = b.build(doc.evaluate(FrameRange(10, 100)))
    assert all(r.key == whole[r.frame].key for r in reqs)
