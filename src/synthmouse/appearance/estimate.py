"""Estimate an :class:`~synthmouse.appearance.profile.AppearanceProfile` from a user's real video.

Every estimator is a small function over arrays, usable on its own:

* :func:`read_frames`: evenly spaced frames of a video file, or the images of a folder;
* :func:`background_plate`: temporal median with the moving animal masked out;
* :func:`foreground_masks`: background subtraction (the animal);
* :func:`noise_curve`: noise sigma per intensity (Immerkaer's Laplacian estimator on flat regions) and the
  Poisson-Gaussian fit ``sigma^2 = a + b I``;
* :func:`edge_spread_sigma`: Gaussian-equivalent blur from the spread of strong edges;
* :func:`vignetting_fit`: radial brightness fall-off of the floor;
* :func:`blockiness` / :func:`equivalent_jpeg_quality`: compression strength;
* :func:`contact_shadow`: darkening of the floor around the animal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import nnls

from ..io.label_checks import LabelError
from ..io.labels import LABEL_SUFFIXES, read_labels
from ..io.video import VideoError, open_video
from .profile import (
    QUANTILE_LEVELS,
    AnimalStats,
    AppearanceError,
    AppearanceProfile,
    BlurStats,
    CompressionStats,
    LevelsStats,
    NoiseStats,
    PlateFit,
    ProfileFile,
    ShadowStats,
    VignettingStats,
    luma,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
IMMERKAER_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
MIN_FOREGROUND_DN = 20.0

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)`` as a long step advances; ``"step: stage"`` names a stage of one step (the
CLI draws one rich progress bar per step)."""


# ---------------------------------------------------------------------- reading
def read_frames(source: str | Path, max_frames: int = 200, progress: Progress | None = None) -> np.ndarray:
    """Up to ``max_frames`` evenly spaced frames of a video file, or the images of a folder (sorted by name).

    Args:
        progress: ``progress("reading frames", done, total)`` while reading (a video is decoded up to its
            last picked frame, so ``total`` counts decoded frames).

    Returns:
        ``(N, H, W, C) uint8`` RGB frames; ``C = 1`` when every channel is equal (a grayscale camera).
    """
    source = Path(source)
    if source.is_dir():
        frames = _read_image_folder(source, max_frames, progress)
    elif source.is_file():
        frames = _read_video(source, max_frames, progress)
    else:
        raise AppearanceError(f"{source}: no such video file or image folder")
    if not frames:
        raise AppearanceError(f"{source}: no frames could be read")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise AppearanceError(f"{source}: frames have different sizes {sorted(shapes)}")
    stack = np.stack(frames)
    if np.array_equal(stack[..., 0], stack[..., 1]) and np.array_equal(stack[..., 0], stack[..., 2]):
        return np.ascontiguousarray(stack[..., :1])
    return stack


def _read_image_folder(folder: Path, max_frames: int, progress: Progress | None = None) -> list[np.ndarray]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise AppearanceError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    picks = np.unique(np.linspace(0, len(files) - 1, min(max_frames, len(files))).round().astype(int))
    frames = []
    for done, i in enumerate(picks):
        if progress is not None:
            progress("reading frames", done, len(picks))
        image = cv2.imread(str(files[i]), cv2.IMREAD_COLOR)
        if image is None:
            raise AppearanceError(f"{files[i]}: not a readable image")
        frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    if progress is not None:
        progress("reading frames", len(picks), len(picks))
    return frames


def _read_video(path: Path, max_frames: int, progress: Progress | None = None) -> list[np.ndarray]:
    """Up to ``max_frames`` RGB frames spread evenly over the video (the first ones when it has no frame count)."""
    try:
        with open_video(path) as video:
            count = video.n_frames
            wanted = np.linspace(0, max(count - 1, 0), min(max_frames, max(count, 1))).round().astype(int)
            picks = sorted(set(wanted.tolist())) if count > 0 else range(max_frames)
            total = max(picks) + 1 if count > 0 else max_frames
            frames = []
            for index, image in video.frames(picks, "rgb"):
                if progress is not None:
                    progress("reading frames", min(index, total), total)
                frames.append(image)
    except VideoError as exc:
        raise AppearanceError(str(exc)) from None
    if progress is not None:
        progress("reading frames", total, total)
    return frames


