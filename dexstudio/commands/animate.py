"""``dexstudio animate``: animate a source portrait with a driving clip, headless.

Pipeline: load the source -> ``animator.prepare`` -> extract the driving motion (cached)
-> build the project document (:func:`animate_document`: the clip as the one take, the
portrait's own values from ``prepare()``, freezes, reference frame, smoothing; see
:mod:`dexstudio.core.driving`) -> evaluate it over the clip's frames with the timeline
core (the same rule as the editor and ``dexstudio render``) -> render every frame ->
export MP4 with the driving clip's audio (atomic). ``--save-project`` writes that document
as a ``.dexproj`` for the editor or ``dexstudio render``.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np

from dexstudio.commands._progress import TextProgressBar
from dexstudio.core.channels import resolve_channel_selector
from dexstudio.core.document import Document
from dexstudio.core.driving import TRAVEL_NOTE, DrivingSetup, driving_document, head_travel
from dexstudio.core.errors import Cancelled, DexStudioError
from dexstudio.core.evaluated import EvaluatedMotion
from dexstudio.core.motion import MotionTrack
from dexstudio.core.parallel import available_cores, ordered_map
from dexstudio.core.process_map import ProcessMap, fork_available, peak_rss_mb
from dexstudio.core.progress import CancelToken, Progress, ProgressCallback
from dexstudio.core.project import RenderSettings, SourceInfo
from dexstudio.io.export import X264_PRESETS
from dexstudio.render.base import Animator, FrameMotion, SourceOptions, SourceState


class ChannelSelectorError(DexStudioError):
    """A ``--freeze`` value names no channel or group."""


#: The motion options of ``animate`` (freeze, reference frame, absolute, smoothing).
MotionOptions = DrivingSetup


def parse_freeze(selectors: list[str] | None) -> frozenset[str]:
    """``--freeze`` values (ids, group names, 'pose', 'expression') -> channel ids."""
    out: set[str] = set()
    for s in selectors or []:
        for part in s.split(","):
            if not part.strip():
                continue
            try:
                out.update(resolve_channel_selector(part))
            except ValueError as exc:
                raise ChannelSelectorError(str(exc), "see `dexstudio animate --help` for the groups") from None
    return frozenset(out)


def source_info(path: Path | str, own: FrameMotion, face_index: Optional[int] = None) -> SourceInfo:
    """The project's :class:`SourceInfo` of a prepared portrait (``SourceState.own_motion``)."""
    return SourceInfo(str(Path(path).expanduser().resolve()), face_index,
                      SourceInfo.own_values_from(own.euler, own.translation, own.scale, own.blendshapes,
                                                 own.detail))


def animate_document(track: MotionTrack, source: SourceInfo, motion: MotionOptions = MotionOptions(),
                     crop_size: int = 512) -> Document:
    """The document ``animate`` evaluates (shared with the test that renders it through
    ``dexstudio render``): see :func:`dexstudio.core.driving.driving_document`."""
    return driving_document(track, source, motion, RenderSettings(crop_size=crop_size))


def evaluate_document(doc: Document) -> EvaluatedMotion:
    """Evaluate every frame of the project range (one vectorised call; ~ms for 500 frames)."""
    return doc.evaluate(doc.state.settings.frame_range)


