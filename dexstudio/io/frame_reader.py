"""One frame of a clip by its index, for scrubbing: seek, don't decode from the start.

:func:`dexstudio.io.video_reader.iter_frames` decodes from the first frame, so showing
frame ``i`` that way costs ``i`` decodes: 0.2 s for frame 440 of a 512 x 512 clip, and
seconds for a long HD one (the editor's driving pane did that on every scrub step, in
the GUI thread). :class:`FrameReader` keeps the file open, seeks to the keyframe at or
before the frame and decodes forward from there; a frame a little ahead of the last one
(playback) decodes forward without a seek.

Frame ``i`` is the same frame as :func:`iter_frames`' ``i``-th (upright, re-timed to
the clip's constant rate, :mod:`dexstudio.io.constant_rate`): the index maps to a
presentation timestamp through the clip's packet timestamps, read once when the reader
opens (demuxing only, no decoding). A clip whose packets carry no timestamps, or whose
decoded frames do not match them, is read in order from the start instead (correct,
only slower).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Iterator, Optional

import numpy as np

from dexstudio.io.constant_rate import constant_rate
from dexstudio.io.video_reader import _frame_rotation, _open, _stream_fps, _stream_rotation, _to_rgb, _upright

__all__ = ["FrameReader"]


class FrameReader:
    """Random access to the frames of one clip (module doc). Not thread-safe: one reader
    per thread. Use as a context manager or :meth:`close` it.

    Args:
        path: the clip.
    Raises:
        the typed errors of :func:`dexstudio.io.video_reader.probe` for a file that is
        missing, unreadable or not a video.
    """

    #: a frame at most this many frames past the last one read decodes forward (no seek)
    FORWARD = 48

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._open_stream()
        self._tagged = _stream_rotation(self._stream) or 0
        self._pts = self._timestamps()  # (J,) sorted presentation timestamps of the decoded frames
        self._shown = self._slots()  # (F,) for each output frame, the decoded frame it shows
        self._frames: Optional[Iterator] = None
        self._pos = -1  # the decoded frame ``_frames`` yielded last (index into ``_pts``)
        self._pos_rgb: Optional[np.ndarray] = None  # the frame at ``_pos`` converted, once it was
        self.seeks = 0  # how many times it sought (for tests and benchmarks)

    @property
    def n_frames(self) -> Optional[int]:
        """Frames in the clip, or None when its packets carry no timestamps."""
        return None if self._shown is None else len(self._shown)

    def _slots(self) -> Optional[np.ndarray]:
        """For each output frame (constant rate), the index of the decoded frame it shows."""
        fps, tb = _stream_fps(self._stream), self._stream.time_base
        if self._pts is None or fps <= 0 or tb is None:
            return None
        times = (float(t * tb) for t in self._pts)
        return np.asarray([j for _, j in constant_rate(zip(times, range(len(self._pts))), fps)], np.int64)

    def _timestamps(self) -> Optional[np.ndarray]:
        """(F,) int64 presentation timestamps of the frames in order, or None."""
        import av

        pts = []
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0:  # the demuxer's final empty packet
                    continue
                if packet.pts is None:
                    return None
                if getattr(packet, "is_discard", False):  # dropped by the decoder (edit lists)
                    continue
                pts.append(int(packet.pts))
        except (av.error.FFmpegError, EOFError):
            return None
        # the demuxer is left at the end: the first frame() seeks (or reopens) anyway
        return np.sort(np.asarray(pts, np.int64)) if pts else None

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as (H, W, 3) uint8 RGB, upright (a new array).

        Raises:
            IndexError: ``index`` is outside the clip.
        """
        index = int(index)
        if index < 0 or (self._shown is not None and index >= len(self._shown)):
            raise IndexError(f"frame {index} is outside {self.path.name}")
        # the decoded frame to show: by timestamp, or (no timestamps) the index-th decoded
        want = int(self._shown[index]) if self._shown is not None else index
        if self._pos_rgb is not None and want == self._pos:  # read last, or shown again
            return self._pos_rgb.copy()
        if self._frames is None or not (self._pos < want <= self._pos + self.FORWARD):
            self._start_before(want)
        while True:
            try:
                frame = next(self._frames)  # type: ignore[arg-type]
            except StopIteration:
                self._frames = None
                raise IndexError(f"frame {index} is outside {self.path.name}") from None
            pos = self._position(frame)
            self._pos_rgb = None
            if pos is None:  # timestamps and frames disagree: count from the start instead
                self._pts = self._shown = None
                want = index
                self._start_before(want)
                continue
            self._pos = pos
            if pos == want:
                self._pos_rgb = _upright(_to_rgb(frame), _frame_rotation(frame, self._tagged))
                return self._pos_rgb.copy()
            if pos > want:  # the seek landed past it (should not happen): from the start
                self._pts = self._shown = None
                want = index
                self._start_before(want)

    def _position(self, frame) -> Optional[int]:  # noqa: ANN001 - av.VideoFrame
        """The index of a decoded frame: by its timestamp, or by counting without them."""
        if self._pts is None:
            return self._pos + 1
        if frame.pts is None:
            return None
        i = int(np.searchsorted(self._pts, frame.pts))
        return i if i < len(self._pts) and self._pts[i] == frame.pts else None

    def _start_before(self, index: int) -> None:
        """Put the decoder at the keyframe at or before ``index`` (at the start when the
        clip has no usable timestamps)."""
        if self._pts is None:
            self._container.close()
            self._open_stream()
        else:
            self._container.seek(int(self._pts[index]), stream=self._stream, backward=True, any_frame=False)
            self.seeks += 1
        self._frames = iter(self._container.decode(self._stream))
        self._pos = -1
        self._pos_rgb = None

    def _open_stream(self) -> None:
        """Open the file and its video stream, decoding on FFmpeg's threads."""
        self._container = _open(self.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._frames = None
        self._container.close()

    def __enter__(self) -> "FrameReader":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
