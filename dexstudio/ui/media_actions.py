"""The media a project uses: opening the source portrait (face found in the
background), choosing the face by a click, measuring the head for the result axes,
and adding driving clips (motion extracted in the background into a new take).
Owned by the main window; job results arrive at its @Slot methods in the GUI thread."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog

from dexstudio.core.driving import TRAVEL_NOTE, head_travel
from dexstudio.core.errors import DexStudioError
from dexstudio.core.motion import MotionTrack
from dexstudio.core.take import Take
from dexstudio.ui import tasks
from dexstudio.ui.animators import prefs_warp_factory
from dexstudio.ui.jobs import JobHandle

if TYPE_CHECKING:
    from dexstudio.ui.main_window import MainWindow

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".heic", ".heif", ".webp", ".avif", ".bmp", ".tif", ".tiff")
IMAGE_FILTER = "Images (" + " ".join("*" + s for s in IMAGE_SUFFIXES) + ")"
VIDEO_FILTER = "Videos (*.mp4 *.mov *.mkv *.avi *.webm *.m4v)"


class MediaActions(QObject):
    """Source portrait and driving clips of the window's session.

    Attributes:
        source_image: the portrait the project holds, (H, W, 3) uint8 RGB, or None.
        landmarks: per take id, the driving clip's 2D landmarks (frames, points, 2+) px.
        head: head geometry of the portrait in the working crop (result head axes), or None.
        head_path: the portrait ``head`` was measured on.
    """

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self._w = window
        self.source_image: Optional[np.ndarray] = None
        self.source_path: Optional[str] = ""
        self.landmarks: dict[str, np.ndarray] = {}
        self.head: Optional[tasks.HeadGeometry] = None
        self.head_path = ""

    # ------------------------------------------------------------------ the project's portrait
    def forget_source_image(self) -> None:
        """The next :meth:`load_source_image` reads the portrait again."""
        self.source_path = None

    def load_source_image(self) -> None:
        """Show the portrait the project holds (read once per path)."""
        w = self._w
        path = w.session.state.source.path
        if path == self.source_path:
            return
        self.source_path = path
        self.source_image = None
        if path:
            from dexstudio.io.image import load_image

            try:
                self.source_image = load_image(path)
            except DexStudioError as exc:
                w.show_error(exc)
        if self.source_image is not None:
            w.viewer.source.set_image(self.source_image)
            if self.head_path != path:
                self._measure_head(path, self.source_image)
        else:
            w.viewer.source.clear()
            w.viewer.result.clear()

    def driving_path(self) -> Optional[str]:
        """The active take's driving clip, or None."""
        take = self._w.session.active_take()
        if take is None or take.source is None or not take.source.path:
            return None
        return take.source.path

    # ------------------------------------------------------------------ open a portrait
    def open_source_dialog(self) -> None:
        p, _ = QFileDialog.getOpenFileName(self._w, "Open source portrait", "", IMAGE_FILTER)
        if p:
            self.open_source(p)

    def open_source(self, path: str, face_index: Optional[int] = None) -> Optional[JobHandle]:
        """Load a portrait, then find its face in the background; the project changes
        only when that succeeds."""
        from dexstudio.io.image import load_image

        try:
            img = load_image(path)
        except DexStudioError as exc:
            self._w.show_error(exc)
            return None
        self._w.viewer.source.set_image(img)
        return self._start_source_analysis(path, img, face_index=face_index)

    @Slot(float, float)
    def on_viewer_clicked(self, x: float, y: float) -> None:
        """Choose the face: a click on a face in the source picks it (re-analysed)."""
        if self.source_image is None or self.sender() is not self._w.viewer.source:
            return
        self._w.statusBar().showMessage("Face chosen by click: re-analysing the portrait", 3000)
        self._start_source_analysis(self.source_path, self.source_image, face_at=(x, y))  # type: ignore[arg-type]

    def _start_source_analysis(self, path: str, img: np.ndarray, face_index: Optional[int] = None,
                               face_at: Optional[tuple[float, float]] = None) -> JobHandle:
        crop = self._w.prefs.crop_size
        fn = tasks.analyse_source(str(path), img, prefs_warp_factory(self._w.prefs), face_index, crop, face_at)
        job = self._w.jobs.start("analyse", fn)
        self._w.job_status.track(job, "Finding the face in the portrait")
        job.succeeded.connect(self._on_source_analysed)
        job.failed.connect(self._on_source_failed)
        return job

    @Slot(object)
    def _on_source_analysed(self, res: object) -> None:
        assert isinstance(res, tasks.SourceAnalysis)
        self.head = res.head
        self.head_path = res.path
        self._w.session.set_source(res.path, res.own_values, res.face_index)
        self._w.driving_view.update_overlays()
        self._w.statusBar().showMessage(f"Portrait ready: {Path(res.path).name}", 4000)

    def _measure_head(self, path: str, img: np.ndarray) -> None:
        """Where the head sits in the working crop (result head axes) for a portrait the
        project already holds (opened project): a background analysis that changes
        nothing in the document; a failure only leaves the result axes off."""
        crop = self._w.prefs.crop_size
        fn = tasks.analyse_source(str(path), img, prefs_warp_factory(self._w.prefs),
                                  self._w.session.state.source.face_index, crop)
        job = self._w.jobs.start("analyse-head", fn)
        job.succeeded.connect(self._on_head_measured)

    @Slot(object)
    def _on_head_measured(self, res: object) -> None:
        assert isinstance(res, tasks.SourceAnalysis)
        if res.path == self._w.session.state.source.path:
            self.head, self.head_path = res.head, res.path
            self._w.driving_view.update_overlays()

    @Slot(object)
    def _on_source_failed(self, exc: object) -> None:
        # the project is unchanged: show what it holds again
        self.forget_source_image()
        self.load_source_image()
        self._w.show_error(exc)

    # ------------------------------------------------------------------ driving clips
    def add_driving_dialog(self) -> None:
        p, _ = QFileDialog.getOpenFileName(self._w, "Add driving clip", "", VIDEO_FILTER)
        if p:
            self.add_driving(p)

    def add_driving(self, path: str) -> JobHandle:
        """Extract the clip's motion in the background; it becomes a take."""
        job = self._w.jobs.start("extract", tasks.extract_clip(str(path)))
        job.setProperty("clip", str(path))
        self._w.job_status.track(job, f"Extracting motion from {Path(path).name}")
        job.succeeded.connect(self._on_extracted)
        job.failed.connect(self._w.show_error)
        return job

    @Slot(object)
    def _on_extracted(self, track: object) -> None:
        assert isinstance(track, MotionTrack)
        job = self.sender()
        clip = job.property("clip") if job is not None else "take"
        take = Take.from_motion(track, Path(clip).stem)
        if track.landmarks_2d is not None:
            self.landmarks[take.id] = track.landmarks_2d
        self._w.session.add_take(take)
        self._w.statusBar().showMessage(*extracted_message(track))


def extracted_message(track: MotionTrack) -> tuple[str, int]:
    """The status line for a newly extracted take and how long it shows (ms); with a hint
    when its head travels far across the frame (from its first frame, the default
    reference: :data:`~dexstudio.core.driving.TRAVEL_NOTE`)."""
    msg = f"Motion extracted: {track.n_frames} frames"
    travel = head_travel(track.translation[track.valid], track.translation[0]) if track.n_frames else 0.0
    if travel <= TRAVEL_NOTE:
        return msg, 4000
    return (f"{msg}. Its head moves up to {travel:.2f} face sizes across the frame: if the "
            "portrait's neck looks drawn out, freeze Translate X and Y", 15000)


__all__ = ["IMAGE_FILTER", "IMAGE_SUFFIXES", "MediaActions", "VIDEO_FILTER", "extracted_message"]
