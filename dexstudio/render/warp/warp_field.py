"""Dense backward maps: a smooth thin-plate-spline field outside the face and a
piecewise-affine map inside the face mesh.

Everything that depends only on the source is precomputed (:class:`TpsField`'s
control-to-grid operator); per frame the work is one small matrix product, a
few tiny remaps on a coarse grid, a triangle-id raster and one gather of per-triangle
affine coefficients.

Maps are *backward* maps: for every output pixel ``y`` the source position ``x`` it
samples (``cv2.remap`` convention), in crop pixels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np


def small_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for the small per-frame products, single-pass and float32 through OpenCV.

    numpy hands these to a multithreaded BLAS whose threads fight over a busy 2-core
    machine (10+ ms for a 1600x220 by 220x2 product); ``cv2.gemm`` takes ~0.5 ms.
    """
    a2 = np.ascontiguousarray(a, np.float32)
    b2 = np.ascontiguousarray(b, np.float32)
    squeeze = a2.ndim == 1
    if squeeze:
        a2 = a2[None]
    if b2.ndim == 1:
        b2 = b2[:, None]
    out = cv2.gemm(a2, b2, 1.0, None, 0.0)
    return out[0] if squeeze else out


def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    """Thin-plate kernel U(r) = r^2 log r, written on r^2 (0 at r = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 0.5 * r2 * np.log(r2)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


@functools.lru_cache(maxsize=4)
def _identity_grid(size: int) -> np.ndarray:
    g = np.arange(size, dtype=np.float32)
    out = np.stack(np.meshgrid(g, g), -1)
    out.setflags(write=False)
    return out


def identity_grid(size: int) -> np.ndarray:
    """(S, S, 2) float32 pixel positions (x, y); read-only, cached."""
    return _identity_grid(int(size))


@dataclass(frozen=True, eq=False)
class TpsField:
    """Precomputed thin-plate spline from K control displacements to a coarse grid.

    Attributes:
        size: crop side S (pixels).
        n: coarse grid side; grid node j sits at pixel ``(j + 0.5) * S / n - 0.5`` so a
            ``cv2.resize`` to S aligns exactly.
        operator: (n*n, K) float32, forward displacement at the grid nodes =
            ``operator @ control_displacement``.
        grid: (n, n, 2) float32 node positions (x, y) in crop pixels.
    """

    size: int
    n: int
    operator: np.ndarray
    grid: np.ndarray

    @staticmethod
    def build(controls: np.ndarray, size: int, n: int = 64, regularization: float = 1e-3) -> "TpsField":
        """Build the operator for K control points (K, 2) in crop pixels."""
        c = np.asarray(controls, np.float64) / size  # unit square for conditioning
        K = len(c)
        d2 = ((c[:, None, :] - c[None, :, :]) ** 2).sum(-1)
        A = np.zeros((K + 3, K + 3))
        A[:K, :K] = _tps_kernel(d2) + regularization * np.eye(K)
        P = np.concatenate([np.ones((K, 1)), c], 1)
        A[:K, K:] = P
        A[K:, :K] = P.T
        inv = np.linalg.pinv(A)[:, :K]  # (K+3, K): weights + affine part from values
        step = size / n
        g1 = (np.arange(n) + 0.5) * step - 0.5
        gx, gy = np.meshgrid(g1, g1)
        grid = np.stack([gx, gy], -1).reshape(-1, 2) / size
        G = np.concatenate([_tps_kernel(((grid[:, None, :] - c[None]) ** 2).sum(-1)),
                            np.ones((len(grid), 1)), grid], 1)
        op = (G @ inv).astype(np.float32)
        return TpsField(size, n, op, (grid * size).reshape(n, n, 2).astype(np.float32))

    def backward_coarse(self, displacement: np.ndarray, iterations: int = 3) -> np.ndarray:
        """Coarse backward map from control displacements.

        Args:
            displacement: (K, 2) forward displacement (target - source) of the controls.
        Returns:
            (n, n, 2) float32 source positions sampled by the coarse grid nodes.
        """
        n = self.n
        D = small_matmul(self.operator, displacement).reshape(n, n, 2)
        step = self.size / n
        x = self.grid - D
        for _ in range(iterations - 1):  # fixed point x = y - D(x)
            u = (x[..., 0] + 0.5) / step - 0.5
            v = (x[..., 1] + 0.5) / step - 0.5
            Dx = cv2.remap(D, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            x = self.grid - Dx
        return x

    def backward_full(self, displacement: np.ndarray, out_size: int | None = None) -> np.ndarray:
        """(S, S, 2) float32 backward map at full crop resolution."""
        s = self.size if out_size is None else out_size
        back = self.backward_coarse(displacement) - self.grid  # backward displacement, smooth
        full = cv2.resize(back, (s, s), interpolation=cv2.INTER_LINEAR)
        full += identity_grid(s)
        return full


def yielding_anchors(distance: np.ndarray, displacement: np.ndarray, slope: float,
                    iterations: int = 8) -> np.ndarray:
    """How far the yielding anchors (the crop border's, the still background's) must give
    so the field never changes faster than ``slope`` between an anchor and a control point.

    A head that moves toward or away from a crop border it nearly touches (a photo cut at
    the forehead) cannot be warped with that border fixed: the little skin or hair between
    them is drawn out many times over, into streaks, or folds. Letting the border move
    with the head instead shows what lies beyond the crop there (the photo's edge continued,
    where the photo ends: :func:`~dexstudio.render.warp.crop.extend_edges`), and nothing is
    drawn out more than about ``1 / (1 - slope)`` times. Anchors far from every moving point
    stay where they are.

    Each anchor's displacement is the smallest (found by projecting in turn onto the most
    violated constraint, starting from zero) with ``|d_anchor - d_c| <= slope * |a - c|``
    for every control c.

    Args:
        distance: (A, K) source distance of each anchor from each moving control
            point, crop pixels (fixed per source: :func:`anchor_distances`).
        displacement: (K, 2) the controls' forward displacement (target - source), pixels.
        slope: largest allowed change of displacement per pixel of distance (0..1).
    Returns:
        (A, 2) float32 forward displacement of the anchors (zeros where none is needed).
    """
    reach = slope * np.asarray(distance, np.float64)
    d = np.asarray(displacement, np.float64)
    A = reach.shape[0]
    out = np.zeros((A, 2))
    if A == 0 or len(d) == 0:
        return out.astype(np.float32)
    # most anchors (all of them, most frames) are within reach of every control as they
    # stand; each anchor's problem is its own, so only those that are not are solved
    moving = np.nonzero((np.hypot(d[:, 0], d[:, 1])[None] - reach).max(axis=1) > 1e-3)[0]  # (n,)
    if len(moving) == 0:
        return out.astype(np.float32)
    sub = np.zeros((len(moving), 2))
    r = reach[moving]
    rows = np.arange(len(moving))
    for _ in range(iterations):
        diff = sub[:, None] - d[None]  # (n, K, 2)
        dist = np.hypot(diff[..., 0], diff[..., 1])
        excess = dist - r
        k = np.argmax(excess, axis=1)
        bad = excess[rows, k] > 1e-3
        if not bad.any():
            break
        kk = k[bad]
        # onto the disc of radius reach around d_k
        unit = diff[bad, kk] / np.maximum(dist[bad, kk], 1e-9)[:, None]
        sub[bad] = d[kk] + unit * r[bad, kk][:, None]
    out[moving] = sub
    return out.astype(np.float32)


def anchor_distances(anchors: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """(A, K) float32 distances between (A, 2) anchors and (K, 2) controls, pixels."""
    diff = np.asarray(anchors, np.float64)[:, None] - np.asarray(controls, np.float64)[None]
    return np.hypot(diff[..., 0], diff[..., 1]).astype(np.float32)


#: a triangle whose area shrank more than this many times is taken as collapsed by
#: :func:`triangle_affines`. Its affine map magnifies hundreds of times across the sliver
#: it became, and the pixel centres the raster gives it (up to half a pixel outside it)
#: sample hundreds of pixels away: a white hole in dwayne's far brow
#: (liveportrait_d3 frame 342; 0.0097 px^2 drawn from 5.4), single wild eyeball pixels
#: on liveportrait_s6. Such slivers are a closing eye's or mouth's (the face surface's
#: are not drawn, :func:`drawn_triangles`), whose pixels their own maps repaint.
MAX_AREA_SHRINK = 100.0


def triangle_affines(target: np.ndarray, source: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Per-triangle affine maps target -> source (closed form, elementwise: no BLAS/LAPACK
    call, whose worker threads would spin on a busy machine).

    Args:
        target, source: (V, 2) vertex positions (crop pixels).
        triangles: (T, 3) vertex ids.
    Returns:
        (T, 2, 3) float32 ``A`` with ``source = A @ [x, y, 1]`` inside each triangle
        (a collapsed triangle maps everything onto its source centroid: one whose area
        shrank more than :data:`MAX_AREA_SHRINK` times, too).
    """
    t = np.asarray(target, np.float64)[triangles]  # (T, 3, 2)
    s = np.asarray(source, np.float64)[triangles]
    e1, e2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    f1, f2 = s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    det_s = f1[:, 0] * f2[:, 1] - f1[:, 1] * f2[:, 0]
    ok = np.abs(det) > np.maximum(1e-6, np.abs(det_s) / MAX_AREA_SHRINK)
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    # inverse of [e1 e2] (columns): 1/det [[e2y, -e2x], [-e1y, e1x]]
    i00, i01 = e2[:, 1] * inv, -e2[:, 0] * inv
    i10, i11 = -e1[:, 1] * inv, e1[:, 0] * inv
    A = np.empty((len(triangles), 2, 3))
    A[:, 0, 0] = f1[:, 0] * i00 + f2[:, 0] * i10
    A[:, 0, 1] = f1[:, 0] * i01 + f2[:, 0] * i11
    A[:, 1, 0] = f1[:, 1] * i00 + f2[:, 1] * i10
    A[:, 1, 1] = f1[:, 1] * i01 + f2[:, 1] * i11
    centroid = s.mean(1)
    A[:, 0, 2] = np.where(ok, s[:, 0, 0] - A[:, 0, 0] * t[:, 0, 0] - A[:, 0, 1] * t[:, 0, 1], centroid[:, 0])
    A[:, 1, 2] = np.where(ok, s[:, 0, 1] - A[:, 1, 0] * t[:, 0, 0] - A[:, 1, 1] * t[:, 0, 1], centroid[:, 1])
    return A.astype(np.float32)


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T,) signed areas of triangles (units of ``points`` squared; the sign gives the
    winding, i.e. which side of the surface faces the viewer).

    Args:
        points: (V, 2+) vertex positions (only x, y are used).
        triangles: (T, 3) vertex ids.
    """
    a = points[triangles[:, 1], :2] - points[triangles[:, 0], :2]
    b = points[triangles[:, 2], :2] - points[triangles[:, 0], :2]
    return 0.5 * (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])


def drawn_triangles(source_areas: np.ndarray, target_areas: np.ndarray, front: float, surface: np.ndarray,
                    max_shrink: float = 4.0, max_folded: float = 0.5) -> np.ndarray:
    """Which mesh triangles to draw: those facing the viewer and not nearly edge-on.

    A triangle turned away from the viewer is not drawn (painting it folds the source's
    silhouette into the face). One that still faces the viewer but is shrunk to a
    sliver (the far cheek of a turned head) samples a band of the source several
    pixels wide, skin, the face's edge and hair, into one or two pixels: single dark
    pixels of hair flicker inside the cheek's outline from frame to frame. Such
    triangles are left out too, and the neighbouring surface and the field beyond the
    mesh cover their pixels. "Shrunk" is relative to the median of the frame's face
    surface, so a face that is small in the frame as a whole is not affected.

    Measured on dagan_driving x liveportrait_s42, frames 60-71 (a 28 deg turn): isolated
    dark pixels at the far cheek 86 -> 4 (on the whole face surface 158 -> 24); self-
    reenactment PSNR unchanged (dagan 20.706 -> 20.709 dB, d3 19.378 -> 19.377 dB).

    Args:
        source_areas, target_areas: (T,) signed triangle areas in the source and the
            frame (:func:`signed_areas`).
        front: the sign of a front-facing triangle's area.
        surface: (T,) bool, the triangles of the face's surface (not the mouth, lid or
            eyeball regions, which shrink when they close and are drawn regardless).
        max_shrink: largest area shrink (source / frame) relative to the median one.
        max_folded: a surface triangle that faces away in the source and is smaller
            there than this fraction of the median surface triangle is not drawn.
    Returns:
        (T,) bool.
    """
    facing = target_areas * front > 0
    shrink = np.abs(source_areas) / np.maximum(np.abs(target_areas), 1e-9)
    plain = facing & surface
    if not plain.any():
        return facing
    ref = float(np.median(shrink[plain]))
    # a small surface triangle turned away in the source (folded at the outline of a
    # turned portrait) has no texture of its own: its source pixels are the surface in
    # front of it, and drawn it samples them mirrored, a bright pixel then a dark one
    # along the far cheek's outline. Large ones (a chin's underside seen from above)
    # are drawn: leaving them out would open a hole in the face.
    src_abs = np.abs(source_areas)
    folded = (source_areas * front <= 0) & surface & (src_abs < max_folded * float(np.median(src_abs[surface])))
    return facing & ~folded & ((shrink < max_shrink * ref) | ~surface)


def outline_vertices(points: np.ndarray, triangles: np.ndarray, active: np.ndarray, size: int,
                     tol: float = 1.5) -> np.ndarray:
    """Mesh vertices on the 2D outline of the drawn mesh (where the face meets what is
    beyond it in the image).

    On a turned face that outline is not the face oval: the far cheek's silhouette is
    drawn by vertices inside the oval (the oval itself folds behind them).

    Args:
        points: (V, 2) vertex positions, crop pixels.
        triangles: (T, 3) vertex ids; active: (T,) bool, the drawn ones.
        size: crop side S.
        tol: a vertex of a drawn triangle within this many pixels of the outside is on
            the outline.
    Returns:
        (K,) int64 sorted vertex ids.
    """
    ids = raster_triangle_ids(points, np.zeros(len(points)), triangles, (0, 0, size, size), active=active)
    mask = (ids > 0).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)  # holes (mouth, eyes) filled
    dist = cv2.distanceTransform(filled, cv2.DIST_L2, 3)
    q = np.clip(np.round(points).astype(int), 0, size - 1)
    used = np.zeros(len(points), bool)
    used[triangles[active].ravel()] = True  # a vertex of left-out triangles only is not drawn
    return np.flatnonzero(used & (dist[q[:, 1], q[:, 0]] <= tol))


def sample_at(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(N, C) float32 bilinear samples of an (H, W, C) image at N positions (``xs``,
    ``ys``: image pixels, any shape, taken flat), edges replicated."""
    mx = np.asarray(xs, np.float32).reshape(1, -1)
    my = np.asarray(ys, np.float32).reshape(1, -1)
    out = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(mx.shape[1], -1).astype(np.float32)


