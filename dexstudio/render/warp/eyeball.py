"""What the lids hide: the eyeball a frame shows where the source's lids cover it.

When the frame's eye opens wider than the source's (eyeWide, the narrow eye of a
turned portrait opened by the driver, gaze moving the iris under a lid), the rigid
eyeball sample (:func:`dexstudio.render.warp.eyes.eyeball_map`) lands outside the
source's eye opening, or inside it on the lid margin. Those pixels used to show lid
and lash pixels: dark jagged bands across the white of the eye and a second lash
line across the iris. They are painted from the source's eyeball continued under
its lids instead (inpainted once per source from what its opening shows).

A sample on the source's lid margin still shows the source where the frame's pixel
is itself as near its lid (an eye as open as the source's keeps its real margin).

Gaze (:func:`gaze_eyeball_layer`): the iris moves over the eyeball as a disc. The
source's iris patch (the iris and a thin ring of white around it) is drawn at its new
place, and where it was, the white of the eye shows, inpainted once per source from
the white alone (``EyeballLook.bare``). A smooth displacement falling off around the
iris instead stretched the iris over the white on its trailing side (a looking-aside
iris 1.5x as wide, with no white behind it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from dexstudio.render.warp.eyes import EyeSpec, eye_width
from dexstudio.render.warp.paint_layer import PaintLayer
from dexstudio.render.warp.warp_field import sample_at

#: the band inside the source's eye opening that belongs to the lids (lashes, the lid's
#: rim and its shadow), eye widths: about 3 px for a 45 px eye
_MARGIN = 0.06
#: the eyeball texture reaches this far beyond the eye's corners and lids, eye widths
_PAD = (0.25, 0.5)
#: the iris patch that moves with gaze: the tracked iris radius times this, + 1 px (the
#: dark limbal ring and its anti-aliasing go with it)
_PATCH_GROW = 1.15
#: below this shift (source pixels) the iris keeps its place on the eyeball (the
#: smooth map of :func:`dexstudio.render.warp.eyes.eyeball_map`)
_MIN_SHIFT_PX = 0.25
#: the moved iris fades in over the eyeball as it is from ``_MIN_SHIFT_PX`` up to this
#: shift (source pixels; :func:`gaze_weight`). Switched on at once, 5-20 pixels of an
#: eye changed by 40-115 grey levels where a gaze crossed the onset, and gazes hover
#: there: liveportrait_s42 x liveportrait_d13 switched 71 times in 352 frames (d19 56 in
#: 250, d18 42 in 216)
_FULL_SHIFT_PX = 1.0
#: fewer visible white-of-the-eye pixels than this: no bare eyeball (a squint, a shut eye)
_MIN_WHITE_PX = 12
#: nor when the white's bright tone is less than this lighter than the iris (grey levels;
#: measured: 20 on liveportrait_s6's shut eyes, 100-150 on open ones)
_MIN_CONTRAST = 40.0


@dataclass(frozen=True, eq=False)
class EyeballLook:
    """One source eyeball, prepared once: its texture continued under the lids.

    Attributes:
        box: (x0, y0, x1, y1) the window of ``texture`` and ``depth`` in source crop
            pixels.
        texture: (h, w, 3) uint8 the source inside its opening (lid margin left out),
            continued outwards by inpainting (Telea): the iris and the white of the eye
            as they run on under the lids.
        depth: (h, w) float32 distance to the edge of the source's eye opening, pixels
            (0 outside it).
        margin_px: width of the lid margin band inside the source's opening, pixels.
        iris_center: (2,) float64 the source's iris centre, source crop pixels.
        patch_radius: radius of the iris patch that moves with gaze, pixels.
        bare: (h, w, 3) uint8 the eyeball with the iris patch taken out: the white of
            the eye (lid margin and iris patch left out) inpainted over the rest of the
            window, brightening towards the patch's middle (:func:`_bare_eyeball`); None
            when the opening shows too little white, or no iris darker than it.
    """

    box: tuple[int, int, int, int]
    texture: np.ndarray
    depth: np.ndarray
    margin_px: float
    iris_center: np.ndarray = field(default_factory=lambda: np.zeros(2))
    patch_radius: float = 0.0
    bare: Optional[np.ndarray] = None


def analyse_eyeball(crop: np.ndarray, landmarks: np.ndarray, eye: EyeSpec, eye_mask: np.ndarray) -> EyeballLook:
    """Prepare one source eyeball (see :class:`EyeballLook`).

    Args:
        crop: (S, S, 3) uint8 source crop.
        landmarks: (478, 2+) source points, crop pixels.
        eye: which eye.
        eye_mask: (S, S) uint8 the source's eye openings
            (:func:`dexstudio.render.warp.eyes.eye_mask`).
    """
    S = crop.shape[0]
    w = eye_width(landmarks, eye)
    pts = landmarks[list(eye.contour), :2]
    lo = np.floor(pts.min(0) - [_PAD[0] * w, _PAD[1] * w]).astype(int)
    hi = np.ceil(pts.max(0) + [_PAD[0] * w, _PAD[1] * w]).astype(int) + 1
    x0, y0 = np.clip(lo, 0, S)
    x1, y1 = np.clip(hi, 0, S)
    box = (int(x0), int(y0), int(x1), int(y1))
    window = np.ascontiguousarray(crop[y0:y1, x0:x1])
    inside = np.ascontiguousarray(eye_mask[y0:y1, x0:x1] > 0).astype(np.uint8)
    if window.size == 0:
        return EyeballLook(box, window.copy(), inside.astype(np.float32), 1.0)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    margin = max(1.0, _MARGIN * w)
    centre = np.asarray(landmarks[eye.iris_center, :2], np.float64)
    radius = float(np.linalg.norm(landmarks[list(eye.iris_ring), :2] - centre, axis=1).mean())
    patch = _PATCH_GROW * radius + 1.0
    known = depth > margin
    if known.sum() < 4:  # a shut eye shows nothing to continue
        return EyeballLook(box, window.copy(), depth, margin, centre, patch)
    unknown = (~known).astype(np.uint8) * 255
    texture = cv2.inpaint(window, unknown, max(2.0, 0.08 * w), cv2.INPAINT_TELEA)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    bare = _bare_eyeball(window, known, np.hypot(xx - centre[0], yy - centre[1]), radius, patch, w)
    return EyeballLook(box, texture, depth, margin, centre, patch, bare)


def _bare_eyeball(window: np.ndarray, known: np.ndarray, dist: np.ndarray, radius: float, patch: float,
                  eye_w: float) -> Optional[np.ndarray]:
    """The eye window with the iris patch replaced by the white of the eye.

    The white continues inwards from what the opening shows (Telea), and towards the
    patch's middle it turns to the bright tone of the white right beside the iris (its
    top 10 % by lightness less colourfulness, which tells it from pale skin): the middle
    of the eyeball faces the camera and is its brightest white, while the white towards
    the corners is often in the shadow of the nose or the lids.

    None when the opening shows too little white outside the patch (``_MIN_WHITE_PX``),
    or a white not clearly lighter than the iris (``_MIN_CONTRAST``): a shut or squinting
    eye, where the tracker's "iris" and "white" are both lid skin.

    Args:
        window: (h, w, 3) uint8 source eye window; known: (h, w) bool its opening without
            the lid margin; dist: (h, w) distance to the iris centre, pixels; radius: the
            tracked iris radius, patch: the iris patch's radius, eye_w: the eye's width,
            pixels.
    """
    white = known & (dist > patch)  # the white of the eye outside the patch
    beside_iris = known & (dist > radius + 1.0) & (dist < 2.0 * radius)  # a ring an iris radius wide
    iris = known & (dist < 0.7 * radius)  # the middle of the iris
    if white.sum() < _MIN_WHITE_PX or not iris.any() or not beside_iris.any():
        return None
    px = window[beside_iris].astype(np.float32)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    # the white of the eye is light and nearly grey; lid skin and the pink of the corners
    # are as light but coloured
    whiteness = px @ luma - (px.max(1) - px.min(1))
    bright = px[whiteness >= np.percentile(whiteness, 90)].mean(0)
    if float(bright @ luma) - float(np.median(window[iris].astype(np.float32) @ luma)) < _MIN_CONTRAST:
        return None
    filled = cv2.inpaint(window, (~white).astype(np.uint8) * 255, max(2.0, 0.08 * eye_w), cv2.INPAINT_TELEA)
    t = np.clip((1.15 - dist / patch) / 0.6, 0.0, 1.0)
    t = (t * t * (3.0 - 2.0 * t))[..., None]
    return np.clip(filled * (1.0 - t) + bright * t, 0, 255).astype(np.uint8)


def _source_depth(look: EyeballLook, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """(N,) depth of samples (source crop pixels) in the source's opening, pixels (0 outside
    it), interpolated bilinearly so it changes smoothly as a sample moves."""
    bx, by, bx1, by1 = look.box
    if bx1 <= bx or by1 <= by:
        return np.zeros(len(sx))
    mx = (np.asarray(sx, np.float32) - bx).reshape(1, -1)
    my = (np.asarray(sy, np.float32) - by).reshape(1, -1)
    d = cv2.remap(look.depth.astype(np.float32, copy=False), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                  borderValue=0.0)
    return d.reshape(-1).astype(np.float64)


class _Opening:
    """One eye's opening in the frame, in a small box: which of its pixels show their
    source sample (``real``), for any samples (see :func:`hidden_eyeball_layer`)."""

    def __init__(self, xs: np.ndarray, ys: np.ndarray, look: EyeballLook, source: np.ndarray,
                 target: np.ndarray, eye: EyeSpec) -> None:
        self.look = look
        self.x0, self.y0 = int(xs.min()) - 2, int(ys.min()) - 2
        self.x1, self.y1 = int(xs.max()) + 3, int(ys.max()) + 3
        self.rows, self.cols = ys - self.y0, xs - self.x0
        self.mask = np.zeros((self.y1 - self.y0, self.x1 - self.x0), np.uint8)
        self.mask[self.rows, self.cols] = 1
        # distance of each pixel to the edge of the frame's opening (1 on it), in source pixels
        k = eye_width(target, eye) / eye_width(source, eye)
        self.depth = cv2.distanceTransform(self.mask, cv2.DIST_L2, 3)[self.rows, self.cols] / k

    def window_coords(self, sx: np.ndarray, sy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Samples in the eyeball window's pixels ((1, N) float32 each, for :func:`sample_at`)."""
        bx, by = self.look.box[:2]
        return ((sx.astype(np.float32) - bx).reshape(1, -1), (sy.astype(np.float32) - by).reshape(1, -1))

    def real(self, d_src: np.ndarray) -> np.ndarray:
        """(N,) float 0..1: how much samples at source depth ``d_src`` show the source
        itself: those a pixel clear of the lid margin, or on a pixel no deeper in the
        frame's opening than the sample in the source's (+1 px), each rule fading out over
        a pixel (towards the margin; beyond the +1 px). A switch per pixel flipped pixels
        between lashes and the white of the eye as the iris moved."""
        clear = np.clip(d_src - self.look.margin_px, 0.0, 1.0)
        shallow = np.clip(d_src + 2.0 - self.depth, 0.0, 1.0)
        return np.maximum(clear, shallow)

    def layer(self, rgb_n: np.ndarray, cover_n: np.ndarray, size: int, soft: bool) -> PaintLayer:
        """A layer painting (N, 3) colours over the opening's pixels with (N,) coverage,
        clipped to the crop (``soft``: blurred 0.6 px towards the uncovered pixels)."""
        h, w = self.mask.shape
        rgb = np.zeros((h, w, 3), np.float32)
        rgb[self.rows, self.cols] = rgb_n
        cover = np.zeros((h, w), np.float32)
        cover[self.rows, self.cols] = cover_n
        alpha = cv2.GaussianBlur(cover, (0, 0), 0.6) * self.mask if soft else cover
        cx0, cy0 = max(self.x0, 0), max(self.y0, 0)
        cx1, cy1 = min(self.x1, size), min(self.y1, size)
        sl = (slice(cy0 - self.y0, cy1 - self.y0), slice(cx0 - self.x0, cx1 - self.x0))
        return PaintLayer((cx0, cy0, cx1, cy1), rgb[sl], alpha[sl][..., None].astype(np.float32))


