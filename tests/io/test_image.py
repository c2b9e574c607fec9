import shutil

import numpy as np
import pytest
from PIL import Image

from dexstudio.core.errors import NotAnImageError, OutputError, UnreadableFileError
from dexstudio.io.image import (
    NEUTRAL_BACKGROUND,
    image_content_hash,
    load_image,
    read_image,
    save_image,
)


def _pattern(h=20, w=40):
    """Asymmetric test picture: red left half, blue right half, a green top-left pixel."""
    a = np.zeros((h, w, 3), np.uint8)
    a[:, : w // 2] = (255, 0, 0)
    a[:, w // 2:] = (0, 0, 255)
    a[0, 0] = (0, 255, 0)
    return a


def test_png_round_trip_is_exact_and_atomic(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (31, 17, 3), dtype=np.uint8)
    p = tmp_path / "a.png"
    save_image(p, a)
    b = load_image(p)
    assert b.dtype == np.uint8 and b.shape == (31, 17, 3)
    assert b.flags.writeable and b.flags.c_contiguous
    np.testing.assert_array_equal(a, b)
    assert [f.name for f in tmp_path.iterdir()] == ["a.png"]


@pytest.mark.parametrize("orientation, expected", [
    (1, lambda a: a),
    (3, lambda a: np.rot90(a, 2)),
    (6, lambda a: np.rot90(a, -1)),  # stored sideways; shown rotated 90 deg clockwise
    (8, lambda a: np.rot90(a, 1)),
])
def test_exif_orientation_is_applied(tmp_path, orientation, expected):
    a = _pattern(32, 64)
    img = Image.fromarray(a)
    exif = img.getexif()
    exif[0x0112] = orientation
    p = tmp_path / f"o{orientation}.jpg"
    img.save(p, quality=98, exif=exif.tobytes())
    d = read_image(p)
    assert d.orientation == orientation
    want = expected(a)
    assert d.rgb.shape == want.shape
    # JPEG is lossy: compare the two big halves' mean colour
    assert np.abs(d.rgb.astype(int) - want.astype(int)).mean() < 6


def test_rgba_is_composited_over_neutral_grey_and_alpha_kept(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255  # red
    rgba[:, :4, 3] = 255  # left opaque, right fully transparent
    p = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(p)
    out = load_image(p)
    assert out.shape == (8, 8, 3)
    np.testing.assert_array_equal(out[:, :4], np.broadcast_to([255, 0, 0], (8, 4, 3)))
    np.testing.assert_array_equal(out[:, 4:], np.broadcast_to(NEUTRAL_BACKGROUND, (8, 4, 3)))
    d = read_image(p)
    assert d.alpha is not None and d.alpha.shape == (8, 8)
    assert (d.alpha[:, :4] == 255).all() and (d.alpha[:, 4:] == 0).all()
    white = load_image(p, background=(255, 255, 255))
    assert (white[:, 4:] == 255).all()


def test_half_transparent_composite_rounds(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = 128
    p = tmp_path / "h.png"
    Image.fromarray(rgba, "RGBA").save(p)
    v = load_image(p, background=(0, 0, 0))[0, 0, 0]
    assert v == round(200 * 128 / 255)


def test_grayscale_and_16bit(tmp_path):
    g = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    Image.fromarray(g, "L").save(tmp_path / "g.png")
    out = load_image(tmp_path / "g.png")
    assert out.shape == (8, 8, 3)
    np.testing.assert_array_equal(out[..., 0], g)
    np.testing.assert_array_equal(out[..., 2], g)

    g16 = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode in ("I;16", "I")
    out16 = load_image(tmp_path / "g16.png")
    assert out16.dtype == np.uint8 and out16.shape == (8, 8, 3)
    np.testing.assert_array_equal(out16[..., 1], np.round(g16.astype(np.int64) * 255 / 65535).astype(np.uint8))


def test_cmyk_and_palette(tmp_path):
    Image.new("CMYK", (10, 6), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)
    c = load_image(tmp_path / "c.jpg")
    assert c.shape == (6, 10, 3)
    assert c[..., 0].mean() > 230 and c[..., 1].mean() < 25 and c[..., 2].mean() < 25

    p = Image.new("P", (4, 4), 1)
    p.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    p.save(tmp_path / "p.png")
    np.testing.assert_array_equal(load_image(tmp_path / "p.png")[0, 0], [10, 200, 30])


def test_unicode_path(tmp_path):
    folder = tmp_path / "portraits été 肖像"
    folder.mkdir()
    p = folder / "visage_😀.jpg"
    save_image(p, _pattern())
    assert load_image(p).shape == (20, 40, 3)


def test_missing_and_folder_are_unreadable(tmp_path):
    with pytest.raises(UnreadableFileError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(UnreadableFileError, match="folder"):
        load_image(tmp_path)


def test_permission_denied_is_typed_even_as_root(tmp_path, monkeypatch):
    import errno

    p = tmp_path / "a.png"
    save_image(p, _pattern())

    def deny(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("dexstudio.io.image.open", deny, raising=False)
    with pytest.raises(UnreadableFileError, match="permission"):
        load_image(p)


def test_text_file_and_renamed_video_are_not_images(tmp_path, sample_driving):
    t = tmp_path / "notes.jpg"
    t.write_text("hello, this is not a picture\n")
    with pytest.raises(NotAnImageError, match="not an image"):
        load_image(t)
    v = tmp_path / "clip.jpg"
    shutil.copy(sample_driving, v)
    with pytest.raises(NotAnImageError, match="video"):
        load_image(v)


def test_truncated_jpeg_is_not_an_image(tmp_path):
    p = tmp_path / "full.jpg"
    save_image(p, np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = p.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotAnImageError, match="damaged"):
        load_image(cut)


def test_content_hash_path_equals_array_and_detects_change(tmp_path, sample_portrait):
    a = load_image(sample_portrait)
    h = image_content_hash(sample_portrait)
    assert h == image_content_hash(a)
    b = a.copy()
    b[10, 10, 0] ^= 1
    assert image_content_hash(b) != h
    assert image_content_hash(a[:, :-1]) != h  # shape is part of the key


def test_save_rejects_unknown_extension(tmp_path):
    with pytest.raises(OutputError, match="unknown extension"):
        save_image(tmp_path / "a.xyz", _pattern())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.media
def test_large_image_loads_contiguous(media_dir):
    a = load_image(media_dir / "source" / "hallo_reference_7.jpg")
    assert a.shape == (3511, 3511, 3) and a.dtype == np.uint8
    assert a.flags.c_contiguous and a.flags.owndata


def _landscape_pattern() -> np.ndarray:
    """A smooth picture (lossy codecs keep it) with one bright top-left quarter."""
    a = np.full((48, 64, 3), 60, np.uint8)
    a[:24, :32] = (230, 200, 40)
    return a


@pytest.mark.parametrize("suffix", [".heic", ".avif"])
def test_phone_formats_load(tmp_path, suffix):
    """iPhone photos (HEIC) and AVIF load like any other portrait, upright as stored."""
    if suffix == ".heic":
        pytest.importorskip("pillow_heif")
        from dexstudio.io.image import _heif_support

        _heif_support()  # also registers the writer the test saves with
    a = _landscape_pattern()
    p = tmp_path / f"photo{suffix}"
    Image.fromarray(a).save(p, quality=95)
    got = load_image(p)
    assert got.shape == a.shape
    assert np.abs(got.astype(int) - a).mean() < 6


def test_a_heic_shot_in_portrait_comes_out_upright(tmp_path):
    pytest.importorskip("pillow_heif")
    from dexstudio.io.image import _heif_support

    _heif_support()
    a = _landscape_pattern()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: show it turned 90 deg clockwise
    p = tmp_path / "portrait.heic"
    Image.fromarray(np.ascontiguousarray(np.rot90(a, 1))).save(p, quality=95, exif=exif.tobytes())
    got = load_image(p)
    assert got.shape == a.shape
    assert got[:24, :32].mean() > 150 and got[24:, 32:].mean() < 90


def test_a_heic_is_not_taken_for_a_video(tmp_path, monkeypatch):
    """HEIC shares MP4's container: without its reader it is named, not called a video."""
    import dexstudio.io.image as image_mod

    monkeypatch.setattr(image_mod, "_heif_support", lambda: False)
    p = tmp_path / "IMG_0001.HEIC"
    p.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    with pytest.raises(NotAnImageError, match="HEIC") as e:
        load_image(p)
    assert "pillow-heif" in e.value.hint