def track_to_motion(track: MotionTrack, own: FrameMotion, opts: MotionOptions = MotionOptions()) -> EvaluatedMotion:
    """Target motion of every frame of ``track`` for a portrait whose own motion is ``own``:
    the timeline core's evaluation of :func:`animate_document` (no rule of its own; kept
    for ``dexstudio eval`` / ``train-basis``, which have no source path)."""
    own_values = SourceInfo.own_values_from(own.euler, own.translation, own.scale, own.blendshapes, own.detail)
    return evaluate_document(animate_document(track, SourceInfo("", None, own_values), opts))


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnimateOptions:
    """Everything ``animate`` needs besides the paths."""

    motion: MotionOptions = MotionOptions()
    size: int = 512
    paste_back: bool = False
    face_index: Optional[int] = None
    device: str = "auto"
    animator: str = "warp"
    checkpoint: Optional[str] = None  # DeX checkpoint folder (None: $DEXSTUDIO_DEX_CHECKPOINT)
    crf: int = 18
    preset: str = "superfast"
    side_by_side: bool = False
    save_project: Optional[Path] = None
    full_turns: bool = False  # warp: no reveal limit (render/warp/reveal.py)
    moving_background: bool = False  # warp: the background follows the head (render/warp/person_mask.py)


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnimateSummary:
    """What ``animate`` did.

    ``peak_rss_mb`` is this process's peak; ``render_process_rss_mb`` the largest render
    process's (0 when frames were rendered on threads). Pages a render process shares with
    this one (the prepared source, code) count in both.
    """

    output: Path
    frames: int
    seconds: float
    extract_seconds: float
    render_seconds: float
    has_audio: bool
    peak_rss_mb: float
    motion_cache_hit: bool
    render_process_rss_mb: float = 0.0
    size: tuple[int, int] = (0, 0)  # (w, h) of the written frames
    scaled_from: Optional[tuple[int, int]] = None  # frames scaled down to H.264's largest
    head_travel: float = 0.0  # farthest the head moves from the source's place, face sizes

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def travel_note(travel: float) -> Optional[str]:
    """What to tell a user whose driving head moves ``travel`` face sizes across the frame
    (a moving camera, or a person who walks or leans): the portrait's head moves as far
    over a body that stays, and the neck is drawn out. None up to
    :data:`~dexstudio.core.driving.TRAVEL_NOTE`."""
    if travel <= TRAVEL_NOTE:
        return None
    return (f"the driving head moves up to {travel:.2f} face sizes across the frame (a moving "
            "camera, or a person who moves); if the neck looks drawn out, add --freeze translation")


def render_process_note(mb: float) -> str:
    """What the summary lines say about the render processes' peak RSS ("" without any)."""
    return f" (render processes: {mb:.0f} MB each, mostly shared with this one)" if mb > 0 else ""


def make_animator(name: str, device: str, checkpoint: Optional[str] = None, full_turns: bool = False,
                  moving_background: bool = False):
    """The animator for ``--animator``, ``--device``, (DeX) ``--checkpoint`` and (warp)
    ``--full-turns`` (no reveal limit: head turns render in full even where the source
    does not show the surface they need) and ``--moving-background`` (the background
    near the head moves with it instead of staying still).

    Raises:
        ModelNotFoundError: ``dex`` without a checkpoint (the message says how to train one).
    """
    from dexstudio.render.device import choose_device

    dev = choose_device(device)
    if name == "dex":
        from dexstudio.render.dex import DexAnimator

        return DexAnimator(checkpoint, device=dev)
    if name != "warp":
        raise DexStudioError(f"unknown animator {name!r}", "use --animator warp or --animator dex")
    from dexstudio.render.warp import WarpAnimator, WarpSettings

    return WarpAnimator(WarpSettings(device=dev).with_choices(full_turns, moving_background))


