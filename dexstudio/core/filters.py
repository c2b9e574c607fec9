"""Smoothing filters for per-frame channel data (numpy only, vectorised over channels).

Every filter takes ``values`` of shape (F,) or (F, C) (F frames along axis 0, C channels)
and returns an array of the same shape, float64. Filters never modify their input.

* :func:`one_euro` -- the One-Euro filter (Casiez et al. 2012): an adaptive low-pass
  whose cutoff rises with the speed of the signal (little lag on fast moves, strong
  smoothing when still). Causal (it only looks back).
* :func:`gaussian` -- a zero-phase Gaussian blur along time (sigma in frames), edges
  reflected.
* :func:`butterworth` -- a 2nd-order Butterworth low-pass applied forward and backward
  (zero phase, like ``scipy.signal.filtfilt``), cutoff in Hz, edges padded by reflection.

The recursive filters are solved in blocks of frames (Python loops run F/32 or F/64
times, each step handling all C channels at once); the timeline caches their results
(they run only when the data or the settings change, never per evaluate).
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


_BLOCK = 32


def first_order_recurrence(x: np.ndarray, a: np.ndarray, y0: np.ndarray) -> np.ndarray:
    """Solve ``y[n] = y[n-1] + a[n] (x[n] - y[n-1])`` for n >= 1 with ``y[0] = y0``.

    Vectorised in blocks of 32 frames (cumulative products inside a block), so the
    Python loop runs F/32 times, not F times.

    Args:
        x: (F, C) input.
        a: (F, C) or (F, 1) smoothing factors in (0, 1] (row 0 unused).
        y0: (C,) first output.
    Returns:
        (F, C) float64.
    """
    n = x.shape[0]
    y = np.empty_like(x)
    if n == 0:
        return y
    y[0] = y0
    prev = np.asarray(y0, dtype=np.float64)
    a = np.broadcast_to(a, x.shape)
    for s in range(1, n, _BLOCK):
        e = min(n, s + _BLOCK)
        ab = a[s:e]
        g = np.maximum(1.0 - ab, 1e-3)  # keeps the block products far from underflow
        P = np.cumprod(g, axis=0)
        y[s:e] = P * (prev + np.cumsum(ab * x[s:e] / P, axis=0))
        prev = y[e - 1]
    return y


def one_euro(values: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.0,
             d_cutoff: float = 1.0) -> np.ndarray:
    """One-Euro filter along axis 0 (the reference implementation's form: the speed is
    the low-passed derivative of the *raw* signal).

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
    if n == 0:
        return _restore(np.empty_like(x), was_1d)
    dx = np.zeros_like(x)
    dx[1:] = np.diff(x, axis=0) * fps
    a_d = float(_alpha(d_cutoff, fps))
    edx = first_order_recurrence(dx, np.full((n, 1), a_d), np.zeros(x.shape[1]))
    r = (2.0 * math.pi / fps) * (min_cutoff + beta * np.abs(edx))
    out = first_order_recurrence(x, r / (1.0 + r), x[0])
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


def _biquad(x: np.ndarray, b: np.ndarray, a: np.ndarray, block: int = 64) -> np.ndarray:
    """Direct-form-II-transposed biquad along axis 0, state initialised to the first
    sample's steady state (no start-up transient).

    Computed in blocks with the state-space form ``s' = A s + B x``, ``y = C s + D x``:
    per block ``Y = H X + O s`` and ``s = A^L s + G X`` (two small matrix products), so
    the Python loop runs F/64 times.
    """
    n, c = x.shape
    b0, b1, b2 = (float(v) for v in b)
    _, a1, a2 = (float(v) for v in a)
    A = np.array([[-a1, 1.0], [-a2, 0.0]])
    B = np.array([b1 - a1 * b0, b2 - a2 * b0])
    L = block
    powers = [np.eye(2)]
    for _ in range(L):
        powers.append(A @ powers[-1])
    h = np.empty(L)
    h[0] = b0
    for m in range(1, L):
        h[m] = (powers[m - 1] @ B)[0]
    idx = np.arange(L)
    diff = idx[:, None] - idx[None, :]
    H = np.where(diff >= 0, h[np.clip(diff, 0, L - 1)], 0.0)      # (L, L)
    O = np.stack([powers[k][0] for k in range(L)])                 # (L, 2)
    G = np.stack([powers[L - 1 - i] @ B for i in range(L)], 1)     # (2, L)
    AL = powers[L]
    x0 = x[0]
    # state (2, C), steady state of a constant x0; state updates are elementwise
    s0 = (b1 - a1) * x0 + (b2 - a2) * x0
    s1 = (b2 - a2) * x0
    pad = (-n) % L
    # one contiguous row per column: every column's products take the same BLAS path
    # whatever the number of columns, so a column filters to the same bits alone or in a group
    xc = np.zeros((c, n + pad))
    xc[:, :n] = x.T
    yc = np.empty_like(xc)
    for k in range(0, n + pad, L):
        X = xc[:, k:k + L, None]                            # (C, L, 1)
        yc[:, k:k + L] = (H @ X)[:, :, 0] + O[None, :, 0] * s0[:, None] + O[None, :, 1] * s1[:, None]
        gx = (G @ X)[:, :, 0]                              # (C, 2)
        s0, s1 = AL[0, 0] * s0 + AL[0, 1] * s1 + gx[:, 0], AL[1, 0] * s0 + AL[1, 1] * s1 + gx[:, 1]
    y = yc.T
    return y[:n]


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


__all__ = ["one_euro", "gaussian", "butterworth", "first_order_recurrence"]
