"""Smoothing filters for per-frame channel data (numpy only, vectorised over channels).

Every filter takes ``values`` of shape (F,) or (F, C) (F frames along axis 0, C channels)
and returns an array of the same shape, float64. Filters never modify their input.

* :func:`one_euro` -- the One-Euro filter (Casiez et al. 2012): an adaptive low-pass
  whose cutoff rises with the speed of the signal (little lag on fast moves, strong
  smoothing when still). Causal (it only looks back), recursive over frames.
* :func:`gaussian` -- a zero-phase Gaussian blur along time (sigma in frames), edges
  reflected.
* :func:`butterworth` -- a 2nd-order Butterworth low-pass applied forward and backward
  (zero phase, like ``scipy.signal.filtfilt``), cutoff in Hz, edges padded by reflection.

The recursive filters loop over frames in Python but each step handles all C channels
at once; the timeline caches their results (they run only when the data or the
settings change, never per evaluate).
"""

from __future__ import annotations

import math

import numpy as np


def _as_2d(values: np.ndarray) -> tuple[np.ndarray, bool]:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 1:
        return a[:, None], True
    if a.ndim != 2:
        raise ValueError(f"filters expect (F,) or (F, C) arrays, got shape {a.shape}")
    return a, False


def _restore(out: np.ndarray, was_1d: bool) -> np.ndarray:
    return out[:, 0] if was_1d else out


def _alpha(cutoff: np.ndarray | float, fps: float) -> np.ndarray | float:
    """Smoothing factor of an exponential low-pass with ``cutoff`` Hz at ``fps``."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    te = 1.0 / fps
    return 1.0 / (1.0 + tau / te)


def one_euro(values: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.0,
             d_cutoff: float = 1.0) -> np.ndarray:
    """One-Euro filter along axis 0.

    Args:
        values: (F,) or (F, C) samples, one row per frame.
        fps: sampling rate in frames per second (> 0).
        min_cutoff: minimum cutoff frequency in Hz (lower = smoother when still).
        beta: speed coefficient (higher = less lag on fast motion).
        d_cutoff: cutoff in Hz of the derivative estimate.
    Returns:
        Filtered array, same shape as ``values``, float64. Frame 0 is passed through.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if min_cutoff <= 0 or d_cutoff <= 0:
        raise ValueError("one_euro cutoffs must be positive")
    x, was_1d = _as_2d(values)
    n = x.shape[0]
    out = np.empty_like(x)
    if n == 0:
        return _restore(out, was_1d)
    a_d = float(_alpha(d_cutoff, fps))
    prev = x[0].copy()
    dprev = np.zeros(x.shape[1])
    out[0] = prev
    two_pi_te = 2.0 * math.pi / fps
    for i in range(1, n):
        xi = x[i]
        dx = (xi - prev) * fps
        dprev = dprev + a_d * (dx - dprev)
        cutoff = min_cutoff + beta * np.abs(dprev)
        # alpha = 1 / (1 + tau/te) with tau = 1/(2 pi cutoff)  ->  r / (1 + r), r = 2 pi cutoff te
        r = two_pi_te * cutoff
        a = r / (1.0 + r)
        prev = prev + a * (xi - prev)
        out[i] = prev
    return _restore(out, was_1d)


def gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing along axis 0.

    Args:
        values: (F,) or (F, C).
        sigma: standard deviation in frames (<= 0 returns a copy).
    Returns:
        Same shape, float64. Edges are reflected (``[c b a | a b c ... ]``).
    """
    x, was_1d = _as_2d(values)
    if sigma <= 0 or x.shape[0] < 2:
        return _restore(x.copy(), was_1d)
    radius = int(math.ceil(4.0 * sigma))
    radius = min(radius, x.shape[0] - 1) if x.shape[0] > 1 else 0
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(x, ((radius, radius), (0, 0)), mode="symmetric")
    # Sum of shifted slices: (2r+1) vectorised passes over (F, C) -- no per-channel loop.
    out = np.zeros_like(x)
    n = x.shape[0]
    for j, w in enumerate(k):
        out += w * padded[j:j + n]
    return _restore(out, was_1d)


def _butter2_coeffs(cutoff_hz: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Biquad coefficients (b, a) of a 2nd-order Butterworth low-pass (bilinear, prewarped)."""
    wc = math.tan(math.pi * cutoff_hz / fps)
    k1 = math.sqrt(2.0) * wc
    k2 = wc * wc
    a0 = 1.0 + k1 + k2
    b = np.array([k2, 2.0 * k2, k2]) / a0
    a = np.array([1.0, 2.0 * (k2 - 1.0) / a0, (1.0 - k1 + k2) / a0])
    return b, a


def _biquad(x: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Direct form II transposed biquad along axis 0, state initialised to the first sample's
    steady state (no start-up transient)."""
    n = x.shape[0]
    y = np.empty_like(x)
    b0, b1, b2 = (float(v) for v in b)
    _, a1, a2 = (float(v) for v in a)
    # steady state for constant input x0: y = x0, z1 = x0*(b1+b2 - a1 - a2)... derive:
    x0 = x[0]
    z2 = (b2 - a2) * x0
    z1 = (b1 - a1) * x0 + z2
    for i in range(n):
        xi = x[i]
        yi = b0 * xi + z1
        z1 = b1 * xi - a1 * yi + z2
        z2 = b2 * xi - a2 * yi
        y[i] = yi
    return y


def butterworth(values: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth low-pass (forward-backward) along axis 0.

    Args:
        values: (F,) or (F, C).
        fps: sampling rate in frames per second.
        cutoff_hz: -3 dB cutoff of one pass in Hz; values at or above Nyquist return a copy.
    Returns:
        Same shape, float64.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    x, was_1d = _as_2d(values)
    n = x.shape[0]
    if cutoff_hz <= 0:
        raise ValueError("butterworth cutoff must be positive")
    if cutoff_hz >= 0.5 * fps * 0.999 or n < 2:
        return _restore(x.copy(), was_1d)
    b, a = _butter2_coeffs(cutoff_hz, fps)
    pad = min(n - 1, max(3, int(3 * fps / cutoff_hz)))
    # odd reflection about the end samples (as filtfilt does) keeps slopes continuous
    head = 2.0 * x[0] - x[pad:0:-1]
    tail = 2.0 * x[-1] - x[-2:-pad - 2:-1]
    ext = np.concatenate([head, x, tail], axis=0)
    y = _biquad(ext, b, a)
    y = _biquad(y[::-1], b, a)[::-1]
    return _restore(np.ascontiguousarray(y[pad:pad + n]), was_1d)


__all__ = ["one_euro", "gaussian", "butterworth"]
