"""The generic expression basis: blendshape weights -> canonical landmark offsets.

``offsets(w) = w @ basis`` gives, for 52 ARKit weights, the displacement of the 478
tracked points (468 mesh + 10 iris) in the canonical (pose-free) frame, in units of
the canonical face size (``CanonicalFace.face_size``, forehead-top to chin). It is fitted
by ``dexstudio train basis`` (:func:`fit_basis`): ridge least squares of per-clip
centred canonical landmarks on per-clip centred blendshape weights over many tracked
clips. The fitted file ships in ``resources/expression_basis/basis.npz``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dexstudio.core.channels import ARKIT_NAMES, N_BLENDSHAPES
from dexstudio.core.errors import ModelNotFoundError
from dexstudio.core.resources import resource_path

BASIS_PATH = resource_path("expression_basis", "basis.npz")
N_POINTS = 478


@dataclass(frozen=True, eq=False)
class ExpressionBasis:
    """Linear blendshape -> landmark-offset model.

    Attributes:
        basis: (52, 478, 3) float32 offsets per unit weight, canonical frame, face-size units.
        names: the 52 blendshape names (``channels.ARKIT_NAMES`` order).
        info: provenance (clips, frames, ridge lambda, date), JSON-able.
        pose_bias: (52, 3) float32 the tracker's apparent head rotation per unit change of
            each blendshape weight (rotation vector, degrees, camera frame): MediaPipe
            reads an open mouth or raised brows partly as a head rotation. The animator
            counter-rotates by it so the re-tracked pose of a render is closer to the
            requested pose (see ``dexstudio train basis``).
    """

    basis: np.ndarray
    names: tuple[str, ...] = ARKIT_NAMES
    info: dict = field(default_factory=dict)
    pose_bias: np.ndarray = field(default_factory=lambda: np.zeros((N_BLENDSHAPES, 3), np.float32))

    def with_pose_bias(self, pose_bias: np.ndarray, info: dict | None = None) -> "ExpressionBasis":
        meta = dict(self.info)
        meta.update(info or {})
        bias = np.asarray(pose_bias, np.float32).reshape(N_BLENDSHAPES, 3)
        return ExpressionBasis(self.basis, self.names, meta, bias)

    def apparent_rotation(self, weight_change: np.ndarray) -> np.ndarray:
        """(52,) blendshape change from the source's own -> (3,) apparent rotation vector (deg)."""
        return np.asarray(weight_change, np.float32) @ self.pose_bias

    def offsets(self, weights: np.ndarray) -> np.ndarray:
        """(52,) or (F, 52) weights -> (478, 3) or (F, 478, 3) offsets (face-size units)."""
        from dexstudio.render.warp.warp_field import small_matmul

        w = np.asarray(weights, np.float32)
        flat = self.basis.reshape(N_BLENDSHAPES, -1)
        out = small_matmul(w.reshape(-1, N_BLENDSHAPES), flat)
        return out.reshape(w.shape[:-1] + (N_POINTS, 3))

    def save(self, path: Path) -> None:
        """Write an npz (float16 offsets are plenty: they are sub-percent of a face)."""
        from dexstudio.io.atomic import atomic_path

        with atomic_path(Path(path)) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, basis=self.basis.astype(np.float16),
                                    names=np.array(self.names), info=np.array(json.dumps(self.info)),
                                    pose_bias=self.pose_bias.astype(np.float32))

    @staticmethod
    def zeros() -> "ExpressionBasis":
        return ExpressionBasis(np.zeros((N_BLENDSHAPES, N_POINTS, 3), np.float32), info={"empty": True})