# ---------------------------------------------------------------------- plate and foreground
def background_plate(frames: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Clean background: per-pixel median over frames where the pixel is not foreground.

    Args:
        frames: ``(N, H, W, C) uint8``.
        threshold: foreground threshold in DN (default from the residual spread, at least 20).

    Returns:
        ``(H, W, C) uint8``. Pixels that are foreground in every frame keep the plain median.
    """
    frames = np.asarray(frames)
    plain = np.median(frames, axis=0)
    masks = foreground_masks(frames, plain.astype(np.uint8), threshold)
    plate = _masked_median(frames, masks, plain)
    return np.clip(np.round(plate), 0, 255).astype(np.uint8)


def _masked_median(frames: np.ndarray, masks: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """Per-pixel median over the frames where ``masks`` is False, ``plain`` where every frame is masked.

    Computed only where some frame is masked (elsewhere it is the plain median), by one sort with the masked
    samples moved past 255 (what np.nanmedian gives, ten times faster). Returns float64 ``(H, W, C)``.
    """
    touched = masks.any(axis=0)
    data = np.ascontiguousarray(frames[:, touched].T).astype(np.uint16)  # (M, N)
    hidden = masks[:, touched].T
    data[hidden] = 1024
    data.sort(axis=1)
    valid = (~hidden).sum(axis=1)
    rows = np.arange(len(data))
    low = data[rows, np.maximum(valid - 1, 0) // 2].astype(np.float64)
    high = data[rows, valid // 2].astype(np.float64)
    plate = plain.copy()
    plate[touched] = np.where(valid > 0, 0.5 * (low + high), plain[touched])
    return plate


def foreground_masks(
    frames: np.ndarray,
    plate: np.ndarray,
    threshold: float | None = None,
    min_area: int | None = None,
    animals: int | None = 1,
) -> np.ndarray:
    """The moving animal in each frame by background subtraction.

    Args:
        frames: ``(N, H, W, C) uint8``.
        plate: ``(H, W, C) uint8`` background.
        threshold: luma difference (DN) that counts as foreground (default: 6 robust sigmas of the residual,
            at least 20).
        min_area: blobs smaller than this (pixels) are dropped (default 0.05 % of the image).
        animals: keep only this many largest blobs per frame (the animals; other changes such as marks that
            come and go or lighting flicker are dropped); None keeps every blob.

    Returns:
        ``(N, H, W, C) bool`` masks (the same mask repeated over channels, so it indexes ``frames``).
    """
    frames = np.asarray(frames)
    diff = np.abs(luma(frames) - luma(plate)[None])
    if threshold is None:
        mad = float(np.median(diff[:, ::4, ::4]))
        threshold = max(MIN_FOREGROUND_DN, 6.0 * 1.4826 * mad)
    n, h, w = diff.shape
    min_area = int(0.0005 * h * w) if min_area is None else min_area
    kernel = np.ones((3, 3), np.uint8)
    out = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        raw = cv2.morphologyEx((diff[i] > threshold).astype(np.uint8), cv2.MORPH_OPEN, kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(raw, connectivity=8)
        areas = stats[:, cv2.CC_STAT_AREA].copy()
        areas[0] = 0
        keep = areas >= min_area
        if animals is not None and keep.sum() > animals:
            keep[np.argsort(areas)[:-animals]] = False
        out[i] = keep[labels]
    return np.repeat(out[..., None], frames.shape[-1], axis=-1)


# ---------------------------------------------------------------------- noise
def noise_curve(
    frames: np.ndarray,
    plate: np.ndarray,
    masks: np.ndarray | None = None,
    bins: int = 16,
    max_frames: int = 40,
) -> NoiseStats:
    """Noise sigma per intensity from flat regions, and the fit ``sigma^2 = a + b I``.

    Immerkaer's estimator: the response ``L`` of the 3 x 3 kernel ``[[1,-2,1],[-2,4,-2],[1,-2,1]]`` to white
    noise of sigma ``s`` has ``E|L| = 6 s sqrt(2 / pi)``; image structure is excluded where the plate itself
    responds (plate edges) or the animal is.

    Args:
        frames: ``(N, H, W, C) uint8``; plate ``(H, W, C) uint8``; masks ``(N, H, W, C) bool`` foreground.

    Returns:
        :class:`NoiseStats` with per-bin estimates (bins with fewer than 500 pixels are skipped).
    """
    frames = np.asarray(frames)[:max_frames]
    plate_l = luma(plate)
    structure = np.abs(cv2.filter2D(cv2.GaussianBlur(plate_l, (0, 0), 1.0), -1, IMMERKAER_KERNEL))
    flat = structure < max(2.0, float(np.percentile(structure, 70)))
    flat = cv2.erode(flat.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    edges = np.linspace(0.0, 256.0, bins + 1)
    sums = np.zeros(bins)
    counts = np.zeros(bins)
    which = np.clip(np.digitize(plate_l, edges) - 1, 0, bins - 1)
    for i, frame in enumerate(luma(frames)):
        response = np.abs(cv2.filter2D(frame, -1, IMMERKAER_KERNEL))
        use = flat.copy()
        if masks is not None:
            fg = cv2.dilate(masks[i, ..., 0].astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
            use &= ~fg
        use[:2] = use[-2:] = False
        use[:, :2] = use[:, -2:] = False
        r, b = response[use], which[use]
        limit = np.percentile(r, 99.0) if r.size else 0.0
        keep = r <= limit
        sums += np.bincount(b[keep], weights=r[keep], minlength=bins)
        counts += np.bincount(b[keep], minlength=bins)
    scale = math.sqrt(math.pi / 2.0) / 6.0
    centres = 0.5 * (edges[:-1] + edges[1:])
    good = counts >= 500
    sigma = np.where(good, scale * sums / np.maximum(counts, 1), 0.0)
    table = [(float(c), float(s)) for c, s, g in zip(centres, sigma, good, strict=True) if g]
    if not table:
        return NoiseStats(a=0.0, b=0.0, bins=[])
    a, b = _fit_poisson_gaussian(centres[good], sigma[good], counts[good])
    return NoiseStats(a=a, b=b, bins=table)


def _fit_poisson_gaussian(intensity: np.ndarray, sigma: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Non-negative weighted least squares of ``sigma^2 = a + b I``."""
    w = np.sqrt(weight / weight.max())
    A = np.stack([np.ones_like(intensity), intensity], axis=1) * w[:, None]
    coeffs, _ = nnls(A, sigma**2 * w)
    return float(coeffs[0]), float(coeffs[1])


# ---------------------------------------------------------------------- blur
SAMPLING_VARIANCE_PX2 = 0.17  # variance that bilinear sampling + half-pixel differencing add (calibrated)


def edge_spread_sigma(
    image: np.ndarray,
    edge_mask: np.ndarray | None = None,
    min_step: float = 25.0,
    max_edges: int = 2000,
    seed: int = 0,
) -> float:
    """Gaussian-equivalent blur sigma (pixels) from the spread of strong step edges.

    At Canny edge pixels (optionally restricted to ``edge_mask``) the profile across the edge is sampled every
    0.5 px (bilinear); its derivative is the line-spread function, whose variance is ``sigma^2`` for a
    Gaussian blur (plus a calibrated :data:`SAMPLING_VARIANCE_PX2` from the sampling). The window is
    narrowed to about 3.5 sigma in a second pass to keep noise out.

    Args:
        image: ``(H, W)`` luma (any numeric dtype).
        edge_mask: ``(H, W) bool`` where to look (default everywhere).
        min_step: smallest step height (DN) used.

    Returns:
        The median sigma over isolated edges; NaN when there are none.
    """
    img = np.asarray(image, dtype=np.float32)
    smooth = cv2.GaussianBlur(img, (0, 0), 1.0)
    canny = cv2.Canny(np.clip(smooth, 0, 255).astype(np.uint8), 20, 60) > 0
    if edge_mask is not None:
        canny &= edge_mask
    margin = 12
    ys, xs = np.nonzero(canny[margin:-margin, margin:-margin])
    ys, xs = ys + margin, xs + margin
    if len(ys) == 0:
        return float("nan")
    if len(ys) > max_edges:
        pick = np.random.default_rng(seed).choice(len(ys), max_edges, replace=False)
        ys, xs = ys[pick], xs[pick]
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)[ys, xs]
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)[ys, xs]
    norm = np.hypot(gx, gy) + 1e-12
    nx, ny = gx / norm, gy / norm
    radius = 8.0
    sigma = float("nan")
    for _ in range(2):
        t = np.arange(-radius, radius + 0.25, 0.5, dtype=np.float32)
        map_x = (xs[:, None] + nx[:, None] * t[None]).astype(np.float32)
        map_y = (ys[:, None] + ny[:, None] * t[None]).astype(np.float32)
        profiles = cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        d = np.diff(profiles, axis=1)
        tc = 0.5 * (t[1:] + t[:-1])
        h = d.sum(axis=1)
        ok = h >= min_step
        # an isolated edge: the profile's total variation is close to its step
        ok &= np.abs(d).sum(axis=1) < 1.3 * np.abs(h)
        if not np.any(ok):
            return float("nan")
        d, h = d[ok], h[ok]
        mu = (d * tc).sum(axis=1) / h
        var = (d * (tc[None] - mu[:, None]) ** 2).sum(axis=1) / h
        sigma = math.sqrt(max(float(np.median(var)) - SAMPLING_VARIANCE_PX2, 0.0))
        radius = float(np.clip(3.5 * sigma + 1.5, 3.0, 10.0))
    return sigma


