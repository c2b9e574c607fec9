"""Arguments and helpers shared by ``dexstudio train motion`` and ``dexstudio train animator``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

from dexstudio.core.errors import DexStudioError
from dexstudio.core.progress import Progress

_TRAIN_FIELDS = {"max_steps": "max_steps", "batch_size": "batch_size", "grad_accum": "grad_accum",
                 "lr": "lr", "checkpoint_every": "checkpoint_every", "sample_every": "sample_every",
                 "seed": "seed", "device": "device"}


class TrainConfigError(DexStudioError):
    """A training config file cannot be used."""


class TrainArgumentError(DexStudioError):
    """Training options that do not fit together."""


def add_common_arguments(p: argparse.ArgumentParser, default_out: str) -> None:
    p.add_argument("data_dir", metavar="DATA_DIR", help="folder of training videos (searched recursively)")
    p.add_argument("--out", default=default_out, help=f"output folder (default: {default_out})")
    p.add_argument("--config", help="JSON config file (the train_config.json an earlier run wrote)")
    p.add_argument("--preset", choices=("tiny", "full"), default=None,
                   help="model size when no config is given: 'full' (default) or 'tiny' (CPU smoke test)")
    p.add_argument("--max-steps", type=int, dest="max_steps")
    p.add_argument("--batch-size", type=int, dest="batch_size")
    p.add_argument("--grad-accum", type=int, dest="grad_accum", help="micro-batches per optimizer step")
    p.add_argument("--lr", type=float)
    p.add_argument("--checkpoint-every", type=int, dest="checkpoint_every")
    p.add_argument("--sample-every", type=int, dest="sample_every")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto (default), cpu, cuda or mps")
    p.add_argument("--precision", choices=("fp32", "fp16", "bf16"),
                   help="mixed precision on CUDA (default bf16; ignored on CPU)")
    p.add_argument("--no-resume", action="store_true", help="start over even if OUT has checkpoints")
    p.add_argument("--cache-dir", help="where decoded clips are cached (default DATA_DIR/.dexstudio-cache)")
    p.add_argument("--quiet", action="store_true")


def load_config_data(args: argparse.Namespace) -> Optional[dict[str, Any]]:
    """The config JSON: ``--config``, else OUT/train_config.json when resuming, else None."""
    path: Optional[Path] = None
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise TrainConfigError(f"config file {path} does not exist", "pass an existing JSON file")
    elif not args.no_resume and (Path(args.out) / "train_config.json").is_file():
        path = Path(args.out) / "train_config.json"
    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TrainConfigError(f"cannot read config {path}: {exc}", "fix the JSON or omit --config") from None


def train_overrides(args: argparse.Namespace) -> dict[str, Any]:
    from dexstudio.render.dex.device import Precision

    out = {field: getattr(args, name) for name, field in _TRAIN_FIELDS.items() if getattr(args, name) is not None}
    if args.precision:
        out["precision"] = Precision(args.precision)
    return out


def progress_printer(quiet: bool, every: int = 10):
    def report(p: Progress) -> None:
        if quiet:
            return
        if p.done % every == 0 or (p.total is not None and p.done == p.total):
            print(f"[{p.done}/{p.total}] {p.stage}", file=sys.stderr, flush=True)

    return report


def config_from(cls: Any, data: Optional[dict[str, Any]]) -> Any:
    try:
        return cls.from_dict(data)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError) as exc:
        raise TrainConfigError(f"invalid training config: {exc}",
                               "start from a train_config.json written by an earlier run") from None
