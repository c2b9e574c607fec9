"""``.dexproj`` schema: ProjectState <-> JSON-ready values, and version upgrades.

Layout of version 1 (all keys sorted on output; see :mod:`dexstudio.io.project_file`)::

    {"schema": "dexstudio.project", "version": 1,
     "settings": {"rate": [num, den], "frame_range": [start, stop]},
     "source": {"path": str, "face_index": int|null, "own_values": {channel_id: float}},
     "takes": [{"id", "name", "rate", "start", "channels": [ids in column order],
                "values": ARRAY(<f4, (F, K)), "valid": ARRAY(|u1 packed bits, F),
                "present": [ids], "expression_model": null|{...}, "source": null|{...}}],
     "performance": PERF,
     "channels": {channel_id: CHANNEL}   # only channels that differ from the default
     "groups": {group name: {"mute", "solo", "lock"}},
     "render": {...}, "export": {...}}

``ARRAY`` = ``{"dtype": "<f4", "shape": [...], "b64": base64 of the little-endian bytes}``.
Take arrays are stored inside the JSON as base64 float32 rather than in a sidecar
``.npz``: one file keeps saves atomic with a single rename (no half-updated pair after
a crash), stays byte-stable, and an 18,000 x 74 take costs ~7 MB and ~0.1 s.

Paths are stored relative to the project folder when they are inside it (POSIX
separators), absolute otherwise; in memory they are always absolute.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from dexstudio.core.channel_state import (
    ChannelState, CombineMode, FilterKind, Freeze, FreezeMode, GroupState, Retarget, RetargetMode,
    Smoothing, default_channel_state,
)
from dexstudio.core.channels import ALL_CHANNEL_IDS, CHANNEL_SPECS, ChannelGroup
from dexstudio.core.keys import Interp, Key, KeyCurve
from dexstudio.core.motion import ExpressionModel, MotionSource
from dexstudio.core.project import (
    GROUPS, AnimatorKind, ExportSettings, ProjectSettings, ProjectState, RenderSettings,
    SourceInfo, VideoCodec,
)
from dexstudio.core.take import DEFAULT_VALUES, PerformanceSource, Take
from dexstudio.core.timebase import FrameRange, FrameRate

SCHEMA = "dexstudio.project"
VERSION = 1

Json = Any


# -- arrays ---------------------------------------------------------------------------------
def enc_array(a: np.ndarray, dtype: str) -> Json:
    arr = np.ascontiguousarray(np.asarray(a).astype(np.dtype(dtype), copy=False))
    return {"dtype": dtype, "shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode("ascii")}


def dec_array(obj: Json) -> np.ndarray:
    dt = np.dtype(obj["dtype"])
    shape = tuple(int(s) for s in obj["shape"])
    raw = base64.b64decode(obj["b64"].encode("ascii"), validate=True)
    n = int(np.prod(shape)) if shape else 1
    if len(raw) != n * dt.itemsize:
        raise ValueError(f"array data has {len(raw)} bytes, expected {n * dt.itemsize} for shape {shape}")
    return np.frombuffer(raw, dtype=dt).reshape(shape).astype(dt.newbyteorder("="))


def enc_bits(b: np.ndarray) -> Json:
    b = np.asarray(b, dtype=bool).reshape(-1)
    return {"n": int(b.shape[0]), "b64": base64.b64encode(np.packbits(b).tobytes()).decode("ascii")}


def dec_bits(obj: Json) -> np.ndarray:
    n = int(obj["n"])
    raw = np.frombuffer(base64.b64decode(obj["b64"].encode("ascii"), validate=True), dtype=np.uint8)
    if raw.shape[0] != (n + 7) // 8:
        raise ValueError("bit array length does not match its count")
    return np.unpackbits(raw)[:n].astype(bool)


# -- paths ----------------------------------------------------------------------------------
def path_out(p: str, folder: Optional[Path]) -> str:
    if not p or folder is None:
        return p
    ap = os.path.abspath(p)
    try:
        rel = os.path.relpath(ap, folder)
    except ValueError:  # another drive on Windows
        return ap
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return ap
    return Path(rel).as_posix()


def path_in(p: str, folder: Optional[Path]) -> str:
    if not p:
        return p
    q = Path(p)
    if q.is_absolute() or folder is None:
        return str(q)
    return os.path.normpath(str(folder / q))


# -- small parts ----------------------------------------------------------------------------
def _opt_float(v: Any) -> Optional[float]:
    return None if v is None else float(v)


def enc_curve(c: KeyCurve) -> Json:
    return {"default": c.default,
            "keys": [[k.frame, k.value, k.interp.value, k.in_slope, k.out_slope] for k in c.keys]}


def dec_curve(o: Json) -> KeyCurve:
    keys = tuple(Key(int(f), float(v), Interp(i), _opt_float(a), _opt_float(b)) for f, v, i, a, b in o["keys"])
    return KeyCurve(keys, float(o["default"]))


def enc_range(r: Optional[FrameRange]) -> Json:
    return None if r is None else [r.start, r.stop]


def dec_range(o: Json) -> Optional[FrameRange]:
    return None if o is None else FrameRange(int(o[0]), int(o[1]))


def enc_perf(p: PerformanceSource) -> Json:
    return {"take_a": p.take_a, "take_b": p.take_b, "mix": enc_curve(p.mix)}


def dec_perf(o: Json) -> PerformanceSource:
    return PerformanceSource(o["take_a"], o["take_b"], dec_curve(o["mix"]))


def enc_channel(s: ChannelState) -> Json:
    rt, sm, fz = s.retarget, s.smoothing, s.freeze
    return {
        "keys": enc_curve(s.keys), "combine": s.combine.value, "blend_weight": enc_curve(s.blend_weight),
        "retarget": {"mode": rt.mode.value, "gain": rt.gain, "offset": rt.offset,
                     "reference_frame": rt.reference_frame, "clamp_min": rt.clamp_min,
                     "clamp_max": rt.clamp_max},
        "smoothing": {"kind": sm.kind.value, "strength": sm.strength, "sigma": sm.sigma,
                      "cutoff_hz": sm.cutoff_hz, "min_cutoff": sm.min_cutoff, "beta": sm.beta},
        "freeze": None if fz is None else {"mode": fz.mode.value, "value": fz.value, "frame": fz.frame,
                                           "range": enc_range(fz.range)},
        "mute": s.mute, "solo": s.solo, "lock": s.lock,
        "source": None if s.source is None else enc_perf(s.source),
    }


def dec_channel(o: Json) -> ChannelState:
    rt, sm, fz = o["retarget"], o["smoothing"], o["freeze"]
    return ChannelState(
        keys=dec_curve(o["keys"]), combine=CombineMode(o["combine"]), blend_weight=dec_curve(o["blend_weight"]),
        retarget=Retarget(RetargetMode(rt["mode"]), float(rt["gain"]), float(rt["offset"]),
                          int(rt["reference_frame"]), _opt_float(rt["clamp_min"]), _opt_float(rt["clamp_max"])),
        smoothing=Smoothing(FilterKind(sm["kind"]), float(sm["strength"]), float(sm["sigma"]),
                            float(sm["cutoff_hz"]), float(sm["min_cutoff"]), float(sm["beta"])),
        freeze=None if fz is None else Freeze(FreezeMode(fz["mode"]), float(fz["value"]), int(fz["frame"]),
                                              dec_range(fz["range"])),
        mute=bool(o["mute"]), solo=bool(o["solo"]), lock=bool(o["lock"]),
        source=None if o["source"] is None else dec_perf(o["source"]),
    )


def _enc_model(m: Optional[ExpressionModel]) -> Json:
    if m is None:
        return None
    return {"mean_shape": enc_array(m.mean_shape, "<f4"), "blend_basis": enc_array(m.blend_basis, "<f4"),
            "detail_basis": enc_array(m.detail_basis, "<f4"), "face_size": float(m.face_size)}


def _dec_model(o: Json) -> Optional[ExpressionModel]:
    if o is None:
        return None
    return ExpressionModel(dec_array(o["mean_shape"]), dec_array(o["blend_basis"]),
                           dec_array(o["detail_basis"]), float(o["face_size"]))


def _enc_msource(s: Optional[MotionSource], folder: Optional[Path]) -> Json:
    if s is None:
        return None
    return {"path": path_out(s.path, folder), "content_hash": s.content_hash, "tracker_id": s.tracker_id,
            "tracker_settings": s.tracker_settings, "width": s.width, "height": s.height}


def _dec_msource(o: Json, folder: Optional[Path]) -> Optional[MotionSource]:
    if o is None:
        return None
    return MotionSource(path_in(o["path"], folder), str(o["content_hash"]), str(o["tracker_id"]),
                        str(o["tracker_settings"]), int(o["width"]), int(o["height"]))


def enc_take(t: Take, folder: Optional[Path]) -> Json:
    return {"id": t.id, "name": t.name, "rate": [t.rate.num, t.rate.den], "start": t.start,
            "channels": list(ALL_CHANNEL_IDS), "values": enc_array(t.values, "<f4"),
            "valid": enc_bits(t.valid),
            "present": [c for c, p in zip(ALL_CHANNEL_IDS, t.present) if p],
            "expression_model": _enc_model(t.expression_model), "source": _enc_msource(t.source, folder)}


def dec_take(o: Json, folder: Optional[Path]) -> Take:
    vals = dec_array(o["values"])
    cols = list(o["channels"])
    if vals.ndim != 2 or vals.shape[1] != len(cols):
        raise ValueError(f"take {o.get('id')!r}: values shape {vals.shape} does not match its channel list")
    n = vals.shape[0]
    full = np.tile(DEFAULT_VALUES.astype(np.float32), (n, 1))
    present = np.zeros(len(ALL_CHANNEL_IDS), dtype=bool)
    known = [(j, ALL_CHANNEL_IDS.index(c)) for j, c in enumerate(cols) if c in CHANNEL_SPECS]
    for j, i in known:
        full[:, i] = vals[:, j]
    for c in o["present"]:
        if c in CHANNEL_SPECS:
            present[ALL_CHANNEL_IDS.index(c)] = True
    valid = dec_bits(o["valid"])
    if valid.shape[0] != n:
        raise ValueError(f"take {o.get('id')!r}: {valid.shape[0]} valid flags for {n} frames")
    return Take(str(o["id"]), str(o["name"]), FrameRate(int(o["rate"][0]), int(o["rate"][1])),
                int(o["start"]), full, valid, present, _dec_model(o["expression_model"]),
                _dec_msource(o["source"], folder))


# -- whole project --------------------------------------------------------------------------
def state_to_json(state: ProjectState, folder: Optional[Path]) -> Json:
    """ProjectState -> JSON-ready dict (version :data:`VERSION`). ``folder`` = project folder."""
    st = state
    channels = {cid: enc_channel(s) for cid, s in zip(ALL_CHANNEL_IDS, st.channels)
                if s != default_channel_state(cid)}
    groups = {g.value: {"mute": gs.mute, "solo": gs.solo, "lock": gs.lock}
              for g, gs in zip(GROUPS, st.groups) if gs != GroupState()}
    r, e = st.render, st.export
    return {
        "schema": SCHEMA, "version": VERSION,
        "settings": {"rate": [st.settings.rate.num, st.settings.rate.den],
                     "frame_range": [st.settings.frame_range.start, st.settings.frame_range.stop]},
        "source": {"path": path_out(st.source.path, folder), "face_index": st.source.face_index,
                   "own_values": dict(zip(ALL_CHANNEL_IDS, st.source.own_values))},
        "takes": [enc_take(t, folder) for t in st.takes],
        "performance": enc_perf(st.performance),
        "channels": channels,
        "groups": groups,
        "render": {"animator": r.animator.value, "crop_size": r.crop_size,
                   "checkpoint": path_out(r.checkpoint, folder), "steps": r.steps, "seed": r.seed},
        "export": {"path": path_out(e.path, folder), "codec": e.codec.value, "crf": e.crf,
                   "include_audio": e.include_audio, "width": e.width, "height": e.height},
    }


def state_from_json(o: Json, folder: Optional[Path]) -> ProjectState:
    """Inverse of :func:`state_to_json` for a current-version dict (already upgraded).
    Raises KeyError / TypeError / ValueError on malformed content."""
    s = o["settings"]
    settings = ProjectSettings(FrameRate(int(s["rate"][0]), int(s["rate"][1])),
                               FrameRange(int(s["frame_range"][0]), int(s["frame_range"][1])))
    src = o["source"]
    own = [float(src["own_values"].get(cid, DEFAULT_VALUES[i])) for i, cid in enumerate(ALL_CHANNEL_IDS)]
    source = SourceInfo(path_in(src["path"], folder),
                        None if src["face_index"] is None else int(src["face_index"]), tuple(own))
    # takes are stored at the project rate; a hand-edited file with another rate is resampled
    takes = tuple(t if t.rate == settings.rate else t.resampled(settings.rate)
                  for t in (dec_take(tj, folder) for tj in o["takes"]))
    chans = [default_channel_state(c) for c in ALL_CHANNEL_IDS]
    for cid, cj in o["channels"].items():
        if cid not in CHANNEL_SPECS:
            raise ValueError(f"unknown channel {cid!r}")
        chans[ALL_CHANNEL_IDS.index(cid)] = dec_channel(cj)
    groups = [GroupState() for _ in GROUPS]
    for name, gj in o["groups"].items():
        groups[GROUPS.index(ChannelGroup(name))] = GroupState(bool(gj["mute"]), bool(gj["solo"]), bool(gj["lock"]))
    r, e = o["render"], o["export"]
    render = RenderSettings(AnimatorKind(r["animator"]), int(r["crop_size"]), path_in(r["checkpoint"], folder),
                            int(r["steps"]), int(r["seed"]))
    export = ExportSettings(path_in(e["path"], folder), VideoCodec(e["codec"]), int(e["crf"]),
                            bool(e["include_audio"]), int(e["width"]), int(e["height"]))
    return ProjectState(settings, source, takes, dec_perf(o["performance"]), tuple(chans), tuple(groups),
                        render, export)


# -- upgrades -------------------------------------------------------------------------------
def upgrade_v0_to_v1(o: Json) -> Json:
    """Version 0 (the first prototype's layout) -> version 1.

    v0 had a float ``fps``, a top-level ``frame_range`` and ``source_path``, an
    ``active_take`` id instead of a performance source, and per channel only linear
    ``keys`` as ``[frame, value]`` pairs, ``gain``, ``offset`` (absolute retarget),
    ``mute`` and ``frozen`` (hold the value of frame 0). Takes were already v1-shaped.
    """
    rate = FrameRate.from_float(float(o["fps"]))
    default = ChannelState()
    channels = {}
    for cid, c in o.get("channels", {}).items():
        st = ChannelState(
            keys=KeyCurve(tuple(Key(int(f), float(v), Interp.LINEAR) for f, v in c.get("keys", []))),
            retarget=Retarget(RetargetMode.ABSOLUTE, float(c.get("gain", 1.0)), float(c.get("offset", 0.0))),
            freeze=Freeze(FreezeMode.FRAME, 0.0, 0) if c.get("frozen") else None,
            mute=bool(c.get("mute", False)))
        if st != default:
            channels[cid] = enc_channel(st)
    active = o.get("active_take")
    return {
        "schema": SCHEMA, "version": 1,
        "settings": {"rate": [rate.num, rate.den], "frame_range": list(o["frame_range"])},
        "source": {"path": o.get("source_path", ""), "face_index": None, "own_values": {}},
        "takes": o.get("takes", []),
        "performance": enc_perf(PerformanceSource(active)),
        "channels": channels, "groups": {},
        "render": {"animator": "warp", "crop_size": 512, "checkpoint": "", "steps": 25, "seed": 0},
        "export": {"path": "", "codec": "h264", "crf": 18, "include_audio": True, "width": 0, "height": 0},
    }


#: ``UPGRADES[v]`` turns a version-v dict into a version-(v+1) dict.
UPGRADES: dict[int, Callable[[Json], Json]] = {0: upgrade_v0_to_v1}


def upgrade(o: Json) -> Json:
    """Apply upgrade functions until the dict is at :data:`VERSION`."""
    v = int(o["version"])
    while v < VERSION:
        o = UPGRADES[v](o)
        v = int(o["version"])
    return o


__all__ = ["SCHEMA", "VERSION", "UPGRADES", "upgrade", "upgrade_v0_to_v1", "state_to_json",
           "state_from_json", "enc_array", "dec_array"]
