"""Frame motion -> the animator's conditioning tensors (pose map, rigid transform, expression).

Disentanglement is structural here: the pose inputs (pose map, rigid transform) are
functions of ``euler``/``translation``/``scale`` only, the expression code of
``blendshapes``/``detail``/``detail_weight`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from dexstudio.core.channels import N_BLENDSHAPES, N_DETAIL
from dexstudio.core.rotation import euler_to_matrix
from dexstudio.render.base import FrameMotion
from dexstudio.render.dex.config import DexConfig
from dexstudio.render.dex.warp3d import RigidTransform


def canonical_points(grid: int) -> np.ndarray:
    """(grid*grid, 3) points on the front of a face ellipsoid, camera frame, face-height units.

    x right, y up, z toward the viewer; the face spans about -0.5..0.5 in y. They carry no
    identity or expression: they exist only to make the pose visible in the pose map.
    """
    u = np.linspace(-0.8, 0.8, grid)
    gx, gy = np.meshgrid(u, u)
    x, y = gx * 0.4, gy * 0.5
    z = 0.35 * np.sqrt(np.clip(1 - gx ** 2 * 0.8 - gy ** 2 * 0.8, 0.05, None))
    return np.stack([x.ravel(), y.ravel(), z.ravel()], 1)


def expression_code(motion: FrameMotion) -> np.ndarray:
    """(68,) float32: 52 blendshapes then 16 detail x detail_weight."""
    return np.concatenate([np.asarray(motion.blendshapes, np.float32),
                           np.asarray(motion.detail, np.float32) * np.float32(motion.detail_weight)])


def face_center(motion: FrameMotion, config: DexConfig) -> np.ndarray:
    """(2,) face centre in crop units (-1..1): the crop is centred on the source's own face."""
    return np.asarray(motion.translation, np.float64) * 2.0 * config.pose.face_fraction


def render_pose_map(motions: Sequence[FrameMotion], config: DexConfig) -> torch.Tensor:
    """Projected canonical pose points splatted into a map.

    Returns:
        (B, 3, S, S) float32, S = ``config.image_size``; channel 0 = coverage, 1/2 = the
        canonical x/y of the covering point (so the map tells left from right and up
        from down), each Gaussian-splatted with ``config.pose.sigma_px``.
    """
    size = config.image_size
    pts = canonical_points(config.pose.grid_points)
    out = np.zeros((len(motions), 3, size, size), np.float32)
    coords = (np.arange(size) + 0.5) / size * 2 - 1
    sig = config.pose.sigma_px * 2.0 / size
    color = np.stack([np.ones(len(pts)), pts[:, 0] / 0.4, pts[:, 1] / 0.5], 1)
    for i, m in enumerate(motions):
        rot = euler_to_matrix(*m.euler)
        p = (pts @ rot.T) * m.scale * 2.0 * config.pose.face_fraction
        cx, cy = face_center(m, config)
        px, py = p[:, 0] + cx, -p[:, 1] + cy  # image y down
        gx = np.exp(-((coords[None, :] - px[:, None]) ** 2) / (2 * sig ** 2))  # (K, S)
        gy = np.exp(-((coords[None, :] - py[:, None]) ** 2) / (2 * sig ** 2))
        out[i] = np.einsum("kc,ky,kx->cyx", color, gy, gx).astype(np.float32)
    return torch.from_numpy(out)


def rigid_transforms(source: FrameMotion, targets: Sequence[FrameMotion],
                     config: DexConfig) -> RigidTransform:
    """Source-to-target transforms (volume frame) for pose branch 2, one per target."""
    n = len(targets)
    rs = torch.from_numpy(euler_to_matrix(*source.euler)).float().expand(n, 3, 3)
    rt = torch.from_numpy(np.stack([euler_to_matrix(*m.euler) for m in targets])).float()
    cs = torch.from_numpy(face_center(source, config)).float().expand(n, 2)
    ct = torch.from_numpy(np.stack([face_center(m, config) for m in targets])).float()
    ss = torch.full((n,), float(source.scale))
    st = torch.tensor([float(m.scale) for m in targets])
    return RigidTransform.from_camera(rs, rt, cs, ct, ss, st)


@dataclass(frozen=True)
class MotionConditioning:
    """The conditioning inputs of B target frames.

    Attributes:
        pose_map: (B, 3, S, S) pose branch 1 input.
        transform: B source-to-target transforms, pose branch 2 input.
        expression: (B, 68) expression code (the expression encoder's input).
    """

    pose_map: torch.Tensor
    transform: RigidTransform
    expression: torch.Tensor

    @property
    def batch(self) -> int:
        return int(self.expression.shape[0])


def build_conditioning(source: FrameMotion, targets: Sequence[FrameMotion],
                       config: DexConfig) -> MotionConditioning:
    """Conditioning tensors for ``targets`` relative to the source's own motion."""
    if config.expression.in_dim != N_BLENDSHAPES + N_DETAIL:
        raise ValueError("expression.in_dim must be 52 + 16 for FrameMotion input")
    expr = torch.from_numpy(np.stack([expression_code(m) for m in targets]))
    return MotionConditioning(render_pose_map(targets, config),
                              rigid_transforms(source, targets, config), expr)
