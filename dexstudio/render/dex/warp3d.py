"""Pose branch 2: lift 2D feature tokens into a 3D volume, warp it rigidly, project back.

Volume frame (the frame of ``grid_sample`` coordinates, all in -1..1 of the crop):
x = image right, y = image down, z = toward the viewer (depth index D-1 is nearest).
The camera frame of :mod:`dexstudio.core.rotation` has y up, so a camera rotation R
becomes ``F R F`` with ``F = diag(1, -1, 1)``.

A rigid transform maps a source point to the target: ``X_t = s * R @ X_s + t``.
Warping samples the source volume at ``X_s = R^T (X_t - t) / s`` for every target voxel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

_FLIP = torch.tensor([1.0, -1.0, 1.0])


@dataclass(frozen=True)
class RigidTransform:
    """A batch of source-to-target similarity transforms in volume coordinates.

    Attributes:
        rotation: (B, 3, 3) rotation in the volume frame.
        translation: (B, 3) in volume units (-1..1 spans the crop).
        scale: (B,) positive.
    """

    rotation: torch.Tensor
    translation: torch.Tensor
    scale: torch.Tensor

    @property
    def batch(self) -> int:
        return int(self.rotation.shape[0])

    @staticmethod
    def identity(batch: int, device: torch.device | str = "cpu") -> "RigidTransform":
        return RigidTransform(torch.eye(3, device=device).expand(batch, 3, 3).clone(),
                              torch.zeros(batch, 3, device=device), torch.ones(batch, device=device))

    def to(self, device: torch.device | str, dtype: torch.dtype = torch.float32) -> "RigidTransform":
        return RigidTransform(self.rotation.to(device, dtype), self.translation.to(device, dtype),
                              self.scale.to(device, dtype))

    def index(self, idx: torch.Tensor) -> "RigidTransform":
        return RigidTransform(self.rotation[idx], self.translation[idx], self.scale[idx])

    @staticmethod
    def cat(items: "list[RigidTransform]") -> "RigidTransform":
        return RigidTransform(torch.cat([i.rotation for i in items]),
                              torch.cat([i.translation for i in items]),
                              torch.cat([i.scale for i in items]))

    @staticmethod
    def from_camera(rot_src: torch.Tensor, rot_tgt: torch.Tensor, center_src: torch.Tensor,
                    center_tgt: torch.Tensor, scale_src: torch.Tensor,
                    scale_tgt: torch.Tensor) -> "RigidTransform":
        """Relative transform between two absolute head poses.

        Args:
            rot_src, rot_tgt: (B, 3, 3) head rotations in the camera frame (y up).
            center_src, center_tgt: (B, 2) face centres in crop units (-1..1, x right, y down).
            scale_src, scale_tgt: (B,) face scales.
        Returns:
            The transform moving the source head onto the target head: rotation
            ``F R_t R_s^T F`` about the source face centre, scale ``s_t / s_s``, then
            translation to the target centre.
        """
        flip = _FLIP.to(rot_src)
        r_rel = rot_tgt @ rot_src.transpose(-1, -2)
        r_vol = flip[:, None] * r_rel * flip[None, :]
        s = scale_tgt / scale_src
        zeros = torch.zeros_like(center_src[:, :1])
        c_s = torch.cat([center_src, zeros], 1)
        c_t = torch.cat([center_tgt, zeros], 1)
        t = c_t - s[:, None] * (r_vol @ c_s[..., None])[..., 0]
        return RigidTransform(r_vol, t, s)


def euler_to_matrix_torch(euler_deg: torch.Tensor) -> torch.Tensor:
    """(B, 3) (yaw, pitch, roll) degrees -> (B, 3, 3) camera-frame rotations, differentiable.

    Same convention as :func:`dexstudio.core.rotation.euler_to_matrix`:
    ``R = Rz(-roll) @ Ry(yaw) @ Rx(-pitch)``.
    """
    r = torch.deg2rad(euler_deg)
    y, p, ro = r[:, 0], -r[:, 1], -r[:, 2]
    o, z = torch.ones_like(y), torch.zeros_like(y)

    def mat(rows: list[list[torch.Tensor]]) -> torch.Tensor:
        return torch.stack([torch.stack(row, -1) for row in rows], -2)

    rx = mat([[o, z, z], [z, p.cos(), -p.sin()], [z, p.sin(), p.cos()]])
    ry = mat([[y.cos(), z, y.sin()], [z, o, z], [-y.sin(), z, y.cos()]])
    rz = mat([[ro.cos(), -ro.sin(), z], [ro.sin(), ro.cos(), z], [z, z, o]])
    return rz @ ry @ rx


def lift_tokens(tokens: torch.Tensor, side: int) -> torch.Tensor:
    """(B, h*h, c) tokens -> (B, 2c/h, h/2, h, h) volume (channels split into C3 x depth).

    Args:
        tokens: (B, N, c) with N = side * side.
        side: h, the token grid side.
    Returns:
        (B, C3, D, h, h) with D = h // 2, C3 = 2c // h (C3 * D = c).
    """
    b, n, c = tokens.shape
    if n != side * side:
        raise ValueError(f"{n} tokens do not form a {side}x{side} grid")
    depth = max(side // 2, 1)
    if c % depth:
        raise ValueError(f"cannot lift {c} channels into depth {depth}")
    return tokens.transpose(1, 2).reshape(b, c // depth, depth, side, side)


def project_volume(volume: torch.Tensor) -> torch.Tensor:
    """(B, C3, D, h, w) -> (B, C3*D, h, w): the inverse of :func:`lift_tokens`' reshape."""
    b, c3, d, h, w = volume.shape
    return volume.reshape(b, c3 * d, h, w)


def warp_volume(volume: torch.Tensor, transform: RigidTransform) -> torch.Tensor:
    """Warp a feature volume by a rigid transform (trilinear, zeros outside).

    Args:
        volume: (B, C, D, H, W) source features.
        transform: B transforms, source -> target, volume frame.
    Returns:
        (B, C, D, H, W) target features: ``out(X_t) = volume(R^T (X_t - t) / s)``.
    """
    b, _, d, h, w = volume.shape
    dev, dt = volume.device, volume.dtype
    zs = torch.linspace(-1, 1, d, device=dev, dtype=dt) if d > 1 else torch.zeros(1, device=dev, dtype=dt)
    ys = torch.linspace(-1, 1, h, device=dev, dtype=dt)
    xs = torch.linspace(-1, 1, w, device=dev, dtype=dt)
    gz, gy, gx = torch.meshgrid(zs, ys, xs, indexing="ij")
    pts = torch.stack([gx, gy, gz], -1).reshape(1, -1, 3)  # (1, DHW, 3) target points
    tr = transform.to(dev, dt)
    rel = (pts - tr.translation[:, None, :]) / tr.scale[:, None, None]
    src = rel @ tr.rotation  # row-vector form of R^T x
    grid = src.reshape(b, d, h, w, 3)
    return F.grid_sample(volume, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def warp_tokens(tokens: torch.Tensor, side: int, transform: RigidTransform) -> torch.Tensor:
    """Lift, warp and project back.

    Args:
        tokens: (B, h*h, c) reference tokens of one block.
        side: h.
    Returns:
        (B, c, h, h) warped feature map.
    """
    return project_volume(warp_volume(lift_tokens(tokens, side), transform))