def render_frames(animator, state: SourceState, ev: EvaluatedMotion, track: MotionTrack,
                  paste: bool, cancel: Optional[CancelToken] = None, threads: int = 0,
                  processes: int = 0) -> Iterator[np.ndarray]:
    """Yield rendered frames (crop or pasted back) in order, one at a time.

    ``processes`` > 0 renders ahead in that many forked processes
    (:class:`dexstudio.core.process_map.ProcessMap`; only where fork is available,
    and never from a process with threads of its own running); otherwise ``threads`` > 0
    renders ahead in that many threads (:func:`dexstudio.core.parallel.ordered_map`); 0
    renders in the caller's thread. A few frames are in flight either way.
    """
    model = track.expression_model
    mid = track.source.content_hash[:16] if track.source is not None else ""

    def one(i: int) -> np.ndarray:
        fm = FrameMotion.from_evaluated(ev, i, expression_model_id=mid if model is not None else "")
        if paste:
            return animator.paste_back(state, animator.render_frame(state, fm, model))
        return animator.render(state, fm, model)

    n = len(ev)

    def on_threads(start: int) -> Iterator[np.ndarray]:
        return ordered_map(one, range(start, n), threads=threads, depth=2 * threads + 2, cancel=cancel,
                           name="dexstudio-render")

    if processes > 0 and fork_available() and n > 1:
        # frame 0 here: its shape sizes the shared slots, and the children inherit
        # whatever the animator built lazily on the way. The processes fork now, before
        # the caller opens its encoder (no encoder threads or files in the children).
        if cancel is not None:
            cancel.raise_if_cancelled()
        first = one(0)
        if paste and first.nbytes > _PASTE_PROCESS_MAX_BYTES:
            return _first_then(first, on_threads(1))

        def into(i: int, out: np.ndarray) -> None:
            out[...] = one(i + 1)

        try:
            pool: Iterator[np.ndarray] = ProcessMap(into, n - 1, first.shape, first.dtype, processes=processes,
                                                    cancel=cancel)
        except OSError as exc:  # no processes to be had (a process limit, no memory): threads
            log.warning("animate: render processes could not start (%s); rendering on threads", exc)
            pool = on_threads(1)
        return _first_then(first, pool)
    return on_threads(0)


#: frames pasted back into a source larger than this (bytes; 1182 x 1182 RGB) render on
#: threads: encoding the large frames is most of the work there, and the processes only
#: add two copies of each frame and their memory (render+export of 90 frames,
#: interleaved: liveportrait_s2, 2048 x 2048, 5.5-6.6 s on threads against 5.9-7.4 s in
#: processes; hallo_reference_7, 3511 x 3511, 30.4 against 32.6 s)
_PASTE_PROCESS_MAX_BYTES = 4 << 20


def encoder_threads(processes: int, larger_than_crop: bool) -> int:
    """x264 threads for ``animate``'s export (0 = x264's own choice).

    While ``processes`` render processes keep the cores busy, x264's own threads (1.5
    per core) only add their overhead: on the 2-core machine, encoding liveportrait_d10's
    448 rendered 512 x 512 frames took 1.77 s of CPU on one thread against 2.50 s on
    x264's choice, for the same file (1739 against 1780 kB, 38.5 dB). One thread
    encodes a crop faster than two processes render it (4 against 5.5 ms a frame), so
    the encoder does not hold them up; frames larger than the crop (pasted back, side by
    side) keep x264's threads, as their encoding is most of the work.
    """
    if processes <= 0 or larger_than_crop:
        return 0
    return max(1, available_cores() - processes)


