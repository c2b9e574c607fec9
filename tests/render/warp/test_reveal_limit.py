"""The reveal limit: head rotations that would show surface the source hides are eased."""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.core.rotation import euler_to_matrix
from dexstudio.motion.face_model import load_canonical_face
from dexstudio.render.warp.reveal import KNEE, RevealLimit, RevealLimiter, _rot, _rotvec, softclip
from dexstudio.render.warp.topology import face_topology


def limiter(source_yaw: float, limit: RevealLimit = RevealLimit()) -> RevealLimiter:
    face, topo = load_canonical_face(), face_topology()
    return RevealLimiter(face.vertices, topo.triangles, topo.tri_kind == 0,
                         euler_to_matrix(source_yaw, 0.0, 0.0), limit)


def rel_angle_deg(lim: RevealLimiter, R: np.ndarray) -> float:
    return float(np.degrees(np.linalg.norm(_rotvec(R @ lim._R0.T))))


def test_softclip_is_identity_below_the_knee_continuous_monotone_and_bounded():
    m = 1.0
    assert softclip(0.5 * KNEE, m) == 0.5 * KNEE
    xs = np.linspace(0, 5, 2001)
    ys = np.array([softclip(x, m) for x in xs])
    assert np.all(np.diff(ys) >= 0) and ys.max() < m
    assert np.max(np.abs(np.diff(ys))) <= (xs[1] - xs[0]) + 1e-12  # slope <= 1: no jumps
    assert softclip(KNEE * m + 1e-7, m) == pytest.approx(KNEE * m, abs=1e-6)


def test_the_sources_own_pose_and_small_turns_are_untouched():
    lim = limiter(-30.0)
    R0 = euler_to_matrix(-30.0, 0.0, 0.0)
    assert lim.excess(R0) == 0.0
    R, f = lim.limit_rotation(R0)
    assert f == 1.0 and np.allclose(R, R0)
    # turning further away hides more (any amount); a few degrees towards the front
    for yaw in (-60.0, -45.0, -35.0, -28.0):
        Rt = euler_to_matrix(yaw, 0.0, 0.0)
        R, f = lim.limit_rotation(Rt)
        assert f == 1.0 and np.allclose(R, Rt)


def test_turning_a_three_quarter_face_to_the_front_is_eased_and_never_tears():
    lim = limiter(-35.0)
    budget = lim.limit.budget
    requested = np.linspace(0.0, 40.0, 81)  # towards the front and beyond
    rendered = []
    for d in requested:
        R, f = lim.limit_rotation(euler_to_matrix(-35.0 + d, 0.0, 0.0))
        rendered.append(rel_angle_deg(lim, R))
        assert lim.excess(R) <= budget + 1e-9
        assert 0.0 < f <= 1.0
    rendered = np.array(rendered)
    assert rendered[-1] < 0.8 * requested[-1], "a 40 deg turn of a 3/4 portrait must be limited"
    assert np.all(np.diff(rendered) >= -1e-6), "more requested never renders less"
    assert np.max(np.diff(rendered)) <= (requested[1] - requested[0]) + 1e-3, "no jumps"


def test_the_limit_follows_what_the_source_shows():
    """A frontal source turns further before tearing than a three-quarter one turned back."""
    frontal, turned = limiter(0.0), limiter(-35.0)
    axis = np.array([0.0, 1.0, 0.0])
    assert frontal.max_angle(axis, np.radians(60)) > turned.max_angle(axis, np.radians(60))


def test_off_means_exactly_the_requested_rotation(sample_portrait):
    from dexstudio.io.image import load_image
    from dexstudio.render.base import FrameMotion
    from dexstudio.render.warp import WarpAnimator, WarpSettings

    image = load_image(sample_portrait)
    own = None
    results = {}
    for name, settings in (("on", WarpSettings()), ("off", WarpSettings(reveal=None))):
        a = WarpAnimator(settings)
        st = a.prepare(image)
        a.close()
        own = st.own_motion
        yaw, pitch, roll = own.euler
        m = FrameMotion(euler=(yaw + 45.0, pitch, roll), translation=own.translation, scale=own.scale,
                        blendshapes=own.blendshapes, detail=own.detail, detail_weight=0.0)
        P, _ = a.target_points(st, m)
        results[name] = (P, st)
    from dexstudio.motion.face_model import load_canonical_face
    from dexstudio.motion.pose import solve_pose

    face = load_canonical_face()
    R_src = results["off"][1].payload.pose.rotation
    turn = {k: float(np.degrees(np.linalg.norm(_rotvec(solve_pose(P, face).rotation @ R_src.T))))
            for k, (P, _) in results.items()}
    assert turn["off"] == pytest.approx(45.0, abs=0.5)
    assert turn["on"] < 40.0
    assert own is not None


def test_rotation_helpers_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(20):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        theta = rng.uniform(0.01, 3.0)
        assert np.allclose(_rotvec(_rot(axis, theta)), axis * theta, atol=1e-7)


def test_projected_areas_from_cross_products_equal_the_projected_triangles() -> None:
    """The limiter's areas (a rotated cross product per triangle) are exactly the signed
    areas of the projected vertices."""
    from dexstudio.render.warp.warp_field import signed_areas

    face = load_canonical_face()
    topo = face_topology()
    counted = np.ones(len(topo.triangles), bool)
    lim = RevealLimiter(face.vertices, topo.triangles, counted, euler_to_matrix(20.0, -5.0, 3.0))
    V = face.vertices.astype(np.float64)
    for yaw, pitch, roll in ((0, 0, 0), (35, 10, -4), (-60, -20, 15), (90, 0, 0)):
        R = euler_to_matrix(yaw, pitch, roll)
        np.testing.assert_allclose(lim._areas(R), signed_areas(V @ R[:2].T, topo.triangles), atol=1e-9)
