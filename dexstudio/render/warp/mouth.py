"""Mouth interior: when the frame opens the mouth wider than the source, paint a
plausible inside over the stretched inner-lip region instead of stretched lip texture.

The painted interior, in the mouth's own frame (``u`` 0..1 from corner to corner, ``r``
0..1 from the upper to the lower inner lip):

* throat: a dark, lip-tinted cavity (the lips' colour at 65 %), darkest in the middle,
  lighter towards the lips;
* tongue: a lip-coloured hump rising from the lower lip (up to 55 % of the opening,
  less towards the corners), lit at the front and fading into the throat at the back,
  with a shadow line where it meets the lower lip;
* the source's own opening is parted where its upper teeth end (:func:`teeth_split`;
  in the middle for a mouth without teeth): the part above follows the upper lip, the
  part below the lower lip, so a smile showing teeth opens between the rows of teeth
  (each row stays with its jaw) and an open mouth's tongue stays with the jaw; between
  a source's own rows of teeth the throat is darkest under the upper teeth;
* upper teeth: where the source shows none, a band of incisor edges under the upper
  lip once the mouth opens wide enough to show them (real open mouths almost always
  do; pursed lips do not, and an upper lip hanging over them in an open "ah" shows only
  their edge: :func:`teeth_show`), in the source's own white (the
  whites of its eyes, warmed) at most 85 % as bright (the mouth's shade), shadowed under
  the lip and darker towards the corners; a smile bares more of them.
  A source that shows teeth keeps its own: they follow the upper lip through
  :func:`mouth_map`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from dexstudio.core.channels import ARKIT_NAMES
from dexstudio.motion import landmark_sets as ls
from dexstudio.render.warp import eyes
from dexstudio.render.warp.paint_layer import PaintLayer

_INNER = np.asarray(ls.LIPS_INNER)
#: invented upper teeth start to show at this opening (inner-lip gap / mouth width) and
#: are fully shown _TEETH_RAMP later: lips parted in speech show the incisors' edges (at
#: 0.12 / 0.1, small openings were a black slit and mid ones a grey half-shown band)
_TEETH_FROM = 0.04
_TEETH_RAMP = 0.08
#: in a small opening the teeth fill up to 28 % + _TEETH_FILL_EXTRA of it (78 %), easing
#: to 28 % over _TEETH_FILL_RAMP more opening (past it a wide mouth shows mostly throat).
#: Chosen on the mouth's error against the real frames in self-reenactment (all 10
#: driving clips; extra 0.3 -> 0.5 with the warm tint below): d19 -16 %, d10 -8 %,
#: d0 -6 %, d13 -1 %, d20 +3 %, the others unchanged
_TEETH_FILL_RAMP = 0.16
_TEETH_FILL_EXTRA = 0.5
#: brightness of invented teeth relative to the source's white: base + gain * (1 mid-mouth,
#: 0 at the corners): in the mouth's shade, darker towards the corners
_TEETH_SHADE = (0.5, 0.35)
#: teeth are warmer than eye whites: the white is mixed this much with _WARM_IVORY (at
#: the white's own brightness). 0.5 -> 0.75: eye whites behind glasses or in cool light
#: gave grey-blue teeth (liveportrait_d19); mouth error inside the real inner lips in
#: self-reenactment d19 18.87 -> 18.75, d0 23.84 -> 23.78 levels, d18, d10, d13, d20,
#: d3 within 0.01 (1.0, ivory at the white's brightness: d19 18.66, the rest the same;
#: 0.75 keeps some of the portrait's own white balance)
_TEETH_WARM = 0.75
_WARM_IVORY = np.array([230, 212, 180], np.float32)
#: invented teeth's brightness follows the portrait's light (_teeth_white); their
#: colour was lifted to a mean of 200 for every portrait: dull grey teeth in a bright one
#: (liveportrait_d10: 95th percentile of the luminance inside the inner lips 131 against
#: the real 181), glowing ones in a dim one (d3). In the driving clips the brightest real
#: teeth (that percentile, median over frames opened > 12 % of the mouth width) are
#: 1.20-1.45 x the eye whites' luminance (d0, d10, d13, d18, d19, d20; median 1.33) and
#: 0.78-1.21 x the bright skin's; the skin carries portraits whose eye whites read dark
#: (shadow, glasses). The factors are the rendered teeth's (shaded, partly covered):
#: mouth error inside the real inner lips in self-reenactment, lifted to 200 -> these:
#: d0 23.78 -> 21.08, d3 17.65 -> 15.51, d20 23.36 -> 21.53, d10 33.03 -> 32.86, d13
#: 27.29 -> 27.73, d18 24.43 -> 24.88, d19 18.75 -> 19.72 (sum 168.3 -> 163.3; 1.33 / 0.8
#: gave 163.1 but dimmer teeth than the real ones on every clip but d3). The colour's mean
#: stays within _TEETH_LEVEL (255 rather than 230: d0 21.70, d10 33.06)
_TEETH_PER_WHITE = 1.55
_TEETH_PER_SKIN = 0.95
_TEETH_LEVEL = (40.0, 230.0)
#: invented teeth never fill more of the opening than this: a smile's band reached the
#: lower lip, a grey block where real mouths show the lower teeth's dark gap under the
#: upper row (mouth error as below: d10 32.86 -> 32.10, d19 19.72 -> 18.73, d0 21.08 ->
#: 20.96, d13 27.73 -> 27.88; the others never reach it. 0.6: sum of the four 100.8,
#: 0.7: 99.7, 0.75: 100.2, none: 101.4)
_TEETH_MAX_FILL = 0.7
#: the dental arch seen from the front: the mouth's corners at this angle from the middle
#: (radians) and a tooth every so much of it (the central incisors' line in the middle;
#: 14 degrees: 0.13 of the mouth's width beside it, 0.06 at the corners)
_ARCH = (np.deg2rad(70.0), np.deg2rad(14.0))
#: lips whose green or blue exceed this share of their red wear lipstick (the 22 sources
#: and clip frames of ../shared/media: 0.39-0.72); the mouth's interior takes natural
#: lips' hue (_NATURAL_LIPS: the median of those) from there, fully _LIP_HUE_RAMP later,
#: unless the skin's mean colour spans under _COLOUR_PHOTO levels (a black-and-white photo)
_LIP_HUE_MAX = 0.8
_LIP_HUE_RAMP = 0.15
_NATURAL_LIPS = np.array([150, 87, 83], np.float32)
_COLOUR_PHOTO = 12.0
#: the cavity's colour: the lips' colour times this (plus a little red). Chosen on the
#: mouth's error against the real frames in self-reenactment: 0.25 -> 0.45 lowers it on
#: d18 25 %, d19 17 %, d0 16 %, d10 15 %, d13 8 %, d20 4 % (dagan, d3 within 1 %); a
#: near-black cavity read as a hole where real mouths show a lit, reddish interior.
#: 0.45 -> 0.65 (mean absolute error in levels inside the real inner lips, frames
#: opened > 4 % of the mouth width): d18 31.4 -> 28.3, d19 23.2 -> 22.1, d0 36.6 ->
#: 35.6, d10 33.1 -> 32.1, d13 / d20 / dagan within 0.04, d3 (a dim clip with a darker
#: interior) 22.3 -> 23.1; the re-tracked jawOpen shortfall within 0.012. 0.75 lowers
#: the first four a little more but raises d3, d13 and d20
_CAVITY_TINT = 0.65
#: the tongue's height: at most this share of the opening, and of the mouth width.
#: 0.35/0.25 -> 0.55/0.35 lowers the mouth's error in self-reenactment on d0 21 %, d19
#: 23 %, d10 15 %, d13 9 %, d18 9 %, d20 7 %: open mouths show much of the tongue
_TONGUE = (0.55, 0.35)
#: the shadow between the tongue and the lower lip: the tongue's brightness drops by
#: this share at the lip, recovering over this share of the tongue's height. On the
#: frames with jawOpen > 0.25 in self-reenactment, the re-tracked jawOpen's shortfall
#: against the real frame: d18 -0.114 -> -0.098, d10 -0.060 -> -0.046, d13 -0.039 ->
#: -0.037, d20 -0.028 -> -0.024; the mean error over the real lips' region: d18 -0.06,
#: d10 +0.42, d13 +0.14, d20 +0.16 (of 18.7-20.4 levels). (0.5, 0.06) drew it as a
#: 1-2 px line, like a pen stroke along the lip; this soft shadow measures the same
#: (shortfall and error within 0.004 and 0.16 levels on d18, d10, d13, d20, d3)
_TONGUE_GAP = (0.35, 0.25)
#: the throat between a source's own rows of teeth: this bright (times the cavity's
#: colour) under the upper teeth, plus this much more at the lower lip
_TEETH_THROAT = (0.4, 0.45)
#: the cavity between a portrait's own teeth and its lip is painted at full strength from
#: this depth (pixels; about half its height) on, fainter before
_TEETH_GAP_FULL = 2.0
#: pursed lips hide the teeth (:func:`pucker_amount`): mouthPucker from 0.4 to 0.8 takes
#: invented upper teeth from shown to none. liveportrait_d10 in self-reenactment, its 16
#: frames with mouthPucker > 0.8: a row of teeth across the opening where the driver
#: shows a dark hole between pursed lips
_PUCKER = ARKIT_NAMES.index("mouthPucker")
_PUCKER_FROM = 0.4
_PUCKER_FULL = 0.8
#: how much of the invented teeth's height the upper lip leaves in view: clip(base +
#: gain * mouthUpperUp + gain * mouthSmile) (the means of left and right): an upper lip
#: hanging over the teeth in an open "ah" (liveportrait_d18 frames 70, 82: jawOpen 0.87,
#: mouthUpperUp 0, no teeth in view) shows only their edge; a raised lip or a smile shows
#: them in full. (0.2, 1.5, 2.0) on the band's height lowers the mouth's error inside the
#: real inner lips in self-reenactment (levels, frames opened > 4 % of the mouth width,
#: against _CAVITY_TINT 0.65 alone): d3 23.1 -> 17.6, d20 27.4 -> 22.5, d13 32.4 ->
#: 30.4, d18 28.3 -> 26.2; d19, d10, d0 within 0.03. The same rule on the teeth's
#: opacity measured alike (d3 17.3, d20 22.4, d13 29.8, d18 26.2, d10 +0.1); a lip
#: hanging over teeth hides their height, it does not make them translucent
_TEETH_COVER = (0.2, 1.5, 2.0)
#: a smile bares the teeth: their height (x 1 + this * mouthSmile) and their share of
#: the opening (+ this * mouthSmile). In a smile the upper teeth fill most of the
#: opening (liveportrait_d0, d19); a band of 3 % of the face over a dark throat read as
#: a gap. Mouth error inside the real inner lips in self-reenactment (levels, frames
#: opened > 4 % of the mouth width): d0 35.7 -> 24.1, d19 22.2 -> 19.0, d13 31.1 ->
#: 27.9, d18 25.9 -> 24.5; d10 31.9 -> 33.0 and d20 22.8 -> 23.6 (their speech shows
#: less of the teeth); d3 within 0.1. (0, 0.4) and (1, 0.15) gain less; (2, 0.6) more
#: on d13 but less on d18, d19, d0
_SMILE_TEETH = (1.0, 0.4)
_UPPER_UP = (ARKIT_NAMES.index("mouthUpperUpLeft"), ARKIT_NAMES.index("mouthUpperUpRight"))
_SMILE = (ARKIT_NAMES.index("mouthSmileLeft"), ARKIT_NAMES.index("mouthSmileRight"))
#: the colour of invented teeth when the source's eye whites cannot be measured
_IVORY = np.array([215, 205, 195], np.float32)
#: inner-lip loop from the right corner along the upper lip to the left corner
_UPPER = np.asarray((78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308))


def polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _inner_width(landmarks: np.ndarray) -> float:
    """Distance between the inner-lip corners, pixels (1 for a degenerate mouth)."""
    return float(np.linalg.norm(landmarks[78, :2] - landmarks[308, :2])) or 1.0


def mouth_gap(landmarks: np.ndarray) -> float:
    """Mean inner-lip opening height in pixels (inner-lip area / mouth width)."""
    return polygon_area(landmarks[_INNER, :2]) / _inner_width(landmarks)


def relative_gap(landmarks: np.ndarray) -> float:
    """How open the mouth is: :func:`mouth_gap` / the mouth's width (0 shut)."""
    return mouth_gap(landmarks) / _inner_width(landmarks)