def _first_then(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """``first``, then the items of ``rest``; stops ``rest``'s workers however it ends."""
    try:
        yield first
        yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()


def run_animate(source: Path, driving: Path, output: Path | str, opts: AnimateOptions = AnimateOptions(),
                progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
                frame_hook: Optional[Callable[[int, np.ndarray], None]] = None) -> AnimateSummary:
    """Animate ``source`` with ``driving`` into ``output`` (see the module docstring).

    Every core is kept busy by our own workers (tracker lanes while the source is
    analysed, then render processes, or threads where there is no fork, beside the
    encoder), so BLAS and OpenCV run single-threaded meanwhile
    (:func:`dexstudio.worker.device.single_threaded_kernels`).
    OpenCV's own threads only spun beside ours: on liveportrait_d10, interleaved, one
    thread took 14.2-14.9 s of CPU against 14.6-16.8 (8.34-8.76 s wall against 8.22-9.54),
    although a single frame's remap alone is ~2 ms slower on one thread.

    ``output``: a ``.mp4`` / ``.m4v`` / ``.mov`` file (H.264 with the driving audio), or a
    folder, existing or named with a trailing ``/``, for PNG frames
    (:func:`dexstudio.io.export.format_for_output`).

    Raises typed errors (unreadable files, no face, read-only output, an output name of
    another kind, Cancelled); a failed or cancelled run leaves nothing at ``output``.
    """
    from dexstudio.worker.device import single_threaded_kernels

    with single_threaded_kernels(opencv=True):
        return _run_animate(source, driving, output, opts, progress, cancel, frame_hook)


def _run_animate(source: Path, driving: Path, output: Path | str, opts: AnimateOptions,
                 progress: Optional[ProgressCallback], cancel: Optional[CancelToken],
                 frame_hook: Optional[Callable[[int, np.ndarray], None]]) -> AnimateSummary:
    from dexstudio.core.timebase import FrameRange
    from dexstudio.io.export import (ExportFormat, ExportLayout, ExportSettings, VideoExporter,
                                     check_output_writable, format_for_output)
    from dexstudio.io.image import load_image
    from dexstudio.io.video_reader import iter_frames, probe
    from dexstudio.motion.extract import run_extraction

    t0 = time.perf_counter()
    fmt = format_for_output(str(output))
    output = Path(output)
    check_output_writable(output, fmt)  # fail on a read-only folder before any work
    clip = probe(driving)
    if clip.n_frames_exact:  # else checked once tracked
        check_reference_frame(opts.motion, clip.n_frames, Path(driving))
    if opts.save_project is not None:
        check_output_writable(Path(opts.save_project), ExportFormat.MP4)
    # load and analyse the source while the driving clip is tracked (both use a core
    # each; the tracking starts ~0.15-0.25 s sooner than after loading the animator)
    prepared: dict[str, object] = {}
    inner = CancelToken()  # stops the tracking early when the source turns out unusable

    def prepare() -> None:
        animator = None
        try:
            image = load_image(source)
            prepared["image"] = image
            animator = make_animator(opts.animator, opts.device, opts.checkpoint, opts.full_turns,
                                     opts.moving_background)
            prepared["animator"] = animator
            prepared["state"] = animator.prepare(image, SourceOptions(face_index=opts.face_index,
                                                                      crop_size=opts.size))
        except BaseException as exc:  # re-raised in the caller's thread
            prepared["error"] = exc
            inner.cancel()
        finally:
            if animator is not None:
                animator.close()

    def extract_progress(p: Progress) -> None:
        if cancel is not None and cancel.cancelled:
            inner.cancel()
        if progress is not None:
            progress(p)

    worker = threading.Thread(target=prepare, name="dexstudio-prepare", daemon=True)
    worker.start()
    try:
        res = run_extraction(driving, progress=extract_progress, cancel=inner)
    except Cancelled:
        worker.join()
        if "error" in prepared:
            raise prepared["error"] from None  # type: ignore[misc]
        raise
    finally:
        worker.join()
    if "error" in prepared:
        raise prepared["error"]  # type: ignore[misc]
    state = prepared["state"]
    assert isinstance(state, SourceState)
    image, animator = prepared["image"], prepared["animator"]
    assert isinstance(image, np.ndarray) and isinstance(animator, Animator)
    track = res.track
    check_reference_frame(opts.motion, track.n_frames, Path(driving))
    t_ex = time.perf_counter() - t0
    doc = animate_document(track, source_info(source, state.own_motion, opts.face_index), opts.motion, opts.size)
    if opts.save_project is not None:
        from dexstudio.io.project_file import save_project

        save_project(doc, Path(opts.save_project))
    ev = evaluate_document(doc)
    n = len(ev)
    travel = head_travel(ev.translation, state.own_motion.translation)
    processes = animator.render_processes()
    settings = ExportSettings(fps=track.rate, format=fmt, crf=opts.crf, preset=opts.preset,
                              frame_range=FrameRange(0, n),
                              audio_source=Path(driving),
                              layout=ExportLayout.SIDE_BY_SIDE if opts.side_by_side else ExportLayout.RESULT,
                              encoder_threads=encoder_threads(processes, opts.paste_back or opts.side_by_side))
    t1 = time.perf_counter()
    frames = render_frames(animator, state, ev, track, opts.paste_back, cancel,
                           threads=animator.render_threads(), processes=processes)
    src_img = state.payload.crop if not opts.paste_back else image
    # closing: a failed export stops the render workers at once, not when collected
    with closing(frames), VideoExporter(output, settings, source_image=src_img if opts.side_by_side else None,
                                        progress=progress, cancel=cancel) as ex:
        drv = iter_frames(driving) if opts.side_by_side else None
        for i, frame in enumerate(frames):
            if frame_hook is not None:
                frame_hook(i, frame)
            if drv is not None:
                ex.write(frame, next(drv)[1])
            else:
                ex.write(frame)
    result = ex.result
    assert result is not None
    t_end = time.perf_counter()
    return AnimateSummary(output=output, frames=result.frames, seconds=t_end - t0, extract_seconds=t_ex,
                          render_seconds=t_end - t1, has_audio=result.has_audio, peak_rss_mb=peak_rss_mb(),
                          render_process_rss_mb=peak_rss_mb(children=True),
                          motion_cache_hit=res.report.cache_hit, size=result.size,
                          scaled_from=result.scaled_from, head_travel=travel)


def add_motion_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--freeze", action="append", metavar="WHAT",
                   help="hold channels at the source's own value: pose, rotation, translation, "
                        "expression, a group (eyes, brows, jaw, mouth, cheeks/nose, gaze, detail) "
                        "or a channel id (expr.jawOpen); repeatable, comma-separated")
    p.add_argument("--reference-frame", type=int, default=0, metavar="N",
                   help="driving frame that maps to the source's own pose/expression (default 0)")
    p.add_argument("--absolute", action="store_true", help="use driving values as they are (no reference frame)")
    p.add_argument("--smooth", type=float, default=0.0, metavar="S",
                   help="smooth all channels (Gaussian sigma in frames, zero-phase; default 0)")


