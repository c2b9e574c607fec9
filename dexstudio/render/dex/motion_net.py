"""The motion model (the paper's motion trainer), at a configurable small size.

Learns, from frame pairs of the same clip, a pose encoder (image -> explicit rigid pose)
and an expression encoder (image -> implicit expression code), by reconstructing the
driving frame from the source frame:

    source --AppearanceEncoder--> 3D feature volume V (C3, D, r, r) + appearance latent a
    pose(source), pose(driving) --> rigid transform T (R, t, s), source -> driving
    V --warp by T--> V'  --flatten & CNN--> 2D features F (C, r, r)
    expression(driving) --> code e (68 = 52 blendshape-like + 16 detail) --MLP--> latent z_e
    F --StyleGAN2 modulated-conv decoder, style = [a ; z_e]--> driving frame

The encoders' outputs live in the animator's motion space: pose = (yaw, pitch, roll deg,
tx, ty, scale) as ``FrameMotion`` and code = (52 + 16) as its blendshapes + detail, so a
trained motion model labels training video for ``dexstudio train animator``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from dexstudio.core.channels import N_BLENDSHAPES, N_DETAIL
from dexstudio.core.errors import CheckpointError, ModelNotFoundError
from dexstudio.io.atomic import atomic_path, atomic_write_text
from dexstudio.render.dex.config import _from_jsonable, _to_jsonable
from dexstudio.render.dex.warp3d import RigidTransform, euler_to_matrix_torch, project_volume, warp_volume

MOTION_FORMAT = "dexstudio.motion-net"
MOTION_FORMAT_VERSION = 1


@dataclass(frozen=True)
class MotionNetConfig:
    """Sizes of the motion model.

    Attributes:
        image_size: training crop side (a multiple of 2 ** levels).
        base_channels: width of the first encoder level (doubles per level, capped at 8x).
        levels: stride-2 levels of the encoders; the volume side r = image_size / 2**levels.
        volume_channels, volume_depth: the 3D appearance volume (C3, D, r, r).
        appearance_dim: global appearance latent size.
        expression_latent: the expression latent z_e (512 in the paper).
        max_angle: the pose encoder's angle range (degrees, tanh-bounded).
        face_fraction: face size as a fraction of the crop (translation units).
    """

    image_size: int = 256
    base_channels: int = 32
    levels: int = 3
    volume_channels: int = 16
    volume_depth: int = 16
    appearance_dim: int = 256
    expression_latent: int = 512
    max_angle: float = 90.0
    face_fraction: float = 0.6

    @property
    def code_dim(self) -> int:
        return N_BLENDSHAPES + N_DETAIL

    @classmethod
    def tiny(cls) -> "MotionNetConfig":
        return cls(image_size=32, base_channels=8, levels=2, volume_channels=4, volume_depth=4,
                   appearance_dim=32, expression_latent=64)

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MotionNetConfig":
        return _from_jsonable(cls, d)


def _encoder(cfg: MotionNetConfig, out_channels: Optional[int] = None) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = [nn.Conv2d(3, cfg.base_channels, 3, padding=1), nn.LeakyReLU(0.2)]
    ch = cfg.base_channels
    for _ in range(cfg.levels):
        nxt = min(ch * 2, cfg.base_channels * 8)
        layers += [nn.Conv2d(ch, nxt, 4, stride=2, padding=1), nn.GroupNorm(min(8, nxt), nxt), nn.LeakyReLU(0.2),
                   nn.Conv2d(nxt, nxt, 3, padding=1), nn.LeakyReLU(0.2)]
        ch = nxt
    if out_channels is not None:
        layers.append(nn.Conv2d(ch, out_channels, 1))
        ch = out_channels
    return nn.Sequential(*layers), ch


class PoseEncoderNet(nn.Module):
    """(B, 3, S, S) in -1..1 -> (B, 6) pose: yaw, pitch, roll (deg), tx, ty, scale."""

    def __init__(self, cfg: MotionNetConfig) -> None:
        super().__init__()
        self.body, ch = _encoder(cfg)
        self.head = nn.Linear(ch, 6)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.max_angle = cfg.max_angle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(self.body(x).mean((2, 3)))
        ang = torch.tanh(h[:, :3]) * self.max_angle
        tr = torch.tanh(h[:, 3:5]) * 0.5
        sc = torch.exp(0.5 * torch.tanh(h[:, 5:6]))
        return torch.cat([ang, tr, sc], 1)


class ExpressionEncoderNet(nn.Module):
    """(B, 3, S, S) -> (B, 68) code: 52 in 0..1 (blendshape-like) then 16 unbounded detail."""

    def __init__(self, cfg: MotionNetConfig) -> None:
        super().__init__()
        self.body, ch = _encoder(cfg)
        self.head = nn.Linear(ch, cfg.code_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(self.body(x).mean((2, 3)))
        return torch.cat([torch.sigmoid(h[:, :N_BLENDSHAPES]), h[:, N_BLENDSHAPES:]], 1)


class AppearanceEncoderNet(nn.Module):
    """(B, 3, S, S) -> volume (B, C3, D, r, r) and appearance latent (B, A)."""

    def __init__(self, cfg: MotionNetConfig) -> None:
        super().__init__()
        self.c3, self.depth = cfg.volume_channels, cfg.volume_depth
        self.body, ch = _encoder(cfg, cfg.volume_channels * cfg.volume_depth)
        self.latent = nn.Linear(ch, cfg.appearance_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.body(x)
        b, _, r, _ = f.shape
        return f.view(b, self.c3, self.depth, r, r), self.latent(f.mean((2, 3)))


class ModulatedConv2d(nn.Module):
    """StyleGAN2 modulated convolution (per-sample weight modulation + demodulation).

    x (B, Cin, H, W), style (B, S) -> (B, Cout, H, W).
    """

    def __init__(self, cin: int, cout: int, style_dim: int, kernel: int = 3, demodulate: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel) / math.sqrt(cin * kernel * kernel))
        self.affine = nn.Linear(style_dim, cin)
        nn.init.zeros_(self.affine.weight)
        nn.init.ones_(self.affine.bias)
        self.bias = nn.Parameter(torch.zeros(cout))
        self.demodulate, self.pad = demodulate, kernel // 2

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        b, cin, h, w = x.shape
        s = self.affine(style)  # (B, Cin)
        wgt = self.weight[None] * s[:, None, :, None, None]  # (B, Cout, Cin, k, k)
        if self.demodulate:
            wgt = wgt * torch.rsqrt(wgt.pow(2).sum((2, 3, 4), keepdim=True) + 1e-8)
        cout = wgt.shape[1]
        out = F.conv2d(x.reshape(1, b * cin, h, w), wgt.reshape(b * cout, cin, *wgt.shape[3:]),
                       padding=self.pad, groups=b)
        return out.view(b, cout, h, w) + self.bias[None, :, None, None]


class StyleDecoder(nn.Module):
    """Expression-conditioned decoder: (B, C, r, r) features + style -> (B, 3, S, S) in -1..1."""

    def __init__(self, cfg: MotionNetConfig, in_channels: int, style_dim: int) -> None:
        super().__init__()
        ch = min(cfg.base_channels * 2 ** cfg.levels, cfg.base_channels * 8)
        self.inp = nn.Conv2d(in_channels, ch, 3, padding=1)
        self.convs = nn.ModuleList()
        for _ in range(cfg.levels):
            nxt = max(ch // 2, cfg.base_channels)
            self.convs.append(nn.ModuleList([ModulatedConv2d(ch, nxt, style_dim),
                                             ModulatedConv2d(nxt, nxt, style_dim)]))
            ch = nxt
        self.to_rgb = ModulatedConv2d(ch, 3, style_dim, kernel=1, demodulate=False)

    def forward(self, feat: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.inp(feat), 0.2)
        for a, b in self.convs:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = F.leaky_relu(a(x, style), 0.2)
            x = F.leaky_relu(b(x, style), 0.2)
        return torch.tanh(self.to_rgb(x, style))


@dataclass
class MotionOutput:
    """Forward result. prediction (B, 3, S, S); poses (B, 6); code (B, 68) of the driving frame."""

    prediction: torch.Tensor
    source_pose: torch.Tensor
    driving_pose: torch.Tensor
    driving_code: torch.Tensor


def pose_to_transform(src: torch.Tensor, drv: torch.Tensor, face_fraction: float) -> RigidTransform:
    """(B, 6) source and driving poses -> source-to-driving transforms (volume frame)."""
    return RigidTransform.from_camera(euler_to_matrix_torch(src[:, :3]), euler_to_matrix_torch(drv[:, :3]),
                                      src[:, 3:5] * 2 * face_fraction, drv[:, 3:5] * 2 * face_fraction,
                                      src[:, 5], drv[:, 5])


class MotionNet(nn.Module):
    """Pose + expression encoders, appearance volume and the modulated decoder."""

    def __init__(self, config: MotionNetConfig) -> None:
        super().__init__()
        if config.image_size % (2 ** config.levels):
            raise ValueError("image_size must be a multiple of 2 ** levels")
        self.config = config
        self.pose_encoder = PoseEncoderNet(config)
        self.expression_encoder = ExpressionEncoderNet(config)
        self.appearance_encoder = AppearanceEncoderNet(config)
        self.expression_mapping = nn.Sequential(nn.Linear(config.code_dim, config.expression_latent), nn.SiLU(),
                                                nn.Linear(config.expression_latent, config.expression_latent))
        vol = config.volume_channels * config.volume_depth
        self.flatten_cnn = nn.Sequential(nn.Conv2d(vol, vol, 3, padding=1), nn.LeakyReLU(0.2),
                                         nn.Conv2d(vol, vol, 3, padding=1))
        self.decoder = StyleDecoder(config, vol, config.appearance_dim + config.expression_latent)

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) -> pose (B, 6), expression code (B, 68)."""
        return self.pose_encoder(images), self.expression_encoder(images)

    def forward(self, source: torch.Tensor, driving: torch.Tensor) -> MotionOutput:
        vol, app = self.appearance_encoder(source)
        p_s = self.pose_encoder(source)
        p_d, code = self.encode(driving)
        warped = warp_volume(vol, pose_to_transform(p_s, p_d, self.config.face_fraction))
        feat = self.flatten_cnn(project_volume(warped))
        style = torch.cat([app, self.expression_mapping(code)], 1)
        return MotionOutput(self.decoder(feat, style), p_s, p_d, code)


