"""Per-frame overlay landmarks on disk: a streamed ``.npy`` file, read back memory-mapped.

The (F, 478, 2) image landmarks of a motion track are only looked at one frame at a
time (UI overlays, evaluation), yet they are the one per-frame array whose size is
significant (3.7 KiB/frame, 73 MiB for 10 minutes at 30 fps). So they never live on the
heap: :class:`LandmarkFileWriter` writes them chunk by chunk with plain file writes
(``.npy`` header first, the shape being known), and :func:`open_landmarks` maps the
finished file read-only (``np.load(mmap_mode="r")``): only the pages of frames that are
actually indexed become resident.

Stored as little-endian float32 pixels: float16 would step by 0.25 px at x in
[256, 512) and 1 px at [1024, 2048) (a 1080p frame), over the ~0.1 px an overlay needs.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from pathlib import Path
from typing import Optional

import numpy as np

from dexstudio.io.atomic import atomic_path

#: dtype of the stored landmarks (see the module docstring for why not float16).
LANDMARK_DTYPE = np.dtype("<f4")


def sidecar_path(npz_path: str | os.PathLike[str]) -> Path:
    """The landmark file that belongs to the cached track ``<name>.npz``: ``<name>.lm2d.npy``."""
    p = Path(npz_path)
    return p.with_name(p.stem + ".lm2d.npy")


class LandmarkFileWriter:
    """Write an (n, points, 2) float32 ``.npy`` file chunk by chunk, atomically.

    Usage::

        with LandmarkFileWriter(path, n, 478) as w:
            for block in blocks:          # (k, 478, 2) each, k summing to n
                w.write(block)
        arr = w.open()                    # read-only memmap of the finished file

    ``path = None`` writes an anonymous temporary file in ``folder`` that lives as long as
    the returned array (see :meth:`open`). With a ``path`` the file appears there only
    once complete (temp file + rename); an exception removes the partial file.
    """

    def __init__(self, path: Optional[str | os.PathLike[str]], n_frames: int, n_points: int,
                 folder: Optional[str | os.PathLike[str]] = None) -> None:
        self.shape = (int(n_frames), int(n_points), 2)
        self.path = Path(path) if path is not None else None
        self._folder = Path(folder) if folder is not None else None
        self._written = 0
        self._final: Optional[Path] = None
        self._ctx = None
        self._fh = None

    def __enter__(self) -> "LandmarkFileWriter":
        if self.path is not None:
            self._ctx = atomic_path(self.path, suffix=".npy")
            tmp = self._ctx.__enter__()
        else:
            fd, name = tempfile.mkstemp(prefix="dexstudio-lm2d-", suffix=".npy", dir=self._folder)
            os.close(fd)
            tmp = Path(name)
        self._tmp = tmp
        self._fh = open(tmp, "wb")
        header = {"descr": LANDMARK_DTYPE.str, "fortran_order": False, "shape": self.shape}
        np.lib.format.write_array_header_1_0(self._fh, header)
        return self

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (k, points, 2) (cast to little-endian float32)."""
        block = np.ascontiguousarray(block, dtype=LANDMARK_DTYPE)
        if block.shape[1:] != self.shape[1:] or self._written + block.shape[0] > self.shape[0]:
            raise ValueError(f"block of shape {block.shape} does not fit a {self.shape} landmark file "
                             f"after {self._written} frames")
        assert self._fh is not None
        self._fh.write(block.tobytes())
        self._written += block.shape[0]

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._fh is not None
        self._fh.close()
        if exc_type is None and self._written != self.shape[0]:
            short = ValueError(f"landmark file got {self._written} of {self.shape[0]} frames")
            self._abort(short)
            raise short
        if self._ctx is not None:
            if exc_type is None:
                self._ctx.__exit__(None, None, None)  # fsync + rename onto self.path
                self._final = self.path
            else:
                self._ctx.__exit__(exc_type, exc, tb)  # removes the temp file
        elif exc_type is None:
            self._final = self._tmp
        else:
            self._tmp.unlink(missing_ok=True)

    def _abort(self, exc: BaseException) -> None:
        if self._ctx is not None:
            try:
                self._ctx.__exit__(type(exc), exc, None)
            except BaseException:
                pass
        else:
            self._tmp.unlink(missing_ok=True)

    def open(self) -> np.ndarray:
        """The finished file as a read-only memmap.

        For an anonymous temp file (``path=None``) the file is unlinked at once on POSIX
        (the mapping keeps the data until the array is garbage collected, and nothing is
        left behind after a crash); where an open file cannot be unlinked (Windows) it is
        removed when the array is collected.
        """
        if self._final is None:
            raise RuntimeError("the landmark file is not complete")
        arr = np.load(self._final, mmap_mode="r")
        if self.path is None:
            try:
                os.unlink(self._final)
            except OSError:
                weakref.finalize(arr, _unlink_quietly, str(self._final))
        return arr


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def open_landmarks(path: str | os.PathLike[str],
                   shape: Optional[tuple[int, ...]] = None) -> Optional[np.ndarray]:
    """The landmark file at ``path`` as a read-only memmap, or None if it is missing,
    unreadable, truncated, of another dtype or (given ``shape``) of another shape."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(arr, np.ndarray) or arr.ndim != 3 or arr.shape[2] != 2 or arr.dtype != LANDMARK_DTYPE:
        return None
    if shape is not None and tuple(arr.shape) != tuple(shape):
        return None
    return arr


def write_landmarks(path: str | os.PathLike[str], landmarks: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Write ``landmarks`` (F, points, 2) to ``path`` atomically in chunks; return the
    read-only memmap of the written file."""
    n = landmarks.shape[0]
    with LandmarkFileWriter(path, n, landmarks.shape[1]) as w:
        for a in range(0, n, chunk):
            w.write(landmarks[a: a + chunk])
    return w.open()


def is_file_of(arr: np.ndarray, path: str | os.PathLike[str]) -> bool:
    """Whether ``arr`` is a memmap of the file currently at ``path``."""
    name = getattr(arr, "filename", None)
    if not isinstance(arr, np.memmap) or name is None:
        return False
    try:
        return os.path.samefile(name, path)
    except OSError:
        return False
