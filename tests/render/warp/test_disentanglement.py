"""Disentanglement, measured the way a user would: render, re-track with the app's tracker.

``--freeze pose`` must keep the head where the source has it while the expression follows;
``--freeze expression`` must keep the source's expression while the pose follows.
"""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.cli import main
from dexstudio.commands.animate import MotionOptions, parse_freeze


def _eval(driving, source, freeze, n=None):
    from dexstudio.commands.eval import evaluate

    return evaluate(driving, source, MotionOptions(freeze=parse_freeze(freeze)), max_frames=n)


_RETRACKER_GAP = (
    "known gap: the re-tracker (MediaPipe, configured as extraction configures it) reads head "
    "rotation that the rendered geometry does not have. Rendering rigid-free expression changes "
    "alone on liveportrait_s42 reads as up to 1.0 deg (gaze left 1.01, smile 0.92, jaw 0.78); "
    "out-of-plane rotations read at 0.90x (pitch) and 0.70x (yaw) on d10; detector-every-frame "
    "readings jump by up to 1.3 deg "
    "between neighbouring frames. Measured: sample max 1.45 deg (mean 0.54), d10 first 90 frames "
    "max 2.62 (mean 0.93; all 448: 3.04, 1.02), while the geometry holds the pose to 0.06-0.17 deg "
    "(test_frozen_pose_is_exact_in_the_rendered_geometry*). The re-tracker's own floor (shifted / "
    "scaled copies of the source, no rotation; motion.pose_floor): sample 0.82 max, s42 0.55, "
    "s6 1.03, s10 1.51 deg. A cross-validated linear correction of the pose readout from the "
    "re-tracked blendshapes did not transfer between portraits (d10 x s42: max 3.19 -> 4.57 deg)")


@pytest.fixture(scope="module")
def sample_frozen_pose(sample_portrait, sample_driving):
    return _eval(sample_driving, sample_portrait, ["pose"])


@pytest.mark.xfail(reason=_RETRACKER_GAP, strict=False)
def test_freeze_pose_on_the_sample(sample_frozen_pose) -> None:
    r = sample_frozen_pose
    assert r.result.lost == 0
    assert r.pose_drift_max_deg <= 1.0, r.per_frame_pose_drift


def test_freeze_pose_on_the_sample_expression_follows(sample_frozen_pose) -> None:
    r = sample_frozen_pose
    assert r.result.lost == 0
    assert r.result.expr < r.baseline.expr  # the expression follows the driver
    assert float(np.mean(r.per_frame_pose_drift)) <= 1.0  # measured 0.53
    assert r.pose_drift_mean_deg == pytest.approx(float(np.mean(r.per_frame_pose_drift)))


def test_freeze_pose_reports_the_retracker_floor(sample_frozen_pose) -> None:
    """eval prints how precisely the re-tracker reads pose on this source at all."""
    f = sample_frozen_pose.pose_floor
    assert f is not None and f.copies == 20
    assert 0.0 < f.mean_deg <= f.max_deg


def _worst_frozen_pose_angle(source_image, driving) -> float:
    """Largest angle (deg) between the source's pose and the pose of a frame's target points,
    every 7th frame of ``driving`` animated with ``--freeze pose``."""
    from dexstudio.commands.animate import track_to_motion
    from dexstudio.core.rotation import rotation_angle_deg
    from dexstudio.motion.extract import run_extraction
    from dexstudio.motion.face_model import load_canonical_face
    from dexstudio.motion.pose import solve_pose
    from dexstudio.render.base import FrameMotion
    from dexstudio.render.warp import WarpAnimator, WarpSettings

    a = WarpAnimator(WarpSettings(pose_bias=False))
    st = a.prepare(source_image)
    a.close()
    track = run_extraction(driving).track
    ev = track_to_motion(track, st.own_motion, MotionOptions(freeze=parse_freeze(["pose"])))
    face = load_canonical_face()
    worst = 0.0
    for i in range(0, len(ev), 7):
        P, _ = a.target_points(st, FrameMotion.from_evaluated(ev, i, "t"), track.expression_model)
        worst = max(worst, float(rotation_angle_deg(solve_pose(P, face).rotation, st.payload.pose.rotation)))
    return worst


def test_frozen_pose_is_exact_in_the_rendered_geometry_of_the_sample(sample_portrait, sample_driving) -> None:
    from dexstudio.io.image import load_image

    assert _worst_frozen_pose_angle(load_image(sample_portrait), sample_driving) < 0.3


def test_freeze_expression_on_the_sample(sample_portrait, sample_driving) -> None:
    r = _eval(sample_driving, sample_portrait, ["expression"])
    assert r.expr_drift_max_mean <= 0.05
    assert r.pose_error_mean_deg <= 2.0  # the pose still follows the driver


@pytest.mark.media
def test_frozen_pose_is_exact_in_the_rendered_geometry(media_dir) -> None:
    """The target points of every frame have exactly the source's pose (the renderer's part
    of the contract; what a re-tracker reads on top of it is tested below)."""
    from dexstudio.io.image import load_image

    worst = _worst_frozen_pose_angle(load_image(media_dir / "source" / "liveportrait_s42.jpg"),
                                     media_dir / "driving" / "liveportrait_d10.mp4")
    assert worst < 0.3


@pytest.mark.media
def test_freeze_expression_on_a_real_clip(media_dir) -> None:
    r = _eval(media_dir / "driving" / "liveportrait_d10.mp4", media_dir / "source" / "liveportrait_s42.jpg",
              ["expression"])  # all 448 frames
    assert r.result.lost == 0
    assert r.expr_drift_max_mean <= 0.05  # measured 0.038
    assert r.pose_error_mean_deg <= 2.0  # measured 1.92


@pytest.mark.media
def test_freeze_pose_expression_follows_on_a_real_clip(media_dir) -> None:
    r = _eval(media_dir / "driving" / "liveportrait_d10.mp4", media_dir / "source" / "liveportrait_s42.jpg",
              ["pose"], n=90)
    assert r.result.lost == 0
    assert r.result.expr < r.baseline.expr  # the expression follows the driver
    # what MediaPipe reads as head pose moves with the expression (an open mouth reads as
    # pitch); on average it stays within ~1.5 deg of the source's
    assert float(np.mean(r.per_frame_pose_drift)) <= 1.5


@pytest.mark.media
@pytest.mark.xfail(reason=_RETRACKER_GAP, strict=False)
def test_freeze_pose_within_one_degree_every_frame_on_a_real_clip(media_dir) -> None:
    r = _eval(media_dir / "driving" / "liveportrait_d10.mp4", media_dir / "source" / "liveportrait_s42.jpg",
              ["pose"], n=90)
    assert r.pose_drift_max_deg <= 1.0


def test_eval_reports_the_rendered_geometrys_frozen_pose(sample_portrait, sample_driving, capsys) -> None:
    """``eval --freeze pose`` also prints the pose of the points the renderer warped to,
    which no re-tracker reads (the renderer's own part of the disentanglement)."""
    r = _eval(sample_driving, sample_portrait, ["pose"], n=12)
    assert 0.0 <= r.geometry_pose_drift_max_deg < 0.3
    assert np.isnan(_eval(sample_driving, sample_portrait, ["expression"], n=3).geometry_pose_drift_max_deg)
    main(["eval", "-q", "--source", str(sample_portrait), "--driving", str(sample_driving), "--freeze", "pose",
          "--max-frames", "6"])
    assert "rendered geometry's pose drift max" in capsys.readouterr().out