# -- checkpoints ------------------------------------------------------------------------
def save_motion_net(model: MotionNet, folder: Path | str) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    atomic_write_text(folder / "config.json", json.dumps(
        {"format": MOTION_FORMAT, "format_version": MOTION_FORMAT_VERSION, "config": model.config.to_dict()},
        indent=2, sort_keys=True))
    return folder


def load_motion_net(folder: Path | str) -> MotionNet:
    """Load a motion-model checkpoint folder (or a training output folder: its latest)."""
    from dexstudio.render.dex.checkpoint import check_state
    from dexstudio.render.dex.checkpoint import resolve_checkpoint

    folder = resolve_checkpoint(Path(folder))
    cfg_path = folder / "config.json"
    hint = "train one with `dexstudio train motion DATA_DIR --out MOTION_DIR` and pass --motion MOTION_DIR"
    if not cfg_path.is_file() or not (folder / "model.safetensors").is_file():
        raise ModelNotFoundError(f"no motion-model checkpoint at {folder}", hint)
    meta = json.loads(cfg_path.read_text())
    if meta.get("format") != MOTION_FORMAT or meta.get("format_version") != MOTION_FORMAT_VERSION:
        raise CheckpointError(f"{folder} is not a version-{MOTION_FORMAT_VERSION} motion-model checkpoint "
                              f"(format {meta.get('format')!r}, version {meta.get('format_version')!r})", hint)
    model = MotionNet(MotionNetConfig.from_dict(meta["config"]))
    try:
        state = load_file(str(folder / "model.safetensors"))
    except Exception as exc:
        raise CheckpointError(f"{folder / 'model.safetensors'} is unreadable: {exc}", hint) from None
    check_state(model.state_dict(), state, str(folder))
    model.load_state_dict(state)
    return model.eval()
