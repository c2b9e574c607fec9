"""The outer field is pinned along the face's real outline, also on a turned portrait.

On a three-quarter portrait the face oval folds behind the far cheek: the outline seen in
the image is drawn by vertices inside the oval. With the field pinned only on the oval,
the band just outside the far cheek followed the oval's motion, not the cheek's, and the
cheek's edge was drawn out into a smeared band when the face turned or smiled.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

import dexstudio.render.warp.animator as animator_mod
from dexstudio.render.warp.warp_field import drawn_triangles, raster_triangle_ids, signed_areas


def drawn_out_pixels(animator, state, frame, band_px: int = 12, max_area: float = 0.4) -> int:
    """Pixels within ``band_px`` outside the drawn mesh whose source area is below
    ``max_area`` px (the source drawn out more than 1 / max_area times)."""
    tri = animator.topology.triangles
    p, P = state.payload, frame.target
    drawn = drawn_triangles(p.triangle_areas, signed_areas(P, tri), animator._front, animator._surface)
    S = p.crop.shape[0]
    inside = (raster_triangle_ids(P[:468, :2], P[:468, 2], tri, (0, 0, S, S), active=drawn) > 0).astype(np.uint8)
    band = (cv2.dilate(inside, np.ones((2 * band_px + 1,) * 2, np.uint8)) > 0) & (inside == 0)
    mx, my = frame.map[..., 0], frame.map[..., 1]
    det = (np.gradient(mx, axis=1) * np.gradient(my, axis=0) - np.gradient(mx, axis=0) * np.gradient(my, axis=1))
    return int(((det < max_area) & band).sum())


@pytest.fixture(scope="module")
def turned_sample(sample_portrait) -> np.ndarray:
    """The bundled sample rendered turned by 35 deg (tracked at ~25 deg yaw): a portrait
    whose far cheek hides its oval."""
    from dexstudio.io.image import load_image
    from dexstudio.render.warp import WarpAnimator, WarpSettings

    a = WarpAnimator(WarpSettings(reveal=None))
    try:
        st = a.prepare(load_image(sample_portrait))
        own = st.own_motion
        return a.render(st, replace(own, euler=(own.euler[0] + 35.0, *own.euler[1:])))
    finally:
        a.close()


def _turn_back(image: np.ndarray, no_pins: bool, monkeypatch) -> list[int]:
    from dexstudio.render.warp import WarpAnimator

    if no_pins:
        monkeypatch.setattr(animator_mod, "outline_vertices", lambda *a, **k: np.zeros(0, np.int64))
    a = WarpAnimator()
    try:
        st = a.prepare(image)
        assert (len(st.payload.outline_pins) > 0) != no_pins
        own = st.own_motion
        return [drawn_out_pixels(a, st, a.render_frame(st, replace(own, euler=(own.euler[0] + d, *own.euler[1:]))))
                for d in (-10.0, -20.0)]
    finally:
        a.close()
        monkeypatch.undo()


def test_a_frontal_portrait_needs_no_pins_beyond_its_oval(sample_state) -> None:
    assert len(sample_state.payload.outline_pins) == 0


def test_a_turned_portrait_turning_back_keeps_its_far_cheek_edge(turned_sample, monkeypatch) -> None:
    """Measured: 176 / 187 drawn-out pixels beside the face turning back by 10 / 20 deg
    (eased by the reveal limit); 348 / 357 with the field pinned on the oval only."""
    pinned = _turn_back(turned_sample, False, monkeypatch)
    oval_only = _turn_back(turned_sample, True, monkeypatch)
    assert max(pinned) <= 260, pinned
    assert sum(pinned) < 0.7 * sum(oval_only), (pinned, oval_only)


@pytest.mark.media
def test_a_three_quarter_painting_turning_to_the_front(media_dir) -> None:
    """liveportrait_s10 (three-quarter) on dagan_driving frames 40-136: drawn-out pixels
    beside the face, mean 243 per frame (worst 621); 884 (worst 1630) with the field
    pinned on the oval only (a smeared band along the far cheek)."""
    from dexstudio.commands.animate import MotionOptions, track_to_motion
    from dexstudio.io.image import load_image
    from dexstudio.motion.extract import run_extraction
    from dexstudio.render.base import FrameMotion
    from dexstudio.render.warp import WarpAnimator

    a = WarpAnimator()
    try:
        st = a.prepare(load_image(media_dir / "source" / "liveportrait_s10.jpg"))
        tr = run_extraction(media_dir / "driving" / "dagan_driving.mp4").track
        ev = track_to_motion(tr, st.own_motion, MotionOptions())
        counts = [drawn_out_pixels(a, st, a.render_frame(st, FrameMotion.from_evaluated(ev, i, "m"),
                                                         tr.expression_model))
                  for i in range(40, 140, 4)]
    finally:
        a.close()
    assert np.mean(counts) <= 400, counts
