"""Pictures for the realism report: matplotlib plots and image tiles, as encoded bytes (PNG/JPEG).

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot state, no display needed).
"""

from __future__ import annotations

import io

import cv2
import numpy as np

REAL_COLOUR = "#1f77b4"
SYNTHETIC_COLOUR = "#d62728"
UNCOVERED_COLOUR = "#ff7f0e"


def figure(width_in: float, height_in: float):
    """A new Agg-backed matplotlib Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=90)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig, dpi: int = 90) -> bytes:
    """Encode a Figure as PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def jpeg_bytes(image: np.ndarray, quality: int = 82) -> bytes:
    """Encode a ``(H, W)`` or ``(H, W, 3)`` RGB uint8 image as JPEG."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 images
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def thumbnail(image: np.ndarray, width: int = 240) -> np.ndarray:
    """Shrink a ``(H, W[, 3])`` image to ``width`` pixels wide (area averaging)."""
    h, w = image.shape[:2]
    if w <= width:
        return image
    return cv2.resize(image, (width, max(1, int(round(h * width / w)))), interpolation=cv2.INTER_AREA)


# ---------------------------------------------------------------------------------------------- overlays
def heat_overlay(gray: np.ndarray, heat: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """``(H, W, 3) uint8`` RGB: a grayscale image with a heat map (``(h, w)``, any scale) blended over it; the map
    is resized to the image and stretched from its minimum (transparent) to its maximum (red, opaque)."""
    h, w = gray.shape
    heat = cv2.resize(heat.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    span = float(heat.max() - heat.min())
    heat = (heat - heat.min()) / span if span > 0 else np.zeros_like(heat)
    coloured = cv2.applyColorMap(np.uint8(np.clip(heat, 0, 1) * 255), cv2.COLORMAP_JET)[..., ::-1]
    base = np.repeat(gray[..., None], 3, axis=2).astype(np.float32)
    weight = alpha * np.clip(heat, 0, 1)[..., None] ** 2  # the strongest evidence shows, the rest fades out
    return np.uint8(np.clip(base * (1 - weight) + coloured * weight, 0, 255))


def draw_poses(
    gray: np.ndarray,
    poses: list[np.ndarray],
    colours: list[tuple[int, int, int]],
    edges: list[tuple[int, int]],
    radius: int = 4,
) -> np.ndarray:
    """``(H, W, 3) uint8`` RGB: keypoints ``(K, 2)`` of each pose drawn as dots joined by ``edges``."""
    out = np.repeat(gray[..., None], 3, axis=2).copy()
    for pose, colour in zip(poses, colours, strict=True):
        pts = [None if not np.all(np.isfinite(p)) else (int(round(p[0])), int(round(p[1]))) for p in pose]
        for a, b in edges:
            if pts[a] is not None and pts[b] is not None:
                cv2.line(out, pts[a], pts[b], colour, 2, cv2.LINE_AA)
        for p in pts:
            if p is not None:
                cv2.circle(out, p, radius, colour, -1, cv2.LINE_AA)
    return out


def crop_around(image: np.ndarray, points: np.ndarray, margin: float = 0.8, min_size: int = 120) -> np.ndarray:
    """Crop ``image`` to a square around the finite ``points (n, 2)`` (their extent plus ``margin`` of it)."""
    h, w = image.shape[:2]
    pts = points[np.all(np.isfinite(points), axis=1)]
    if not len(pts):
        return image
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    half = max(min_size / 2, (1 + margin) * float(np.max(hi - lo)) / 2)
    x0, y0 = int(max(0, centre[0] - half)), int(max(0, centre[1] - half))
    x1, y1 = int(min(w, centre[0] + half)), int(min(h, centre[1] + half))
    if x1 - x0 < 2 or y1 - y0 < 2:  # the points lie outside the image: show all of it
        return image
    return image[y0:y1, x0:x1]


# ---------------------------------------------------------------------------------------------- plots
def realism_histogram(p_real_real: np.ndarray, p_real_synthetic: np.ndarray, ax=None):
    """Histogram of the out-of-fold probability of "real" for real and synthetic frames."""
    fig = None
    if ax is None:
        fig = figure(5.0, 2.8)
        ax = fig.add_subplot(1, 1, 1)
    bins = np.linspace(0, 1, 21)
    ax.hist(p_real_real, bins, alpha=0.6, color=REAL_COLOUR, label=f"real ({len(p_real_real)})", density=True)
    ax.hist(
        p_real_synthetic,
        bins,
        alpha=0.6,
        color=SYNTHETIC_COLOUR,
        label=f"synthetic ({len(p_real_synthetic)})",
        density=True,
    )
    ax.axvline(0.5, color="k", lw=0.8, ls="--")
    ax.set_xlabel("classifier's probability that the frame is real (held out)")
    ax.set_ylabel("density")
    ax.legend(frameon=False, fontsize=8)
    return fig


def pose_scatter(real_2d: np.ndarray, synthetic_2d: np.ndarray, uncovered: np.ndarray, explained: np.ndarray, ax=None):
    """Real (covered / uncovered) and synthetic poses on the first two principal axes of the real poses."""
    fig = None
    if ax is None:
        fig = figure(4.6, 3.6)
        ax = fig.add_subplot(1, 1, 1)
    ax.scatter(
        synthetic_2d[:, 0],
        synthetic_2d[:, 1],
        s=6,
        c=SYNTHETIC_COLOUR,
        alpha=0.35,
        label=f"synthetic ({len(synthetic_2d)})",
    )
    ax.scatter(
        real_2d[~uncovered, 0],
        real_2d[~uncovered, 1],
        s=14,
        c=REAL_COLOUR,
        label=f"real, covered ({int((~uncovered).sum())})",
    )
    ax.scatter(
        real_2d[uncovered, 0],
        real_2d[uncovered, 1],
        s=40,
        marker="x",
        c=UNCOVERED_COLOUR,
        label=f"real, no synthetic neighbour ({int(uncovered.sum())})",
    )
    ax.set_xlabel(f"pose PC1 ({100 * explained[0]:.0f} % of real variance)")
    ax.set_ylabel(f"pose PC2 ({100 * explained[1]:.0f} %)")
    ax.legend(frameon=False, fontsize=7, loc="best")
    return fig


def distance_histogram(distance: np.ndarray, real_nn: np.ndarray, radius: float, ax=None):
    """Distances of real poses to their nearest synthetic pose (and to their nearest other real pose)."""
    fig = None
    if ax is None:
        fig = figure(4.6, 2.8)
        ax = fig.add_subplot(1, 1, 1)
    d, r = distance[np.isfinite(distance)], real_nn[np.isfinite(real_nn)]
    top = max(float(np.max(d)) if len(d) else 0, float(np.max(r)) if len(r) else 0, radius) * 1.05
    bins = np.linspace(0, top, 30)
    ax.hist(d, bins, alpha=0.65, color=SYNTHETIC_COLOUR, label="real → nearest synthetic")
    if len(r):
        ax.hist(r, bins, alpha=0.45, color=REAL_COLOUR, label="real → nearest other real")
    ax.axvline(radius, color="k", ls="--", lw=0.9, label=f"radius {radius:g}")
    ax.set_xlabel("Procrustes distance (RMS keypoint offset / pose size)")
    ax.set_ylabel("real frames")
    ax.legend(frameon=False, fontsize=7)
    return fig


def mean_shapes(
    real_mean: np.ndarray, synthetic_mean: np.ndarray, names: list[str], edges: list[tuple[int, int]], ax=None
):
    """The mean real and mean synthetic pose (complex ``(K,)``, aligned, unit size) overlaid, turned so that the
    real pose's long axis is horizontal with its first keypoint on the right."""
    fig = None
    if ax is None:
        fig = figure(4.6, 2.8)
        ax = fig.add_subplot(1, 1, 1)
    turn = np.exp(-0.5j * np.angle(np.sum(real_mean**2)))
    if (real_mean[0] * turn).real < 0:
        turn = -turn
    for shape, colour, label in (
        (real_mean, REAL_COLOUR, "real mean"),
        (synthetic_mean, SYNTHETIC_COLOUR, "synthetic mean"),
    ):
        shape = shape * turn
        for a, b in edges:
            ax.plot([shape[a].real, shape[b].real], [shape[a].imag, shape[b].imag], color=colour, lw=1.2)
        ax.scatter(shape.real, shape.imag, color=colour, s=24, label=label, zorder=3)
    for k, n in enumerate(names):
        point = real_mean[k] * turn
        ax.annotate(
            n, (point.real, point.imag), fontsize=7, xytext=(4, -10 if k % 2 else 4), textcoords="offset points"
        )
    ax.set_aspect("equal")
    ax.margins(0.15)
    ax.invert_yaxis()  # image convention
    ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("mean pose (normalized)", fontsize=8)
    return fig


def statistic_histograms(comparisons, real: dict, synthetic: dict, columns: int = 4):
    """One small histogram per image statistic, real against synthetic."""
    rows = int(np.ceil(len(comparisons) / columns))
    fig = figure(3.0 * columns, 2.3 * rows)
    for i, c in enumerate(comparisons):
        ax = fig.add_subplot(rows, columns, i + 1)
        r, s = real[c.name], synthetic[c.name]
        r, s = r[np.isfinite(r)], s[np.isfinite(s)]
        if len(r) and len(s):
            lo, hi = min(r.min(), s.min()), max(r.max(), s.max())
            bins = np.linspace(lo, hi if hi > lo else lo + 1, 25)
            ax.hist(r, bins, alpha=0.6, color=REAL_COLOUR, density=True, label="real")
            ax.hist(s, bins, alpha=0.6, color=SYNTHETIC_COLOUR, density=True, label="synthetic")
        ax.set_title(f"{c.label}\noverlap {c.overlap:.2f}", fontsize=8)
        ax.set_xlabel(c.unit, fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
        if i == 0:
            ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig
