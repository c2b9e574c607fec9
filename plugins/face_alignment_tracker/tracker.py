"""``FaceAlignmentTracker``: a :class:`~dexstudio.motion.tracker.FaceTracker` over face-alignment.

Checks, in this order, so nothing is ever downloaded:

1. the weight files of the manifest exist in ``$TORCH_HOME/hub/checkpoints`` (torch's
   default ``~/.cache/torch`` when TORCH_HOME is unset) -- else ``ModelNotFoundError``;
2. ``import face_alignment`` works -- else :class:`PluginUnavailableError`.

Observations carry 68 image landmarks (iBUG 300-W order, z = 0), no blendshapes
(``has_blendshapes = False``) and an identity transform. The extraction pipeline turns
them into pose channels with :func:`dexstudio.motion.pose.solve_pose_2d` against
``landmark_sets.IBUG68_TO_MESH``; see :func:`landmarks68_to_channels`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from dexstudio.core.channels import N_BLENDSHAPES
from dexstudio.core.errors import DexStudioError, ModelNotFoundError
from dexstudio.motion import landmark_sets as ls
from dexstudio.motion.face_model import CanonicalFace, load_canonical_face
from dexstudio.motion.pose import solve_pose_2d
from dexstudio.motion.tracker import FaceObservation, FaceTracker

from . import PLUGIN


class PluginUnavailableError(DexStudioError):
    """An optional plugin's package is not installed."""


def checkpoints_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` (torch's rule: TORCH_HOME, else
    ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch``)."""
    home = os.environ.get("TORCH_HOME")
    if not home:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        home = str(Path(xdg) / "torch")
    return Path(home).expanduser() / "hub" / "checkpoints"


def check_weights(folder: Optional[Path] = None) -> Path:
    """Raise ``ModelNotFoundError`` unless every weight file of the manifest is in ``folder``."""
    folder = folder or checkpoints_dir()
    missing = [w for w in PLUGIN.weights if not (folder / w).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"the face-alignment tracker needs {', '.join(missing)} in {folder}, which "
            f"{'is' if len(missing) == 1 else 'are'} not there (DeX Studio never downloads weights)",
            "on a machine with internet run `python -c \"import face_alignment as f; "
            "f.FaceAlignment(f.LandmarksType.TWO_D, device='cpu')\"` once and copy the files "
            f"into {folder} (or set TORCH_HOME), or use the default MediaPipe tracker")
    return folder


def _import_face_alignment():
    try:
        import face_alignment  # noqa: F401  (optional dependency, imported lazily)
    except ImportError as exc:
        raise PluginUnavailableError(
            f"the face-alignment tracker plugin needs the 'face-alignment' package ({exc})",
            "install it with `pip install face-alignment`, or use the default MediaPipe tracker") from None
    return face_alignment


@dataclass(frozen=True)
class ChannelFrame:
    """Pose + expression channels of one 68-point observation.

    Attributes:
        euler: (3,) yaw, pitch, roll degrees. center_px: (2,) head centre, pixels.
        face_size_px: face size in pixels. blendshapes: (52,) zeros (neutral).
    """

    euler: np.ndarray
    center_px: np.ndarray
    face_size_px: float
    blendshapes: np.ndarray


def landmarks68_to_channels(points_px: np.ndarray, face: Optional[CanonicalFace] = None) -> ChannelFrame:
    """The landmark-to-channel adapter: (68, 2+) iBUG points -> pose, neutral expression."""
    face = face or load_canonical_face()
    pts = np.asarray(points_px, np.float64)
    if pts.shape[0] != len(ls.IBUG68_TO_MESH):
        raise ValueError(f"expected 68 landmarks, got {pts.shape[0]}")
    fit = solve_pose_2d(pts, face, ls.IBUG68_TO_MESH)
    return ChannelFrame(euler=fit.euler, center_px=fit.center_px, face_size_px=fit.face_size_px(face),
                        blendshapes=np.zeros(N_BLENDSHAPES, np.float32))


def observation_from_points(points_px: np.ndarray, score: float = 1.0) -> FaceObservation:
    """(68, 2) image points -> a :class:`FaceObservation` (z = 0, no blendshapes)."""
    pts = np.zeros((len(points_px), 3), np.float32)
    pts[:, :2] = np.asarray(points_px, np.float32)[:, :2]
    return FaceObservation(landmarks=pts, blendshapes=np.zeros(N_BLENDSHAPES, np.float32),
                           transform=np.eye(4, dtype=np.float32), bbox=FaceObservation.bbox_of(pts),
                           score=float(score), has_blendshapes=False)


class FaceAlignmentTracker(FaceTracker):
    """68-point FAN landmarks (face-alignment) behind the FaceTracker interface.

    Args:
        device: torch device for face-alignment ("cpu" or "cuda").
        weights_dir: where the weights must be (default ``$TORCH_HOME/hub/checkpoints``).
    Raises:
        ModelNotFoundError: the weights are missing (checked first; nothing is downloaded).
        PluginUnavailableError: face-alignment is not installed.
    """

    tracker_id = PLUGIN.tracker_id

    def __init__(self, device: str = "cpu", weights_dir: Optional[Path] = None) -> None:
        self.weights_dir = check_weights(weights_dir)
        fa = _import_face_alignment()
        self.device = device
        # face-alignment resolves its files under TORCH_HOME: point it at the checked
        # folder so it finds them there instead of downloading
        os.environ.setdefault("TORCH_HOME", str(self.weights_dir.parent.parent))
        kind = getattr(fa.LandmarksType, "TWO_D", None) or getattr(fa.LandmarksType, "_2D")
        self._fa = fa.FaceAlignment(kind, device=device, flip_input=False)

    def settings_key(self) -> str:
        return json.dumps({"tracker": self.tracker_id, "version": PLUGIN.version,
                           "weights": list(PLUGIN.weights)}, sort_keys=True)

    def detect_image(self, rgb: np.ndarray) -> list[FaceObservation]:
        res = self._fa.get_landmarks_from_image(rgb, return_landmark_score=True)
        if res is None or res[0] is None:
            return []
        landmarks, scores = res[0], res[1]
        out = []
        for pts, sc in zip(landmarks, scores):
            out.append(observation_from_points(pts, float(np.mean(sc)) if sc is not None else 1.0))
        return out

    def track_frame(self, rgb: np.ndarray, timestamp_ms: int) -> list[FaceObservation]:
        if timestamp_ms <= self.last_timestamp_ms:
            raise ValueError(f"timestamps must increase: {timestamp_ms} after {self.last_timestamp_ms}")
        self.last_timestamp_ms = int(timestamp_ms)
        return self.detect_image(rgb)  # per-frame detection: face-alignment has no tracking

    def close(self) -> None:
        self._fa = None