def load_basis(path: Path | None = None) -> ExpressionBasis:
    """Load a basis npz (default: the shipped one)."""
    return _load(Path(path) if path is not None else BASIS_PATH)


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> ExpressionBasis:
    if not path.is_file():
        raise ModelNotFoundError(f"the expression basis {path} is missing",
                                 "reinstall DeX Studio or fit one with "
                                 "`dexstudio train basis VIDEOS... -o resources/expression_basis/basis.npz`")
    with np.load(path, allow_pickle=False) as d:
        basis = d["basis"].astype(np.float32)
        names = tuple(str(n) for n in d["names"])
        info = json.loads(str(d["info"])) if "info" in d else {}
        pose_bias = (d["pose_bias"].astype(np.float32) if "pose_bias" in d
                     else np.zeros((N_BLENDSHAPES, 3), np.float32))
        if pose_bias.shape != (N_BLENDSHAPES, 3):
            pose_bias = np.zeros((N_BLENDSHAPES, 3), np.float32)
    if basis.shape != (N_BLENDSHAPES, N_POINTS, 3) or names != ARKIT_NAMES:
        raise ModelNotFoundError(f"the expression basis {path} has an unexpected layout {basis.shape}",
                                 "refit it with `dexstudio train basis`")
    basis.setflags(write=False)
    return ExpressionBasis(basis, names, info, pose_bias)


@dataclass(frozen=True)
class ClipSamples:
    """Tracked frames of one clip for fitting.

    Attributes:
        canonical: (F, 478, 3) pose-free points, canonical units.
        blendshapes: (F, 52) weights.
    """

    canonical: np.ndarray
    blendshapes: np.ndarray


def fit_basis(clips: list[ClipSamples], face_size: float, ridge: float = 1.0,
              info: dict | None = None) -> ExpressionBasis:
    """Ridge least squares of centred offsets on centred weights, pooled over clips.

    Each clip is centred on its own mean (frame offsets relative to the clip's average
    face, which removes identity) for both the points and the weights.

    Args:
        clips: tracked samples (at least one with > 1 frame).
        face_size: canonical face size; offsets are divided by it.
        ridge: lambda of the ridge penalty, in units of summed squared weights.
    """
    XtX = np.zeros((N_BLENDSHAPES, N_BLENDSHAPES))
    XtY = np.zeros((N_BLENDSHAPES, N_POINTS * 3))
    n = 0
    for c in clips:
        if len(c.blendshapes) < 2:
            continue
        X = c.blendshapes.astype(np.float64)
        Y = c.canonical.reshape(len(X), -1).astype(np.float64) / face_size
        X = X - X.mean(0)
        Y = Y - Y.mean(0)
        XtX += X.T @ X
        XtY += X.T @ Y
        n += len(X)
    if n == 0:
        raise ValueError("no tracked frames to fit the basis on")
    W = np.linalg.solve(XtX + ridge * np.eye(N_BLENDSHAPES), XtY)
    meta = dict(info or {})
    meta.update({"frames": n, "ridge": ridge, "units": "canonical face size (forehead-chin)"})
    return ExpressionBasis(W.reshape(N_BLENDSHAPES, N_POINTS, 3).astype(np.float32), ARKIT_NAMES, meta)


def rotation_vector_deg(R: np.ndarray) -> np.ndarray:
    """(3, 3) rotation -> (3,) rotation vector (axis * angle) in degrees."""
    c = np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)
    a = float(np.arccos(c))
    w = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    if a < 1e-8:
        return np.degrees(0.5 * w)
    return np.degrees(a / (2.0 * np.sin(a)) * w)


def rotation_from_vector_deg(v: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rotation_vector_deg` (Rodrigues)."""
    th = np.radians(np.asarray(v, np.float64))
    a = float(np.linalg.norm(th))
    if a < 1e-12:
        return np.eye(3)
    k = th / a
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(a) * K + (1 - np.cos(a)) * K @ K


def fit_pose_bias(weight_changes: np.ndarray, apparent: np.ndarray, ridge: float = 2.0) -> np.ndarray:
    """Ridge fit (no intercept) of apparent rotation vectors (N, 3, degrees) on blendshape
    changes (N, 52). Returns the (52, 3) float32 bias."""
    X = np.asarray(weight_changes, np.float64)
    Y = np.asarray(apparent, np.float64)
    return np.linalg.solve(X.T @ X + ridge * np.eye(X.shape[1]), X.T @ Y).astype(np.float32)
