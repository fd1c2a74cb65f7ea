"""Deterministic image encoding (PNG or JPEG) and atomic image files, including the ground-truth images
(16-bit depth in millimetres, 8-bit mouse mask, 8-bit body-part ids)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from ..errors import SynthmouseError
from ..fileio import atomic_open

IMAGE_FORMATS = ("png", "jpg")
PNG_COMPRESSION = 3  # zlib level: OpenCV's default, fast; the bytes depend only on the pixels and this level
DEPTH_UNIT_M = 0.001  # one step of a depth PNG: a millimetre
DEPTH_MAX = 65535  # the largest depth a 16-bit PNG holds (65.535 m); farther hits are clipped to it


def check_image_format(fmt: str, quality: int) -> str:
    """Normalize ``fmt`` (``png``, ``jpg``/``jpeg``) and check the JPEG quality (1..100)."""
    fmt = fmt.lower().lstrip(".")
    fmt = "jpg" if fmt == "jpeg" else fmt
    if fmt not in IMAGE_FORMATS:
        raise SynthmouseError(f"image format {fmt!r}: allowed {', '.join(IMAGE_FORMATS)}")
    if fmt == "jpg" and not 1 <= int(quality) <= 100:
        raise SynthmouseError(f"JPEG quality {quality}: allowed 1..100")
    return fmt


def encode_image(rgb: np.ndarray, fmt: str = "png", quality: int = 95) -> bytes:
    """Encode an ``(H, W, 3) uint8`` RGB image; the same pixels always give the same bytes."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise SynthmouseError(f"rendered image must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    if fmt == "png":
        ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    else:
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise SynthmouseError(f"OpenCV could not encode a {rgb.shape} image as {fmt}")
    return data.tobytes()


def write_image(path: Path, data: bytes) -> str:
    """Write encoded image bytes atomically; return their sha256 hex digest."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return hashlib.sha256(data).hexdigest()


def depth_to_millimetres(depth: np.ndarray) -> np.ndarray:
    """``(H, W) float`` metres along the camera's z axis (``inf``/NaN where nothing was hit) to ``(H, W)
    uint16`` millimetres, rounded: 0 where nothing was hit, hits clipped to 1 .. 65535 (so 0 always means no
    hit)."""
    depth = np.asarray(depth)
    out = np.empty(depth.shape, np.uint16)
    rows = max(1, _BLOCK_PIXELS // max(1, int(np.prod(depth.shape[1:]))))  # float64 temporaries stay small
    for start in range(0, max(1, depth.shape[0]), rows):
        block = np.asarray(depth[start : start + rows], dtype=np.float64)
        hit = np.isfinite(block) & (block > 0)
        mm = np.rint(np.where(hit, block, 0.0) / DEPTH_UNIT_M)
        out[start : start + rows] = np.where(hit, np.clip(mm, 1, DEPTH_MAX), 0)
    return out


_BLOCK_PIXELS = 1 << 20


def encode_png_channel(image: np.ndarray) -> bytes:
    """Encode a one-channel ``(H, W)`` uint8 or uint16 image as PNG (deterministic bytes)."""
    image = np.ascontiguousarray(image)
    if image.ndim != 2 or image.dtype not in (np.uint8, np.uint16):
        raise SynthmouseError(f"ground-truth image must be (H, W) uint8 or uint16, got {image.shape} {image.dtype}")
    ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise SynthmouseError(f"OpenCV could not encode a {image.shape} {image.dtype} image as PNG")
    return data.tobytes()


def encode_label_image(kind: str, view) -> bytes:
    """PNG bytes of one ground-truth image of a rendered view (:class:`~synthmouse.render.base.CameraView`):
    ``depth`` (uint16 mm, :func:`depth_to_millimetres`), ``mask`` (uint8, 255 on the mouse) or ``parts``
    (uint8 body-part ids, 0 = background)."""
    if kind == "depth":
        return encode_png_channel(depth_to_millimetres(view.depth))
    if kind == "mask":
        return encode_png_channel(np.asarray(view.mask, dtype=bool).astype(np.uint8) * np.uint8(255))
    if kind == "parts":
        return encode_png_channel(np.asarray(view.parts).astype(np.uint8))
    raise SynthmouseError(f"unknown ground-truth image {kind!r}; allowed: depth, mask, parts")


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT, JPG, DAC)


def image_size(head: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the first bytes of a PNG (its IHDR) or JPEG (its start-of-frame segment) file,
    without decoding it; ``None`` when ``head`` is neither or is cut before the size."""
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        if len(head) < 24 or head[12:16] != b"IHDR":
            return None
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        length = int.from_bytes(head[pos + 2 : pos + 4], "big")
        if marker in _JPEG_SOF:
            if pos + 9 > len(head):
                return None
            return int.from_bytes(head[pos + 7 : pos + 9], "big"), int.from_bytes(head[pos + 5 : pos + 7], "big")
        pos += 2 + length
    return None