def hidden_eyeball_layer(xs: np.ndarray, ys: np.ndarray, sx: np.ndarray, sy: np.ndarray, look: EyeballLook,
                         source: np.ndarray, target: np.ndarray, eye: EyeSpec,
                         size: int) -> tuple[np.ndarray, PaintLayer | None]:
    """Which eye-opening pixels keep their source sample, and the paint for the others.

    A pixel keeps its sample where that lies inside the source's opening clear of the
    lid margin, or where the pixel lies no deeper in the frame's opening than its
    sample in the source's, +1 px (an eye as open as the source's keeps its real
    margin; pixels on the frame's lid keep the lid's map, as the raster of the mesh and
    the source's opening differ by a pixel). The others show the eyeball texture
    (:class:`EyeballLook`) at their sample.

    Args:
        xs, ys: (N,) int target pixel coordinates of one eye's opening (crop).
        sx, sy: (N,) float32 their rigid eyeball samples (source crop pixels, the gaze
            shift included).
        look: the source eyeball (:func:`analyse_eyeball`).
        source, target: (478, 2+) landmarks, crop pixels.
        eye: which eye.
        size: crop side S.
    Returns:
        (real, layer): (N,) float 0..1, how much each pixel shows its source sample; the painted
        eyeball over the others (anti-aliased into their neighbours), or None when all
        are real.
    """
    d_src = _source_depth(look, sx, sy)
    if (d_src >= look.margin_px + 1.0).all():  # every sample clear of the lids
        return np.ones(len(xs)), None
    opening = _Opening(xs, ys, look, source, target, eye)
    real = opening.real(d_src)
    if (real >= 1.0).all() or look.texture.size == 0:
        return real, None
    col = sample_at(look.texture, *opening.window_coords(sx, sy))
    return real, opening.layer(col, (1.0 - real).astype(np.float32), size, soft=True)