# ---------------------------------------------------------------------- vignetting, compression, shadow
def vignetting_fit(plate_luma: np.ndarray, floor_mask: np.ndarray) -> VignettingStats:
    """Fit ``I = I0 (1 + k1 r^2 + k2 r^4)`` (``r`` over the half-diagonal, centre at the image centre) to the
    plate over ``floor_mask`` (robust: one pass that drops residuals over 3 MADs)."""
    h, w = plate_luma.shape
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    ys, xs = np.nonzero(floor_mask[::2, ::2])
    ys, xs = ys * 2, xs * 2
    if len(ys) < 100:
        return VignettingStats(centre=(cx, cy), k1=0.0, k2=0.0)
    r2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / (cx**2 + cy**2)
    values = plate_luma[ys, xs].astype(np.float64)
    A = np.stack([np.ones_like(r2), r2, r2 * r2], axis=1)
    keep = np.ones(len(values), dtype=bool)
    for _ in range(2):
        coeffs, *_ = np.linalg.lstsq(A[keep], values[keep], rcond=None)
        resid = values - A @ coeffs
        mad = np.median(np.abs(resid[keep])) * 1.4826 + 1e-9
        keep = np.abs(resid) < 3.0 * mad
    c0 = coeffs[0] if abs(coeffs[0]) > 1e-9 else 1.0
    return VignettingStats(centre=(cx, cy), k1=float(coeffs[1] / c0), k2=float(coeffs[2] / c0))


