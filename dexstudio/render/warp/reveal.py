"""How far a 2D warp can turn the head: limit rotations that reveal what the source hides.

A warp only moves the source's pixels. Turning a three-quarter portrait towards the
camera (or a frontal one far to the side) asks for surface the source shows edge-on or
not at all: the triangles there are stretched many times over their source area and the
face tears (a smear along the far cheek, an eye pulled out of the silhouette). This
module measures that demand and softly limits the head rotation *relative to the
source's own pose* so that it stays within what the source can supply.

Measure (for a rotation ``R`` of the source's canonical face, orthographic, the source's
scale): over the face triangles (the mouth and eye openings excluded; the animator paints
those), the fraction of the target face area that exceeds ``max_stretch`` times the
visible source area of its triangle::

    excess(R) = sum_t max(0, A_t(R) - k * max(A_s, 0)) / sum_t max(A_t(R), 0)

``A_t``, ``A_s``: signed projected areas (positive = facing the camera) of triangle
``t`` in the target and in the source; ``k`` = ``max_stretch``. ``excess`` is 0 for
the source's own pose and grows continuously as hidden surface turns into view.

Limit: the relative rotation ``D = R_target R_source^T`` (axis ``a``, angle ``theta``)
is searched along its own axis for the largest angle ``theta_max`` with
``excess <= budget``; the rendered angle is ``softclip(theta, theta_max)``: unchanged
below 70 % of ``theta_max`` and easing smoothly (C1) towards ``theta_max`` above it, so
the head still moves but never tears, and the motion has no kink. Translation, scale and
expression are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dexstudio.render.warp.basis import rotation_from_vector_deg, rotation_vector_deg

#: knee of the soft clip, as a fraction of the largest allowed angle
KNEE = 0.7


@dataclass(frozen=True)
class RevealLimit:
    """Settings of the limit.

    Attributes:
        max_stretch: a target triangle may cover up to this many times its visible
            source area before it counts as revealed (area ratio, >= 1).
        budget: allowed revealed fraction of the target face area (0..1).
        search_deg: the largest relative rotation searched (degrees); beyond it the
            search stops (no source supports more with a warp).

    The defaults were chosen by eye on dagan_driving (a 28 deg turn) over
    liveportrait_s10 (a three-quarter portrait) and over its own first frame: 2.5 / 0.02
    still smeared the far cheek; 2.0 / 0.01 does not. They let a frontal face turn
    17.9 deg of yaw and a face already turned 30 deg turn 6.6 deg further to the front
    before the soft clip holds it (``tests/render/warp/test_reveal_limit.py``).
    """

    max_stretch: float = 2.0
    budget: float = 0.01
    search_deg: float = 90.0


def _rotvec(R: np.ndarray) -> np.ndarray:
    """(3,) axis * angle (radians) of a rotation matrix."""
    return np.radians(rotation_vector_deg(R))


def _rot(axis: np.ndarray, theta: float) -> np.ndarray:
    """Rotation by ``theta`` radians about the unit ``axis``."""
    return rotation_from_vector_deg(np.degrees(np.asarray(axis, np.float64) * theta))


def softclip(theta: float, theta_max: float) -> float:
    """``theta`` below ``KNEE * theta_max``; above, eases (C1) towards ``theta_max``."""
    if theta_max <= 0.0:
        return 0.0
    k = KNEE * theta_max
    if theta <= k:
        return theta
    span = theta_max - k
    return k + span * float(np.tanh((theta - k) / span))


class RevealLimiter:
    """Per-source limiter (the source's canonical face and visible triangle areas).

    Args:
        canonical: (N, 3) the source's pose-free points, canonical units (camera axes:
            X right, Y up, Z toward the viewer); the first 468 are the mesh.
        triangles: (T, 3) mesh triangles (vertex ids < 468).
        counted: (T,) bool, the triangles that count (face surface, not openings).
        source_rotation: (3, 3) the source's canonical -> camera rotation.
        limit: :class:`RevealLimit`.
    """

    def __init__(self, canonical: np.ndarray, triangles: np.ndarray, counted: np.ndarray,
                 source_rotation: np.ndarray, limit: RevealLimit = RevealLimit()) -> None:
        self.limit = limit
        self._V = np.asarray(canonical, np.float64)[:468]
        self._tri = np.asarray(triangles)[np.asarray(counted, bool)]
        self._R0 = np.asarray(source_rotation, np.float64)
        # each triangle's edge cross product: the projected signed area for a rotation R
        # is 0.5 * R[2] . (e1 x e2) (rotations keep cross products), one (T, 3) @ (3,)
        # product instead of projecting and differencing the vertices (0.06 -> 0.005 ms)
        V, t = self._V, self._tri
        self._cross = np.cross(V[t[:, 1]] - V[t[:, 0]], V[t[:, 2]] - V[t[:, 0]])
        self._allow = limit.max_stretch * np.maximum(self._areas(self._R0), 0.0)

    def _areas(self, R: np.ndarray) -> np.ndarray:
        """(T,) signed projected areas (canonical units^2, + = facing the camera; camera X,
        Y with y up, as :func:`~dexstudio.render.warp.warp_field.signed_areas` of the
        projected vertices gives them)."""
        return 0.5 * (self._cross @ np.asarray(R, np.float64)[2])

    def excess(self, R: np.ndarray) -> float:
        """Revealed fraction of the target face area for rotation ``R`` (module doc)."""
        A = self._areas(R)
        vis = np.maximum(A, 0.0)
        total = float(vis.sum())
        if total <= 0.0:
            return 1.0
        return float(np.maximum(vis - self._allow, 0.0).sum()) / total

    def max_angle(self, axis: np.ndarray, theta: float, iterations: int = 16) -> float:
        """Largest angle (radians) about ``axis`` within the budget (``excess`` grows
        along the axis), or ``theta / KNEE`` when that is still within it (nothing to
        limit for ``theta``). Bisection over the fixed bracket [0, ``search_deg``], so
        the answer does not depend on ``theta`` once it limits (no jitter between
        frames); 16 steps = 0.0014 deg for 90 deg."""
        top = np.radians(self.limit.search_deg)
        probe = min(top, max(theta / KNEE, 1e-6))
        if self.excess(_rot(axis, probe) @ self._R0) <= self.limit.budget:
            return probe
        lo, hi = 0.0, top
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            if self.excess(_rot(axis, mid) @ self._R0) <= self.limit.budget:
                lo = mid
            else:
                hi = mid
        return lo

    def limit_rotation(self, R_target: np.ndarray) -> tuple[np.ndarray, float]:
        """The rotation to render for a requested ``R_target``.

        Returns:
            ((3, 3) rotation, factor): ``factor`` = rendered / requested relative angle
            (1.0 when nothing was limited).
        """
        D = np.asarray(R_target, np.float64) @ self._R0.T
        w = _rotvec(D)
        theta = float(np.linalg.norm(w))
        if theta < 1e-6:
            return np.asarray(R_target, np.float64), 1.0
        axis = w / theta
        theta_max = self.max_angle(axis, theta)
        if theta <= KNEE * theta_max:
            return np.asarray(R_target, np.float64), 1.0
        t = softclip(theta, theta_max)
        return _rot(axis, t) @ self._R0, t / theta