def raster_triangle_ids(target: np.ndarray, depth: np.ndarray, triangles: np.ndarray,
                        roi: tuple[int, int, int, int], active: np.ndarray | None = None) -> np.ndarray:
    """Rasterise triangle ids back to front (painter's algorithm on mean depth).

    Args:
        target: (V, 2) vertex positions, crop pixels.
        depth: (V,) vertex depth, larger = farther from the viewer (image-frame z).
        triangles: (T, 3) vertex ids.
        roi: (x0, y0, x1, y1) integer window to raster into.
        active: optional (T,) bool mask of triangles to draw.
    Returns:
        (y1 - y0, x1 - x0) int32 image of ``triangle id + 1`` (0 = no triangle).
    """
    x0, y0, x1, y1 = roi
    ids = np.zeros((y1 - y0, x1 - x0), np.int32)
    tri_depth = depth[triangles].mean(1)
    order = np.argsort(-tri_depth, kind="stable")
    if active is not None:
        order = order[active[order]]
    pts = np.round((target[triangles] - np.array([x0, y0])) * 16.0).astype(np.int32)  # 4-bit subpixel
    fill = cv2.fillConvexPoly
    for k in order.tolist():
        fill(ids, pts[k], k + 1, cv2.LINE_8, 4)
    return ids


