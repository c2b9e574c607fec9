"""io.yuv: the OpenCV RGB -> yuv420p conversion matches swscale's BT.709 limited-range one."""

from __future__ import annotations

import av
import numpy as np
import pytest

from dexstudio.io.yuv import rgb_to_yuv420p


def _swscale(rgb: np.ndarray) -> np.ndarray:
    rf = av.video.reformatter
    vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    out = vf.reformat(format="yuv420p", dst_colorspace=rf.Colorspace.ITU709, dst_color_range=rf.ColorRange.MPEG,
                      interpolation=rf.Interpolation.AREA | rf.Interpolation.ACCURATE_RND)
    return out.to_ndarray()


def _test_image(h: int = 96, w: int = 128, noise: int = 40) -> np.ndarray:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:h, 0:w]
    smooth = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (h + w - 2)], -1)
    img = smooth.astype(np.int64) + rng.integers(-noise, noise + 1, (h, w, 3))
    img[:8, :8] = 0
    img[-8:, -8:] = 255  # black and white corners: limits 16 / 235 and neutral chroma
    return np.clip(img, 0, 255).astype(np.uint8)


def _exact_chroma(rgb: np.ndarray) -> np.ndarray:
    """BT.709 limited-range Cb and Cr planes of the exact 2x2 RGB mean, unrounded, packed."""
    h, w = rgb.shape[:2]
    mean = rgb.reshape(h // 2, 2, w // 2, 2, 3).astype(float).mean((1, 3)) / 255
    r, g, b = mean[..., 0], mean[..., 1], mean[..., 2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    cb, cr = 128 + 224 * (b - y) / 1.8556, 128 + 224 * (r - y) / 1.5748
    return np.concatenate([cb.ravel(), cr.ravel()])


@pytest.mark.parametrize("noise", [0, 40])
def test_matches_swscale_within_one_code_value(noise: int) -> None:
    """Within one code value of swscale everywhere, and as close to the exact chroma."""
    rgb = _test_image(noise=noise)
    ours, ref = rgb_to_yuv420p(rgb).astype(int), _swscale(rgb).astype(int)
    assert ours.shape == ref.shape == (96 * 3 // 2, 128)
    diff = np.abs(ours - ref)
    assert diff.max() <= 1
    assert diff[:96].mean() < 0.05
    exact = _exact_chroma(rgb)
    err_ours = np.abs(ours[96:].ravel() - exact).mean()
    err_swscale = np.abs(ref[96:].ravel() - exact).mean()
    assert err_ours < err_swscale + 0.05  # both ~0.25: rounding to integers


def test_limited_range_levels() -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:, 2:] = 255
    yuv = rgb_to_yuv420p(rgb)
    assert (yuv[:4, :2] == 16).all() and (yuv[:4, 2:] == 235).all()
    assert (yuv[4:] == 128).all()  # grey levels have neutral chroma


def test_pure_red_chroma() -> None:
    yuv = rgb_to_yuv420p(np.full((2, 2, 3), (255, 0, 0), np.uint8))
    assert yuv[0, 0] == 63  # 16 + 219 * 0.2126
    assert yuv[2, 0] == 102 and yuv[2, 1] == 240  # Cb, Cr of BT.709 red


@pytest.mark.parametrize("shape", [(5, 4, 3), (4, 5, 3), (4, 4)])
def test_rejects_odd_or_non_rgb(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        rgb_to_yuv420p(np.zeros(shape, np.uint8))
