"""Shared helpers for timeline tests: a small two-take project and random edits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dexstudio.core import commands as C
from dexstudio.core.channel_state import CombineMode, FilterKind, FreezeMode, Retarget, RetargetMode, Smoothing
from dexstudio.core.channels import ALL_CHANNEL_IDS, ChannelGroup
from dexstudio.core.document import Document
from dexstudio.core.errors import ChannelLockedError
from dexstudio.core.keys import Interp, Key, KeyCurve
from dexstudio.core.project import ExportSettings, ProjectSettings, RenderSettings, SourceInfo
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.take import PerformanceSource, Take
from dexstudio.core.timebase import FrameRange
from dexstudio.core.undo import UndoStack

#: a few channels of every kind (pose incl. scale, blendshapes, detail)
EDIT_CHANNELS = ("pose.yaw", "pose.pitch", "pose.scale", "pose.tx", "expr.jawOpen",
                 "expr.mouthSmileLeft", "expr.eyeBlinkLeft", "detail.00", "detail.05")


def make_doc(n: int = 120, second: bool = True) -> tuple[Document, UndoStack]:
    """A document with take "a" (and "b", starting at frame 20) over ``n`` frames."""
    doc = Document()
    stack = UndoStack(doc)
    stack.push(C.add_take(doc, Take.from_motion(synthetic_track(n, seed=1), "a")))
    if second:
        stack.push(C.add_take(doc, Take.from_motion(synthetic_track(n - 20, seed=2), "b", start=20),
                              activate=False))
    stack.clear()
    doc.mark_saved()
    return doc, stack


def _curve(rng: np.random.Generator, lo: float, hi: float, n_max: int, frames: FrameRange,
           default: float = 0.0) -> KeyCurve:
    n = int(rng.integers(0, n_max + 1))
    keys = tuple(Key(int(rng.integers(frames.start - 10, frames.stop + 10)), float(rng.uniform(lo, hi)),
                     rng.choice(list(Interp))) for _ in range(n))
    return KeyCurve(keys, default)


def random_command(doc: Document, rng: np.random.Generator) -> C.Command:
    """One random edit command valid for ``doc`` (may raise ChannelLockedError)."""
    st = doc.state
    fr = st.settings.frame_range
    cid = str(rng.choice(EDIT_CHANNELS))
    frame = int(rng.integers(fr.start - 5, fr.stop + 5))
    keys = st.channel(cid).keys
    kind = int(rng.integers(0, 22))
    if kind in (0, 1, 2):
        return C.add_key(doc, cid, frame, float(rng.uniform(-1, 1)), rng.choice(list(Interp)))
    if kind == 3 and keys:
        return C.delete_key(doc, cid, int(rng.choice(keys.frames)))
    if kind == 4 and keys:
        return C.move_key(doc, cid, int(rng.choice(keys.frames)), frame,
                          None if rng.random() < 0.5 else float(rng.uniform(-1, 1)))
    if kind == 5 and keys:
        return C.set_key_value(doc, cid, int(rng.choice(keys.frames)), float(rng.uniform(-1, 1)))
    if kind == 6 and keys:
        return C.set_key_interp(doc, cid, int(rng.choice(keys.frames)), rng.choice(list(Interp)))
    if kind == 7 and keys:
        return C.set_key_slopes(doc, cid, int(rng.choice(keys.frames)),
                                None if rng.random() < 0.3 else float(rng.normal(0, 0.05)),
                                None if rng.random() < 0.3 else float(rng.normal(0, 0.05)))
    if kind == 8:
        mode = rng.choice(list(CombineMode))
        return C.set_combine(doc, cid, mode, _curve(rng, -0.2, 1.2, 3, fr, 0.5) if rng.random() < 0.5 else None)
    if kind == 9:
        rt = Retarget(rng.choice(list(RetargetMode)), float(rng.uniform(-1, 2)), float(rng.uniform(-0.2, 0.2)),
                      int(rng.integers(fr.start - 3, fr.stop + 3)),
                      None if rng.random() < 0.6 else float(rng.uniform(-1, 0)),
                      None if rng.random() < 0.6 else float(rng.uniform(0, 1)))
        return C.set_retarget(doc, cid, rt)
    if kind == 10:
        k = rng.choice([FilterKind.NONE, FilterKind.GAUSSIAN, FilterKind.ONE_EURO, FilterKind.BUTTERWORTH])
        return C.set_smoothing(doc, cid, Smoothing(k, float(rng.uniform(0, 1)), float(rng.uniform(0.5, 3)),
                                                   float(rng.uniform(1, 8)), float(rng.uniform(0.3, 3)),
                                                   float(rng.uniform(0, 0.1))))
    if kind == 11:
        sel = cid if rng.random() < 0.7 else rng.choice(["pose", "mouth", "eyes"])
        a = int(rng.integers(fr.start - 5, fr.stop))
        rngf = None if rng.random() < 0.4 else FrameRange(a, a + int(rng.integers(0, 40)))
        return C.freeze(doc, sel, rng.choice(list(FreezeMode)), float(rng.uniform(-1, 1)), frame, rngf)
    if kind == 12:
        return C.unfreeze(doc, cid)
    if kind == 13:
        return C.set_channel_flags(doc, cid, mute=bool(rng.random() < 0.3), solo=bool(rng.random() < 0.15),
                                   lock=bool(rng.random() < 0.1))
    if kind == 14:
        g = rng.choice([ChannelGroup.POSE, ChannelGroup.MOUTH, ChannelGroup.DETAIL])
        return C.set_group_flags(doc, g, mute=bool(rng.random() < 0.3), solo=bool(rng.random() < 0.15),
                                 lock=bool(rng.random() < 0.05))
    ids = [t.id for t in st.takes]
    if kind == 15 and len(ids) >= 2:
        src = None if rng.random() < 0.3 else PerformanceSource(ids[1], ids[0], _curve(rng, -0.2, 1.2, 3, fr))
        return C.set_channel_source(doc, cid, src)
    if kind == 16 and ids:
        choice = rng.integers(0, 3)
        if choice == 0 or len(ids) < 2:
            src = PerformanceSource(str(rng.choice(ids)))
        elif choice == 1:
            a = int(rng.integers(fr.start, fr.stop))
            src = PerformanceSource.crossfade(ids[0], ids[1], FrameRange(a, a + int(rng.integers(1, 30))))
        else:
            src = PerformanceSource(ids[0], ids[1], _curve(rng, 0, 1, 3, fr))
        return C.set_performance(doc, src)
    if kind == 17 and ids:
        return C.set_take_start(doc, str(rng.choice(ids)), int(rng.integers(-10, 30)))
    if kind == 18:
        own = np.array(st.source.own_values)
        own[rng.integers(0, len(ALL_CHANNEL_IDS), 3)] += rng.normal(0, 0.1, 3)
        return C.set_source(doc, SourceInfo(st.source.path or "/tmp/portrait.png", None, tuple(own)))
    if kind == 19:
        return C.set_render(doc, replace(RenderSettings(), seed=int(rng.integers(0, 5))))
    if kind == 20:
        return C.set_export(doc, ExportSettings(crf=int(rng.integers(10, 30))))
    if kind == 21 and rng.random() < 0.3:
        a = int(rng.integers(-5, 20))
        return C.set_settings(doc, ProjectSettings(st.settings.rate, FrameRange(a, a + int(rng.integers(60, 130)))))
    return C.add_key(doc, cid, frame, float(rng.uniform(0, 1)))


def random_edits(doc: Document, stack: UndoStack, rng: np.random.Generator, n: int,
                 on_push=None) -> int:
    """Push ``n`` random edits (skipping ones refused for locks); returns how many applied."""
    done = 0
    attempts = 0
    while done < n and attempts < n * 5:
        attempts += 1
        try:
            cmd = random_command(doc, rng)
        except ChannelLockedError:
            continue
        if on_push is not None:
            on_push(cmd)
        else:
            stack.push(cmd)
        done += 1
    return done
