"""The DeX diffusion animator behind the app's :class:`~dexstudio.render.base.Animator` API.

``prepare`` computes the "cached latents" once per source (VAE latent, appearance
tokens, reference-UNet features); ``render_intermediate`` denoises one frame to its
latent (the expensive, cacheable part, keyed by the worker on the frame's motion);
``decode`` runs the VAE decoder and resizes to the crop size; ``render`` = both.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Iterable, Iterator, Optional

import numpy as np
import torch

from dexstudio.core.motion import ExpressionModel
from dexstudio.core.progress import CancelToken, ProgressCallback, null_progress
from dexstudio.render.base import Animator, FrameMotion, SourceOptions, SourceState
from dexstudio.render.dex.checkpoint import from_pretrained, require_checkpoint
from dexstudio.render.dex.device import Precision
from dexstudio.render.dex.face import FaceAnalyzer, MediaPipeFaceAnalyzer, crop_square
from dexstudio.render.dex.model import DexModel, ReferenceFeatures
from dexstudio.render.dex.pipeline import DexPipeline

#: Environment variable naming the default checkpoint folder.
CHECKPOINT_ENV = "DEXSTUDIO_DEX_CHECKPOINT"


@dataclass
class DexSourcePayload:
    """``SourceState.payload`` of the DeX animator (the cached latents).

    Attributes:
        features: VAE latent (1, 4, h, w), appearance tokens, reference bank.
        crop: (S, S, 3) uint8 model-size crop of the source face.
        crop_box: (x0, y0, x1, y1) of the crop in source pixels.
        crop_size: side of the rendered output (``SourceOptions.crop_size``).
    """

    features: ReferenceFeatures
    crop: np.ndarray
    crop_box: tuple[float, float, float, float]
    crop_size: int


class DexAnimator(Animator):
    """Diffusion animator (reference UNet + denoising UNet, dual-branch pose, expression tokens).

    Args:
        checkpoint: checkpoint folder; None = ``$DEXSTUDIO_DEX_CHECKPOINT``. Missing ->
            :class:`ModelNotFoundError` saying how to train one.
        model: an in-memory model instead of a checkpoint (tests, training samples).
        face_analyzer: source-face analysis; None = MediaPipe + solve_pose.
        device: None = cuda > mps > cpu. precision: autocast on CUDA.
        num_inference_steps, seed: sampling overrides.
    """

    animator_id: ClassVar[str] = "dex"
    has_intermediate: ClassVar[bool] = True

    def __init__(self, checkpoint: Path | str | None = None, *, model: Optional[DexModel] = None,
                 face_analyzer: Optional[FaceAnalyzer] = None, device: Optional[str] = None,
                 precision: Precision = Precision.FP16, num_inference_steps: Optional[int] = None,
                 seed: Optional[int] = None) -> None:
        if model is None:
            folder = require_checkpoint(checkpoint if checkpoint is not None else os.environ.get(CHECKPOINT_ENV))
            model = from_pretrained(folder)
            self._weights_id = _folder_id(folder)
        else:
            self._weights_id = _model_id(model)
        self.pipeline = DexPipeline(model, device=device, precision=precision,
                                    num_inference_steps=num_inference_steps, seed=seed)
        self.config = model.config
        self._analyzer = face_analyzer

    # -- settings ------------------------------------------------------------------------
    def settings_key(self) -> str:
        p = self.pipeline
        return json.dumps({"animator": self.animator_id, "weights": self._weights_id,
                           "steps": p.steps, "seed": p.seed, "precision": p.precision.value,
                           "device": p.device.type, "sampler": self.config.sampler.kind.value,
                           "guidance": self.config.to_dict()["guidance"]}, sort_keys=True)

    @property
    def encoder_calls(self) -> int:
        """How many times source latents + reference features were computed."""
        return self.pipeline.encoder_calls

    # -- Animator API --------------------------------------------------------------------
    def prepare(self, image: np.ndarray, options: SourceOptions = SourceOptions()) -> SourceState:
        if self._analyzer is None:
            self._analyzer = MediaPipeFaceAnalyzer()
        face = self._analyzer(image, options, self.config.pose.face_fraction)
        crop = crop_square(image, face.crop_box, self.config.image_size)
        feats = self.pipeline.prepare_source(crop)
        h = hashlib.sha256(np.ascontiguousarray(image).tobytes())
        h.update(repr(options).encode())
        h.update(self.settings_key().encode())
        payload = DexSourcePayload(feats, crop, face.crop_box, options.crop_size)
        return SourceState(h.hexdigest(), image, face.own_motion, payload)

    def render_intermediate(self, state: SourceState, motion: FrameMotion,
                            expression_model: Optional[ExpressionModel] = None,
                            cancel: Optional[CancelToken] = None) -> np.ndarray:
        """(4, h, w) float32 denoised latent of one frame (``cancel`` is polled every step).

        ``expression_model`` is not needed: the expression code is the frame's
        blendshapes + detail (the model's own expression space).
        """
        p: DexSourcePayload = state.payload
        lat = self.pipeline.denoise(p.features, state.own_motion, [motion], cancel=cancel)
        return lat[0].cpu().numpy()

    def decode(self, state: SourceState, intermediate: np.ndarray) -> np.ndarray:
        """(4, h, w) latent -> (S, S, 3) uint8, S = the source options' crop size."""
        import cv2

        img = self.pipeline.decode(torch.from_numpy(np.array(intermediate, dtype=np.float32, copy=True))[None])[0]
        s = state.payload.crop_size
        if img.shape[0] != s:
            img = cv2.resize(img, (s, s), interpolation=cv2.INTER_LINEAR if s > img.shape[0] else cv2.INTER_AREA)
        return img

    def render(self, state: SourceState, motion: FrameMotion,
               expression_model: Optional[ExpressionModel] = None,
               cancel: Optional[CancelToken] = None) -> np.ndarray:
        return self.decode(state, self.render_intermediate(state, motion, expression_model, cancel=cancel))

    def render_frame(self, state: SourceState, motion: FrameMotion,
                     expression_model: Optional[ExpressionModel] = None) -> np.ndarray:
        """The crop before paste-back (the worker's paste-back pair with :meth:`paste_back`)."""
        return self.render(state, motion, expression_model)

    def paste_back(self, state: SourceState, crop: np.ndarray) -> np.ndarray:
        """(S, S, 3) animated crop -> (H, W, 3) uint8 original with the crop blended in.

        The crop is mapped back onto its box in the original and blended with a feathered
        square mask (the outer 8% of the crop fades out), so the frame edge does not show.
        """
        import cv2

        p: DexSourcePayload = state.payload
        img = state.image
        h, w = img.shape[:2]
        x0, y0, x1, y1 = p.crop_box
        s = crop.shape[0]
        k = (x1 - x0) / s
        m = np.array([[k, 0, x0], [0, k, y0]], np.float64)
        warped = cv2.warpAffine(crop, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        ramp = np.clip(np.minimum(np.arange(s), np.arange(s)[::-1]) / max(1.0, 0.08 * s), 0, 1)
        mask = cv2.warpAffine(np.outer(ramp, ramp).astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
        out = img.astype(np.float32) * (1 - mask) + warped.astype(np.float32) * mask
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def render_clip(self, state: SourceState, motions: Iterable[FrameMotion],
                    progress: ProgressCallback = null_progress, cancel: Optional[CancelToken] = None,
                    total: Optional[int] = None) -> Iterator[np.ndarray]:
        """Stream (S, S, 3) uint8 frames of a clip with temporal attention (windows + overlap)."""
        p: DexSourcePayload = state.payload
        for lat in self.pipeline.denoise_clip(p.features, state.own_motion, motions, progress=progress,
                                              cancel=cancel, total=total):
            yield self.decode(state, lat.cpu().numpy())

    def close(self) -> None:
        close = getattr(self._analyzer, "close", None)
        if close is not None:
            close()
        self._analyzer = None


def _folder_id(folder: Path) -> str:
    st = (Path(folder) / "model.safetensors").stat()
    return hashlib.sha256(f"{Path(folder).resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]


def _model_id(model: DexModel) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().sum().cpu().numpy().tobytes())
    return h.hexdigest()[:16]
