"""Streaming export of rendered frames: MP4 (H.264 + the driving clip's audio) or PNG sequence.

Frames are consumed one at a time (:meth:`VideoExporter.write`); the video is never held
in memory. The output appears at the target path only when :meth:`VideoExporter.close`
succeeds: everything is written to a temporary file (or folder) beside the target and
renamed at the end, so an exception, a cancel (:class:`~dexstudio.core.progress.CancelToken`)
or Ctrl-C leaves neither a half-written target nor a temporary file.

MP4 details: libx264, ``yuv420p``, BT.709 limited range (tagged), CRF + preset, frame
``i`` at exactly ``i / fps`` (time base ``1 / fps``, so 30000/1001 stays exact), odd
frame sizes padded by one edge-replicated pixel to even, ``+faststart`` (the index at
the front, so players can start before the download ends). Audio: see
:mod:`dexstudio.io.audio` (copied AAC, or re-encoded AAC), trimmed to the exported range
and aligned with the first exported frame; a driving clip without audio gives a silent
video.

Usage::

    settings = ExportSettings(fps=FrameRate(30), frame_range=FrameRange(30, 120),
                              audio_source=driving_path)
    with VideoExporter("out.mp4", settings, progress=cb, cancel=token) as ex:
        for frame in frames:          # (H, W, 3) uint8 RGB
            ex.write(frame)
    print(ex.result)
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import av
import cv2
import numpy as np

from dexstudio.core.errors import OutputError
from dexstudio.core.progress import CancelToken, Progress, ProgressCallback
from dexstudio.core.timebase import FrameRange, FrameRate
from dexstudio.io.atomic import atomic_path
from dexstudio.io.audio import AudioMode, AudioMuxer, open_audio_muxer, probe_audio
from dexstudio.io.yuv import rgb_to_yuv420p

PathLike = Union[str, "os.PathLike[str]"]

#: x264 speed/size trade-offs, fastest first.
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
#: Labels drawn on the side-by-side panels.
SIDE_BY_SIDE_LABELS = ("source", "driving", "result")


class ExportFormat(enum.Enum):
    MP4 = "mp4"
    PNG_SEQUENCE = "png"


class ExportLayout(enum.Enum):
    """``RESULT``: the rendered frame. ``SIDE_BY_SIDE``: source | driving | result."""

    RESULT = "result"
    SIDE_BY_SIDE = "side-by-side"


@dataclass(frozen=True)
class ExportSettings:
    """What to write.

    Attributes:
        fps: the driving clip's frame rate (output frame ``i`` lasts ``1 / fps``).
        format: MP4 or a PNG sequence (a folder of ``frame_000123.png``).
        crf: x264 constant rate factor, 0 (lossless) .. 51; 18 is visually lossless.
        preset: one of :data:`X264_PRESETS`.
        size: ``(width, height)`` of the output frames, or None for the rendered size.
            Frames are scaled to fit inside it keeping their aspect, centred on black.
        frame_range: the exported driving-clip frames (for the audio cut, the progress
            total and PNG numbering); None = from frame 0, as many as are written.
        audio_source: the driving clip whose audio goes into the MP4 (None = silent).
        audio_mode: copy or re-encode the audio (see :mod:`dexstudio.io.audio`).
        layout: the result alone, or source | driving | result at the same height.
        labels: draw small labels on the side-by-side panels.
        encoder_threads: x264 threads, 0 = x264's own choice (1.5 per core). A caller
            whose own workers already keep every core busy asks for fewer: x264's
            threads then only add their overhead.
    """

    fps: FrameRate
    format: ExportFormat = ExportFormat.MP4
    crf: int = 18
    preset: str = "veryfast"
    size: Optional[tuple[int, int]] = None
    frame_range: Optional[FrameRange] = None
    audio_source: Optional[Path] = None
    audio_mode: AudioMode = AudioMode.AUTO
    layout: ExportLayout = ExportLayout.RESULT
    labels: bool = True
    encoder_threads: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be in 0..51, got {self.crf}")
        if self.preset not in X264_PRESETS:
            raise ValueError(f"preset must be one of {', '.join(X264_PRESETS)}, got {self.preset!r}")
        if self.encoder_threads < 0:
            raise ValueError(f"encoder_threads must be 0 (auto) or more, got {self.encoder_threads}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 2):
            raise ValueError(f"size must be (width, height) of at least 2x2, got {self.size}")
        if self.audio_source is not None:
            object.__setattr__(self, "audio_source", Path(self.audio_source))

    @property
    def start_frame(self) -> int:
        return self.frame_range.start if self.frame_range is not None else 0


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: ``frames`` frames of ``size`` (w, h), ``duration`` seconds.
    ``scaled_from``: the (w, h) the frames had when an MP4 had to scale them down to
    H.264's largest frame (:func:`h264_fit`), else None."""

    path: Path
    frames: int
    size: tuple[int, int]
    duration: Fraction
    has_audio: bool
    scaled_from: Optional[tuple[int, int]] = None


