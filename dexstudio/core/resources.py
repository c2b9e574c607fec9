"""Where the data files DeX Studio ships (``resources/``) are found.

Order: ``$DEXSTUDIO_RESOURCES``; the source checkout / editable install
(``<repo>/resources``); a wheel install (``<prefix>/share/dexstudio/resources``, see
``[tool.setuptools.data-files]`` in pyproject.toml).
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def resources_dir() -> Path:
    """The ``resources`` folder (the first candidate that exists)."""
    candidates = []
    env = os.environ.get("DEXSTUDIO_RESOURCES")
    if env:
        candidates.append(Path(env))
    candidates.append(Path(__file__).resolve().parents[2] / "resources")
    candidates.append(Path(sys.prefix) / "share" / "dexstudio" / "resources")
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]


def resource_path(*parts: str) -> Path:
    """Path of a shipped file, e.g. ``resource_path("samples", "astronaut.png")``."""
    return resources_dir().joinpath(*parts)
