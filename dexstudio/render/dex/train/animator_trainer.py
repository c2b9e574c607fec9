"""``dexstudio train animator``: the DeX diffusion animator, in two stages.

* Stage 1 (frame pairs): source frame -> VAE latent -> reference UNet; driving frame ->
  noised latent; the denoising UNet predicts the noise given the reference, the pose map,
  the 3D-warp transform and the expression tokens. Conditions are dropped at random
  (``p_drop_ref``, ``p_drop_motion``, independently) so the null conditions of the
  progressive hybrid guidance are learned. Everything but the VAE trains.
* Stage 2 (temporal windows): ``window`` consecutive driving frames share one source;
  only the temporal attention modules train.

Driving signals (a :class:`LabelSource`) come either from a trained motion model
(``--motion``: its pose and expression encoders label every cached training frame once,
cached beside the frame cache) or from the app's own motion extraction
(``--labels tracker``: MediaPipe + pose solve + expression fit, cached by the app).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dexstudio.core.channels import N_BLENDSHAPES
from dexstudio.core.errors import CheckpointError
from dexstudio.render.base import FrameMotion
from dexstudio.render.dex.checkpoint import check_state, from_pretrained, save_pretrained
from dexstudio.render.dex.conditioning import MotionConditioning, build_conditioning
from dexstudio.render.dex.config import DexConfig, _from_jsonable, _to_jsonable
from dexstudio.render.dex.model import DexModel
from dexstudio.render.dex.motion_net import MotionNet
from dexstudio.render.dex.schedulers import make_training_scheduler
from dexstudio.render.dex.train.data import VideoFolderDataset, to_tensor_batch
from dexstudio.render.dex.train.loop import Trainer, TrainConfig
from dexstudio.render.dex.warp3d import RigidTransform


@dataclass(frozen=True)
class AnimatorTrainConfig:
    """Everything ``dexstudio train animator`` reads from ``--config`` (JSON).

    Attributes:
        model: the animator architecture (``DexConfig``).
        train: optimisation settings.
        stage: 1 = frame pairs (all but the VAE), 2 = temporal windows (temporal modules only).
        window: frames per training window in stage 2.
        p_drop_ref, p_drop_motion: condition dropout probabilities (null conditions).
        init_from: a DeX checkpoint to start from (e.g. stage 1 for stage 2).
        vae_path: a diffusers ``AutoencoderKL`` folder (e.g. SD-1.5's ``vae``) to load.
        sd15_path: a local diffusers SD-1.5 folder whose UNet (and VAE) weights initialise
            both UNets (:func:`dexstudio.render.dex.sd_init.init_from_sd15`); ignored when
            ``init_from`` is set or a run resumes (the checkpoint then holds the weights).
    """

    model: DexConfig = field(default_factory=DexConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    stage: int = 1
    window: int = 8
    p_drop_ref: float = 0.1
    p_drop_motion: float = 0.1
    init_from: str = ""
    vae_path: str = ""
    sd15_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AnimatorTrainConfig":
        return _from_jsonable(cls, d)

    def replace_train(self, **kw: Any) -> "AnimatorTrainConfig":
        return dataclasses.replace(self, train=dataclasses.replace(self.train, **kw))


def label_to_motion(pose: np.ndarray, code: np.ndarray) -> FrameMotion:
    """(6,) pose (yaw, pitch, roll, tx, ty, scale) + (68,) code -> FrameMotion."""
    return FrameMotion(FrameMotion._q(pose[:3]), FrameMotion._q(pose[3:5]), FrameMotion._q(pose[5:6])[0],  # type: ignore[arg-type]
                       FrameMotion._q(code[:N_BLENDSHAPES]), FrameMotion._q(code[N_BLENDSHAPES:]), 1.0)


class LabelSource(Protocol):
    """Per-frame driving signals of the training clips."""

    def motion(self, clip: int, frame: int) -> FrameMotion:
        """The absolute motion of frame ``frame`` of clip ``clip``."""


class TrackerLabels:
    """Labels from the app's own extraction (:func:`dexstudio.motion.extract.extract_motion`).

    Pose (yaw, pitch, roll, tx, ty, scale), 52 blendshapes and 16 detail coefficients per
    frame, as the editor extracts them (and cached by the same motion cache). Only the
    differences between two frames of a clip matter to training (the transform is
    source-relative), so the tracker's frame-0-relative translation/scale fit as they are;
    translations assume the face covers ``pose.face_fraction`` of the training crop.

    Raises:
        DatasetError: a clip without a trackable face (name it and remove it).
    """

    def __init__(self, data: VideoFolderDataset, progress: Any = None, cancel: Any = None) -> None:
        from dexstudio.core.errors import NoFaceError
        from dexstudio.motion.extract import extract_motion
        from dexstudio.render.dex.train.data import DatasetError

        self._tracks = []
        for clip in data.clips:
            try:
                tr = extract_motion(clip.path, progress=progress, cancel=cancel)
            except NoFaceError as exc:
                raise DatasetError(f"no face could be tracked in training clip {clip.path}: {exc.message}",
                                   "remove the clip or use --motion with a trained motion model") from None
            self._tracks.append(tr)

    def motion(self, clip: int, frame: int) -> FrameMotion:
        tr = self._tracks[clip]
        i = min(frame, tr.n_frames - 1)
        return FrameMotion(FrameMotion._q(tr.euler[i]), FrameMotion._q(tr.translation[i]),  # type: ignore[arg-type]
                           FrameMotion._q([tr.scale[i]])[0], FrameMotion._q(tr.blendshapes[i]),
                           FrameMotion._q(tr.detail[i]), 1.0)


class MotionLabels:
    """Per-frame (pose, code) of every clip from a motion model, cached as ``.npz``."""

    def __init__(self, data: VideoFolderDataset, motion: MotionNet, device: torch.device,
                 batch: int = 32) -> None:
        h = hashlib.sha256()
        for k, v in sorted(motion.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().float().numpy().tobytes())
        mid = h.hexdigest()[:16]
        self.poses: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        motion = motion.to(device).eval()
        size = motion.config.image_size
        for clip in data.clips:
            path = clip.frames_file.with_name(clip.frames_file.stem + f"_labels_{mid}.npz")
            if path.is_file():
                with np.load(path) as z:
                    self.poses.append(z["pose"])
                    self.codes.append(z["code"])
                continue
            frames = np.load(clip.frames_file, mmap_mode="r")
            poses, codes = [], []
            with torch.no_grad():
                for s in range(0, len(frames), batch):
                    x = to_tensor_batch(list(frames[s:s + batch])).to(device)
                    if x.shape[-1] != size:
                        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
                    p, c = motion.encode(x)
                    poses.append(p.cpu().numpy())
                    codes.append(c.cpu().numpy())
            pose, code = np.concatenate(poses), np.concatenate(codes)
            with open(path, "wb") as f:
                np.savez(f, pose=pose, code=code)
            self.poses.append(pose)
            self.codes.append(code)

    def motion(self, clip: int, frame: int) -> FrameMotion:
        return label_to_motion(self.poses[clip][frame], self.codes[clip][frame])


def _cat_conditioning(items: list[MotionConditioning]) -> MotionConditioning:
    return MotionConditioning(torch.cat([c.pose_map for c in items]),
                              RigidTransform.cat([c.transform for c in items]),
                              torch.cat([c.expression for c in items]))


class AnimatorTrainer(Trainer):
    """Trains :class:`DexModel` (see module docstring)."""

    loss_names = ("mse",)

    def __init__(self, data: VideoFolderDataset, labels: LabelSource, out_dir: Path | str,
                 config: AnimatorTrainConfig) -> None:
        super().__init__(out_dir, config.train)
        if config.stage not in (1, 2):
            raise ValueError("stage must be 1 or 2")
        self.config = config
        self.data = data
        self.labels = labels
        torch.manual_seed(config.train.seed)
        self.model = DexModel(config.model)
        if config.init_from:
            self.model.load_state_dict(from_pretrained(config.init_from).state_dict())
        elif config.sd15_path:
            from dexstudio.render.dex.sd_init import init_from_sd15

            init_from_sd15(self.model, config.sd15_path)
        if config.vae_path:
            self._load_vae(Path(config.vae_path))
        self.model.to(self.device)
        self.model.vae.requires_grad_(False)
        self.noise = make_training_scheduler(config.model.sampler)
        self._alphas = self.noise.alphas_cumprod.to(self.device)
        self._pipeline: Any = None

    def _load_vae(self, path: Path) -> None:
        from diffusers import AutoencoderKL

        try:
            vae = AutoencoderKL.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"cannot load a diffusers AutoencoderKL from {path}: {exc}",
                                  "point --vae at a folder with config.json and diffusion_pytorch_model.safetensors") from None
        check_state(self.model.vae.state_dict(), vae.state_dict(), str(path))
        self.model.vae.load_state_dict(vae.state_dict())

    # -- Trainer API -----------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"animator": self.model}

    def trainable_parameters(self) -> list[nn.Parameter]:
        params = []
        for name, p in self.model.named_parameters():
            train = not name.startswith("vae.")
            if self.config.stage == 2:
                train = ".temporal." in name
            p.requires_grad_(train)
            if train:
                params.append(p)
        return params

    def _frames(self, clip: int, idx: list[int]) -> torch.Tensor:
        fr = self.data.frames(clip)
        return to_tensor_batch([fr[i] for i in idx]).to(self.device)

    def _batch(self, step: int, micro: int, salt: int = 0):
        """Returns source images (B, 3, S, S), driving images (B*T, 3, S, S), conditioning, T."""
        rng = self.rng(step, micro, salt)
        t_len = self.config.window if self.config.stage == 2 else 1
        srcs, drvs, conds = [], [], []
        for _ in range(self.train.batch_size):
            if t_len == 1:
                c, i, j = self.data.sample_pair(rng)
                win = [j]
            else:
                c, i, win = self.data.sample_window(rng, t_len)
                win = (win + [win[-1]] * t_len)[:t_len]  # short clips repeat their last frame
            srcs.append(self._frames(c, [i]))
            drvs.append(self._frames(c, win))
            conds.append(build_conditioning(self.labels.motion(c, i), [self.labels.motion(c, k) for k in win],
                                            self.config.model))
        return torch.cat(srcs), torch.cat(drvs), _cat_conditioning(conds), t_len

    def _loss(self, src: torch.Tensor, drv: torch.Tensor, cond: MotionConditioning, t_len: int,
              gen: torch.Generator, keep: bool = False) -> torch.Tensor:
        m = self.model
        b = src.shape[0]
        n = drv.shape[0]
        with torch.no_grad():
            src_lat = m.encode_image(src)
            x0 = m.encode_image(drv)
        ref = m.reference_features(src_lat)
        noise = torch.randn(x0.shape, generator=gen).to(self.device)
        steps = self.noise.config.num_train_timesteps
        t = torch.randint(0, steps, (b,), generator=gen).repeat_interleave(t_len).to(self.device)
        a = self._alphas[t].view(-1, 1, 1, 1).to(x0.dtype)
        noisy = a.sqrt() * x0 + (1 - a).sqrt() * noise
        if keep:
            kr = km = torch.ones(b)
        else:
            kr = (torch.rand(b, generator=gen) >= self.config.p_drop_ref).float()
            km = (torch.rand(b, generator=gen) >= self.config.p_drop_motion).float()
        idx = torch.arange(b, device=self.device).repeat_interleave(t_len)
        eps = m.predict_noise(noisy, t, ref, cond, kr.repeat_interleave(t_len), km.repeat_interleave(t_len),
                              ref_index=idx, num_frames=t_len)
        return F.mse_loss(eps.float(), noise.float())

    def micro_step(self, step: int, micro: int) -> dict[str, torch.Tensor]:
        src, drv, cond, t_len = self._batch(step, micro)
        loss = self._loss(src, drv, cond, t_len, self.torch_generator(step, micro))
        return {"total": loss, "mse": loss}

    @torch.no_grad()
    def eval_loss(self, n_draws: int = 4) -> float:
        """Noise-prediction MSE on fixed batches, noise and timesteps (all conditions kept)."""
        self.model.eval()
        vals = []
        for k in range(n_draws):
            src, drv, cond, t_len = self._batch(0, k, salt=99)
            vals.append(float(self._loss(src, drv, cond, t_len, self.torch_generator(0, k, salt=99), keep=True)))
        self.model.train()
        return float(np.mean(vals))

    def save_model(self, folder: Path) -> None:
        save_pretrained(self.model, folder)

    def load_model(self, folder: Path) -> None:
        self.model.load_state_dict(from_pretrained(folder).state_dict())
        self.model.to(self.device)

    def sample_images(self, step: int) -> np.ndarray:
        """Columns: source | driving | generated | VAE reconstruction of the driving frame."""
        from dexstudio.render.dex.pipeline import DexPipeline, tensor_to_images

        if self._pipeline is None:
            self._pipeline = DexPipeline(self.model, device=str(self.device),
                                         num_inference_steps=min(20, self.config.model.sampler.num_inference_steps))
        rng = self.rng(0, 0, 123)
        c, i, j = self.data.sample_pair(rng)
        fr = self.data.frames(c)
        src, drv = np.asarray(fr[i]), np.asarray(fr[j])
        p = self._pipeline
        ref = p.prepare_source(src)
        lat = p.denoise(ref, self.labels.motion(c, i), [self.labels.motion(c, j)])
        gen = p.decode(lat)[0]
        rec = tensor_to_images(self.model.decode_latent(self.model.encode_image(
            to_tensor_batch([drv]).to(self.device))))[0]
        return np.concatenate([src, drv, gen, rec], 1)

    def config_dict(self) -> dict[str, Any]:
        return self.config.to_dict()
