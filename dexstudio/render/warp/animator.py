"""The warp animator (:class:`WarpAnimator`): the default, weight-free animator.

``prepare`` fits the canonical face to the source (pose R, s, centre; the pose-free
shape of all 478 points), chooses the working crop and precomputes everything that
depends only on the source. ``render`` per frame: target points = target pose applied
to (source canonical shape + expression displacement), projected; then one dense
backward map (thin-plate field outside the face, piecewise-affine mesh inside, rigid
eyeballs under the lids) and one ``cv2.remap``; the mouth interior is painted when
the mouth opens wider than the source's.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from dexstudio.core.channels import ARKIT_NAMES, N_BLENDSHAPES
from dexstudio.core.fingerprint import source_fingerprint
from dexstudio.core.motion import ExpressionModel
from dexstudio.core.rotation import euler_to_matrix, matrix_to_euler
from dexstudio.motion import landmark_sets as ls
from dexstudio.motion.face_model import CanonicalFace, load_canonical_face
from dexstudio.motion.pose import (
    PoseFit,
    PoseWeights,
    camera_to_image,
    image_to_camera,
    irises_at_eye_depth,
    solve_pose,
)
from dexstudio.render.base import Animator, FrameMotion, SourceOptions, SourceState
from dexstudio.render.source_cache import image_content_hash
from dexstudio.render.warp import eyeball as eyeball_mod
from dexstudio.render.warp import eyes as eyes_mod
from dexstudio.render.warp.basis import ExpressionBasis, load_basis, rotation_from_vector_deg
from dexstudio.render.warp.crop import CropBox, choose_crop, extend_edges, extract_crop
from dexstudio.render.warp.detect import choose_face, detect_faces
from dexstudio.render.warp.eye_edge import edge_weight, gap_shade, lid_triangles, opening_edge_layer
from dexstudio.render.warp.lashes import hanging_lash_layer
from dexstudio.render.warp.lid_smooth import stretched_lid_layer
from dexstudio.render.warp.paste_back import beyond_pad, paste_back
from dexstudio.render.warp.reveal import RevealLimit, RevealLimiter
from dexstudio.render.warp.mouth import (
    MouthLook,
    analyse_mouth,
    cavity_layer,
    mouth_map,
    mouth_opening,
    teeth_show,
)
from dexstudio.render.warp.mouth_corners import CreasePatch, analyse_creases, crease_fade, crease_layer
from dexstudio.render.warp.paint_layer import PaintLayer
from dexstudio.render.warp.person_mask import person_mask, sample_mask
from dexstudio.render.warp.topology import FaceTopology, face_topology
from dexstudio.render.warp.warp_field import (
    TpsField,
    anchor_distances,
    apply_affines,
    blend_mesh_border,
    drawn_triangles,
    outline_vertices,
    raster_triangle_ids,
    signed_areas,
    small_matmul,
    triangle_affines,
    yielding_anchors,
)

#: width of the band outside the mesh where the mesh's map fades into the outer field,
#: in face sizes (12 px for a face of 300 px)
_BORDER_BAND = 0.04


def _beyond_px(size: int) -> int:
    """How far (crop pixels) the source is continued beyond the crop for a giving border."""
    return int(np.ceil(0.125 * size))


def _crop_beyond(image: np.ndarray, box: CropBox, crop: np.ndarray) -> np.ndarray:
    """(S + 2 B, S + 2 B, 3) uint8 the crop with B = ``_beyond_px(S)`` pixels around it:
    the image where it goes on, else its edges continued (``extract_crop``)."""
    S = crop.shape[0]
    b = _beyond_px(S)
    m = b / box.zoom  # image pixels
    out = extract_crop(image, CropBox(box.x0 - m, box.y0 - m, box.side + 2 * m, S + 2 * b))
    out[b:b + S, b:b + S] = crop  # exactly the crop inside (its own resampling)
    return out


#: fixed points on the background, where the still background is kept (static_background):
#: a grid of this many per crop side, on the points farther than ``_BACKGROUND_CLEAR`` of
#: the crop side from anything the person mask calls person. Without them the thin-plate
#: field bulged into the empty background between the held ring controls and the border:
#: liveportrait_s10 x dagan_driving frame 110, 12+ px of motion 60 px from the person
_BACKGROUND_GRID = 10
_BACKGROUND_CLEAR = 0.08


def _background_anchors(person: Optional[np.ndarray], size: int) -> list[list[float]]:
    """Grid points (x, y crop pixels) on the background, well clear of the person
    (``_BACKGROUND_GRID``), or none without a person mask."""
    if person is None:
        return []
    clear = int(np.ceil(_BACKGROUND_CLEAR * size))
    near = cv2.dilate((person > 0.1).astype(np.uint8), np.ones((2 * clear + 1, 2 * clear + 1), np.uint8))
    step = (size - 1) / _BACKGROUND_GRID
    pts = np.arange(1, _BACKGROUND_GRID) * step
    return [[float(x), float(y)] for y in pts for x in pts if not near[int(round(y)), int(round(x))]]


#: rings of control points beyond the face outline: (radial factor, depth offset in
#: canonical units, rigidity above the jaw, rigidity on the neck). The neck values were
#: chosen on self-reenactment PSNR (200 frames each of d19, d0, d18, d10, d3, dagan): the
#: former 0.6/0.25 dragged the neck, shoulders and the background beside them along with
#: a head turn; 0.2/0.0 scores 25.46 dB mean against 25.16, better on every clip. Lower
#: rigidity above the jaw scored higher still (25.93 dB at 0.9/0.6), but it would make
#: hair lag the head it grows on; the clips have short hair and static backgrounds, so
#: that gain is not taken.
_RINGS = ((1.22, -1.0, 1.0, 0.2), (1.55, -3.0, 0.9, 0.0))

#: a ring control on the background moves relative to its face-outline point by at most
#: this fraction of their distance in the source, so the field between them cannot fold
#: (the background is stretched, never mirrored, when the head moves far)
_STATIC_FOLD_GUARD = 0.5


@dataclass(frozen=True)
class WarpSettings:
    """Settings of the warp animator (all change the output; see ``settings_key``).

    Attributes:
        tps_grid: side of the coarse grid the smooth outer field is computed on.
        eyes: rigid eyeballs under the lids + gaze (False: plain mesh warp).
        mouth: paint the mouth interior.
        pose_bias: counter-rotate by the basis' calibrated tracker pose bias. Off by
            default: measured on renders it lowers the worst re-tracked pose drift of
            ``--freeze pose`` on a real clip (3.2 -> 2.4 deg) but raises the mean
            (1.27 -> 1.36 deg) and hurts the bundled sample (0.86 -> 1.21 deg).
        reveal: limit head rotations (relative to the source's pose) that would reveal
            surface the source hides (:mod:`dexstudio.render.warp.reveal`); None = off.
        static_background: keep the background and the body still while the head moves
            (the outer field's controls on the background, per
            :mod:`dexstudio.render.warp.person_mask`, and below the chin stay in place as
            far as the fold guard allows). Self-reenactment PSNR, 200 frames each: d19
            +1.16, d18 +0.92, d0 +0.89, d10 +0.55, d3 +0.91 dB; dagan (a moving camera)
            -0.25 dB (the background alone: d19 +0.81, d18 +0.85, d0 +0.78, d10 +0.50,
            d3 +0.90, dagan -0.24). False: the background near the head follows it
            (for clips shot with a moving camera).
        border_slope: the crop border gives where the head comes so near it that the outer
            field would change faster than this per pixel (a photo cut at the forehead,
            :func:`~dexstudio.render.warp.warp_field.yielding_anchors`); what lies beyond
            the crop shows there (``WarpPayload.crop_beyond``). 0: the border never moves.
        device: "cpu" (cv2.remap) or a torch device for grid_sample.
    """

    tps_grid: int = 40
    reveal: Optional[RevealLimit] = RevealLimit()
    pose_bias: bool = False
    eyes: bool = True
    mouth: bool = True
    static_background: bool = True
    border_slope: float = 0.5
    device: str = "cpu"

    def with_choices(self, full_turns: bool = False, moving_background: bool = False) -> "WarpSettings":
        """These settings with the user's choices: ``full_turns`` switches the reveal limit
        off (``animate --full-turns``, the editor's "Full head turns" preference) and
        ``moving_background`` switches ``static_background`` off (``animate
        --moving-background``, the editor's "Still background" preference unchecked)."""
        return replace(self, reveal=None if full_turns else self.reveal,
                       static_background=self.static_background and not moving_background)


@dataclass(frozen=True, eq=False)
class WarpPayload:
    """Per-source precomputation (``SourceState.payload``).

    Attributes:
        box: the working crop window in the source image.
        crop: (S, S, 3) uint8 source crop.
        crop_beyond: (S + 2 B, S + 2 B, 3) uint8 the crop with B pixels around it: the
            source image where it goes on, else its edges continued
            (:func:`~dexstudio.render.warp.crop.extend_edges`); what the frame shows where
            a border gives.
        landmarks: (478, 3) float64 source points in crop pixels (x, y down, z away).
        canonical: (478, 3) float64 pose-free source points (canonical units).
        pose: the source's pose fit in crop pixels.
        face_size_px: face size (forehead-chin) in crop pixels.
        ring_canonical: (R, 3) canonical control points beyond the face (hair, ears, neck).
        ring_rigidity: (R,) how much of the head motion each follows.
        ring_source: (R, 2) their source crop positions.
        ring_oval: (R,) the face-outline landmark each ring point was built from.
        ring_follow: (R,) 0..1, how much a ring point moves by its own head motion rather
            than with its outline point: its projected distance from the outline point
            relative to that distance seen face-on. Where the head turns away from the
            camera the rings project onto the outline; moving them on their own there
            folds the field (a pale band of cheek outside the face), so they follow it.
        ring_hold: (R,) 0..1, how much each ring point stays in place while the head
            moves: 1 - the person mask there (the background), and 1 below the chin
            (neck, collar: the body does not turn or talk with the head); all 0 when
            ``static_background`` is off.
        n_anchor: number of anchors after the oval and ring controls: the shoulders' (fixed)
            and then those of the crop border and the background (``yielding_distance``).
        yielding_distance: (B, M) float32 the border and background anchors' (the last B
            controls of ``tps``) distances from the M face and ring controls, crop pixels.
            They stay put unless the head comes so near them that the field would be drawn
            out (``WarpSettings.border_slope``).
        tps: the outer field's operator over [oval, ring, anchors].
        eye_mask: (S, S) uint8 source eye openings.
        eyeballs: the right and the left source eyeball
            (:func:`dexstudio.render.warp.eyeball.analyse_eyeball`).
        mouth: the source mouth's look.
        own_blendshapes: (52,) float32 the source's own blendshape weights.
        lash_rgb: (2, 3) float32 the lash line colour of the right and left eye
            (:func:`dexstudio.render.warp.eyes.lash_colour`).
        lid_scale: (2,) factors on the generic basis's eye-contour offsets, right and left
            eye (:func:`dexstudio.render.warp.eyes.lid_scales`; 1 for human-sized eyes).
        triangle_areas: (T,) float64 signed areas of the mesh triangles in the source
            crop, pixels^2.
        reveal: the source's rotation limiter (None when ``WarpSettings.reveal`` is off).
        creases: the creases beside the source mouth's corners, smoothed as the mouth
            opens (:func:`dexstudio.render.warp.mouth_corners.analyse_creases`).
        outline_pins: (K,) int64 mesh vertices on the source's outline other than the
            oval and the row inside it (:func:`~dexstudio.render.warp.warp_field.outline_vertices`):
            the far cheek's silhouette of a turned portrait, which hides the oval behind it.
            They pin the outer field too, so what lies beyond the cheek moves with it.
            Measured on liveportrait_s10 x dagan_driving, frames 40-136: pixels beside
            the face drawn out more than 2.5x, 884 -> 243 per frame. Empty for a frontal face.
    """

    box: CropBox
    crop: np.ndarray
    crop_beyond: np.ndarray
    landmarks: np.ndarray
    canonical: np.ndarray
    pose: PoseFit
    face_size_px: float
    ring_canonical: np.ndarray
    ring_rigidity: np.ndarray
    ring_source: np.ndarray
    ring_oval: np.ndarray
    ring_follow: np.ndarray
    ring_hold: np.ndarray
    n_anchor: int
    yielding_distance: np.ndarray
    tps: TpsField
    eye_mask: np.ndarray
    eyeballs: tuple[eyeball_mod.EyeballLook, eyeball_mod.EyeballLook]
    mouth: MouthLook
    own_blendshapes: np.ndarray
    lash_rgb: np.ndarray
    lid_scale: np.ndarray
    triangle_areas: np.ndarray
    reveal: Optional[RevealLimiter] = None
    creases: tuple[CreasePatch, ...] = ()
    outline_pins: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass(frozen=True, eq=False)
class WarpFrame:
    """One rendered frame with what paste-back needs.

    Attributes:
        image: (S, S, 3) uint8 crop.
        map: (S, S, 2) float32 backward map (source crop position per output pixel).
        layers: the painted layers, bottom to top: the smoothed creases beside an opened
            mouth's corners, the mouth interior, a closing lid's stretched skin smoothed
            (:mod:`.lid_smooth`), the eyeball the source's lids hide (or a moved iris), the
            eye openings' anti-aliased edges (:mod:`.eye_edge`), closing
            eyes' hanging lashes (:mod:`.lashes`) and lash lines (each in its own small box).
        target: (478, 3) float64 the frame's points in crop pixels.
    """

    image: np.ndarray
    map: np.ndarray
    layers: tuple[PaintLayer, ...]
    target: np.ndarray

    @property
    def paint(self) -> Optional[PaintLayer]:
        """The layers as one (their boxes' union; for paste-back), or None. Merged only
        when asked: ``render`` composites them one by one (one merged box spanning the
        eyes and the mouth cost ~0.3 ms a frame)."""
        if not self.layers:
            return None
        out = self.layers[0]
        for layer in self.layers[1:]:
            out = out.with_over(layer)
        return out


def _det3(m: np.ndarray) -> float:
    """3x3 determinant, closed form (LAPACK's wakes OpenBLAS worker threads that then spin)."""
    return float(m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1])
                 - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
                 + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]))


