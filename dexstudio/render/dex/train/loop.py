"""The training loop shared by the motion and animator trainers.

Output folder layout::

    OUT/train_config.json          the full trainer config (what ``--config`` reads)
    OUT/loss.csv                   step, loss terms..., lr, seconds (one row per step)
    OUT/checkpoints/step_000100/   a model checkpoint (config.json, model.safetensors)
                                   + trainer_state.pt (optimizer, scaler, step)
    OUT/checkpoints/latest         the name of the newest checkpoint folder
    OUT/samples/step_000100.png    sample images
    OUT/tensorboard/               when TensorBoard is installed

Randomness is a function of (seed, step), so a resumed run continues exactly as an
uninterrupted one would (data order, noise, dropout masks).
"""

from __future__ import annotations

import abc
import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import nn

from dexstudio.core.errors import CheckpointError
from dexstudio.core.progress import CancelToken, Progress, ProgressCallback, null_progress
from dexstudio.io.atomic import atomic_path, atomic_write_text
from dexstudio.render.dex.device import Precision, pick_device

TRAINER_STATE = "trainer_state.pt"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings common to both trainers.

    Attributes:
        max_steps: stop after this many optimizer steps (total, across resumes).
        batch_size: samples per micro-batch.
        grad_accum: micro-batches accumulated per optimizer step.
        lr: AdamW learning rate. weight_decay: AdamW weight decay.
        checkpoint_every, sample_every: in optimizer steps (the last step always saves).
        seed: base of every random draw.
        precision: autocast precision on CUDA (fp32 elsewhere).
        device: "auto", "cpu", "cuda", "mps".
        grad_clip: max gradient norm (0 = off).
    """

    max_steps: int = 100_000
    batch_size: int = 4
    grad_accum: int = 1
    lr: float = 1e-4
    weight_decay: float = 0.0
    checkpoint_every: int = 1000
    sample_every: int = 500
    seed: int = 0
    precision: Precision = Precision.BF16
    device: str = "auto"
    grad_clip: float = 1.0


@dataclass(frozen=True)
class StepLosses:
    """Loss terms of one optimizer step (averaged over micro-batches)."""

    total: float
    terms: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class TrainResult:
    first_step: int
    last_step: int
    losses: tuple[StepLosses, ...]
    checkpoint: Optional[Path]


class Trainer(abc.ABC):
    """Subclasses provide the model, the loss of one micro-batch, saving and samples."""

    loss_names: tuple[str, ...] = ()

    def __init__(self, out_dir: Path | str, train: TrainConfig) -> None:
        self.out = Path(out_dir)
        self.train = train
        self.device = pick_device(None if train.device == "auto" else train.device)
        self.step = 0
        self._tb: Any = None

    # -- subclass API --------------------------------------------------------------------
    @abc.abstractmethod
    def modules(self) -> dict[str, nn.Module]:
        """Modules whose parameters are optimised (and whose mode is set to train)."""

    @abc.abstractmethod
    def trainable_parameters(self) -> list[nn.Parameter]:
        """Parameters given to the optimizer."""

    @abc.abstractmethod
    def micro_step(self, step: int, micro: int) -> dict[str, torch.Tensor]:
        """Losses of one micro-batch; must contain "total" (a scalar with grad)."""

    @abc.abstractmethod
    def save_model(self, folder: Path) -> None:
        """Write the model checkpoint files into ``folder``."""

    @abc.abstractmethod
    def load_model(self, folder: Path) -> None:
        """Load weights from a checkpoint folder written by :meth:`save_model`."""

    @abc.abstractmethod
    def sample_images(self, step: int) -> np.ndarray:
        """(H, W, 3) uint8 sample sheet for ``step``."""

    @abc.abstractmethod
    def config_dict(self) -> dict[str, Any]:
        """The trainer's full config as JSON data."""

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def after_optimizer_step(self, step: int) -> None:
        """Hook (e.g. a discriminator update)."""

    # -- helpers ---------------------------------------------------------------------------
    def rng(self, step: int, micro: int = 0, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.train.seed, step, micro, salt])

    def torch_generator(self, step: int, micro: int = 0, salt: int = 0) -> torch.Generator:
        seed = int(np.random.default_rng([self.train.seed, step, micro, salt, 7]).integers(2 ** 62))
        return torch.Generator("cpu").manual_seed(seed)

    def autocast(self):
        from dexstudio.render.dex.device import autocast

        return autocast(self.device, self.train.precision)

    # -- checkpoints -----------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.out / "checkpoints"

    def latest_checkpoint(self) -> Optional[Path]:
        p = self.checkpoint_dir / "latest"
        if not p.is_file():
            return None
        folder = self.checkpoint_dir / p.read_text().strip()
        return folder if folder.is_dir() else None

    def _save(self, step: int, opt: torch.optim.Optimizer, scaler: Any) -> Path:
        folder = self.checkpoint_dir / f"step_{step:06d}"
        folder.mkdir(parents=True, exist_ok=True)
        self.save_model(folder)
        state = {"step": step, "optimizer": opt.state_dict(),
                 "scaler": scaler.state_dict() if scaler is not None else None, "extra": self.extra_state()}
        with atomic_path(folder / TRAINER_STATE) as tmp:
            torch.save(state, tmp)
        atomic_write_text(self.checkpoint_dir / "latest", folder.name)
        return folder

    def _resume(self, opt: torch.optim.Optimizer, scaler: Any) -> int:
        folder = self.latest_checkpoint()
        if folder is None:
            return 0
        self.load_model(folder)
        try:
            state = torch.load(folder / TRAINER_STATE, map_location="cpu", weights_only=False)
        except (OSError, RuntimeError) as exc:
            raise CheckpointError(f"cannot resume from {folder}: {exc}",
                                  "delete that checkpoint folder to resume from an earlier one, "
                                  "or start in a new output folder") from None
        opt.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        self.load_extra_state(state.get("extra", {}))
        return int(state["step"])

    # -- logging ---------------------------------------------------------------------------
    def _open_log(self, start: int) -> tuple[Any, Any]:
        path = self.out / "loss.csv"
        header = ["step", "total", *self.loss_names, "lr", "seconds"]
        rows: list[list[str]] = []
        if path.is_file() and start > 0:  # keep rows up to the resumed step
            with open(path, newline="") as f:
                rows = [r for r in csv.reader(f)][1:]
            rows = [r for r in rows if r and int(r[0]) <= start]
        f = open(path, "w", newline="")
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
        f.flush()
        try:
            from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

            self._tb = SummaryWriter(str(self.out / "tensorboard"))
        except ImportError:
            self._tb = None
        return f, w

    def _write_sample(self, step: int) -> None:
        from PIL import Image

        sheet = self.sample_images(step)
        (self.out / "samples").mkdir(parents=True, exist_ok=True)
        with atomic_path(self.out / "samples" / f"step_{step:06d}.png", suffix=".png") as tmp:
            Image.fromarray(sheet).save(tmp, format="PNG")

    # -- the loop ------------------------------------------------------------------------------
    def run(self, resume: bool = True, progress: ProgressCallback = null_progress,
            cancel: Optional[CancelToken] = None) -> TrainResult:
        """Train until ``max_steps`` (resuming from the latest checkpoint when ``resume``)."""
        tc = self.train
        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out / "train_config.json", json.dumps(self.config_dict(), indent=2, sort_keys=True))
        params = self.trainable_parameters()
        opt = torch.optim.AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay)
        use_scaler = self.device.type == "cuda" and tc.precision is Precision.FP16
        scaler = torch.amp.GradScaler("cuda") if use_scaler else None
        start = self._resume(opt, scaler) if resume else 0
        self.step = start
        f, writer = self._open_log(start)
        losses: list[StepLosses] = []
        last_ckpt: Optional[Path] = None
        try:
            for m in self.modules().values():
                m.train()
            for step in range(start + 1, tc.max_steps + 1):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                t0 = time.perf_counter()
                opt.zero_grad(set_to_none=True)
                sums: dict[str, float] = {}
                for micro in range(tc.grad_accum):
                    with self.autocast():
                        terms = self.micro_step(step, micro)
                    loss = terms["total"] / tc.grad_accum
                    (scaler.scale(loss) if scaler is not None else loss).backward()
                    for k, v in terms.items():
                        sums[k] = sums.get(k, 0.0) + float(v.detach()) / tc.grad_accum
                if scaler is not None:
                    scaler.unscale_(opt)
                if tc.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(params, tc.grad_clip)
                if scaler is not None:
                    scaler.step(opt)
                    scaler.update()
                else:
                    opt.step()
                self.after_optimizer_step(step)
                self.step = step
                rec = StepLosses(sums["total"], tuple((n, sums.get(n, 0.0)) for n in self.loss_names))
                losses.append(rec)
                writer.writerow([step, f"{rec.total:.6g}", *(f"{v:.6g}" for _, v in rec.terms),
                                 f"{tc.lr:.3g}", f"{time.perf_counter() - t0:.4f}"])
                f.flush()
                if self._tb is not None:
                    self._tb.add_scalar("loss/total", rec.total, step)
                    for n, v in rec.terms:
                        self._tb.add_scalar(f"loss/{n}", v, step)
                if step % tc.sample_every == 0 or step == tc.max_steps:
                    self._eval_mode(lambda: self._write_sample(step))
                if step % tc.checkpoint_every == 0 or step == tc.max_steps:
                    last_ckpt = self._save(step, opt, scaler)
                progress(Progress(step, tc.max_steps, f"step {step}: loss {rec.total:.4f}"))
        finally:
            f.close()
            if self._tb is not None:
                self._tb.close()
        return TrainResult(start, self.step, tuple(losses), last_ckpt or self.latest_checkpoint())

    def _eval_mode(self, fn: Any) -> None:
        mods = list(self.modules().values())
        for m in mods:
            m.eval()
        try:
            with torch.no_grad():
                fn()
        finally:
            for m in mods:
                m.train()
