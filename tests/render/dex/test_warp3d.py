"""Pose branch 2: lift / warp / project of reference tokens (acceptance 1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dexstudio.core.rotation import euler_to_matrix
from dexstudio.render.dex.warp3d import (
    RigidTransform,
    lift_tokens,
    project_volume,
    warp_tokens,
    warp_volume,
)


def _transform(yaw=0.0, pitch=0.0, roll=0.0, center_t=(0.0, 0.0), scale_t=1.0) -> RigidTransform:
    eye = torch.eye(3)[None].double()
    rt = torch.from_numpy(euler_to_matrix(yaw, pitch, roll))[None]
    return RigidTransform.from_camera(eye.float(), rt.float(), torch.zeros(1, 2),
                                      torch.tensor([center_t], dtype=torch.float32),
                                      torch.ones(1), torch.tensor([scale_t]))


def _blob(size: int, center_xyz: tuple[float, float, float], sigma: float = 0.12) -> torch.Tensor:
    lin = torch.linspace(-1, 1, size)
    z, y, x = torch.meshgrid(lin, lin, lin, indexing="ij")
    cx, cy, cz = center_xyz
    v = torch.exp(-((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2) / (2 * sigma ** 2))
    return v[None, None]  # (1, 1, D, H, W)


def _centroid(vol: torch.Tensor) -> np.ndarray:
    v = vol[0, 0]
    size = v.shape[-1]
    lin = torch.linspace(-1, 1, size)
    z, y, x = torch.meshgrid(lin, lin, lin, indexing="ij")
    m = v.sum()
    return np.array([(v * x).sum() / m, (v * y).sum() / m, (v * z).sum() / m])


def test_lift_shapes_follow_the_paper() -> None:
    # h x h x c tokens -> depth h/2, channels 2c/h
    tokens = torch.randn(2, 16 * 16, 32)
    vol = lift_tokens(tokens, 16)
    assert vol.shape == (2, 4, 8, 16, 16)
    assert project_volume(vol).shape == (2, 32, 16, 16)
    # SD-1.5 sizes at 512 px: 64x64x320 -> (10, 32, 64, 64)
    assert lift_tokens(torch.zeros(1, 64 * 64, 320), 64).shape == (1, 10, 32, 64, 64)


def test_lift_rejects_non_square_token_count() -> None:
    with pytest.raises(ValueError):
        lift_tokens(torch.zeros(1, 15, 8), 4)


def test_identity_warp_reproduces_tokens() -> None:
    torch.manual_seed(0)
    tokens = torch.randn(3, 8 * 8, 16)
    out = warp_tokens(tokens, 8, RigidTransform.identity(3))
    ref = tokens.transpose(1, 2).reshape(3, 16, 8, 8)
    assert out.shape == (3, 16, 8, 8)
    assert torch.allclose(out, ref, atol=1e-5)


def test_identity_from_equal_poses() -> None:
    tr = _transform()
    assert torch.allclose(tr.rotation, torch.eye(3)[None], atol=1e-6)
    assert torch.allclose(tr.translation, torch.zeros(1, 3), atol=1e-6)
    vol = torch.randn(1, 2, 6, 12, 12)
    assert torch.allclose(warp_volume(vol, tr), vol, atol=1e-5)


def test_yaw_moves_the_nose_to_image_right() -> None:
    # nose = toward the viewer (+z); yaw +90 (subject turns to their left) -> image right (+x)
    vol = _blob(33, (0.0, 0.0, 0.5))
    out = warp_volume(vol, _transform(yaw=90.0))
    c = _centroid(out)
    assert c == pytest.approx([0.5, 0.0, 0.0], abs=0.03)


def test_roll_is_clockwise_in_the_image() -> None:
    # a point above the centre (y = -0.5, image y down) tilts clockwise to the right
    vol = _blob(33, (0.0, -0.5, 0.0))
    c = _centroid(warp_volume(vol, _transform(roll=90.0)))
    assert c == pytest.approx([0.5, 0.0, 0.0], abs=0.03)


def test_pitch_up_moves_the_nose_up() -> None:
    vol = _blob(33, (0.0, 0.0, 0.5))
    c = _centroid(warp_volume(vol, _transform(pitch=30.0)))
    assert c == pytest.approx([0.0, -0.5 * np.sin(np.pi / 6), 0.5 * np.cos(np.pi / 6)], abs=0.03)


def test_translation_and_scale() -> None:
    vol = _blob(33, (0.25, 0.0, 0.0))
    c = _centroid(warp_volume(vol, _transform(center_t=(0.2, -0.1), scale_t=1.5)))
    assert c == pytest.approx([0.2 + 1.5 * 0.25, -0.1, 0.0], abs=0.04)


def test_torch_euler_matches_core_rotation() -> None:
    from dexstudio.render.dex.warp3d import euler_to_matrix_torch

    e = np.array([[10.0, -20.0, 5.0], [-40.0, 15.0, 30.0]])
    got = euler_to_matrix_torch(torch.from_numpy(e)).numpy()
    want = euler_to_matrix(e[:, 0], e[:, 1], e[:, 2])
    assert np.allclose(got, want, atol=1e-9)
