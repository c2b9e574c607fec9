"""Streaming video reading with PyAV: probe, iterate frames (bounded memory), hash.

Frames come upright: a clip whose container says to turn it for display (a phone's
portrait recording, stored as landscape frames) is turned as players turn it.

Frames are decoded one at a time and handed to the caller; nothing keeps them, so
memory does not grow with the length of the video.

Errors a user can cause are typed:

* :class:`UnreadableFileError` -- missing path, a folder, no permission.
* :class:`NotAVideoError` -- the file opens but is no video (text renamed .mp4, a still image).
* :class:`CorruptVideoError` -- the container is damaged so that no frame decodes. When
  a truncated file still yields some frames, they are kept and a warning
  (:class:`TruncatedVideoWarning`) is issued with the number that decoded.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from dexstudio.core.errors import CorruptVideoError, NotAVideoError, UnreadableFileError
from dexstudio.core.timebase import FrameRate
from dexstudio.io.constant_rate import constant_rate

_IMAGE_CODECS = {"png", "mjpeg", "jpegls", "bmp", "tiff", "webp", "gif", "jpeg2000", "ppm", "pgm"}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif"}


class TruncatedVideoWarning(UserWarning):
    """Decoding stopped early on a damaged file; the frames that decoded are used."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds.

    Attributes:
        path: the file.
        width, height: frame size in pixels as displayed, which is as the frames are
            returned (``rotation`` applied).
        rate: frame rate (the stream's average rate).
        n_frames: number of frames; exact when ``n_frames_exact`` else estimated from
            the duration.
        n_frames_exact: True when the container states the frame count.
        duration: seconds (float, for display only).
        has_audio: the file has an audio stream.
        rotation: degrees counter-clockwise (0, 90, 180, 270) by which the stored frames
            are turned for display (the container's display matrix: a phone records a
            portrait clip as landscape frames plus 90 or 270); frames are returned upright,
            turned by it.
        codec: the video codec name.
    """

    path: Path
    width: int
    height: int
    rate: FrameRate
    n_frames: int
    n_frames_exact: bool
    duration: float
    has_audio: bool
    rotation: int
    codec: str


def _check_path(path: Path) -> None:
    if not path.exists():
        raise UnreadableFileError(f"the file {path} does not exist",
                                  "check the path (and the spelling of the name)")
    if path.is_dir():
        raise UnreadableFileError(f"{path} is a folder, not a video file", "give the path of a video file")
    if not os.access(path, os.R_OK):
        raise UnreadableFileError(f"cannot read {path}: permission denied",
                                  "make the file readable (check its permissions) or copy it elsewhere")


def _looks_like_media(path: Path) -> bool:
    """True when the first bytes carry a known audio/video container signature."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return (head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")  # ISO BMFF / QuickTime
            or head[:4] in (b"\x1aE\xdf\xa3", b"RIFF", b"OggS", b"FLV\x01")  # mkv/webm, avi, ogg, flv
            or head[:4] == b"\x00\x00\x01\xba")  # mpeg-ps


def _open(path: Path):
    import av

    path = Path(path)
    _check_path(path)
    try:
        container = av.open(str(path), mode="r")
    except PermissionError:
        raise UnreadableFileError(f"cannot read {path}: permission denied",
                                  "make the file readable or copy it elsewhere") from None
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        if _looks_like_media(path):
            raise CorruptVideoError(
                f"{path} looks like a video container but is damaged or truncated "
                f"({type(exc).__name__}: its index cannot be read)",
                "re-download or re-export the video; a cut-off mp4 whose index (moov) is at the "
                "end cannot be opened -- `ffmpeg -i in.mp4 -movflags faststart out.mp4` "
                "keeps it at the front") from None
        raise NotAVideoError(f"{path} is not a video file ffmpeg can read ({type(exc).__name__})",
                             "give a video file (mp4, mov, mkv, webm, avi)") from None
    if not container.streams.video:
        container.close()
        raise NotAVideoError(f"{path} holds no video stream",
                             "give a video file (an audio-only or data file cannot drive a face)")
    stream = container.streams.video[0]
    codec = stream.codec_context.name if stream.codec_context else ""
    if codec in _IMAGE_CODECS and (path.suffix.lower() in _IMAGE_SUFFIXES or (stream.frames or 0) <= 1):
        container.close()
        raise NotAVideoError(f"{path} is a still image ({codec}), not a video",
                             "give a video file; a still image is a source portrait, not driving footage")
    return container


