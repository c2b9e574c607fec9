"""Shared test setup: one torch thread, media and gpu markers, bundled-sample paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "resources" / "samples"
MEDIA = Path(os.environ.get("DEXSTUDIO_MEDIA", REPO.parent / "shared" / "media"))


def _torch_single_thread() -> None:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.set_num_threads(1)


_torch_single_thread()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    has_media = (MEDIA / "driving").is_dir()
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    skip_media = pytest.mark.skip(reason=f"real test media not found at {MEDIA} "
                                         "(set DEXSTUDIO_MEDIA or check out ../shared)")
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU; none is available")
    for item in items:
        if "media" in item.keywords and not has_media:
            item.add_marker(skip_media)
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """../shared/media (tests using it must be marked ``@pytest.mark.media``)."""
    return MEDIA


@pytest.fixture(scope="session")
def sample_portrait() -> Path:
    return SAMPLES / "astronaut.png"


@pytest.fixture(scope="session")
def sample_driving() -> Path:
    return SAMPLES / "astronaut_driving.mp4"