def _dot2(d: np.ndarray, e: np.ndarray) -> np.ndarray:
    """(N, 2) . (2,) elementwise (a BLAS gemv here wakes spinning worker threads)."""
    return d[:, 0] * e[0] + d[:, 1] * e[1]


@dataclass(frozen=True)
class MouthLook:
    """What the source's mouth looks like (measured once in ``prepare``).

    Attributes:
        gap: source opening height in crop pixels.
        cavity_rgb: (3,) float32 colour of the cavity (dark, lip-tinted).
        teeth_rgb: (3,) float32 colour of the source's teeth, or None when not visible.
        tongue_rgb: (3,) float32 a muted lip-derived red for the floor of the mouth.
        white_rgb: (3,) float32 the colour of invented teeth (:func:`_teeth_white`: the
            whites of the eyes' hue at a brightness set by the portrait's light).
        face_size_px: the source's face size (forehead to chin) in crop pixels; sets
            the height of invented teeth (0: from the mouth width instead).
        split: where the source's opening parts when the mouth opens wider, as a
            fraction of its height from the upper inner lip: where the source shows
            teeth, the line between their rows (:func:`teeth_split`), or 1 with one row
            (the upper teeth stay with the upper lip); else 0.5 (a parted mouth without
            teeth has no line to find: its darkest spot moved the painted cavity off the
            middle, the mouth's error in self-reenactment on liveportrait_d3 24.26
            against 24.04).
        opening: the source's :func:`mouth_opening` (measured once, for every frame's
            :func:`mouth_map`).
    """

    gap: float
    cavity_rgb: np.ndarray
    teeth_rgb: np.ndarray | None
    tongue_rgb: np.ndarray = field(default_factory=lambda: np.array([110, 45, 45], np.float32))
    white_rgb: np.ndarray = field(default_factory=lambda: _IVORY.copy())
    face_size_px: float = 0.0
    split: float = 0.5
    opening: MouthOpening | None = None


