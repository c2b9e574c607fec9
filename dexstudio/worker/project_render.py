"""From a project document to render requests and an export, through the worker.

Shared by ``dexstudio render`` and the editor's export: what a project says about
rendering (:func:`project_render_spec`), which animator renders it
(:func:`animator_factory_for`), the frozen requests of a frame range
(:func:`project_requests`, built on the caller's thread) and the whole headless render
(:func:`render_project`: worker -> ordered frames -> :class:`VideoExporter`).

Keeping the cache in sync while editing: :class:`DocumentRenderFeed` listens to the
document's change events and resubmits exactly the changed frames.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

from dexstudio.core.document import Document, DocumentChanged
from dexstudio.core.errors import DexStudioError
from dexstudio.core.motion import ExpressionModel
from dexstudio.core.progress import CancelToken, Progress, ProgressCallback, null_progress
from dexstudio.core.project import AnimatorKind, ProjectState, RenderSettings
from dexstudio.core.timebase import FrameRange, FrameRate
from dexstudio.render.base import SourceOptions
from dexstudio.worker.events import CacheStats, DeviceFallback
from dexstudio.worker.feed import iter_frames
from dexstudio.worker.request import OutputOptions, RenderRequest, RequestBuilder, SourceImage
from dexstudio.worker.worker import AnimatorFactory, RenderWorker, WorkerConfig


class ProjectNotRenderableError(DexStudioError):
    """The project lacks something rendering needs (a source portrait, frames)."""


@dataclass(frozen=True)
class ProjectRenderSpec:
    """What a project says about rendering one frame range.

    Attributes:
        source_path: the source portrait.
        source_options: face choice and working crop size.
        frame_range: project frames to render.
        rate: the project frame rate.
        expression_model: the active take's expression model (None without a take).
        audio_source: the driving clip whose audio goes with the video (None = silent).
        audio_range: the driving clip's frames matching ``frame_range`` (for the audio cut).
        render: the project's render settings (animator, crop size, DeX checkpoint ...).
    """

    source_path: Path
    source_options: SourceOptions
    frame_range: FrameRange
    rate: FrameRate
    expression_model: Optional[ExpressionModel]
    audio_source: Optional[Path]
    audio_range: Optional[FrameRange]
    render: RenderSettings


def _resolve(path: str, doc: Document) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute() and doc.path is not None:
        p = Path(doc.path).resolve().parent / p
    return p


def project_render_spec(doc: Document, frame_range: Optional[FrameRange] = None,
                        include_audio: Optional[bool] = None) -> ProjectRenderSpec:
    """Read the render-relevant parts of ``doc``.

    Args:
        frame_range: a sub-range of the project range (None = the whole project range).
        include_audio: override the project's export setting.
    Raises:
        ProjectNotRenderableError: no source portrait, or a range outside the project.
    """
    st: ProjectState = doc.state
    if not st.source.path:
        raise ProjectNotRenderableError("the project has no source portrait",
                                        "open it in the editor and choose a source portrait, then save")
    proj = st.settings.frame_range
    rng = proj if frame_range is None else frame_range
    if len(rng) == 0 or rng.start < proj.start or rng.stop > proj.stop:
        raise ProjectNotRenderableError(
            f"the range {rng.start}:{rng.stop} is not inside the project's frames {proj.start}:{proj.stop}",
            f"give --range A:B with {proj.start} <= A < B <= {proj.stop}")
    take = st.take(st.performance.take_a) if st.performance.take_a else None
    model = take.expression_model if take is not None else None
    audio = audio_rng = None
    want_audio = st.export.include_audio if include_audio is None else include_audio
    if want_audio and take is not None and take.source is not None and take.source.path:
        clip = _resolve(take.source.path, doc)
        first = rng.start - take.start
        if clip.is_file() and first >= 0:
            audio, audio_rng = clip, FrameRange(first, first + len(rng))
    opts = SourceOptions(face_index=st.source.face_index, crop_size=st.render.crop_size)
    return ProjectRenderSpec(_resolve(st.source.path, doc), opts, rng, st.settings.rate, model, audio,
                             audio_rng, st.render)


def animator_factory_for(render: RenderSettings) -> AnimatorFactory:
    """``device -> Animator`` for the project's render settings (created on the worker thread)."""
    if render.animator is AnimatorKind.WARP:
        def make_warp(device: str):  # type: ignore[no-untyped-def]
            from dexstudio.render.warp import WarpAnimator, WarpSettings

            return WarpAnimator(WarpSettings(device=device))

        return make_warp
    if render.animator is AnimatorKind.DEX:
        def make_dex(device: str):  # type: ignore[no-untyped-def]
            from dexstudio.render.dex.animator import DexAnimator

            return DexAnimator(render.checkpoint or None, device=device,
                               num_inference_steps=render.steps, seed=render.seed)

        return make_dex
    raise ProjectNotRenderableError(f"unknown animator {render.animator!r}",  # pragma: no cover
                                    "choose the warp or DeX animator in the project's render settings")


def load_source(spec: ProjectRenderSpec) -> SourceImage:
    """Read the source portrait (typed errors from :mod:`dexstudio.io.image`)."""
    from dexstudio.io.image import load_image

    return SourceImage.from_array(load_image(spec.source_path), spec.source_options)


def iter_project_requests(doc: Document, builder: RequestBuilder, frames: FrameRange,
                          chunk: int = 256) -> Iterator[RenderRequest]:
    """Frozen requests of ``frames`` in order, evaluated lazily ``chunk`` frames at a time
    (on the consuming thread; memory stays flat for long ranges)."""
    for a in range(frames.start, frames.stop, chunk):
        reqs = builder.build(doc.evaluate(FrameRange(a, min(frames.stop, a + chunk))))
        yield from (reqs[f] for f in sorted(reqs))


