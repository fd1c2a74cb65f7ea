"""Gaussian heatmap targets and sub-pixel peak decoding.

Heatmap cell ``(row i, column j)`` at output stride ``s`` is centred on input pixel ``(s*j + (s-1)/2,
s*i + (s-1)/2)`` (pixel centres at integers, as in OpenCV and DeepLabCut).
"""

from __future__ import annotations

import numpy as np


def cell_to_pixel(cells: np.ndarray, stride: int) -> np.ndarray:
    """Heatmap coordinates (any shape) to input pixel coordinates."""
    return cells * stride + (stride - 1) / 2.0


def pixel_to_cell(pixels: np.ndarray, stride: int) -> np.ndarray:
    """Input pixel coordinates (any shape) to heatmap coordinates."""
    return (pixels - (stride - 1) / 2.0) / stride


def gaussian_targets(points: np.ndarray, shape: tuple[int, int], stride: int, sigma: float) -> np.ndarray:
    """``(K, h, w) float32`` Gaussians of peak 1 at ``points (K, 2)`` input pixels (x, y); NaN points give
    all-zero maps. ``sigma`` is in heatmap cells."""
    h, w = shape
    cells = pixel_to_cell(np.asarray(points, dtype=np.float64), stride)
    ys = np.arange(h, dtype=np.float64)
    xs = np.arange(w, dtype=np.float64)
    gx = np.exp(-((xs[None, :] - cells[:, :1]) ** 2) / (2 * sigma**2))  # (K, w)
    gy = np.exp(-((ys[None, :] - cells[:, 1:2]) ** 2) / (2 * sigma**2))  # (K, h)
    maps = gy[:, :, None] * gx[:, None, :]
    maps[~np.isfinite(maps)] = 0.0
    return maps.astype(np.float32)


def decode_peaks(heatmaps: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel peaks of ``heatmaps (..., K, h, w)``: ``(xy (..., K, 2) float64`` input pixels,
    ``confidence (..., K)`` the peak value clipped to [0, 1]).

    The arg-max cell is refined by a separable Gaussian fit through it and its two neighbours per axis
    (a parabola through the log values: exact for a Gaussian peak), the offset clipped to half a cell.
    """
    hm = np.asarray(heatmaps, dtype=np.float64)
    lead, (h, w) = hm.shape[:-2], hm.shape[-2:]
    flat = hm.reshape(-1, h, w)
    n = flat.shape[0]
    idx = flat.reshape(n, -1).argmax(axis=1)
    iy, ix = np.divmod(idx, w)
    peak = flat[np.arange(n), iy, ix]
    logs = np.log(np.clip(flat, 1e-6, None))

    def offset(prev: np.ndarray, centre: np.ndarray, nxt: np.ndarray, valid: np.ndarray) -> np.ndarray:
        denom = prev - 2 * centre + nxt
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(valid & (denom < -1e-9), 0.5 * (prev - nxt) / denom, 0.0)
        return np.clip(d, -0.5, 0.5)

    r = np.arange(n)
    okx = (ix > 0) & (ix < w - 1)
    oky = (iy > 0) & (iy < h - 1)
    cx, cy = np.clip(ix, 1, w - 2), np.clip(iy, 1, h - 2)
    dx = offset(logs[r, iy, cx - 1], logs[r, iy, cx], logs[r, iy, cx + 1], okx)
    dy = offset(logs[r, cy - 1, ix], logs[r, cy, ix], logs[r, cy + 1, ix], oky)
    xy = cell_to_pixel(np.stack([ix + dx, iy + dy], axis=-1), stride)
    return xy.reshape(*lead, 2), np.clip(peak, 0.0, 1.0).reshape(lead)
