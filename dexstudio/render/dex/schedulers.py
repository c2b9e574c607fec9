"""Any diffusers scheduler (DDIM, DPM-Solver++, Euler) behind one ``step()`` interface."""

from __future__ import annotations

from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from dexstudio.render.dex.config import SamplerConfig, SchedulerKind


def _common(cfg: SamplerConfig) -> dict:
    return dict(num_train_timesteps=cfg.num_train_timesteps, beta_start=cfg.beta_start,
                beta_end=cfg.beta_end, beta_schedule=cfg.beta_schedule, prediction_type="epsilon")


def make_scheduler(cfg: SamplerConfig) -> SchedulerMixin:
    """A fresh sampling scheduler of ``cfg.kind`` (all share the training noise schedule).

    Use: ``set_timesteps(n)``; per step ``x = scale_model_input(x, t)`` then
    ``step(eps, t, x).prev_sample``; start from noise times ``init_noise_sigma``.
    """
    if cfg.kind is SchedulerKind.DDIM:
        return DDIMScheduler(**_common(cfg), clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    if cfg.kind is SchedulerKind.DPM_SOLVER:
        return DPMSolverMultistepScheduler(**_common(cfg), algorithm_type="dpmsolver++", solver_order=2)
    return EulerDiscreteScheduler(**_common(cfg))


def make_training_scheduler(cfg: SamplerConfig) -> DDPMScheduler:
    """The DDPM noise schedule used to add noise during training (``add_noise``)."""
    return DDPMScheduler(**_common(cfg), clip_sample=False)
