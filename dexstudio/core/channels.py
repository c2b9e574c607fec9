"""The motion channels DeX Studio edits, with their specs.

Channel ids are stable strings used in project files and on the command line:

* ``pose.yaw``, ``pose.pitch``, ``pose.roll`` -- degrees. Yaw positive = the subject
  turns to their left (toward image right); pitch positive = chin up; roll positive =
  the head tilts clockwise in the image.
* ``pose.tx``, ``pose.ty`` -- head translation in fractions of the face size
  (image x right, image y down).
* ``pose.scale`` -- face size relative to the reference (1.0 = unchanged).
* ``expr.<arkitName>`` -- the 52 ARKit blendshape weights in 0..1, lowerCamelCase,
  in Live Link Face order (:data:`ARKIT_NAMES`).
* ``detail.00`` .. ``detail.15`` -- the expression detail latent: coefficients of the
  take's residual basis (what the blendshapes do not explain), unitless.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ChannelGroup(enum.Enum):
    """Groups shown in the channel tree, in display order."""

    POSE = "Pose"
    EYES = "Eyes"
    BROWS = "Brows"
    JAW = "Jaw"
    MOUTH = "Mouth"
    CHEEKS_NOSE = "Cheeks/Nose"
    GAZE = "Gaze"
    DETAIL = "Detail"

    @property
    def is_expression(self) -> bool:
        """True for every group but Pose (what ``--freeze expression`` holds)."""
        return self is not ChannelGroup.POSE


class ChannelUnit(enum.Enum):
    DEGREES = "deg"
    FACE_FRACTION = "face"
    RATIO = "x"
    WEIGHT = "weight"
    LATENT = "latent"


@dataclass(frozen=True)
class ChannelSpec:
    """Static description of one channel.

    Attributes:
        id: stable id, e.g. ``"expr.jawOpen"``.
        group: the tree group.
        unit: unit of the values.
        display_name: human name for the UI, e.g. "Jaw Open".
        soft_min, soft_max: range a slider shows; values may exceed it.
        default: the neutral value (what a channel with no data evaluates to).
        hard_min, hard_max: values are clamped into this range on evaluation
            (``None`` = unbounded).
    """

    id: str
    group: ChannelGroup
    unit: ChannelUnit
    display_name: str
    soft_min: float
    soft_max: float
    default: float
    hard_min: float | None = None
    hard_max: float | None = None


#: ARKit / Live Link Face blendshape names (UpperCamelCase), in Live Link Face CSV order.
ARKIT_NAMES_UPPER: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft",
    "EyeSquintLeft", "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight",
    "EyeLookOutRight", "EyeLookUpRight", "EyeSquintRight", "EyeWideRight", "JawForward",
    "JawRight", "JawLeft", "JawOpen", "MouthClose", "MouthFunnel", "MouthPucker",
    "MouthRight", "MouthLeft", "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft",
    "MouthFrownRight", "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft",
    "MouthStretchRight", "MouthRollLower", "MouthRollUpper", "MouthShrugLower",
    "MouthShrugUpper", "MouthPressLeft", "MouthPressRight", "MouthLowerDownLeft",
    "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight", "BrowDownLeft",
    "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight", "CheekPuff",
    "CheekSquintLeft", "CheekSquintRight", "NoseSneerLeft", "NoseSneerRight", "TongueOut",
)

#: The same names in lowerCamelCase (MediaPipe's spelling, used in channel ids).
ARKIT_NAMES: tuple[str, ...] = tuple(n[0].lower() + n[1:] for n in ARKIT_NAMES_UPPER)

N_BLENDSHAPES = len(ARKIT_NAMES)  # 52
N_DETAIL = 16

POSE_CHANNEL_IDS: tuple[str, ...] = (
    "pose.yaw", "pose.pitch", "pose.roll", "pose.tx", "pose.ty", "pose.scale",
)
EXPR_CHANNEL_IDS: tuple[str, ...] = tuple(f"expr.{n}" for n in ARKIT_NAMES)
DETAIL_CHANNEL_IDS: tuple[str, ...] = tuple(f"detail.{i:02d}" for i in range(N_DETAIL))
ALL_CHANNEL_IDS: tuple[str, ...] = POSE_CHANNEL_IDS + EXPR_CHANNEL_IDS + DETAIL_CHANNEL_IDS


def _expr_group(name: str) -> ChannelGroup:
    if name.startswith("eyeLook"):
        return ChannelGroup.GAZE
    if name.startswith("eye"):
        return ChannelGroup.EYES
    if name.startswith("brow"):
        return ChannelGroup.BROWS
    if name.startswith("jaw"):
        return ChannelGroup.JAW
    if name.startswith(("cheek", "nose")):
        return ChannelGroup.CHEEKS_NOSE
    return ChannelGroup.MOUTH  # mouth*, tongueOut


def _display(upper: str) -> str:
    out = []
    for ch in upper:
        if ch.isupper() and out:
            out.append(" ")
        out.append(ch)
    return "".join(out)


def _build_specs() -> dict[str, ChannelSpec]:
    specs: list[ChannelSpec] = [
        ChannelSpec("pose.yaw", ChannelGroup.POSE, ChannelUnit.DEGREES, "Yaw", -45.0, 45.0, 0.0),
        ChannelSpec("pose.pitch", ChannelGroup.POSE, ChannelUnit.DEGREES, "Pitch", -30.0, 30.0, 0.0),
        ChannelSpec("pose.roll", ChannelGroup.POSE, ChannelUnit.DEGREES, "Roll", -30.0, 30.0, 0.0),
        ChannelSpec("pose.tx", ChannelGroup.POSE, ChannelUnit.FACE_FRACTION, "Translate X", -0.5, 0.5, 0.0),
        ChannelSpec("pose.ty", ChannelGroup.POSE, ChannelUnit.FACE_FRACTION, "Translate Y", -0.5, 0.5, 0.0),
        ChannelSpec("pose.scale", ChannelGroup.POSE, ChannelUnit.RATIO, "Scale", 0.7, 1.4, 1.0, 0.05, None),
    ]
    for upper, lower in zip(ARKIT_NAMES_UPPER, ARKIT_NAMES):
        specs.append(ChannelSpec(f"expr.{lower}", _expr_group(lower), ChannelUnit.WEIGHT,
                                 _display(upper), 0.0, 1.0, 0.0, 0.0, 1.0))
    for i, cid in enumerate(DETAIL_CHANNEL_IDS):
        specs.append(ChannelSpec(cid, ChannelGroup.DETAIL, ChannelUnit.LATENT, f"Detail {i:02d}",
                                 -3.0, 3.0, 0.0))
    return {s.id: s for s in specs}


CHANNEL_SPECS: dict[str, ChannelSpec] = _build_specs()


def spec(channel_id: str) -> ChannelSpec:
    """The spec of ``channel_id``; raises ``KeyError`` naming the id if unknown."""
    try:
        return CHANNEL_SPECS[channel_id]
    except KeyError:
        raise KeyError(f"unknown channel id {channel_id!r}") from None


def channels_in_group(group: ChannelGroup) -> tuple[str, ...]:
    """Channel ids of ``group`` in canonical order."""
    return tuple(cid for cid in ALL_CHANNEL_IDS if CHANNEL_SPECS[cid].group is group)


def resolve_channel_selector(selector: str) -> tuple[str, ...]:
    """Expand a user selector into channel ids.

    Accepts a channel id (``expr.jawOpen``), a group name case-insensitively
    (``pose``, ``eyes``, ``cheeks/nose``), ``rotation`` (yaw, pitch, roll),
    ``translation`` (the head's place in the frame: tx, ty), ``expression`` (every
    non-pose channel) or ``all``. Raises ``ValueError`` with the accepted names when
    nothing matches.
    """
    key = selector.strip()
    if key in CHANNEL_SPECS:
        return (key,)
    low = key.lower()
    if low == "all":
        return ALL_CHANNEL_IDS
    if low in ("expression", "expr"):
        return tuple(c for c in ALL_CHANNEL_IDS if CHANNEL_SPECS[c].group.is_expression)
    if low == "rotation":
        return POSE_CHANNEL_IDS[:3]
    if low == "translation":
        return POSE_CHANNEL_IDS[3:5]
    for g in ChannelGroup:
        if g.value.lower() == low or g.name.lower() == low:
            return channels_in_group(g)
    names = ", ".join(g.value.lower() for g in ChannelGroup)
    raise ValueError(f"unknown channel or group {selector!r}; use a channel id such as "
                     f"'expr.jawOpen', a group ({names}), 'rotation', 'translation', "
                     "'expression' or 'all'")
