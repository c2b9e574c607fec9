"""Shared fixtures for the warp animator tests: one prepared bundled sample per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def warp_animator():
    from dexstudio.render.warp import WarpAnimator

    a = WarpAnimator()
    yield a
    a.close()


@pytest.fixture(scope="session")
def sample_state(warp_animator, sample_portrait):
    from dexstudio.io.image import load_image

    return warp_animator.prepare(load_image(sample_portrait))