def analyse_mouth(crop: np.ndarray, landmarks: np.ndarray, face_size_px: float,
                  eye_mask: np.ndarray | None = None) -> MouthLook:
    """Measure the source mouth: opening, lip tint, visible teeth, and the whites of the
    eyes (``eye_mask``: :func:`dexstudio.render.warp.eyes.eye_mask` of the source, made
    here when not given)."""
    S = crop.shape[0]
    gap = mouth_gap(landmarks)
    outer = np.zeros((S, S), np.uint8)
    cv2.fillPoly(outer, [np.round(landmarks[list(ls.LIPS_OUTER), :2]).astype(np.int32)], 255)
    inner = np.zeros((S, S), np.uint8)
    cv2.fillPoly(inner, [np.round(landmarks[_INNER, :2]).astype(np.int32)], 255)
    lips = (outer > 0) & (inner == 0)
    if eye_mask is None:
        eye_mask = eyes.eye_mask(landmarks, S)
    lip_rgb = crop[lips].astype(np.float32).mean(0) if lips.any() else np.array([150, 80, 80], np.float32)
    skin = _skin_pixels(crop, landmarks, eye_mask, lips)
    # the interior's colours come from the lips', with a lipstick's hue taken out
    inside = _natural_lips(lip_rgb, skin.mean(0) if len(skin) else lip_rgb)
    cavity = np.clip(inside * _CAVITY_TINT + np.array([8, 0, 0], np.float32), 0, 255)
    teeth = None
    if gap > 0.015 * face_size_px and (inner > 0).sum() > 20:
        px = crop[inner > 0].astype(np.float32)
        lum = px.mean(1)
        sat = px.max(1) - px.min(1)
        bright = (lum > np.percentile(lum, 60)) & (lum > 110) & (sat < 80)
        if bright.sum() > 0.15 * len(px):
            teeth = px[bright].mean(0)
    tongue = np.clip(inside * 0.9 + np.array([15, 2, 6], np.float32), 0, 255)
    return MouthLook(gap, cavity.astype(np.float32), None if teeth is None else teeth.astype(np.float32),
                     tongue.astype(np.float32), _teeth_white(crop, eye_mask, skin),
                     float(face_size_px), _split(crop, landmarks, teeth is not None), mouth_opening(landmarks))


