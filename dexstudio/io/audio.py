"""The driving clip's audio: probe it, decode a time range (streaming), mux it into an export.

Time convention: every time here is an exact :class:`fractions.Fraction` of seconds on
the *driving clip's video timeline*, i.e. 0 is the presentation time of the clip's first
video frame (:func:`first_video_time` is added internally), so audio for driving frames
``[a, b)`` at rate ``fps`` is the range ``[a / fps, b / fps)``.

Two ways to put the audio in an export (:class:`AudioMode`):

- ``COPY`` (what ``AUTO`` picks for AAC sources with codec extradata, i.e. MP4/MOV/M4A):
  the AAC packets are copied, no quality loss, ~1 ms per second of audio. The packet
  before the cut is kept as decoder pre-roll with a negative timestamp, so the MP4
  muxer writes an edit list and players start exactly at the cut (sample-accurate
  start); the end is the packet boundary nearest to the video's end (within half an
  AAC frame, 512 samples = 11.6 ms at 44.1 kHz).
- ``ENCODE``: decode, trim to the exact sample, pad with silence where the source has
  none, and encode AAC (~20 ms per second of stereo audio on one core). Exact start
  and end. Used for non-AAC sources (MP3, Opus, PCM, ADTS streams).

Both stream: they read only as far as the video written so far (:meth:`AudioMuxer.advance_to`),
so memory does not grow with the clip length.
"""

from __future__ import annotations

import enum
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional, Union

import av
import numpy as np

from dexstudio.core.errors import MediaError, UnreadableFileError

PathLike = Union[str, "os.PathLike[str]"]

#: Sample rates the AAC encoder accepts; other rates are resampled to 48 kHz.
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
#: Samples per AAC frame.
AAC_FRAME = 1024
_SEEK_PREROLL = Fraction(1, 2)  # seconds decoded before a cut so the decoder has settled


class AudioMode(enum.Enum):
    """How an export carries the driving clip's audio (see module doc)."""

    AUTO = "auto"
    COPY = "copy"
    ENCODE = "encode"


@dataclass(frozen=True)
class AudioInfo:
    """The first audio stream of a file.

    Attributes:
        codec: decoder name (``"aac"``, ``"mp3"``, ...).
        sample_rate: Hz.
        channels: channel count.
        start: first audio sample's time on the video timeline (seconds, usually 0).
        duration: seconds, or None when the container does not say.
        copyable: the packets can be copied into an MP4 as they are (AAC with extradata).
    """

    codec: str
    sample_rate: int
    channels: int
    start: Fraction
    duration: Optional[Fraction]
    copyable: bool


def _open(path: PathLike) -> av.container.InputContainer:
    p = Path(path)
    if not p.exists():
        raise UnreadableFileError(f"audio source {p} does not exist", "check the driving clip's path")
    if p.is_dir():
        raise UnreadableFileError(f"audio source {p} is a folder", "choose the driving video file")
    try:
        return av.open(str(p), "r")
    except PermissionError:
        raise UnreadableFileError(f"no permission to read {p}", "check the file's permissions") from None
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot read audio from {p}: {exc}",
                         "use a video DeX Studio can open (MP4, MOV, MKV), or export without audio") from None


def _video_start(container: av.container.InputContainer) -> Fraction:
    if not container.streams.video:
        return Fraction(0)
    v = container.streams.video[0]
    if v.start_time is None or v.time_base is None:
        return Fraction(0)
    return Fraction(v.start_time) * v.time_base


def first_video_time(path: PathLike) -> Fraction:
    """Presentation time (s) of the first video frame of ``path`` (0 when it has no video)."""
    with _open(path) as c:
        return _video_start(c)


def _info(container: av.container.InputContainer) -> Optional[AudioInfo]:
    if not container.streams.audio:
        return None
    s = container.streams.audio[0]
    cc = s.codec_context
    tb = s.time_base or Fraction(1, max(1, cc.sample_rate or 1))
    start = (Fraction(s.start_time) * tb if s.start_time is not None else Fraction(0)) - _video_start(container)
    duration = Fraction(s.duration) * tb if s.duration else None
    copyable = cc.name == "aac" and bool(cc.extradata)
    return AudioInfo(codec=cc.name, sample_rate=int(cc.sample_rate or 0), channels=int(cc.channels or 0),
                     start=start, duration=duration, copyable=copyable)


