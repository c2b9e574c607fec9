"""Initialise a DeX model from local Stable-Diffusion-1.5 weights (diffusers layout).

Both DeX UNets use diffusers' ``UNet2DConditionModel`` attribute names, so SD-1.5 UNet
weights load by name into the reference and the denoising UNet (the reference UNet has
no ``conv_norm_out`` / ``conv_out``; the last up stage's spatial transformers sit under
``.spatial.`` next to their new temporal modules). New modules (temporal attention,
3D-warp convs, expression key/value projections, pose/expression/appearance encoders)
keep their initialisation. Nothing is downloaded: point it at a local folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from dexstudio.core.errors import CheckpointError, ModelNotFoundError
from dexstudio.render.dex.model import DexModel

_NEW_MARKERS = (".temporal.", ".processor.")


@dataclass(frozen=True)
class SDInitReport:
    """What :func:`init_from_sd15` loaded.

    Attributes:
        unet_tensors: SD UNet tensors copied (into each UNet, summed).
        vae_loaded: whether a ``vae`` folder was found and loaded.
        new_tensors: DeX UNet tensors with no SD counterpart (kept as initialised).
    """

    unet_tensors: int
    vae_loaded: bool
    new_tensors: int


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    f = folder / "diffusion_pytorch_model.safetensors"
    if not f.is_file():
        raise ModelNotFoundError(f"no diffusion_pytorch_model.safetensors in {folder}",
                                 "point at a local diffusers Stable Diffusion 1.5 folder (with unet/ and vae/)")
    return load_file(str(f))


def init_from_sd15(model: DexModel, folder: Path | str) -> SDInitReport:
    """Copy SD-1.5 UNet (and VAE, if present) weights from ``folder`` into ``model``.

    Args:
        folder: a diffusers pipeline folder (``unet/``, optional ``vae/``) or a UNet folder.
    Raises:
        ModelNotFoundError: no UNet weights there.
        CheckpointError: the weights do not fit the model's sizes (keys named).
    """
    folder = Path(folder)
    unet_dir = folder / "unet" if (folder / "unet").is_dir() else folder
    sd = _weights(unet_dir)
    copied, new = 0, 0
    for unet in (model.reference_unet, model.denoising_unet):
        own = unet.state_dict()
        update: dict[str, torch.Tensor] = {}
        bad: list[str] = []
        for k, v in own.items():
            src = k.replace(".spatial.", ".")
            if any(m in k for m in _NEW_MARKERS) or src not in sd:
                new += 1
                continue
            if tuple(sd[src].shape) != tuple(v.shape):
                bad.append(f"{src} {tuple(sd[src].shape)} != {tuple(v.shape)}")
                continue
            update[k] = sd[src].to(v.dtype)
        if bad:
            raise CheckpointError(f"SD weights in {unet_dir} do not fit the DeX UNet sizes: {', '.join(bad[:8])}",
                                  "use the sd15 config (DexConfig.sd15) with SD-1.5 weights")
        unet.load_state_dict(update, strict=False)
        copied += len(update)
    vae_loaded = False
    vae_dir = folder / "vae"
    if vae_dir.is_dir():
        vsd = _weights(vae_dir)
        own = model.vae.state_dict()
        missing = [k for k in own if k not in vsd]
        if missing:
            raise CheckpointError(f"VAE weights in {vae_dir} lack keys: {', '.join(missing[:8])}",
                                  "point at an SD-1.5 AutoencoderKL folder")
        model.vae.load_state_dict({k: vsd[k] for k in own})
        vae_loaded = True
    return SDInitReport(copied, vae_loaded, new)
