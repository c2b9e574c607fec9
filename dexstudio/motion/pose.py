"""Head pose from tracked landmarks: a weighted similarity fit against the canonical face.

Model (orthographic / weak perspective, camera frame of :mod:`dexstudio.core.rotation`:
X right, Y up, Z toward the viewer)::

    P_cam = scale * R @ V_canonical + t

where ``P_cam`` are the tracked landmarks converted from image pixels
(x right, y down, z = MediaPipe depth in pixels, smaller = nearer) to the camera frame
by ``(x, -y, -z)``. The fit is a weighted 3D Umeyama/Procrustes solve (closed form,
SVD), optionally re-weighted robustly (see :class:`PoseWeights`).

Pose quantities:

* ``rotation`` R, (3, 3): canonical face -> camera; ``euler`` = (yaw, pitch, roll)
  degrees by :func:`dexstudio.core.rotation.matrix_to_euler`.
* ``scale``: pixels per canonical unit (cm). The face size in pixels is
  ``scale * CanonicalFace.face_size``.
* ``center_px``: where the canonical origin (inside the head, behind the face mask)
  projects in the image, (x, y) pixels, y down. It moves with the head, not with a
  head turn, so it is the translation reference.
* ``canonical_landmarks``: every tracked landmark with the pose removed,
  ``R^T (P_cam - t) / scale``, (N, 3) canonical units: the 468 mesh points and, for
  MediaPipe's 478-point layout, the 10 iris points after them (the fit itself uses
  mesh points only).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dexstudio.core.rotation import matrix_to_euler
from dexstudio.motion import landmark_sets as ls
from dexstudio.motion.face_model import CanonicalFace

_FLIP = np.array([1.0, -1.0, -1.0])  # image (x right, y down, z away) <-> camera frame


class PoseWeights(enum.Enum):
    """Which landmarks drive the fit.

    * ``PROCRUSTES``: MediaPipe's own 33 landmarks and weights (stable under expression).
    * ``ROBUST_ALL``: all 468 mesh points, iteratively re-weighted (Cauchy weights on
      the residuals) so expression-driven points (mouth, lids) count less.
    """

    PROCRUSTES = "procrustes33"
    ROBUST_ALL = "robust468"


@dataclass(frozen=True, eq=False)
class PoseFit:
    """Result of :func:`solve_pose`.

    Attributes:
        rotation: (3, 3) float64 canonical -> camera rotation.
        euler: (3,) float64 (yaw, pitch, roll) degrees.
        scale: pixels per canonical unit.
        center_px: (2,) float64 image position (x, y down) of the canonical origin.
        translation_cam: (3,) float64 ``t`` of the model, camera frame, pixels.
        canonical_landmarks: (N, 3) float32 pose-free landmarks, canonical units (N = the
            tracked points: 478 with the irises, 468 without; the 2D fit gives the 468
            neutral mesh points).
        rms_error: root-mean-square fit residual over the weighted points, canonical units.
    """

    rotation: np.ndarray
    euler: np.ndarray
    scale: float
    center_px: np.ndarray
    translation_cam: np.ndarray
    canonical_landmarks: np.ndarray
    rms_error: float

    def face_size_px(self, face: CanonicalFace) -> float:
        """Face size in pixels (``scale * face.face_size``)."""
        return self.scale * face.face_size


def image_to_camera(landmarks_px: np.ndarray) -> np.ndarray:
    """(N, 3) image landmarks (x right, y down, z away) -> camera frame (X right, Y up, Z to viewer)."""
    return np.asarray(landmarks_px, dtype=np.float64)[:, :3] * _FLIP


def camera_to_image(points: np.ndarray) -> np.ndarray:
    """Inverse of :func:`image_to_camera`."""
    return np.asarray(points, dtype=np.float64) * _FLIP


def umeyama(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Weighted similarity ``dst ~ s R src + t`` (Umeyama 1991).

    Args:
        src, dst: (N, 3) point sets. w: (N,) non-negative weights.
    Returns:
        (R (3, 3) proper rotation, s, t (3,)).
    """
    w = w / w.sum()
    mu_s = w @ src
    mu_d = w @ dst
    xs = src - mu_s
    xd = dst - mu_d
    cov = (xd * w[:, None]).T @ xs
    U, S, Vt = np.linalg.svd(cov)
    d = np.ones(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        d[2] = -1.0
    R = (U * d) @ Vt
    var_s = float(w @ (xs * xs).sum(1))
    s = float((S * d).sum() / var_s)
    t = mu_d - s * R @ mu_s
    return R, s, t


def solve_pose(landmarks_px: np.ndarray, face: CanonicalFace,
               weights: PoseWeights = PoseWeights.PROCRUSTES, iterations: int = 4) -> PoseFit:
    """Fit the head pose of one face.

    Args:
        landmarks_px: (N >= 468, 3) tracked landmarks in image pixels (x, y down, z);
            only the 468 mesh points drive the fit; all N get canonical positions.
        face: the canonical face.
        weights: which landmarks drive the fit (:class:`PoseWeights`).
        iterations: re-weighting rounds for ``ROBUST_ALL``.
    Returns:
        the :class:`PoseFit`.
    """
    P_all = image_to_camera(np.asarray(landmarks_px))
    P = P_all[: ls.N_MESH]
    V = face.vertices.astype(np.float64)
    if weights is PoseWeights.PROCRUSTES:
        idx = face.procrustes_ids
        w = face.procrustes_weights.astype(np.float64)
        R, s, t = umeyama(V[idx], P[idx], w)
        res = np.linalg.norm((P[idx] - t) @ R / s - V[idx], axis=1)
        rms = float(np.sqrt((w * res**2).sum() / w.sum()))
    else:
        w = np.ones(len(V))
        for _ in range(max(1, iterations)):
            R, s, t = umeyama(V, P, w)
            res = np.linalg.norm((P - t) @ R / s - V, axis=1)
            c = max(1.4826 * float(np.median(res)), 1e-3)  # robust spread (MAD-like)
            w = 1.0 / (1.0 + (res / (2.0 * c)) ** 2)
        rms = float(np.sqrt((w * res**2).sum() / w.sum()))
    canon = ((P_all - t) @ R) / s
    if len(canon) >= ls.N_TRACKED:
        irises_at_eye_depth(canon, P_all, R, s, t)
    return PoseFit(
        rotation=R, euler=matrix_to_euler(R), scale=s,
        center_px=np.array([t[0], -t[1]]), translation_cam=t,
        canonical_landmarks=canon.astype(np.float32), rms_error=rms)


#: below this |det| of the rotation's x-y block (a head turned nearly edge-on, ~75 deg) the
#: irises keep their tracked depth (an eye's depth cannot be traded for its x, y there)
_MIN_XY_DET = 0.25


def irises_at_eye_depth(canonical: np.ndarray, camera: np.ndarray, R: np.ndarray, s: float,
                        t: np.ndarray) -> None:
    """Put each iris's 5 canonical points at its eye's depth, keeping where they project.

    MediaPipe's iris depth is unreliable on a turned face: liveportrait_s10's (a
    three-quarter portrait) came out 2.1 cm behind its eye, so a head pitched by 16 deg
    moved its iris 9 px down the eye, and on a take the same error moves a gaze with
    the head. The iris's image position is reliable: each point keeps its camera x, y and
    takes the mean depth of its eye's contour (tracked irises sit within 0.1 cm of it
    on frontal faces: liveportrait_d10 -0.06, s42 0.03-0.04).

    Args:
        canonical: (478, 3) canonical points, modified in place (rows 468..477).
        camera: (478, 3) the tracked points in the camera frame (:func:`image_to_camera`).
        R, s, t: the pose (``camera = s * R @ canonical + t``).
    """
    A = R[:2, :2]
    if abs(float(np.linalg.det(A))) < _MIN_XY_DET:
        return
    for centre, ring, contour in ls.EYE_IRISES:
        ids = [centre, *ring]
        z = float(canonical[list(contour), 2].mean())
        rhs = (camera[ids, :2] - t[:2]) / s - R[:2, 2] * z  # (5, 2)
        canonical[ids, :2] = np.linalg.solve(A, rhs.T).T
        canonical[ids, 2] = z


def project(face: CanonicalFace, rotation: np.ndarray, scale: float, center_px: np.ndarray,
            vertices: np.ndarray | None = None) -> np.ndarray:
    """Orthographic projection of canonical vertices into image pixels.

    Args:
        face: supplies the vertices when ``vertices`` is None.
        rotation: (3, 3); scale: px per unit; center_px: (2,) image position of the origin.
        vertices: optional (N, 3) canonical points.
    Returns:
        (N, 3) image landmarks (x, y down, z away from the viewer, pixels).
    """
    V = face.vertices.astype(np.float64) if vertices is None else np.asarray(vertices, np.float64)
    t = np.array([center_px[0], -center_px[1], 0.0])
    return camera_to_image(scale * V @ np.asarray(rotation).T + t)


def solve_pose_2d(points_px: np.ndarray, face: CanonicalFace, mesh_ids: Sequence[int]) -> PoseFit:
    """Head pose from 2D landmarks only (e.g. a 68-point tracker), orthographic.

    Fits ``x_img = s * (R V)[:2] + t`` (image y flipped to camera Y) by a least-squares
    affine camera ``A (2, 3)`` followed by its nearest scaled rotation (rows
    orthonormalised, third row = cross product). Exact for noise-free orthographic
    projections.

    Args:
        points_px: (N, 2+) image points (x right, y down), pixels.
        face: the canonical face.
        mesh_ids: (N,) canonical vertex index of each point (e.g.
            ``landmark_sets.IBUG68_TO_MESH``).
    Returns:
        a :class:`PoseFit`; ``canonical_landmarks`` is the canonical mesh itself (2D
        points carry no pose-free 3D shape) and ``rms_error`` is in canonical units.
    """
    P = np.asarray(points_px, np.float64)[:, :2] * np.array([1.0, -1.0])
    V = face.vertices.astype(np.float64)[np.asarray(mesh_ids)]
    mu_p, mu_v = P.mean(0), V.mean(0)
    X = V - mu_v
    A = np.linalg.lstsq(X, P - mu_p, rcond=None)[0].T  # (2, 3)
    # nearest s * [r1; r2] with orthonormal rows (polar decomposition of A)
    U, S, Vt = np.linalg.svd(A, full_matrices=False)
    s = float(S.mean())
    R2 = U @ Vt  # (2, 3) orthonormal rows
    R = np.vstack([R2, np.cross(R2[0], R2[1])])
    t2 = mu_p - s * R2 @ mu_v
    res = np.linalg.norm((P - t2) / s - (V @ R2.T), axis=1)
    return PoseFit(
        rotation=R, euler=matrix_to_euler(R), scale=s, center_px=np.array([t2[0], -t2[1]]),
        translation_cam=np.array([t2[0], t2[1], 0.0]),
        canonical_landmarks=face.vertices.copy(), rms_error=float(np.sqrt((res**2).mean())))
