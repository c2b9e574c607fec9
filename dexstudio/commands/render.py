"""``dexstudio render PROJECT.dexproj -o OUT.mp4 [--range A:B]``: render an edited project headless.

The same path as the editor's export: the project is evaluated on this thread into
frozen render requests, the :class:`~dexstudio.worker.RenderWorker` renders them (from
its memory/disk caches where it can), and :class:`~dexstudio.io.export.VideoExporter`
writes the MP4 with the driving clip's audio. Ctrl-C or an error leaves no file at the
output path (the exporter writes a temp file and renames it at the end).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dexstudio.core.errors import DexStudioError
from dexstudio.core.progress import CancelToken
from dexstudio.core.timebase import FrameRange
from dexstudio.worker.device import default_cpu_threads
from dexstudio.worker.project_render import RenderSummary, render_project
from dexstudio.worker.request import OutputOptions
from dexstudio.worker.worker import MiB, WorkerConfig


class RenderArgumentError(DexStudioError):
    """A ``dexstudio render`` option has an invalid value."""


def parse_range(text: str | None) -> FrameRange | None:
    if text is None:
        return None
    try:
        return FrameRange.parse(text)
    except ValueError as exc:
        raise RenderArgumentError(str(exc), "e.g. --range 0:120 (start inclusive, stop exclusive)") from None


def worker_config(args: argparse.Namespace) -> WorkerConfig:
    """The worker settings the command line asks for."""
    if args.memory_cache_mb < 0 or args.disk_cache_mb < 0:
        raise RenderArgumentError("cache sizes must be >= 0", "use 0 to turn a cache off")
    return WorkerConfig(device=args.device, cpu_threads=args.threads or default_cpu_threads(),
                        memory_cache_bytes=int(args.memory_cache_mb * MiB),
                        disk_cache_bytes=int(args.disk_cache_mb * MiB),
                        cache_dir=Path(args.cache_dir) if args.cache_dir else None)


def run_render_command(args: argparse.Namespace) -> RenderSummary:
    """Load the project and render it (the whole composition, in one place)."""
    from dexstudio.commands._progress import TextProgressBar
    from dexstudio.io.project_file import load_project

    doc = load_project(Path(args.project))
    if args.crf is not None and not 0 <= args.crf <= 51:
        raise RenderArgumentError(f"--crf {args.crf} is out of range", "use 0 (lossless) to 51; 18 is the default")
    if args.size is not None and not 64 <= args.size <= 4096:
        raise RenderArgumentError(f"--size {args.size} is out of range", "use 64 to 4096 pixels")
    bar = TextProgressBar("render", enabled=None if not args.quiet else False)
    token = CancelToken()
    try:
        return render_project(
            doc, args.output, frame_range=parse_range(args.range),
            output_options=OutputOptions(size=args.size, paste_back=args.paste_back),
            config=worker_config(args), crf=args.crf,
            include_audio=False if args.no_audio else None, progress=bar, cancel=token,
            on_warning=lambda msg: print(f"\ndexstudio: warning: {msg}", file=sys.stderr))
    except KeyboardInterrupt:
        token.cancel()
        raise
    finally:
        bar.finish()


def run(args: argparse.Namespace) -> int:
    s = run_render_command(args)
    st = s.stats
    looked = st.hits + st.misses
    hit_pct = 100.0 * st.hits / looked if looked else 0.0
    print(f"render: {s.frames} frames in {s.seconds:.2f} s ({s.fps:.1f} fps on {s.device}"
          f"{', after a GPU fallback' if s.fell_back else ''}), cache hits {st.hits}/{looked} "
          f"({hit_pct:.0f}%), {'with audio' if s.has_audio else 'no audio'} -> {s.output}")
    if s.scaled_from is not None:
        from dexstudio.io.export import scaled_note

        print(f"render: note: {scaled_note(s.scaled_from, s.size)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render an edited project (.dexproj) to a video, headless")
    p.add_argument("project", metavar="PROJECT.dexproj")
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4",
                   help="the video (.mp4, .m4v, .mov), or a folder ending in / for PNG frames")
    p.add_argument("--range", metavar="A:B", help="project frames A (inclusive) to B (exclusive); "
                                                 "default: the project's range")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--crop", dest="paste_back", action="store_false", help="output the face crop (default)")
    g.add_argument("--paste-back", dest="paste_back", action="store_true",
                   help="paste the result into the full-resolution source")
    p.add_argument("--size", type=int, default=None, help="output crop side in pixels "
                                                         "(default: the project's crop size)")
    p.add_argument("--crf", type=int, default=None, help="H.264 quality (default: the project's)")
    p.add_argument("--no-audio", action="store_true", help="write a silent video")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: cores - 1)")
    p.add_argument("--memory-cache-mb", type=float, default=1024.0)
    p.add_argument("--disk-cache-mb", type=float, default=8192.0,
                   help="bound of the on-disk frame cache (0 = off)")
    p.add_argument("--cache-dir", default=None, help="render cache folder (default: the user cache "
                                                     "dir, or $DEXSTUDIO_CACHE_DIR)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run, paste_back=False)