def motion_options(args: argparse.Namespace) -> MotionOptions:
    """The motion options of ``args``; typed errors for values no clip can take."""
    if not np.isfinite(args.smooth) or args.smooth < 0:
        raise DexStudioError(f"--smooth {args.smooth} is not a smoothing sigma",
                             "give a Gaussian sigma in frames >= 0 (0 = no smoothing)")
    if args.reference_frame < 0:
        raise DexStudioError(f"--reference-frame {args.reference_frame} is not a frame",
                             "frames count from 0, the driving clip's first frame")
    if args.absolute and args.reference_frame != 0:
        raise DexStudioError("--reference-frame has no effect with --absolute (absolute motion "
                             "uses no reference frame)", "drop one of them")
    return MotionOptions(freeze=parse_freeze(args.freeze), reference_frame=args.reference_frame,
                         absolute=args.absolute, smooth=float(args.smooth))


def check_reference_frame(motion: MotionOptions, n_frames: int, driving: Path) -> None:
    """Raise when ``motion``'s reference frame lies beyond the driving clip's ``n_frames``
    frames (a relative animation would otherwise quietly use the clip's last frame)."""
    if not motion.absolute and motion.reference_frame >= n_frames:
        raise DexStudioError(f"--reference-frame {motion.reference_frame} is beyond the end of "
                             f"{driving.name}, which has {n_frames} frames",
                             f"use a frame from 0 to {n_frames - 1}")


