"""The mesh's map fades into the outer field across the face outline (no seam)."""

from __future__ import annotations

import cv2
import numpy as np

from dexstudio.render.warp.warp_field import blend_mesh_border, identity_grid, signed_areas


def scene(shift_inside: float = 12.0, size: int = 160):
    """A disc 'mesh' whose map is shifted by ``shift_inside`` px; identity outside."""
    ids = np.zeros((size, size), np.int32)
    cv2.circle(ids, (size // 2, size // 2), 50, 7, -1)
    out = identity_grid(size).copy()
    out[ids > 0, 0] += shift_inside
    return ids, out


def test_inside_is_untouched_and_far_outside_is_untouched():
    ids, out = scene()
    before = out.copy()
    blend_mesh_border(ids, out, 10.0)
    assert np.array_equal(out[ids > 0], before[ids > 0])
    far = np.ones_like(ids, np.uint8)
    cv2.circle(far, (80, 80), 50 + 18, 0, -1)  # the band: the width + resampling (measured 16.7)
    assert np.array_equal(out[far > 0], before[far > 0])


def test_the_map_is_continuous_across_the_outline():
    ids, out = scene(shift_inside=12.0)
    jump_before = np.abs(np.diff(out[80, :, 0] - np.arange(160))).max()
    blend_mesh_border(ids, out, 10.0)
    disp = out[80, :, 0] - np.arange(160)
    jump_after = np.abs(np.diff(disp)).max()
    assert jump_before == 12.0
    assert jump_after < 3.5, disp  # 12 px spread over the band instead of one step
    # just outside the edge the displacement is close to the mesh's
    edge = int(np.nonzero(ids[80] > 0)[0].max()) + 1
    assert disp[edge] > 8.0


def test_a_window_offset_does_not_change_the_result():
    ids, out = scene()
    a = out.copy()
    blend_mesh_border(ids, a, 10.0)
    big = np.zeros((200, 200, 2), np.float32)
    big[20:180, 30:190] = out + np.array([30, 20], np.float32)
    blend_mesh_border(ids, big[20:180, 30:190], 10.0)
    np.testing.assert_allclose(big[20:180, 30:190] - np.array([30, 20], np.float32), a, atol=1e-3)


def test_signed_area_sign_follows_the_winding():
    tri = np.array([[0, 1, 2]])
    ccw = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert signed_areas(ccw, tri)[0] == 0.5
    assert signed_areas(ccw[[0, 2, 1]], tri)[0] == -0.5


def test_a_squeezed_edge_continues_monotonically():
    """Where the mesh squeezes the source near its edge (2.4 source px per output px) the
    extension continues from the edge instead of folding back (a dark line at the face)."""
    size = 160
    ids = np.zeros((size, size), np.int32)
    ids[:, :80] = 3
    out = identity_grid(size).copy()
    x = np.arange(size, dtype=np.float32)
    inside_map = np.where(x < 70, x, 70 + 2.4 * (x - 70))  # squeezed over the last 10 px
    out[:, :80, 0] = inside_map[:80]
    out[:, 80:, 0] = x[80:] + 6.0  # the outer field lags
    blend_mesh_border(ids, out, 10.0)
    row = out[50, :, 0]
    assert np.all(np.diff(row[70:120]) > 0), row[70:120]
    assert abs(row[80] - (row[79] + 1.0)) < 1.0  # continues the edge pixel