def project_requests(doc: Document, builder: RequestBuilder, frames: FrameRange,
                     chunk: int = 4096) -> list[RenderRequest]:
    """Frozen requests of ``frames`` in order (evaluated on this thread, in chunks)."""
    return list(iter_project_requests(doc, builder, frames, chunk))


@dataclass(frozen=True)
class RenderSummary:
    """What :func:`render_project` did."""

    output: Path
    frames: int
    seconds: float
    has_audio: bool
    stats: CacheStats
    device: str
    fell_back: bool
    size: tuple[int, int] = (0, 0)  # (w, h) of the written frames
    scaled_from: Optional[tuple[int, int]] = None  # frames scaled down to H.264's largest

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def render_project(doc: Document, output: Path | str, *, frame_range: Optional[FrameRange] = None,
                   output_options: OutputOptions = OutputOptions(), config: WorkerConfig = WorkerConfig(),
                   crf: Optional[int] = None, include_audio: Optional[bool] = None,
                   animator_factory: Optional[AnimatorFactory] = None,
                   progress: ProgressCallback = null_progress, cancel: Optional[CancelToken] = None,
                   on_warning: Callable[[str], None] = lambda msg: None) -> RenderSummary:
    """Render ``doc`` to an MP4 at ``output`` through a :class:`RenderWorker` and the exporter
    (or to PNG frames in a folder: an existing one, or a path ending in ``/``;
    :func:`dexstudio.io.export.format_for_output`).

    Nothing appears at ``output`` unless the whole range rendered and encoded (the
    exporter writes a temp file and renames it; an error, a cancel or Ctrl-C removes it).

    Args:
        animator_factory: override the project's animator (tests).
        on_warning: called with a message on a device fallback (from the worker thread).
    """
    from dexstudio.io.export import ExportSettings, VideoExporter, check_output_writable, format_for_output

    t0 = time.perf_counter()
    fmt = format_for_output(str(output))
    output = Path(output)
    check_output_writable(output, fmt)
    spec = project_render_spec(doc, frame_range, include_audio)
    source = load_source(spec)
    factory = animator_factory or animator_factory_for(spec.render)
    fell_back: list[DeviceFallback] = []

    def fallback(ev: DeviceFallback) -> None:
        fell_back.append(ev)
        on_warning(ev.message)

    settings = ExportSettings(fps=spec.rate, format=fmt, crf=crf if crf is not None else doc.state.export.crf,
                              frame_range=spec.audio_range or FrameRange(0, len(spec.frame_range)),
                              audio_source=spec.audio_source)
    total = len(spec.frame_range)
    with RenderWorker(factory, config) as worker:
        ident = worker.animator_identity(timeout=None)
        builder = RequestBuilder.from_identity(ident, source, output=output_options,
                                               expression_model=spec.expression_model)
        requests = iter_project_requests(doc, builder, spec.frame_range)
        with VideoExporter(output, settings, cancel=cancel) as ex:
            for i, (_, image) in enumerate(iter_frames(worker, requests, cancel=cancel,
                                                       on_fallback=fallback)):
                ex.write(image)
                progress(Progress(i + 1, total, "render"))
        result = ex.result
        stats = worker.stats()
        device = worker.device
    assert result is not None
    return RenderSummary(output=Path(output), frames=result.frames, seconds=time.perf_counter() - t0,
                         has_audio=result.has_audio, stats=stats, device=device, fell_back=bool(fell_back),
                         size=result.size, scaled_from=result.scaled_from)


class DocumentRenderFeed:
    """Keeps a worker's range in sync with a document being edited (editor preview).

    On each :class:`DocumentChanged` it evaluates exactly ``changed_frames`` (on the
    thread that made the edit: the GUI thread), builds their requests and merges them
    into the worker (``replace=False``); frames whose motion did not change keep their
    requests and cached images. When everything must be re-rendered (source, render or
    time settings changed) it calls ``make_builder(state)`` for a new builder and
    resubmits the whole range.

    Args:
        doc: the document.
        worker: the preview worker.
        builder: builds requests for the current source/animator/output.
        make_builder: new builder after a ``rerender_all`` change (None: keep ``builder``).
    """

    def __init__(self, doc: Document, worker: RenderWorker, builder: RequestBuilder,
                 make_builder: Optional[Callable[[ProjectState], RequestBuilder]] = None,
                 window: Optional[FrameRange] = None) -> None:
        self.doc = doc
        self.worker = worker
        self.builder = builder
        self.make_builder = make_builder
        self.window = window
        self.resubmitted_frames = 0  # frames (re)submitted after edits, for tests/diagnostics
        self._connection = doc.changed.connect(self._on_changed)

    def submit_all(self) -> None:
        rng = self.doc.state.settings.frame_range
        reqs = project_requests(self.doc, self.builder, rng)
        self.worker.submit_range({r.frame: r for r in reqs}, window=self.window)

    def _on_changed(self, ev: DocumentChanged) -> None:
        if ev.rerender_all:
            if self.make_builder is not None:
                self.builder = self.make_builder(self.doc.state)
            self.resubmitted_frames += len(self.doc.state.settings.frame_range)
            self.submit_all()
            return
        if not ev.changed_frames:
            return
        reqs: dict[int, RenderRequest] = {}
        for rng in ev.changed_frames:
            reqs.update(self.builder.build(self.doc.evaluate(rng)))
        self.resubmitted_frames += len(reqs)
        self.worker.submit_range(reqs, replace=False)

    def close(self) -> None:
        self.doc.changed.disconnect(self._on_changed)
