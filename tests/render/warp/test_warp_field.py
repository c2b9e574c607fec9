"""Dense-map building blocks: thin-plate field, triangle affines, depth-ordered raster."""

from __future__ import annotations

import numpy as np

from dexstudio.render.warp.warp_field import (
    TpsField,
    apply_affines,
    identity_grid,
    raster_triangle_ids,
    triangle_affines,
)


def _controls(S: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    inner = rng.uniform(0.3 * S, 0.7 * S, size=(12, 2))
    e = np.linspace(0, S - 1, 6)
    border = np.array([[v, 0] for v in e] + [[v, S - 1] for v in e] + [[0, v] for v in e[1:-1]]
                      + [[S - 1, v] for v in e[1:-1]], float)
    return np.concatenate([inner, border])


def test_zero_displacement_is_identity() -> None:
    S = 128
    tps = TpsField.build(_controls(S), S, n=16)
    m = tps.backward_full(np.zeros((len(_controls(S)), 2), np.float32))
    assert np.abs(m - identity_grid(S)).max() < 1e-3


def test_backward_map_lands_on_moved_controls() -> None:
    S = 256
    c = _controls(S)
    d = np.zeros((len(c), 2), np.float32)
    d[:12] = [6.0, -4.0]  # inner controls move, border anchors stay
    tps = TpsField.build(c, S, n=64)
    m = tps.backward_full(d)
    for p in c[:12]:
        x, y = np.round(p + d[0]).astype(int)
        assert np.allclose(m[y, x], [x - 6.0, y + 4.0], atol=0.8)
    # the border does not move
    assert np.abs(m[0] - identity_grid(S)[0]).max() < 0.5
    assert np.abs(m[:, -1] - identity_grid(S)[:, -1]).max() < 0.5


def test_triangle_affines_map_vertices() -> None:
    tgt = np.array([[10, 10], [50, 12], [20, 60], [70, 70]], float)
    src = tgt * 0.9 + [3, -2]
    tri = np.array([[0, 1, 2], [1, 3, 2]])
    A = triangle_affines(tgt, src, tri)
    for k, t in enumerate(tri):
        for v in t:
            assert np.allclose(A[k] @ np.r_[tgt[v], 1.0], src[v], atol=1e-3)


def test_a_sliver_samples_within_its_source_triangle() -> None:
    """A triangle squeezed to a sliver (a closing eye's, a far eye's at the silhouette)
    gets raster pixels up to half a pixel outside it; its affine map magnified that
    hundreds of times (liveportrait_d3 x makeittalk_dwayne frame 342: 0.0097 px^2 drawn
    from 5.4 sampled 560 px away, a white hole in the brow)."""
    src = np.array([[100.0, 100.0], [104.0, 100.0], [101.0, 103.0]])  # 6 px^2
    tgt = np.array([[100.0, 100.0], [130.0, 100.2], [112.0, 100.1]])  # 0.9 px^2 -> area / 7
    tri = np.array([[0, 1, 2]])
    thin = tgt.copy()
    thin[:, 1] = 100.0 + (tgt[:, 1] - 100.0) * 0.02  # 0.018 px^2: shrunk 330 times
    for target, shrunk in ((tgt, False), (thin, True)):
        ids = raster_triangle_ids(target, np.zeros(3), tri, (90, 90, 140, 110))
        assert ids.any()
        mx, my = apply_affines(ids, triangle_affines(target, src, tri), (90, 90, 140, 110))
        inside = ids > 0
        if shrunk:  # onto the source centroid
            assert np.allclose(mx[inside], src[:, 0].mean(), atol=1e-3)
            assert np.allclose(my[inside], src[:, 1].mean(), atol=1e-3)
        else:  # an ordinary squeeze keeps its affine map
            A = triangle_affines(target, src, tri)[0]
            assert np.allclose(A @ np.r_[target[1], 1.0], src[1], atol=1e-3)


def test_raster_draws_nearest_triangle_last() -> None:
    pts = np.array([[10, 10], [90, 10], [50, 90]], float)
    verts = np.concatenate([pts, pts])
    tri = np.array([[0, 1, 2], [3, 4, 5]])
    depth_front_second = np.array([5, 5, 5, 1, 1, 1], float)  # smaller = nearer
    ids = raster_triangle_ids(verts, depth_front_second, tri, (0, 0, 100, 100))
    assert ids[40, 50] == 2
    ids = raster_triangle_ids(verts, depth_front_second[::-1].copy(), tri, (0, 0, 100, 100))
    assert ids[40, 50] == 1
    assert ids[95, 5] == 0


def test_apply_affines_identity() -> None:
    tgt = np.array([[0, 0], [40, 0], [0, 40]], float)
    A = triangle_affines(tgt, tgt, np.array([[0, 1, 2]]))
    ids = raster_triangle_ids(tgt, np.zeros(3), np.array([[0, 1, 2]]), (0, 0, 41, 41))
    mx, my = apply_affines(ids, A, (0, 0, 41, 41))
    yy, xx = np.nonzero(ids)
    assert np.allclose(mx[yy, xx], xx, atol=1e-3) and np.allclose(my[yy, xx], yy, atol=1e-3)


def test_slivers_of_the_face_surface_are_not_drawn() -> None:
    from dexstudio.render.warp.warp_field import drawn_triangles

    src = np.full(10, 40.0)  # signed areas, front = +1
    tgt = np.full(10, 36.0)
    tgt[3] = 40.0 / 6.0  # shrunk 6x (the median shrinks 1.1x): a sliver at the far cheek
    tgt[4] = -20.0  # turned away
    tgt[5] = 40.0 / 3.0  # shrunk 3x: still drawn
    surface = np.ones(10, bool)
    drawn = drawn_triangles(src, tgt, 1.0, surface)
    assert drawn.tolist() == [True, True, True, False, False, True, True, True, True, True]
    # a lid or mouth triangle that closes is drawn regardless
    surface[3] = False
    assert drawn_triangles(src, tgt, 1.0, surface)[3]
    # a face that is small in the frame as a whole is drawn whole
    assert drawn_triangles(src, src / 6.0, 1.0, np.ones(10, bool)).all()
    # the other winding
    assert drawn_triangles(-src, -tgt, -1.0, np.ones(10, bool)).tolist() == drawn.tolist()


def test_small_triangles_folded_in_the_source_are_not_drawn() -> None:
    """At the outline of a turned portrait some triangles face away in the source: their
    source pixels belong to the surface in front, and drawn they sample it mirrored (a
    bright then a dark pixel along the far cheek; liveportrait_s10 x d18 frame 82)."""
    from dexstudio.render.warp.warp_field import drawn_triangles

    src = np.full(10, 40.0)  # front = +1
    tgt = np.full(10, 40.0)
    src[2] = -16.0  # folded in the source, small (0.4x the median), faces the viewer now
    src[6] = -120.0  # folded in the source but large (a chin's underside): still drawn
    surface = np.ones(10, bool)
    drawn = drawn_triangles(src, tgt, 1.0, surface)
    assert not drawn[2] and drawn[6]
    assert drawn.sum() == 9
    surface[2] = False  # lids and the mouth are drawn regardless
    assert drawn_triangles(src, tgt, 1.0, surface)[2]


def test_border_anchors_far_from_every_moving_point_stay() -> None:
    from dexstudio.render.warp.warp_field import anchor_distances, yielding_anchors

    anchors = np.array([[0.0, 0.0], [255.0, 0.0]])
    controls = np.array([[128.0, 100.0], [128.0, 140.0]])
    d = yielding_anchors(anchor_distances(anchors, controls), np.array([[0.0, 30.0], [0.0, 30.0]]), 0.5)
    assert d.shape == (2, 2) and d.dtype == np.float32
    assert np.all(d == 0)  # 30 px of motion, 160+ px away: the field changes by < 0.5 px/px


def test_a_border_the_head_nearly_touches_gives_as_little_as_it_must() -> None:
    from dexstudio.render.warp.warp_field import anchor_distances, yielding_anchors

    anchors = np.array([[100.0, 0.0], [300.0, 0.0]])
    controls = np.array([[100.0, 10.0]])  # 10 px below the first anchor
    d = yielding_anchors(anchor_distances(anchors, controls), np.array([[0.0, 30.0]]), 0.5)
    # |30 - d| <= 0.5 * 10 with d as small as possible: 25 px along the motion
    np.testing.assert_allclose(d[0], [0.0, 25.0], atol=1e-3)
    # the second anchor is 200 px away: 30 px of motion needs no give there
    assert np.all(d[1] == 0)


def test_a_border_gives_within_every_constraint() -> None:
    from dexstudio.render.warp.warp_field import anchor_distances, yielding_anchors

    rng = np.random.default_rng(3)
    anchors = np.stack([np.linspace(0, 255, 12), np.zeros(12)], 1)
    controls = np.stack([rng.uniform(40, 215, 30), rng.uniform(8, 40, 30)], 1)
    disp = np.stack([rng.normal(0, 3, 30), rng.uniform(20, 30, 30)], 1)  # all moving down together
    d = yielding_anchors(anchor_distances(anchors, controls), disp, 0.5).astype(np.float64)
    gap = np.linalg.norm(d[:, None] - disp[None], axis=2)
    reach = 0.5 * np.linalg.norm(anchors[:, None] - controls[None], axis=2)
    assert np.all(gap <= reach + 0.01)
    assert np.abs(d).max() > 5  # it did have to give


def _grid_mesh(n: int = 5, step: float = 20.0, origin: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """An n x n grid of vertices (row-major), two triangles per cell."""
    ij = np.stack(np.meshgrid(np.arange(n), np.arange(n)), -1).reshape(-1, 2)
    pts = origin + step * ij.astype(np.float64)
    tris = []
    for r in range(n - 1):
        for c in range(n - 1):
            v = r * n + c
            tris += [[v, v + 1, v + n], [v + 1, v + n + 1, v + n]]
    return pts, np.asarray(tris, np.int32)


def test_outline_vertices_are_the_outer_edge_of_the_drawn_mesh() -> None:
    from dexstudio.render.warp.warp_field import outline_vertices

    pts, tris = _grid_mesh()
    active = np.ones(len(tris), bool)
    border = {v for v in range(25) if v // 5 in (0, 4) or v % 5 in (0, 4)}
    assert set(outline_vertices(pts, tris, active, 160).tolist()) == border
    # a hole (an opening such as the mouth) adds no outline of its own
    holed = active.copy()
    holed[[12, 13]] = False  # the centre cell's two triangles (vertices 6, 7, 11, 12 stay inner)
    assert set(outline_vertices(pts, tris, holed, 160).tolist()) == border
    # triangles left out along one side (a far cheek folded behind the face): the outline
    # runs along the drawn surface's new edge, inside the mesh's own border
    cut = active.copy()
    cut[[2 * (r * 4 + 3) + k for r in range(4) for k in (0, 1)]] = False  # the last column of cells
    got = set(outline_vertices(pts, tris, cut, 160).tolist())
    assert {3, 8, 13, 18, 23} <= got and not got & {4, 9, 14, 19, 24}