def _natural_lips(lip_rgb: np.ndarray, skin_rgb: np.ndarray) -> np.ndarray:
    """(3,) float32 the lips' colour to derive the mouth's interior from: the lips' own,
    but a lipstick's hue (blue, purple, black: green or blue over ``_LIP_HUE_MAX`` of the
    red) gives way to natural lips' hue at the same brightness, fully from
    ``_LIP_HUE_MAX + _LIP_HUE_RAMP`` (a purple lipstick made a purple tongue). A portrait
    whose skin shows no colour (a black-and-white photo) keeps its grey."""
    lip_rgb = np.asarray(lip_rgb, np.float32)
    off = float(max(lip_rgb[1], lip_rgb[2]) / max(float(lip_rgb[0]), 1.0)) - _LIP_HUE_MAX
    if off <= 0.0 or float(np.ptp(skin_rgb)) < _COLOUR_PHOTO:
        return lip_rgb
    natural = _NATURAL_LIPS * (float(lip_rgb.mean()) / float(_NATURAL_LIPS.mean()))
    m = float(np.clip(off / _LIP_HUE_RAMP, 0.0, 1.0))
    return ((1.0 - m) * lip_rgb + m * natural).astype(np.float32)


def _split(crop: np.ndarray, landmarks: np.ndarray, shows_teeth: bool) -> float:
    """``MouthLook.split``: the line between the rows where the source shows teeth;
    teeth without a line are the upper row (they stay with the upper lip: 1); a mouth
    without teeth parts in the middle (and is not searched)."""
    if not shows_teeth:
        return 0.5
    line = teeth_split(crop, landmarks)
    return 1.0 if line is None else line


#: an opening lower than this (pixels) has no rows to tell apart: split in the middle
_SPLIT_MIN_GAP = 3.0
#: a line less than this much darker than the brightest parts on both of its sides
#: (grey levels) is not one
_SPLIT_MIN_CONTRAST = 12.0
#: the split is searched between these fractions of the opening's height
_SPLIT_RANGE = (0.15, 0.85)


def teeth_split(crop: np.ndarray, landmarks: np.ndarray) -> float | None:
    """Where the source's mouth opening parts, as a fraction of its height from the
    upper inner lip, or None where it shows no such line.

    The line is the darkest one across the middle of the opening (u 0.35-0.65), between
    15 % and 85 % of its height, with brighter parts on both sides (teeth, tongue): in a
    smile showing both rows of teeth, where the upper incisors meet the lower ones
    (0.7-0.8 of the opening on liveportrait_s42 and portrait4d_zoe_saldana); in an open
    mouth, the shadow under the upper teeth above the tongue (0.2 on liveportrait_d9).
    None for one row of teeth filling the opening (the gum's shadow under the upper lip
    is darker than the teeth below it, but nothing above it is brighter: the bundled
    sample), a closed or nearly closed mouth, or one flat region (a dark cavity).

    Args:
        crop: (S, S, 3) uint8 source crop.
        landmarks: (478, 2+) source points in crop pixels.
    """
    a, e, n, width = _frame(landmarks)
    us, top, bot = _opening_bounds(landmarks, a, e, n, width)
    u = np.linspace(0.35, 0.65, 13)
    up, lo = np.interp(u, us, top), np.interp(u, us, bot)
    if float(np.median(lo - up)) < _SPLIT_MIN_GAP:
        return None
    f = np.linspace(0.05, 0.95, 37)  # the profile, clear of the lips' edges
    v = up[None, :] + f[:, None] * (lo - up)[None, :]  # (F, U)
    pts = a[None, None, :] + (u * width)[None, :, None] * e + v[..., None] * n  # (F, U, 2)
    gray = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY).astype(np.float32)
    mx, my = pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32)
    lum = cv2.remap(gray, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).mean(1)  # (F,)
    lum = np.convolve(np.pad(lum, 1, mode="edge"), np.ones(3) / 3.0, "valid")
    above = np.maximum.accumulate(lum)  # the brightest at or above each line
    below = np.maximum.accumulate(lum[::-1])[::-1]
    depth = np.minimum(above, below) - lum  # how much darker than both sides
    depth[(f < _SPLIT_RANGE[0]) | (f > _SPLIT_RANGE[1])] = -np.inf
    best = int(np.argmax(depth))
    return float(f[best]) if depth[best] >= _SPLIT_MIN_CONTRAST else None


