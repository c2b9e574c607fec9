"""``.dexproj`` project files: save, load, autosave and recovery.

* Output is canonical (sorted keys, fixed indentation, shortest round-trip floats), so
  save -> load -> save is byte-identical.
* Saves are atomic (:mod:`dexstudio.io.atomic`): a crash or SIGKILL mid-save leaves
  the previous file intact.
* Loading never writes. A corrupt, truncated, wrong-type or newer-version file raises
  :class:`~dexstudio.core.errors.ProjectFileError` naming the file and what to do.
* :class:`Autosaver` (Qt-free; the app calls :meth:`Autosaver.tick` from a timer)
  writes ``<project>.autosave`` beside the project every ``interval_s`` seconds while
  the document has unsaved changes; :func:`has_recovery` / :func:`load_recovery`
  offer it on the next open; a successful save removes it.

Schema and upgrades: :mod:`dexstudio.io.project_schema`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable, Optional

from dexstudio.core.document import Document
from dexstudio.core.errors import ProjectFileError
from dexstudio.core.project import ProjectState
from dexstudio.io.atomic import atomic_write_bytes
from dexstudio.io.project_schema import SCHEMA, UPGRADES, VERSION, state_from_json, state_to_json, upgrade

SUFFIX = ".dexproj"
AUTOSAVE_SUFFIX = ".autosave"


def _folder(path: Path) -> Path:
    return Path(os.path.abspath(path)).parent


def project_to_bytes(state: ProjectState, path: Path | str) -> bytes:
    """Canonical bytes of ``state`` as it would be saved at ``path``."""
    obj = state_to_json(state, _folder(Path(path)))
    text = json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def project_from_bytes(data: bytes, path: Path | str) -> ProjectState:
    """Parse project bytes read from ``path`` (used for messages and relative paths)."""
    path = Path(path)
    name = str(path)
    if not data.strip():
        raise ProjectFileError(f"the project file {name} is empty",
                               "it was probably cut short by a crash; open its .autosave or a backup")
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProjectFileError(f"{name} is not a DeX Studio project (it is not a text file)",
                               "open a .dexproj file saved by DeX Studio") from None
    except json.JSONDecodeError as exc:
        raise ProjectFileError(f"the project file {name} is truncated or corrupt ({exc.msg} at line "
                               f"{exc.lineno})", "open its .autosave or a backup; the file was not changed") from None
    if not isinstance(obj, dict) or obj.get("schema") != SCHEMA:
        found = obj.get("schema") if isinstance(obj, dict) else type(obj).__name__
        raise ProjectFileError(f"{name} is not a DeX Studio project (schema {found!r}, expected {SCHEMA!r})",
                               "open a .dexproj file saved by DeX Studio")
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProjectFileError(f"the project file {name} has no valid version number",
                               "the file is damaged; open its .autosave or a backup")
    if version > VERSION:
        raise ProjectFileError(f"{name} was saved by a newer DeX Studio (project version {version}; this "
                               f"version reads up to {VERSION})", "update DeX Studio to open it; the file was not changed")
    if version < 0 or (version < VERSION and version not in UPGRADES):
        raise ProjectFileError(f"{name} has an unknown project version {version}",
                               "the file is damaged; open its .autosave or a backup")
    try:
        obj = upgrade(obj)
        return state_from_json(obj, _folder(path))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ProjectFileError(f"the project file {name} is corrupt ({detail})",
                               "open its .autosave or a backup; the file was not changed") from None


def save_project(doc: Document, path: Optional[Path | str] = None) -> Path:
    """Save ``doc`` atomically to ``path`` (default ``doc.path``), mark it saved and
    remove its autosave. Returns the path. Raises ``OutputError`` when the folder is
    not writable (the previous file stays intact)."""
    target = Path(path) if path is not None else doc.path
    if target is None:
        raise ValueError("save_project needs a path for a document that was never saved")
    atomic_write_bytes(target, project_to_bytes(doc.state, target))
    doc.mark_saved(target)
    discard_recovery(target)
    return target


def read_project(path: Path | str) -> ProjectState:
    """Read a project file into a :class:`ProjectState` (never writes)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ProjectFileError(f"the project file {p} does not exist", "check the path") from None
    except IsADirectoryError:
        raise ProjectFileError(f"{p} is a folder, not a project file", "choose a .dexproj file") from None
    except OSError as exc:
        raise ProjectFileError(f"cannot read the project file {p}: {exc.strerror}",
                               "check that the file exists and that you may read it") from None
    return project_from_bytes(data, p)


def load_project(path: Path | str) -> Document:
    """Open a project file as a clean :class:`Document`."""
    state = read_project(path)
    return Document(state, Path(path))


# -- autosave / recovery -------------------------------------------------------------------------
def recovery_path(project_path: Path | str) -> Path:
    """``<project>.autosave`` beside the project."""
    p = Path(project_path)
    return p.with_name(p.name + AUTOSAVE_SUFFIX)


def has_recovery(project_path: Path | str) -> bool:
    """True when an autosave exists that is newer than the project file (or the project
    file is missing)."""
    r = recovery_path(project_path)
    if not r.is_file():
        return False
    p = Path(project_path)
    return not p.exists() or r.stat().st_mtime_ns >= p.stat().st_mtime_ns


def load_recovery(project_path: Path | str) -> Document:
    """Open the autosave of ``project_path``. The document's path is the project path
    and it is dirty (the recovered changes are not in the project file yet)."""
    state = read_project(recovery_path(project_path))
    doc = Document(state, Path(project_path))
    doc.mark_modified()
    return doc


def discard_recovery(project_path: Path | str) -> None:
    recovery_path(project_path).unlink(missing_ok=True)


class Autosaver:
    """Writes the document's autosave when it is dirty and ``interval_s`` passed.

    Args:
        doc: the document.
        interval_s: minimum seconds between autosaves.
        clock: monotonic clock in seconds (injectable for tests).
        fallback_path: where to autosave a document that has no path yet.
    """

    def __init__(self, doc: Document, interval_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 fallback_path: Optional[Path] = None) -> None:
        self.doc = doc
        self.interval_s = interval_s
        self.clock = clock
        self.fallback_path = fallback_path
        self._last_time = clock()
        # a document that starts dirty (e.g. recovered) is autosaved on the first due tick
        self._last_state: Optional[ProjectState] = None if doc.dirty else doc.state

    def target(self) -> Optional[Path]:
        """The autosave file written (None when the document has no path)."""
        base = self.doc.path or self.fallback_path
        return None if base is None else recovery_path(base)

    def tick(self) -> Optional[Path]:
        """Call periodically; returns the autosave path when it wrote one."""
        now = self.clock()
        if now - self._last_time < self.interval_s:
            return None
        if not self.doc.dirty or self.doc.state is self._last_state:
            self._last_time = now
            return None
        return self.save_now()

    def save_now(self) -> Optional[Path]:
        """Write the autosave immediately (if there is somewhere to write it)."""
        target = self.target()
        if target is None:
            return None
        base = self.doc.path or self.fallback_path
        assert base is not None
        atomic_write_bytes(target, project_to_bytes(self.doc.state, base))
        self._last_state = self.doc.state
        self._last_time = self.clock()
        return target


__all__ = ["save_project", "load_project", "read_project", "project_to_bytes", "project_from_bytes",
           "recovery_path", "has_recovery", "load_recovery", "discard_recovery", "Autosaver", "SUFFIX"]
