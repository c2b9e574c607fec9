"""Sampling: source caching, guided denoising of frames and windowed clips, VAE decode.

Determinism: the initial noise comes from a CPU ``torch.Generator`` seeded with
``config.sampler.seed`` (the same noise for every frame, which also steadies clips), so
a given model, source and motion give identical latents on every run.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
import torch

from dexstudio.core.progress import CancelToken, Progress, ProgressCallback, null_progress
from dexstudio.render.base import FrameMotion
from dexstudio.render.dex.conditioning import MotionConditioning, build_conditioning
from dexstudio.render.dex.config import DexConfig
from dexstudio.render.dex.device import Precision, autocast, pick_device
from dexstudio.render.dex.guider import ProgressiveHybridGuidance
from dexstudio.render.dex.model import DexModel, ReferenceFeatures
from dexstudio.render.dex.schedulers import make_scheduler
from dexstudio.render.dex.warp3d import RigidTransform

StepCallback = Callable[[int, int], None]


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """(S, S, 3) uint8 -> (1, 3, S, S) float32 in -1..1."""
    return torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1)[None].float() / 127.5 - 1.0


def tensor_to_images(x: torch.Tensor) -> np.ndarray:
    """(B, 3, S, S) in -1..1 -> (B, S, S, 3) uint8."""
    x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def _repeat_motion(m: MotionConditioning, n: int) -> MotionConditioning:
    tr = m.transform
    return MotionConditioning(
        m.pose_map.repeat(n, 1, 1, 1),
        RigidTransform(tr.rotation.repeat(n, 1, 1), tr.translation.repeat(n, 1), tr.scale.repeat(n)),
        m.expression.repeat(n, 1))


def window_starts(n: int, window: int, overlap: int) -> list[int]:
    """Start frames of overlapping windows covering ``n`` frames (last window flush right)."""
    if n <= window:
        return [0]
    stride = max(window - overlap, 1)
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] != n - window:
        starts.append(n - window)
    return starts


class DexPipeline:
    """Guided sampling with a :class:`DexModel`.

    Args:
        model: the networks (moved to ``device``; set to eval mode).
        device: None = cuda > mps > cpu.
        precision: autocast precision on CUDA (ignored elsewhere).
        num_inference_steps: None = ``config.sampler.num_inference_steps``.
    """

    def __init__(self, model: DexModel, device: Optional[str] = None,
                 precision: Precision = Precision.FP16, num_inference_steps: Optional[int] = None,
                 seed: Optional[int] = None) -> None:
        self.config: DexConfig = model.config
        self.device = pick_device(device)
        self.precision = precision
        self.model = model.to(self.device).eval()
        self.guider = ProgressiveHybridGuidance(self.config.guidance)
        self.steps = num_inference_steps or self.config.sampler.num_inference_steps
        self.seed = self.config.sampler.seed if seed is None else seed
        self.encoder_calls = 0  # VAE encodes + reference-UNet passes (for caching checks)

    # -- source ------------------------------------------------------------------------
    @torch.no_grad()
    def prepare_source(self, crop: np.ndarray) -> ReferenceFeatures:
        """VAE latent + reference features of one (S, S, 3) uint8 crop: the cached latents."""
        x = image_to_tensor(crop).to(self.device)
        with autocast(self.device, self.precision):
            latent = self.model.encode_image(x)
            feats = self.model.reference_features(latent)
        self.encoder_calls += 1
        return feats.to(self.device, torch.float32)

    # -- denoising ---------------------------------------------------------------------
    def initial_noise(self, n: int) -> torch.Tensor:
        c = self.config
        g = torch.Generator("cpu").manual_seed(self.seed)
        noise = torch.randn((1, c.vae.latent_channels, c.latent_size, c.latent_size), generator=g)
        return noise.expand(n, -1, -1, -1).contiguous().to(self.device)

    @torch.no_grad()
    def denoise(self, ref: ReferenceFeatures, source_motion: FrameMotion, motions: Sequence[FrameMotion],
                temporal: bool = False, cancel: Optional[CancelToken] = None,
                on_step: Optional[StepCallback] = None) -> torch.Tensor:
        """Denoise the latents of ``motions`` (one batch; one window when ``temporal``).

        Returns:
            (F, 4, h, w) float32 denoised latents.
        """
        f = len(motions)
        cond = build_conditioning(source_motion, motions, self.config)
        return self._sample(ref, [cond], [list(range(f))], f, temporal, cancel, on_step)

    def _sample(self, ref: ReferenceFeatures, conds: list[MotionConditioning], windows: list[list[int]],
                n_frames: int, temporal: bool, cancel: Optional[CancelToken],
                on_step: Optional[StepCallback]) -> torch.Tensor:
        sched = make_scheduler(self.config.sampler)
        sched.set_timesteps(self.steps, device=self.device)
        x = self.initial_noise(n_frames) * sched.init_noise_sigma
        branches = self.guider.branches
        nb = len(branches)
        caches: list[dict[str, torch.Tensor]] = [{} for _ in windows]
        n_steps = len(sched.timesteps)
        for i, t in enumerate(sched.timesteps):
            if cancel is not None:
                cancel.raise_if_cancelled()
            eps_sum = torch.zeros_like(x)
            count = torch.zeros(n_frames, 1, 1, 1, device=self.device)
            for w, (cond, frames) in enumerate(zip(conds, windows)):
                fw = len(frames)
                xin = sched.scale_model_input(x[frames], t).repeat(nb, 1, 1, 1)
                kr = torch.tensor([b.keep_ref for b in branches]).repeat_interleave(fw)
                km = torch.tensor([b.keep_motion for b in branches]).repeat_interleave(fw)
                with autocast(self.device, self.precision):
                    eps = self.model.predict_noise(
                        xin, t, ref, _repeat_motion(cond, nb), kr, km,
                        num_frames=fw if temporal else 1, warp_cache=caches[w])
                guided = self.guider.combine(eps.float().view(nb, fw, *eps.shape[1:]), i, n_steps)
                eps_sum[frames] += guided
                count[frames] += 1
            x = sched.step(eps_sum / count, t, x).prev_sample
            if on_step is not None:
                on_step(i + 1, n_steps)
        return x.float()

    def denoise_clip(self, ref: ReferenceFeatures, source_motion: FrameMotion,
                     motions: Iterable[FrameMotion], chunk: int = 64,
                     progress: ProgressCallback = null_progress, cancel: Optional[CancelToken] = None,
                     total: Optional[int] = None) -> Iterator[torch.Tensor]:
        """Denoise a clip with temporal attention, streaming (4, h, w) latents in frame order.

        Frames are gathered in chunks of ``chunk``; inside a chunk, overlapping windows of
        ``temporal.window`` frames (``temporal.overlap`` shared) are denoised together
        and their guided predictions averaged per step where they overlap. Consecutive
        chunks share ``overlap`` frames whose latents are cross-faded linearly.
        """
        t = self.config.temporal
        chunk = max(chunk, t.window)
        buf: list[FrameMotion] = []
        tail: Optional[torch.Tensor] = None  # last `overlap` latents of the previous chunk
        done = 0
        it = iter(motions)
        exhausted = False
        while not exhausted:
            while len(buf) < chunk:
                try:
                    buf.append(next(it))
                except StopIteration:
                    exhausted = True
                    break
            if tail is not None and len(buf) <= tail.shape[0] and exhausted:
                for lat_j in tail:  # nothing new after the overlap: emit it as it is
                    yield lat_j
                    done += 1
                    progress(Progress(done, total, "denoising"))
                break
            if not buf:
                break
            lat = self._denoise_chunk(ref, source_motion, buf, cancel)
            if tail is not None:
                k = tail.shape[0]
                a = torch.linspace(0, 1, k + 2, device=lat.device)[1:-1, None, None, None]
                lat[:k] = (1 - a) * tail + a * lat[:k]
            emit_end = len(buf) if exhausted else len(buf) - t.overlap
            for j in range(emit_end):
                yield lat[j]
                done += 1
                progress(Progress(done, total, "denoising"))
            tail = lat[emit_end:] if not exhausted else None
            buf = buf[emit_end:]

    def _denoise_chunk(self, ref: ReferenceFeatures, source_motion: FrameMotion,
                       motions: Sequence[FrameMotion], cancel: Optional[CancelToken]) -> torch.Tensor:
        t = self.config.temporal
        starts = window_starts(len(motions), t.window, t.overlap)
        windows = [list(range(s, min(s + t.window, len(motions)))) for s in starts]
        conds = [build_conditioning(source_motion, [motions[i] for i in w], self.config) for w in windows]
        with torch.no_grad():
            return self._sample(ref, conds, windows, len(motions), True, cancel, None)

    # -- decode ------------------------------------------------------------------------
    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """(F, 4, h, w) -> (F, S, S, 3) uint8 at the model's image size."""
        with autocast(self.device, self.precision):
            img = self.model.decode_latent(latents.to(self.device))
        return tensor_to_images(img)
