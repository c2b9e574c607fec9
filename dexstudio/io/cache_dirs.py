"""Where DeX Studio keeps caches: the platform's user cache dir (platformdirs).

``DEXSTUDIO_CACHE_DIR`` overrides the location (tests point it at a temp folder).
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV_VAR = "DEXSTUDIO_CACHE_DIR"


def user_cache_dir() -> Path:
    """The root cache folder (not created)."""
    env = os.environ.get(CACHE_ENV_VAR, "")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("dexstudio", appauthor=False))


def cache_subdir(name: str) -> Path:
    """``<cache root>/<name>``, created if missing. Returns the path even if it cannot be
    created (callers treat a cache they cannot write as absent)."""
    p = user_cache_dir() / name
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    return p