def blockiness(image: np.ndarray, block: int = 8) -> float:
    """Mean absolute gradient across ``block``-pixel grid borders over the mean elsewhere (1 = no blocks).

    Args:
        image: ``(H, W)`` luma.
    """
    img = np.asarray(image, dtype=np.float32)
    dx = np.abs(np.diff(img, axis=1))
    dy = np.abs(np.diff(img, axis=0))
    on_x = (np.arange(dx.shape[1]) % block) == block - 1
    on_y = (np.arange(dy.shape[0]) % block) == block - 1
    border = dx[:, on_x].mean() + dy[on_y].mean()
    inside = dx[:, ~on_x].mean() + dy[~on_y].mean()
    return float(border / max(inside, 1e-9))


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (``(H, W)`` or ``(H, W, 3)`` uint8) through JPEG at ``quality`` (OpenCV's libjpeg)."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise AppearanceError(f"JPEG encoding failed for an image of shape {image.shape}")
    flag = cv2.IMREAD_GRAYSCALE if image.ndim == 2 else cv2.IMREAD_COLOR
    return cv2.imdecode(buffer, flag)


def equivalent_jpeg_quality(
    measured: float,
    reference: np.ndarray,
    qualities: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100),
) -> int:
    """The JPEG quality at which ``reference`` (``(H, W)`` uint8, e.g. the plate plus noise) shows the
    ``measured`` blockiness (interpolated; 100 when the measurement is below JPEG 100's)."""
    values = np.array([blockiness(jpeg_roundtrip(reference, q)) for q in qualities])
    # blockiness falls as quality rises; make it monotonic and interpolate quality over it
    values = np.minimum.accumulate(values)
    if measured <= values[-1]:
        return 100
    if measured >= values[0]:
        return int(qualities[0])
    return int(round(float(np.interp(measured, values[::-1], np.array(qualities, float)[::-1]))))


def contact_shadow(
    frames_luma: np.ndarray, plate_luma: np.ndarray, masks: np.ndarray, max_distance: int = 12
) -> ShadowStats:
    """Darkening of the floor around the animal: ``1 - median(frame / plate)`` in 1-pixel rings outside the
    silhouette; strength at distance 2 px (just past the edge blur), radius where it halves.

    Args:
        frames_luma: ``(N, H, W)``; plate_luma ``(H, W)``; masks ``(N, H, W) bool`` foreground.
    """
    sums = np.zeros(max_distance + 1)
    counts = np.zeros(max_distance + 1)
    ratio_all = []
    for frame, mask in zip(frames_luma, masks, strict=True):
        if not mask.any():
            continue
        dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
        ring = (dist > 0) & (dist <= max_distance)
        d = np.ceil(dist[ring]).astype(int)
        ratio = frame[ring] / np.maximum(plate_luma[ring], 1.0)
        ratio_all.append((d, ratio))
    if not ratio_all:
        return ShadowStats(strength=0.0, radius_px=0.0)
    d = np.concatenate([r[0] for r in ratio_all])
    ratio = np.concatenate([r[1] for r in ratio_all])
    darkening = np.zeros(max_distance + 1)
    for k in range(1, max_distance + 1):
        sel = ratio[d == k]
        sums[k], counts[k] = (1.0 - np.median(sel), sel.size) if sel.size else (0.0, 0)
        darkening[k] = sums[k]
    far = float(np.median(darkening[-3:]))
    darkening = np.clip(darkening - far, 0.0, 1.0)
    strength = float(darkening[min(2, max_distance)])
    if strength <= 1e-3:
        return ShadowStats(strength=0.0, radius_px=0.0)
    below = np.nonzero(darkening[2:] < strength / 2.0)[0]
    radius = float(below[0] + 2) if len(below) else float(max_distance)
    return ShadowStats(strength=min(strength, 1.0), radius_px=radius)


def cast_shadow_stats(
    frames_l: np.ndarray, plate_l: np.ndarray, cores: np.ndarray, shadow: np.ndarray, max_frames: int = 60
) -> ShadowStats:
    """Shadow statistics from the cast-shadow pixels split off the foreground (:func:`animal_cores`):
    strength ``1 - median(frame / plate)`` over them, radius the median distance (pixels) of a shadow pixel
    from the animal.

    Args:
        frames_l: ``(N, H, W)`` luma; plate_l ``(H, W)``; cores, shadow ``(N, H, W) bool``.
    """
    ratios, distances = [], []
    for core, cast, frame in list(zip(cores, shadow, frames_l, strict=True))[:max_frames]:
        if not core.any() or not cast.any():
            continue
        dist = cv2.distanceTransform((~core).astype(np.uint8), cv2.DIST_L2, 5)
        ratios.append(frame[cast] / np.maximum(plate_l[cast], 1.0))
        distances.append(dist[cast])
    if not ratios:
        return ShadowStats(strength=0.0, radius_px=0.0)
    strength = float(np.clip(1.0 - np.median(np.concatenate(ratios)), 0.0, 1.0))
    return ShadowStats(strength=strength, radius_px=float(np.median(np.concatenate(distances))))


