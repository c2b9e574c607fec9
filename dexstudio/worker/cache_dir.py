"""Where the render cache lives: ``$DEXSTUDIO_CACHE_DIR`` or the platform's user cache dir."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "DEXSTUDIO_CACHE_DIR"


def default_cache_root() -> Path:
    """``$DEXSTUDIO_CACHE_DIR`` when set, else the user cache dir (platformdirs) of "dexstudio"."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    try:
        from dexstudio.io import cache_dirs  # written by the motion helper, when present
    except ImportError:
        cache_dirs = None  # type: ignore[assignment]
    if cache_dirs is not None and hasattr(cache_dirs, "user_cache_root"):
        return Path(cache_dirs.user_cache_root())
    import platformdirs

    return Path(platformdirs.user_cache_dir("dexstudio", appauthor=False))


def render_cache_dir() -> Path:
    """The folder of the render worker's frame and intermediate caches."""
    return default_cache_root() / "render"
