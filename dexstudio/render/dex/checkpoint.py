"""DeX animator checkpoints: a folder with ``config.json`` and ``model.safetensors``.

``config.json`` = ``{"format": "dexstudio.dex-animator", "format_version": N,
"config": DexConfig as JSON}``. Weights are every :class:`DexModel` tensor by its
state-dict key. Loading checks the format, the version and that the keys and shapes
match exactly; anything else raises :class:`CheckpointError` naming the keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import torch
from safetensors.torch import load_file, save_file

from dexstudio.core.errors import CheckpointError, ModelNotFoundError
from dexstudio.io.atomic import atomic_path, atomic_write_text
from dexstudio.render.dex.config import FORMAT_VERSION, DexConfig
from dexstudio.render.dex.model import DexModel

FORMAT_NAME = "dexstudio.dex-animator"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TRAIN_HINT = ("train one with `dexstudio train animator DATA_DIR --motion MOTION_CKPT` "
              "(on a GPU; see docs/dex-animator.md), or point the app at a checkpoint folder "
              "(DEXSTUDIO_DEX_CHECKPOINT or the animator setting) holding config.json and "
              "model.safetensors")

_MAX_NAMED = 8


def _names(keys: list[str]) -> str:
    keys = sorted(keys)
    more = f" (+{len(keys) - _MAX_NAMED} more)" if len(keys) > _MAX_NAMED else ""
    return ", ".join(keys[:_MAX_NAMED]) + more


def resolve_checkpoint(path: Path | str) -> Path:
    """A checkpoint folder as is; a training output folder -> its latest checkpoint."""
    path = Path(path)
    if (path / CONFIG_FILE).is_file():
        return path
    latest = path / "checkpoints" / "latest"
    if latest.is_file():
        return path / "checkpoints" / latest.read_text().strip()
    return path


def save_pretrained(model: DexModel, folder: Path | str) -> Path:
    """Write ``model`` to ``folder`` (created); each file is written atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION)})
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "config": model.config.to_dict()}
    atomic_write_text(folder / CONFIG_FILE, json.dumps(meta, indent=2, sort_keys=True))
    return folder


def read_config(folder: Path | str) -> DexConfig:
    """The :class:`DexConfig` of a checkpoint folder (checks format and version)."""
    folder = resolve_checkpoint(folder)
    cfg_path = folder / CONFIG_FILE
    if not folder.is_dir() or not cfg_path.is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise ModelNotFoundError(f"no DeX animator checkpoint at {folder} "
                                 f"(needs {CONFIG_FILE} and {WEIGHTS_FILE})", TRAIN_HINT)
    try:
        meta = json.loads(cfg_path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{cfg_path} is not readable JSON: {exc}",
                              "re-save the checkpoint or point the app at another folder") from None
    if meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{cfg_path} is not a DeX animator checkpoint (format "
                              f"{meta.get('format')!r})", "point the app at a DeX animator checkpoint")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{folder} has checkpoint format version {version}; this DeX Studio "
                              f"reads version {FORMAT_VERSION}",
                              "use the DeX Studio version that trained it or retrain")
    try:
        return DexConfig.from_dict(meta["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{cfg_path} has an invalid config: {exc}", "retrain or fix the config") from None


def check_state(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor], where: str) -> None:
    """Raise :class:`CheckpointError` naming missing, unexpected and mis-shaped keys."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [f"{k} {tuple(found[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
              if k in found and tuple(found[k].shape) != tuple(v.shape)]
    parts = []
    if missing:
        parts.append(f"missing keys: {_names(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {_names(unexpected)}")
    if shapes:
        parts.append(f"shape mismatches: {_names(shapes)}")
    if parts:
        raise CheckpointError(f"checkpoint {where} does not match the DeX animator it declares: "
                              + "; ".join(parts),
                              "the checkpoint is partial or from another architecture: retrain, or "
                              "re-save it with `save_pretrained`")


def from_pretrained(folder: Path | str, device: Optional[str] = None) -> DexModel:
    """Load a checkpoint folder (or a training run's latest) into a new :class:`DexModel` (eval mode)."""
    folder = resolve_checkpoint(folder)
    config = read_config(folder)
    model = DexModel(config)
    try:
        state = load_file(str(folder / WEIGHTS_FILE), device="cpu")
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{folder / WEIGHTS_FILE} is not a readable safetensors file: {exc}",
                              "the file is truncated or corrupt: re-copy or retrain it") from None
    check_state(model.state_dict(), state, str(folder))
    model.load_state_dict(state, strict=True)
    if device is not None:
        model.to(device)
    return model.eval()


def require_checkpoint(folder: Path | str | None) -> Path:
    """The checkpoint folder, or :class:`ModelNotFoundError` saying how to get one."""
    if folder is None or str(folder) == "":
        raise ModelNotFoundError("the DeX diffusion animator needs a trained checkpoint and none is set",
                                 TRAIN_HINT)
    read_config(folder)
    return resolve_checkpoint(folder)
