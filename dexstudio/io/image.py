"""Still images: load any common image as ``(H, W, 3) uint8`` RGB, save atomically, hash.

Loading rules (what :func:`load_image` returns):

- EXIF orientation is applied (a phone photo shot in portrait comes out upright) and
  the returned pixels are what a viewer shows.
- HEIC / HEIF (iPhone photos) are read through ``pillow-heif`` (a dependency; its
  rotation and mirroring are applied as the file states); AVIF through Pillow.
- Transparency (RGBA, LA, palette with a transparent index) is composited over a
  neutral mid-grey (:data:`NEUTRAL_BACKGROUND`, or the ``background`` you pass). The
  alpha channel itself is available from :func:`read_image` (``DecodedImage.alpha``).
- Grayscale and 1-bit images are replicated to three channels; 16-bit (``I;16``, ``I``)
  images are scaled to 8 bits (``round(v * 255 / 65535)``); CMYK is converted to RGB;
  multi-frame files (GIF, TIFF) give their first frame. ICC profiles are ignored (pixels
  are taken as sRGB).
- Large images (3511x3511 and up) are decoded once; peak memory is about 3.4 times the
  returned array (Pillow's 4-byte internal pixels + the 3-byte output), with no extra
  copies for the common 8-bit RGB case.

Errors a user can cause are typed: :class:`UnreadableFileError` (missing, a folder, no
permission) and :class:`NotAnImageError` (a text file, a video renamed ``.jpg``, a
damaged image).
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from dexstudio.core.hashing import array_content_hash
from dexstudio.core.errors import MediaError, NotAnImageError, OutputError, UnreadableFileError
from dexstudio.io.atomic import atomic_path

PathLike = Union[str, "os.PathLike[str]"]

#: Background that transparent pixels are composited over (RGB, mid-grey).
NEUTRAL_BACKGROUND: tuple[int, int, int] = (128, 128, 128)

_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}

# Container signatures of common video/audio files, to say "this is a video" instead of
# a generic "not an image" when someone picks a clip (or a clip renamed .jpg). HEIF and
# AVIF stills share the ISO container (``ftyp``) with MP4; their brands tell them apart.
_VIDEO_MAGIC_AT_4 = (b"ftyp", b"moov", b"mdat", b"wide", b"free")
_VIDEO_MAGIC_AT_0 = (b"\x1a\x45\xdf\xa3", b"OggS", b"FLV", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")

_STILL_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")

_SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
                 ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


@dataclass(frozen=True)
class DecodedImage:
    """A decoded still image, upright (EXIF orientation applied).

    Attributes:
        rgb: ``(H, W, 3) uint8`` colour, NOT composited (transparent pixels keep the
            colour stored under them).
        alpha: ``(H, W) uint8`` opacity (255 = opaque) or None when the file has none.
        orientation: the EXIF orientation tag that was applied (1 = none).
        format: Pillow's format name (``"JPEG"``, ``"PNG"``, ...).
    """

    rgb: np.ndarray
    alpha: Optional[np.ndarray]
    orientation: int
    format: str


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(12)
    except OSError:
        return b""


def _is_heif_still(head: bytes) -> bool:
    """An ISO-container still image (HEIC, HEIF, AVIF), by its ``ftyp`` brand."""
    return head[4:8] == b"ftyp" and head[8:12] in _STILL_BRANDS


def _looks_like_video(head: bytes) -> bool:
    """A video or audio container, by the file's first 12 bytes (:func:`_head`)."""
    if _is_heif_still(head):
        return False
    return head[4:8] in _VIDEO_MAGIC_AT_4 or head.startswith(_VIDEO_MAGIC_AT_0) or (
        head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"WAVE"))


@functools.lru_cache(maxsize=1)
def _heif_support() -> bool:
    """Register ``pillow-heif``'s HEIC / HEIF opener with Pillow (once); False when it
    is not installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise UnreadableFileError(f"image {path} does not exist",
                                  "check the path (and that the drive is mounted)")
    if path.is_dir():
        raise UnreadableFileError(f"{path} is a folder, not an image",
                                  "choose an image file inside it (PNG, JPEG, WebP, TIFF, BMP)")


def _scale_16bit(a: np.ndarray) -> np.ndarray:
    """``(H, W)`` 16-bit range integers -> uint8, ``round(v * 255 / 65535)``."""
    a32 = np.clip(a, 0, 65535).astype(np.uint32)
    return ((a32 * 255 + 32767) // 65535).astype(np.uint8)


def _to_rgb_alpha(img: Image.Image) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Pillow image of any mode -> (``(H, W, 3) uint8``, ``(H, W) uint8`` or None)."""
    mode = img.mode
    if mode == "RGB":
        return np.array(img), None  # one conversion from Pillow's 4-byte pixels
    if mode.startswith("I;16") or mode == "I":
        gray = _scale_16bit(np.asarray(img))
        return np.repeat(gray[:, :, None], 3, axis=2), None
    if mode == "F":
        f = np.asarray(img, dtype=np.float32)
        scale = 255.0 if float(np.nanmax(f, initial=0.0)) <= 1.0 else 1.0
        gray = np.clip(np.nan_to_num(f) * scale + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2), None
    if mode in ("L", "1"):
        gray = np.asarray(img.convert("L") if mode == "1" else img)
        return np.repeat(gray[:, :, None], 3, axis=2), None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = np.array(img.convert("RGBA"))
        alpha = rgba[:, :, 3].copy()
        if alpha.min() == 255:  # an alpha channel that is fully opaque carries nothing
            alpha = None
        return np.ascontiguousarray(rgba[:, :, :3]), alpha
    return np.array(img.convert("RGB")), None  # CMYK, P, YCbCr, LAB, HSV, ...


