"""Evaluation semantics: performance, retarget, combine modes, blend, freeze, mute/solo,
smoothing, detail weight, hard ranges, and consistency of every evaluation path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dexstudio.core import commands as C
from dexstudio.core.channel_state import (
    CombineMode, FilterKind, FreezeMode, Retarget, RetargetMode, Smoothing,
)
from dexstudio.core.channels import ALL_CHANNEL_IDS, ChannelGroup, channels_in_group
from dexstudio.core.document import Document
from dexstudio.core.evaluator import Evaluator
from dexstudio.core.filters import gaussian
from dexstudio.core.keys import Interp, Key, KeyCurve
from dexstudio.core.project import SourceInfo
from dexstudio.core.rotation import euler_to_matrix
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.take import PerformanceSource, Take
from dexstudio.core.timebase import FrameRange, FrameRate
from dexstudio.core.undo import UndoStack
from timeline_helpers import make_doc, random_edits

ALL = FrameRange(0, 120)


def _doc(n: int = 120) -> tuple[Document, UndoStack, Take]:
    doc, stack = make_doc(n, second=False)
    return doc, stack, doc.state.takes[0]


def raw(take: Take, cid: str, frames=ALL) -> np.ndarray:
    return take.channel(cid).astype(np.float64)[frames.start:frames.stop]


def test_take_from_motion_keeps_flags_and_model() -> None:
    tr = synthetic_track(50, seed=3)
    t = Take.from_motion(tr, "x", start=7)
    assert t.values.shape == (50, len(ALL_CHANNEL_IDS)) and t.values.dtype == np.float32
    assert np.array_equal(t.valid, tr.valid) and np.array_equal(t.interpolated, ~tr.valid)
    assert t.frame_range == FrameRange(7, 57)
    assert not t.values.flags.writeable
    assert np.allclose(t.channel("pose.yaw"), tr.euler[:, 0], atol=1e-4)
    tr.euler[3, 0] = np.nan
    t2 = Take.from_motion(tr, "y")
    assert np.isfinite(t2.values).all() and not t2.valid[3]


def test_take_resample_exact_rational() -> None:
    t = Take.from_motion(synthetic_track(300, rate=FrameRate(60)), "x")
    r = t.resampled(FrameRate(30))
    assert r.n_frames == 150 and r.rate == FrameRate(30)
    assert np.array_equal(r.values[10], t.values[20])
    r2 = Take.from_motion(synthetic_track(100, rate=FrameRate(30000, 1001)), "y").resampled(FrameRate(30))
    assert r2.n_frames == 100


def test_unedited_relative_performance_maps_reference_to_own_value() -> None:
    doc, stack, take = _doc()
    yaw = doc.channel_values("pose.yaw", ALL)
    assert yaw[0] == 0.0  # reference frame 0 -> the portrait's own yaw (default 0)
    assert np.allclose(yaw, raw(take, "pose.yaw") - raw(take, "pose.yaw")[0])
    own = list(doc.state.source.own_values)
    own[ALL_CHANNEL_IDS.index("pose.yaw")] = 10.0
    own[ALL_CHANNEL_IDS.index("pose.scale")] = 1.5
    stack.push(C.set_source(doc, SourceInfo("/x.png", None, tuple(own))))
    yaw2 = doc.channel_values("pose.yaw", ALL)
    assert np.allclose(yaw2, yaw + 10.0)
    sc = doc.channel_values("pose.scale", ALL)
    r = raw(take, "pose.scale")
    assert np.allclose(sc, 1.5 * r / r[0])  # scale is multiplicative
    stack.push(C.set_retarget(doc, "pose.scale", gain=2.0))
    assert np.allclose(doc.channel_values("pose.scale", ALL), 1.5 * (r / r[0]) ** 2)


def test_detail_is_relative_by_default_and_the_reference_frame_is_the_identity() -> None:
    doc, stack, take = _doc()
    det = take.values[:120, -16:].astype(np.float64)
    m = doc.evaluate(ALL)
    assert np.array_equal(m.detail, det - det[0])  # the portrait's own detail is 0
    assert np.all(m.detail[0] == 0.0)
    own = np.asarray(doc.state.source.own_values)
    stack.push(C.set_source(doc, SourceInfo("/x.png", None, tuple(own + 0.25))))
    stack.push(C.set_retarget(doc, "all", reference_frame=30))
    m = doc.evaluate(ALL)
    assert np.allclose(m.detail, own[-16:] + 0.25 + det - det[30])
    row = doc.evaluate_values(30).values[0]
    assert np.allclose(row[[0, 1, 2, 3, 4, *range(6, 74)]], (own + 0.25)[[0, 1, 2, 3, 4, *range(6, 74)]])


def test_absolute_detail_reproduces_performance_exactly() -> None:
    doc, stack, take = _doc()
    stack.push(C.set_retarget(doc, "detail", mode=RetargetMode.ABSOLUTE))
    m = doc.evaluate(ALL)
    assert np.array_equal(m.detail, take.values[:120, -16:].astype(np.float64))
    assert np.all(m.detail_weight == 1.0)
    assert m.rotation.shape == (120, 3, 3)
    assert np.allclose(m.rotation, euler_to_matrix(m.euler[:, 0], m.euler[:, 1], m.euler[:, 2]))


def test_retarget_gain_offset_reference_clamp() -> None:
    doc, stack, take = _doc()
    r = raw(take, "pose.yaw")
    stack.push(C.set_retarget(doc, "pose.yaw", Retarget(RetargetMode.RELATIVE, 0.5, 2.0, 30)))
    assert np.allclose(doc.channel_values("pose.yaw", ALL), 0.5 * (r - r[30]) + 2.0)
    stack.push(C.set_retarget(doc, "pose.yaw", Retarget(RetargetMode.ABSOLUTE, 0.5, 0.0, 0, -3.0, 4.0)))
    assert np.allclose(doc.channel_values("pose.yaw", ALL), np.clip(0.5 * r, -3, 4))


def test_combine_modes() -> None:
    doc, stack, take = _doc()
    cid = "expr.jawOpen"
    perf = doc.layers(cid, ALL).retargeted  # before the final clamp to 0..1
    stack.push(C.set_keys(doc, cid, KeyCurve((Key(0, 0.2, Interp.LINEAR), Key(100, 0.4)))))
    k = np.clip(np.r_[np.linspace(0.2, 0.4, 101), np.full(19, 0.4)], 0, 1)
    assert np.allclose(doc.channel_values(cid, ALL), k)  # override
    stack.push(C.set_combine(doc, cid, CombineMode.OFFSET))
    assert np.allclose(doc.channel_values(cid, ALL), np.clip(perf + k, 0, 1))
    stack.push(C.set_combine(doc, cid, CombineMode.BLEND, KeyCurve((Key(0, 0.0, Interp.LINEAR), Key(119, 1.0)))))
    w = np.linspace(0, 1, 120)
    assert np.allclose(doc.channel_values(cid, ALL), np.clip((1 - w) * perf + w * k, 0, 1))
    dw = doc.evaluate(ALL).detail_weight
    assert np.allclose(dw, 1 - w)


def test_keys_without_any_take_animate_a_still_portrait() -> None:
    doc = Document()
    stack = UndoStack(doc)
    m = doc.evaluate(FrameRange(0, 10))
    assert np.all(m.euler == 0) and np.all(m.scale == 1) and np.all(m.detail_weight == 0)
    stack.push(C.add_key(doc, "expr.jawOpen", 0, 0.0, Interp.LINEAR))
    stack.push(C.add_key(doc, "expr.jawOpen", 10, 1.0))
    assert np.allclose(doc.channel_values("expr.jawOpen", range(11)), np.linspace(0, 1, 11))


def test_two_take_blend_and_crossfade_without_pop() -> None:
    doc, stack = make_doc(120)
    a, b = doc.state.takes
    stack.push(C.set_retarget(doc, "pose.yaw", mode=RetargetMode.ABSOLUTE))
    ya = doc.channel_values("pose.yaw", ALL)
    stack.push(C.set_performance(doc, PerformanceSource.crossfade("a", "b", FrameRange(40, 60))))
    y = doc.channel_values("pose.yaw", ALL)
    bb = b.channel("pose.yaw").astype(np.float64)
    assert np.array_equal(y[:41], ya[:41])
    assert np.allclose(y[59:], bb[59 - 20:120 - 20])
    # no pop: steps in the fade are no bigger than the steps of the two takes themselves
    max_step = max(np.abs(np.diff(ya)).max(), np.abs(np.diff(bb)).max())
    jump = np.abs(ya[40:60] - bb[20:40]).max()
    assert np.abs(np.diff(y[40:60])).max() <= max_step + jump / 20 * 2.0
    # constant 50 % mix
    stack.push(C.set_performance(doc, PerformanceSource("a", "b", KeyCurve((), 0.5))))
    y = doc.channel_values("pose.yaw", FrameRange(20, 100))
    assert np.allclose(y, 0.5 * ya[20:100] + 0.5 * bb[0:80])
    # per-channel source overrides the document's
    stack.push(C.set_channel_source(doc, "pose.yaw", PerformanceSource("b")))
    assert np.allclose(doc.channel_values("pose.yaw", FrameRange(20, 100)), bb[0:80])


def test_freeze_value_frame_range_group_and_unfreeze_exact() -> None:
    doc, stack, take = _doc()
    before = doc.evaluate(ALL)
    stack.push(C.freeze(doc, ChannelGroup.POSE, FreezeMode.FRAME, frame=30))
    m = doc.evaluate(ALL)
    assert np.all(m.euler == before.euler[30]) and np.all(m.scale == before.scale[30])
    assert np.array_equal(m.blendshapes, before.blendshapes)  # expression untouched
    stack.push(C.unfreeze(doc, "pose"))
    after = doc.evaluate(ALL)
    for f in ("euler", "rotation", "translation", "scale", "blendshapes", "detail", "detail_weight"):
        assert np.array_equal(getattr(after, f), getattr(before, f))
    stack.push(C.freeze(doc, "expr.jawOpen", FreezeMode.VALUE, 0.7, range=FrameRange(10, 20)))
    v = doc.channel_values("expr.jawOpen", ALL)
    assert np.all(v[10:20] == 0.7) and np.array_equal(v[:10], before.blendshapes[:10, 17])
    assert np.all(doc.evaluate(FrameRange(10, 20)).detail_weight == 0)
    stack.push(C.freeze(doc, "expression", FreezeMode.FRAME, frame=0))
    m = doc.evaluate(ALL)
    assert np.all(m.blendshapes == m.blendshapes[0]) and np.array_equal(m.euler, before.euler)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_freeze_unfreeze_restores_exactly_property(seed: int) -> None:
    doc, stack = make_doc(60)
    rng = np.random.default_rng(seed)
    random_edits(doc, stack, rng, 8)
    sel = str(rng.choice(["pose", "mouth", "expr.jawOpen", "detail", "all"]))
    ids = C.resolve_channels(sel)
    if any(doc.state.channel(c).freeze is not None or C.is_locked(doc.state, c) for c in ids):
        return
    ev = Evaluator()
    before = ev.evaluate_values(doc.state, FrameRange(-5, 70)).values
    stack.push(C.freeze(doc, sel, rng.choice(list(FreezeMode)), float(rng.normal()), int(rng.integers(0, 60))))
    stack.push(C.unfreeze(doc, sel))
    assert np.array_equal(doc.evaluate_values(FrameRange(-5, 70)).values, before)


def test_mute_solo_groups_and_lock_does_not_change_values() -> None:
    doc, stack, take = _doc()
    base = doc.evaluate(ALL)
    stack.push(C.set_channel_flags(doc, "pose.yaw", mute=True))
    assert np.all(doc.evaluate(ALL).euler[:, 0] == 0.0)
    stack.push(C.set_channel_flags(doc, "pose.yaw", mute=False, lock=True))
    assert np.array_equal(doc.evaluate(ALL).euler, base.euler)
    stack.push(C.set_group_flags(doc, ChannelGroup.JAW, solo=True))
    m = doc.evaluate(ALL)
    jaw = [ALL_CHANNEL_IDS.index(c) - 6 for c in channels_in_group(ChannelGroup.JAW)]
    assert np.array_equal(m.blendshapes[:, jaw], base.blendshapes[:, jaw])
    assert np.all(m.euler == 0) and np.all(m.blendshapes[:, 0] == 0)
    stack.push(C.set_group_flags(doc, ChannelGroup.JAW, solo=False))
    stack.push(C.set_group_flags(doc, ChannelGroup.POSE, mute=True))
    m = doc.evaluate(ALL)
    assert np.all(m.scale == 1.0) and np.array_equal(m.blendshapes, base.blendshapes)


def test_smoothing_is_non_destructive_and_strength_mixes() -> None:
    doc, stack, take = _doc()
    raw_before = take.values.copy()
    stack.push(C.set_retarget(doc, "pose.yaw", mode=RetargetMode.ABSOLUTE))
    r = take.channel("pose.yaw").astype(np.float64)
    stack.push(C.set_smoothing(doc, "pose.yaw", Smoothing(FilterKind.GAUSSIAN, 1.0, sigma=3.0)))
    assert np.allclose(doc.channel_values("pose.yaw", ALL), gaussian(r, 3.0))
    stack.push(C.set_smoothing(doc, "pose.yaw", Smoothing(FilterKind.GAUSSIAN, 0.5, sigma=3.0)))
    assert np.allclose(doc.channel_values("pose.yaw", ALL), r + 0.5 * (gaussian(r, 3.0) - r))
    assert np.array_equal(take.values, raw_before)
    lay = doc.layers("pose.yaw", ALL)
    assert np.array_equal(lay.raw, r) and not np.array_equal(lay.performance, r)
    stack.push(C.set_smoothing(doc, "pose.yaw", Smoothing()))
    assert np.array_equal(doc.channel_values("pose.yaw", ALL), r)


def test_hard_ranges_clamp() -> None:
    doc, stack, _ = _doc()
    stack.push(C.add_key(doc, "expr.jawOpen", 0, 3.0))
    stack.push(C.add_key(doc, "pose.scale", 0, -1.0))
    m = doc.evaluate(ALL)
    assert np.all(m.blendshapes[:, ALL_CHANNEL_IDS.index("expr.jawOpen") - 6] == 1.0)
    assert np.all(m.scale == 0.05)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_single_frame_range_and_outside_window_agree(seed: int) -> None:
    doc, stack = make_doc(60)
    random_edits(doc, stack, np.random.default_rng(seed), 25)
    w = doc.state.settings.frame_range
    frames = np.arange(w.start - 15, w.stop + 15)
    whole = doc.evaluate_values(frames).values  # spans outside the window: direct path
    inside = doc.evaluate_values(w).values      # bake window
    i0 = 15
    assert np.array_equal(whole[i0:i0 + len(w)], inside)
    for f in (w.start - 3, w.start, w.start + 7, w.stop - 1, w.stop + 4):
        single = doc.evaluate(f)
        row = doc.evaluate_values(frames).values[f - frames[0]]
        assert np.array_equal(np.r_[single.euler[0], single.translation[0], single.scale[0],
                                    single.blendshapes[0], single.detail[0]], row)
    shuffled = np.random.default_rng(seed).permutation(frames)
    sv = doc.evaluate_values(shuffled).values
    assert np.array_equal(sv, whole[shuffled - frames[0]])


def test_frames_argument_forms() -> None:
    doc, _, _ = _doc()
    assert len(doc.evaluate(5)) == 1
    assert len(doc.evaluate(FrameRange(3, 9))) == 6
    assert doc.evaluate([1, 2, 3]).frames.tolist() == [1, 2, 3]
    with pytest.raises(ValueError):
        doc.evaluate([1.5])


def test_closed_form_rotation_matches_core_rotation() -> None:
    from dexstudio.core.evaluator import rotation_matrices
    from dexstudio.core.rotation import euler_to_matrix

    e = np.random.default_rng(0).uniform(-80, 80, (500, 3))
    assert np.allclose(rotation_matrices(e), euler_to_matrix(e[:, 0], e[:, 1], e[:, 2]), atol=1e-12)


def test_own_values_from_analysed_motion_and_rate_change_resamples() -> None:
    from dexstudio.core.project import ProjectSettings

    own = SourceInfo.own_values_from((5.0, -2.0, 1.0), (0.1, 0.0), 1.2, [0.1] * 52)
    assert own[0] == 5.0 and own[5] == 1.2 and own[6] == 0.1 and own[-1] == 0.0
    with pytest.raises(ValueError):
        SourceInfo.own_values_from((0, 0, 0), (0, 0), 1.0, [0.0] * 3)
    doc, stack, take = _doc(120)
    stack.push(C.set_settings(doc, ProjectSettings(FrameRate(60), FrameRange(0, 240))))
    assert doc.state.takes[0].n_frames == 240 and doc.state.takes[0].rate == FrameRate(60)
    stack.undo()
    assert doc.state.takes[0] is take


def test_empty_and_far_frames() -> None:
    doc, _, take = _doc(60)
    assert len(doc.evaluate([])) == 0 and doc.evaluate([]).rotation.shape == (0, 3, 3)
    assert len(doc.evaluate(FrameRange(5, 5))) == 0
    far = doc.evaluate([-1000, 10**6])
    assert np.array_equal(far.euler[0], doc.evaluate(0).euler[0])      # first frame held
    assert np.array_equal(far.euler[1], doc.evaluate(59).euler[0])     # last frame held


def test_settings_validate_their_numbers() -> None:
    with pytest.raises(ValueError):
        Retarget(gain=float("nan"))
    with pytest.raises(ValueError):
        Retarget(clamp_min=2.0, clamp_max=1.0)
    with pytest.raises(ValueError):
        Smoothing(FilterKind.GAUSSIAN, strength=1.5)
    with pytest.raises(ValueError):
        Smoothing(FilterKind.BUTTERWORTH, cutoff_hz=0.0)
    with pytest.raises(ValueError):
        KeyCurve((), float("inf"))
    with pytest.raises(ValueError):
        Key(0, 1.0, out_slope=float("nan"))
    from dexstudio.core.channel_state import Freeze

    with pytest.raises(ValueError):
        Freeze(value=float("inf"))


# -- detail_weight per frame ------------------------------------------------------------
def _dw(doc: Document, frames=ALL) -> np.ndarray:
    return doc.evaluate(frames).detail_weight


def test_detail_weight_override_keys_zero_only_the_frames_they_govern() -> None:
    doc, stack, _ = _doc()
    stack.push(C.add_key(doc, "expr.eyeBlinkLeft", 40, 1.0, Interp.LINEAR))
    stack.push(C.add_key(doc, "expr.eyeBlinkLeft", 50, 0.0))
    dw = _dw(doc)
    assert np.all(dw[40:51] == 0.0) and np.all(dw[:40] == 1.0) and np.all(dw[51:] == 1.0)
    stack.push(C.add_key(doc, "expr.jawOpen", 70, 0.3))  # one key governs its own frame
    dw = _dw(doc)
    assert np.all(dw[40:51] == 0.0) and dw[70] == 0.0
    assert np.all(np.delete(dw, np.r_[40:51, 70]) == 1.0)
    # the same rule on frames outside the project range (direct path) and one frame at a time
    stack.push(C.add_key(doc, "detail.03", 110, 0.1))
    stack.push(C.add_key(doc, "detail.03", 130, 0.2))
    out = _dw(doc, FrameRange(100, 140))
    assert np.all(out[10:31] == 0.0) and np.all(out[:10] == 1.0) and np.all(out[31:] == 1.0)
    assert all(_dw(doc, f)[0] == out[f - 100] for f in (109, 110, 125, 130, 131))
    # pose keys never touch the residual
    stack.push(C.add_key(doc, "pose.yaw", 5, 10.0))
    assert _dw(doc, 5)[0] == 1.0


def test_detail_weight_offset_keeps_the_residual_and_blend_uses_one_minus_w() -> None:
    doc, stack, _ = _doc()
    stack.push(C.add_key(doc, "expr.mouthSmileLeft", 20, 0.2))
    stack.push(C.add_key(doc, "expr.mouthSmileLeft", 60, 0.4))
    stack.push(C.set_combine(doc, "expr.mouthSmileLeft", CombineMode.OFFSET))
    assert np.all(_dw(doc) == 1.0)
    w = KeyCurve((Key(0, 0.0, Interp.LINEAR), Key(119, 1.0)))
    stack.push(C.set_combine(doc, "expr.mouthSmileLeft", CombineMode.BLEND, w))
    assert np.allclose(_dw(doc), 1.0 - np.linspace(0, 1, 120))
    # an OVERRIDE span on another channel zeroes its frames; BLEND elsewhere
    stack.push(C.add_key(doc, "expr.jawOpen", 90, 0.5))
    stack.push(C.add_key(doc, "expr.jawOpen", 95, 0.5))
    dw = _dw(doc)
    assert np.all(dw[90:96] == 0.0) and np.allclose(dw[:90], 1.0 - np.linspace(0, 1, 120)[:90])


def test_detail_weight_freeze_mute_and_no_take() -> None:
    doc, stack, _ = _doc()
    stack.push(C.freeze(doc, "expr.jawOpen", FreezeMode.VALUE, 0.5, range=FrameRange(10, 20)))
    dw = _dw(doc)
    assert np.all(dw[10:20] == 0.0) and np.all(np.delete(dw, np.r_[10:20]) == 1.0)
    stack.push(C.freeze(doc, "expr.jawOpen", FreezeMode.VALUE, 0.5))  # every frame
    assert np.all(_dw(doc) == 0.0)
    stack.push(C.unfreeze(doc, "expr.jawOpen"))
    assert np.all(_dw(doc) == 1.0)
    stack.push(C.set_channel_flags(doc, "expr.jawOpen", mute=True))
    assert np.all(_dw(doc) == 0.0)


def test_a_key_move_reports_exactly_the_frames_whose_detail_weight_or_values_changed() -> None:
    from dexstudio.core.rangeset import RangeSet

    doc, stack, _ = _doc()
    stack.push(C.add_key(doc, "expr.eyeBlinkLeft", 40, 0.0, Interp.LINEAR))
    stack.push(C.add_key(doc, "expr.eyeBlinkLeft", 50, 0.0))
    events = []
    doc.changed.connect(events.append)
    stack.push(C.move_key(doc, "expr.eyeBlinkLeft", 50, 60))  # same value: only dw changes
    assert events[-1].changed_frames == RangeSet.of((51, 61))
    assert np.all(_dw(doc)[40:61] == 0.0) and _dw(doc, 61)[0] == 1.0
