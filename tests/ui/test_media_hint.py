"""The status line after extraction hints at freezing translation when the driving head
travels far across the frame (a drawn-out neck otherwise)."""

from __future__ import annotations

import numpy as np

from dexstudio.core.motion import MotionTrack
from dexstudio.core.timebase import FrameRate
from dexstudio.ui.media_actions import extracted_message


def _track(ty: np.ndarray) -> MotionTrack:
    n = len(ty)
    return MotionTrack(rate=FrameRate(30), quaternion=np.tile([1.0, 0.0, 0.0, 0.0], (n, 1)),
                       euler=np.zeros((n, 3)), translation=np.stack([np.full(n, 0.1), ty], 1),
                       scale=np.ones(n), blendshapes=np.zeros((n, 52), np.float32),
                       detail=np.zeros((n, 16), np.float32), valid=np.ones(n, bool))


def test_a_head_that_stays_gets_the_plain_line() -> None:
    text, ms = extracted_message(_track(np.linspace(0.25, 0.1, 40)))
    assert text == "Motion extracted: 40 frames" and ms == 4000


def test_a_head_that_rises_gets_the_hint_and_a_longer_line() -> None:
    """liveportrait_d20's head rises 0.63 face sizes as its camera tilts."""
    text, ms = extracted_message(_track(np.linspace(0.25, -0.35, 40)))
    assert text.startswith("Motion extracted: 40 frames. Its head moves up to 0.60 face sizes")
    assert "freeze Translate X and Y" in text and ms > 4000
