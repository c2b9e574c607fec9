"""Fingerprints of the code that produced a cached result.

Disk caches (extracted motion, rendered frames) outlive the code that wrote them. A
version constant bumped by hand is easy to forget: a change to tracking that kept the
cache key left users with tracks made by older code (measured here: a stale
``liveportrait_d10`` track differed from a fresh one by up to 3.3 deg of pose). The
fingerprint of the source files that compute a result goes into its cache key, so any
change to that code invalidates the entries it made.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


@functools.lru_cache(maxsize=None)
def _folder_fingerprint(folder: str) -> str:
    h = hashlib.sha256()
    root = Path(folder)
    if root.is_file():  # one module
        h.update(root.read_bytes())
        return h.hexdigest()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def source_fingerprint(*folders: Path | str) -> str:
    """16 hex digits identifying the ``.py`` files under ``folders`` (names + bytes); a
    ``.py`` file given instead of a folder stands for itself.

    Computed once per folder and process (a few ms); files are read, never imported.
    """
    h = hashlib.sha256()
    for folder in folders:
        h.update(_folder_fingerprint(str(Path(folder).resolve())).encode())
    return h.hexdigest()[:16]
