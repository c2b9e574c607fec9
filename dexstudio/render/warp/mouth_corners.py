"""Mouth corners: the crease beside a closed mouth's corner smooths out as the mouth opens.

A closed mouth shows a short dark crease running out from each corner (the commissure).
When the jaw opens, the skin there stretches flat and the crease all but disappears;
the warp instead stretches the source's thin dark line into a broad brown smudge beside
the opening (liveportrait_d18 in self-reenactment, frames 70 and 150).

Per source (:func:`analyse_creases`), a patch around each corner is measured: the crease
is what a morphological closing of the luminance lifts (dark features a few pixels
wide), outside the lips, weighted towards the corner; the patch is inpainted there.
Per frame (:func:`crease_layer`), the inpainted patch is warped like the source and laid
over the frame with the crease's mask, fading in as the mouth opens past the source's
own opening (``_OPEN``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dexstudio.motion import landmark_sets as ls
from dexstudio.render.warp.mouth import relative_gap
from dexstudio.render.warp.paint_layer import PaintLayer

#: the patch around each corner: half its width and height, in mouth widths
_HALF = (0.28, 0.2)
#: the closing's kernel (mouth widths; at least 3 px): the widest dark line it lifts
_KERNEL = 0.08
#: a crease is this much darker than the closing (levels, from 0 to 1 over the second)
_DEPTH = (3.0, 8.0)
#: weight towards the corner: Gaussian of this sigma (mouth widths)
_REACH = 0.16
#: the crease is the dark line that reaches within _REACH of the corner; where that
#: line grows past this area (mouth widths squared) the skin there is textured (a beard:
#: makeittalk_morgan's stubble was smeared: 0.059-0.086) and the corner is left alone. liveportrait_d18's
#: crease: 0.009, liveportrait_s7's 0.004-0.008
_MAX_AREA = 0.02
#: the crease starts to smooth once the mouth opens this much more than the source's
#: (inner-lip gap / mouth width) and is fully smoothed at the second. Speech keeps its
#: creases: smoothing from the first opening on (0, 0.15) cost the re-tracked keypoints
#: in self-reenactment (d0 0.36 -> 0.43 % of the face, d13 0.39 -> 0.42, d10 0.55 ->
#: 0.57) and whole-frame PSNR (d7 -0.12, d20 -0.10, d19 -0.08 dB); with (0.12, 0.3)
#: PSNR is within 0.02 dB of none on d0, d10, d13, d19, d7, d18 and keypoints within
#: 0.02, while a wide-open mouth (d18 frames 70, 150) is smoothed in full
_OPEN = (0.12, 0.3)
#: only a closed source mouth (inner-lip gap / mouth width below this) is searched: an
#: open one's dark corners are its interior's shadow (portrait4d_zoe_saldana's smile
#: showing teeth: smoothing them drew pink patches beside the opened mouth)
_CLOSED_BELOW = 0.04
#: the lips are kept, except within this distance of the corner (mouth widths), where
#: the dark line between them runs into the corner of their outline: there, what is
#: this much darker than the lips' median (levels) is crease, not lip
_CORNER_FREE = 0.08
_DARKER_THAN_LIPS = 8.0


@dataclass(frozen=True, eq=False)
class CreasePatch:
    """One corner's crease in the source crop.

    Attributes:
        corner: the mouth corner's landmark (``ls.MOUTH_CORNER_RIGHT`` or ``_LEFT``).
        box: (x0, y0, x1, y1) source crop pixels.
        smooth: (h, w, 3) float32 the patch with the crease inpainted.
        mask: (h, w) float32 0..1 how much of the crease each pixel holds.
    """

    corner: int
    box: tuple[int, int, int, int]
    smooth: np.ndarray
    mask: np.ndarray


def analyse_creases(crop: np.ndarray, landmarks: np.ndarray) -> tuple[CreasePatch, ...]:
    """The creases beside the source mouth's two corners (none where nothing is darker
    than its surroundings).

    Args:
        crop: (S, S, 3) uint8 source crop.
        landmarks: (478, 2+) source points, crop pixels.
    """
    S = crop.shape[0]
    lm = np.asarray(landmarks, np.float64)[:, :2]
    width = float(np.linalg.norm(lm[ls.MOUTH_CORNER_LEFT] - lm[ls.MOUTH_CORNER_RIGHT]))
    if width < 8.0 or relative_gap(lm) >= _CLOSED_BELOW:
        return ()
    lips = np.zeros((S, S), np.uint8)
    cv2.fillPoly(lips, [np.round(lm[list(ls.LIPS_OUTER)]).astype(np.int32)], 255)
    lip_lum = float(np.median(crop[lips > 0].astype(np.float32).mean(axis=1))) if (lips > 0).any() else 0.0
    k = max(3, int(round(_KERNEL * width)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    out = []
    for corner in (ls.MOUTH_CORNER_RIGHT, ls.MOUTH_CORNER_LEFT):
        cx, cy = lm[corner]
        x0, x1 = int(max(cx - _HALF[0] * width, 0)), int(min(cx + _HALF[0] * width + 1, S))
        y0, y1 = int(max(cy - _HALF[1] * width, 0)), int(min(cy + _HALF[1] * width + 1, S))
        if x1 - x0 < 2 * k or y1 - y0 < 2 * k:
            continue
        patch = crop[y0:y1, x0:x1]
        lum = patch.astype(np.float32).mean(axis=2)
        depth = cv2.morphologyEx(lum, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE) - lum
        yy, xx = np.mgrid[y0:y1, x0:x1]
        r2 = (xx - cx) ** 2 + (yy - cy) ** 2  # squared distance to the corner
        near = np.exp(-r2 / (2.0 * (_REACH * width) ** 2))
        # and to nothing at the patch's edge (no seam where the warped patch ends)
        edge = np.minimum(np.minimum(xx - x0 + 1, x1 - xx), np.minimum(yy - y0 + 1, y1 - yy))
        near *= np.clip((edge - 3.0) / 4.0, 0.0, 1.0)
        mask = np.clip((depth - _DEPTH[0]) / _DEPTH[1], 0.0, 1.0) * near
        at_corner = r2 < (_CORNER_FREE * width) ** 2
        lip_crease = at_corner & (lum < lip_lum - _DARKER_THAN_LIPS)
        mask[(lips[y0:y1, x0:x1] > 0) & ~lip_crease] = 0.0
        mask = _line_at_corner(mask, r2 < (_REACH * width) ** 2, width)
        if mask is None or mask.max() < 0.1:
            continue
        # grown by a pixel before the feathering, so a thin line keeps its full strength
        mask = cv2.GaussianBlur(cv2.dilate(mask.astype(np.float32), np.ones((3, 3), np.uint8)), (0, 0), 1.0)
        hole = cv2.dilate((mask > 0.05).astype(np.uint8), np.ones((3, 3), np.uint8))
        smooth = cv2.inpaint(np.ascontiguousarray(patch), hole, 3, cv2.INPAINT_TELEA)
        out.append(CreasePatch(corner, (x0, y0, x1, y1), smooth.astype(np.float32), mask.astype(np.float32)))
    return tuple(out)


def _line_at_corner(mask: np.ndarray, corner_zone: np.ndarray, width: float) -> np.ndarray | None:
    """``mask`` kept on its connected parts that reach ``corner_zone``; None where they
    cover more than ``_MAX_AREA`` (textured skin, not a crease)."""
    labels = cv2.connectedComponents((mask > 0.3).astype(np.uint8), connectivity=8)[1]
    ids = np.unique(labels[corner_zone & (labels > 0)])
    keep = np.isin(labels, ids)
    if keep.sum() > _MAX_AREA * width * width:
        return None
    # the soft edge around the kept parts stays (a pixel's reach)
    grown = cv2.dilate(keep.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return np.where(grown, mask, 0.0).astype(np.float32)


def crease_fade(source: np.ndarray, target: np.ndarray) -> float:
    """0..1, how far the frame's mouth has opened past the source's (``_OPEN``)."""
    return float(np.clip((relative_gap(target) - relative_gap(source) - _OPEN[0]) / (_OPEN[1] - _OPEN[0]), 0.0, 1.0))


def crease_layer(patches: tuple[CreasePatch, ...], fmap: np.ndarray, target: np.ndarray,
                 fade: float) -> PaintLayer | None:
    """The frame's smoothed creases: each patch warped like the source and laid over
    the frame where the crease was, at ``fade`` strength.

    Args:
        patches: :func:`analyse_creases` of the source.
        fmap: (S, S, 2) float32 the frame's backward map (source crop position per pixel).
        target: (478, 2+) the frame's points, crop pixels.
        fade: 0..1 (:func:`crease_fade`).
    """
    if fade <= 0.0 or not patches:
        return None
    S = fmap.shape[0]
    lm = np.asarray(target, np.float64)[:, :2]
    width = float(np.linalg.norm(lm[ls.MOUTH_CORNER_LEFT] - lm[ls.MOUTH_CORNER_RIGHT]))
    reach = 2.0 * max(_HALF) * max(width, 8.0)
    layers = []
    for patch in patches:
        cx, cy = lm[patch.corner]
        x0, x1 = int(max(cx - reach, 0)), int(min(cx + reach + 1, S))
        y0, y1 = int(max(cy - reach, 0)), int(min(cy + reach + 1, S))
        if x1 <= x0 or y1 <= y0:
            continue
        px, py = patch.box[0], patch.box[1]
        m = fmap[y0:y1, x0:x1] - np.array([px, py], np.float32)
        alpha = cv2.remap(patch.mask, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if alpha.max() < 0.02:
            continue
        rgb = cv2.remap(patch.smooth, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        layers.append(PaintLayer((x0, y0, x1, y1), rgb, (alpha * fade)[..., None]))
    if not layers:
        return None
    merged = layers[0]
    for layer in layers[1:]:
        merged = merged.with_over(layer)
    return merged
