"""Plain, Qt-free value types the curve editor draws and the signals it sends.

The curve editor never reads the document: the editor session builds one
:class:`CurveData` per visible channel from the core document and hands it over;
user gestures come back as :class:`KeyRef` / :class:`KeyMove` values that the session
turns into core commands.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

import numpy as np

from dexstudio.core.keys import Interp


#: Labels of the core's interpolations in the curve editor's context menu.
INTERP_LABELS: dict[Interp, str] = {
    Interp.CONSTANT: "Constant", Interp.LINEAR: "Linear", Interp.BEZIER: "Bezier (auto-clamped)",
    Interp.EASE_IN: "Ease In", Interp.EASE_OUT: "Ease Out", Interp.EASE_IN_OUT: "Ease In-Out",
}


@dataclass(frozen=True)
class KeyRef:
    """One key: its channel and its (integer) frame."""

    channel_id: str
    frame: int


@dataclass(frozen=True)
class KeyMove:
    """A key moved from ``(channel_id, frame)`` to ``(new_frame, new_value)``."""

    channel_id: str
    frame: int
    new_frame: int
    new_value: float


#: Curve ids of blend-weight rows: ``BLEND_PREFIX + channel_id`` (a channel's blend
#: weight key curve, shown as its own row in the curve editor under BLEND).
BLEND_PREFIX = "blend:"


def is_blend_id(curve_id: str) -> bool:
    """True for a blend-weight row id (``"blend:expr.jawOpen"``)."""
    return curve_id.startswith(BLEND_PREFIX)


def channel_of(curve_id: str) -> str:
    """The channel a curve row belongs to (``"blend:expr.jawOpen"`` -> ``"expr.jawOpen"``)."""
    return curve_id[len(BLEND_PREFIX):] if is_blend_id(curve_id) else curve_id


class HandleSide(enum.Enum):
    """Which Bezier handle of a key: the incoming (left) or outgoing (right) one."""

    IN = "in"
    OUT = "out"


@dataclass(frozen=True)
class HandleMove:
    """A Bezier handle dragged: the key's new slopes (channel units per frame).

    ``in_slope`` / ``out_slope``: the new slopes; the side not dragged is either kept
    (broken handles, Shift held) or follows the dragged one (aligned handles).
    """

    channel_id: str
    frame: int
    side: HandleSide
    in_slope: float
    out_slope: float


@dataclass(frozen=True, eq=False)
class CurveData:
    """What the curve editor draws for one channel.

    Attributes:
        channel_id: e.g. ``"expr.mouthSmileLeft"``.
        start: frame number of ``values[0]``.
        values: (F,) float64 evaluated channel values (the result), channel units.
        performance: (F,) float64 raw performance layer, or None when the channel has no
            performance or it equals ``values`` (then it is not drawn twice).
        key_frames: (K,) int64 frame numbers of the keyframe layer.
        key_values: (K,) float64 key values, channel units.
        soft_min, soft_max: the channel's soft range (used by the normalized view).
        muted: drawn dimmed when True.
        key_handles: (K, 2, 2) float64 Bezier handle positions per key,
            ``[k, side (0 in, 1 out), (frame, value)]`` in channel units, or None.
        key_bezier: (K, 2) bool: the key's in / out handle shapes a Bezier segment
            (in: the segment ending at the key, out: the one starting there), or None.
        label: legend text (None: the channel's display name).
    """

    channel_id: str
    start: int
    values: np.ndarray
    performance: Optional[np.ndarray]
    key_frames: np.ndarray
    key_values: np.ndarray
    soft_min: float
    soft_max: float
    muted: bool = False
    key_handles: Optional[np.ndarray] = None
    key_bezier: Optional[np.ndarray] = None
    label: Optional[str] = None

    def to_display(self, v: np.ndarray | float, normalized: bool) -> np.ndarray | float:
        """Channel units -> display units (0..1 over the soft range when normalized)."""
        if not normalized:
            return v
        span = (self.soft_max - self.soft_min) or 1.0
        return (np.asarray(v, dtype=np.float64) - self.soft_min) / span

    def from_display(self, d: float, normalized: bool) -> float:
        """Display units -> channel units."""
        if not normalized:
            return float(d)
        span = (self.soft_max - self.soft_min) or 1.0
        return float(d) * span + self.soft_min

    def value_scale(self, normalized: bool) -> float:
        """Channel units per display unit."""
        return ((self.soft_max - self.soft_min) or 1.0) if normalized else 1.0
