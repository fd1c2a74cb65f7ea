"""Deterministic image encoding (PNG or JPEG) and atomic image files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from ..errors import SynthmouseError
from ..fileio import atomic_open

IMAGE_FORMATS = ("png", "jpg")
PNG_COMPRESSION = 3  # zlib level: OpenCV's default, fast; the bytes depend only on the pixels and this level


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
