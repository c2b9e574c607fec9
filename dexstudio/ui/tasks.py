"""The editor's long operations as plain functions ``fn(progress, cancel) -> result``.

They run in a :class:`~dexstudio.ui.jobs.JobHandle` thread and touch no widget and
no document: inputs are frozen values built on the GUI thread, the result goes back
to the GUI thread, which applies it as a command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from dexstudio.core.evaluated import EvaluatedMotion
from dexstudio.core.motion import MotionTrack
from dexstudio.core.progress import CancelToken, Progress
from dexstudio.core.rotation import matrix_to_quaternion
from dexstudio.core.timebase import FrameRange, FrameRate
from dexstudio.render.base import Animator, SourceOptions
from dexstudio.ui.export_dialog import ExportRequest
from dexstudio.ui.preferences import ExportFormatPref
from dexstudio.worker.request import RenderRequest
from dexstudio.worker.worker import RenderWorker, WorkerConfig

ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class SourceAnalysis:
    """What analysing a portrait found: its own channel values (``ALL_CHANNEL_IDS`` order)
    and, for animators that render in a working crop (warp), where the head sits there.

    Attributes:
        head: the crop geometry of the face (None when the animator does not expose it).
    """

    path: str
    own_values: tuple[float, ...]
    face_index: Optional[int]
    head: Optional["HeadGeometry"] = None


@dataclass(frozen=True)
class HeadGeometry:
    """Where the rendered head is, for the head-axes overlay of the result.

    The warp animator projects the face around ``center + (t - own_t) * face_size``
    (crop pixels; ``t`` = the frame's translation channels in face sizes), see
    ``WarpAnimator.target_points``.

    Attributes:
        crop_size: side of the working crop, pixels (the preview result's size).
        center: (x, y) head centre of the source in the crop, pixels.
        face_size: face size (forehead-chin) in the crop, pixels.
        own_translation: (tx, ty) the source's own translation, face sizes.
    """

    crop_size: int
    center: tuple[float, float]
    face_size: float
    own_translation: tuple[float, float]

    def origin(self, translation: Sequence[float], image_size: tuple[int, int]) -> tuple[float, float]:
        """Head centre in a result image of ``image_size`` (w, h) pixels for a frame's
        ``translation`` (tx, ty, face sizes)."""
        k = image_size[0] / max(self.crop_size, 1)
        x = self.center[0] + (float(translation[0]) - self.own_translation[0]) * self.face_size
        y = self.center[1] + (float(translation[1]) - self.own_translation[1]) * self.face_size
        return x * k, y * k

    def axis_length(self, scale: float, image_size: tuple[int, int]) -> float:
        """Axis length in result pixels: half a face size at the frame's ``scale``."""
        return 0.5 * self.face_size * float(scale) * image_size[0] / max(self.crop_size, 1)


def _head_geometry(state, crop_size: int) -> Optional[HeadGeometry]:
    p = state.payload
    pose = getattr(p, "pose", None)
    fs = getattr(p, "face_size_px", None)
    crop = getattr(p, "crop", None)
    if pose is None or fs is None or getattr(pose, "center_px", None) is None:
        return None
    size = int(crop.shape[0]) if crop is not None else int(crop_size)
    c = np.asarray(pose.center_px, dtype=np.float64).reshape(-1)[:2]
    t = state.own_motion.translation
    return HeadGeometry(size, (float(c[0]), float(c[1])), float(fs), (float(t[0]), float(t[1])))


def face_index_at(image: np.ndarray, xy: tuple[float, float]) -> Optional[int]:
    """Index (left to right, as the animators count) of the face nearest image point ``xy``."""
    from dexstudio.motion.tracker import MediaPipeTracker
    from dexstudio.render.warp.detect import detect_faces

    with MediaPipeTracker() as tracker:
        faces = detect_faces(image, tracker)
    if not faces:
        return None
    centres = np.array([np.asarray(f.landmarks)[:, :2].mean(axis=0) for f in faces])
    return int(np.argmin(np.hypot(centres[:, 0] - xy[0], centres[:, 1] - xy[1])))


def analyse_source(path: str, image: np.ndarray, factory: Callable[[str], Animator],
                   face_index: Optional[int], crop_size: int,
                   face_at: Optional[tuple[float, float]] = None
                   ) -> Callable[[ProgressFn, CancelToken], SourceAnalysis]:
    """Find the face in the portrait (the one nearest ``face_at`` when given, e.g. a
    click in the viewer) and measure its own pose and expression.

    Raises (in the job): NoFaceError when the portrait has no (such) face.
    """
    def run(progress: ProgressFn, cancel: CancelToken) -> SourceAnalysis:
        progress(Progress(0, 1, "finding the face"))
        nonlocal face_index
        if face_at is not None:
            face_index = face_index_at(image, face_at)
        animator = factory("cpu")
        try:
            state = animator.prepare(image, SourceOptions(face_index=face_index, crop_size=crop_size))
            own = getattr(animator, "own_motion", None)
            m = own(state.payload, image.shape) if callable(own) else state.own_motion
        finally:
            animator.close()
        cancel.raise_if_cancelled()
        vals = (*m.euler, *m.translation, m.scale, *m.blendshapes, *m.detail)
        progress(Progress(1, 1, "finding the face"))
        return SourceAnalysis(path, tuple(float(v) for v in vals), face_index, _head_geometry(state, crop_size))
    return run


def extract_clip(path: str) -> Callable[[ProgressFn, CancelToken], MotionTrack]:
    """Motion extraction of a driving clip (with 2D landmarks for the overlays)."""
    def run(progress: ProgressFn, cancel: CancelToken) -> MotionTrack:
        from dexstudio.motion.extract import ExtractSettings, extract_motion

        return extract_motion(path, ExtractSettings(keep_landmarks_2d=True), progress, cancel)
    return run


def export_video(req: ExportRequest, requests: Sequence[RenderRequest], rate: FrameRate,
                 factory: Callable[[str], Animator], config: WorkerConfig,
                 source_image: Optional[np.ndarray], driving_path: Optional[str],
                 driving_start: int) -> Callable[[ProgressFn, CancelToken], Path]:
    """Render ``requests`` on a worker of its own (the disk cache is shared with the
    preview, so rendered frames are hits) and write them in order; nothing partial is
    left when cancelled or failing."""
    from dexstudio.io.export import ExportFormat, ExportLayout, VideoExporter
    from dexstudio.io.export import ExportSettings as IoExportSettings

    def run(progress: ProgressFn, cancel: CancelToken) -> Path:
        from dexstudio.io.video_reader import iter_frames as iter_video
        from dexstudio.worker.feed import iter_frames

        side = req.format is ExportFormatPref.SIDE_BY_SIDE
        settings = IoExportSettings(
            fps=rate,
            format=ExportFormat.PNG_SEQUENCE if req.format is ExportFormatPref.PNG else ExportFormat.MP4,
            crf=req.crf,
            size=None,
            frame_range=FrameRange(0, len(requests)),
            audio_source=Path(driving_path) if (req.include_audio and driving_path
                                                and req.format is not ExportFormatPref.PNG) else None,
            layout=ExportLayout.SIDE_BY_SIDE if side else ExportLayout.RESULT,
        )
        if side and driving_path is None:
            raise ValueError("side by side needs a driving clip")
        worker = RenderWorker(factory, config)
        drivings = None
        try:
            with VideoExporter(req.path, settings, source_image=source_image if side else None,
                               progress=progress, cancel=cancel) as ex:
                if side:
                    drivings = iter_video(driving_path, start=max(0, requests[0].frame - driving_start))
                last_d = None
                for _, img in iter_frames(worker, list(requests), cancel=cancel):
                    if req.height:
                        img = _fit_height(img, req.height)
                    if side:
                        d = next(drivings, None) if drivings is not None else None
                        d = last_d if d is None else d[1]
                        last_d = d
                        ex.write(img, d if d is not None else np.zeros_like(img))
                    else:
                        ex.write(img)
        finally:
            if drivings is not None:
                drivings.close()
            worker.close()
        return req.path
    return run


def _fit_height(img: np.ndarray, height: int) -> np.ndarray:
    from dexstudio.io.export import resize_to_height

    return resize_to_height(img, height)


def motion_track_from_evaluated(ev: EvaluatedMotion, rate: FrameRate) -> MotionTrack:
    """The edited performance as a :class:`MotionTrack` (for CSV / JSON motion export)."""
    n = len(ev)
    return MotionTrack(rate=rate, quaternion=matrix_to_quaternion(ev.rotation), euler=ev.euler.copy(),
                       translation=ev.translation.copy(), scale=ev.scale.copy(),
                       blendshapes=ev.blendshapes.astype(np.float32), detail=ev.detail.astype(np.float32),
                       valid=np.ones(n, dtype=bool))


__all__ = ["SourceAnalysis", "analyse_source", "extract_clip", "export_video",
           "motion_track_from_evaluated", "face_index_at"]
