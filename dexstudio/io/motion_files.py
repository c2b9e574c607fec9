"""MotionTrack files: JSON (exact), NPZ (the extraction cache) and Live Link Face CSV.

The NPZ cache keeps the overlay landmarks in a memory-mapped ``.npy`` sidecar
(:mod:`dexstudio.io.landmark_file`), not in the ``.npz``.

JSON: ``{"schema": "dexstudio.motion", "version": 1, ...}``; every numpy array is stored
as ``{"dtype", "shape", "base64"}`` of its little-endian bytes, so a save/load round
trip is bit-exact.

Live Link Face CSV (what Unreal/MetaHuman, Blender and Maya importers read): header
``Timecode,BlendShapeCount,`` + the 52 ARKit names (UpperCamelCase,
``channels.ARKIT_NAMES_UPPER`` order) + ``HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,
LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll``; one row per frame;
timecode ``HH:MM:SS:FF.mmm`` (frame at the nominal integer rate, then the sub-frame in
thousandths). Choices, documented because public importers disagree:

* Head angles are written as **normalised values in -1..1, 1.0 = 90 degrees**. The
  maintainer of the Blender importer nmfisher/blender_livelinkface states the app's head
  rotation range is (-1, 1) (github.com/nmfisher/blender_livelinkface/issues/3) and the
  public Filament/polyvox bone driver maps a head curve ``v`` to ``v * pi/2`` radians.
  :data:`LLF_ANGLE_UNIT_DEG` is that 90; change it in one place if a target tool differs.
* Signs follow DeX Studio (yaw + = subject turns to their left, pitch + = chin up,
  roll + = clockwise in the image); some tools invert yaw/pitch -- negate on import
  there if needed.
* Eye rotation columns are written as 0 (DeX Studio keeps gaze in the eyeLook*
  blendshapes) and ignored on import.
* Import reads columns **by name** (any order; missing blendshapes are 0) and returns
  a track with no expression model, zero detail, zero translation, scale 1.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any, Optional

import numpy as np

from dexstudio.core.channels import ARKIT_NAMES_UPPER, N_BLENDSHAPES, N_DETAIL
from dexstudio.core.errors import ProjectFileError, UnreadableFileError
from dexstudio.core.motion import ExpressionModel, MotionSource, MotionTrack
from dexstudio.core.rotation import euler_to_matrix, matrix_to_quaternion
from dexstudio.core.timebase import FrameRate
from dexstudio.io.atomic import atomic_path, atomic_write_text
from dexstudio.io.landmark_file import is_file_of, open_landmarks, sidecar_path, write_landmarks

SCHEMA = "dexstudio.motion"
VERSION = 1
LLF_ANGLE_UNIT_DEG = 90.0
LLF_HEAD_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll")
LLF_EYE_COLUMNS = ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                   "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
LLF_HEADER = ("Timecode", "BlendShapeCount") + ARKIT_NAMES_UPPER + LLF_HEAD_COLUMNS + LLF_EYE_COLUMNS

_TRACK_ARRAYS = ("quaternion", "euler", "translation", "scale", "blendshapes", "detail", "valid",
                 "landmarks_2d", "face_size_px")
_MODEL_ARRAYS = ("mean_shape", "blend_basis", "detail_basis")


class MotionFileError(ProjectFileError):
    """A motion file (JSON / CSV) is corrupt, of another type or of a newer version."""


# ---------------------------------------------------------------------------- arrays
def _enc(a: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(a)
    le = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return {"dtype": le.dtype.str, "shape": list(a.shape),
            "base64": base64.b64encode(le.tobytes()).decode("ascii")}


def _dec(d: dict[str, Any]) -> np.ndarray:
    raw = base64.b64decode(d["base64"], validate=True)
    return np.frombuffer(raw, dtype=np.dtype(d["dtype"])).reshape(d["shape"]).copy()


def track_to_dict(track: MotionTrack) -> dict[str, Any]:
    """A JSON-ready dict of ``track`` (schema ``dexstudio.motion`` v1).

    Every array is included, the (F, 478, 2) overlay landmarks too (read from their
    memmap when the track has them on disk): JSON is the exact, self-contained exchange
    format, meant for clips of minutes, not a cache (that is :func:`save_track_npz`).
    """
    arrays = {k: _enc(getattr(track, k)) for k in _TRACK_ARRAYS if getattr(track, k) is not None}
    return {**_track_meta(track), "arrays": arrays}


def _track_meta(track: MotionTrack) -> dict[str, Any]:
    """Everything of :func:`track_to_dict` but the per-frame arrays (model arrays included)."""
    model = None
    if track.expression_model is not None:
        m = track.expression_model
        model = {k: _enc(getattr(m, k)) for k in _MODEL_ARRAYS}
        model["face_size"] = m.face_size
    source = None
    if track.source is not None:
        s = track.source
        source = {"path": s.path, "content_hash": s.content_hash, "tracker_id": s.tracker_id,
                  "tracker_settings": s.tracker_settings, "width": s.width, "height": s.height}
    return {"schema": SCHEMA, "version": VERSION, "rate": [track.rate.num, track.rate.den],
            "n_frames": track.n_frames, "expression_model": model, "source": source}


def _upgrade(d: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(d, dict) or d.get("schema") != SCHEMA:
        raise MotionFileError(f"{where} is not a DeX Studio motion file (schema "
                              f"{d.get('schema') if isinstance(d, dict) else None!r})",
                              "give a file written by `dexstudio extract -o motion.json`")
    v = d.get("version")
    if not isinstance(v, int) or v < 1:
        raise MotionFileError(f"{where} has an invalid version {v!r}", "re-export the motion")
    if v > VERSION:
        raise MotionFileError(f"{where} is motion format version {v}; this DeX Studio reads up to {VERSION}",
                              "update DeX Studio to open it")
    return d  # version 1 is current: no upgrade steps yet


def track_from_dict(d: dict[str, Any], where: str = "the motion data") -> MotionTrack:
    """Inverse of :func:`track_to_dict` (raises :class:`MotionFileError`)."""
    d = _upgrade(d, where)
    try:
        arrays = {k: _dec(v) for k, v in d["arrays"].items()}
        model = None
        if d.get("expression_model"):
            md = d["expression_model"]
            model = ExpressionModel(**{k: _dec(md[k]) for k in _MODEL_ARRAYS},
                                    face_size=float(md["face_size"]))
        source = MotionSource(**d["source"]) if d.get("source") else None
        track = MotionTrack(rate=FrameRate(*d["rate"]),
                            **{k: arrays.get(k) for k in _TRACK_ARRAYS},
                            expression_model=model, source=source)
    except (KeyError, TypeError, ValueError) as exc:
        raise MotionFileError(f"{where} is damaged ({type(exc).__name__}: {exc})",
                              "re-export the motion or extract it again") from None
    n = track.n_frames
    for k in _TRACK_ARRAYS:
        a = getattr(track, k)
        if a is not None and a.shape[0] != n:
            raise MotionFileError(f"{where} is damaged: {k} has {a.shape[0]} frames, expected {n}",
                                  "re-export the motion or extract it again")
    return track


def save_motion_json(path: str | os.PathLike[str], track: MotionTrack) -> None:
    """Write ``track`` as JSON atomically."""
    atomic_write_text(path, json.dumps(track_to_dict(track), separators=(",", ":")))


def _read_text(path: Path) -> str:
    if not path.exists():
        raise UnreadableFileError(f"the file {path} does not exist", "check the path")
    if path.is_dir():
        raise UnreadableFileError(f"{path} is a folder, not a file", "give the path of a file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except PermissionError:
        raise UnreadableFileError(f"cannot read {path}: permission denied", "check its permissions") from None
    except UnicodeDecodeError:
        raise MotionFileError(f"{path} is not a text file", "give a .json or .csv motion file") from None


def load_motion_json(path: str | os.PathLike[str]) -> MotionTrack:
    """Read a JSON motion file."""
    p = Path(path)
    try:
        d = json.loads(_read_text(p))
    except json.JSONDecodeError as exc:
        raise MotionFileError(f"{p} is not valid JSON (line {exc.lineno}): truncated or not a motion file",
                              "give a file written by `dexstudio extract -o motion.json`") from None
    return track_from_dict(d, str(p))


# ---------------------------------------------------------------------------- npz cache
def save_track_npz(path: str | os.PathLike[str], track: MotionTrack,
                   extra: Optional[dict[str, Any]] = None) -> None:
    """Binary save (the extraction cache): arrays as npz members + JSON metadata.

    The overlay landmarks (``track.landmarks_2d``, if any) go to the sidecar
    ``landmark_file.sidecar_path(path)`` (``<name>.lm2d.npy``), written first and
    atomically -- or kept as is when ``track.landmarks_2d`` already maps that file (the
    extraction streams them there) -- then the ``.npz`` atomically; its metadata records
    the sidecar's shape, so :func:`load_track_npz` can tell a stale or damaged one.
    """
    meta = _track_meta(track)
    arrays = {f"t_{k}": getattr(track, k) for k in _TRACK_ARRAYS
              if k != "landmarks_2d" and getattr(track, k) is not None}
    if track.expression_model is not None:
        arrays.update({f"m_{k}": getattr(track.expression_model, k) for k in _MODEL_ARRAYS})
    if meta["expression_model"]:
        meta["expression_model"] = {"face_size": track.expression_model.face_size}
    lm = track.landmarks_2d
    meta["landmarks_2d"] = None
    if lm is not None:
        side = sidecar_path(path)
        if not is_file_of(lm, side):
            write_landmarks(side, lm)
        meta["landmarks_2d"] = {"file": side.name, "shape": list(lm.shape)}
    meta["extra"] = extra or {}
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)


def load_track_npz(path: str | os.PathLike[str]) -> tuple[MotionTrack, dict[str, Any]]:
    """Inverse of :func:`save_track_npz` -> (track, extra).

    ``track.landmarks_2d`` is the sidecar mapped read-only (``np.load(mmap_mode="r")``),
    or None when the sidecar is missing, damaged or of another shape (the track is
    complete without it; only the overlays are lost).
    """
    with np.load(path) as z:
        meta = json.loads(bytes(z["meta"]).decode())
        arrays = {k[2:]: z[k] for k in z.files if k.startswith("t_")}  # (t_landmarks_2d: older entries)
        model = None
        if meta.get("expression_model"):
            model = ExpressionModel(**{k: z[f"m_{k}"] for k in _MODEL_ARRAYS},
                                    face_size=float(meta["expression_model"]["face_size"]))
    _upgrade(meta, str(path))
    lm_meta = meta.get("landmarks_2d")
    if isinstance(lm_meta, dict):
        arrays["landmarks_2d"] = open_landmarks(sidecar_path(path), tuple(lm_meta.get("shape", ())))
    track = MotionTrack(rate=FrameRate(*meta["rate"]), **{k: arrays.get(k) for k in _TRACK_ARRAYS},
                        expression_model=model,
                        source=MotionSource(**meta["source"]) if meta.get("source") else None)
    extra = meta.get("extra", {})
    if "lost_ranges" in extra:
        extra["lost_ranges"] = tuple(tuple(r) for r in extra["lost_ranges"])
    return track, extra


# ---------------------------------------------------------------------------- CSV
def llf_timecode(frame: int, rate: FrameRate) -> str:
    """``HH:MM:SS:FF.mmm`` of ``frame`` (sub-frame .000)."""
    return f"{rate.timecode(frame)}.000"


def save_llf_csv(path: str | os.PathLike[str], track: MotionTrack) -> None:
    """Write the Live Link Face CSV layout (see the module docstring) atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(LLF_HEADER)
    head = track.euler / LLF_ANGLE_UNIT_DEG
    zeros = ["0"] * len(LLF_EYE_COLUMNS)
    for f in range(track.n_frames):
        w.writerow([llf_timecode(f, track.rate), N_BLENDSHAPES]
                   + [repr(float(v)) for v in track.blendshapes[f]]
                   + [repr(float(v)) for v in head[f]] + zeros)
    atomic_write_text(path, buf.getvalue())


