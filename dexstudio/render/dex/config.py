"""Typed configuration of the DeX diffusion animator; every size lives here, saved as JSON.

:class:`DexConfig` is the whole model description (the ``config.json`` of a checkpoint).
:meth:`DexConfig.sd15` gives Stable-Diffusion-1.5-shaped sizes (the default),
:meth:`DexConfig.tiny` a few-thousand-parameter variant that runs a denoising step on a
CPU in milliseconds (what the tests use).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from dataclasses import dataclass, field
from typing import Any, Type, TypeVar

#: Bump when the meaning of saved weights or config fields changes.
FORMAT_VERSION = 1

T = TypeVar("T")


class SchedulerKind(enum.Enum):
    """Which diffusers scheduler drives sampling (all through the same ``step()``)."""

    DDIM = "ddim"
    DPM_SOLVER = "dpmsolver++"
    EULER = "euler"


class WeightShape(enum.Enum):
    """How a guidance weight goes from its start to its end value over the steps."""

    LINEAR = "linear"
    COSINE = "cosine"
    CONSTANT = "constant"


@dataclass(frozen=True)
class VAEConfig:
    """diffusers ``AutoencoderKL`` sizes. Downsampling factor = 2 ** (len(block_out_channels) - 1)."""

    block_out_channels: tuple[int, ...] = (128, 256, 512, 512)
    layers_per_block: int = 2
    latent_channels: int = 4
    norm_num_groups: int = 32
    scaling_factor: float = 0.18215

    @property
    def downsample_factor(self) -> int:
        return 2 ** (len(self.block_out_channels) - 1)


@dataclass(frozen=True)
class UNetConfig:
    """Sizes shared by the reference UNet and the denoising UNet (diffusers blocks).

    Attributes:
        block_out_channels: channels per resolution level (SD-1.5: 320, 640, 1280, 1280).
        down_block_types / up_block_types: diffusers block names.
        layers_per_block: resnets per down block (up blocks get one more).
        num_attention_heads: heads of every spatial transformer (SD-1.5: 8).
        cross_attention_dim: width of the appearance tokens the block cross-attention reads.
        norm_num_groups: GroupNorm groups.
    """

    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280)
    down_block_types: tuple[str, ...] = ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                         "CrossAttnDownBlock2D", "DownBlock2D")
    up_block_types: tuple[str, ...] = ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                                       "CrossAttnUpBlock2D")
    layers_per_block: int = 2
    num_attention_heads: int = 8
    cross_attention_dim: int = 768
    norm_num_groups: int = 32
    norm_eps: float = 1e-5


@dataclass(frozen=True)
class ExpressionConfig:
    """Expression encoder: 52 blendshapes + 16 detail -> ``n_tokens`` x ``token_dim`` tokens.

    The paper's expression code is 512-d, fed as 32 tokens of 16 dims.
    """

    in_dim: int = 68
    hidden_dim: int = 512
    n_tokens: int = 32
    token_dim: int = 16


@dataclass(frozen=True)
class PoseConfig:
    """Pose branch 1 (pose map + encoder) and the geometry shared with branch 2.

    Attributes:
        grid_points: the canonical pose points are a ``grid_points`` x ``grid_points`` grid
            on the front of a face ellipsoid (plus nothing else: they encode only the pose).
        sigma_px: Gaussian splat radius in pose-map pixels.
        encoder_channels: conv widths of the pose encoder; it has ``len - 1`` stride-2
            convolutions, which must equal log2 of the VAE downsampling factor.
        face_fraction: face height as a fraction of the model crop (converts
            ``pose.tx``/``ty`` in face sizes to crop coordinates).
        warp_kernel: kernel size of the conv after each 3D-warp projection (1 keeps
            pose branch 2 at 12 M parameters at SD-1.5 sizes; 3 costs 112 M).
    """

    grid_points: int = 7
    sigma_px: float = 6.0
    encoder_channels: tuple[int, ...] = (16, 32, 96, 256)
    face_fraction: float = 0.6
    warp_kernel: int = 1


@dataclass(frozen=True)
class AppearanceConfig:
    """Global appearance tokens (the block cross-attention's context; SD used text here)."""

    grid: int = 4  # tokens = grid * grid
    hidden: int = 256


@dataclass(frozen=True)
class TemporalConfig:
    """Temporal attention in the last up stage; clips are denoised in overlapping windows."""

    num_attention_heads: int = 8
    max_frames: int = 32
    window: int = 16
    overlap: int = 4


@dataclass(frozen=True)
class GuidanceConfig:
    """Progressive hybrid classifier-free guidance schedule (see ``guider.py`` for the formula).

    ``w(tau) = start + (end - start) * shape(tau)``, ``tau`` = step / (steps - 1) in 0..1.
    """

    ref_start: float = 3.0
    ref_end: float = 1.5
    motion_start: float = 1.5
    motion_end: float = 3.0
    shape: WeightShape = WeightShape.COSINE


@dataclass(frozen=True)
class SamplerConfig:
    kind: SchedulerKind = SchedulerKind.DDIM
    num_inference_steps: int = 25
    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.012
    beta_schedule: str = "scaled_linear"
    seed: int = 0


@dataclass(frozen=True)
class DexConfig:
    """The whole animator (saved as a checkpoint's ``config.json``).

    Attributes:
        image_size: side of the square model crop in pixels (SD-1.5: 512).
    """

    image_size: int = 512
    vae: VAEConfig = field(default_factory=VAEConfig)
    unet: UNetConfig = field(default_factory=UNetConfig)
    expression: ExpressionConfig = field(default_factory=ExpressionConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    guidance: GuidanceConfig = field(default_factory=GuidanceConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)

    def __post_init__(self) -> None:
        f = self.vae.downsample_factor
        if self.image_size % f:
            raise ValueError(f"image_size {self.image_size} must be a multiple of the VAE factor {f}")
        if 2 ** (len(self.pose.encoder_channels) - 1) != f:
            raise ValueError("pose.encoder_channels must have log2(VAE factor) + 1 entries")
        if len(self.unet.down_block_types) != len(self.unet.block_out_channels):
            raise ValueError("unet.down_block_types and block_out_channels differ in length")
        if self.unet.up_block_types[-1] != "CrossAttnUpBlock2D":
            raise ValueError("the last up block must be CrossAttnUpBlock2D (temporal attention lives there)")
        h = self.latent_size
        for c in self.unet.block_out_channels:  # the 3D-warp lift needs 2c/h channels, depth h/2
            if h >= 2 and (2 * c) % h:
                raise ValueError(f"3D lift needs 2*{c} divisible by the token side {h}")
            h //= 2

    @property
    def latent_size(self) -> int:
        return self.image_size // self.vae.downsample_factor

    @property
    def expression_dim(self) -> int:
        """Flattened expression code size (512 in the paper)."""
        return self.expression.n_tokens * self.expression.token_dim

    @classmethod
    def sd15(cls) -> "DexConfig":
        return cls()

    @classmethod
    def tiny(cls) -> "DexConfig":
        """32x32 crops, 2-level VAE (latent 16x16), 2-level UNet of 32/64 channels."""
        return cls(
            image_size=32,
            vae=VAEConfig(block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4),
            unet=UNetConfig(block_out_channels=(32, 64),
                            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                            layers_per_block=1, num_attention_heads=2, cross_attention_dim=32,
                            norm_num_groups=8),
            expression=ExpressionConfig(hidden_dim=64),
            pose=PoseConfig(grid_points=5, sigma_px=1.5, encoder_channels=(8, 16), face_fraction=0.6,
                            warp_kernel=3),
            appearance=AppearanceConfig(grid=2, hidden=16),
            temporal=TemporalConfig(num_attention_heads=2, max_frames=16, window=4, overlap=2),
            sampler=SamplerConfig(num_inference_steps=4),
        )

    # -- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DexConfig":
        return _from_jsonable(cls, data)

    @classmethod
    def from_json(cls, text: str) -> "DexConfig":
        return cls.from_dict(json.loads(text))


def _to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, tuple):
        return [_to_jsonable(v) for v in obj]
    return obj


def _from_jsonable(cls: Type[T], data: Any) -> T:
    """Rebuild dataclass ``cls`` from :func:`_to_jsonable` output; unknown keys raise KeyError."""
    import typing

    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise KeyError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)


def _convert(tp: Any, value: Any) -> Any:
    import typing

    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _from_jsonable(tp, value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if origin is tuple:
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        return tuple(_convert(inner, v) if inner is not Any else v for v in value)
    if tp is float:
        return float(value)
    if tp is int:
        return int(value)
    return value


def is_power_of_two(n: int) -> bool:
    return n > 0 and math.log2(n).is_integer()