def _umeyama_cv(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Weighted similarity ``dst ~ s R src + t`` (Umeyama), like ``motion.pose.umeyama`` but
    with OpenCV's SVD and elementwise sums: no BLAS/LAPACK call per frame (their worker
    threads spin and steal the encoder's core on a 2-core machine).

    Args:
        src, dst: (N, 3); w: (N,) weights summing to 1.
    """
    mu_s = (src * w[:, None]).sum(0)
    mu_d = (dst * w[:, None]).sum(0)
    xs = src - mu_s
    xd = dst - mu_d
    cov = ((xd * w[:, None])[:, :, None] * xs[:, None, :]).sum(0)  # (3, 3)
    S, U, Vt = cv2.SVDecomp(cov)
    S = S[:, 0]
    d = np.ones(3)
    if _det3(U) * _det3(Vt) < 0:
        d[2] = -1.0
    R = (U * d) @ Vt
    var_s = float((w * (xs * xs).sum(1)).sum())
    s = float((S * d).sum() / var_s)
    t = mu_d - s * (R * mu_s[None, :]).sum(1)
    return R, s, t


def _project(canonical: np.ndarray, R: np.ndarray, scale: float, center: np.ndarray) -> np.ndarray:
    """(N, 3) canonical -> (N, 3) image-frame crop pixels (orthographic)."""
    t = np.array([center[0], -center[1], 0.0])
    return camera_to_image(scale * small_matmul(canonical, R.T).astype(np.float64) + t)


class WarpAnimator(Animator):
    """Mesh-driven dense warp of the source portrait. See the module docstring.

    Args:
        settings: :class:`WarpSettings`.
        basis: the expression basis (default: the shipped one).
        tracker: a face tracker for ``prepare`` (default: MediaPipe, created lazily).
    """

    animator_id = "warp"

    def __init__(self, settings: WarpSettings = WarpSettings(), basis: ExpressionBasis | None = None,
                 tracker=None) -> None:
        self.settings = settings
        self.basis = basis if basis is not None else load_basis()
        self.face: CanonicalFace = load_canonical_face()
        self.topology: FaceTopology = face_topology()
        self._tracker = tracker
        self._own_tracker = tracker is None
        # (original image, it continued beyond its edges, by how much): paste-back's
        self._beyond_cache: tuple[np.ndarray, np.ndarray, int] | None = None
        self._tri_kind = self.topology.tri_kind
        # winding of a triangle that faces the viewer, in crop pixels (y down)
        frontal = camera_to_image(self.face.vertices.astype(np.float64))
        self._front = float(np.sign(np.median(signed_areas(frontal, self.topology.triangles))))
        # ``triangle id + 1`` (the raster's values) -> kind; 0 = no triangle
        self._kind_lut = np.concatenate([[0], self._tri_kind]).astype(np.int8)
        self._surface = self._tri_kind == 0  # (T,) the face's surface (not mouth, lids, eyeballs)
        # per eye, by raster value: its opening's triangles and the lids' around it (eye_edge)
        self._eye_edges = tuple(
            (eye, np.concatenate([[False], opening]), np.concatenate([[False], lid_triangles(
                self.topology.triangles, eye, opening)]))
            for eye, opening in ((eyes_mod.RIGHT, self._tri_kind == 2), (eyes_mod.LEFT, self._tri_kind == 3)))
        pw = self.face.procrustes_weights.astype(np.float64)
        self._procrustes_w = pw / pw.sum()
        # the canonical lid gap a generic-basis blink of 1 closes, per eye (eyes.lid_scales)
        blink = np.zeros(N_BLENDSHAPES, np.float32)
        blink[[ARKIT_NAMES.index("eyeBlinkRight"), ARKIT_NAMES.index("eyeBlinkLeft")]] = 1.0
        shut = self.face.vertices.astype(np.float64) + self.basis.offsets(blink)[:468] * self.face.face_size
        self._lid_closure = tuple(eyes_mod.canonical_lid_gap(self.face.vertices, e)
                                  - eyes_mod.canonical_lid_gap(shut, e) for e in (eyes_mod.RIGHT, eyes_mod.LEFT))
        self._gpu = None

    def render_threads(self) -> int:
        """2 on a CPU: ``render`` is thread-safe, but much of it holds the GIL (many
        small numpy and OpenCV calls): two threads measured 1.07-1.15x over one on the
        2-core machine, and they overlap with the encoder. 1 on a GPU."""
        return 2 if self.settings.device == "cpu" else 1

    def render_processes(self) -> int:
        """2 on a CPU with 2 or more cores (numpy and OpenCV only, safe to fork; each
        process has its own GIL, so two render in parallel where two threads cannot):
        ``animate`` on liveportrait_d10 with its motion cached, render + export 3.8-5.1 s
        against 6.5-7.4 s on threads. 0 on a GPU."""
        cores = os.cpu_count() or 1
        return min(2, cores) if self.settings.device == "cpu" and cores >= 2 else 0

    # ------------------------------------------------------------------ settings
    def settings_key(self) -> str:
        return json.dumps({"animator": self.animator_id, "tps_grid": self.settings.tps_grid,
                           "eyes": self.settings.eyes, "mouth": self.settings.mouth,
                           "pose_bias": self.settings.pose_bias,
                           "static_background": self.settings.static_background,
                           "border_slope": self.settings.border_slope,
                           "reveal": (None if self.settings.reveal is None else
                                      [self.settings.reveal.max_stretch, self.settings.reveal.budget,
                                       self.settings.reveal.search_deg]),
                           "basis": self.basis.info.get("sha", self.basis.info.get("date", "")),
                           # cached frames made by other versions of this code are not reused
                           "code": source_fingerprint(Path(__file__).parent, Path(ls.__file__).parent)},
                          sort_keys=True)

    def _get_tracker(self):
        if self._tracker is None:
            from dexstudio.motion.tracker import MediaPipeTracker

            self._tracker = MediaPipeTracker(max_faces=6)
        return self._tracker

    def close(self) -> None:
        if self._tracker is not None and self._own_tracker:
            self._tracker.close()
            self._tracker = None

    # ------------------------------------------------------------------ prepare
    def prepare(self, image: np.ndarray, options: SourceOptions = SourceOptions()) -> SourceState:
        image = np.ascontiguousarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        faces = detect_faces(image, self._get_tracker())
        obs = choose_face(faces, image.shape, options.face_index, options.face_rule)
        payload = self.prepare_from_landmarks(image, obs.landmarks, obs.blendshapes, options.crop_size)
        own = self.own_motion(payload, image.shape)
        sid = image_content_hash(image) + f"|{options.face_index}|{options.face_rule.value}|{options.crop_size}"
        return SourceState(source_id=sid, image=image, own_motion=own, payload=payload)

    def own_motion(self, p: WarpPayload, image_shape: tuple[int, ...]) -> FrameMotion:
        """The source's own pose and expression, in the channel conventions of
        :mod:`dexstudio.motion.extract`: ``tx, ty`` = head centre minus image centre in
        face sizes, ``scale`` = 1 (the source is its own size reference)."""
        eul = matrix_to_euler(p.pose.rotation)
        centre = p.box.to_image(p.pose.center_px[None])[0]
        fs_img = p.face_size_px / p.box.zoom
        tr = (centre - np.array([image_shape[1] / 2, image_shape[0] / 2])) / fs_img
        return FrameMotion(euler=FrameMotion._q(eul), translation=FrameMotion._q(tr),  # type: ignore[arg-type]
                           scale=1.0,
                           blendshapes=FrameMotion._q(p.own_blendshapes),
                           detail=(0.0,) * 16, detail_weight=0.0)

    def prepare_from_landmarks(self, image: np.ndarray, landmarks_px: np.ndarray,
                               blendshapes: np.ndarray, crop_size: int = 512) -> WarpPayload:
        """Everything ``render`` needs from one source face (no tracker call).

        Args:
            image: (H, W, 3) uint8 RGB.
            landmarks_px: (478, 3) image pixels (x, y down, z in pixel scale).
            blendshapes: (52,) the source's own weights.
        """
        S = int(crop_size)
        box = choose_crop(landmarks_px, S, image_shape=image.shape)
        crop = extract_crop(image, box)
        L = box.to_crop(np.asarray(landmarks_px, np.float64))
        fit = solve_pose(L, self.face, PoseWeights.PROCRUSTES)
        cam = image_to_camera(L)
        canon = ((cam - fit.translation_cam) @ fit.rotation) / fit.scale  # (478, 3)
        irises_at_eye_depth(canon, cam, fit.rotation, fit.scale, fit.translation_cam)
        fs_px = fit.scale * self.face.face_size

        # control points beyond the face: rings around the oval in the head frame
        oval = canon[list(ls.FACE_OVAL)]
        c0 = oval.mean(0)
        y_chin, y_top = canon[ls.CHIN, 1], canon[ls.FOREHEAD_TOP, 1]
        y_jaw = y_chin + 0.35 * (y_top - y_chin)  # below this: jaw line / neck
        rings, rig, nominal = [], [], []
        for f, dz, r_up, r_neck in _RINGS:
            pts = oval.copy()
            pts[:, :2] = c0[:2] + (oval[:, :2] - c0[:2]) * f
            pts[:, 2] = oval[:, 2] + dz
            t = np.clip((pts[:, 1] - (y_chin - 2.0)) / max(1e-6, y_jaw - (y_chin - 2.0)), 0, 1)
            rings.append(pts)
            rig.append(r_neck + (r_up - r_neck) * t)
            nominal.append(np.linalg.norm(pts[:, :2] - oval[:, :2], axis=1) * fit.scale)
        ring_c = np.concatenate(rings)
        ring_w = np.concatenate(rig)
        oval_ids = np.tile(np.asarray(ls.FACE_OVAL), len(_RINGS))
        ring_src = _project(ring_c, fit.rotation, fit.scale, fit.center_px)[:, :2]
        sep = np.linalg.norm(ring_src - L[oval_ids, :2], axis=1)
        follow = np.clip(sep / np.maximum(np.concatenate(nominal), 1e-6), 0.0, 1.0) ** 2
        keep = np.all((ring_src > 0.03 * S) & (ring_src < 0.97 * S), axis=1)
        ring_c, ring_w, ring_src = ring_c[keep], ring_w[keep], ring_src[keep]
        oval_ids, follow = oval_ids[keep], follow[keep]

        # fixed anchors: shoulders below the neck and the crop border
        chin = L[ls.CHIN, :2]
        cx = float(L[:468, 0].mean())
        fw = float(np.ptp(L[:468, 0]))
        shoulders = [[cx + k * fw, chin[1] + 0.75 * fs_px] for k in (-1.4, -0.8, 0.8, 1.4)]
        e = np.linspace(0, S - 1, 10 + 1)[:-1]
        border = [q for v in e for q in ([v, 0.0], [S - 1.0, v], [S - 1 - v, S - 1.0], [0.0, S - 1 - v])]
        pmask = person_mask(crop, L, ring_src) if self.settings.static_background else None
        anchors = np.array(shoulders + border + _background_anchors(pmask, S), np.float64)
        yielding = np.arange(len(anchors)) >= len(shoulders)  # the border's and the background's
        src_areas = signed_areas(L, self.topology.triangles)
        drawn_src = drawn_triangles(src_areas, src_areas, self._front, self._surface)
        pins = np.setdiff1d(outline_vertices(L[:468, :2], self.topology.triangles, drawn_src, S),
                            np.concatenate([self.topology.oval, self.topology.inner_ring]))
        ctrl_face = np.concatenate([self._face_controls(L, pins), ring_src])
        d = np.min(np.linalg.norm(anchors[:, None] - ctrl_face[None], axis=2), axis=1)
        inside = np.all((anchors >= 0) & (anchors <= S - 1), axis=1)
        keep_anchor = (d > 0.06 * S) & inside
        anchors, yielding = anchors[keep_anchor], yielding[keep_anchor]
        # the yielding anchors last (render_frame lets them give)
        anchors = np.concatenate([anchors[~yielding], anchors[yielding]])
        controls = np.concatenate([ctrl_face, anchors])
        tps = TpsField.build(controls, S, n=self.settings.tps_grid)

        eye_mask = eyes_mod.eye_mask(L, S)
        if pmask is not None:
            background = 1.0 - sample_mask(pmask, ring_src)
            below_chin = (ring_src[:, 1] > L[ls.CHIN, 1]).astype(np.float64)
            hold = np.maximum(background, below_chin)
        else:
            hold = np.zeros(len(ring_src))
        return WarpPayload(
            box=box, crop=crop, crop_beyond=_crop_beyond(image, box, crop), landmarks=L, canonical=canon, pose=fit,
            face_size_px=fs_px,
            ring_canonical=ring_c, ring_rigidity=ring_w, ring_source=ring_src, ring_oval=oval_ids,
            ring_follow=follow.astype(np.float64), ring_hold=hold, n_anchor=len(anchors),
            yielding_distance=anchor_distances(anchors[len(anchors) - int(yielding.sum()):], ctrl_face),
            tps=tps, eye_mask=eye_mask,
            eyeballs=(eyeball_mod.analyse_eyeball(crop, L, eyes_mod.RIGHT, eye_mask),
                      eyeball_mod.analyse_eyeball(crop, L, eyes_mod.LEFT, eye_mask)),
            mouth=analyse_mouth(crop, L, fs_px, eye_mask),
            own_blendshapes=np.asarray(blendshapes, np.float32).reshape(N_BLENDSHAPES),
            lash_rgb=np.stack([eyes_mod.lash_colour(crop, L, e) for e in (eyes_mod.RIGHT, eyes_mod.LEFT)]),
            lid_scale=eyes_mod.lid_scales(canon, self._lid_closure),
            reveal=(None if self.settings.reveal is None else
                    RevealLimiter(canon, self.topology.triangles, self._surface, fit.rotation,
                                  self.settings.reveal)),
            triangle_areas=src_areas,
            creases=analyse_creases(crop, L) if self.settings.mouth else (),
            outline_pins=pins,
        )

    # ------------------------------------------------------------------ render
    def expression_offset(self, state: SourceState, motion: FrameMotion,
                          expression_model: Optional[ExpressionModel] = None) -> np.ndarray:
        """(478, 3) canonical offset of the frame's expression from the source's own shape
        (canonical units; its rigid part removed)."""
        p: WarpPayload = state.payload
        dw = np.asarray(motion.blendshapes, np.float32) - p.own_blendshapes
        gen_off = self.basis.offsets(dw).astype(np.float64) * self.face.face_size
        for eye, k in zip((eyes_mod.RIGHT, eyes_mod.LEFT), p.lid_scale):
            if k != 1.0:  # a big-eyed portrait: its lids travel as far as its eyes are open
                gen_off[list(eye.contour)] *= k
        C = p.canonical + gen_off
        if expression_model is not None and motion.detail_weight > 0:
            # unedited tracked performance: the take's own blend basis + detail residual
            # reproduce its canonical landmarks; blend them in by detail_weight.
            a = float(motion.detail_weight)
            k = self.face.face_size / max(expression_model.face_size, 1e-6)
            nd = expression_model.detail_basis.shape[0]
            take = (small_matmul(dw, expression_model.blend_basis.reshape(N_BLENDSHAPES, -1))
                    + small_matmul(np.asarray(motion.detail[:nd], np.float32),
                                   expression_model.detail_basis.reshape(nd, -1))).reshape(-1, 3) * k
            take_lids = eyes_mod.take_lid_scales(p.canonical, expression_model.mean_shape, k)
            for eye, s in zip((eyes_mod.RIGHT, eyes_mod.LEFT), take_lids):
                if s != 1.0:  # eyes wider than the driver's: its lids travel as far as they are open
                    take[list(eye.contour)] *= s
            # the take's model covers its tracked points: 478 (irises too: the take's
            # own gaze) or 468 (older projects: the irises follow the generic basis)
            n = take.shape[0]
            gen = C[:n] - p.canonical[:n]
            C[:n] = p.canonical[:n] + (1 - a) * gen + a * take
        return self._remove_rigid(C, p.canonical) - p.canonical

    def target_points(self, state: SourceState, motion: FrameMotion,
                      expression_model: Optional[ExpressionModel] = None) -> tuple[np.ndarray, np.ndarray]:
        """The frame's 478 points and ring controls in crop pixels.

        Returns:
            ((478, 3) points, (R, 2) ring control positions), crop pixels.
        """
        p: WarpPayload = state.payload
        own = state.own_motion
        off = self.expression_offset(state, motion, expression_model)
        C = p.canonical + off
        R = euler_to_matrix(*motion.euler)
        if self.settings.pose_bias:
            # counter the tracker's expression-dependent pose reading (basis.pose_bias)
            dw = np.asarray(motion.blendshapes, np.float32) - p.own_blendshapes
            R = rotation_from_vector_deg(-self.basis.apparent_rotation(dw)) @ R
        if p.reveal is not None:
            R, _ = p.reveal.limit_rotation(R)
        s = p.pose.scale * motion.scale / max(own.scale, 1e-6)
        c = p.pose.center_px + (np.asarray(motion.translation) - np.asarray(own.translation)) * p.face_size_px
        P = _project(C, R, s, c)
        if self.settings.eyes:
            for eye in (eyes_mod.RIGHT, eyes_mod.LEFT):
                eyes_mod.cap_opening(P, p.landmarks, eye)
                eyes_mod.close_lids(P, p.landmarks, eye)
        ring = _project(p.ring_canonical, R, s, c)[:, :2]
        own_move = (ring - p.ring_source) * p.ring_rigidity[:, None]
        with_oval = P[p.ring_oval, :2] - p.landmarks[p.ring_oval, :2]
        f = p.ring_follow[:, None]
        ring = p.ring_source + with_oval + f * (own_move - with_oval)
        if self.settings.static_background:
            ring = self._hold_background(p, ring, with_oval)
        return P, ring

    @staticmethod
    def _hold_background(p: WarpPayload, ring: np.ndarray, with_oval: np.ndarray) -> np.ndarray:
        """Ring targets with the background ones held in place.

        A ring point's motion is scaled by ``1 - ring_hold``; its motion relative
        to its outline point (``with_oval``, (R, 2) px) is then capped at
        ``_STATIC_FOLD_GUARD`` times their source distance, so a large head motion
        stretches the background between them instead of folding it.
        """
        move = (ring - p.ring_source) * (1.0 - p.ring_hold)[:, None]
        rel = move - with_oval
        sep = np.linalg.norm(p.ring_source - p.landmarks[p.ring_oval, :2], axis=1)
        norm = np.linalg.norm(rel, axis=1)
        k = np.minimum(1.0, _STATIC_FOLD_GUARD * sep / np.maximum(norm, 1e-9))
        return p.ring_source + with_oval + rel * k[:, None]

    def _face_controls(self, pts: np.ndarray, outline_pins: np.ndarray) -> np.ndarray:
        """(M, 2) face points that pin the outer field to the mesh: the outline, the
        midpoints of its edges, the row of vertices just inside it and the source's
        other outline vertices (``WarpPayload.outline_pins``)."""
        oval = pts[self.topology.oval, :2]
        mid = 0.5 * (oval + np.roll(oval, -1, axis=0))
        return np.concatenate([oval, mid, pts[self.topology.inner_ring, :2], pts[outline_pins, :2]])

    def _remove_rigid(self, C: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """Take out the rigid part of an expression displacement.

        The pose is defined by the weighted Procrustes fit over MediaPipe's 33 stable
        points; an expression offset (the fitted basis, a take's residual) can carry a
        small rotation/scale of those points (pose-fit noise correlated with expression).
        Re-aligning them onto the source's canonical shape makes the rendered head pose
        exactly the requested one: expression edits never move the head.
        """
        ids = self.face.procrustes_ids
        R, s, t = _umeyama_cv(C[ids], ref[ids], self._procrustes_w)
        return s * small_matmul(C, R.T).astype(np.float64) + t

    def render_frame(self, state: SourceState, motion: FrameMotion,
                     expression_model: Optional[ExpressionModel] = None) -> WarpFrame:
        """Render one frame and keep the map (for paste-back)."""
        p: WarpPayload = state.payload
        S = p.crop.shape[0]
        P, ring = self.target_points(state, motion, expression_model)
        L = p.landmarks
        disp = np.zeros((p.tps.operator.shape[1], 2), np.float32)
        fc = self._face_controls(P, p.outline_pins) - self._face_controls(L, p.outline_pins)
        n_f = len(fc)
        disp[:n_f] = fc
        disp[n_f:n_f + len(ring)] = ring - p.ring_source
        n_b = len(p.yielding_distance)
        if self.settings.border_slope > 0 and n_b:
            disp[len(disp) - n_b:] = yielding_anchors(p.yielding_distance, disp[:n_f + len(ring)],
                                                     self.settings.border_slope)
        fmap = p.tps.backward_full(disp)  # (S, S, 2)
        layers: list[PaintLayer] = []
        edge_raster: tuple[np.ndarray, tuple[int, int, int, int]] | None = None
        gaze_weights = [0.0, 0.0]  # (right, left): how much of the iris moved over the eyeball shows
        # (right, left): each eye's lid gap over the source's (how shut it is drawn)
        closure = ((eyes_mod.relative_lid_gap(P, L, eyes_mod.RIGHT), eyes_mod.relative_lid_gap(P, L, eyes_mod.LEFT))
                   if self.settings.eyes else (float("inf"), float("inf")))

        # inside the face: piecewise affine, back to front
        tri = self.topology.triangles
        lo = np.floor(P[:468, :2].min(0)).astype(int) - 1
        hi = np.ceil(P[:468, :2].max(0)).astype(int) + 2
        x0, y0 = np.clip(lo, 0, S)
        x1, y1 = np.clip(hi, 0, S)
        if x1 > x0 and y1 > y0:
            roi = (int(x0), int(y0), int(x1), int(y1))
            # surfaces turned away from the viewer, or shrunk to slivers at the far
            # cheek, are not drawn (:func:`drawn_triangles`)
            drawn = drawn_triangles(p.triangle_areas, signed_areas(P, tri), self._front, self._surface)
            ids = raster_triangle_ids(P[:468, :2], P[:468, 2], tri, roi, active=drawn)
            edge_raster = (ids, roi)
            aff = triangle_affines(P[:468, :2], L[:468, :2], tri)
            sub = fmap[y0:y1, x0:x1]
            apply_affines(ids, aff, roi, out=sub)
            self._blend_border(fmap, ids, roi, p.face_size_px)
            # the special regions (mouth interior, lids, eyeballs): a few thousand pixels,
            # found with one pass over the face and split by kind among those
            kind = self._kind_lut.take(ids)
            sy_all, sx_all = np.nonzero(kind)
            k_all = kind[sy_all, sx_all]
            if self.settings.mouth:
                sel = k_all == 1
                yy, xx = sy_all[sel], sx_all[sel]
                if len(yy):
                    gx, gy = xx + x0, yy + y0
                    opening = mouth_opening(P)
                    sx, sy, depth = mouth_map(gx.astype(np.float32), gy.astype(np.float32), L, P,
                                              p.mouth.split, opening, p.mouth.opening)
                    sub[yy, xx, 0] = sx
                    sub[yy, xx, 1] = sy
                    cavity = cavity_layer(S, gx, gy, depth, P, p.mouth, teeth_show(motion.blendshapes), opening)
                    if cavity is not None:
                        layers.append(cavity)
            if self.settings.eyes:
                for eye, code in ((eyes_mod.RIGHT, 4), (eyes_mod.LEFT, 5)):
                    sel = k_all == code
                    yy, xx = sy_all[sel], sx_all[sel]
                    if len(yy):
                        sx, sy, stretch = eyes_mod.lid_samples((xx + x0).astype(np.float32),
                                                               (yy + y0).astype(np.float32), eye, L, P,
                                                               lift=eyes_mod.lash_strength_at(closure[code - 4]))
                        sub[yy, xx, 0] = sx
                        sub[yy, xx, 1] = sy
                        # a closing lid's skin drawn out under the crease, without its streaks
                        smooth = stretched_lid_layer(p.crop, xx + x0, yy + y0, sx, sy, stretch,
                                                     eyes_mod.eye_axis(L, eye), eyes_mod.eye_width(L, eye))
                        if smooth is not None:
                            layers.append(smooth)
                for eye, code, look in ((eyes_mod.RIGHT, 2, p.eyeballs[0]), (eyes_mod.LEFT, 3, p.eyeballs[1])):
                    sel = k_all == code
                    yy, xx = sy_all[sel], sx_all[sel]
                    if len(yy) == 0:
                        continue
                    ex, ey = xx + x0, yy + y0
                    # gaze: the iris moves over the eyeball as a disc, the white shows behind it
                    rsx, rsy, shift = eyes_mod.rigid_eyeball(ex.astype(np.float32), ey.astype(np.float32), eye, L, P)
                    gazed = eyeball_mod.gaze_eyeball_layer(ex, ey, rsx, rsy, shift, look, p.crop, L, P, eye, S)
                    fade = eyeball_mod.gaze_weight(shift) if gazed is not None else 0.0
                    if gazed is not None and fade >= 1.0:
                        sub[yy, xx, 0], sub[yy, xx, 1], layer = gazed
                        layers.append(layer)
                        gaze_weights[code - 2] = 1.0
                        continue
                    sx, sy, ok = eyes_mod.eyeball_map(ex.astype(np.float32), ey.astype(np.float32),
                                                      eye, L, P, p.eye_mask)
                    sub[yy[ok], xx[ok], 0] = sx[ok]
                    sub[yy[ok], xx[ok], 1] = sy[ok]
                    # what the source's lids hide is painted as eyeball
                    _, hidden = eyeball_mod.hidden_eyeball_layer(ex, ey, sx, sy, look, L, P, eye, S)
                    if hidden is not None:
                        layers.append(hidden)
                    if gazed is not None and fade > 0.0:
                        # a small gaze: the moved iris fades in over the eyeball as it is
                        # (switched on at once, it flickered where a gaze hovers at the onset)
                        layers.append(gazed[2].faded(fade))
                        gaze_weights[code - 2] = fade
        if p.creases:  # under every other layer: the mouth interior paints over its edge
            crease = crease_layer(p.creases, fmap, P, crease_fade(L, P))
            if crease is not None:
                layers.insert(0, crease)
        out = self._remap(p.crop_beyond, fmap, _beyond_px(S))
        for layer in layers:
            layer.apply(out)
        if self.settings.eyes:
            layers.extend(self._paint_eyes_over(out, p, P, edge_raster, gaze_weights, closure))
        return WarpFrame(out, fmap, tuple(layers), P)

    def _paint_eyes_over(self, out: np.ndarray, p: WarpPayload, P: np.ndarray,
                         edge_raster: tuple[np.ndarray, tuple[int, int, int, int]] | None,
                         gaze_weights: list[float], closure: tuple[float, float]) -> list[PaintLayer]:
        """What is painted over the remapped frame ``out`` (in place) from what it shows, per
        eye: the opening's edge by its coverage with a closing gap's shade
        (:mod:`.eye_edge`), then a closing eye's hanging lashes (:mod:`.lashes`) and lash
        line. Returns those layers, bottom to top.

        Args:
            out: (S, S, 3) uint8 the frame so far.
            p: the source's payload; P: (478, 3) the frame's points, crop pixels.
            edge_raster: the face's triangle raster and its window, or None (no face drawn).
            gaze_weights: (right, left) how much of the iris moved over the eyeball shows
                (0..1, :func:`~dexstudio.render.warp.eyeball.gaze_weight`).
            closure: (right, left) each eye's lid gap over the source's.
        """
        painted: list[PaintLayer] = []
        L, S = p.landmarks, out.shape[0]
        if edge_raster is not None:
            for (eye, opening_lut, lid_lut), rgb, gaze, rel in zip(self._eye_edges, p.lash_rgb, gaze_weights, closure):
                weight = edge_weight(rel, gaze)
                if weight <= 0.0:
                    continue
                edge = opening_edge_layer(out, edge_raster[0], edge_raster[1], opening_lut, lid_lut, P, eye,
                                          gap_shade(rel), rgb)
                if edge is not None:
                    edge = edge.faded(weight) if weight < 1.0 else edge
                    edge.apply(out)
                    painted.append(edge)
        for eye, rgb, rel in zip((eyes_mod.RIGHT, eyes_mod.LEFT), p.lash_rgb, closure):
            shut = eyes_mod.lash_strength_at(rel)
            # a closing eye's lashes hang from its margin, under its lash line
            for lash in (hanging_lash_layer(p.crop, L, P, eye, rgb, shut), eyes_mod.lash_layer(P, eye, rgb, shut, S)):
                if lash is not None:
                    lash.apply(out)
                    painted.append(lash)
        return painted

    @staticmethod
    def _blend_border(fmap: np.ndarray, ids: np.ndarray, roi: tuple[int, int, int, int],
                      face_size_px: float) -> None:
        """Fade the mesh's map into the outer field over a band of ``_BORDER_BAND`` face
        sizes around the face (:func:`blend_mesh_border`), on the face window grown by
        the band."""
        S = fmap.shape[0]
        band = _BORDER_BAND * face_size_px
        b = int(np.ceil(band)) + 1
        x0, y0, x1, y1 = roi
        bx0, by0, bx1, by1 = max(0, x0 - b), max(0, y0 - b), min(S, x1 + b), min(S, y1 + b)
        grown = np.zeros((by1 - by0, bx1 - bx0), np.int32)
        grown[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0] = ids
        blend_mesh_border(grown, fmap[by0:by1, bx0:bx1], band)

    def _remap(self, img: np.ndarray, fmap: np.ndarray, offset: int) -> np.ndarray:
        """``img`` (the crop extended by ``offset`` pixels on every side) sampled at the
        (S, S, 2) crop positions ``fmap``, (S, S, 3) uint8."""
        if self.settings.device != "cpu":
            from dexstudio.render.warp.gpu import grid_sample_remap

            return grid_sample_remap(img, fmap + np.float32(offset), self.settings.device)
        # fixed-point maps (1/32 px, what remap uses inside anyway): 1.2 ms instead of
        # 2.0 ms for a 512 crop, conversion included
        m1, m2 = cv2.convertMaps(fmap, None, cv2.CV_16SC2)
        m1 += np.int16(offset)  # whole pixels: the fraction table m2 is unchanged
        return cv2.remap(img, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def paste_back(self, state: SourceState, frame: WarpFrame, out: np.ndarray | None = None) -> np.ndarray:
        """The frame pasted into the full-resolution source, (H, W, 3) uint8."""
        p: WarpPayload = state.payload
        return paste_back(state.image, p.box, frame.map, frame.paint, out=out, beyond=self._beyond_original(state))

    def _beyond_original(self, state: SourceState) -> tuple[np.ndarray, int] | None:
        """The original continued beyond its edges for paste-back (built once per source,
        and only where a window side reaches the image's edge), or None."""
        p: WarpPayload = state.payload
        pad = beyond_pad(p.box, state.image.shape, _beyond_px(p.crop.shape[0]))
        if pad == 0 or self.settings.border_slope <= 0:
            return None
        cached = self._beyond_cache
        if cached is None or cached[0] is not state.image:
            cached = self._beyond_cache = (state.image, extend_edges(state.image, pad), pad)
        return cached[1], cached[2]

    def render(self, state: SourceState, motion: FrameMotion,
               expression_model: Optional[ExpressionModel] = None) -> np.ndarray:
        return self.render_frame(state, motion, expression_model).image