_TC = re.compile(r"^(\d+):(\d{2}):(\d{2}):(\d+)(?:\.(\d+))?$")


def load_llf_csv(path: str | os.PathLike[str], rate: Optional[FrameRate] = None) -> MotionTrack:
    """Read a Live Link Face CSV (columns by name).

    Args:
        rate: the frame rate; None = inferred from the timecodes' frame field
            (largest FF + 1, snapped to 24/25/30/50/60), else 30.
    Raises:
        MotionFileError: not a LLF CSV (header), bad numbers or timecodes, no rows.
    """
    p = Path(path)
    text = _read_text(p)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or len(rows[0]) < 3 or rows[0][0].strip() != "Timecode":
        raise MotionFileError(f"{p} is not a Live Link Face CSV (the header must start with "
                              "'Timecode,BlendShapeCount,')",
                              "export it from the Live Link Face app or `dexstudio extract -o motion.csv`")
    header = [h.strip() for h in rows[0]]
    col = {name: i for i, name in enumerate(header)}
    body = [r for r in rows[1:] if r and any(c.strip() for c in r)]
    if not body:
        raise MotionFileError(f"{p} has a header but no frames", "export a take with at least one frame")
    F = len(body)
    blend = np.zeros((F, N_BLENDSHAPES), np.float32)
    head = np.zeros((F, 3))
    ffs = []
    try:
        for f, r in enumerate(body):
            m = _TC.match(r[0].strip())
            if m is None:
                raise ValueError(f"bad timecode {r[0]!r}")
            ffs.append(int(m.group(4)))
            for b, name in enumerate(ARKIT_NAMES_UPPER):
                if name in col:
                    blend[f, b] = float(r[col[name]])
            for k, name in enumerate(LLF_HEAD_COLUMNS):
                if name in col:
                    head[f, k] = float(r[col[name]]) * LLF_ANGLE_UNIT_DEG
    except (ValueError, IndexError) as exc:
        raise MotionFileError(f"{p} row {f + 2} is damaged ({exc})",
                              "fix or re-export the CSV") from None
    if rate is None:
        nominal = max(ffs) + 1 if F > max(ffs) + 1 else 30
        snapped = min((24, 25, 30, 50, 60), key=lambda r: abs(r - nominal))
        rate = FrameRate(snapped)
    R = euler_to_matrix(head[:, 0], head[:, 1], head[:, 2])
    return MotionTrack(
        rate=rate, quaternion=matrix_to_quaternion(R), euler=head, translation=np.zeros((F, 2)),
        scale=np.ones(F), blendshapes=np.clip(blend, 0, 1), detail=np.zeros((F, N_DETAIL), np.float32),
        valid=np.ones(F, bool), expression_model=None)


# ---------------------------------------------------------------------------- by suffix
def save_motion(path: str | os.PathLike[str], track: MotionTrack) -> None:
    """Save by suffix: ``.json`` or ``.csv`` (Live Link Face)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        save_motion_json(path, track)
    elif suffix == ".csv":
        save_llf_csv(path, track)
    else:
        raise MotionFileError(f"cannot write motion as {suffix or 'a file without suffix'}: {path}",
                              "use -o NAME.json (DeX Studio motion) or -o NAME.csv (Live Link Face)")


def load_motion(path: str | os.PathLike[str]) -> MotionTrack:
    """Load by suffix: ``.json`` or ``.csv``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return load_llf_csv(path)
    if suffix == ".json":
        return load_motion_json(path)
    raise MotionFileError(f"unknown motion file type {suffix!r}: {path}", "give a .json or .csv motion file")
