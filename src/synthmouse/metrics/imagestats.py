"""Per-frame image statistics and how well the synthetic frames cover the real ones.

Statistics per frame (grayscale): brightness (mean intensity), contrast (intensity standard deviation) and,
for the mouse (a synthmouse dataset's rendered masks where available, otherwise found by background subtraction:
per-pixel median background of the set, the largest blob that differs from it,
:func:`synthmouse.appearance.estimate.foreground_masks`), its size (% of the image), position
(centroid as a fraction of width and height), orientation (axis of the blob's second moments, degrees
counter-clockwise from the image's x axis, in ``[0, 180)``) and mean intensity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..appearance.estimate import background_plate, foreground_masks
from .errors import MetricsError
from .frames import FrameSet, ProgressFn

STATISTICS: dict[str, tuple[str, str]] = {  # name -> (label, unit)
    "brightness": ("brightness (mean intensity)", "0-255"),
    "contrast": ("contrast (intensity std)", "0-255"),
    "mouse_area": ("mouse size", "% of image"),
    "mouse_x": ("mouse position x", "fraction of width"),
    "mouse_y": ("mouse position y", "fraction of height"),
    "mouse_orientation": ("mouse orientation", "degrees, axial"),
    "mouse_intensity": ("mouse intensity (mean inside the mouse)", "0-255"),
}
CIRCULAR = {"mouse_orientation": 180.0}  # axial angles wrap at 180 degrees
ORIENTATION_TOLERANCE_DEG = 10.0
RELATIVE_TOLERANCE = 0.05
"""Two medians within this fraction of the real median (or within the real frames' own between-frame standard
deviation, whichever is larger) are equal: 172 against 175 brightness is no difference."""
NARROW_SHARE = 0.10
"""A statistic whose medians agree is still reported when more than this share of the real frames lies outside
the synthetic range (by more than the tolerance): the synthetic frames are too uniform."""
MIN_OVERLAP = 0.5
"""The orientation (axial, its median is meaningless) differs when its histograms overlap less than this."""


def mouse_masks(images: np.ndarray, work_width: int = 320) -> tuple[np.ndarray, float]:
    """The mouse in each frame by background subtraction, at a reduced size.

    Args:
        images: ``(F, H, W) uint8``.

    Returns:
        ``(F, h, w) bool`` masks at ``work_width`` pixels wide (empty where nothing was found) and the scale
        from full to reduced size.
    """

    small, scale = _shrink(images, work_width)
    stack = small[..., None]
    plate = background_plate(stack) if len(small) >= 3 else np.full_like(stack[0], np.median(small))
    return foreground_masks(stack, plate)[..., 0], scale


def _shrink(images: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    n, h, w = images.shape
    if w <= width:
        return images, 1.0
    scale = width / w
    size = (width, max(1, int(round(h * scale))))
    return np.stack([cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in images]), scale


def blob_statistics(mask: np.ndarray) -> tuple[float, float, float, float]:
    """Area fraction, centroid ``(x, y)`` as fractions of width/height and axial orientation (degrees CCW
    from the image x axis, ``[0, 180)``) of a ``(h, w) bool`` mask; NaNs when it is empty."""
    h, w = mask.shape
    m = cv2.moments(mask.astype(np.uint8), binaryImage=True)
    if m["m00"] <= 0:
        return (np.nan,) * 4
    cx, cy = m["m10"] / m["m00"], m["m01"] / m["m00"]
    theta = 0.5 * np.arctan2(2.0 * m["mu11"], m["mu20"] - m["mu02"])  # image axes: y down
    angle = float(np.degrees(-theta) % 180.0)  # counter-clockwise as seen on screen
    return float(m["m00"] / (h * w)), float((cx + 0.5) / w), float((cy + 0.5) / h), angle


def image_statistics(
    frames: FrameSet,
    masks: Iterable[np.ndarray] | None = None,
    work_width: int = 320,
    progress: ProgressFn | None = None,
) -> dict[str, np.ndarray]:
    """Every statistic of :data:`STATISTICS` for each frame: ``{name: (F,) float64}`` (NaN where no mouse).

    Args:
        masks: the mouse mask of each frame (``(H, W) bool``, e.g. a synthmouse dataset's rendered masks, see
            :func:`synthmouse.metrics.frames.render_masks`); without them the mouse is found by background
            subtraction at ``work_width`` pixels wide.
    """
    images = frames.images
    if masks is None:
        masks, _ = mouse_masks(images, work_width)
        small, _ = _shrink(images, work_width)
    else:
        small = images
    out = {name: np.full(len(images), np.nan) for name in STATISTICS}
    out["brightness"] = images.reshape(len(images), -1).mean(axis=1).astype(np.float64)
    out["contrast"] = images.reshape(len(images), -1).std(axis=1).astype(np.float64)
    for i, mask in enumerate(masks):
        if mask.shape != small[i].shape:
            raise MetricsError(
                f"{frames.name} frame {frames.keys[i]}: mask {mask.shape} does not match the image {small[i].shape}"
            )
        area, x, y, angle = blob_statistics(mask)
        out["mouse_area"][i] = 100.0 * area
        out["mouse_x"][i], out["mouse_y"][i], out["mouse_orientation"][i] = x, y, angle
        if mask.any():
            out["mouse_intensity"][i] = float(small[i][mask].mean())
        if progress is not None:
            progress(f"image statistics: {frames.name}", i + 1, len(images))
    return out


@dataclass(frozen=True)
class StatisticComparison:
    """One statistic, real against synthetic.

    Attributes:
        overlap: histogram intersection of the two distributions (1: identical, 0: disjoint).
        outside: share of real frames with no synthetic frame close in this statistic (more than ``tolerance``
            outside the synthetic range; for the orientation: more than 10 degrees from every synthetic frame).
        outside_frames: indices of those real frames.
        tolerance: the largest median difference that counts as equal: the real frames' between-frame standard
            deviation or :data:`RELATIVE_TOLERANCE` of the real median, whichever is larger (orientation:
            :data:`ORIENTATION_TOLERANCE_DEG`).
        status: ``matches``; ``differs`` (medians further apart than ``tolerance``; orientation: histogram
            overlap below :data:`MIN_OVERLAP`); ``narrower`` (medians agree but more than :data:`NARROW_SHARE` of
            the real frames lie outside the synthetic range); ``unknown`` (no values on a side).
    """

    name: str
    label: str
    unit: str
    real_median: float
    synthetic_median: float
    overlap: float
    outside: float
    outside_frames: tuple[int, ...]
    n_real: int
    n_synthetic: int
    tolerance: float = float("nan")
    status: str = "unknown"

    @property
    def difference(self) -> float:
        """Synthetic median minus real median (orientation: the signed axial difference, -90..90 degrees)."""
        d = self.synthetic_median - self.real_median
        if self.name in CIRCULAR:
            period = CIRCULAR[self.name]
            d = (d + period / 2) % period - period / 2
        return float(d)

    def to_json(self) -> dict:
        out = {
            k: getattr(self, k)
            for k in (
                "name",
                "unit",
                "real_median",
                "synthetic_median",
                "overlap",
                "outside",
                "n_real",
                "n_synthetic",
                "tolerance",
                "status",
            )
        }
        out["difference"] = self.difference
        return out


def compare_statistic(name: str, real: np.ndarray, synthetic: np.ndarray, bins: int = 24) -> StatisticComparison:
    """Compare one statistic's real ``(F,)`` and synthetic ``(G,)`` values (NaNs ignored)."""
    label, unit = STATISTICS.get(name, (name, ""))
    r_ok, s_ok = np.isfinite(real), np.isfinite(synthetic)
    r, s = real[r_ok], synthetic[s_ok]
    if not len(r) or not len(s):
        return StatisticComparison(
            name, label, unit, _median(r), _median(s), float("nan"), float("nan"), (), len(r), len(s)
        )
    if name in CIRCULAR:
        period = CIRCULAR[name]
        edges = np.linspace(0.0, period, bins + 1)
        gap = np.abs((r[:, None] - s[None, :] + period / 2) % period - period / 2).min(axis=1)
        tolerance = ORIENTATION_TOLERANCE_DEG
        far = gap > tolerance
    else:
        tolerance = statistic_tolerance(r)
        lo, hi = min(r.min(), s.min()), max(r.max(), s.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        far = (r < s.min() - tolerance) | (r > s.max() + tolerance)
    hr = np.histogram(r, edges)[0] / len(r)
    hs = np.histogram(s, edges)[0] / len(s)
    frames = tuple(int(i) for i in np.flatnonzero(r_ok)[far])
    overlap, outside = float(np.minimum(hr, hs).sum()), float(far.mean())
    result = StatisticComparison(
        name, label, unit, _median(r), _median(s), overlap, outside, frames, len(r), len(s), float(tolerance)
    )
    if name in CIRCULAR:
        status = "differs" if overlap < MIN_OVERLAP else ("narrower" if outside > NARROW_SHARE else "matches")
    else:
        status = (
            "differs" if abs(result.difference) > tolerance else "narrower" if outside > NARROW_SHARE else "matches"
        )
    return replace(result, status=status)


def statistic_tolerance(real: np.ndarray) -> float:
    """The largest median difference that counts as equal for real values ``real (F,)`` (finite): their
    between-frame standard deviation or :data:`RELATIVE_TOLERANCE` of their median, whichever is larger."""
    real = np.asarray(real, dtype=np.float64)
    return float(max(np.std(real), RELATIVE_TOLERANCE * abs(float(np.median(real))), 1e-12))


def _median(x: np.ndarray) -> float:
    return float(np.median(x)) if len(x) else float("nan")


def compare_statistics(real: dict[str, np.ndarray], synthetic: dict[str, np.ndarray]) -> list[StatisticComparison]:
    """:func:`compare_statistic` for every statistic both dictionaries hold."""
    return [compare_statistic(n, real[n], synthetic[n]) for n in STATISTICS if n in real and n in synthetic]
