"""Rotations from DeX Studio's Euler angles and back (pure numpy, vectorised).

Coordinate frame (camera frame): X = image right, Y = image up, Z = toward the viewer.
A face looking into the camera has its nose along +Z.

* yaw   (deg) positive = the subject turns to their left -> the nose moves to +X
  (image right): a rotation by +yaw about +Y.
* pitch (deg) positive = chin up -> the nose moves to +Y: a rotation by -pitch about +X.
* roll  (deg) positive = the head tilts clockwise in the image: a rotation by -roll
  about +Z (seen from the camera, +Z rotation is counter-clockwise).

``R = Rz(-roll) @ Ry(yaw) @ Rx(-pitch)``; the canonical face is rotated by ``R`` then
projected. Angles are degrees at every public boundary; radians only inside.
"""

from __future__ import annotations

import math

import numpy as np


def _rx(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _ry(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rz(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def euler_to_matrix(yaw: np.ndarray | float, pitch: np.ndarray | float,
                    roll: np.ndarray | float) -> np.ndarray:
    """Rotation matrices from degrees.

    Args:
        yaw, pitch, roll: degrees, scalars or arrays of shape (F,).
    Returns:
        (3, 3) for scalars, else (F, 3, 3), float64.
    """
    if np.ndim(yaw) == 0 and np.ndim(pitch) == 0 and np.ndim(roll) == 0:
        return _euler_to_matrix_scalar(float(yaw), float(pitch), float(roll))
    y = np.deg2rad(np.asarray(yaw, dtype=np.float64))
    p = np.deg2rad(np.asarray(pitch, dtype=np.float64))
    r = np.deg2rad(np.asarray(roll, dtype=np.float64))
    return _rz(-r) @ _ry(y) @ _rx(-p)


def _euler_to_matrix_scalar(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """One (3, 3) matrix of :func:`euler_to_matrix`, written out (the per-frame path:
    ~4 us instead of ~60 us of small array operations)."""
    cb, sb = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    ca, sa = math.cos(math.radians(-pitch)), math.sin(math.radians(-pitch))
    cc, sc = math.cos(math.radians(-roll)), math.sin(math.radians(-roll))
    # Rz(c) @ Ry(b) @ Rx(a)
    return np.array([
        [cc * cb, cc * sb * sa - sc * ca, cc * sb * ca + sc * sa],
        [sc * cb, sc * sb * sa + cc * ca, sc * sb * ca - cc * sa],
        [-sb, cb * sa, cb * ca],
    ])


def matrix_to_euler(R: np.ndarray) -> np.ndarray:
    """Inverse of :func:`euler_to_matrix`.

    Args:
        R: (3, 3) or (F, 3, 3) rotation matrices.
    Returns:
        (3,) or (F, 3) array of (yaw, pitch, roll) in degrees; exact round trip for
        |yaw| < 90.
    """
    R = np.asarray(R, dtype=np.float64)
    # R = Rz(c) Ry(b) Rx(a) with a=-pitch, b=yaw, c=-roll:
    # R[2,0] = -sin b ; R[2,1] = cos b sin a ; R[2,2] = cos b cos a
    # R[1,0] = sin c cos b ; R[0,0] = cos c cos b
    b = np.arcsin(np.clip(-R[..., 2, 0], -1.0, 1.0))
    a = np.arctan2(R[..., 2, 1], R[..., 2, 2])
    c = np.arctan2(R[..., 1, 0], R[..., 0, 0])
    return np.stack([np.rad2deg(b), np.rad2deg(-a), np.rad2deg(-c)], axis=-1)


def matrix_to_quaternion(R: np.ndarray) -> np.ndarray:
    """(…, 3, 3) rotation matrices -> (…, 4) unit quaternions (w, x, y, z), w >= 0."""
    R = np.asarray(R, dtype=np.float64)
    m = R.reshape(-1, 3, 3)
    tr = np.trace(m, axis1=1, axis2=2)
    q = np.empty((m.shape[0], 4))
    w2 = np.stack([1 + tr, 1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2],
                   1 - m[:, 0, 0] + m[:, 1, 1] - m[:, 2, 2], 1 - m[:, 0, 0] - m[:, 1, 1] + m[:, 2, 2]], 1)
    k = np.argmax(w2, axis=1)
    for i in range(m.shape[0]):  # branch per row for numerical stability; F is small per call
        r = m[i]
        if k[i] == 0:
            s = np.sqrt(w2[i, 0]) * 2
            q[i] = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
        elif k[i] == 1:
            s = np.sqrt(w2[i, 1]) * 2
            q[i] = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
        elif k[i] == 2:
            s = np.sqrt(w2[i, 2]) * 2
            q[i] = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
        else:
            s = np.sqrt(w2[i, 3]) * 2
            q[i] = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q.reshape(R.shape[:-2] + (4,))


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """(…, 4) quaternions (w, x, y, z) -> (…, 3, 3) rotation matrices."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def rotation_angle_deg(Ra: np.ndarray, Rb: np.ndarray) -> np.ndarray:
    """Geodesic angle in degrees between rotations; shapes (…, 3, 3) -> (…)."""
    rel = np.swapaxes(Ra, -1, -2) @ Rb
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.rad2deg(np.arccos(np.clip(cos, -1.0, 1.0)))
