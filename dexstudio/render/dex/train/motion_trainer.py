"""``dexstudio train motion``: the motion model on frame pairs of the same clip.

Loss = ``l1 * |pred - drv|`` + ``face_l1 * mean(face_mask * |pred - drv|)``
+ ``perceptual * P(pred, drv)`` (only when a perceptual network is supplied: no
VGG/LPIPS weights ship or download, so the term is pluggable and off by default)
+ ``adversarial * hinge_G(D(pred))`` (optional; a small PatchGAN D is trained alongside).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dexstudio.render.dex.config import _from_jsonable, _to_jsonable
from dexstudio.render.dex.motion_net import MotionNet, MotionNetConfig, load_motion_net, save_motion_net
from dexstudio.render.dex.train.data import VideoFolderDataset, to_tensor_batch
from dexstudio.render.dex.train.loop import Trainer, TrainConfig

PerceptualLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(pred, target) images (B, 3, S, S) in -1..1 -> scalar loss."""


@dataclass(frozen=True)
class MotionLossWeights:
    l1: float = 1.0
    face_l1: float = 1.0
    perceptual: float = 1.0
    adversarial: float = 0.0
    face_radius: float = 0.35  # face ellipse half-height as a fraction of the crop


@dataclass(frozen=True)
class MotionTrainConfig:
    """Everything ``dexstudio train motion`` reads from ``--config`` (JSON)."""

    model: MotionNetConfig = field(default_factory=MotionNetConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    losses: MotionLossWeights = field(default_factory=MotionLossWeights)

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MotionTrainConfig":
        return _from_jsonable(cls, d)

    def replace_train(self, **kw: Any) -> "MotionTrainConfig":
        return dataclasses.replace(self, train=dataclasses.replace(self.train, **kw))


def face_mask(size: int, radius: float) -> torch.Tensor:
    """(1, 1, S, S) soft ellipse (face region prior of the centred training crops)."""
    c = (torch.arange(size) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(c, c, indexing="ij")
    r = (x / (radius * 0.8)) ** 2 + (y / radius) ** 2
    return torch.sigmoid((1 - r) * 8)[None, None]


class PatchDiscriminator(nn.Module):
    """Small PatchGAN: (B, 3, S, S) -> (B, 1, S/8, S/8) logits."""

    def __init__(self, ch: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, ch, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(ch * 2, ch * 4, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(ch * 4, 1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def load_perceptual(path: Path | str) -> PerceptualLoss:
    """A TorchScript feature network (e.g. VGG/LPIPS exported by the user) as a loss.

    The module maps (B, 3, S, S) in -1..1 to a tensor or a list of feature tensors;
    the loss is the mean L1 distance of the features.
    """
    net = torch.jit.load(str(path), map_location="cpu").eval()
    for p in net.parameters():
        p.requires_grad_(False)

    def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        net.to(pred.device)
        fp, ft = net(pred), net(target)
        fp = fp if isinstance(fp, (list, tuple)) else [fp]
        ft = ft if isinstance(ft, (list, tuple)) else [ft]
        return sum(F.l1_loss(a, b) for a, b in zip(fp, ft)) / len(fp)

    return loss


class MotionTrainer(Trainer):
    """Trains :class:`MotionNet` (see the module docstring for the loss)."""

    loss_names = ("l1", "face_l1", "perceptual", "adversarial")

    def __init__(self, data: VideoFolderDataset, out_dir: Path | str, config: MotionTrainConfig,
                 perceptual: Optional[PerceptualLoss] = None) -> None:
        super().__init__(out_dir, config.train)
        self.config = config
        self.data = data
        torch.manual_seed(config.train.seed)
        self.model = MotionNet(config.model).to(self.device)
        self.perceptual = perceptual
        self.mask = face_mask(config.model.image_size, config.losses.face_radius).to(self.device)
        self.disc: Optional[PatchDiscriminator] = None
        self.disc_opt: Optional[torch.optim.Optimizer] = None
        if config.losses.adversarial > 0:
            self.disc = PatchDiscriminator().to(self.device)
            self.disc_opt = torch.optim.AdamW(self.disc.parameters(), lr=config.train.lr, betas=(0.5, 0.99))
        self._last: Optional[tuple[torch.Tensor, torch.Tensor]] = None
        self._fixed = self._batch(0, 0, salt=99)

    def modules(self) -> dict[str, nn.Module]:
        mods: dict[str, nn.Module] = {"motion": self.model}
        if self.disc is not None:
            mods["discriminator"] = self.disc
        return mods

    def trainable_parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters())

    def _batch(self, step: int, micro: int, salt: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        rng = self.rng(step, micro, salt)
        src, drv = [], []
        for _ in range(self.train.batch_size):
            c, i, j = self.data.sample_pair(rng)
            fr = self.data.frames(c)
            src.append(fr[i])
            drv.append(fr[j])
        return to_tensor_batch(src).to(self.device), to_tensor_batch(drv).to(self.device)

    def micro_step(self, step: int, micro: int) -> dict[str, torch.Tensor]:
        w = self.config.losses
        src, drv = self._batch(step, micro)
        out = self.model(src, drv)
        pred = out.prediction
        diff = (pred - drv).abs()
        l1 = diff.mean()
        face = (diff * self.mask).sum() / (self.mask.sum() * diff.shape[0] * diff.shape[1])
        zero = pred.new_zeros(())
        perc = self.perceptual(pred, drv) if (self.perceptual is not None and w.perceptual > 0) else zero
        adv = -self.disc(pred).mean() if self.disc is not None else zero
        total = w.l1 * l1 + w.face_l1 * face + w.perceptual * perc + w.adversarial * adv
        self._last = (pred.detach(), drv)
        return {"total": total, "l1": l1, "face_l1": face, "perceptual": perc, "adversarial": adv}

    def after_optimizer_step(self, step: int) -> None:
        if self.disc is None or self._last is None or self.disc_opt is None:
            return
        fake, real = self._last
        self.disc_opt.zero_grad(set_to_none=True)
        d_loss = F.relu(1 - self.disc(real)).mean() + F.relu(1 + self.disc(fake)).mean()
        d_loss.backward()
        self.disc_opt.step()

    def save_model(self, folder: Path) -> None:
        save_motion_net(self.model, folder)

    def load_model(self, folder: Path) -> None:
        self.model.load_state_dict(load_motion_net(folder).state_dict())

    def extra_state(self) -> dict[str, Any]:
        if self.disc is None or self.disc_opt is None:
            return {}
        return {"disc": self.disc.state_dict(), "disc_opt": self.disc_opt.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if self.disc is not None and self.disc_opt is not None and "disc" in state:
            self.disc.load_state_dict(state["disc"])
            self.disc_opt.load_state_dict(state["disc_opt"])

    def sample_images(self, step: int) -> np.ndarray:
        """Rows: source | driving | reconstruction, for a fixed batch."""
        src, drv = self._fixed
        pred = self.model(src, drv).prediction
        rows = [torch.cat(list(t), 2) for t in (src, drv, pred)]
        sheet = torch.cat(rows, 1)
        return ((sheet.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()

    def config_dict(self) -> dict[str, Any]:
        return self.config.to_dict()

    @torch.no_grad()
    def eval_loss(self) -> float:
        """L1 reconstruction loss on the fixed sample batch."""
        self.model.eval()
        src, drv = self._fixed
        v = float((self.model(src, drv).prediction - drv).abs().mean())
        self.model.train()
        return v
