"""Where the render cache lives: ``<user cache dir>/render`` (``$DEXSTUDIO_CACHE_DIR`` overrides)."""

from __future__ import annotations

from pathlib import Path

from dexstudio.io.cache_dirs import CACHE_ENV_VAR, user_cache_dir

__all__ = ["CACHE_ENV_VAR", "render_cache_dir"]


def render_cache_dir() -> Path:
    """The folder of the render worker's frame and intermediate caches (not created)."""
    return user_cache_dir() / "render"