def read_image(path: PathLike) -> DecodedImage:
    """Decode ``path`` upright, keeping the alpha channel separate (see module doc).

    Raises:
        UnreadableFileError: missing path, a folder, or no permission to read it.
        NotAnImageError: the file is not a readable still image (text, video, damaged).
        MediaError: the image is too large to decode safely.
    """
    p = Path(path)
    _check_readable(p)
    head = _head(p)
    heif = _is_heif_still(head) and _heif_support()
    try:
        with open(p, "rb") as f:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(f)
                img.load()
            fmt = img.format or "?"
            try:
                orientation = int(img.getexif().get(_EXIF_ORIENTATION, 1))
            except Exception:  # malformed EXIF blocks must not make the image unreadable
                orientation = 1
    except PermissionError:
        raise UnreadableFileError(f"no permission to read {p}",
                                  "check the file's permissions or copy it somewhere readable") from None
    except IsADirectoryError:  # pragma: no cover - caught by _check_readable
        raise UnreadableFileError(f"{p} is a folder, not an image", "choose an image file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError(f"{p} is too large to load safely",
                         "downscale the image below 89 megapixels first") from None
    except UnidentifiedImageError:
        if _is_heif_still(head) and not heif:
            raise NotAnImageError(f"{p} is a HEIC / HEIF photo and the HEIF reader is not installed",
                                  "install it with `pip install pillow-heif`, or save the photo as "
                                  "JPEG or PNG") from None
        if _looks_like_video(head):
            raise NotAnImageError(f"{p} is a video or audio file, not a still image",
                                  "use it as the driving clip, or export one frame of it as PNG") from None
        raise NotAnImageError(f"{p} is not an image DeX Studio can read",
                              "use a PNG, JPEG, HEIC, WebP, AVIF, TIFF or BMP portrait") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotAnImageError(f"{p} is damaged or truncated ({exc})",
                              "re-export or re-download the image") from None
    for method in _TRANSPOSE.get(orientation, ()):
        img = img.transpose(method)
    rgb, alpha = _to_rgb_alpha(img)
    return DecodedImage(rgb=rgb, alpha=alpha, orientation=orientation, format=fmt)


def composite_over(rgb: np.ndarray, alpha: np.ndarray,
                   background: tuple[int, int, int] = NEUTRAL_BACKGROUND) -> np.ndarray:
    """Composite ``(H, W, 3) uint8`` colour with ``(H, W) uint8`` alpha over a flat colour.

    Returns a new ``(H, W, 3) uint8`` array; rounding is exact integer arithmetic.
    """
    a = alpha.astype(np.uint16)[:, :, None]
    bg = np.asarray(background, dtype=np.uint16)
    out = rgb.astype(np.uint16) * a
    out += bg * (255 - a)
    out += 127
    out //= 255
    return out.astype(np.uint8)


def load_image(path: PathLike, background: tuple[int, int, int] = NEUTRAL_BACKGROUND) -> np.ndarray:
    """Load ``path`` as an upright ``(H, W, 3) uint8`` RGB array (see module doc).

    Transparent pixels are composited over ``background`` (default mid-grey).
    Raises the typed errors of :func:`read_image`.
    """
    decoded = read_image(path)
    if decoded.alpha is None:
        return decoded.rgb
    return composite_over(decoded.rgb, decoded.alpha, background)


def save_image(path: PathLike, rgb: np.ndarray, quality: int = 95) -> None:
    """Write an ``(H, W, 3) uint8`` RGB (or ``(H, W, 4)`` RGBA) array atomically.

    The format follows the extension (``.png .jpg .jpeg .webp .bmp .tif .tiff``);
    ``quality`` applies to JPEG/WebP. A failure leaves any previous file intact.

    Raises:
        OutputError: unsupported extension, or the folder cannot be written.
        ValueError: ``rgb`` is not a uint8 image array.
    """
    p = Path(path)
    fmt = _SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise OutputError(f"cannot save an image as {p.name}: unknown extension {p.suffix!r}",
                          "use .png (lossless) or .jpg")
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"save_image needs an (H, W, 3|4) uint8 array, got {arr.dtype} {arr.shape}")
    if arr.shape[2] == 4 and fmt in ("JPEG", "BMP"):
        arr = arr[:, :, :3]
    img = Image.fromarray(np.ascontiguousarray(arr), "RGBA" if arr.shape[2] == 4 else "RGB")
    options: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    if fmt == "PNG":
        options["compress_level"] = 6
    with atomic_path(p, suffix=p.suffix) as tmp:
        img.save(tmp, format=fmt, **options)


def image_content_hash(image: Union[np.ndarray, PathLike]) -> str:
    """SHA-256 hex digest of the decoded pixels (shape + bytes), a cache key.

    A path is decoded with :func:`load_image` first, so ``image_content_hash(path) ==
    image_content_hash(load_image(path))``; two files with the same pixels (a PNG and its
    re-save) hash the same, and an EXIF-rotated JPEG hashes as the upright picture.
    """
    arr = load_image(image) if not isinstance(image, np.ndarray) else image
    return array_content_hash(arr)