def _eye_white(crop: np.ndarray, eye_mask: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The whites of the source's eyes (bright, unsaturated pixels of ``eye_mask``):
    ((3,) float32 their colour half-way to grey (eye whites carry veins) and warmed
    towards ivory (``_TEETH_WARM``), their mean luminance); None when unseen."""
    px = crop[eye_mask > 0].astype(np.float32)
    if len(px) < 20:
        return None
    lum = px.mean(1)
    sat = px.max(1) - px.min(1)
    white = px[(lum >= np.percentile(lum, 75)) & (sat < 60)]
    if len(white) < 5:
        return None
    w = white.mean(0)
    level = float(w.mean())
    w = 0.5 * w + 0.5 * level
    ivory = _WARM_IVORY * (level / float(_WARM_IVORY.mean()))  # at the white's brightness
    return ((1.0 - _TEETH_WARM) * w + _TEETH_WARM * ivory).astype(np.float32), level


def _skin_pixels(crop: np.ndarray, landmarks: np.ndarray, eye_mask: np.ndarray, lips: np.ndarray) -> np.ndarray:
    """(N, 3) float32 the face's skin: inside the face oval, eyes and lips left out."""
    S = crop.shape[0]
    face = np.zeros((S, S), np.uint8)
    cv2.fillPoly(face, [np.round(landmarks[list(ls.FACE_OVAL), :2]).astype(np.int32)], 1)
    return crop[(face > 0) & (eye_mask == 0) & ~lips].astype(np.float32)


def _skin_highlight(crop: np.ndarray, skin: np.ndarray) -> float:
    """The luminance of the face's bright skin: the 95th percentile of its (N, 3)
    :func:`_skin_pixels` (the light the face is lit with); of the crop when the face
    shows too little skin."""
    if len(skin) < 50:
        return float(np.percentile(crop.mean(2), 95))
    return float(np.percentile(skin.mean(1), 95))


def _teeth_white(crop: np.ndarray, eye_mask: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """(3,) float32 the colour invented teeth are painted from (their brightest, mid-mouth
    and unshaded, is ``_TEETH_SHADE``'s sum of it). ``skin``: (N, 3) the face's
    :func:`_skin_pixels`.

    The hue: the eyes' whites (:func:`_eye_white`), ivory when unseen. The brightness:
    the larger of ``_TEETH_PER_WHITE`` x the whites' luminance and ``_TEETH_PER_SKIN`` x
    the bright skin's (:func:`_skin_highlight`; eye whites in shadow, behind glasses or
    too small to measure), so a dim portrait gets dim teeth and a bright one bright teeth.
    """
    seen = _eye_white(crop, eye_mask)
    hue = seen[0] if seen is not None else _IVORY.copy()
    ref = _TEETH_PER_SKIN * _skin_highlight(crop, skin)
    if seen is not None:
        ref = max(ref, _TEETH_PER_WHITE * seen[1])
    level = float(np.clip(ref / (_TEETH_SHADE[0] + _TEETH_SHADE[1]), _TEETH_LEVEL[0], _TEETH_LEVEL[1]))
    return np.clip(hue * (level / max(float(hue.mean()), 1.0)), 0, 255).astype(np.float32)


_LOWER = np.asarray((78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308))


def _lip_curves(lm: np.ndarray, a: np.ndarray, e: np.ndarray, n: np.ndarray, width: float):
    """(u, v) samples of the upper and lower inner lip in a mouth frame (u in 0..1 along
    the corner axis, v pixels along the downward normal), sorted by u."""
    out = []
    for ids in (_UPPER, _LOWER):
        d = lm[ids, :2] - a
        u = _dot2(d, e) / width
        v = _dot2(d, n)
        o = np.argsort(u)
        out.append((u[o], v[o]))
    return out


def _opening_bounds(lm: np.ndarray, a: np.ndarray, e: np.ndarray, n: np.ndarray,
                    width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mouth opening's top and bottom edge as functions of u (mouth frame as in
    :func:`_lip_curves`).

    Mostly the upper and the lower inner lip. But the far corner of a wide-open mouth on a
    turned head folds back: inner-lip points beside it project beyond the corner along
    the corner axis (u < 0), and the lip curves taken one by one give the opening a spike
    to zero height at the corner and none at all beyond it, so the pixels there sampled
    the lip corner stretched into a bright vertical wedge. Where the lips do not cross,
    the edges are the top and bottom of the opening's outline at each u (its envelope),
    which covers the folded corner; where they cross (lips pressed together) the lip
    curves are kept as they are (no opening).

    Returns:
        (u, top, bottom): (K,) increasing u and the edges' v there, pixels; linear in u
        in between.
    """
    (uu, vu), (ul, vl) = _lip_curves(lm, a, e, n, width)
    poly = np.concatenate([_UPPER, _LOWER[::-1][1:-1]])
    d = lm[poly, :2] - a
    pu = _dot2(d, e) / width
    pv = _dot2(d, n)
    us = np.unique(pu)
    u0, v0 = pu[:, None], pv[:, None]  # (E, 1): edge i runs from vertex i to vertex i + 1
    u1, v1 = np.roll(pu, -1)[:, None], np.roll(pv, -1)[:, None]
    lo_u, hi_u = np.minimum(u0, u1), np.maximum(u0, u1)
    on = (us[None, :] >= lo_u) & (us[None, :] <= hi_u)  # (E, K) edges spanning each u
    du = u1 - u0
    f = np.where(np.abs(du) > 1e-12, (us[None, :] - u0) / np.where(np.abs(du) > 1e-12, du, 1.0), 0.0)
    cross = v0 + np.clip(f, 0.0, 1.0) * (v1 - v0)
    top_env = np.where(on, cross, np.inf).min(0)
    bot_env = np.where(on, cross, -np.inf).max(0)
    # a vertical edge crosses at both of its ends
    vert = on & (np.abs(du) <= 1e-12)
    top_env = np.minimum(top_env, np.where(vert, v1, np.inf).min(0))
    bot_env = np.maximum(bot_env, np.where(vert, v1, -np.inf).max(0))
    top_lip, bot_lip = np.interp(us, uu, vu), np.interp(us, ul, vl)
    open_ = top_lip <= bot_lip
    return us, np.where(open_, top_env, top_lip), np.where(open_, bot_env, bot_lip)


def _frame(lm: np.ndarray):
    a = lm[78, :2].astype(np.float64)
    b = lm[308, :2].astype(np.float64)
    width = float(np.linalg.norm(b - a)) or 1.0
    e = (b - a) / width
    n = np.array([-e[1], e[0]])
    return a, e, n, width


@dataclass(frozen=True, eq=False)
class MouthOpening:
    """A mouth's frame and its opening, measured once per frame (or per source).

    Attributes:
        a: (2,) the inner-lip corner 78, crop pixels; e: (2,) the unit vector from it to
            the other corner 308; n: (2,) the frame's downward normal; width: the
            corner-to-corner distance, pixels.
        u, top, bottom: (K,) the opening's top and bottom edge (v, pixels along ``n``)
            at increasing u (along ``e``, in widths) (:func:`_opening_bounds`).
    """

    a: np.ndarray
    e: np.ndarray
    n: np.ndarray
    width: float
    u: np.ndarray
    top: np.ndarray
    bottom: np.ndarray


def mouth_opening(lm: np.ndarray) -> MouthOpening:
    """The :class:`MouthOpening` of (478, 2+) landmarks, crop pixels."""
    a, e, n, width = _frame(lm)
    return MouthOpening(a, e, n, width, *_opening_bounds(lm, a, e, n, width))


def pucker_amount(blendshapes: np.ndarray) -> float:
    """0..1, how puckered the frame's lips are (mouthPucker from ``_PUCKER_FROM`` to
    ``_PUCKER_FULL``); pursed lips show no invented teeth (:func:`cavity_layer`)."""
    w = float(np.asarray(blendshapes, np.float32)[_PUCKER])
    return float(np.clip((w - _PUCKER_FROM) / (_PUCKER_FULL - _PUCKER_FROM), 0.0, 1.0))


@dataclass(frozen=True)
class TeethShow:
    """How a frame's lips show invented upper teeth (:func:`teeth_show`).

    Attributes:
        opacity: 0..1, 0 for pursed lips (:func:`pucker_amount`) unless a smile pulls them
            wide (times 1 - ``smile``).
        height: 0..1, the share of the teeth's usual height the upper lip leaves in
            view (``_TEETH_COVER``).
        smile: 0..1, mouthSmile (the mean of left and right): a smile bares more of the
            teeth (``_SMILE_TEETH``).
    """

    opacity: float = 1.0
    height: float = 1.0
    smile: float = 0.0


def teeth_show(blendshapes: np.ndarray) -> TeethShow:
    """The frame's (52,) blendshapes -> how its lips show invented upper teeth."""
    w = np.asarray(blendshapes, np.float32)
    base, up_gain, smile_gain = _TEETH_COVER
    up = 0.5 * float(w[_UPPER_UP[0]] + w[_UPPER_UP[1]])
    smile = 0.5 * float(w[_SMILE[0]] + w[_SMILE[1]])
    # lips pulled wide by a smile are not pursed, whatever mouthPucker reads: a portrait
    # whose resting mouth reads as puckered (liveportrait_s11 0.84, s7 0.81, s42 0.57)
    # keeps that reading under a relative smile, and so never showed teeth when it smiled
    return TeethShow(opacity=1.0 - pucker_amount(w) * (1.0 - float(np.clip(smile, 0.0, 1.0))),
                     height=float(np.clip(base + up_gain * up + smile_gain * smile, 0.0, 1.0)),
                     smile=float(np.clip(smile, 0.0, 1.0)))


def mouth_map(xs: np.ndarray, ys: np.ndarray, source: np.ndarray, target: np.ndarray, split: float = 0.5,
              opening_t: MouthOpening | None = None,
              opening_s: MouthOpening | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source positions for target pixels inside the mouth opening.

    The source's opening is parted at ``split``: the part above follows the upper lip
    and the part below the lower lip (teeth stay attached to their jaw instead of being
    stretched); where the opening grows, the gap between the two parts shows what the
    source does not have: cavity. Where it shrinks, a band around the split is left
    out.

    Args:
        xs, ys: (N,) target pixel coordinates (crop).
        source, target: (478, 2+) landmarks in crop pixels.
        split: the parting line as a fraction of the source opening's height from its
            upper lip (:func:`teeth_split`; 0.5 = the middle).
        opening_t, opening_s: the target's and the source's :func:`mouth_opening` when
            already measured.
    Returns:
        (sx, sy, depth): (N,) float32 source positions and (N,) float32 how far each
        pixel lies inside the cavity, target pixels (> 0: painted as mouth cavity; the
        edge is anti-aliased by :func:`cavity_layer` from this distance).
    """
    ot = opening_t if opening_t is not None else mouth_opening(target)
    os_ = opening_s if opening_s is not None else mouth_opening(source)
    at, et, nt, wt = ot.a, ot.e, ot.n, ot.width
    as_, es, ns, ws = os_.a, os_.e, os_.n, os_.width
    u_t, top_t, bot_t = ot.u, ot.top, ot.bottom
    u_s, top_s, bot_s = os_.u, os_.top, os_.bottom
    d = np.stack([xs, ys], -1).astype(np.float64) - at
    u = _dot2(d, et) / wt
    v = _dot2(d, nt)
    up_t = np.interp(u, u_t, top_t)
    lo_t = np.interp(u, u_t, bot_t)
    up_s = np.interp(u, u_s, top_s)
    lo_s = np.interp(u, u_s, bot_s)
    k = ws / wt
    sigma = float(np.clip(split, 0.0, 1.0))
    h_s = lo_s - up_s
    mid_s = up_s + sigma * h_s  # the parting line in the source
    # the parting line in the target: midway between where the two parts end
    upper = v < 0.5 * (up_t + lo_t) + (sigma - 0.5) * h_s / k
    vs = np.where(upper, (v - up_t) * k + up_s, (v - lo_t) * k + lo_s)
    # cavity: the opening grew here and the sample falls beyond its part of the source
    grow = (lo_t - up_t) * k - h_s
    beyond = np.where(upper, vs - mid_s, mid_s - vs) / k  # target px past the parting line
    depth = np.minimum(beyond, (grow - 0.5) / k)
    vs = np.where(depth > 0, mid_s, vs)  # painted over; its fringe blends the parting line
    p = as_ + np.outer(u * ws, es) + np.outer(vs, ns)
    return p[:, 0].astype(np.float32), p[:, 1].astype(np.float32), depth.astype(np.float32)


def cavity_layer(size: int, xs: np.ndarray, ys: np.ndarray, depth: np.ndarray, target: np.ndarray,
                 look: MouthLook, teeth: TeethShow = TeethShow(),
                 opening: MouthOpening | None = None) -> PaintLayer | None:
    """Paint the cavity pixels (throat, tongue, upper teeth; see the module doc), feathered.

    Args:
        size: crop side S.
        xs, ys: (N,) int pixel coordinates of the mouth-opening pixels.
        depth: (N,) float32 from :func:`mouth_map`: > 0 inside the cavity, target pixels;
            pixels within half a pixel of its edge are painted with partial cover (the
            edge does not stair-step along a tilted or curved lip).
        target: (478, 2+) frame landmarks.
        teeth: how the frame's lips show invented upper teeth (:func:`teeth_show`):
            none for pursed lips, less of their height under a lowered upper lip.
        opening: the target's :func:`mouth_opening` when already measured.
    """
    if not (depth > 0).any():
        return None
    # a gap of a pixel or two between a portrait's own teeth and its lip is a faint
    # shadow, not a drawn line (the jaw opening a little more than the portrait's)
    fade = 1.0 if look.teeth_rgb is None else float(np.clip(float(depth.max()) / _TEETH_GAP_FULL, 0.0, 1.0))
    if fade < 0.05:  # too faint to see: not painted at all
        return None
    painted = depth > -0.5
    cover_px = np.clip(depth[painted] + 0.5, 0.0, 1.0).astype(np.float32)
    xs, ys = xs[painted], ys[painted]
    gap = mouth_gap(target)
    x0, y0 = max(int(xs.min()) - 3, 0), max(int(ys.min()) - 3, 0)
    x1, y1 = min(int(xs.max()) + 4, size), min(int(ys.max()) + 4, size)
    h, w = y1 - y0, x1 - x0
    cover = np.zeros((h, w), np.float32)
    cover[ys - y0, xs - x0] = cover_px  # > 0 on every painted pixel
    mask = (cover > 0).astype(np.uint8) * 255
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    core = cover > 0.5  # the cavity proper (depth > 0), without its anti-aliased fringe

    # the mouth's frame at the painted pixels: u along the corners (0..1), v pixels
    # along the downward normal; up/lo: the inner lips there
    py, px = ys - y0, xs - x0
    op = opening if opening is not None else mouth_opening(target)
    a, e, n, width = op.a, op.e, op.n, op.width
    ub, top, bot = op.u, op.top, op.bottom
    dx, dy = xs - a[0], ys - a[1]
    u = (dx * e[0] + dy * e[1]) / width
    v = dx * n[0] + dy * n[1]
    up = np.interp(u, ub, top)
    lo = np.interp(u, ub, bot)
    H = np.maximum(lo - up, 1e-3)
    across = np.clip(1.0 - (2.0 * u - 1.0) ** 2, 0.0, 1.0)  # 1 mid-mouth, 0 at the corners

    # throat: dark and lip-tinted, lighter towards the lips; between a source's own rows of
    # teeth, in the upper teeth's shadow and lighter towards the floor of the mouth
    if look.teeth_rgb is None:
        shade = 0.5 + 0.5 * np.exp(-dist[py, px] / max(1.0, 0.25 * gap))
    else:
        shade = _TEETH_THROAT[0] + _TEETH_THROAT[1] * np.clip((v - up) / H, 0.0, 1.0)
    col = look.cavity_rgb[None, :] * shade[:, None]

    # tongue: a hump on the floor of the mouth
    hump = np.minimum(_TONGUE[0] * H, _TONGUE[1] * width) * across ** 0.35
    d_t = v - (lo - hump)  # > 0 inside the tongue
    # its back edge fades into the throat over a third of its height, and it is darker
    # towards the back (in the throat's shadow) than at the front, behind the lower lip
    t_a = np.clip(d_t / np.maximum(1.5, 0.35 * hump), 0.0, 1.0) * (hump > 1.0)
    lit = 0.6 + 0.4 * np.clip(d_t / np.maximum(hump, 1.0), 0.0, 1.0)
    # the tongue's front sits behind the lower teeth, in their shadow: a dark line
    # between it and the lower lip (without it the lit tongue read as a thick lower lip
    # and the mouth as less open than the driver's)
    near = np.clip((lo - v) / np.maximum(1.5, _TONGUE_GAP[1] * hump), 0.0, 1.0)
    lit = lit * (1.0 - _TONGUE_GAP[0] + _TONGUE_GAP[0] * near)
    tongue = look.tongue_rgb[None, :] * lit[:, None]
    col = col * (1.0 - t_a[:, None]) + tongue * t_a[:, None]

    # upper teeth (only where the source shows none): once the opening exceeds ~4 % of
    # the mouth width, incisor edges show under the upper lip; in a small opening they
    # fill more of it (up to 78 %), in a wide one at most 28 %
    if look.teeth_rgb is None:
        opened = gap / width - _TEETH_FROM
        show = float(np.clip(opened / _TEETH_RAMP, 0.0, 1.0)) * float(np.clip(teeth.opacity, 0.0, 1.0))
        if show > 0.0:
            # incisors show ~3 % of the face size below the lip (not foreshortened by a
            # head turn, unlike the mouth width), at most 28 % of the opening, less
            # towards the corners (the teeth's edge curves up like a smile)
            tall = 0.03 * look.face_size_px if look.face_size_px > 0 else 0.075 * width
            frac = 0.28 + _TEETH_FILL_EXTRA * (1.0 - float(np.clip(opened / _TEETH_FILL_RAMP, 0.0, 1.0)))
            tall = tall * (1.0 + _SMILE_TEETH[0] * teeth.smile)
            frac = min(frac + _SMILE_TEETH[1] * teeth.smile, _TEETH_MAX_FILL)
            band = np.minimum(tall, frac * H) * (0.55 + 0.45 * across) * float(np.clip(teeth.height, 0.0, 1.0))
            # depth below the top of the painted region (the upper lip for a closed
            # source; below the source's own opening for a parted one), per column,
            # smoothed along the mouth (no stair steps on a tilted mouth)
            has = core.any(axis=0)
            first = np.where(has, np.argmax(core, axis=0), h).astype(np.float64)
            if has.sum() >= 5:
                cols = np.nonzero(has)[0]
                first[cols] = np.convolve(np.pad(first[cols], 2, mode="edge"), np.ones(5) / 5.0, "valid")
            d_u = py - first[px]
            inside = np.clip((band - d_u) / 1.2, 0.0, 1.0)
            t_w = inside * np.clip((across - 0.25) / 0.35, 0.0, 1.0) * show
            tone = 0.72 + 0.28 * np.clip(d_u / np.maximum(band, 1e-3), 0.0, 1.0)  # shadow under the lip
            # the lines between the teeth: evenly spaced along the dental arch, seen from the
            # front (closer together towards the corners, where the arch turns away; evenly
            # spaced across the mouth they read as piano keys)
            arch = np.arcsin(np.clip(2.0 * (u - 0.5), -1.0, 1.0) * np.sin(_ARCH[0]))
            phase = arch / _ARCH[1]
            tone = tone * (1.0 - 0.1 * np.exp(-((phase - np.round(phase)) / 0.08) ** 2))
            # teeth in an open mouth are in its shade: at most 85 % of the eye whites, and
            # darker towards the corners, deeper in the mouth
            teeth = look.white_rgb[None, :] * (tone * (_TEETH_SHADE[0] + _TEETH_SHADE[1] * across))[:, None]
            col = col * (1.0 - t_w[:, None]) + teeth * t_w[:, None]

    # the feathered rim just outside the painted pixels takes a neighbour's colour
    rgb = np.empty((h, w, 3), np.float32)
    rgb[...] = look.cavity_rgb
    rgb[py, px] = col
    rim = cv2.dilate(rgb, np.ones((5, 5), np.uint8))
    np.copyto(rgb, rim, where=(mask == 0)[..., None])
    a_mask = cv2.GaussianBlur(cover, (0, 0), 0.7)[..., None]
    strength = float(np.clip(gap / 2.0, 0.0, 1.0)) * fade  # a hairline opening stays lip-coloured
    return PaintLayer((x0, y0, x1, y1), rgb.astype(np.float32), a_mask * strength)
