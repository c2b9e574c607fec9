"""``dexstudio`` command line: the composition root.

Subcommands live in ``dexstudio/commands/<name>.py`` (each defines
``register(subparsers)``) and benchmarks in ``dexstudio/commands/bench_<name>.py``
(each defines ``register_bench(bench_subparsers)``); both are discovered here. This
module is the app entry: it is the only non-ui module allowed to import ``dexstudio.ui``
(lazily, for ``dexstudio`` / ``dexstudio studio`` and ``dexstudio bench ui``).

User-caused errors (:class:`dexstudio.core.errors.DexStudioError`) print their message
and hint without a traceback and exit with their ``exit_code``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from typing import Sequence

from dexstudio import __version__
from dexstudio.core.allocator import keep_large_blocks
from dexstudio.core.errors import Cancelled, DexStudioError


def _command_modules(prefix: str = "") -> list[str]:
    import dexstudio.commands as pkg

    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__))
    if prefix:
        return [n for n in names if n.startswith(prefix)]
    return [n for n in names if not n.startswith(("bench_", "train_", "_"))]


def _run_studio(args: argparse.Namespace) -> int:
    from dexstudio.ui.app import run_app  # the app entry: only place ui is imported

    return run_app(project=getattr(args, "project", None))


def _register_ui_bench(bench_sub: argparse._SubParsersAction) -> None:
    p = bench_sub.add_parser("ui", help="timeline redraw, key drag and scrub speed (needs Qt)")
    p.add_argument("--frames", type=int, default=18000)
    p.add_argument("--channels", type=int, default=24)

    def run(args: argparse.Namespace) -> int:
        from dexstudio.ui.bench import run_ui_bench

        return run_ui_bench(frames=args.frames, channels=args.channels)

    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dexstudio",
        description="DeX Studio: edit portrait performances with disentangled pose and "
                    "expression control. Run without a subcommand to open the editor.",
    )
    parser.add_argument("--version", action="version", version=f"dexstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    studio = sub.add_parser("studio", help="open the editor (the default)")
    studio.add_argument("project", nargs="?", help="a .dexproj project to open")
    studio.set_defaults(func=_run_studio)

    bench = sub.add_parser("bench", help="benchmarks that print numbers")
    bench_sub = bench.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name in _command_modules("bench_"):
        importlib.import_module(f"dexstudio.commands.{name}").register_bench(bench_sub)
    _register_ui_bench(bench_sub)

    for name in _command_modules():
        importlib.import_module(f"dexstudio.commands.{name}").register(sub)
    return parser


def _quiet_native_logs() -> None:
    """MediaPipe/TFLite log INFO/WARNING lines through glog/absl on stderr; a user of the
    CLI needs none of them (set the variables yourself to see them)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_native_logs()
    keep_large_blocks()  # per-frame arrays reuse heap memory (dexstudio.core.allocator)
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        args.project = None
        func = _run_studio
    try:
        return int(func(args) or 0)
    except Cancelled as exc:
        print(f"dexstudio: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dexstudio: interrupted; nothing partial was written", file=sys.stderr)
        return 130
    except DexStudioError as exc:
        print(f"dexstudio: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
