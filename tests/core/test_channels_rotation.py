import numpy as np
import pytest

from dexstudio.core import channels as ch
from dexstudio.core.rotation import (euler_to_matrix, matrix_to_euler, matrix_to_quaternion,
                                     quaternion_to_matrix)
from dexstudio.core.timebase import FrameRate


def test_channel_registry_shape() -> None:
    assert ch.N_BLENDSHAPES == 52
    assert len(ch.ALL_CHANNEL_IDS) == 6 + 52 + ch.N_DETAIL
    assert ch.spec("expr.jawOpen").group is ch.ChannelGroup.JAW
    assert ch.spec("expr.eyeLookInLeft").group is ch.ChannelGroup.GAZE
    assert ch.spec("expr.eyeBlinkRight").group is ch.ChannelGroup.EYES
    assert ch.spec("expr.noseSneerLeft").group is ch.ChannelGroup.CHEEKS_NOSE
    assert set(ch.resolve_channel_selector("pose")) == set(ch.POSE_CHANNEL_IDS)
    assert "pose.yaw" not in ch.resolve_channel_selector("expression")
    assert ch.resolve_channel_selector("Rotation") == ("pose.yaw", "pose.pitch", "pose.roll")
    assert ch.resolve_channel_selector("translation") == ("pose.tx", "pose.ty")
    with pytest.raises(ValueError, match="expr.jawOpen"):
        ch.resolve_channel_selector("nonsense")


def test_rotation_conventions() -> None:
    nose = np.array([0.0, 0.0, 1.0])
    up = np.array([0.0, 1.0, 0.0])
    assert (euler_to_matrix(30, 0, 0) @ nose)[0] > 0.4  # yaw+ -> nose to image right
    assert (euler_to_matrix(0, 30, 0) @ nose)[1] > 0.4  # pitch+ -> chin up, nose up
    assert (euler_to_matrix(0, 0, 30) @ up)[0] > 0.4  # roll+ -> clockwise: head top to the right


def test_rotation_round_trips() -> None:
    rng = np.random.default_rng(0)
    e = np.column_stack([rng.uniform(-80, 80, 200), rng.uniform(-60, 60, 200), rng.uniform(-60, 60, 200)])
    R = euler_to_matrix(e[:, 0], e[:, 1], e[:, 2])
    np.testing.assert_allclose(matrix_to_euler(R), e, atol=1e-9)
    np.testing.assert_allclose(quaternion_to_matrix(matrix_to_quaternion(R)), R, atol=1e-12)


def test_frame_rate_exact() -> None:
    r = FrameRate.from_float(29.97002997)
    assert (r.num, r.den) == (30000, 1001)
    assert r.frame_to_seconds(30000) == 1001
    assert r.timecode(30 * 61 + 5) == "00:01:01:05"