def probe_audio(path: PathLike) -> Optional[AudioInfo]:
    """The first audio stream of ``path``, or None when it has none (a silent clip).

    Raises:
        UnreadableFileError: missing path / folder / no permission.
        MediaError: the file cannot be opened as media at all.
    """
    with _open(path) as c:
        return _info(c)


def _output_rate(src_rate: int) -> int:
    return src_rate if src_rate in AAC_RATES else 48000


def _output_layout(channels: int) -> str:
    return "mono" if channels == 1 else "stereo"


class AudioReader:
    """Streaming decoder of the first audio stream from a start time, sample-exact.

    ``read(n)`` returns the next ``n`` samples as ``(channels, n) float32`` in [-1, 1]
    at ``sample_rate``; samples before the source's first or after its last sample are
    silence, so a reader can be read for any length. Holds at most a few decoded
    frames in memory. Use as a context manager (or call :meth:`close`).

    Args:
        path: media file with an audio stream.
        start: seconds on the video timeline (see module doc); may be negative.
        sample_rate: output rate, default the source's (48 kHz if AAC cannot take it).
        channels: 1 or 2, default the source's (more than 2 are downmixed to stereo).
    """

    def __init__(self, path: PathLike, start: Fraction | int = 0, sample_rate: Optional[int] = None,
                 channels: Optional[int] = None) -> None:
        self._container = _open(path)
        info = _info(self._container)
        if info is None:
            self._container.close()
            raise MediaError(f"{path} has no audio stream", "export without audio")
        self.info = info
        self.sample_rate = sample_rate or _output_rate(info.sample_rate)
        self.channels = 1 if (channels or info.channels) == 1 else 2
        self._same_rate = self.sample_rate == info.sample_rate
        self._stream = self._container.streams.audio[0]
        self._offset = _video_start(self._container)  # video timeline -> file timeline
        start = Fraction(start)
        self._cursor = round(start * self.sample_rate)  # absolute sample index of the next output
        self._resampler = av.AudioResampler(format="fltp", layout=_output_layout(self.channels),
                                            rate=self.sample_rate)
        seek_to = start + self._offset - _SEEK_PREROLL
        if seek_to > 1:
            try:
                self._container.seek(int(seek_to / self._stream.time_base), stream=self._stream, backward=True)
            except av.error.FFmpegError:  # unseekable: decode from the beginning
                pass
        self._frames = self._decoded()
        self._pending: list[np.ndarray] = []  # samples from self._cursor on
        self._pending_len = 0
        self._next_pos: Optional[int] = None  # where contiguous decoded samples continue
        self._eof = False
        # decoders emit whole AAC frames; samples past the stream's stated end are padding
        self._end: Optional[int] = (round((info.start + info.duration) * self.sample_rate)
                                    if info.duration else None)

    # -- decoding -------------------------------------------------------------------
    def _decoded(self) -> Iterator[tuple[Optional[int], np.ndarray]]:
        """Yield (absolute sample position or None = contiguous, (C, n) float32)."""
        try:
            for packet in self._container.demux(self._stream):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue  # a damaged packet: its span becomes silence
                for frame in frames:
                    pos = None
                    if frame.pts is not None and frame.time_base is not None:
                        t = Fraction(frame.pts) * frame.time_base - self._offset
                        pos = round(t * self.sample_rate)
                    for out in self._resampler.resample(frame):
                        yield pos if self._same_rate else (pos if self._next_pos is None else None), \
                            out.to_ndarray()
                        pos = None
            for out in self._resampler.resample(None):
                yield None, out.to_ndarray()
        except av.error.FFmpegError:
            return  # a broken tail: the rest is silence

    def _pull(self) -> bool:
        """Decode one more chunk into the pending buffer; False at the end of the stream."""
        if self._eof:
            return False
        try:
            pos, data = next(self._frames)
        except StopIteration:
            self._eof = True
            return False
        data = np.asarray(data, dtype=np.float32).reshape(self.channels, -1)
        if pos is None:
            pos = self._next_pos if self._next_pos is not None else self._cursor + self._pending_len
        self._next_pos = pos + data.shape[1]
        write_at = self._cursor + self._pending_len  # first sample not yet buffered
        if pos > write_at:  # a gap (late start, dropped packet): silence
            gap = np.zeros((self.channels, pos - write_at), np.float32)
            self._pending.append(gap)
            self._pending_len += gap.shape[1]
        elif pos < write_at:  # before the cut or overlapping: drop what is already covered
            data = data[:, write_at - pos:]
        if self._end is not None:
            data = data[:, : max(0, self._end - max(pos, write_at))]
        if data.shape[1]:
            self._pending.append(data)
            self._pending_len += data.shape[1]
        return True

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples, ``(channels, n) float32`` (silence past the end)."""
        while self._pending_len < n and self._pull():
            pass
        buf = np.concatenate(self._pending, axis=1) if self._pending else np.zeros((self.channels, 0), np.float32)
        if buf.shape[1] < n:
            buf = np.concatenate([buf, np.zeros((self.channels, n - buf.shape[1]), np.float32)], axis=1)
        out, rest = buf[:, :n], buf[:, n:]
        self._pending = [rest] if rest.shape[1] else []
        self._pending_len = rest.shape[1]
        self._cursor += n
        return np.ascontiguousarray(out)

    def close(self) -> None:
        self._frames.close()
        self._container.close()

    def __enter__(self) -> "AudioReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_audio(path: PathLike, start: Fraction | int, duration: Fraction | int,
               sample_rate: Optional[int] = None) -> np.ndarray:
    """Decode ``[start, start + duration)`` seconds: ``(channels, round(duration * rate)) float32``."""
    with AudioReader(path, start, sample_rate) as r:
        return r.read(round(Fraction(duration) * r.sample_rate))


# ---------------------------------------------------------------------------------------
# muxing into an output container


class AudioMuxer(ABC):
    """Feeds the driving clip's audio into an output container alongside the video.

    Output time 0 is ``source_start`` on the driving clip's video timeline. Call
    :meth:`advance_to` after each video frame (keeps the file interleaved and memory
    flat) and :meth:`finish` once with the video's end time.
    """

    #: True once any audio was muxed (an MP4 muxer drops an audio track with no packets).
    wrote_audio: bool = False

    @abstractmethod
    def advance_to(self, t: Fraction) -> None:
        """Mux audio that ends at or before output time ``t`` (seconds)."""

    @abstractmethod
    def finish(self, end: Fraction) -> None:
        """Mux the rest up to output time ``end`` and flush; closes the source."""

    @abstractmethod
    def close(self) -> None:
        """Release the source without muxing more (used on abort)."""


class _CopyMuxer(AudioMuxer):
    def __init__(self, output: av.container.OutputContainer, path: PathLike, source_start: Fraction) -> None:
        self._in = _open(path)
        self._src = self._in.streams.audio[0]
        self._tb = self._src.time_base
        self._out = output.add_stream_from_template(self._src)
        self._output = output
        offset = _video_start(self._in)
        # output time = packet time - shift (both in the file's own timeline)
        self._shift = Fraction(source_start) + offset
        seek_to = self._shift - _SEEK_PREROLL
        if seek_to > 1:
            try:
                self._in.seek(int(seek_to / self._tb), stream=self._src, backward=True)
            except av.error.FFmpegError:
                pass
        self._packets = self._in.demux(self._src)
        self._held: Optional[av.Packet] = None  # read but not yet muxed
        self._preroll: Optional[av.Packet] = None
        self._started = False
        self._default_dur = AAC_FRAME

    def _next(self) -> Optional[av.Packet]:
        if self._held is not None:
            p, self._held = self._held, None
            return p
        for p in self._packets:
            if p.pts is None or p.size == 0:
                continue
            return p
        return None

    def _span(self, p: av.Packet) -> tuple[Fraction, Fraction]:
        dur = p.duration or self._default_dur
        start = Fraction(p.pts) * self._tb - self._shift
        return start, start + Fraction(dur) * self._tb

    def _mux(self, p: av.Packet) -> None:
        shift = round(self._shift / self._tb)
        p.pts -= shift
        if p.dts is not None:
            p.dts -= shift
        p.time_base = self._tb
        p.stream = self._out
        self._output.mux(p)
        self.wrote_audio = True

    def _pump(self, t: Fraction, final: bool) -> None:
        while True:
            p = self._next()
            if p is None:
                return
            start, end = self._span(p)
            if not self._started:
                if end <= 0:  # before the cut: keep the latest one as decoder pre-roll
                    self._preroll = p
                    continue
                self._started = True
                if self._preroll is not None:  # AAC needs the previous frame to decode the first
                    self._mux(self._preroll)
                    self._preroll = None
            keep = (t - start) * 2 > (end - start) if final else end <= t
            if not keep:
                self._held = p
                return
            self._mux(p)

    def advance_to(self, t: Fraction) -> None:
        self._pump(Fraction(t), final=False)

    def finish(self, end: Fraction) -> None:
        self._pump(Fraction(end), final=True)
        self.close()

    def close(self) -> None:
        self._held = None
        self._preroll = None
        self._packets.close()
        self._in.close()


class _EncodeMuxer(AudioMuxer):
    def __init__(self, output: av.container.OutputContainer, path: PathLike, source_start: Fraction) -> None:
        self._reader = AudioReader(path, source_start)
        rate = self._reader.sample_rate
        self._layout = _output_layout(self._reader.channels)
        self._stream = output.add_stream("aac", rate=rate, layout=self._layout)
        self._stream.bit_rate = 96_000 if self._reader.channels == 1 else 192_000
        self._rate = rate
        self._written = 0
        self._container = output

    def _encode(self, n: int) -> None:
        data = self._reader.read(n)
        frame = av.AudioFrame.from_ndarray(data, format="fltp", layout=self._layout)
        frame.sample_rate = self._rate
        frame.pts = self._written
        frame.time_base = Fraction(1, self._rate)
        self._written += n
        self.wrote_audio = True
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def advance_to(self, t: Fraction) -> None:
        target = int(Fraction(t) * self._rate)
        while self._written + AAC_FRAME <= target:
            self._encode(AAC_FRAME)

    def finish(self, end: Fraction) -> None:
        target = round(Fraction(end) * self._rate)
        while self._written < target:
            self._encode(min(AAC_FRAME, target - self._written))
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self.close()

    def close(self) -> None:
        self._reader.close()


def open_audio_muxer(output: av.container.OutputContainer, source: PathLike, source_start: Fraction | int,
                     mode: AudioMode = AudioMode.AUTO,
                     duration: Optional[Fraction] = None) -> Optional[AudioMuxer]:
    """Add an audio stream for ``source``'s audio from ``source_start`` (s) to ``output``.

    Must be called before anything is muxed into ``output``. Returns None when the
    source has no audio (the export is silent, not an error). ``AUTO`` copies AAC
    packets when the exported span ``[source_start, source_start + duration)`` lies
    inside the source's audio, and re-encodes otherwise (the uncovered part becomes
    silence, so audio and video still have the same length).

    Raises:
        UnreadableFileError / MediaError: the source cannot be opened.
        MediaError: ``COPY`` was asked for a source whose audio cannot be copied.
    """
    info = probe_audio(source)
    if info is None:
        return None
    start = Fraction(source_start)
    if mode is AudioMode.AUTO:
        inside = start >= info.start and (
            info.duration is None or start + (duration or 0) <= info.start + info.duration + Fraction(AAC_FRAME, 2 * info.sample_rate))
        copy = info.copyable and inside
    else:
        copy = mode is AudioMode.COPY
    if copy and not info.copyable:
        raise MediaError(f"the audio of {source} is {info.codec}, which cannot be copied into an MP4",
                         "use audio mode 'encode' (or 'auto')")
    return _CopyMuxer(output, source, start) if copy else _EncodeMuxer(output, source, start)