#: H.264's largest frame (level 6.2): 139264 macroblocks of 16 x 16 pixels (35.7 megapixels),
#: and no side longer than sqrt(8 x 139264) macroblocks (16,880 pixels)
H264_MAX_MACROBLOCKS = 139264
H264_MAX_SIDE_MB = int((8 * H264_MAX_MACROBLOCKS) ** 0.5)


def scaled_note(scaled_from: tuple[int, int], size: tuple[int, int]) -> str:
    """What to tell the user when an MP4's frames were scaled down by :func:`h264_fit`."""
    return (f"the frames ({scaled_from[0]} x {scaled_from[1]}) are larger than H.264 allows; the video is "
            f"{size[0]} x {size[1]} (use a folder -o FOLDER/ for full-size PNG frames)")


def h264_fit(width: int, height: int) -> tuple[int, int]:
    """The largest even (w, h) of the same aspect that H.264 allows, no larger than
    (width, height): a 48-megapixel phone photo pasted back (8064 x 6048) would otherwise
    give a file x264 writes but no player is required to decode (and phones refuse).
    """
    def fits(w: int, h: int) -> bool:
        mw, mh = -(-w // 16), -(-h // 16)
        return mw * mh <= H264_MAX_MACROBLOCKS and max(mw, mh) <= H264_MAX_SIDE_MB

    if fits(width, height):
        return width, height
    k = min((H264_MAX_MACROBLOCKS * 256 / (width * height)) ** 0.5, H264_MAX_SIDE_MB * 16 / max(width, height))
    while True:
        w, h = max(2, int(width * k) // 2 * 2), max(2, int(height * k) // 2 * 2)
        if fits(w, h):
            return w, h
        k *= 0.995


# ---------------------------------------------------------------------------------------
# pure frame helpers


def _check_rgb(frame: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(frame)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name} must be an (H, W, 3) uint8 RGB array, got {a.dtype} {a.shape}")
    return a


def resize_to_height(image: np.ndarray, height: int) -> np.ndarray:
    """Scale ``(H, W, 3)`` to ``height`` rows keeping the aspect (width rounded, >= 1)."""
    h, w = image.shape[:2]
    if h == height:
        return image
    width = max(1, round(w * height / h))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interp)


def draw_label(image: np.ndarray, text: str) -> None:
    """Draw ``text`` in the top-left corner of ``image`` (in place), white on a dark box."""
    h = image.shape[0]
    scale = max(0.35, h / 900)
    thick = max(1, round(scale * 1.5))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    pad = max(2, th // 3)
    x1, y1 = min(image.shape[1], tw + 2 * pad), min(h, th + base + 2 * pad)
    box = image[:y1, :x1]
    box[:] = (box.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken, keep some context
    cv2.putText(image, text, (pad, pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                cv2.LINE_AA)


def compose_side_by_side(source: np.ndarray, driving: np.ndarray, result: np.ndarray, height: int,
                         labels: Optional[Sequence[str]] = SIDE_BY_SIDE_LABELS) -> np.ndarray:
    """``source | driving | result``, each scaled to ``height`` rows keeping its aspect.

    Args:
        source, driving, result: ``(H_i, W_i, 3) uint8`` RGB (any sizes).
        height: output rows.
        labels: one text per panel, or None for no labels.
    Returns:
        a new ``(height, W_s' + W_d' + W_r', 3) uint8`` array (inputs are not modified).
    """
    if height < 1:
        raise ValueError(f"height must be positive, got {height}")
    panels = [resize_to_height(_check_rgb(a, n), height)
              for a, n in ((source, "source"), (driving, "driving"), (result, "result"))]
    out = np.concatenate(panels, axis=1)  # always a new array
    if labels:
        x = 0
        for panel, text in zip(panels, labels):
            w = panel.shape[1]
            draw_label(out[:, x:x + w], text)
            x += w
    return out


def fit_into(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale ``(H, W, 3)`` to fit inside ``size = (width, height)`` keeping aspect, on black."""
    tw, th = size
    h, w = image.shape[:2]
    if (w, h) == (tw, th):
        return image
    s = min(tw / w, th / h)
    nw, nh = max(1, min(tw, round(w * s))), max(1, min(th, round(h * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (nw, nh), interpolation=interp)
    if (nw, nh) == (tw, th):
        return scaled
    out = np.zeros((th, tw, 3), np.uint8)
    y0, x0 = (th - nh) // 2, (tw - nw) // 2
    out[y0:y0 + nh, x0:x0 + nw] = scaled
    return out


def pad_to_even(image: np.ndarray) -> np.ndarray:
    """Pad an odd width/height by one edge-replicated column/row (yuv420p needs even sizes)."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


# ---------------------------------------------------------------------------------------
# output checks


#: file name endings written as MP4 (H.264); QuickTime and players read all three
MP4_SUFFIXES = (".mp4", ".m4v", ".mov")


def format_for_output(path: str) -> ExportFormat:
    """The export format a command-line output path asks for: a folder (an existing one,
    or a path ending in ``/``) gets a PNG sequence, a ``.mp4`` / ``.m4v`` / ``.mov`` name
    an MP4.

    Raises:
        OutputError: any other name (``out.gif``, ``out.avi``, ``out`` without an
            ending), which used to get an MP4 under a misleading name.
    """
    raw = str(path)
    if raw.endswith(("/", os.sep)) or Path(raw).is_dir():
        return ExportFormat.PNG_SEQUENCE
    suffix = Path(raw).suffix.lower()
    if suffix in MP4_SUFFIXES:
        return ExportFormat.MP4
    what = f"{suffix} files" if suffix else f"{Path(raw).name!r} (a name without an ending)"
    raise OutputError(f"cannot write {what}: DeX Studio writes H.264 video or PNG frames",
                      f"name the output {Path(raw).stem or 'result'}.mp4 for a video, or end it with / "
                      "for a folder of PNG frames")


_PNG_FRAME = re.compile(r"frame_\d+\.png")


def _check_replaceable_folder(target: Path) -> None:
    """A PNG export replaces its folder as a whole: refuse a folder that holds anything
    but an earlier export's frames (``-o ~/Desktop/`` must not empty the desktop)."""
    if not target.is_dir():
        return
    others = [p.name for p in target.iterdir() if not (_PNG_FRAME.fullmatch(p.name) and p.is_file())]
    if others:
        shown = ", ".join(sorted(others)[:3]) + (" ..." if len(others) > 3 else "")
        raise OutputError(f"the folder {target} holds other files ({shown}); a PNG export replaces "
                          "its folder as a whole", "choose a new folder name, an empty folder or an "
                          "earlier export's folder")


def check_output_writable(target: Path, fmt: ExportFormat) -> None:
    """Fail before any work when ``target`` cannot be written (typed :class:`OutputError`)."""
    folder = target.parent if str(target.parent) else Path(".")
    if fmt is ExportFormat.MP4 and target.is_dir():
        raise OutputError(f"{target} is a folder", "give the output a file name ending in .mp4")
    if fmt is ExportFormat.PNG_SEQUENCE and target.exists() and not target.is_dir():
        raise OutputError(f"{target} exists and is not a folder",
                          "a PNG sequence is written into a folder: choose a folder name")
    if fmt is ExportFormat.PNG_SEQUENCE:
        _check_replaceable_folder(target)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {folder}: {exc.strerror or exc}",
                          "choose a folder you can write to") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"the output folder {folder} is read-only",
                          "choose a folder you can write to (check permissions)")


# ---------------------------------------------------------------------------------------
# sinks: where prepared frames go


class _Mp4Sink:
    def __init__(self, target: Path, settings: ExportSettings) -> None:
        self._settings = settings
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_path(target, suffix=".mp4"))
        self._container: Optional[av.container.OutputContainer] = None
        self._stream: Optional[av.video.stream.VideoStream] = None
        self._audio: Optional[AudioMuxer] = None
        self._n = 0
        self._time_base = Fraction(settings.fps.den, settings.fps.num)
        self.has_audio = False

    def _open(self, width: int, height: int) -> None:
        s = self._settings
        try:
            c = av.open(str(self._tmp), "w", format="mp4", options={"movflags": "+faststart"})
        except av.error.FFmpegError as exc:
            raise OutputError(f"cannot open {self._tmp} for writing: {exc}", "choose another folder") from None
        self._container = c
        options = {"crf": str(s.crf), "preset": s.preset}
        if s.encoder_threads:
            options["threads"] = str(s.encoder_threads)
        v = c.add_stream("libx264", rate=s.fps.fraction, options=options)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.time_base = self._time_base
        cc = v.codec_context
        cc.time_base = self._time_base
        cc.colorspace = av.video.reformatter.Colorspace.ITU709
        cc.color_range = av.video.reformatter.ColorRange.MPEG
        cc.color_primaries = av.video.reformatter.ColorPrimaries.BT709
        cc.color_trc = av.video.reformatter.ColorTrc.BT709
        self._stream = v
        if s.audio_source is not None:
            start = s.fps.frame_to_seconds(s.start_frame)
            span = (len(s.frame_range) * self._time_base) if s.frame_range is not None else None
            self._audio = open_audio_muxer(c, s.audio_source, start, s.audio_mode, span)

    def write(self, frame: np.ndarray) -> None:
        if self._container is None:
            self._open(frame.shape[1], frame.shape[0])
        assert self._container is not None and self._stream is not None
        # BT.709 limited range with box-filtered chroma (io.yuv: OpenCV, GIL released)
        vf = av.VideoFrame.from_ndarray(rgb_to_yuv420p(frame), format="yuv420p")
        vf.pts = self._n
        vf.time_base = self._time_base
        for packet in self._stream.encode(vf):
            self._container.mux(packet)
        self._n += 1
        if self._audio is not None:
            self._audio.advance_to(self._n * self._time_base)

    def finish(self) -> None:
        assert self._container is not None and self._stream is not None
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        if self._audio is not None:
            self._audio.finish(self._n * self._time_base)  # abort() still closes it if this fails
            self.has_audio = self._audio.wrote_audio
            self._audio = None
        self._container.close()
        self._container = None
        self._stack.close()  # fsync + rename over the target

    def abort(self, exc: Optional[BaseException]) -> None:
        if self._audio is not None:
            with contextlib.suppress(Exception):
                self._audio.close()
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
        self._container = None
        # remove the temp file; an OSError (e.g. disk full) comes back as OutputError
        if exc is None:
            exc = OutputError("export aborted")
        self._stack.__exit__(type(exc), exc, exc.__traceback__)


class _PngSink:
    def __init__(self, target: Path, settings: ExportSettings) -> None:
        self._target = target
        self._start = settings.start_frame
        last = self._start + (len(settings.frame_range) if settings.frame_range is not None else 0)
        self._digits = max(6, len(str(last)))
        try:
            self._tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        except OSError as exc:
            raise OutputError(f"cannot write into {target.parent}: {exc.strerror or exc}",
                              "choose a folder you can write to (check permissions)") from None
        self._n = 0
        self.has_audio = False

    def write(self, frame: np.ndarray) -> None:
        name = f"frame_{self._start + self._n:0{self._digits}d}.png"
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        if not ok:  # pragma: no cover - cv2 only fails on invalid input
            raise OutputError(f"could not encode frame {self._n} as PNG", "")
        try:
            with open(self._tmp / name, "wb") as f:
                f.write(buf.data)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise OutputError(f"the disk is full while writing {self._target}",
                                  "free some space or choose another location") from None
            raise OutputError(f"cannot write {self._target}: {exc.strerror or exc}",
                              "choose a folder you can write to") from None
        self._n += 1

    def finish(self) -> None:
        backup: Optional[Path] = None
        try:
            _check_replaceable_folder(self._target)  # files may have arrived since the start
        except OutputError:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        try:
            if self._target.exists():  # replace a previous export of the same name
                backup = self._target.with_name(f".{self._target.name}.old-{uuid.uuid4().hex[:8]}")
                os.replace(self._target, backup)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self._tmp, 0o777 & ~umask)  # mkdtemp makes 0o700
            os.replace(self._tmp, self._target)
        except OSError as exc:
            if backup is not None and not self._target.exists():
                os.replace(backup, self._target)
                backup = None
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise OutputError(f"cannot write {self._target}: {exc.strerror or exc}",
                              "choose a folder you can write to; the previous export is intact") from None
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)

    def abort(self, exc: Optional[BaseException]) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------


