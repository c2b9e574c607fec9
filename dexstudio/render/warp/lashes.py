"""A closing eye's lashes hang from its lid instead of standing above it.

An open eye's upper lashes stand up from the lid margin; as the lid comes down over
the eyeball they turn with it and, on a shut eye, hang down from the margin over the
lower lid. The warp slid the source's standing lashes down with the margin, so a shut
eye showed them still pointing up, like an open eye looking down.

As the eye closes (:func:`dexstudio.render.warp.eyes.lash_strength`), the lid band lifts
the standing lashes off above their roots (``eyes.lid_map(lift=...)``: it shows the skin
above them; roots and eyeliner stay) and :func:`hanging_lash_layer` paints them below the
margin: the source's lash band mirrored about its margin (``_HANG_LENGTH`` of its height),
each pixel as opaque as it is darker than the lid's skin (lashes, not the skin between
them).
"""

from __future__ import annotations

import numpy as np

from dexstudio.render.warp.eyes import EyeSpec, lash_band, lid_margin_frames
from dexstudio.render.warp.paint_layer import PaintLayer
from dexstudio.render.warp.warp_field import sample_at

#: hanging lashes reach this share of the lash band's height below the margin. Eye error
#: in self-reenactment on blink frames (d10 + d0 + d7 + d3, roots kept 0.8): 0.7: 72.56,
#: 1.0: 71.94, 1.3: 71.74 (longer than the lashes stood; not taken)
_HANG_LENGTH = 1.0
#: lid skin less than this many levels lighter than the lash line shows no lashes
#: (a pale-lashed or dark-lidded source: every pixel of its band would read as lash)
_MIN_CONTRAST = 15.0
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def hanging_lash_layer(crop: np.ndarray, source: np.ndarray, target: np.ndarray, eye: EyeSpec,
                       lash_rgb: np.ndarray, strength: float) -> PaintLayer | None:
    """The lashes of a closing eye hanging below its lid margin (module doc).

    Args:
        crop: (S, S, 3) uint8 the source crop.
        source, target: (478, 2+) the source's and the frame's points, crop pixels.
        eye: which eye.
        lash_rgb: (3,) the source's lash colour (:func:`eyes.lash_colour`).
        strength: 0..1 how shut the eye is (:func:`eyes.lash_strength`); 0 gives None.
    Returns:
        a paint layer (crop pixels), or None (eye open, no lashes darker than the skin).
    """
    if strength <= 0.0:
        return None
    S = crop.shape[0]
    ft, fs, (tm, vtm, usm, vsm), (tc, vtc, usc, vsc) = lid_margin_frames(target, source, eye)
    at, et, nt, wt = ft
    as_, es, ns, ws = fs
    k = ws / wt
    # the lid skin just above the standing lashes, and the lashes' own darkness
    u_line = np.linspace(tm[0], tm[-1], 32)
    m_s, c_s = np.interp(u_line, tm, vsm), np.interp(u_line, tc, vsc)
    band = lash_band(source, eye, m_s, c_s)
    us_line = np.interp(u_line, tm, usm)
    skin_pts = as_ + np.outer(us_line * ws, es) + np.outer(m_s - 1.5 * band, ns)
    skin = float(np.median(sample_at(crop, skin_pts[:, 0], skin_pts[:, 1]) @ _LUMA))
    lash = float(np.asarray(lash_rgb, np.float32) @ _LUMA)
    if skin - lash < _MIN_CONTRAST:
        return None
    # the frame's pixels below its margin, down to the hanging lashes' tips
    hang = float(band.max()) * _HANG_LENGTH / k
    margin = at + np.outer(tm * wt, et) + np.outer(vtm, nt)
    lo = np.floor(np.minimum(margin.min(0), (margin + hang * nt).min(0))).astype(int) - 1
    hi = np.ceil(np.maximum(margin.max(0), (margin + hang * nt).max(0))).astype(int) + 2
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    x1, y1 = min(int(hi[0]), S), min(int(hi[1]), S)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    yy, xx = np.mgrid[y0:y1, x0:x1]
    d = np.stack([xx.ravel(), yy.ravel()], -1).astype(np.float64) - at
    u = (d[:, 0] * et[0] + d[:, 1] * et[1]) / wt
    v = d[:, 0] * nt[0] + d[:, 1] * nt[1]
    below = v - np.interp(u, tm, vtm)  # pixels under the frame's margin
    m_su, c_su = np.interp(u, tm, vsm), np.interp(u, tc, vsc)
    length = lash_band(source, eye, m_su, c_su) * _HANG_LENGTH / k
    sel = (u > tm[0]) & (u < tm[-1]) & (below > -0.5) & (below < length)
    if not sel.any():
        return None
    # mirrored about the margin: a pixel ``below`` under it shows the source
    # ``below / _HANG_LENGTH`` (scaled to the source) above its own margin
    us = np.interp(u[sel], tm, usm)
    vs = m_su[sel] - np.maximum(below[sel], 0.0) * k / _HANG_LENGTH
    src = as_ + np.outer(us * ws, es) + np.outer(vs, ns)
    col = sample_at(crop, src[:, 0], src[:, 1])
    dark = np.clip((skin - col @ _LUMA) / (skin - lash), 0.0, 1.0)
    t = (u[sel] - tm[0]) / max(tm[-1] - tm[0], 1e-6)
    taper = np.sqrt(np.clip(np.sin(np.pi * t), 0.0, 1.0))  # none at the corners
    alpha_px = dark * taper * np.clip(below[sel] + 0.5, 0.0, 1.0) * float(np.clip(strength, 0.0, 1.0))
    h, w = y1 - y0, x1 - x0
    rgb = np.zeros((h * w, 3), np.float32)
    alpha = np.zeros(h * w, np.float32)
    rgb[sel] = col
    alpha[sel] = alpha_px
    if float(alpha.max()) <= 0.0:
        return None
    return PaintLayer((x0, y0, x1, y1), rgb.reshape(h, w, 3), alpha.reshape(h, w, 1))
