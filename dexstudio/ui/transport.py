"""Playback transport: play / pause, step, go to start / end, J/K/L shuttle, the loop
range and the wall-clock playback timer (plus the driving clip's audio, when
QtMultimedia is available). Owned by the main window; lives in the GUI thread."""

from __future__ import annotations

import time
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QLabel

from dexstudio.ui.curve_editor import CurveEditor
from dexstudio.ui.session import EditorSession
from dexstudio.ui.theme import icon

SHUTTLE_SPEEDS = (1, 2, 4, 8)


class Transport(QObject):
    """Moves the session's playhead in time.

    Args:
        session: the edited session (playhead, frame range, frame rate, active take).
        curve_editor: shows the loop range.
        driving_path: the active take's driving clip path, or None (for its audio).
        parent: the owning window.

    Call :meth:`bind` with the loop action, the play button and the shuttle label
    before playing.
    """

    def __init__(self, session: EditorSession, curve_editor: CurveEditor,
                 driving_path: Callable[[], Optional[str]], parent: QObject) -> None:
        super().__init__(parent)
        self.session = session
        self.curve_editor = curve_editor
        self._driving_path = driving_path
        self.act_loop: Optional[QAction] = None
        self.play_button: Optional[QAbstractButton] = None
        self.shuttle_label: Optional[QLabel] = None
        self.loop: Optional[tuple[int, int]] = None  # [in, out) frames
        self.speed = 0  # signed shuttle speed, 0 when stopped
        self._play_t0 = 0.0
        self._play_f0 = 0
        self._play_timer = QTimer(self)
        self._play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._play_timer.timeout.connect(self._on_play_tick)
        self._audio = self._make_audio()

    def bind(self, act_loop: QAction, play_button: QAbstractButton, shuttle_label: QLabel) -> None:
        self.act_loop = act_loop
        self.play_button = play_button
        self.shuttle_label = shuttle_label

    def _make_audio(self):
        """Driving-clip audio via QtMultimedia when importable; None (quietly) otherwise."""
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer  # noqa: F401
        except ImportError:
            return None
        try:
            player = QMediaPlayer(self)
            out = QAudioOutput(self)
            player.setAudioOutput(out)
            player._out = out  # keep alive
            return player
        except Exception:  # noqa: BLE001 - audio is optional
            return None

    def _loop_on(self) -> bool:
        return self.act_loop is not None and self.act_loop.isChecked()

    def step(self, d: int) -> None:
        self.stop_playback()
        self.session.set_playhead(self.session.playhead + d)

    def go_start(self) -> None:
        self.stop_playback()
        self.session.set_playhead(self._play_range()[0])

    def go_end(self) -> None:
        self.stop_playback()
        self.session.set_playhead(self._play_range()[1] - 1)

    def _play_range(self) -> tuple[int, int]:
        rng = self.session.frame_range
        if self.loop is not None and self._loop_on():
            return self.loop
        return rng.start, max(rng.start + 1, rng.stop)

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def toggle_play(self) -> None:
        if self.playing:
            self.stop_playback()
        else:
            self.shuttle(1)

    def shuttle(self, direction: int) -> None:
        """J/K/L: K stops; J/L start playing backward/forward, pressed again go faster."""
        if direction == 0:
            self.stop_playback()
            return
        if self.playing and np.sign(self.speed) == direction:
            i = SHUTTLE_SPEEDS.index(abs(self.speed)) if abs(self.speed) in SHUTTLE_SPEEDS else 0
            speed = SHUTTLE_SPEEDS[min(i + 1, len(SHUTTLE_SPEEDS) - 1)]
        else:
            speed = 1
        self.speed = direction * speed
        self._play_t0 = time.perf_counter()
        self._play_f0 = self.session.playhead
        fps = self.session.state.settings.rate.fps
        self._play_timer.start(max(5, int(1000 / fps / 2)))
        if self.play_button is not None:
            self.play_button.setIcon(icon("pause"))
        if self.shuttle_label is not None:
            self.shuttle_label.setText("" if self.speed == 1 else f"{self.speed:+d}x")
        self._start_audio()

    def _start_audio(self) -> None:
        """Play the driving clip's audio from the playhead (forward 1x only; quietly
        nothing when QtMultimedia is unavailable)."""
        take, path = self.session.active_take(), self._driving_path()
        if self._audio is None or take is None or path is None or self.speed != 1:
            return
        try:
            from PySide6.QtCore import QUrl

            if self._audio.source() != QUrl.fromLocalFile(path):
                self._audio.setSource(QUrl.fromLocalFile(path))
            sec = self.session.state.settings.rate.frame_to_seconds(self.session.playhead - take.start)
            self._audio.setPosition(max(0, int(float(sec) * 1000)))
            self._audio.play()
        except Exception:  # noqa: BLE001 - audio is optional
            pass

    def stop_playback(self) -> None:
        if self._audio is not None:
            try:
                self._audio.pause()
            except Exception:  # noqa: BLE001
                pass
        if self._play_timer.isActive():
            self._play_timer.stop()
        self.speed = 0
        if self.play_button is not None:
            self.play_button.setIcon(icon("play"))
        if self.shuttle_label is not None:
            self.shuttle_label.setText("")

    def stop_audio(self) -> None:
        """Stop the audio player for good (window shutdown)."""
        if self._audio is not None:
            self._audio.stop()

    @Slot()
    def _on_play_tick(self) -> None:
        """Frame from the wall clock: when rendering lags, frames are dropped, never slowed."""
        fps = self.session.state.settings.rate.fps
        elapsed = time.perf_counter() - self._play_t0
        a, b = self._play_range()
        f = self._play_f0 + int(elapsed * fps * self.speed)
        if f >= b or f < a:
            if self._loop_on() or (self.loop is None and self.speed == 1):
                span = b - a
                f = a + (f - a) % span
                self._play_f0, self._play_t0 = f, time.perf_counter()
            else:
                self.session.set_playhead(min(max(f, a), b - 1))
                self.stop_playback()
                return
        if f != self.session.playhead:
            self.session.set_playhead(f)

    def toggle_loop(self) -> None:
        if self._loop_on() and self.loop is None:
            rng = self.session.frame_range
            self.loop = (rng.start, rng.stop)
        self.curve_editor.set_loop(self.loop if self._loop_on() else None)

    def set_loop_in(self) -> None:
        a, b = self.loop or (self.session.frame_range.start, self.session.frame_range.stop)
        self.loop = (self.session.playhead, max(b, self.session.playhead + 1))
        self._check_loop()

    def set_loop_out(self) -> None:
        a, b = self.loop or (self.session.frame_range.start, self.session.frame_range.stop)
        self.loop = (min(a, self.session.playhead), self.session.playhead + 1)
        self._check_loop()

    def _check_loop(self) -> None:
        if self.act_loop is not None:
            self.act_loop.setChecked(True)
        self.toggle_loop()


__all__ = ["SHUTTLE_SPEEDS", "Transport"]
