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
