"""One driving clip applied to one portrait, as a project: the ``dexstudio animate`` document.

``dexstudio animate`` and ``dexstudio render PROJECT`` (and the editor) evaluate the same
:class:`~dexstudio.core.document.Document`, so there is one channel rule (the timeline's,
see :mod:`dexstudio.core.channel_state`). This module says how the command-line options
of ``animate`` map onto a project:

* the driving clip's motion is the one take (project range = the clip's frames);
* RELATIVE retargeting (every channel) with the given reference frame, or ABSOLUTE
  everywhere (``absolute``);
* ``--freeze`` channels hold the portrait's own value (a VALUE freeze, every frame);
* ``--smooth S``: a Gaussian filter (sigma ``S`` frames, full strength) on every channel's
  performance layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from dexstudio.core.channel_state import (
    ChannelState, FilterKind, Freeze, FreezeMode, Retarget, RetargetMode, Smoothing,
)
from dexstudio.core.channels import ALL_CHANNEL_IDS
from dexstudio.core.document import Document
from dexstudio.core.motion import MotionTrack
from dexstudio.core.project import ProjectSettings, ProjectState, RenderSettings, SourceInfo
from dexstudio.core.take import PerformanceSource, Take


@dataclass(frozen=True)
class DrivingSetup:
    """How a driving take maps onto the portrait (the motion options of ``animate``).

    Attributes:
        freeze: channel ids held at the portrait's own value on every frame.
        reference_frame: driving frame mapped to the portrait's own pose/expression
            (RELATIVE; a frame outside the clip uses its nearest edge frame).
        absolute: use the driving values as they are (ABSOLUTE retargeting, no reference).
        smooth: Gaussian smoothing sigma in frames (0 = none), zero-phase.
    """

    freeze: frozenset[str] = frozenset()
    reference_frame: int = 0
    absolute: bool = False
    smooth: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "freeze", frozenset(self.freeze))
        object.__setattr__(self, "reference_frame", int(self.reference_frame))
        if not math.isfinite(self.smooth) or self.smooth < 0:
            raise ValueError(f"smoothing sigma must be a finite number >= 0, got {self.smooth}")
        unknown = sorted(self.freeze - set(ALL_CHANNEL_IDS))
        if unknown:
            raise ValueError(f"unknown channel ids to freeze: {unknown}")


#: a head that moves farther than this (face sizes) from its place gets a hint (``animate``
#: and the editor): the portrait's head moves as far over a body that stays, and its neck
#: is drawn out; freezing translation keeps it in place. Driving clips of ../shared/media:
#: liveportrait_d20 0.63 (a camera that tilts away), the others 0.03-0.16
TRAVEL_NOTE = 0.3


def head_travel(translation: np.ndarray, home: Sequence[float]) -> float:
    """The farthest ``translation`` ((F, 2) head positions, face sizes) lies from
    ``home`` ((2,), e.g. the source's own place or the reference frame's), face sizes;
    0 for no frames."""
    t = np.asarray(translation, np.float64).reshape(-1, 2)
    if len(t) == 0:
        return 0.0
    return float(np.linalg.norm(t - np.asarray(home, np.float64), axis=1).max())


def driving_channels(source: SourceInfo, setup: DrivingSetup) -> tuple[ChannelState, ...]:
    """The 74 channel states (``ALL_CHANNEL_IDS`` order) that ``setup`` describes."""
    mode = RetargetMode.ABSOLUTE if setup.absolute else RetargetMode.RELATIVE
    base = ChannelState(retarget=Retarget(mode=mode, reference_frame=setup.reference_frame))
    if setup.smooth > 0:
        base = replace(base, smoothing=Smoothing(FilterKind.GAUSSIAN, strength=1.0, sigma=setup.smooth))
    out = []
    for cid, own in zip(ALL_CHANNEL_IDS, source.own_values):
        out.append(replace(base, freeze=Freeze(FreezeMode.VALUE, value=own)) if cid in setup.freeze else base)
    return tuple(out)


def driving_state(take: Take, source: SourceInfo, setup: DrivingSetup = DrivingSetup(),
                  render: RenderSettings = RenderSettings()) -> ProjectState:
    """A project with ``take`` as its only (active) take, its rate and frame range."""
    return ProjectState(settings=ProjectSettings(take.rate, take.frame_range), source=source,
                        takes=(take,), performance=PerformanceSource(take.id),
                        channels=driving_channels(source, setup), render=render)


def driving_document(track: MotionTrack, source: SourceInfo, setup: DrivingSetup = DrivingSetup(),
                     render: RenderSettings = RenderSettings(), name: str = "drive") -> Document:
    """The document ``dexstudio animate`` evaluates: ``track`` (F frames) as take ``name``
    starting at frame 0, ``source`` (own values from the animator's ``prepare()``, see
    :meth:`SourceInfo.own_values_from`), channels per ``setup``. Evaluate frames
    ``doc.state.settings.frame_range`` (``0..F``)."""
    return Document(driving_state(Take.from_motion(track, name), source, setup, render))


__all__ = ["DrivingSetup", "driving_channels", "driving_state", "driving_document"]
