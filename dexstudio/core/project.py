"""The project as one immutable snapshot (:class:`ProjectState`) and its typed parts.

A :class:`~dexstudio.core.document.Document` holds the current ``ProjectState``; every
edit replaces parts of it (commands keep the old and new parts, never a copy of the
whole project). Paths are absolute in memory; the project file stores them relative
to the project folder when they are inside it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

import numpy as np

from dexstudio.core.channel_state import ChannelState, GroupState, default_channel_state
from dexstudio.core.channels import ALL_CHANNEL_IDS, N_BLENDSHAPES, N_DETAIL, ChannelGroup
from dexstudio.core.take import DEFAULT_VALUES, PerformanceSource, Take
from dexstudio.core.timebase import FrameRange, FrameRate

#: Channel index by id (``ALL_CHANNEL_IDS`` order).
CHANNEL_INDEX: dict[str, int] = {cid: i for i, cid in enumerate(ALL_CHANNEL_IDS)}
GROUPS: tuple[ChannelGroup, ...] = tuple(ChannelGroup)


@dataclass(frozen=True)
class SourceInfo:
    """The source portrait.

    Attributes:
        path: absolute path of the portrait image ("" = none yet).
        face_index: which face to animate (None = the animator's rule).
        own_values: (C,) tuple, ``ALL_CHANNEL_IDS`` order: the portrait's own pose and
            expression as channel values (what RELATIVE retargeting maps the reference
            frame to, and what muted channels hold). Defaults to the channel defaults;
            the app fills it from the animator's ``prepare()``.
    """

    path: str = ""
    face_index: Optional[int] = None
    own_values: tuple[float, ...] = tuple(float(v) for v in DEFAULT_VALUES)

    def __post_init__(self) -> None:
        vals = tuple(float(v) for v in self.own_values)
        if len(vals) != len(ALL_CHANNEL_IDS):
            raise ValueError(f"own_values needs {len(ALL_CHANNEL_IDS)} values, got {len(vals)}")
        object.__setattr__(self, "own_values", vals)

    def own(self, channel_id: str) -> float:
        return self.own_values[CHANNEL_INDEX[channel_id]]

    @staticmethod
    def own_values_from(euler: Sequence[float], translation: Sequence[float], scale: float,
                        blendshapes: Sequence[float], detail: Optional[Sequence[float]] = None
                        ) -> tuple[float, ...]:
        """(C,) own values from the portrait's analysed motion (e.g. the fields of the
        ``render.base.FrameMotion`` that an animator's ``prepare()`` reports):
        (yaw, pitch, roll) degrees, (tx, ty), scale, 52 blendshapes, optional 16 detail
        values (default: the detail defaults, 0)."""
        det = tuple(DEFAULT_VALUES[-N_DETAIL:]) if detail is None else tuple(detail)
        vals = tuple(euler) + tuple(translation) + (scale,) + tuple(blendshapes) + det
        if len(vals) != len(ALL_CHANNEL_IDS):
            raise ValueError(f"expected 3 + 2 + 1 + {N_BLENDSHAPES} + {N_DETAIL} values, got {len(vals)}")
        return tuple(float(v) for v in vals)


@dataclass(frozen=True)
class ProjectSettings:
    """Time settings. ``frame_range`` is what is rendered/exported and what change
    events report frames in."""

    rate: FrameRate = FrameRate(30)
    frame_range: FrameRange = FrameRange(0, 90)


class AnimatorKind(enum.Enum):
    WARP = "warp"
    DEX = "dex"


@dataclass(frozen=True)
class RenderSettings:
    """How frames are rendered.

    Attributes:
        animator: which animator renders.
        crop_size: working crop side in pixels.
        checkpoint: path of the DeX checkpoint (DEX animator only), "" = none.
        steps: diffusion sampling steps (DEX only).
        seed: random seed (DEX only).
    """

    animator: AnimatorKind = AnimatorKind.WARP
    crop_size: int = 512
    checkpoint: str = ""
    steps: int = 25
    seed: int = 0


class VideoCodec(enum.Enum):
    H264 = "h264"
    HEVC = "hevc"
    PRORES = "prores"
    PNG_SEQUENCE = "png"


@dataclass(frozen=True)
class ExportSettings:
    """How the finished video is written.

    Attributes:
        path: output path ("" = ask).
        codec: video codec.
        crf: quality for H.264/HEVC (lower = better).
        include_audio: copy the driving clip's audio.
        width, height: output size in pixels (0 = the source's size).
    """

    path: str = ""
    codec: VideoCodec = VideoCodec.H264
    crf: int = 18
    include_audio: bool = True
    width: int = 0
    height: int = 0


def _default_channels() -> tuple[ChannelState, ...]:
    return tuple(default_channel_state(c) for c in ALL_CHANNEL_IDS)


def _default_groups() -> tuple[GroupState, ...]:
    return tuple(GroupState() for _ in GROUPS)


@dataclass(frozen=True)
class ProjectState:
    """A complete, immutable snapshot of a project.

    Attributes:
        settings: rate and frame range.
        source: the source portrait.
        takes: the takes (driving performances), unique ids.
        performance: the document-wide performance source.
        channels: one :class:`ChannelState` per channel, ``ALL_CHANNEL_IDS`` order.
        groups: one :class:`GroupState` per :class:`ChannelGroup`, enum order.
        render, export: settings.
    """

    settings: ProjectSettings = ProjectSettings()
    source: SourceInfo = field(default_factory=SourceInfo)
    takes: tuple[Take, ...] = ()
    performance: PerformanceSource = PerformanceSource()
    channels: tuple[ChannelState, ...] = field(default_factory=_default_channels)
    groups: tuple[GroupState, ...] = field(default_factory=_default_groups)
    render: RenderSettings = RenderSettings()
    export: ExportSettings = ExportSettings()

    def __post_init__(self) -> None:
        if len(self.channels) != len(ALL_CHANNEL_IDS):
            raise ValueError(f"expected {len(ALL_CHANNEL_IDS)} channel states, got {len(self.channels)}")
        if len(self.groups) != len(GROUPS):
            raise ValueError(f"expected {len(GROUPS)} group states, got {len(self.groups)}")
        ids = [t.id for t in self.takes]
        if len(set(ids)) != len(ids):
            raise ValueError(f"take ids must be unique, got {ids}")

    def channel(self, channel_id: str) -> ChannelState:
        return self.channels[CHANNEL_INDEX[channel_id]]

    def group(self, group: ChannelGroup) -> GroupState:
        return self.groups[GROUPS.index(group)]

    def take(self, take_id: str) -> Take:
        for t in self.takes:
            if t.id == take_id:
                return t
        raise KeyError(f"no take {take_id!r}")

    def has_take(self, take_id: str) -> bool:
        return any(t.id == take_id for t in self.takes)

    def with_channels(self, changes: dict[int, ChannelState]) -> "ProjectState":
        chans = list(self.channels)
        for i, st in changes.items():
            chans[i] = st
        return replace(self, channels=tuple(chans))

    def with_groups(self, changes: dict[int, GroupState]) -> "ProjectState":
        gs = list(self.groups)
        for i, st in changes.items():
            gs[i] = st
        return replace(self, groups=tuple(gs))

    def own_vector(self) -> np.ndarray:
        """(C,) float64 source own values."""
        return np.array(self.source.own_values, dtype=np.float64)


__all__ = [
    "SourceInfo", "ProjectSettings", "AnimatorKind", "RenderSettings", "VideoCodec",
    "ExportSettings", "ProjectState", "CHANNEL_INDEX", "GROUPS",
]