# ---------------------------------------------------------------------- the profile
def fit_appearance(
    frames: np.ndarray,
    source: str = "",
    backgrounds: int = 0,
    threshold: float | None = None,
    progress: Progress | None = None,
) -> AppearanceProfile:
    """Estimate the whole profile from real frames.

    Args:
        frames: ``(N, H, W, C) uint8`` (``C`` 1 or 3), e.g. from :func:`read_frames`; 30+ frames spread over
            the session work well (the animal must move, or the plate keeps it).
        source: recorded in the profile (the video path).
        backgrounds: how many real frames (animal replaced by the plate) to keep for background swaps.
        threshold: foreground threshold in DN (default automatic).
        progress: ``progress("estimating the profile: STAGE", done, total)`` before each stage.

    Returns:
        :class:`AppearanceProfile`.
    """
    stage = _stages(progress)
    frames = _checked_frames(frames)
    stage(0)
    plate = background_plate(frames, threshold)
    masks = foreground_masks(frames, plate, threshold)
    fg = masks[..., 0]
    frames_l, plate_l = luma(frames), luma(plate)
    stage(1)
    cores = animal_cores(frames_l, plate_l, fg)
    cast_shadow = fg & ~cores
    fg = cores
    floor_level = _floor_level(plate_l, fg)
    illum = np.maximum(cv2.GaussianBlur(plate_l, (0, 0), 12.0) / floor_level, 0.05)
    if cast_shadow.sum() > 0.2 * max(int(fg.sum()), 1):
        shadow = partial(cast_shadow_stats, frames_l, plate_l, fg, cast_shadow)
    else:
        shadow = partial(contact_shadow, frames_l, plate_l, fg)
    measured = _Measured(plate, masks, fg, cast_shadow, floor_level, illum, shadow)
    return _profile(frames, measured, "plate", None, source, backgrounds, stage)


def _stages(progress: Progress | None) -> Callable[[int], None]:
    """``stage(done)``: report the next stage of the profile estimate (``done == 8``: finished)."""
    stages = iter(["plate", "animal", "levels and noise", "blur", "vignetting", "compression", "shadow"])
    total = 8

    def stage(done: int) -> None:
        if progress is None:
            return
        name = "done" if done >= total else next(stages, "backgrounds")
        progress(f"estimating the profile: {name}", done, total)

    return stage


def _checked_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3) or frames.dtype != np.uint8:
        raise AppearanceError(
            f"fit_appearance: expected (N, H, W, 1|3) uint8 frames, got {frames.shape} {frames.dtype}"
        )
    if len(frames) < 3:
        raise AppearanceError(f"fit_appearance: need at least 3 frames, got {len(frames)}")
    return frames


@dataclass(frozen=True)
class _Measured:
    """What the plate step found: the plate, the masks (``(N, H, W, C)`` hidden pixels; ``fg`` the animal,
    ``cast_shadow`` its shadow), the floor level, the illumination field and the shadow estimator."""

    plate: np.ndarray
    masks: np.ndarray
    fg: np.ndarray
    cast_shadow: np.ndarray | None
    floor_level: float
    illum: np.ndarray
    shadow: Callable[[], ShadowStats]


def _profile(
    frames: np.ndarray,
    m: _Measured,
    illumination: str,
    plate_fit: PlateFit | None,
    source: str,
    backgrounds: int,
    stage: Callable[[int], None],
) -> AppearanceProfile:
    """The statistics after the plate step (animal, levels, noise, blur, vignetting, compression, shadow)."""
    n, h, w, c = frames.shape
    frames_l, plate_l = luma(frames), luma(m.plate)
    animal = _animal_stats(frames, frames_l, m.fg, m.illum)
    stage(2)
    levels = _levels(frames_l)
    noise = noise_curve(frames, m.plate, m.masks)
    stage(3)
    defocus = edge_spread_sigma(plate_l)
    moving = _moving_edge_sigma(frames_l, m.fg, m.cast_shadow)
    defocus = 0.0 if not math.isfinite(defocus) else defocus
    motion = math.sqrt(max(moving**2 - defocus**2, 0.0)) if math.isfinite(moving) else 0.0
    stage(4)
    floor = (m.illum > 0.6) & (cv2.Laplacian(plate_l, cv2.CV_32F, ksize=3) ** 2 < 25.0)
    vignetting = vignetting_fit(plate_l, floor)
    stage(5)
    measured_block = float(np.median([blockiness(f) for f in frames_l[: min(n, 20)]]))
    reference = _noisy_reference(plate_l, noise)
    quality = equivalent_jpeg_quality(measured_block, reference)
    stage(6)
    stats = ProfileFile(
        source=str(source),
        frames_used=int(n),
        width=int(w),
        height=int(h),
        channels=int(c),
        floor_level=float(m.floor_level),
        levels=levels,
        animal=animal,
        noise=noise,
        blur=BlurStats(defocus_sigma=float(defocus), motion_sigma=float(motion)),
        vignetting=vignetting,
        compression=CompressionStats(blockiness=measured_block, jpeg_quality=quality),
        shadow=m.shadow(),
        illumination=illumination,
        plate_fit=plate_fit,
    )
    stage(7)
    kept = _clean_backgrounds(frames, m.masks, m.plate, backgrounds)
    stage(8)
    return AppearanceProfile(stats, m.plate, kept)


