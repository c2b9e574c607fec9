"""Takes (one driving clip's performance) and how the performance layer picks takes.

A :class:`Take` is immutable data: a dense (F, C) matrix of channel values in
``channels.ALL_CHANNEL_IDS`` order, the per-frame valid flags (False = the tracker
lost the face and the values there were interpolated), the take's
:class:`~dexstudio.core.motion.ExpressionModel` (the basis of the detail channels),
and where the take starts on the project timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

import numpy as np

from dexstudio.core.channels import ALL_CHANNEL_IDS, CHANNEL_SPECS
from dexstudio.core.keys import Interp, Key, KeyCurve
from dexstudio.core.motion import ExpressionModel, MotionSource, MotionTrack
from dexstudio.core.timebase import FrameRange, FrameRate

N_CHANNELS = len(ALL_CHANNEL_IDS)
DEFAULT_VALUES: np.ndarray = np.array([CHANNEL_SPECS[c].default for c in ALL_CHANNEL_IDS])
DEFAULT_VALUES.setflags(write=False)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Take:
    """One driving clip's performance (immutable; arrays are read-only).

    Attributes:
        id: unique id within a project (also the display name by default).
        name: display name.
        rate: frame rate of the rows (the project's rate; :meth:`resampled` converts).
        start: project frame of row 0.
        values: (F, C) float32 channel values, ``ALL_CHANNEL_IDS`` order, channel units.
        valid: (F,) bool, False where the values were interpolated (no face found).
        present: (C,) bool, False for channels the source had no data for (they hold
            the channel default, e.g. the detail channels of a Live Link CSV).
        expression_model: basis of the detail channels (None for imported CSVs).
        source: provenance of the driving clip (path, hash, tracker), or None.
    """

    id: str
    name: str
    rate: FrameRate
    start: int
    values: np.ndarray
    valid: np.ndarray
    present: np.ndarray = field(default_factory=lambda: _readonly(np.ones(N_CHANNELS, dtype=bool)))
    expression_model: Optional[ExpressionModel] = None
    source: Optional[MotionSource] = None

    def __post_init__(self) -> None:
        v = np.asarray(self.values, dtype=np.float32)
        if v.ndim != 2 or v.shape[1] != N_CHANNELS:
            raise ValueError(f"take values must be (F, {N_CHANNELS}), got {v.shape}")
        valid = np.asarray(self.valid, dtype=bool).reshape(-1)
        if valid.shape[0] != v.shape[0]:
            raise ValueError("take valid flags must have one entry per frame")
        bad = ~np.isfinite(v)
        if bad.any():  # never let NaN reach the evaluator: hold the channel default there
            v = np.where(bad, DEFAULT_VALUES[None].astype(np.float32), v)
            valid = valid & ~bad.any(axis=1)
        object.__setattr__(self, "values", _readonly(v))
        object.__setattr__(self, "valid", _readonly(valid))
        object.__setattr__(self, "present", _readonly(np.asarray(self.present, dtype=bool).reshape(N_CHANNELS)))
        object.__setattr__(self, "start", int(self.start))

    @property
    def n_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def frame_range(self) -> FrameRange:
        """Project frames covered by the take."""
        return FrameRange(self.start, self.start + self.n_frames)

    @property
    def interpolated(self) -> np.ndarray:
        """(F,) bool: rows whose values were interpolated (``~valid``)."""
        return ~self.valid

    def channel(self, channel_id: str) -> np.ndarray:
        """(F,) float32 raw values of one channel (read-only view)."""
        return self.values[:, ALL_CHANNEL_IDS.index(channel_id)]

    @classmethod
    def from_motion(cls, track: MotionTrack, name: str, start: int = 0,
                    take_id: Optional[str] = None, present: Optional[np.ndarray] = None) -> "Take":
        """Build a take from motion extraction output (or an imported motion file).

        Args:
            track: the motion (F frames).
            name: display name (and id unless ``take_id`` is given).
            start: project frame of the track's frame 0.
            present: (C,) bool, channels the track really has (default: all); e.g. a
                Live Link CSV has no translation, scale or detail.
        """
        kw = {} if present is None else {"present": np.asarray(present, dtype=bool)}
        return cls(id=take_id or name, name=name, rate=track.rate, start=start,
                   values=track.channel_matrix().astype(np.float32), valid=np.asarray(track.valid, bool),
                   expression_model=track.expression_model, source=track.source, **kw)

    def resampled(self, rate: FrameRate) -> "Take":
        """The take at another frame rate: row j takes the (linearly interpolated) value
        at the exact time ``j / rate`` (rational arithmetic for the sample positions)."""
        if rate == self.rate:
            return self
        n_out = int(Fraction(self.n_frames) / self.rate.fraction * rate.fraction)
        n_out = max(n_out, 1)
        # position of output row j in input rows: j * in_rate / out_rate (exact rational)
        ratio = self.rate.fraction / rate.fraction
        num, den = ratio.numerator, ratio.denominator
        j = np.arange(n_out, dtype=np.int64)
        lo = (j * num) // den
        frac = ((j * num) % den) / den
        lo = np.clip(lo, 0, self.n_frames - 1)
        hi = np.clip(lo + 1, 0, self.n_frames - 1)
        v = self.values.astype(np.float64)
        out = v[lo] * (1.0 - frac)[:, None] + v[hi] * frac[:, None]
        valid = self.valid[lo] & (self.valid[hi] | (frac == 0))
        start = int(Fraction(self.start) / self.rate.fraction * rate.fraction)
        return Take(self.id, self.name, rate, start, out.astype(np.float32), valid, self.present,
                     self.expression_model, self.source)

    def with_start(self, start: int) -> "Take":
        return Take(self.id, self.name, self.rate, start, self.values, self.valid, self.present,
                    self.expression_model, self.source)


@dataclass(frozen=True)
class PerformanceSource:
    """Which take(s) feed the performance layer.

    ``value = (1 - w) * take_a + w * take_b`` with ``w = mix(frame)`` clipped to 0..1.
    With ``take_b`` None only ``take_a`` is used; with both None the channel has no
    performance (it holds the source portrait's own value).

    Attributes:
        take_a: id of the main take, or None.
        take_b: id of the second take, or None.
        mix: weight of ``take_b`` over time (a :class:`KeyCurve`; default constant 0).
    """

    take_a: Optional[str] = None
    take_b: Optional[str] = None
    mix: KeyCurve = KeyCurve((), 0.0)

    @classmethod
    def crossfade(cls, take_a: str, take_b: str, over: FrameRange,
                  interp: Interp = Interp.EASE_IN_OUT) -> "PerformanceSource":
        """Cross-fade from ``take_a`` to ``take_b`` over ``over`` (weight 0 at
        ``over.start``, 1 at ``over.stop - 1``; continuous, so no pop)."""
        last = max(over.start, over.stop - 1)
        return cls(take_a, take_b, KeyCurve((Key(over.start, 0.0, interp), Key(last, 1.0, interp)), 0.0))

    @property
    def take_ids(self) -> tuple[str, ...]:
        return tuple(t for t in (self.take_a, self.take_b) if t is not None)


__all__ = ["Take", "PerformanceSource", "DEFAULT_VALUES", "N_CHANNELS"]