def apply_affines(ids: np.ndarray, affines: np.ndarray, roi: tuple[int, int, int, int],
                  out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Source positions for the pixels of an id raster.

    Args:
        ids: (h, w) int32 ``triangle id + 1`` (0 = none).
        affines: (T, 2, 3) target -> source maps.
        roi: (x0, y0, x1, y1) of ``ids`` in crop pixels.
        out: optional (h, w, 2) float32 map (a view into the full map) that receives the
            positions where ``ids > 0``; other pixels keep their value.
    Returns:
        (map_x, map_y), each (h, w) float32 (undefined where ids == 0).
    """
    x0, y0, x1, y1 = roi
    # one coefficient plane at a time through ``take`` (2.5x faster than gathering the
    # (h, w, 6) block at once: 0.41 vs 1.04 ms for a 60k-pixel face)
    A = np.concatenate([np.zeros((1, 6), np.float32), affines.reshape(-1, 6)], 0).T.copy()
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    maps = []
    for r in (0, 3):
        m = A[r].take(ids)
        m *= xs
        t = A[r + 1].take(ids)
        t *= ys
        m += t
        m += A[r + 2].take(ids)
        maps.append(m)
    if out is not None:
        inside = ids > 0
        np.copyto(out[..., 0], maps[0], where=inside)
        np.copyto(out[..., 1], maps[1], where=inside)
    return maps[0], maps[1]


def blend_mesh_border(ids: np.ndarray, out: np.ndarray, width: float) -> None:
    """Continue the mesh's map a little outside the mesh and fade it into the outer field.

    Just outside the face the outer (thin-plate) field and the piecewise-affine mesh
    disagree where the face moves a lot relative to its surroundings (a head turning
    its far cheek into view): the coarse field lags the mesh edge and the source's
    silhouette shows twice, as a pale band outside the face and a dark line inside it.
    Within about ``width`` pixels of the mesh (up to 1.7x that with the resampling),
    each pixel takes the backward displacement of its nearest mesh-edge pixel (so the
    map continues the edge's and stays monotonic across it) and blends to the outer
    field with a smoothstep of the mesh coverage in a box of about ``width`` (all mesh
    at the edge, none a width away). Cost: ~1 ms for a 270 x 225 window.

    Args:
        ids: (h, w) int32 ``triangle id + 1`` raster (0 = outside the mesh).
        out: (h, w, 2) float32 backward map of the same window (a view): the mesh's map
            inside, the outer field outside; modified in place within the band (elsewhere
            only by float rounding, < 1e-4 px).
        width: band width, pixels.
    """
    h, w = ids.shape
    if width < 2 or h < 8 or w < 8:
        return
    hw, hh = w // 2, h // 2
    inside = (ids > 0).astype(np.uint8)
    # blend weight: the mesh coverage in a box of about ``width`` (half resolution)
    k = max(3, int(round(width)) | 1)  # 2 * width at half resolution
    c_s = cv2.blur(cv2.resize(inside.astype(np.float32), (hw, hh), interpolation=cv2.INTER_AREA), (k, k),
                   borderType=cv2.BORDER_REPLICATE)
    t_s = np.clip(1.0 - 2.0 * c_s, 0.0, 1.0)
    t_s = t_s * t_s * (3.0 - 2.0 * t_s)  # 0 at the mesh edge (half covered), 1 a width away
    t = cv2.resize(t_s, (w, h), interpolation=cv2.INTER_LINEAR)
    if not ((t < 1.0) & (inside == 0)).any():
        return
    # the mesh's displacement extended outwards: each band pixel takes the displacement
    # of its nearest mesh-edge pixel, so the map continues the edge's and stays
    # monotonic across it (a smoothed extension folds back where the edge is squeezed).
    # Nearest edge found at half resolution (a distance transform with labels; one
    # full-resolution edge pixel stands for each 2 x 2 block).
    edge = inside & (1 - cv2.erode(inside, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE))
    ep = cv2.findNonZero(edge)
    if ep is None:
        return
    ep = ep.reshape(-1, 2)
    ex, ey = ep[:, 0], ep[:, 1]
    hx, hy = np.minimum(ex // 2, hw - 1), np.minimum(ey // 2, hh - 1)
    edge_s = np.ones((hh, hw), np.uint8)
    edge_s[hy, hx] = 0
    _, labels = cv2.distanceTransformWithLabels(edge_s, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    lut = np.zeros(int(labels.max()) + 1, np.int32)
    lut[labels[hy, hx]] = np.arange(len(ex), dtype=np.int32)  # one edge pixel per block
    # every half-resolution pixel: its nearest edge pixel's backward displacement;
    # smoothed a little (neighbouring blocks may pick different edge pixels), upsampled
    # and turned into positions
    e_disp = out[ey, ex] - ep.astype(np.float32)  # (E, 2)
    ext_s = cv2.blur(e_disp[lut[labels]], (3, 3), borderType=cv2.BORDER_REPLICATE)
    ext = cv2.resize(ext_s, (w, h), interpolation=cv2.INTER_LINEAR)
    ext[..., 0] += np.arange(w, dtype=np.float32)[None, :]
    ext[..., 1] += np.arange(h, dtype=np.float32)[:, None]
    # blend, dense over the window (no gather/scatter of the band's pixels): t = 1
    # keeps a pixel's own map, up to float rounding (< 1e-4 px)
    t[inside.view(bool)] = 1.0
    out -= ext
    out *= t[..., None]
    out += ext