def gaze_weight(shift: np.ndarray) -> float:
    """0..1: how much of the moved iris (:func:`gaze_eyeball_layer`) shows for an iris
    shift of ``shift`` ((2,) source pixels): 0 up to ``_MIN_SHIFT_PX``, 1 from
    ``_FULL_SHIFT_PX`` on, a smoothstep between."""
    x = (float(np.hypot(*np.asarray(shift, np.float64))) - _MIN_SHIFT_PX) / (_FULL_SHIFT_PX - _MIN_SHIFT_PX)
    x = min(max(x, 0.0), 1.0)
    w = x * x * (3.0 - 2.0 * x)
    return w if w >= 1.0 / 256.0 else 0.0  # less changes no pixel by a level


def gaze_eyeball_layer(xs: np.ndarray, ys: np.ndarray, sx: np.ndarray, sy: np.ndarray, shift: np.ndarray,
                       look: EyeballLook, crop: np.ndarray, source: np.ndarray, target: np.ndarray,
                       eye: EyeSpec, size: int) -> Optional[tuple[np.ndarray, np.ndarray, PaintLayer]]:
    """One eye's opening with its iris moved over the eyeball as a disc.

    Each pixel shows the source's iris patch (radius ``look.patch_radius``, anti-aliased
    edge) where its sample minus ``shift`` falls in the patch; elsewhere the eyeball at
    its rigid sample, with the white inpainted (``look.bare``) where the patch was or the
    source's lids hide it. Patch samples the source's lids hide show the eyeball
    continued under them (``look.texture``); what counts as hidden is the rule of
    :func:`hidden_eyeball_layer`.

    Args:
        xs, ys: (N,) int target pixel coordinates of one eye's opening (crop).
        sx, sy: (N,) float32 their rigid eyeball samples (source crop pixels, no gaze).
        shift: (2,) the iris's move on the eyeball, source pixels
            (:func:`dexstudio.render.warp.eyes.rigid_eyeball`).
        look: the source eyeball (:func:`analyse_eyeball`).
        crop: (S, S, 3) uint8 the source crop.
        source, target: (478, 2+) landmarks, crop pixels.
        eye: which eye.
        size: crop side S.
    Returns:
        None when the iris keeps its place (a shift under ``_MIN_SHIFT_PX``) or the
        source shows too little white; else ((N,) float32 x, (N,) float32 y) the map's
        samples (the patch's where a pixel is mostly iris) and the layer that paints
        every pixel of the opening.
    """
    shift = np.asarray(shift, np.float64)
    if look.bare is None or float(np.hypot(*shift)) < _MIN_SHIFT_PX:
        return None
    c, R = look.iris_center, look.patch_radius
    ix = (sx - shift[0]).astype(np.float32)
    iy = (sy - shift[1]).astype(np.float32)
    a = np.clip(R + 0.5 - np.hypot(ix - c[0], iy - c[1]), 0.0, 1.0).astype(np.float32)[:, None]
    opening = _Opening(xs, ys, look, source, target, eye)
    # the iris patch: the source where it shows it, else the eyeball continued under its lids
    real_i = opening.real(_source_depth(look, ix, iy))[:, None]
    col_i = (real_i * sample_at(crop, ix, iy)
             + (1.0 - real_i) * sample_at(look.texture, *opening.window_coords(ix, iy)))
    # the eyeball behind it: the white where the patch was or the lids hide it (each
    # ramping over a pixel)
    real_s = opening.real(_source_depth(look, sx, sy))
    was_patch = np.clip(R + 1.5 - np.hypot(sx - c[0], sy - c[1]), 0.0, 1.0)
    bare = np.maximum(1.0 - real_s, was_patch)[:, None]
    col_s = bare * sample_at(look.bare, *opening.window_coords(sx, sy)) + (1.0 - bare) * sample_at(crop, sx, sy)
    col = a * col_i + (1.0 - a) * col_s
    iris = a[:, 0] >= 0.5
    mx = np.where(iris, ix, sx).astype(np.float32)
    my = np.where(iris, iy, sy).astype(np.float32)
    return mx, my, opening.layer(col, np.ones(len(xs), np.float32), size, soft=False)
