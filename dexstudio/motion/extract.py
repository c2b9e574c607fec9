"""Motion extraction: a driving video -> a :class:`~dexstudio.core.motion.MotionTrack`.

Streaming: frames are decoded, tracked and discarded one at a time. Per frame only a
few hundred bytes of channel values stay in memory; the per-frame landmark arrays
(canonical 478x3 and image 478x2, float32) are spilled to a temporary file in the
cache dir and read back in chunks for the expression fit, so memory does not grow with
the video length beyond the output channels (~0.7 KiB/frame). The 2D overlay landmarks
(3.7 KiB/frame) are written to an ``.npy`` file during that second pass and the track
maps it read-only (:mod:`dexstudio.io.landmark_file`): next to the cached track in the
motion cache, or an anonymous temp file that lives as long as the track.

Pose channels (per frame, see :mod:`dexstudio.motion.pose`):

* ``pose.yaw/pitch/roll``: degrees, conventions of :mod:`dexstudio.core.rotation`.
* ``pose.tx, pose.ty``: offset of the head centre (the projected canonical origin)
  from the frame centre, x right / y down, in units of the *reference face size*.
* ``pose.scale``: face size / reference face size.

The reference face size is the face size in pixels (``PoseFit.scale *
CanonicalFace.face_size``, forehead-to-chin) at the first frame where the face was
tracked; so ``scale`` is 1.0 there and ``tx, ty`` are proportional to pixels.

Frames where the face is lost (none found, below ``min_confidence``, or only another
person's face) are flagged ``valid = False``, filled by linear interpolation between
the neighbouring valid frames (held at the clip ends) and counted in the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from dexstudio.core.channels import N_BLENDSHAPES, N_DETAIL
from dexstudio.core.errors import NoFaceError, OutputError
from dexstudio.core.fingerprint import source_fingerprint
from dexstudio.core.motion import MotionSource, MotionTrack
from dexstudio.core.progress import CancelToken, Progress, ProgressCallback
from dexstudio.core.rotation import matrix_to_euler, matrix_to_quaternion, quaternion_to_matrix
from dexstudio.core.timebase import FrameRate
from dexstudio.io import cache_dirs, constant_rate, frame_reader, video_reader
from dexstudio.io.landmark_file import LandmarkFileWriter, sidecar_path
from dexstudio.io.motion_files import load_track_npz, save_track_npz
from dexstudio.io.video_reader import VideoInfo, content_hash, iter_frames, iter_frames_prefetched, probe
from dexstudio.motion import landmark_sets as ls
from dexstudio.motion.expression import (
    ExpressionAccumulator,
    detail_coefficients,
    reconstruction_errors,
)
from dexstudio.motion.face_model import CanonicalFace, load_canonical_face
from dexstudio.motion.face_select import Box, FaceFollower, FaceRule, choose_face
from dexstudio.motion.lanes import auto_lanes, tracked_in_order
from dexstudio.motion.face_window import FaceWindow, find_face_window
from dexstudio.motion.pose import PoseFit, PoseWeights, solve_pose, solve_pose_2d
from dexstudio.motion.tracker import FaceObservation, FaceTracker, MediaPipeTracker

#: bump when the extraction output changes (invalidates caches).
#: 2: the expression model covers the 10 iris points too (L = 478), so a take's gaze is
#: reproduced by its own model rather than the generic basis; irises at their eye's depth
#: (:func:`dexstudio.motion.pose.irises_at_eye_depth`).
EXTRACT_VERSION = 2
_N2D = ls.N_TRACKED
_N_CANON = ls.N_TRACKED  # canonical slots per spilled row (iris slots NaN without irises)


@dataclass(frozen=True)
class ExtractSettings:
    """Everything that changes an extraction's result.

    Attributes:
        face_rule: how to pick the face when neither index nor box is given.
        face_index: 0-based face, left to right, in the first frame with faces.
        face_box: (x0, y0, x1, y1) pixels; the face overlapping it in the first frame.
        min_confidence: tracker detection/presence threshold.
        max_faces: the most faces the tracker reports per frame (>= 2: MediaPipe then
            keeps detecting, which steadies the landmarks; a person entering later is
            seen and ignored by the follower).
        pose_weights: landmarks driving the pose fit.
        n_detail: detail latent dims (the channel set has 16).
        ridge: ridge penalty of the blend-basis fit.
        model_path: explicit tracker model (None = search, see ``tracker.locate_model``).
        keep_landmarks_2d: keep (F, 478, 2) image landmarks in the track (UI overlays),
            as a read-only memmap of a file (not in memory).
    """

    face_rule: FaceRule = FaceRule.LARGEST
    face_index: Optional[int] = None
    face_box: Optional[Box] = None
    min_confidence: float = 0.5
    max_faces: int = 4
    pose_weights: PoseWeights = PoseWeights.PROCRUSTES
    n_detail: int = N_DETAIL
    ridge: float = 1e-3
    model_path: Optional[str] = None
    keep_landmarks_2d: bool = True

    def key(self) -> str:
        """Canonical JSON of the settings that affect results (model path excluded:
        the tracker's settings key carries the model's hash)."""
        d = asdict(self)
        d.pop("model_path")
        d["face_rule"] = self.face_rule.value
        d["pose_weights"] = self.pose_weights.value
        d["version"] = EXTRACT_VERSION
        # any change to motion/ or to how frames are decoded invalidates
        d["code"] = source_fingerprint(Path(__file__).parent, Path(video_reader.__file__),
                                       Path(constant_rate.__file__), Path(frame_reader.__file__))
        return json.dumps(d, sort_keys=True)


@dataclass(frozen=True)
class ExtractReport:
    """What happened during an extraction.

    Attributes:
        n_frames: frames in the track.
        n_lost: frames without the followed face (interpolated).
        lost_ranges: half-open (start, stop) frame ranges that were lost.
        seconds: wall time of the extraction (0 for a cache hit... the load time).
        cache_hit: the result came from the disk cache.
        recon_max_rel, recon_mean_rel: expression reconstruction error over valid frames,
            in fractions of the face size (max over landmarks per frame, then max / mean).
        truncated: decoding stopped early on a damaged file.
        window: (x0, y0, x1, y1) frame pixels when the face was small in the frame and
            was tracked inside this window (:mod:`dexstudio.motion.face_window`), else None.
    """

    n_frames: int
    n_lost: int
    lost_ranges: tuple[tuple[int, int], ...]
    seconds: float
    cache_hit: bool
    recon_max_rel: float
    recon_mean_rel: float
    truncated: bool = False
    window: Optional[tuple[int, int, int, int]] = None

    @property
    def fps(self) -> float:
        return self.n_frames / self.seconds if self.seconds > 0 else float("inf")

    @property
    def lost_fraction(self) -> float:
        return self.n_lost / self.n_frames if self.n_frames else 0.0


@dataclass(frozen=True)
class ExtractResult:
    track: MotionTrack
    report: ExtractReport


# ---------------------------------------------------------------------- per-frame state
@dataclass
class _Columns:
    """Growing per-frame channel arrays (amortised doubling, no per-frame objects)."""

    cap: int = 256
    n: int = 0
    valid: np.ndarray = field(default_factory=lambda: np.zeros(256, bool))
    rot: np.ndarray = field(default_factory=lambda: np.zeros((256, 4)))
    center: np.ndarray = field(default_factory=lambda: np.zeros((256, 2)))
    size: np.ndarray = field(default_factory=lambda: np.zeros(256))
    blend: np.ndarray = field(default_factory=lambda: np.zeros((256, N_BLENDSHAPES), np.float32))

    def append(self, valid: bool, quat: np.ndarray, center: np.ndarray, size: float,
               blend: np.ndarray) -> None:
        if self.n == self.cap:
            self.cap *= 2
            for name in ("valid", "rot", "center", "size", "blend"):
                a = getattr(self, name)
                b = np.zeros((self.cap,) + a.shape[1:], a.dtype)
                b[: self.n] = a
                setattr(self, name, b)
        i = self.n
        self.valid[i], self.rot[i], self.center[i], self.size[i], self.blend[i] = valid, quat, center, size, blend
        self.n += 1


def _fill_invalid(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Linear interpolation over invalid frames along axis 0, held at the ends.

    In place (``values`` must be a contiguous array the caller owns); returns it.
    """
    if valid.all() or not valid.any():
        return values
    f = np.arange(len(valid))
    inv = ~valid
    flat = values.reshape(len(valid), -1)
    for c in range(flat.shape[1]):
        flat[inv, c] = np.interp(f[inv], f[valid], flat[valid, c])
    return values


