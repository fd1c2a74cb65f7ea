"""Geometric and photometric augmentation: one affine warp per sample (crop, rotation, scale, mirror flip with
left/right keypoint swap), then brightness, contrast, gamma, blur and noise on the float image."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Photometric:
    """Ranges of the photometric jitter (uniform draws; ``p_blur``/``p_noise`` are probabilities)."""

    brightness: float = 0.2  # added, image in [0, 1]
    contrast: tuple[float, float] = (0.6, 1.5)
    gamma: tuple[float, float] = (0.6, 1.6)
    blur_sigma: tuple[float, float] = (0.0, 1.5)
    p_blur: float = 0.5
    noise_sigma: tuple[float, float] = (0.0, 0.04)
    p_noise: float = 0.5


def affine_matrix(centre: np.ndarray, angle: float, scale: float, flip: bool, out_size: tuple[int, int]) -> np.ndarray:
    """``(2, 3) float64`` source pixel -> output pixel: translate ``centre`` to the output centre, rotate by
    ``angle`` (radians, counter-clockwise in the image), scale, then mirror x when ``flip``."""
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    lin = np.array([[c, s], [-s, c]])
    if flip:
        lin = np.diag([-1.0, 1.0]) @ lin
    out_centre = (np.asarray(out_size, dtype=np.float64) - 1) / 2
    return np.hstack([lin, (out_centre - lin @ np.asarray(centre, dtype=np.float64))[:, None]])


def apply_affine(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points (..., 2)`` through the ``(2, 3)`` matrix (NaN stays NaN)."""
    return points @ m[:, :2].T + m[:, 2]


def invert_affine(m: np.ndarray) -> np.ndarray:
    """The inverse ``(2, 3)`` affine matrix."""
    return cv2.invertAffineTransform(m.astype(np.float64))


def warp(image: np.ndarray, m: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """``image (H, W) uint8`` resampled into ``out_size`` (w, h) through ``m`` (bilinear, edges replicated;
    area-averaged first when shrinking by more than 2x)."""
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if scale < 0.5:
        k = int(1 / scale)
        small = cv2.resize(image, (image.shape[1] // k, image.shape[0] // k), interpolation=cv2.INTER_AREA)
        pre = np.array([[image.shape[1] / small.shape[1], 0, 0], [0, image.shape[0] / small.shape[0], 0]])
        # small pixel p -> source pixel (p + 0.5) * f - 0.5
        pre[:, 2] = (pre[0, 0] - 1) / 2, (pre[1, 1] - 1) / 2
        m = np.hstack([m[:, :2] @ pre[:, :2], (m[:, :2] @ pre[:, 2] + m[:, 2])[:, None]])
        image = small
    return cv2.warpAffine(image, m, out_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def photometric(image: np.ndarray, rng: np.random.Generator, spec: Photometric) -> np.ndarray:
    """``image (h, w) float32`` in [0, 1] with brightness, contrast, gamma, blur and noise jitter."""
    img = np.clip(image, 0.0, 1.0) ** rng.uniform(*spec.gamma)
    mean = float(img.mean())
    img = (img - mean) * rng.uniform(*spec.contrast) + mean + rng.uniform(-spec.brightness, spec.brightness)
    if rng.random() < spec.p_blur:
        sigma = rng.uniform(*spec.blur_sigma)
        if sigma > 0.3:
            img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < spec.p_noise:
        img = img + rng.normal(0.0, rng.uniform(*spec.noise_sigma), img.shape).astype(np.float32)
    return np.clip(img, 0.0, 1.0).astype(np.float32)
