"""A photo cut close above the head: the crop border gives instead of drawing the hair out.

With the border held fixed, a head that moves down in a portrait whose hair reaches the
top of the photo draws the few rows between them out into streaks (makeittalk_morgan x
liveportrait_d3 frame 141: 30 rows sampled from about one). The border now moves with the
head where it must (``WarpSettings.border_slope``), and beyond the photo's edge shows that
edge continued and blurred (``crop.extend_edges``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dexstudio.io.image import load_image


@pytest.fixture(scope="module")
def cut_portrait(sample_portrait):
    """The bundled sample cut to a square 30 px above the forehead (hair to the top edge)."""
    return load_image(sample_portrait)[40:200, 145:305].copy()


def _top_rows_slope(animator, state, motion) -> float:
    """Least change of sampled source row per output row (1 = as the source shows it, 0 =
    one source row drawn over many) in the top 80 rows, over the middle of the face."""
    wf = animator.render_frame(state, motion)
    lo, hi = np.percentile(wf.target[:468, 0], [30, 70]).astype(int)
    rows = np.diff(wf.map[:80, lo:hi, 1], axis=0)
    return float(np.median(rows, axis=1).min())


def _down(state):
    own = state.own_motion
    e = own.euler
    # the head moves down by 0.05 face sizes and pitches down by 10 degrees
    return replace(own, translation=(own.translation[0], own.translation[1] + 0.05), euler=(e[0], e[1] - 10, e[2]))


def test_the_hair_is_not_drawn_out_when_the_head_moves_down(cut_portrait) -> None:
    from dexstudio.render.warp import WarpAnimator, WarpSettings

    fixed = WarpAnimator(WarpSettings(border_slope=0.0))
    giving = WarpAnimator()
    try:
        st_fixed, st = fixed.prepare(cut_portrait), giving.prepare(cut_portrait)
        assert st.payload.box.y0 == 0  # the crop's top is the photo's
        assert _top_rows_slope(fixed, st_fixed, _down(st_fixed)) < 0.3  # measured 0.18: streaks
        assert _top_rows_slope(giving, st, _down(st)) >= 0.45  # at most ~2x drawn out (0.5)
        wf = giving.render_frame(st, _down(st))
        assert wf.map[0, :, 1].min() < -5  # the top row shows what lies beyond the photo
        assert np.isfinite(wf.image.astype(float)).all()
    finally:
        fixed.close()
        giving.close()


def test_the_border_stays_put_for_an_unmoved_head_and_a_roomy_crop(cut_portrait, warp_animator,
                                                                    sample_state) -> None:
    from dexstudio.render.warp import WarpAnimator, WarpSettings
    from dexstudio.render.warp.warp_field import identity_grid

    st = warp_animator.prepare(cut_portrait)
    wf = warp_animator.render_frame(st, st.own_motion)
    grid = identity_grid(wf.map.shape[0])
    for edge in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]):
        assert np.abs(wf.map[edge] - grid[edge]).max() < 0.05
    # the whole sample (room above the head), moved the same: nothing gives, the frame is
    # the one a fixed border renders
    fixed = WarpAnimator(WarpSettings(border_slope=0.0))
    try:
        ref = fixed.render_frame(fixed.prepare(sample_state.image), _down(sample_state))
    finally:
        fixed.close()
    got = warp_animator.render_frame(sample_state, _down(sample_state))
    assert np.array_equal(got.map, ref.map) and np.array_equal(got.image, ref.image)


def test_paste_back_keeps_the_warp_up_to_the_photos_own_edge(cut_portrait, warp_animator) -> None:
    """The cut portrait's window is the whole photo: its sides have nothing beyond them to
    fade into, so paste-back keeps the given border (faded, it showed the unmoved photo
    through the moved one: a double image along the top)."""
    import cv2

    st = warp_animator.prepare(cut_portrait)
    wf = warp_animator.render_frame(st, _down(st))
    full = warp_animator.paste_back(st, wf)
    H = full.shape[0]
    small = cv2.resize(wf.image, (H, H), interpolation=cv2.INTER_AREA)
    top = np.s_[:12]
    assert np.abs(full[top].astype(int) - small[top]).mean() < 6
    assert np.abs(cut_portrait[top].astype(int) - small[top]).mean() > 2 * np.abs(full[top].astype(int)
                                                                                   - small[top]).mean()


def test_beyond_the_edge_the_edge_line_runs_on_blurred() -> None:
    from dexstudio.render.warp.crop import extend_edges

    img = np.full((64, 80, 3), 255, np.uint8)
    img[5:20, 30:50] = (200, 120, 90)  # a bald crown 5 px under the top edge
    img[:, 0] = 0  # a dark line along the left edge, one pixel wide
    img[40, 0] = 255
    img[60:, :] = np.where((np.arange(80) // 2 % 2 == 0)[:, None], 0, 255)[None]  # stripes along the bottom
    ext = extend_edges(img, 32)
    assert ext.shape == (128, 144, 3)
    assert np.array_equal(ext[32:-32, 32:-32], img)
    # above the top edge: the white edge line, not the crown mirrored back out
    above = ext[:32, 32 + 30:32 + 50].astype(int)
    assert np.abs(above[..., 0] - above[..., 2]).max() <= 2 and above.min() > 230  # grey-white, no skin
    # below the bottom: the stripes fade into their mean with the distance (mean step
    # between neighbouring pixels, k pixels out)
    step = [float(np.abs(np.diff(ext[32 + 64 - 1 + k, 32 + 20:32 + 60, 0].astype(int))).mean()) for k in (1, 4, 30)]
    assert step[0] > 60 and step[1] < step[0] / 4 and step[2] < 1
    assert abs(float(ext[-1, 32 + 20:32 + 60, 0].mean()) - 127.5) < 10


def test_the_grid_sample_path_shows_the_same_beyond_the_crop(cut_portrait) -> None:
    """The GPU path (grid_sample, run here on torch's CPU as device "cpu:0") samples the
    crop continued beyond its edges at the same offset as cv2.remap."""
    from dexstudio.render.warp import WarpAnimator, WarpSettings

    cpu, torch_path = WarpAnimator(), WarpAnimator(WarpSettings(device="cpu:0"))
    try:
        st_a, st_b = cpu.prepare(cut_portrait), torch_path.prepare(cut_portrait)
        a = cpu.render_frame(st_a, _down(st_a))
        b = torch_path.render_frame(st_b, _down(st_b))
        assert a.map[0, :, 1].min() < -5  # the top row samples beyond the crop
        assert np.abs(a.image.astype(int) - b.image).max() <= 2
    finally:
        cpu.close()
        torch_path.close()
