"""Keyframes and key curves (data) and their vectorised evaluation (algorithm).

A :class:`KeyCurve` is an immutable, sorted tuple of :class:`Key` (at most one key per
frame). Evaluation at integer frames:

* before the first key / after the last key the curve holds the end value;
* segment ``[k_i, k_i+1)`` uses the interpolation of its *left* key ``k_i``:

  - ``CONSTANT``: holds ``v_i`` (a step at ``k_i+1``);
  - ``LINEAR``: straight line;
  - ``BEZIER``: a cubic Hermite segment, i.e. a 1-D cubic Bezier with handles at
    one third of the segment length: left handle ``(k_i + h/3, v_i + out_slope_i h/3)``,
    right handle ``(k_i+1 - h/3, v_i+1 - in_slope_i+1 h/3)``. A slope of ``None``
    means *auto-clamped*: 0 at the first/last key and at local extremes, otherwise the
    Fritsch-Butland harmonic mean of the neighbouring secants (as PCHIP). Auto-clamped
    segments are monotone, so they never leave the range of their two key values;
    explicit (edited) handles may overshoot, as the user asked;
  - ``EASE_IN`` / ``EASE_OUT`` / ``EASE_IN_OUT``: ``v_i + (v_i+1 - v_i) e(t)`` with
    ``e(t) = t^2``, ``1 - (1 - t)^2``, ``3t^2 - 2t^3`` (``t`` in 0..1 over the segment).

Values are in the channel's unit; slopes in units per frame.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np


class Interp(enum.Enum):
    """Interpolation of the segment that starts at a key."""

    CONSTANT = "constant"
    LINEAR = "linear"
    BEZIER = "bezier"
    EASE_IN = "ease_in"
    EASE_OUT = "ease_out"
    EASE_IN_OUT = "ease_in_out"


_INTERP_CODE = {m: i for i, m in enumerate(Interp)}


@dataclass(frozen=True)
class Key:
    """One keyframe.

    Attributes:
        frame: integer project frame.
        value: value in the channel's unit.
        interp: interpolation of the segment from this key to the next.
        in_slope, out_slope: Bezier handle slopes in units per frame (``None`` =
            auto-clamped). Only used by BEZIER segments.
    """

    frame: int
    value: float
    interp: Interp = Interp.BEZIER
    in_slope: Optional[float] = None
    out_slope: Optional[float] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame", int(self.frame))
        object.__setattr__(self, "value", float(self.value))
        for name in ("in_slope", "out_slope"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, float(v))
                if not np.isfinite(float(v)):
                    raise ValueError(f"key {name} must be finite, got {v}")
        if not np.isfinite(self.value):
            raise ValueError(f"key value must be finite, got {self.value}")


@dataclass(frozen=True)
class KeyCurve:
    """An immutable sorted set of keys (one per frame).

    Attributes:
        keys: keys sorted by frame, unique frames.
        default: value of the curve when it has no keys.
    """

    keys: tuple[Key, ...] = ()
    default: float = 0.0

    def __post_init__(self) -> None:
        frames = [k.frame for k in self.keys]
        if any(b <= a for a, b in zip(frames, frames[1:])):
            by_frame = {k.frame: k for k in self.keys}  # last one wins
            object.__setattr__(self, "keys", tuple(by_frame[f] for f in sorted(by_frame)))
        object.__setattr__(self, "default", float(self.default))
        if not np.isfinite(self.default):
            raise ValueError(f"curve default must be finite, got {self.default}")

    # -- queries ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    @property
    def frames(self) -> tuple[int, ...]:
        return tuple(k.frame for k in self.keys)

    def key_at(self, frame: int) -> Optional[Key]:
        for k in self.keys:
            if k.frame == frame:
                return k
        return None

    def index_of(self, frame: int) -> int:
        """Index of the key at ``frame``; ``KeyError`` if there is none."""
        for i, k in enumerate(self.keys):
            if k.frame == frame:
                return i
        raise KeyError(f"no key at frame {frame}")

    # -- edits: return new curves --------------------------------------------------------
    def with_key(self, key: Key) -> "KeyCurve":
        """Add ``key`` (replacing any key at the same frame)."""
        return KeyCurve(tuple(k for k in self.keys if k.frame != key.frame) + (key,), self.default)

    def without_key(self, frame: int) -> "KeyCurve":
        self.index_of(frame)
        return KeyCurve(tuple(k for k in self.keys if k.frame != frame), self.default)

    def moved(self, frame: int, new_frame: int, new_value: Optional[float] = None) -> "KeyCurve":
        """Move the key at ``frame`` to ``new_frame`` (a key already there is replaced)."""
        k = self.keys[self.index_of(frame)]
        nk = replace(k, frame=new_frame, value=k.value if new_value is None else new_value)
        rest = tuple(x for x in self.keys if x.frame not in (frame, new_frame))
        return KeyCurve(rest + (nk,), self.default)

    def with_value(self, frame: int, value: float) -> "KeyCurve":
        k = self.keys[self.index_of(frame)]
        return self.with_key(replace(k, value=value))

    def with_interp(self, frame: int, interp: Interp) -> "KeyCurve":
        k = self.keys[self.index_of(frame)]
        return self.with_key(replace(k, interp=interp))

    def with_slopes(self, frame: int, in_slope: Optional[float], out_slope: Optional[float]) -> "KeyCurve":
        """Set the Bezier handle slopes of a key (``None`` = back to auto-clamped)."""
        k = self.keys[self.index_of(frame)]
        return self.with_key(replace(k, in_slope=in_slope, out_slope=out_slope))

    # -- evaluation -----------------------------------------------------------------------
    def auto_slopes(self) -> np.ndarray:
        """(K,) auto-clamped slopes (units per frame) for every key."""
        return _auto_slopes(np.array(self.frames, dtype=np.float64),
                            np.array([k.value for k in self.keys], dtype=np.float64))

    def slopes(self) -> tuple[np.ndarray, np.ndarray]:
        """(in, out) effective slopes, (K,) each: explicit handles or auto-clamped."""
        auto = self.auto_slopes()
        ins = np.array([auto[i] if k.in_slope is None else k.in_slope for i, k in enumerate(self.keys)])
        outs = np.array([auto[i] if k.out_slope is None else k.out_slope for i, k in enumerate(self.keys)])
        return ins, outs

    def handles(self, frame: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """UI handle positions ``((frame, value) in, (frame, value) out)`` of the key at
        ``frame``: one third of the neighbouring segment away (a handle of an end key
        uses the length of its only segment, or 1 frame for a single key)."""
        i = self.index_of(frame)
        ins, outs = self.slopes()
        k = self.keys[i]
        h_in = (k.frame - self.keys[i - 1].frame) if i > 0 else None
        h_out = (self.keys[i + 1].frame - k.frame) if i + 1 < len(self.keys) else None
        h_in = h_in or h_out or 1
        h_out = h_out or h_in or 1
        return ((k.frame - h_in / 3.0, k.value - ins[i] * h_in / 3.0),
                (k.frame + h_out / 3.0, k.value + outs[i] * h_out / 3.0))

    def evaluate(self, frames: np.ndarray | int) -> np.ndarray:
        """Values at integer ``frames``: (N,) -> (N,) float64 (scalar -> (1,))."""
        return evaluate_curve(self, np.atleast_1d(np.asarray(frames, dtype=np.int64)))


def _auto_slopes(f: np.ndarray, v: np.ndarray) -> np.ndarray:
    n = f.shape[0]
    m = np.zeros(n)
    if n < 3:
        return m
    h = np.diff(f)
    d = np.diff(v) / h
    h0, h1, d0, d1 = h[:-1], h[1:], d[:-1], d[1:]
    same = (d0 * d1) > 0
    w1 = 2.0 * h1 + h0
    w2 = h1 + 2.0 * h0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hm = (w1 + w2) / (w1 / d0 + w2 / d1)
    m[1:-1] = np.where(same, hm, 0.0)
    return m


def evaluate_curve(curve: KeyCurve, frames: np.ndarray) -> np.ndarray:
    """Vectorised evaluation of ``curve`` at (N,) int64 ``frames`` -> (N,) float64."""
    n = frames.shape[0]
    keys = curve.keys
    if not keys:
        return np.full(n, curve.default)
    kf = np.array([k.frame for k in keys], dtype=np.int64)
    kv = np.array([k.value for k in keys], dtype=np.float64)
    if len(keys) == 1:
        return np.full(n, kv[0])
    codes = np.array([_INTERP_CODE[k.interp] for k in keys], dtype=np.int8)
    ins, outs = curve.slopes()
    i = np.clip(np.searchsorted(kf, frames, side="right") - 1, 0, len(keys) - 2)
    f0 = kf[i]
    h = (kf[i + 1] - f0).astype(np.float64)
    t = np.clip((frames - f0) / h, 0.0, 1.0)
    v0 = kv[i]
    dv = kv[i + 1] - v0
    code = codes[i]
    out = v0.copy()  # CONSTANT
    sel = code == _INTERP_CODE[Interp.LINEAR]
    out[sel] = v0[sel] + dv[sel] * t[sel]
    sel = code == _INTERP_CODE[Interp.EASE_IN]
    out[sel] = v0[sel] + dv[sel] * t[sel] ** 2
    sel = code == _INTERP_CODE[Interp.EASE_OUT]
    out[sel] = v0[sel] + dv[sel] * (1.0 - (1.0 - t[sel]) ** 2)
    sel = code == _INTERP_CODE[Interp.EASE_IN_OUT]
    ts = t[sel]
    out[sel] = v0[sel] + dv[sel] * (ts * ts * (3.0 - 2.0 * ts))
    sel = code == _INTERP_CODE[Interp.BEZIER]
    if sel.any():
        ts, hs = t[sel], h[sel]
        t2, t3 = ts * ts, ts * ts * ts
        h00 = 2 * t3 - 3 * t2 + 1
        h10 = t3 - 2 * t2 + ts
        h01 = -2 * t3 + 3 * t2
        h11 = t3 - t2
        ii = i[sel]
        out[sel] = (h00 * kv[ii] + h10 * hs * outs[ii] + h01 * kv[ii + 1] + h11 * hs * ins[ii + 1])
    # exact end holds (and exact key values at key frames)
    out[frames <= kf[0]] = kv[0]
    out[frames >= kf[-1]] = kv[-1]
    at_key = frames == f0
    out[at_key] = v0[at_key]
    return out


__all__ = ["Interp", "Key", "KeyCurve", "evaluate_curve"]