def _neighbour_valid(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(prev, next): per frame the nearest valid frame at or before / at or after it
    (-1 where there is none). (F,) int64 each."""
    f = np.arange(len(valid))
    prev = np.maximum.accumulate(np.where(valid, f, -1))
    nxt = np.minimum.accumulate(np.where(valid, f, len(valid))[::-1])[::-1]
    return prev, np.where(nxt == len(valid), -1, nxt)


def _fill_invalid_block(block: np.ndarray, start: int, valid: np.ndarray, prev: np.ndarray,
                        nxt: np.ndarray, fetch: Callable[[int], np.ndarray]) -> np.ndarray:
    """Chunked :func:`_fill_invalid`: fill the invalid frames of ``block`` (frames
    ``start .. start + len(block)`` of a longer stream) in place, the same values as
    ``_fill_invalid`` on the whole array (linear between the neighbouring valid frames,
    held at the ends, ``np.interp``'s formula in float64).

    Args:
        block: (k, ...) float array, its valid frames as tracked.
        valid, prev, nxt: (F,) of the whole stream (see :func:`_neighbour_valid`).
        fetch: frame index -> that frame's values (for neighbours outside the block).
    """
    k = block.shape[0]
    cache: dict[int, np.ndarray] = {}

    def row(j: int) -> np.ndarray:
        if start <= j < start + k:
            return block[j - start].astype(np.float64)
        if j not in cache:
            cache[j] = np.asarray(fetch(j), np.float64)
        return cache[j]

    for i in np.nonzero(~valid[start: start + k])[0]:
        f = start + int(i)
        p, q = int(prev[f]), int(nxt[f])
        if p < 0 and q < 0:
            continue  # no valid frame at all: left as is (like _fill_invalid)
        if p < 0 or q < 0:
            block[i] = row(q if p < 0 else p)
            continue
        lo, hi = row(p), row(q)
        slope = (hi - lo) / (q - p)
        block[i] = slope * (f - p) + lo
    return block


def _lost_ranges(valid: np.ndarray) -> tuple[tuple[int, int], ...]:
    out, start = [], None
    for i, v in enumerate(valid):
        if not v and start is None:
            start = i
        elif v and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(valid)))
    return tuple(out)


# ---------------------------------------------------------------------- the pipeline
def track_frames(frames: Iterable[tuple[int, np.ndarray]], tracker: FaceTracker | Sequence[FaceTracker],
                 settings: ExtractSettings, rate: FrameRate, frame_size: tuple[int, int],
                 face: Optional[CanonicalFace] = None, total: Optional[int] = None,
                 progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
                 workdir: Optional[Path] = None,
                 landmarks_path: Optional[Path] = None,
                 window: Optional[FaceWindow] = None) -> tuple[MotionTrack, ExtractReport]:
    """Track a stream of frames into a :class:`MotionTrack` (no file, no cache).

    Args:
        frames: ``(index, rgb (H, W, 3) uint8)`` pairs; consumed once, not kept.
        tracker: the face tracker (VIDEO mode via ``track_frame``), or several: one
            thread each, frames dealt in chunks (:mod:`dexstudio.motion.lanes`).
        settings: extraction settings.
        rate: frame rate (timestamps for the tracker).
        frame_size: (width, height) pixels.
        total: expected number of frames for progress (None = unknown).
        workdir: folder for the temporary landmark spill file (default: the cache dir).
        landmarks_path: where to write the (F, 478, 2) float32 overlay landmarks ``.npy``
            (atomically); None = an anonymous temp file in ``workdir`` that lives as long
            as the returned array. Unused unless ``settings.keep_landmarks_2d``.
        window: track inside this window of each frame (:mod:`dexstudio.motion.face_window`);
            everything returned is in frame pixels.
    Raises:
        NoFaceError: no frame had a face. Cancelled: via ``cancel``.
    """
    t0 = time.perf_counter()
    face = face or load_canonical_face()
    width, height = frame_size
    follower = FaceFollower()
    cols = _Columns()
    acc: Optional[ExpressionAccumulator] = None  # sized by the first tracked face's points
    ref_size: Optional[float] = None
    trackers = [tracker] if isinstance(tracker, FaceTracker) else list(tracker)
    base_ts = max(t.last_timestamp_ms for t in trackers) + 1
    folder = workdir or cache_dirs.cache_subdir("tmp")
    spill = tempfile.NamedTemporaryFile(prefix="dexstudio-extract-", suffix=".f32", dir=folder, delete=False)
    spill_path = Path(spill.name)
    row = np.zeros(_N_CANON * 3 + _N2D * 2, np.float32)
    zero_quat = np.array([1.0, 0, 0, 0])
    n = 0
    try:
        fed = frames if window is None else window.crop_frames(frames)
        ordered = tracked_in_order(fed, trackers, rate, base_ts, cancel=cancel)
        with contextlib.closing(ordered) as results:
            for n_seen, (index, faces) in enumerate(results):
                if window is not None:
                    faces = [window.to_frame(f) for f in faces]
                # VIDEO mode looking for up to max_faces: while fewer are present MediaPipe
                # re-runs its detector every frame, which costs ~3 ms but gives much steadier
                # landmarks than pure tracking (measured on liveportrait_d10: expression
                # reconstruction max error 0.8% vs 1.7% of the face size)
                obs = None
                if faces:
                    if not follower.started:
                        obs = choose_face(faces, (width, height), settings.face_rule,
                                          settings.face_index, settings.face_box)
                        follower.start(obs)
                    else:
                        obs = follower.follow(faces)
                if obs is not None and obs.score >= settings.min_confidence:
                    fit, lm2d_row = _fit_observation(obs, face, settings.pose_weights)
                    size = fit.face_size_px(face)
                    ref_size = ref_size or size
                    cols.append(True, matrix_to_quaternion(fit.rotation), fit.center_px, size, obs.blendshapes)
                    canon = fit.canonical_landmarks
                    if acc is None:
                        acc = ExpressionAccumulator(model_reference(face, len(canon)))
                    canon = _model_points(canon, acc.ref.size // 3, face)
                    acc.add(obs.blendshapes, canon)
                    row[: _N_CANON * 3] = np.nan
                    row[: canon.size] = canon.reshape(-1)
                    row[_N_CANON * 3:] = lm2d_row.reshape(-1)
                else:
                    cols.append(False, zero_quat, np.zeros(2), 0.0, np.zeros(N_BLENDSHAPES, np.float32))
                    row[:] = np.nan
                spill.write(row.tobytes())
                n = n_seen + 1
                if progress is not None and (n % 10 == 0):
                    progress(Progress(n, total, "tracking"))
        spill.close()
        if n == 0:
            raise NoFaceError("the video has no frames", "use a video with at least one frame")
        valid = cols.valid[:n].copy()
        if not valid.any():
            raise NoFaceError(f"no face was found in any of the {n} frames",
                              "use footage where one face is clearly visible (frontal, lit, "
                              "not too small); lower --min-confidence if faces are faint")
        assert acc is not None  # a valid frame created it
        model = acc.fit(face.face_size, ridge=settings.ridge, n_detail=settings.n_detail)
        n_model = model.mean_shape.shape[0]

        # second pass over the spilled landmarks: detail coefficients + errors + the 2D
        # overlay landmarks, gap-filled and streamed to their own file (not kept in memory)
        detail = np.zeros((n, settings.n_detail), np.float32)
        errs = []
        lm_writer = (LandmarkFileWriter(landmarks_path, n, _N2D, folder=folder)
                     if settings.keep_landmarks_2d else None)
        prev_v, next_v = _neighbour_valid(valid)
        lm_off = _N_CANON * 3 * row.itemsize

        def fetch_lm(j: int) -> np.ndarray:  # one frame's 2D landmarks from the spill file
            fh_rows.seek(j * row.nbytes + lm_off)
            return np.fromfile(fh_rows, dtype=np.float32, count=_N2D * 2).reshape(_N2D, 2)

        # plain chunked reads (a memmap would keep every touched page resident)
        with open(spill_path, "rb") as fh, open(spill_path, "rb") as fh_rows, \
                (lm_writer if lm_writer is not None else contextlib.nullcontext()):
            chunk = 256
            for a in range(0, n, chunk):
                b = min(n, a + chunk)
                block = np.fromfile(fh, dtype=np.float32, count=(b - a) * row.size).reshape(b - a, row.size)
                v = valid[a:b]
                canon = block[:, : n_model * 3].reshape(-1, n_model, 3)
                if v.any():
                    d = detail_coefficients(model, cols.blend[a:b][v], canon[v])
                    detail[a:b][v] = d
                    errs.append(reconstruction_errors(model, cols.blend[a:b][v], d, canon[v]))
                if lm_writer is not None:
                    lm = block[:, _N_CANON * 3:].reshape(-1, _N2D, 2)
                    lm_writer.write(_fill_invalid_block(lm, a, valid, prev_v, next_v, fetch_lm))
                if progress is not None:
                    progress(Progress(b, n, "fitting expression"))
        lm2d = lm_writer.open() if lm_writer is not None else None
    finally:
        spill.close()
        try:
            os.unlink(spill_path)
        except OSError:
            pass

    quat = _fill_invalid(cols.rot[:n].copy(), valid)
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    euler = matrix_to_euler(quaternion_to_matrix(quat))
    center = _fill_invalid(cols.center[:n].copy(), valid)
    size = _fill_invalid(cols.size[:n].copy(), valid)
    blend = np.clip(_fill_invalid(cols.blend[:n].copy(), valid), 0, 1)
    del cols
    assert ref_size is not None
    translation = (center - np.array([width / 2, height / 2])) / ref_size
    err = np.concatenate(errs) if errs else np.zeros(1)
    track = MotionTrack(
        rate=rate, quaternion=quat, euler=euler, translation=translation,
        scale=size / ref_size, blendshapes=blend.astype(np.float32, copy=False),
        detail=_fill_invalid(detail, valid), valid=valid, expression_model=model,
        landmarks_2d=lm2d, face_size_px=size)
    report = ExtractReport(
        n_frames=n, n_lost=int((~valid).sum()), lost_ranges=_lost_ranges(valid),
        seconds=time.perf_counter() - t0, cache_hit=False,
        recon_max_rel=float(err.max()), recon_mean_rel=float(err.mean()))
    return track, report


def model_reference(face: CanonicalFace, n_points: int) -> np.ndarray:
    """(L, 3) canonical shape an expression model of ``n_points`` tracked points is
    accumulated around (numerical conditioning only): the canonical face, and for the
    478-point layout each iris point at its eye's contour centre. L = 478 when the
    tracker gives irises (``n_points >= 478``), else 468."""
    V = face.vertices.astype(np.float64)
    if n_points < ls.N_TRACKED:
        return V
    iris = np.zeros((ls.N_TRACKED - ls.N_MESH, 3))
    for centre, ring, contour in ls.EYE_IRISES:
        iris[[i - ls.N_MESH for i in (centre, *ring)]] = V[list(contour)].mean(0)
    return np.concatenate([V, iris])


def _model_points(canonical: np.ndarray, n_model: int, face: CanonicalFace) -> np.ndarray:
    """A frame's canonical points cut or padded (irises at the reference) to the model's L."""
    if len(canonical) >= n_model:
        return canonical[:n_model]
    out = model_reference(face, n_model).astype(np.float32)
    out[: len(canonical)] = canonical
    return out


def _fit_observation(obs: FaceObservation, face: CanonicalFace,
                     weights: PoseWeights) -> tuple[PoseFit, np.ndarray]:
    """Pose of one observation + its (478, 2) overlay landmarks.

    MediaPipe-style observations (>= 468 points) get the 3D fit and their pose-free
    landmarks; 68-point (iBUG layout) observations get the 2D fit against
    ``landmark_sets.IBUG68_TO_MESH`` with the neutral canonical shape (their expression
    channels stay neutral) and overlay points at the mapped mesh indices (NaN elsewhere).
    """
    n = obs.landmarks.shape[0]
    if n >= ls.N_MESH:
        lm2d = np.full((_N2D, 2), np.nan, np.float32)
        lm2d[: min(n, _N2D)] = obs.landmarks[:_N2D, :2]
        return solve_pose(obs.landmarks, face, weights), lm2d
    if n == len(ls.IBUG68_TO_MESH):
        lm2d = np.full((_N2D, 2), np.nan, np.float32)
        lm2d[list(ls.IBUG68_TO_MESH)] = obs.landmarks[:, :2]
        return solve_pose_2d(obs.landmarks, face, ls.IBUG68_TO_MESH), lm2d
    raise ValueError(f"unsupported landmark layout with {n} points (need 478/468 or 68)")


def make_tracker(settings: ExtractSettings) -> MediaPipeTracker:
    """The built-in tracker configured as ``settings`` ask (extraction's default, and
    what ``dexstudio eval`` re-tracks with, so both read landmarks the same way)."""
    return MediaPipeTracker(settings.model_path, settings.max_faces, settings.min_confidence)


def cache_key(video_hash: str, tracker_key: str, settings: ExtractSettings) -> str:
    """sha256 of the video hash + tracker settings + extraction settings."""
    import hashlib

    blob = json.dumps({"video": video_hash, "tracker": json.loads(tracker_key),
                       "extract": json.loads(settings.key())}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def run_extraction(path: str | os.PathLike[str], settings: ExtractSettings = ExtractSettings(),
                   progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
                   cache: bool = True,
                   tracker_factory: Optional[Callable[[ExtractSettings], FaceTracker]] = None,
                   lanes: Optional[int] = None) -> ExtractResult:
    """Extract the motion of the video at ``path`` (see the module docstring).

    Args:
        path: the driving video.
        settings: extraction settings.
        progress: called with :class:`Progress` (stages "hashing", "tracking",
            "fitting expression").
        cancel: checked every frame.
        cache: read/write the disk cache (``io.cache_dirs``, key = video content hash +
            tracker settings + extraction settings).
        tracker_factory: builds the tracker (default: :class:`MediaPipeTracker`); called
            once per lane.
        lanes: trackers tracking in parallel threads (see :mod:`dexstudio.motion.lanes`).
            None = one per core (at most 4) for the built-in MediaPipe tracker, whose
            results do not change with the lane count; one lane for a custom
            ``tracker_factory``, which may keep state between frames.
    Raises:
        UnreadableFileError, NotAVideoError, CorruptVideoError, NoFaceError,
        ModelNotFoundError, Cancelled.
    """
    import warnings

    from dexstudio.io.video_reader import TruncatedVideoWarning

    t0 = time.perf_counter()
    p = Path(path)
    info: VideoInfo = probe(p)
    factory = tracker_factory or make_tracker
    with factory(settings) as tracker:
        if progress is not None:
            progress(Progress(0, None, "hashing"))
        vhash = content_hash(p)
        key = cache_key(vhash, tracker.settings_key(), settings)
        entry = cache_dirs.cache_subdir("motion") / f"{key}.npz"
        # overlay landmarks are streamed straight to the cache entry's sidecar (an
        # anonymous temp file without a writable cache)
        lm_path = sidecar_path(entry) if cache and os.access(entry.parent, os.W_OK) else None
        if cache and entry.is_file():
            try:
                track, report = load_track_npz(entry)
                if track.source is not None:
                    # the cache is keyed by content: the same clip may have been extracted
                    # from another path (since moved, or a copy in another folder); the
                    # track names the file it was asked for now (its audio, its relinking)
                    track.source = replace(track.source, path=str(p))
                return ExtractResult(track, ExtractReport(**{**report, "cache_hit": True,
                                                             "seconds": time.perf_counter() - t0}))
            except Exception:  # a damaged cache entry is ignored and rewritten
                pass
        if lanes is None:
            n_lanes = auto_lanes() if tracker_factory is None else 1
        else:
            n_lanes = max(1, int(lanes))
        with contextlib.ExitStack() as more, warnings.catch_warnings(record=True) as caught:
            extra = [more.enter_context(factory(settings)) for _ in range(n_lanes - 1)]
            warnings.simplefilter("always", TruncatedVideoWarning)

            def track(window: Optional[FaceWindow] = None) -> tuple[MotionTrack, ExtractReport]:
                return track_frames(
                    iter_frames_prefetched(p), [tracker, *extra], settings, info.rate, (info.width, info.height),
                    total=info.n_frames, progress=progress, cancel=cancel, landmarks_path=lm_path, window=window)

            track, report = _track_small_faces_too(track, p, tracker, cancel)
        truncated = any(issubclass(w.category, TruncatedVideoWarning) for w in caught)
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=2)
        track.source = MotionSource(path=str(p), content_hash=vhash, tracker_id=tracker.tracker_id,
                                    tracker_settings=tracker.settings_key(), width=info.width,
                                    height=info.height)
    report = ExtractReport(**{**asdict(report), "truncated": truncated,
                              "seconds": time.perf_counter() - t0})
    if cache:
        try:
            save_track_npz(entry, track, asdict(report))
        except (OSError, OutputError):
            pass  # an unwritable cache only costs speed
    return ExtractResult(track, report)


#: a clip whose face is lost in more than this share of its frames is tracked again
#: inside a window around the face (:mod:`dexstudio.motion.face_window`)
SMALL_FACE_RETRY_LOST = 0.5
#: frames searched for a small face: this many, spread over the clip
SMALL_FACE_SEARCH_FRAMES = 3


def _track_small_faces_too(track: Callable[..., tuple[MotionTrack, ExtractReport]], path: Path,
                           tracker: FaceTracker, cancel: Optional[CancelToken],
                           ) -> tuple[MotionTrack, ExtractReport]:
    """``track()`` on whole frames; if that finds no face, or loses it in most frames,
    search a few frames in tiles for a small face and track again inside a window around
    it (:mod:`dexstudio.motion.face_window`), keeping whichever lost fewer frames. A clip
    whose face is found costs nothing extra."""
    first: Optional[tuple[MotionTrack, ExtractReport]] = None
    failure: Optional[NoFaceError] = None
    try:
        first = track()
        if first[1].n_lost <= SMALL_FACE_RETRY_LOST * first[1].n_frames:
            return first
    except NoFaceError as exc:
        failure = exc

    def whole_frames() -> tuple[MotionTrack, ExtractReport]:
        if first is None:
            raise failure  # type: ignore[misc]  # set whenever first is not
        return first

    if cancel is not None:
        cancel.raise_if_cancelled()
    with frame_reader.FrameReader(path) as reader:
        n = reader.n_frames or 1
        samples = []
        for i in sorted({int(i) for i in np.linspace(0, n - 1, SMALL_FACE_SEARCH_FRAMES).round()}):
            try:
                samples.append(reader.frame(i))
            except IndexError:
                continue
    window = find_face_window(samples, tracker.detect_image) if samples else None
    if window is None:
        return whole_frames()
    try:
        second: Optional[tuple[MotionTrack, ExtractReport]] = track(window)
    except NoFaceError:
        second = None
    if second is None:
        return whole_frames()
    if first is not None and first[1].n_lost <= second[1].n_lost:
        return first
    return second[0], replace(second[1], window=(window.x0, window.y0, window.x1, window.y1))


def extract_motion(path: str | os.PathLike[str], settings: ExtractSettings = ExtractSettings(),
                   progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
                   cache: bool = True) -> MotionTrack:
    """The :class:`MotionTrack` of the video at ``path`` (see :func:`run_extraction`)."""
    return run_extraction(path, settings, progress, cancel, cache).track


def loop_frames(path: str | os.PathLike[str], repeats: int) -> Iterator[tuple[int, np.ndarray]]:
    """The clip's frames ``repeats`` times with continuous indices (benchmarks)."""
    k = 0
    for _ in range(repeats):
        for _, rgb in iter_frames(path):
            yield k, rgb
            k += 1
