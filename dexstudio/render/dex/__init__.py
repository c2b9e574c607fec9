"""The DeX diffusion animator (paper arXiv 2512.15524), built from diffusers blocks.

Public API: :class:`DexConfig`, :class:`DexModel`, :class:`DexPipeline`,
:class:`DexAnimator`, :func:`save_pretrained`, :func:`from_pretrained`,
:class:`ProgressiveHybridGuidance`. See docs/dex-animator.md.
"""

from dexstudio.render.dex.animator import DexAnimator
from dexstudio.render.dex.config import DexConfig, SchedulerKind

__all__ = ["DexAnimator", "DexConfig", "SchedulerKind"]
