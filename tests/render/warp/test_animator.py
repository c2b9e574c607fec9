"""The warp animator on the bundled sample portrait (real tracker, no media needed)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dexstudio.core.channels import ARKIT_NAMES
from dexstudio.core.errors import NoFaceError
from dexstudio.render.base import FrameMotion, SourceOptions


def _with(own: FrameMotion, **bs: float) -> FrameMotion:
    b = list(own.blendshapes)
    for k, v in bs.items():
        b[ARKIT_NAMES.index(k)] = v
    return replace(own, blendshapes=tuple(b))


def test_own_motion_renders_the_source(warp_animator, sample_state) -> None:
    out = warp_animator.render(sample_state, sample_state.own_motion)
    crop = sample_state.payload.crop
    assert out.shape == crop.shape == (512, 512, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - crop).mean() < 0.5


def test_yaw_turns_the_nose_toward_image_right(warp_animator, sample_state) -> None:
    own = sample_state.own_motion
    P0, _ = warp_animator.target_points(sample_state, own)
    P1, _ = warp_animator.target_points(sample_state, replace(own, euler=(own.euler[0] + 20, *own.euler[1:])))
    assert P1[1, 0] - P0[1, 0] > 5.0  # nose tip (1) moves right
    out = warp_animator.render(sample_state, replace(own, euler=(own.euler[0] + 20, *own.euler[1:])))
    assert np.abs(out.astype(int) - sample_state.payload.crop).mean() > 2.0
    # image corners stay (the outer field is anchored at the crop border)
    assert np.abs(out[:4, :4].astype(int) - sample_state.payload.crop[:4, :4]).max() <= 2


def test_expression_channels_are_seen_by_the_tracker(warp_animator, sample_state) -> None:
    from dexstudio.motion.tracker import MediaPipeTracker

    own = sample_state.own_motion
    with MediaPipeTracker(max_faces=1) as tr:
        base = tr.detect_image(sample_state.payload.crop)[0].blendshapes
        blink = warp_animator.render(sample_state, _with(own, eyeBlinkLeft=1.0, eyeBlinkRight=1.0))
        jaw = warp_animator.render(sample_state, _with(own, jawOpen=0.8))
        b = tr.detect_image(blink)[0].blendshapes
        j = tr.detect_image(jaw)[0].blendshapes
    i_bl, i_br, i_j = (ARKIT_NAMES.index(n) for n in ("eyeBlinkLeft", "eyeBlinkRight", "jawOpen"))
    assert b[i_bl] > base[i_bl] + 0.3 and b[i_br] > base[i_br] + 0.3
    assert j[i_j] > base[i_j] + 0.25


def test_render_frame_returns_map_and_mouth(warp_animator, sample_state) -> None:
    fr = warp_animator.render_frame(sample_state, _with(sample_state.own_motion, jawOpen=0.9))
    assert fr.map.shape == (512, 512, 2) and fr.map.dtype == np.float32
    assert fr.paint is not None  # the closed-lip source needs a painted cavity
    assert fr.target.shape == (478, 3)


def test_no_face_is_a_typed_error(warp_animator) -> None:
    with pytest.raises(NoFaceError) as e:
        warp_animator.prepare(np.full((256, 256, 3), 120, np.uint8))
    assert "no face" in str(e.value)


def test_several_faces_by_index(warp_animator, sample_portrait) -> None:
    from dexstudio.io.image import load_image

    img = load_image(sample_portrait)
    two = np.concatenate([img, img[:, ::-1]], axis=1)
    left = warp_animator.prepare(two, SourceOptions(face_index=0, crop_size=256))
    right = warp_animator.prepare(two, SourceOptions(face_index=1, crop_size=256))
    assert left.payload.box.x0 + left.payload.box.side / 2 < 512 < right.payload.box.x0 + right.payload.box.side / 2
    with pytest.raises(NoFaceError) as e:
        warp_animator.prepare(two, SourceOptions(face_index=2))
    assert "2 face" in str(e.value) and "0 to 1" in str(e.value)


def test_crop_size_is_honoured(warp_animator, sample_portrait) -> None:
    from dexstudio.io.image import load_image

    st = warp_animator.prepare(load_image(sample_portrait), SourceOptions(crop_size=256))
    assert warp_animator.render(st, st.own_motion).shape == (256, 256, 3)


def test_detail_residual_of_a_take_moves_points(warp_animator, sample_state) -> None:
    from dexstudio.core.motion import ExpressionModel

    rng = np.random.default_rng(0)
    model = ExpressionModel(mean_shape=np.zeros((468, 3), np.float32),
                            blend_basis=np.zeros((52, 468, 3), np.float32),
                            detail_basis=(rng.normal(size=(16, 468, 3)) * 0.05).astype(np.float32),
                            face_size=17.67)
    own = sample_state.own_motion
    m = replace(own, detail=(1.0,) + (0.0,) * 15, detail_weight=1.0)
    P0, _ = warp_animator.target_points(sample_state, own, model)
    P1, _ = warp_animator.target_points(sample_state, m, model)
    P2, _ = warp_animator.target_points(sample_state, replace(m, detail_weight=0.0), model)
    assert np.abs(P1 - P0).max() > 0.2
    assert np.abs(P2 - P0).max() < 1e-6


def test_a_take_model_with_irises_moves_the_irises_as_the_take_does(warp_animator, sample_state) -> None:
    """A 478-point take model drives the irises itself (the take's own gaze); an older
    468-point one leaves them to the generic basis (no change from a detail-only move)."""
    from dexstudio.core.motion import ExpressionModel
    from dexstudio.motion import landmark_sets as ls

    def model(n: int) -> ExpressionModel:
        d = np.zeros((16, n, 3), np.float32)
        if n > 468:
            d[0, list(ls.IRISES), 0] = 0.3  # the first detail direction: both irises 0.3 cm to the subject's left
        else:
            d[0, 0, 0] = 1e-6
        return ExpressionModel(np.zeros((n, 3), np.float32), np.zeros((52, n, 3), np.float32), d, 17.67)

    own = sample_state.own_motion
    m = replace(own, detail=(1.0,) + (0.0,) * 15, detail_weight=1.0)
    k = warp_animator.face.face_size / 17.67
    P0, _ = warp_animator.target_points(sample_state, own, model(478))
    P1, _ = warp_animator.target_points(sample_state, m, model(478))
    px_per_cm = sample_state.payload.pose.scale
    shift = (P1 - P0)[list(ls.IRISES), 0]
    # 0.3 cm in the head frame, seen at the source's pose (turned a little), in crop pixels
    assert np.allclose(shift, 0.3 * k * px_per_cm, rtol=0.15), (shift, 0.3 * k * px_per_cm)
    assert np.abs((P1 - P0)[:468]).max() < 0.05 * np.abs(shift).min()  # the rest of the face stays
    Q0, _ = warp_animator.target_points(sample_state, own, model(468))
    Q1, _ = warp_animator.target_points(sample_state, m, model(468))
    assert np.abs((Q1 - Q0)[list(ls.IRISES)]).max() < 1e-3


def test_a_takes_blink_shuts_eyes_wider_than_the_drivers(warp_animator, sample_state) -> None:
    """An unedited take moves the lids by the driver's own travel; a portrait whose eyes
    are open wider than the driver's (liveportrait_s7 on liveportrait_d10: 1.31x) was
    left half open by the driver's full blink."""
    from dexstudio.core.motion import ExpressionModel
    from dexstudio.render.warp import eyes

    p = sample_state.payload
    canon = p.canonical.astype(np.float32)
    mean = canon.copy()
    blink = np.zeros((16, 478, 3), np.float32)
    for eye in (eyes.RIGHT, eyes.LEFT):
        up = list(eye.lid_pairs[0])
        g = eyes.canonical_lid_gap(canon, eye)
        mean[up, 1] -= 0.5 * g  # the driver's eyes: half as open as the portrait's
        blink[0, up, 1] = -0.5 * g  # its blink: its upper lid comes down by its own gap
    model = ExpressionModel(mean, np.zeros((52, 478, 3), np.float32), blink, warp_animator.face.face_size)
    assert np.allclose(eyes.take_lid_scales(p.canonical, mean.astype(np.float64)), 2.0, atol=0.01)
    own = sample_state.own_motion
    P, _ = warp_animator.target_points(sample_state, replace(own, detail=(1.0,) + (0.0,) * 15, detail_weight=1.0),
                                       model)
    for eye in (eyes.RIGHT, eyes.LEFT):
        assert eyes.relative_lid_gap(P, p.landmarks, eye) < 0.05  # shut (unscaled: 0.5 open)
    # a driver with eyes as wide as the portrait's or wider moves them as it is
    assert np.all(eyes.take_lid_scales(p.canonical, canon.astype(np.float64) * 1.2) == 1.0)