def animal_cores(frames_l: np.ndarray, plate_l: np.ndarray, fg: np.ndarray, min_separation: float = 0.5) -> np.ndarray:
    """The animal without its cast shadow: foreground pixels split by ``log(frame / plate)``.

    A shadow darkens the floor by a factor (say 0.5 to 0.8) while a dark animal is far darker (0.1 to 0.3)
    and a light animal is brighter than the floor. When over a quarter of the foreground is 15 % brighter
    than the plate (a light animal: shadows are never brighter than the floor), those brighter pixels are
    the animal. Otherwise the foreground's log ratios are split at Otsu's threshold when the two classes are
    at least ``min_separation`` apart (log units), and the darker class is the animal.

    Args:
        frames_l: ``(N, H, W)`` luma; plate_l ``(H, W)``; fg ``(N, H, W) bool``.

    Returns:
        ``(N, H, W) bool``.
    """
    if not fg.any():
        return fg
    ratio = np.log(np.maximum(frames_l, 1.0) / np.maximum(plate_l, 1.0)[None])
    values = ratio[fg]
    brighter = math.log(1.15)
    if np.mean(values > brighter) > 0.25:  # shadows are never brighter than the floor: a light animal
        return fg & (ratio > brighter)
    scaled = np.clip((values - values.min()) / max(float(np.ptp(values)), 1e-6) * 255, 0, 255).astype(np.uint8)
    level, _ = cv2.threshold(scaled.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    threshold = values.min() + level / 255.0 * float(np.ptp(values))
    dark, light = values[values <= threshold], values[values > threshold]
    if len(dark) == 0 or len(light) == 0 or np.mean(light) - np.mean(dark) < min_separation:
        return fg
    return fg & (ratio <= threshold)


def _floor_level(plate_l: np.ndarray, fg: np.ndarray) -> float:
    """Median plate luma where the animal walked (the floor); the bright half of the plate if it never
    moved."""
    walked = fg.any(axis=0)
    if walked.sum() > 100:
        return max(float(np.median(plate_l[walked])), 1.0)
    return max(float(np.percentile(plate_l, 75)), 1.0)


def _animal_stats(frames: np.ndarray, frames_l: np.ndarray, fg: np.ndarray, illum: np.ndarray) -> AnimalStats:
    with_animal = fg.reshape(len(fg), -1).any(axis=1)
    if not with_animal.any():
        raise AppearanceError(
            "fit_appearance: no moving animal found by background subtraction (is the "
            "animal visible and moving? try more frames or a lower --threshold)"
        )
    # the interior only: boundary pixels mix with the floor, and the compositor's blur recreates that mix
    kernel = np.ones((5, 5), np.uint8)
    inner = np.stack([cv2.erode(m.astype(np.uint8), kernel).astype(bool) for m in fg])
    if inner.sum() < 100:
        inner = fg
    values = (frames_l[inner] / np.broadcast_to(illum, fg.shape)[inner]).astype(np.float64)
    quantiles = np.quantile(values, np.linspace(0.0, 1.0, QUANTILE_LEVELS))
    ratio = (1.0, 1.0, 1.0)
    if frames.shape[-1] == 3:
        means = frames[fg].reshape(-1, 3).mean(axis=0)
        ratio = tuple(float(v) for v in means / max(float(frames_l[fg].mean()), 1e-6))
    areas = fg.reshape(len(fg), -1).sum(axis=1)[with_animal]
    return AnimalStats(
        quantiles=[float(q) for q in quantiles],
        mean=float(values.mean()),
        std=float(values.std()),
        colour_ratio=ratio,
        area_px=float(np.median(areas)),
        frames_with_animal=int(with_animal.sum()),
    )


def _levels(frames_l: np.ndarray) -> LevelsStats:
    sample = frames_l[:, ::2, ::2]
    black, median, white = np.percentile(sample, [0.5, 50.0, 99.5])
    mid = np.clip((median - black) / max(white - black, 1e-6), 1e-3, 1 - 1e-3)
    return LevelsStats(
        mean=float(sample.mean()),
        std=float(sample.std()),
        black=float(black),
        white=float(white),
        gamma=float(math.log(mid) / math.log(0.5)),
    )


def _moving_edge_sigma(
    frames_l: np.ndarray, fg: np.ndarray, shadow: np.ndarray | None = None, max_frames: int = 60
) -> float:
    """Edge-spread sigma of the animal's outline against the floor (not against its own cast shadow).

    The lower quartile over frames: a still animal shows its intrinsic outline softness, a moving one adds
    motion blur in some frames only, and fur or stray shadow edges inflate single frames.
    """
    sigmas = []
    kernel = np.ones((5, 5), np.uint8)
    for i, (frame, mask) in enumerate(list(zip(frames_l, fg, strict=True))[:max_frames]):
        if mask.sum() < 50:
            continue
        m = mask.astype(np.uint8)
        band = cv2.dilate(m, kernel) > cv2.erode(m, kernel)
        if shadow is not None:
            band &= ~cv2.dilate(shadow[i].astype(np.uint8), kernel).astype(bool)
        s = edge_spread_sigma(frame, band, max_edges=300)
        if math.isfinite(s):
            sigmas.append(s)
    return float(np.percentile(sigmas, 25)) if sigmas else float("nan")


def _noisy_reference(plate_l: np.ndarray, noise: NoiseStats, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = plate_l + rng.standard_normal(plate_l.shape).astype(np.float32) * noise.sigma(plate_l)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def _clean_backgrounds(frames: np.ndarray, masks: np.ndarray, plate: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` evenly spaced frames with the (dilated) animal replaced by the plate."""
    if count <= 0:
        return []
    out = []
    for i in np.unique(np.linspace(0, len(frames) - 1, count).round().astype(int)):
        grown = cv2.dilate(masks[i, ..., 0].astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        out.append(np.where(grown[..., None], plate, frames[i]))
    return out


# ---------------------------------------------------------------------- labelled projects (the animal never leaves)
MIN_MASK_RADIUS_SHARE = 0.03  # the default mask margin is at least this share of the image diagonal
INPAINT_RADIUS_PX = 5
GRAY_TOLERANCE_DN = 2  # labelled RGB images whose channels differ by at most this are a grayscale camera


@dataclass(frozen=True)
class LabelledSource:
    """The images of a labelled project with their keypoints.

    Attributes:
        frames: ``(N, H, W, C) uint8`` (``C = 1`` for a grayscale camera).
        xy: ``(N, K, 2) float64`` keypoints (pixels), NaN where unlabelled.
        names: ``(K,)`` keypoint names.
        left_out: labelled images left out because their size differs from the most common one.
    """

    frames: np.ndarray
    xy: np.ndarray
    names: tuple[str, ...]
    left_out: int = 0


def is_labelled_source(path: str | Path) -> bool:
    """True for a label file (``.csv``, ``.h5``, ``.slp``) or a DeepLabCut / Lightning Pose project folder."""
    path = Path(path)
    if path.is_file():
        return path.suffix.lower() in LABEL_SUFFIXES
    return path.is_dir() and ((path / "labeled-data").is_dir() or any(path.glob("CollectedData*.csv")))


def read_labelled_frames(
    path: str | Path,
    max_frames: int = 200,
    keypoints: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> LabelledSource:
    """Up to ``max_frames`` evenly spaced labelled images of a project (:func:`synthmouse.io.labels.read_labels`:
    DeepLabCut, SLEAP or Lightning Pose) with their keypoints (``keypoints``: only these names). Images of
    another size than the most common one are left out (counted in ``left_out``).

    Raises:
        AppearanceError: unreadable labels or images, fewer than 3 images of one size, unknown keypoint names.
    """
    try:
        labels = read_labels(path)
    except LabelError as exc:
        raise AppearanceError(str(exc)) from None
    picks = np.unique(np.linspace(0, len(labels) - 1, min(max_frames, len(labels))).round().astype(int))
    labels = labels.subset(picks)
    if keypoints:
        unknown = sorted(set(keypoints) - set(labels.names))
        if unknown:
            raise AppearanceError(f"{path}: no keypoint(s) {unknown}; the labels have {', '.join(labels.names)}")
        labels = labels.select(list(keypoints))
    images = _label_images(labels, Path(path), progress)
    shapes = [i.shape for i in images]
    common = max(set(shapes), key=shapes.count)
    keep = [i for i, shape in enumerate(shapes) if shape == common]
    if len(keep) < 3:
        raise AppearanceError(f"{path}: fewer than 3 labelled images of one size ({sorted(set(shapes))})")
    stack = _gray_if_equal(np.stack([images[i] for i in keep]))
    xy = np.asarray(labels.xy, np.float64)[keep]
    return LabelledSource(stack, xy, labels.names, left_out=len(images) - len(keep))


def _gray_if_equal(stack: np.ndarray) -> np.ndarray:
    """One channel (the luma) when the RGB channels differ by at most :data:`GRAY_TOLERANCE_DN` anywhere (an
    infrared or monochrome camera stored as RGB, channel offsets included), else the frames as they are."""
    spread = np.abs(stack.astype(np.int16) - stack[..., :1]).max()
    if spread > GRAY_TOLERANCE_DN:
        return stack
    return np.clip(np.round(luma(stack)), 0, 255).astype(np.uint8)[..., None]


def _label_images(labels, path: Path, progress: Progress | None) -> list[np.ndarray]:
    """The RGB image of each label row: the project's image files, or the frames of a SLEAP file's video."""
    if not labels.images:
        return _sleap_video_frames(path, labels.frames, progress)
    out = []
    for done, file in enumerate(labels.images):
        if progress is not None:
            progress("reading frames", done, len(labels.images))
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            raise AppearanceError(f"{file}: labelled image missing or not readable")
        out.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return out


def _sleap_video_frames(path: Path, frames: np.ndarray, progress: Progress | None) -> list[np.ndarray]:
    import sleap_io

    videos = sleap_io.load_slp(str(path)).videos
    if not videos:
        raise AppearanceError(f"{path}: the labels name no video or images to read the frames from")
    video = Path(str(videos[0].filename))
    video = video if video.is_absolute() else path.parent / video
    try:
        with open_video(video) as reader:
            return [image for _, image in reader.frames(sorted(int(f) for f in frames), "rgb")]
    except VideoError as exc:
        raise AppearanceError(f"{path}: cannot read the labelled frames from {video}: {exc}") from None


def default_mask_radius(xy: np.ndarray, width: int, height: int) -> float:
    """Half the median keypoint spread (RMS distance of a frame's labels from their centroid), at least
    :data:`MIN_MASK_RADIUS_SHARE` of the image diagonal."""
    labelled = np.isfinite(xy).all(-1).any(-1)
    xy = xy[labelled]
    centred = xy - np.nanmean(xy, axis=1, keepdims=True)
    spread = np.sqrt(np.nanmean((centred**2).sum(-1), axis=1))
    floor = MIN_MASK_RADIUS_SHARE * math.hypot(width, height)
    return max(0.5 * float(np.median(spread)) if spread.size else 0.0, floor)


def label_masks(xy: np.ndarray, height: int, width: int, radius: float) -> np.ndarray:
    """The animal's region in each frame: the convex hull of its labelled keypoints grown by ``radius`` px.

    Args:
        xy: ``(N, K, 2)`` keypoints, NaN where unlabelled.

    Returns:
        ``(N, H, W) bool`` (all False in a frame without labels).
    """
    out = np.zeros((len(xy), height, width), dtype=bool)
    for i, points in enumerate(xy):
        points = points[np.isfinite(points).all(-1)]
        if len(points) == 0:
            continue
        seed = np.full((height, width), 255, np.uint8)
        hull = cv2.convexHull(np.round(points).astype(np.int32).reshape(-1, 1, 2))
        cv2.fillConvexPoly(seed, hull, 0)
        for x, y in np.round(points).astype(int):
            cv2.circle(seed, (int(x), int(y)), 1, 0, -1)
        out[i] = cv2.distanceTransform(seed, cv2.DIST_L2, 5) <= radius
    return out


def masked_plate(frames: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, float]:
    """The background without the animal: the per-pixel median of the pixels not ``hidden``, and the pixels
    hidden in every frame inpainted (OpenCV Telea).

    Args:
        frames: ``(N, H, W, C) uint8``; hidden ``(N, H, W) bool`` the animal (and whatever else to leave out).

    Returns:
        ``(H, W, C) uint8`` plate and the inpainted share of its pixels (0..1).
    """
    plain = np.median(frames, axis=0)
    masks = np.repeat(hidden[..., None], frames.shape[-1], axis=-1)
    plate = np.clip(np.round(_masked_median(frames, masks, plain)), 0, 255).astype(np.uint8)
    always = hidden.all(axis=0)
    if always.any():
        fixed = cv2.inpaint(np.ascontiguousarray(plate), always.astype(np.uint8), INPAINT_RADIUS_PX, cv2.INPAINT_TELEA)
        plate = fixed.reshape(plate.shape)
    return plate, float(always.mean())


def fit_appearance_labelled(
    source: LabelledSource,
    name: str = "",
    backgrounds: int = 0,
    threshold: float | None = None,
    mask_radius: float | None = None,
    progress: Progress | None = None,
) -> AppearanceProfile:
    """Estimate the profile from labelled frames of an animal that never leaves the frame (head-fixed).

    The animal is masked in each frame by its labels (:func:`label_masks`, margin ``mask_radius`` px, default
    :func:`default_mask_radius`) and by what moves (difference to the median frame); the plate is
    :func:`masked_plate`. The animal statistics come from the pixels of the label regions that differ from
    the plate (else the whole regions); the profile's illumination is ``flat`` (the plate holds a rig, not a
    lit floor) and it has no contact shadow.
    """
    stage = _stages(progress)
    frames = _checked_frames(source.frames)
    n, h, w, _ = frames.shape
    stage(0)
    radius = default_mask_radius(source.xy, w, h) if mask_radius is None else float(mask_radius)
    regions = label_masks(source.xy, h, w, radius)
    moving = foreground_masks(frames, np.median(frames, axis=0).astype(np.uint8), threshold, animals=None)[..., 0]
    hidden = regions | moving
    plate, inpainted = masked_plate(frames, hidden)
    stage(1)
    fg = _animal_pixels(luma(frames), luma(plate), regions, source.xy, radius, threshold)
    fit = PlateFit(mask_radius_px=radius, masked_share=float(hidden.mean()), inpainted_share=inpainted)
    floor_level = max(float(np.percentile(luma(plate), 75)), 1.0)
    masks = np.repeat(hidden[..., None], frames.shape[-1], axis=-1)
    no_shadow = partial(ShadowStats, strength=0.0, radius_px=0.0)
    measured = _Measured(plate, masks, fg, None, floor_level, np.ones((h, w), np.float32), no_shadow)
    return _profile(frames, measured, "flat", fit, name, backgrounds, stage)


def _animal_pixels(
    frames_l: np.ndarray,
    plate_l: np.ndarray,
    regions: np.ndarray,
    xy: np.ndarray,
    radius: float,
    threshold: float | None,
) -> np.ndarray:
    """The animal's pixels in the label regions: those that differ from the plate by over ``threshold`` DN
    (default 20) and whose intensity is the animal's (within 4 robust sigmas, at least 25 DN, of the median
    intensity near the labels; a rig object in front of the animal, such as a bright joystick, is left out);
    the whole regions when fewer than 100 pixels remain."""
    near = label_masks(xy, *plate_l.shape, max(radius / 4.0, 2.0))
    core = near & regions
    sample = frames_l[core] if core.sum() >= 20 else frames_l[regions]
    centre = float(np.median(sample))
    spread = max(4.0 * 1.4826 * float(np.median(np.abs(sample - centre))), 25.0)
    level = MIN_FOREGROUND_DN if threshold is None else float(threshold)
    animal = regions & (np.abs(frames_l - plate_l[None]) > level) & (np.abs(frames_l - centre) < spread)
    kernel = np.ones((3, 3), np.uint8)
    animal = np.stack([cv2.morphologyEx(a.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool) for a in animal])
    return animal if animal.sum() >= 100 else regions
