"""Video-folder datasets: frame pairs and temporal windows from the same clip.

Every video under the root (recursively) is decoded once with
:mod:`dexstudio.io.video_reader`, centre-square-cropped and resized to the training size,
and cached as an uncompressed ``.npy`` (F, S, S, 3) uint8 in the cache folder; later
reads memory-map it, so no clip is held in memory. The cache key is the file's path,
size and modification time plus the size.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from dexstudio.core.errors import DexStudioError, MediaError, UnreadableFileError
from dexstudio.core.progress import CancelToken, Progress, ProgressCallback, null_progress

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")


class DatasetError(DexStudioError):
    """The training data folder cannot be used."""


@dataclass(frozen=True)
class Clip:
    """One cached training clip.

    Attributes:
        path: the source video.
        frames_file: the cached (F, S, S, 3) uint8 ``.npy``.
        n_frames: F.
    """

    path: Path
    frames_file: Path
    n_frames: int


def square_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8: centre square crop, area/linear resize."""
    import cv2

    h, w = rgb.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    crop = rgb[y0:y0 + s, x0:x0 + s]
    interp = cv2.INTER_AREA if s > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interp)


def _cache_key(path: Path, size: int) -> str:
    st = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{size}".encode()).hexdigest()[:24]


def _cache_clip(path: Path, size: int, cache_dir: Path) -> Optional[Clip]:
    from dexstudio.io.atomic import atomic_path
    from dexstudio.io.video_reader import iter_frames, probe

    target = cache_dir / f"{_cache_key(path, size)}_{size}.npy"
    if target.is_file():
        arr = np.load(target, mmap_mode="r")
        return Clip(path, target, int(arr.shape[0]))
    try:
        info = probe(path)
        n = info.n_frames if info.n_frames_exact else sum(1 for _ in iter_frames(path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with atomic_path(target, suffix=".npy") as tmp:
                out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
                count = 0
                for i, rgb in iter_frames(path, 0, n):
                    out[i] = square_resize(rgb, size)
                    count = i + 1
                out.flush()
                del out
                if count < n:  # truncated file: rewrite with the frames that decoded
                    arr = np.load(tmp, mmap_mode="r")[:count].copy()
                    with open(tmp, "wb") as f:
                        np.save(f, arr)
                    n = count
    except MediaError as exc:
        warnings.warn(f"skipping {path}: {exc.message}", stacklevel=3)
        return None
    return Clip(path, target, n)


class VideoFolderDataset:
    """Training clips of a folder of videos.

    Args:
        root: folder searched recursively for videos.
        image_size: training crop side in pixels.
        cache_dir: where decoded clips are cached (default ``root/.dexstudio-cache``).
        min_frames: clips shorter than this are skipped.
    Raises:
        DatasetError: no usable video under ``root``.
    """

    def __init__(self, root: Path | str, image_size: int, cache_dir: Path | str | None = None,
                 min_frames: int = 2, progress: ProgressCallback = null_progress,
                 cancel: Optional[CancelToken] = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise UnreadableFileError(f"training data folder {self.root} does not exist",
                                      "pass a folder that holds video clips (mp4, mov, mkv, ...)")
        self.image_size = int(image_size)
        self.cache_dir = Path(cache_dir) if cache_dir else self.root / ".dexstudio-cache"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        videos = sorted(p for p in self.root.rglob("*")
                        if p.suffix.lower() in VIDEO_EXTENSIONS and self.cache_dir not in p.parents)
        clips = []
        for i, p in enumerate(videos):
            if cancel is not None:
                cancel.raise_if_cancelled()
            progress(Progress(i, len(videos), f"caching {p.name}"))
            clip = _cache_clip(p, self.image_size, self.cache_dir)
            if clip is not None and clip.n_frames >= min_frames:
                clips.append(clip)
        progress(Progress(len(videos), len(videos), "cached"))
        if not clips:
            raise DatasetError(f"no usable video clip (with >= {min_frames} frames) under {self.root}",
                               f"put video files ({', '.join(VIDEO_EXTENSIONS)}) of talking heads there")
        self.clips: tuple[Clip, ...] = tuple(clips)
        self._maps: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def total_frames(self) -> int:
        return sum(c.n_frames for c in self.clips)

    def frames(self, clip: int) -> np.ndarray:
        """(F, S, S, 3) uint8 memory map of clip ``clip``."""
        if clip not in self._maps:
            self._maps[clip] = np.load(self.clips[clip].frames_file, mmap_mode="r")
        return self._maps[clip]

    def sample_pair(self, rng: np.random.Generator) -> tuple[int, int, int]:
        """(clip, source frame, driving frame), two distinct frames of one clip."""
        c = int(rng.integers(len(self.clips)))
        n = self.clips[c].n_frames
        i, j = rng.choice(n, size=2, replace=False)
        return c, int(i), int(j)

    def sample_window(self, rng: np.random.Generator, length: int) -> tuple[int, int, list[int]]:
        """(clip, source frame, ``length`` consecutive driving frames) of one clip."""
        c = int(rng.integers(len(self.clips)))
        n = self.clips[c].n_frames
        length = min(length, n)
        s = int(rng.integers(0, n - length + 1))
        return c, int(rng.integers(n)), list(range(s, s + length))


def to_tensor_batch(frames: list[np.ndarray]):
    """list of (S, S, 3) uint8 -> (B, 3, S, S) float32 in -1..1."""
    import torch

    arr = np.stack([np.asarray(f) for f in frames])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 127.5 - 1.0