class VideoExporter:
    """Write frames to ``path`` one at a time; the file appears only on a successful close.

    Use as a context manager: leaving the block normally finalises (:meth:`close`), an
    exception (including :class:`~dexstudio.core.errors.Cancelled` and KeyboardInterrupt)
    aborts (:meth:`abort`) and removes every temporary file.

    Args:
        path: target ``.mp4`` file, or the folder of a PNG sequence.
        settings: :class:`ExportSettings`.
        source_image: ``(H, W, 3) uint8`` source portrait, needed for the side-by-side layout.
        progress: called after every frame with ``Progress(done, total, "export")``.
        cancel: checked before every frame and before finalising.

    Raises (at construction, before any work):
        OutputError: the output folder is read-only / cannot be created, or the target
            is of the wrong kind (a folder for MP4, a file for a PNG sequence).
        UnreadableFileError / MediaError: the audio source cannot be opened.
    """

    def __init__(self, path: PathLike, settings: ExportSettings, *, source_image: Optional[np.ndarray] = None,
                 progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None) -> None:
        self.path = Path(path)
        self.settings = settings
        if settings.layout is ExportLayout.SIDE_BY_SIDE:
            if source_image is None:
                raise ValueError("the side-by-side layout needs source_image")
            self._source: Optional[np.ndarray] = _check_rgb(source_image, "source_image")
        else:
            self._source = None
        self._progress = progress
        self._cancel = cancel
        self._total = len(settings.frame_range) if settings.frame_range is not None else None
        check_output_writable(self.path, settings.format)
        if settings.format is ExportFormat.MP4 and settings.audio_source is not None:
            probe_audio(settings.audio_source)  # a missing/unreadable clip fails now, not at frame 1
        self._sink: Union[_Mp4Sink, _PngSink] = (_Mp4Sink(self.path, settings)
                                                 if settings.format is ExportFormat.MP4
                                                 else _PngSink(self.path, settings))
        self._size: Optional[tuple[int, int]] = None
        self._frames = 0
        self._state = "open"
        self.result: Optional[ExportResult] = None
        self.scaled_from: Optional[tuple[int, int]] = None  # frames scaled down to H.264's largest

    @property
    def frames_written(self) -> int:
        return self._frames

    def _prepare(self, frame: np.ndarray, driving: Optional[np.ndarray]) -> np.ndarray:
        frame = _check_rgb(frame, "frame")
        s = self.settings
        if s.layout is ExportLayout.SIDE_BY_SIDE:
            if driving is None:
                raise ValueError("the side-by-side layout needs the driving frame: write(frame, driving)")
            assert self._source is not None
            frame = compose_side_by_side(self._source, driving, frame, frame.shape[0],
                                         SIDE_BY_SIDE_LABELS if s.labels else None)
        if s.size is not None:
            frame = fit_into(frame, s.size)
        if s.format is ExportFormat.MP4:
            h, w = frame.shape[:2]
            fw, fh = h264_fit(w, h)
            if (fw, fh) != (w, h):  # larger than H.264 allows: scaled down, aspect kept
                self.scaled_from = (w, h)
                # a mild scale (0.85 for 48 MP): bilinear, 38 against 201 ms a frame with INTER_AREA
                mild = fw > 0.5 * w
                frame = cv2.resize(frame, (fw, fh), interpolation=cv2.INTER_LINEAR if mild else cv2.INTER_AREA)
            frame = pad_to_even(frame)
        return np.ascontiguousarray(frame)

    def write(self, frame: np.ndarray, driving: Optional[np.ndarray] = None) -> None:
        """Append one ``(H, W, 3) uint8`` RGB frame (``driving``: the driving frame, for side-by-side).

        Every frame must have the size of the first. Raises Cancelled when cancelled.
        """
        if self._state != "open":
            raise RuntimeError(f"write() on an exporter that is {self._state}")
        if self._cancel is not None:
            self._cancel.raise_if_cancelled()
        if self._total is not None and self._frames >= self._total:
            raise ValueError(f"more frames than the frame range holds ({self._total})")
        out = self._prepare(frame, driving)
        size = (out.shape[1], out.shape[0])
        if self._size is None:
            self._size = size
        elif size != self._size:
            raise ValueError(f"frame {self._frames} is {size[0]}x{size[1]}, the export is "
                             f"{self._size[0]}x{self._size[1]}; every frame must have the same size")
        self._sink.write(out)
        self._frames += 1
        if self._progress is not None:
            self._progress(Progress(self._frames, self._total, "export"))

    def close(self) -> ExportResult:
        """Finalise and rename into place. Returns what was written.

        Raises:
            OutputError: nothing was written, or the final write/rename failed (the
                target then keeps its previous content, and no temp file remains).
            Cancelled: the token was cancelled (nothing is left behind).
        """
        if self._state == "closed" and self.result is not None:
            return self.result
        if self._state != "open":
            raise RuntimeError(f"close() on an exporter that is {self._state}")
        try:
            if self._cancel is not None:
                self._cancel.raise_if_cancelled()
            if self._frames == 0:
                raise OutputError(f"nothing to export to {self.path}: no frame was rendered",
                                  "choose a non-empty frame range")
            self._sink.finish()
        except BaseException as exc:
            self.abort(exc)
            raise
        self._state = "closed"
        assert self._size is not None
        self.result = ExportResult(path=self.path, frames=self._frames, size=self._size,
                                   duration=self._frames * Fraction(self.settings.fps.den, self.settings.fps.num),
                                   has_audio=self._sink.has_audio, scaled_from=self.scaled_from)
        return self.result

    def abort(self, exc: Optional[BaseException] = None) -> None:
        """Stop and delete everything written so far (the target is untouched). Idempotent."""
        if self._state != "open":
            return
        self._state = "aborted"
        self._sink.abort(exc)  # an OSError that caused the abort comes back as OutputError

    def __enter__(self) -> "VideoExporter":
        return self

    def __exit__(self, exc_type: object, exc: Optional[BaseException], tb: object) -> None:
        if exc is None:
            self.close()
        else:
            self.abort(exc)


def export_frames(path: PathLike, frames: Iterable[np.ndarray], settings: ExportSettings, *,
                  drivings: Optional[Iterable[np.ndarray]] = None, source_image: Optional[np.ndarray] = None,
                  progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None) -> ExportResult:
    """Export an iterable of frames (consumed lazily) with :class:`VideoExporter`."""
    with VideoExporter(path, settings, source_image=source_image, progress=progress, cancel=cancel) as ex:
        if drivings is None:
            for frame in frames:
                ex.write(frame)
        else:
            for frame, driving in zip(frames, drivings):
                ex.write(frame, driving)
    assert ex.result is not None
    return ex.result
