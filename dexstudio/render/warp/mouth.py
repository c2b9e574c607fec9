"""Mouth interior: when the frame opens the mouth wider than the source, paint a
plausible inside (dark cavity with soft shading, a teeth band when the source shows
teeth) over the stretched inner-lip region instead of stretched lip texture.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dexstudio.motion import landmark_sets as ls

_INNER = np.asarray(ls.LIPS_INNER)
#: inner-lip loop from the right corner along the upper lip to the left corner
_UPPER = np.asarray((78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308))


def polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def mouth_gap(landmarks: np.ndarray) -> float:
    """Mean inner-lip opening height in pixels (inner-lip area / mouth width)."""
    width = float(np.linalg.norm(landmarks[78, :2] - landmarks[308, :2])) or 1.0
    return polygon_area(landmarks[_INNER, :2]) / width


@dataclass(frozen=True)
class MouthLook:
    """What the source's mouth looks like (measured once in ``prepare``).

    Attributes:
        gap: source opening height in crop pixels.
        cavity_rgb: (3,) float32 colour of the cavity (dark, lip-tinted).
        teeth_rgb: (3,) float32 colour of the source's teeth, or None when not visible.
    """

    gap: float
    cavity_rgb: np.ndarray
    teeth_rgb: np.ndarray | None


def analyse_mouth(crop: np.ndarray, landmarks: np.ndarray, face_size_px: float) -> MouthLook:
    """Measure the source mouth: opening, lip tint, visible teeth."""
    S = crop.shape[0]
    gap = mouth_gap(landmarks)
    outer = np.zeros((S, S), np.uint8)
    cv2.fillPoly(outer, [np.round(landmarks[list(ls.LIPS_OUTER), :2]).astype(np.int32)], 255)
    inner = np.zeros((S, S), np.uint8)
    cv2.fillPoly(inner, [np.round(landmarks[_INNER, :2]).astype(np.int32)], 255)
    lips = (outer > 0) & (inner == 0)
    lip_rgb = crop[lips].astype(np.float32).mean(0) if lips.any() else np.array([150, 80, 80], np.float32)
    cavity = np.clip(lip_rgb * 0.22 + np.array([6, 0, 0], np.float32), 0, 255)
    teeth = None
    if gap > 0.015 * face_size_px and (inner > 0).sum() > 20:
        px = crop[inner > 0].astype(np.float32)
        lum = px.mean(1)
        sat = px.max(1) - px.min(1)
        bright = (lum > np.percentile(lum, 60)) & (lum > 110) & (sat < 80)
        if bright.sum() > 0.15 * len(px):
            teeth = px[bright].mean(0)
    return MouthLook(gap, cavity.astype(np.float32), None if teeth is None else teeth.astype(np.float32))


@dataclass(frozen=True, eq=False)
class MouthLayer:
    """A painted mouth interior to composite over a crop.

    Attributes:
        box: (x0, y0, x1, y1) in crop pixels.
        rgb: (h, w, 3) float32 colours; alpha: (h, w, 1) float32 in 0..1.
    """

    box: tuple[int, int, int, int]
    rgb: np.ndarray
    alpha: np.ndarray

    def apply(self, out: np.ndarray) -> None:
        """Composite into ``out`` (S, S, 3) uint8 in place."""
        x0, y0, x1, y1 = self.box
        roi = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = np.clip(roi * (1 - self.alpha) + self.rgb * self.alpha, 0, 255).astype(np.uint8)


def mouth_layer(size: int, target: np.ndarray, look: MouthLook, face_size_px: float) -> MouthLayer | None:
    """The mouth interior for one frame, or None when the mouth is not opened wider.

    Args:
        size: crop side S.
        target: (478, 2+) frame landmarks, crop pixels.
    """
    gap = mouth_gap(target)
    extra = gap - max(look.gap, 0.0) * 1.1
    alpha = float(np.clip(extra / (0.035 * face_size_px), 0.0, 1.0))
    if look.teeth_rgb is not None:  # the source's own inside is already stretched in: be gentle
        alpha *= float(np.clip((gap / max(look.gap, 1e-3) - 1.3) / 1.5, 0.0, 1.0))
    if alpha <= 0.02 or gap < 1.0:
        return None
    S = size
    poly = target[_INNER, :2]
    x0, y0 = np.floor(poly.min(0)).astype(int) - 3
    x1, y1 = np.ceil(poly.max(0)).astype(int) + 4
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, S), min(y1, S)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    h, w = y1 - y0, x1 - x0
    off = np.array([x0, y0], np.float32)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round((poly - off) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    # shrink a little so the lip edge stays lip, then feather
    k = max(1, int(round(gap * 0.08)))
    mask = cv2.erode(mask, np.ones((2 * k + 1, 2 * k + 1), np.uint8))
    m = cv2.GaussianBlur(mask, (0, 0), max(0.8, gap * 0.06)).astype(np.float32) / 255.0
    # soft shading: darker towards the middle of the opening, lighter near the lips
    dist = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 3)
    shade = 0.55 + 0.45 * np.exp(-dist / max(1.0, 0.18 * gap))
    inside = look.cavity_rgb[None, None, :] * shade[..., None]
    if look.teeth_rgb is not None:
        upper = target[_UPPER, :2] - off
        band_h = float(np.clip(0.3 * gap, 1.0, 0.05 * face_size_px))
        band = np.concatenate([upper, upper[::-1] + np.array([0.0, band_h])], 0)
        tm = np.zeros((h, w), np.uint8)
        cv2.fillPoly(tm, [np.round(band * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        tmf = cv2.GaussianBlur(tm, (0, 0), 0.8).astype(np.float32)[..., None] / 255.0
        inside = inside * (1 - tmf) + look.teeth_rgb[None, None, :] * 0.92 * tmf
    return MouthLayer((int(x0), int(y0), int(x1), int(y1)), inside.astype(np.float32),
                      (m * alpha)[..., None].astype(np.float32))
