"""Motion files <-> the timeline: import a motion file as a take, export evaluated
channels as a motion file (Live Link Face CSV or DeX Studio motion JSON)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from dexstudio.core.channels import ALL_CHANNEL_IDS, EXPR_CHANNEL_IDS
from dexstudio.core.document import Document
from dexstudio.core.evaluated import EvaluatedMotion
from dexstudio.core.motion import MotionTrack
from dexstudio.core.rotation import matrix_to_quaternion
from dexstudio.core.take import Take
from dexstudio.core.timebase import FrameRange, FrameRate
from dexstudio.io.motion_files import load_motion, save_motion

#: channels a Live Link Face CSV carries (head angles and the 52 blendshapes)
CSV_CHANNELS = ("pose.yaw", "pose.pitch", "pose.roll") + EXPR_CHANNEL_IDS


def take_from_motion_file(path: str | os.PathLike[str], name: Optional[str] = None, start: int = 0) -> Take:
    """Load ``.json`` (DeX Studio motion) or ``.csv`` (Live Link Face) as a take.

    A CSV take marks only its head angles and blendshapes as present; the other
    channels hold their defaults. Raises ``MotionFileError`` for unreadable files.
    """
    p = Path(path)
    track = load_motion(p)
    present = None
    if p.suffix.lower() == ".csv":
        present = np.array([c in CSV_CHANNELS for c in ALL_CHANNEL_IDS])
    return Take.from_motion(track, name or p.stem.split(".")[0], start=start, present=present)


def track_from_evaluated(motion: EvaluatedMotion, rate: FrameRate) -> MotionTrack:
    """Evaluated timeline motion as a :class:`MotionTrack` (every frame valid)."""
    return MotionTrack(rate=rate, quaternion=matrix_to_quaternion(motion.rotation), euler=motion.euler.copy(),
                       translation=motion.translation.copy(), scale=motion.scale.copy(),
                       blendshapes=motion.blendshapes.astype(np.float32),
                       detail=motion.detail.astype(np.float32), valid=np.ones(len(motion), dtype=bool))


def export_channels(doc: Document, path: str | os.PathLike[str], frames: Optional[FrameRange] = None) -> MotionTrack:
    """Evaluate ``frames`` (default the project range) and save them by suffix
    (``.csv`` Live Link Face, ``.json`` DeX Studio motion). Returns the track written."""
    window = frames or doc.state.settings.frame_range
    track = track_from_evaluated(doc.evaluate(window), doc.state.settings.rate)
    save_motion(path, track)
    return track


__all__ = ["take_from_motion_file", "track_from_evaluated", "export_channels", "CSV_CHANNELS"]