def _quarter_turns(degrees: float) -> int:
    """``degrees`` counter-clockwise as whole quarter turns, 0..3."""
    return int(round(float(degrees) / 90.0)) % 4


def _stream_rotation(stream) -> Optional[int]:
    """Counter-clockwise display rotation from the stream's ``rotate`` tag (older FFmpeg
    builds, which state it clockwise), or None when the stream has no such tag."""
    try:
        rot = stream.metadata.get("rotate")
        if rot is not None:
            return 90 * _quarter_turns(-float(rot))
    except (AttributeError, ValueError):
        pass
    return None


def _frame_rotation(frame, fallback: int) -> int:  # noqa: ANN001 - av.VideoFrame
    """Counter-clockwise display rotation of a decoded frame (its display matrix; PyAV
    13+), else ``fallback``."""
    rot = getattr(frame, "rotation", None)
    return fallback if rot is None else 90 * _quarter_turns(rot)


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """A stored frame turned ``rotation`` degrees counter-clockwise, as players show it."""
    k = _quarter_turns(rotation)
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def _stream_fps(stream) -> float:
    """The constant rate decoded frames are re-timed to (:mod:`dexstudio.io.constant_rate`):
    the stream's average rate, else its guessed one; 0 when it states neither."""
    rate_q = stream.average_rate or stream.guessed_rate
    return float(rate_q) if rate_q else 0.0


