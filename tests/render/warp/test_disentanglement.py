"""Disentanglement, measured the way a user would: render, re-track with the app's tracker.

``--freeze pose`` must keep the head where the source has it while the expression follows;
``--freeze expression`` must keep the source's expression while the pose follows.
"""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.commands.animate import MotionOptions, parse_freeze


def _eval(driving, source, freeze, n=None):
    from dexstudio.commands.eval import evaluate

    return evaluate(driving, source, MotionOptions(freeze=parse_freeze(freeze)), max_frames=n)


def test_freeze_pose_on_the_sample(sample_portrait, sample_driving) -> None:
    r = _eval(sample_driving, sample_portrait, ["pose"])
    assert r.result.lost == 0
    assert r.pose_drift_max_deg <= 1.0, r.per_frame_pose_drift


def test_freeze_expression_on_the_sample(sample_portrait, sample_driving) -> None:
    r = _eval(sample_driving, sample_portrait, ["expression"])
    assert r.expr_drift_max_mean <= 0.05
    assert r.pose_error_mean_deg <= 2.0  # the pose still follows the driver


@pytest.mark.media
def test_frozen_pose_is_exact_in_the_rendered_geometry(media_dir) -> None:
    """The target points of every frame have exactly the source's pose (the renderer's part
    of the contract; what a re-tracker reads on top of it is tested below)."""
    from dexstudio.commands.animate import track_to_motion
    from dexstudio.core.rotation import rotation_angle_deg
    from dexstudio.io.image import load_image
    from dexstudio.motion.extract import run_extraction
    from dexstudio.motion.face_model import load_canonical_face
    from dexstudio.motion.pose import solve_pose
    from dexstudio.render.base import FrameMotion
    from dexstudio.render.warp import WarpAnimator, WarpSettings

    a = WarpAnimator(WarpSettings(pose_bias=False))
    st = a.prepare(load_image(media_dir / "source" / "liveportrait_s42.jpg"))
    a.close()
    track = run_extraction(media_dir / "driving" / "liveportrait_d10.mp4").track
    ev = track_to_motion(track, st.own_motion, MotionOptions(freeze=parse_freeze(["pose"])))
    face = load_canonical_face()
    worst = 0.0
    for i in range(0, len(ev), 7):
        P, _ = a.target_points(st, FrameMotion.from_evaluated(ev, i, "t"), track.expression_model)
        worst = max(worst, float(rotation_angle_deg(solve_pose(P, face).rotation, st.payload.pose.rotation)))
    assert worst < 0.3




@pytest.mark.media
def test_freeze_expression_on_a_real_clip(media_dir) -> None:
    r = _eval(media_dir / "driving" / "liveportrait_d10.mp4", media_dir / "source" / "liveportrait_s42.jpg",
              ["expression"], n=90)
    assert r.result.lost == 0
    assert r.expr_drift_max_mean <= 0.05
    assert r.pose_error_mean_deg <= 2.0


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
@pytest.mark.xfail(reason="known gap: the re-tracker (MediaPipe) reads gaze, raised brows and a wide-open "
                          "mouth as head rotation (on d10: re-tracked yaw vs eyeLookIn corr -0.78, pitch "
                          "vs eyeLookDown 0.62; up to 3.3 deg in these 90 frames), while the rendered "
                          "geometry holds the pose to 0.15 deg "
                          "(test_frozen_pose_is_exact_in_the_rendered_geometry)", strict=False)
def test_freeze_pose_within_one_degree_every_frame_on_a_real_clip(media_dir) -> None:
    r = _eval(media_dir / "driving" / "liveportrait_d10.mp4", media_dir / "source" / "liveportrait_s42.jpg",
              ["pose"], n=90)
    assert r.pose_drift_max_deg <= 1.0