def run(args: argparse.Namespace) -> int:
    if args.size < 64 or args.size > 2048:
        raise DexStudioError(f"--size {args.size} is out of range", "use a crop size from 64 to 2048 (default 512)")
    for flag, on in (("--full-turns", args.full_turns), ("--moving-background", args.moving_background)):
        if on and args.save_project:
            raise DexStudioError(f"{flag} is not stored in projects, so the saved project would render "
                                 "differently", f"drop {flag} or --save-project")
    opts = AnimateOptions(motion=motion_options(args), size=args.size, paste_back=args.paste_back,
                          face_index=args.face_index, device=args.device, animator=args.animator,
                          checkpoint=args.checkpoint,
                          crf=args.crf, preset=args.preset, side_by_side=args.side_by_side,
                          save_project=Path(args.save_project) if args.save_project else None,
                          full_turns=args.full_turns, moving_background=args.moving_background)
    bar = TextProgressBar("animate", enabled=None if not args.quiet else False)
    try:
        s = run_animate(Path(args.source), Path(args.driving), args.output, opts, progress=bar)
    finally:
        bar.finish()
    audio = "with audio" if s.has_audio else "no audio"
    print(f"animate: {s.frames} frames in {s.seconds:.2f} s ({s.fps:.1f} fps; motion "
          f"{'cached' if s.motion_cache_hit else 'extracted'} {s.extract_seconds:.2f} s, render+export "
          f"{s.render_seconds:.2f} s), {audio}, peak RSS {s.peak_rss_mb:.0f} MB"
          f"{render_process_note(s.render_process_rss_mb)} -> {s.output}")
    if s.scaled_from is not None:
        from dexstudio.io.export import scaled_note

        print(f"animate: note: {scaled_note(s.scaled_from, s.size)}")
    note = travel_note(s.head_travel)
    if note is not None:
        print(f"animate: note: {note}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("animate", help="animate a portrait with a driving video (headless)")
    p.add_argument("--source", required=True, metavar="IMG", help="source portrait (jpg, png, ...)")
    p.add_argument("--driving", required=True, metavar="VIDEO", help="driving video")
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4",
                   help="the video (.mp4, .m4v, .mov: H.264 with the driving audio), or a folder "
                        "ending in / for PNG frames")
    add_motion_arguments(p)
    p.add_argument("--size", type=int, default=512, help="working crop size in pixels (default 512)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--crop", dest="paste_back", action="store_false", help="output the face crop (default)")
    g.add_argument("--paste-back", dest="paste_back", action="store_true",
                   help="paste the result into the full-resolution source")
    p.add_argument("--face-index", type=int, default=None, metavar="N",
                   help="which face of the source, numbered left to right from 0 (default: the largest)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--animator", default="warp", choices=("warp", "dex"),
                   help="warp (default, no weights needed) or dex (the diffusion animator; needs "
                        "--checkpoint or $DEXSTUDIO_DEX_CHECKPOINT, trained with `dexstudio train`)")
    p.add_argument("--checkpoint", metavar="DIR", default=None,
                   help="DeX checkpoint folder (config.json + model.safetensors)")
    p.add_argument("--full-turns", action="store_true",
                   help="warp: render head turns in full even where the source does not show the "
                        "cheek or ear they reveal (by default such turns are eased so the face does "
                        "not tear)")
    p.add_argument("--moving-background", action="store_true",
                   help="warp: let the background near the head move with it (by default it stays "
                        "still; use this when the portrait's hair is mistaken for background, or to "
                        "match a driving clip shot with a moving camera)")
    p.add_argument("--crf", type=int, default=18, help="H.264 quality (0-51, lower = better; default 18)")
    p.add_argument("--preset", default="superfast", choices=X264_PRESETS,
                   help="x264 speed preset (default superfast: real-time on 2 cores; slower = smaller file)")
    p.add_argument("--side-by-side", action="store_true", help="write source | driving | result")
    p.add_argument("--save-project", metavar="OUT.dexproj", default=None,
                   help="also save the evaluated setup as a project (open it in the editor, or "
                        "`dexstudio render` it: same frames)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run, paste_back=False)