def _rotation(container, stream) -> int:
    """The clip's counter-clockwise display rotation: the stream's tag, else the first
    frame's display matrix (one frame decoded)."""
    tagged = _stream_rotation(stream)
    if tagged is not None:
        return tagged
    import av

    try:
        for frame in container.decode(stream):
            return _frame_rotation(frame, 0)
    except (av.error.FFmpegError, EOFError):
        pass
    return 0


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video's :class:`VideoInfo` without decoding frames."""
    p = Path(path)
    container = _open(p)
    try:
        s = container.streams.video[0]
        rate_q = s.average_rate or s.guessed_rate or s.base_rate
        if not rate_q:
            raise CorruptVideoError(f"{p} states no frame rate", "re-encode the video (e.g. with ffmpeg)")
        rate = FrameRate(rate_q.numerator, rate_q.denominator)
        if s.duration is not None and s.time_base is not None:
            duration = float(s.duration * s.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        exact = bool(s.frames)
        n = int(s.frames) if exact else int(round(duration * rate.fps))
        w, h, codec = int(s.codec_context.width), int(s.codec_context.height), s.codec_context.name
        rotation = _rotation(container, s)
        if rotation in (90, 270):
            w, h = h, w
        return VideoInfo(path=p, width=w, height=h, rate=rate, n_frames=n, n_frames_exact=exact,
                         duration=duration, has_audio=bool(container.streams.audio), rotation=rotation,
                         codec=codec)
    finally:
        container.close()


_SWS_THREADS_ARG = [True]  # False once this PyAV turned out to lack reformat(threads=...)


def _to_rgb(frame) -> np.ndarray:  # noqa: ANN001 - av.VideoFrame
    """(H, W, 3) uint8 RGB of a decoded frame, converted on one swscale thread.

    By default swscale starts a pool of threads for every frame (900 thread creations for
    liveportrait_d10's 448 frames) and converts no faster: 0.46-0.69 against 0.61-0.80 s
    of CPU for the clip, the same pixels.
    """
    if _SWS_THREADS_ARG[0]:
        try:
            return frame.to_ndarray(format="rgb24", threads=1)
        except TypeError:  # an older PyAV: no threads argument
            _SWS_THREADS_ARG[0] = False
    return frame.to_ndarray(format="rgb24")


def _decode(p: Path, start: int, stop: Optional[int], notes: list[str]) -> Iterator[tuple[int, np.ndarray]]:
    """Frames of ``p``; truncation messages are appended to ``notes`` (not warned)."""
    import av

    container = _open(p)
    index = -1
    decoded = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tagged = _stream_rotation(stream) or 0
        fps = _stream_fps(stream)
        tb = stream.time_base

        def timed() -> Iterator[tuple[Optional[float], object]]:
            nonlocal decoded
            for frame in container.decode(stream):
                decoded += 1
                yield (None if frame.pts is None or tb is None else float(frame.pts * tb)), frame

        last, last_rgb = None, None
        try:
            for slot, frame in constant_rate(timed(), fps):
                index = slot
                if slot < start:
                    continue
                if stop is not None and slot >= stop:
                    return
                if frame is last:  # shown for several slots (a variable-rate clip)
                    yield slot, last_rgb.copy()  # type: ignore[union-attr]
                    continue
                last, last_rgb = frame, _upright(_to_rgb(frame), _frame_rotation(frame, tagged))
                yield slot, last_rgb
        except (av.error.InvalidDataError, av.error.FFmpegError, EOFError) as exc:
            if index < 0 and decoded == 0:
                raise CorruptVideoError(f"{p} is damaged: no frame could be decoded ({exc})",
                                        "re-encode or re-download the video") from None
            notes.append(f"{p} is damaged after frame {max(index, 0)}: using the {index + 1} frames that decoded")
            return
        if index < 0:
            raise CorruptVideoError(f"{p} is damaged or empty: no frame could be decoded",
                                    "re-encode or re-download the video")
        stated = int(stream.frames or 0)
        if stated and decoded < stated and (stop is None or index + 1 < stop):
            notes.append(f"{p} states {stated} frames but only {decoded} decoded (truncated file?): "
                         "using those")
    finally:
        container.close()


def iter_frames(path: str | os.PathLike[str], start: int = 0,
                stop: Optional[int] = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, rgb)`` for frames ``start <= index < stop`` in order.

    Frame ``index`` is the picture at ``index / fps`` seconds into the clip (``fps`` =
    :func:`probe`'s rate): an evenly timed clip's frames one by one, an unevenly timed
    one's re-timed (:mod:`dexstudio.io.constant_rate`), upright (``VideoInfo.rotation``).
    ``rgb`` is an (H, W, 3) uint8 array, freshly allocated per frame (the caller may
    keep it; this function keeps nothing). Frames before ``start`` are decoded and
    discarded. A damaged file that decodes some frames warns
    (:class:`TruncatedVideoWarning`) and stops; one that decodes none raises
    :class:`CorruptVideoError`.
    """
    notes: list[str] = []
    yield from _decode(Path(path), start, stop, notes)
    for n in notes:
        warnings.warn(TruncatedVideoWarning(n), stacklevel=2)


def iter_frames_prefetched(path: str | os.PathLike[str], start: int = 0, stop: Optional[int] = None,
                           depth: int = 4) -> Iterator[tuple[int, np.ndarray]]:
    """:func:`iter_frames` decoding in a background thread, at most ``depth`` frames ahead.

    Decoding (which releases the GIL) overlaps the consumer's work; memory stays bounded
    by ``depth`` frames. Errors of the decoder are raised in the consumer; truncation
    warnings are issued in the consumer's thread at the end. Closing the generator early
    stops the thread.
    """
    import queue
    import threading

    p = Path(path)
    _check_path(p)
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop_flag = threading.Event()
    notes: list[str] = []
    done = object()

    def work() -> None:
        try:
            for item in _decode(p, start, stop, notes):
                while not stop_flag.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop_flag.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    t = threading.Thread(target=work, name="dexstudio-decode", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop_flag.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                pass
            t.join(timeout=0.05)
    for n in notes:
        warnings.warn(TruncatedVideoWarning(n), stacklevel=2)


def content_hash(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """sha256 hex digest of the file's bytes (streamed, constant memory)."""
    p = Path(path)
    _check_path(p)
    h = hashlib.sha256()
    try:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(chunk), b""):
                h.update(block)
    except PermissionError:
        raise UnreadableFileError(f"cannot read {p}: permission denied",
                                  "make the file readable or copy it elsewhere") from None
    return h.hexdigest()
