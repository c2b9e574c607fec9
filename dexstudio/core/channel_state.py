"""Per-channel and per-group editing state (immutable data, no algorithms).

Evaluation order of one channel at frame ``f`` (see :mod:`dexstudio.core.evaluator`):

1. performance ``p(f)``: the channel's column of the performance source's take(s)
   (edge values held outside a take), smoothed by :class:`Smoothing` (non-destructive:
   the take's raw data is never modified);
2. retarget ``r(f)`` (:class:`Retarget`):

   - RELATIVE (the default of every channel), additive channels (angles,
     translations, blendshapes, detail): ``r = own + gain * (p(f) - p(ref)) + offset``
     -- the driver's value at the reference frame maps to the source portrait's own
     value ``own`` (0 for detail). Relative pose is additive in Euler angles, per
     channel: the channels are the curves the user edits, so the value drawn on the
     yaw curve is the value rendered (composing rotation matrices instead would make
     every angle depend on the other two; for the head's range the two rules differ
     by about a degree at most);
   - RELATIVE, ``pose.scale`` (multiplicative): ``r = own * (p(f) / p(ref)) ** gain + offset``;
   - ABSOLUTE: ``r = default + gain * (p(f) - default) + offset`` (gain scales around
     the channel's neutral value, e.g. 0 degrees of yaw);
   - then clamped to ``[clamp_min, clamp_max]`` when set.
   A channel with no performance (no take) has ``r = own + offset``.
3. keys ``k(f)`` combine by :class:`CombineMode` (only when the channel has keys):
   OVERRIDE ``v = k``; OFFSET ``v = r + k``; BLEND ``v = (1 - w) r + w k`` with
   ``w = blend_weight(f)`` clipped to 0..1;
4. freeze (:class:`Freeze`) holds the result of 1-3 at a value or at a frame's value,
   on every frame or within a range;
5. mute (channel, group, or not soloed while something is soloed) -> ``own``;
6. clamp to the channel's hard range.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Optional

from dexstudio.core.keys import KeyCurve
from dexstudio.core.take import PerformanceSource
from dexstudio.core.timebase import FrameRange


def _finite(obj: object, *names: str) -> None:
    for name in names:
        v = float(getattr(obj, name))
        if not math.isfinite(v):
            raise ValueError(f"{type(obj).__name__}.{name} must be a finite number, got {v}")
        object.__setattr__(obj, name, v)


class CombineMode(enum.Enum):
    """How the keyframe layer combines with the (retargeted) performance."""

    OVERRIDE = "override"
    OFFSET = "offset"
    BLEND = "blend"


class RetargetMode(enum.Enum):
    RELATIVE = "relative"
    ABSOLUTE = "absolute"


class FreezeMode(enum.Enum):
    VALUE = "value"   # hold ``Freeze.value``
    FRAME = "frame"   # hold the channel's own result at ``Freeze.frame``


class FilterKind(enum.Enum):
    NONE = "none"
    ONE_EURO = "one_euro"
    GAUSSIAN = "gaussian"
    BUTTERWORTH = "butterworth"


@dataclass(frozen=True)
class Retarget:
    """Maps the performance onto the source portrait.

    Attributes:
        mode: RELATIVE (default for driving takes) or ABSOLUTE.
        gain: multiplier of the motion (0.5 = half the head yaw).
        offset: added after the gain, in channel units.
        reference_frame: project frame whose performance value maps to the source's
            own value in RELATIVE mode.
        clamp_min, clamp_max: optional clamp of the retargeted value.
    """

    mode: RetargetMode = RetargetMode.RELATIVE
    gain: float = 1.0
    offset: float = 0.0
    reference_frame: int = 0
    clamp_min: Optional[float] = None
    clamp_max: Optional[float] = None

    def __post_init__(self) -> None:
        _finite(self, "gain", "offset")
        object.__setattr__(self, "reference_frame", int(self.reference_frame))
        for name in ("clamp_min", "clamp_max"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, float(v))
                if math.isnan(v):
                    raise ValueError(f"retarget {name} must be a number")
        if self.clamp_min is not None and self.clamp_max is not None and self.clamp_min > self.clamp_max:
            raise ValueError(f"retarget clamp_min {self.clamp_min} is above clamp_max {self.clamp_max}")


@dataclass(frozen=True)
class Freeze:
    """Hold a channel.

    Attributes:
        mode: VALUE (hold ``value``) or FRAME (hold the channel's value at ``frame``).
        value: held value for VALUE mode, channel units.
        frame: project frame for FRAME mode.
        range: frames held (None = every frame).
    """

    mode: FreezeMode = FreezeMode.FRAME
    value: float = 0.0
    frame: int = 0
    range: Optional[FrameRange] = None

    def __post_init__(self) -> None:
        _finite(self, "value")
        object.__setattr__(self, "frame", int(self.frame))


@dataclass(frozen=True)
class Smoothing:
    """A non-destructive filter on the performance layer.

    ``smoothed = raw + strength * (filter(raw) - raw)``.

    Attributes:
        kind: the filter (NONE = raw).
        strength: 0..1 mix between raw (0) and fully filtered (1).
        sigma: Gaussian standard deviation in frames.
        cutoff_hz: Butterworth cutoff (Hz).
        min_cutoff, beta: One-Euro parameters (Hz, unitless).
    """

    kind: FilterKind = FilterKind.NONE
    strength: float = 1.0
    sigma: float = 2.0
    cutoff_hz: float = 4.0
    min_cutoff: float = 1.0
    beta: float = 0.0

    def __post_init__(self) -> None:
        _finite(self, "strength", "sigma", "cutoff_hz", "min_cutoff", "beta")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"smoothing strength must be in 0..1, got {self.strength}")
        if self.sigma < 0 or self.cutoff_hz <= 0 or self.min_cutoff <= 0 or self.beta < 0:
            raise ValueError("smoothing needs sigma >= 0, cutoff_hz > 0, min_cutoff > 0 and beta >= 0")

    @property
    def active(self) -> bool:
        return self.kind is not FilterKind.NONE and self.strength > 0.0


@dataclass(frozen=True)
class ChannelState:
    """Everything the user set on one channel.

    Attributes:
        keys: the keyframe layer.
        combine: how keys combine with the performance.
        blend_weight: weight curve of BLEND mode (default constant 0.5).
        retarget: performance -> portrait mapping.
        smoothing: filter on the performance layer.
        freeze: hold, or None.
        mute, solo, lock: flags (lock forbids edits; it does not change evaluation).
        source: per-channel performance source (None = the document's).
    """

    keys: KeyCurve = KeyCurve()
    combine: CombineMode = CombineMode.OVERRIDE
    blend_weight: KeyCurve = KeyCurve((), 0.5)
    retarget: Retarget = Retarget()
    smoothing: Smoothing = Smoothing()
    freeze: Optional[Freeze] = None
    mute: bool = False
    solo: bool = False
    lock: bool = False
    source: Optional[PerformanceSource] = None


@dataclass(frozen=True)
class GroupState:
    """Flags of a channel group (they apply to every channel of the group)."""

    mute: bool = False
    solo: bool = False
    lock: bool = False


#: Every channel, detail included, defaults to RELATIVE: a driving take's value at the
#: reference frame maps to the portrait's own value. For the detail channels (coefficients
#: of the take's residual basis) the portrait's own value is 0, so ``detail(f) - detail(ref)``
#: is applied and the reference frame renders as the portrait itself (the identity).
DEFAULT_STATE = ChannelState()


def default_channel_state(channel_id: str) -> ChannelState:
    """The state of a fresh channel."""
    return DEFAULT_STATE


__all__ = [
    "CombineMode", "RetargetMode", "FreezeMode", "FilterKind", "Retarget", "Freeze",
    "Smoothing", "ChannelState", "GroupState", "default_channel_state",
]
