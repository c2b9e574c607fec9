"""Device choice, source cache, crop window."""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.render.base import SourceOptions
from dexstudio.render.device import DeviceError, choose_device
from dexstudio.render.source_cache import SourceCache, image_content_hash
from dexstudio.render.warp.crop import choose_crop, extract_crop


def test_device_choice() -> None:
    assert choose_device("cpu") == "cpu"
    assert choose_device("auto") in ("cpu", "cuda", "mps")
    with pytest.raises(DeviceError):
        choose_device("tpu")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(DeviceError) as e:
            choose_device("cuda")
        assert "--device" in str(e.value)


def test_source_cache_hits_on_same_pixels(warp_animator, sample_portrait) -> None:
    from dexstudio.io.image import load_image

    img = load_image(sample_portrait)
    cache = SourceCache(max_entries=2)
    a = cache.get_or_prepare(warp_animator, img, SourceOptions(crop_size=128))
    b = cache.get_or_prepare(warp_animator, img.copy(), SourceOptions(crop_size=128))
    assert a is b and cache.hits == 1 and cache.misses == 1
    c = cache.get_or_prepare(warp_animator, img, SourceOptions(crop_size=160))
    assert c is not a and len(cache) == 2
    assert image_content_hash(img) != image_content_hash(img[::-1].copy())


def test_crop_window_stays_inside_when_it_can() -> None:
    lm = np.zeros((478, 3))
    lm[:, 0] = np.linspace(200, 300, 478)
    lm[:, 1] = np.linspace(380, 500, 478)  # a face near the bottom of a 512 image
    box = choose_crop(lm, 256, image_shape=(512, 512, 3))
    assert box.y0 + box.side <= 512 + 1e-6 and box.x0 >= 0
    assert box.y0 <= 380 and box.y0 + box.side >= 500  # the face stays inside
    img = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    crop = extract_crop(img, box)
    assert crop.shape == (256, 256, 3)
    pts = box.to_crop(np.array([[250.0, 440.0, 0.0]]))
    assert np.allclose(box.to_image(pts), [[250.0, 440.0, 0.0]])
