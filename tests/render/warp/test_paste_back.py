"""Paste-back: identity is exact, nothing outside the window changes, no seam at its edge."""

from __future__ import annotations

from dataclasses import replace

import numpy as np


def test_identity_paste_back_is_the_original(warp_animator, sample_state) -> None:
    fr = warp_animator.render_frame(sample_state, sample_state.own_motion)
    full = warp_animator.paste_back(sample_state, fr)
    assert full.shape == sample_state.image.shape
    assert np.abs(full.astype(int) - sample_state.image).max() <= 1


def test_moved_head_changes_only_inside_the_window(warp_animator, sample_state) -> None:
    own = sample_state.own_motion
    m = replace(own, euler=(own.euler[0] + 15, own.euler[1] + 5, own.euler[2]))
    fr = warp_animator.render_frame(sample_state, m)
    full = warp_animator.paste_back(sample_state, fr)
    img = sample_state.image
    box = sample_state.payload.box
    diff = np.abs(full.astype(int) - img).max(-1)
    ys, xs = np.nonzero(diff > 2)
    assert len(ys) > 1000
    assert xs.min() >= int(box.x0) - 1 and xs.max() <= int(box.x0 + box.side) + 1
    # no seam: along the window border the result equals the original
    x0 = int(np.ceil(max(box.x0, 0)))
    y0 = int(np.ceil(max(box.y0, 0)))
    x1 = int(min(box.x0 + box.side, img.shape[1])) - 1
    y1 = int(min(box.y0 + box.side, img.shape[0])) - 1
    for edge in (diff[y0:y1, x0], diff[y0:y1, x1], diff[y0, x0:x1], diff[y1, x0:x1]):
        assert edge.max() <= 2


def test_band_size_does_not_change_the_result(sample_state, warp_animator) -> None:
    from dexstudio.render.warp.paste_back import paste_back

    own = sample_state.own_motion
    fr = warp_animator.render_frame(sample_state, replace(own, euler=(own.euler[0] - 12, *own.euler[1:])))
    a = paste_back(sample_state.image, sample_state.payload.box, fr.map, fr.paint, band=37)
    b = paste_back(sample_state.image, sample_state.payload.box, fr.map, fr.paint, band=512)
    assert np.array_equal(a, b)


def test_a_border_that_gave_fades_out_without_a_double_image() -> None:
    """Where the crop border moved with the head (warp_field.yielding_anchors), fading the
    colours in showed the unmoved photo through the moved one; the motion is faded
    instead, so stripes near the window's border keep their contrast."""
    from dexstudio.render.warp.crop import CropBox
    from dexstudio.render.warp.paste_back import paste_back
    from dexstudio.render.warp.warp_field import identity_grid

    H = W = 400
    img = np.zeros((H, W, 3), np.uint8)
    img[:, (np.arange(W) // 4) % 2 == 1] = 255  # stripes, 8 px period
    box = CropBox(100.0, 100.0, 200.0, 200)  # inside the image, zoom 1
    fmap = identity_grid(200).copy()
    fmap[..., 0] -= 4.0  # everything, the border too, moved 4 px: half a period
    full = paste_back(img, box, fmap, None)
    assert np.array_equal(full[150:250, 299], img[150:250, 299])  # the border is the original
    # across the feathered band along the right side (x 284-299), every period of the
    # stripes still runs from black to white: not the grey of two patterns half a period
    # apart laid over each other (colour-faded: 88 levels where they met)
    rows = full[150:250, :, 0].astype(int)
    contrast = [np.ptp(rows[:, x - 4:x + 4], axis=1).min() for x in range(284, 297)]
    assert min(contrast) > 200
