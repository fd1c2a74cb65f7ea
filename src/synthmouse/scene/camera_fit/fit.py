"""Recover the real camera (intrinsics, radial distortion, pose) from rig points and the video's edges.

Two steps, both on one parameter vector (focal length, optional principal point, radial distortion, pose,
optional free world scale along chosen axes):

1. :func:`fit_camera_points`: least squares on the reprojection of four or more known rig points (arena
   corners, the wheel axle, marks) clicked or typed into a small YAML/CSV file, from several focal-length
   starts (pose from ``cv2.solvePnP`` on each);
2. :func:`refine_to_edges`: iterative closest edge: the rig's 3D line segments are sampled, projected, matched
   to the nearest Canny edge pixel of the video's median frame (with matching orientation, inside a gate that
   shrinks), and the point-to-edge-line distances are minimised together with the point residuals. No
   rendering is needed.

:func:`fit_points_and_edges` runs both from several starts. A single view cannot tell the rig's absolute size
from the camera's distance, so one length must be fixed (the rig size in the scene); ratios such as the
arena's aspect or its wall height can be freed with ``free_scale``. A straight-down view of a flat arena cannot
tell the focal length from the height either: fix ``focal`` or ``camera_height``. :mod:`.check` refuses what
the data could not determine.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from synthmouse.scene.camera import Camera, distort_normalized

from .edges import EdgeMap
from .errors import CameraFitError
from .points import Correspondences

ProgressFn = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as a long step advances (the CLI draws a progress bar)."""

DISTORTION_MODELS = {"none": 0, "k1": 1, "k1k2": 2, "k1k2k3": 3}
AXES = "xyz"
HEIGHT_PX = 2000.0
"""Residual (pixels) of the camera-height prior per unit of relative height error (1 % costs 20 px)."""
BOUND_MARGIN = 0.01
"""A parameter within this share of its bounds' span of a bound counts as stuck there."""


@dataclass(frozen=True)
class FitOptions:
    """What is estimated.

    Attributes:
        distortion: ``none``, ``k1``, ``k1k2`` or ``k1k2k3`` radial terms (tangential terms stay 0).
        principal_point: estimate ``cx, cy`` (else the image centre).
        free_scale: world axes (``"x"``, ``"y"``, ``"z"``) whose scale is estimated (e.g. ``("y", "z")``: the
            arena's aspect ratio and wall height relative to its fixed x size).
        prior_px: weight of the priors keeping higher distortion terms and the principal point near their
            start, as pixels of residual per unit of the parameter (small; they only matter when the data
            cannot tell).
        focal: fix the focal length (pixels) instead of estimating it. A camera looking straight down on a
            flat arena cannot tell its focal length from its height (the image is the same), so fix it from
            the lens when the rig has no vertical structure in view.
        camera_height: the camera's measured height above the floor (metres, world z of its centre), held by
            a stiff prior (:data:`HEIGHT_PX`); the other way to settle what a top view cannot tell.
    """

    distortion: str = "k1k2"
    principal_point: bool = False
    free_scale: tuple[str, ...] = ()
    prior_px: float = 0.5
    focal: float | None = None
    camera_height: float | None = None

    def __post_init__(self) -> None:
        if self.distortion not in DISTORTION_MODELS:
            raise CameraFitError(f"distortion model {self.distortion!r}; allowed: {', '.join(DISTORTION_MODELS)}")
        bad = [a for a in self.free_scale if a not in AXES]
        if bad:
            raise CameraFitError(f"free_scale axes {bad}; allowed: x, y, z")
        if self.focal is not None and not (math.isfinite(self.focal) and self.focal > 0):
            raise CameraFitError(f"focal {self.focal}: must be a positive number of pixels")
        if self.camera_height is not None and not (math.isfinite(self.camera_height) and self.camera_height > 0):
            raise CameraFitError(f"camera_height {self.camera_height}: must be a positive number of metres")


@dataclass(frozen=True)
class ParameterLayout:
    """Where each estimated quantity sits in the optimizer's parameter vector, its bounds and priors."""

    width: int
    height: int
    options: FitOptions
    centre: tuple[float, float]

    @property
    def n_dist(self) -> int:
        return DISTORTION_MODELS[self.options.distortion]

    def pack(self, f: float, c: Sequence[float], k: Sequence[float], rvec, tvec, scale) -> np.ndarray:
        parts = [[] if self.options.focal else [math.log(f)]]
        if self.options.principal_point:
            parts.append(list(c))
        parts.append(list(k)[: self.n_dist])
        parts += [list(rvec), list(tvec)]
        parts.append([math.log(scale[AXES.index(a)]) for a in self.options.free_scale])
        return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])

    def unpack(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        i = 0
        if self.options.focal:
            f = float(self.options.focal)
        else:
            f = math.exp(x[i])
            i += 1
        if self.options.principal_point:
            c = x[i : i + 2]
            i += 2
        else:
            c = np.array(self.centre)
        k = np.zeros(3)
        k[: self.n_dist] = x[i : i + self.n_dist]
        i += self.n_dist
        rvec, tvec = x[i : i + 3], x[i + 3 : i + 6]
        i += 6
        scale = np.ones(3)
        for a in self.options.free_scale:
            scale[AXES.index(a)] = math.exp(x[i])
            i += 1
        return f, np.asarray(c, dtype=np.float64), k, rvec, tvec, scale

    def camera(self, x: np.ndarray, name: str = "camera") -> tuple[Camera, np.ndarray]:
        f, c, k, rvec, tvec, scale = self.unpack(x)
        K = np.array([[f, 0, c[0]], [0, f, c[1]], [0, 0, 1.0]])
        dist = np.array([k[0], k[1], 0.0, 0.0, k[2]])
        return Camera.from_rvec_tvec(name, rvec, tvec, K, dist, self.width, self.height), scale

    def project(self, x: np.ndarray, world: np.ndarray) -> np.ndarray:
        """``(N, 3)`` world points (before the free scale) to ``(N, 2)`` pixels."""
        f, c, k, rvec, tvec, scale = self.unpack(x)
        cam = (world * scale) @ Rotation.from_rotvec(rvec).as_matrix().T + tvec
        z = np.where(np.abs(cam[:, 2]) < 1e-9, 1e-9, cam[:, 2])
        xd, yd = distort_normalized(cam[:, 0] / z, cam[:, 1] / z, (k[0], k[1], 0.0, 0.0, k[2]))
        return np.stack([f * xd + c[0], f * yd + c[1]], axis=1)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds keeping the solution physical: ``0.1 W <= f <= 20 W``, ``|k_i| <= 1.5``, scales in
        ``[0.1, 10]``, the principal point inside the image; pose unbounded."""
        lo, hi = ([], []) if self.options.focal else ([math.log(0.1 * self.width)], [math.log(20.0 * self.width)])
        if self.options.principal_point:
            lo += [0.0, 0.0]
            hi += [self.width - 1.0, self.height - 1.0]
        lo += [-1.5] * self.n_dist
        hi += [1.5] * self.n_dist
        lo += [-np.inf] * 6
        hi += [np.inf] * 6
        lo += [math.log(0.1)] * len(self.options.free_scale)
        hi += [math.log(10.0)] * len(self.options.free_scale)
        return np.array(lo), np.array(hi)

    def clip(self, x: np.ndarray) -> np.ndarray:
        """``x`` moved strictly inside the bounds."""
        lo, hi = self.bounds()
        span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
        return np.clip(x, lo + 1e-6 * span, hi - 1e-6 * span)

    def priors(self, x: np.ndarray) -> np.ndarray:
        f, c, k, rvec, tvec, _ = self.unpack(x)
        w = self.options.prior_px
        out = [w * k[1 : self.n_dist]]
        if self.options.principal_point:
            out.append(w * 20.0 * (c - np.array(self.centre)) / max(self.width, self.height))
        height = self.options.camera_height
        if height:
            centre_z = -float(Rotation.from_rotvec(rvec).as_matrix()[:, 2] @ tvec)
            out.append(np.array([HEIGHT_PX * (centre_z - height) / height]))
        return np.concatenate(out) if out else np.zeros(0)

    def parameter_names(self) -> list[str]:
        """Names of the entries of the parameter vector (``fx`` and ``scale_*`` are stored as logarithms)."""
        names = [] if self.options.focal else ["fx"]
        if self.options.principal_point:
            names += ["cx", "cy"]
        names += ["k1", "k2", "k3"][: self.n_dist]
        names += ["rx", "ry", "rz", "tx", "ty", "tz"]
        return names + [f"scale_{a}" for a in self.options.free_scale]


@dataclass(frozen=True)
class CameraFit:
    """The result of a fit.

    Attributes:
        camera: the fitted camera (in the scaled world).
        scale: ``(3,)`` factors applied to the rig's world coordinates (1 for fixed axes).
        rms_px: RMS reprojection error of the points.
        errors_px: ``(N,)`` per-point reprojection error.
        edge_rms_px: RMS point-to-edge distance of the matched edge samples (NaN without edge refinement).
        edge_matches: how many edge samples were matched in the last iteration.
        x: the optimizer's parameter vector.
        layout: what each entry of ``x`` is (:class:`ParameterLayout`).
    """

    camera: Camera
    scale: np.ndarray
    rms_px: float
    errors_px: np.ndarray
    edge_rms_px: float = float("nan")
    edge_matches: int = 0
    x: np.ndarray | None = None
    layout: ParameterLayout | None = None


def fit_camera_points(
    corr: Correspondences,
    width: int,
    height: int,
    options: FitOptions | None = None,
    focal_guesses: Sequence[float] | None = None,
    name: str = "camera",
) -> CameraFit:
    """Fit focal length, radial distortion and pose (and the optional free scales) to point correspondences.

    Args:
        corr: four or more points (``(N, 3)`` world, ``(N, 2)`` pixels).
        width, height: image size.
        options: :class:`FitOptions`.
        focal_guesses: starting focal lengths (pixels); default ``width * (0.4, 0.6, 0.9, 1.4, 2.2)``.

    Returns:
        The best :class:`CameraFit` over the starts.
    """
    options = options or FitOptions()
    n = len(corr.names)
    if n < 4:
        raise CameraFitError(f"fit-camera needs at least 4 points, got {n} ({', '.join(corr.names)})")
    layout = ParameterLayout(int(width), int(height), options, ((width - 1) / 2.0, (height - 1) / 2.0))
    guesses = focal_guesses or [width * g for g in (0.4, 0.6, 0.9, 1.4, 2.2)]
    best = None
    for f0 in guesses:
        x0 = _initial_vector(layout, corr, float(f0))
        if x0 is None:
            continue

        def residuals(x: np.ndarray) -> np.ndarray:
            return np.concatenate([(layout.project(x, corr.world) - corr.pixels).ravel(), layout.priors(x)])

        try:
            result = least_squares(
                residuals, layout.clip(x0), method="trf", x_scale="jac", max_nfev=400, bounds=layout.bounds()
            )
        except ValueError:
            continue
        if best is None or result.cost < best.cost:
            best = result
    if best is None:
        raise CameraFitError(
            "fit-camera: no starting pose could be found from the points (are they distinct and not all on one line?)"
        )
    return _make_fit(layout, best.x, corr, name)


def fit_points_and_edges(
    corr: Correspondences,
    width: int,
    height: int,
    options: FitOptions | None = None,
    edges: EdgeMap | None = None,
    segments: np.ndarray | None = None,
    focal_guesses: Sequence[float] | None = None,
    name: str = "camera",
    progress: ProgressFn | None = None,
) -> CameraFit:
    """The whole fit: points from several focal-length starts (each first without distortion, then with the
    requested model), then :func:`refine_to_edges` when ``edges`` and ``segments`` are given; the start with
    the lowest final residual wins. Check the result with :func:`check_fit` before using it.

    Args:
        corr: four or more point correspondences.
        width, height: image size.
        options: what is estimated (:class:`FitOptions`).
        edges: :func:`edge_map` of the median frame, or None for points only.
        segments: ``(S, 2, 3)`` rig segments to align with ``edges``.
        focal_guesses: starting focal lengths in pixels (default ``width * (0.4, 0.6, 0.9, 1.4, 2.2)``).
        progress: ``progress(step, done, total)`` after each start (the CLI draws a progress bar).

    Returns:
        The best :class:`CameraFit`.
    """
    options = options or FitOptions()
    guesses = focal_guesses or ([options.focal] if options.focal else [width * g for g in (0.4, 0.6, 0.9, 1.4, 2.2)])
    plain = dataclasses.replace(options, distortion="none", principal_point=False, focal=None)
    best, best_score = None, math.inf
    step = "fitting the camera" + (" (points and edges)" if edges is not None and segments is not None else "")
    for done, f0 in enumerate(guesses):
        if progress is not None:
            progress(step, done, len(guesses))
        try:
            start = fit_camera_points(corr, width, height, plain, [f0], name)
            layout = ParameterLayout(int(width), int(height), options, ((width - 1) / 2.0, (height - 1) / 2.0))
            f, c, k, rvec, tvec, scale = start.layout.unpack(start.x)
            x0 = layout.pack(f, layout.centre, np.zeros(3), rvec, tvec, scale)
            fit = _point_fit_from(layout, x0, corr, name)
            if edges is not None and segments is not None and len(segments):
                fit = refine_to_edges(fit, segments, edges, corr)
                score = fit.rms_px**2 + (fit.edge_rms_px**2 if math.isfinite(fit.edge_rms_px) else 1e6)
                score += 1e3 / max(fit.edge_matches, 1)
            else:
                score = fit.rms_px**2
        except CameraFitError:
            continue
        if score < best_score:
            best, best_score = fit, score
    if progress is not None:
        progress(step, len(guesses), len(guesses))
    if best is None:
        raise CameraFitError("fit-camera: no start converged; check the points' names and pixel positions")
    return best


def _point_fit_from(layout: ParameterLayout, x0: np.ndarray, corr: Correspondences, name: str) -> CameraFit:
    def residuals(x: np.ndarray) -> np.ndarray:
        return np.concatenate([(layout.project(x, corr.world) - corr.pixels).ravel(), layout.priors(x)])

    result = least_squares(
        residuals, layout.clip(x0), method="trf", x_scale="jac", max_nfev=400, bounds=layout.bounds()
    )
    return _make_fit(layout, result.x, corr, name)


def _initial_vector(layout: ParameterLayout, corr: Correspondences, f0: float) -> np.ndarray | None:
    K = np.array([[f0, 0, layout.centre[0]], [0, f0, layout.centre[1]], [0, 0, 1.0]])
    world = corr.world.astype(np.float64)
    planar = np.linalg.matrix_rank(world - world.mean(0), tol=1e-6) < 3
    flag = cv2.SOLVEPNP_IPPE if planar else (cv2.SOLVEPNP_SQPNP if len(world) >= 3 else cv2.SOLVEPNP_ITERATIVE)
    try:
        ok, rvec, tvec = cv2.solvePnP(world, corr.pixels.astype(np.float64), K, None, flags=flag)
    except cv2.error:
        return None
    if not ok:
        return None
    return layout.pack(f0, layout.centre, np.zeros(3), rvec.ravel(), tvec.ravel(), np.ones(3))


def _make_fit(
    layout: ParameterLayout,
    x: np.ndarray,
    corr: Correspondences | None,
    name: str,
    edge_rms: float = float("nan"),
    matches: int = 0,
) -> CameraFit:
    camera, scale = layout.camera(x, name)
    if corr is not None and len(corr.names):
        errors = np.linalg.norm(layout.project(x, corr.world) - corr.pixels, axis=1)
        rms = float(np.sqrt(np.mean(errors**2)))
    else:
        errors, rms = np.zeros(0), float("nan")
    return CameraFit(camera, scale, rms, errors, edge_rms, matches, x, layout)


def refine_to_edges(
    fit: CameraFit,
    segments: np.ndarray,
    edges: EdgeMap,
    corr: Correspondences | None = None,
    gates: Sequence[float] = (30.0, 20.0, 12.0, 8.0, 5.0, 3.0),
    iterations: int = 12,
    spacing_px: float = 3.0,
    min_cos: float = 0.8,
    point_weight: float = 3.0,
) -> CameraFit:
    """Iterative closest edge: align the projected rig segments with the image edges.

    Each iteration samples the segments about ``spacing_px`` apart in the image, matches every sample to the
    nearest edge pixel (within the gate, with the edge's gradient parallel to the projected normal and, per
    segment, of the same polarity as most of its matches), then minimises the point-to-edge-line distances
    (soft-L1) plus the point residuals. Gates shrink over the first iterations, then stay at the last one
    until
    the parameters settle.

    Args:
        fit: the starting fit (from :func:`fit_camera_points`), whose options say what is estimated.
        segments: ``(S, 2, 3)`` rig line segments (world, before the free scale).
        edges: :func:`edge_map` of the video's median frame.
        corr: the point correspondences, kept as residuals (weight ``point_weight``) so the fit stays
        anchored.
        gates: matching distance (pixels) of the first iterations.
        iterations: most iterations in all.
        spacing_px: sample spacing along the projected segments.
        min_cos: a match needs ``|cos|`` between the edge gradient and the segment normal of at least this.

    Returns:
        A new :class:`CameraFit` with ``edge_rms_px`` and ``edge_matches`` (matches within the last gate).
    """
    layout: ParameterLayout = fit.layout
    x = fit.x.copy()
    for i in range(max(iterations, len(gates))):
        gate = gates[min(i, len(gates) - 1)]
        s, n, t, _ = _match_edges(layout, x, segments, edges, gate, spacing_px, min_cos)
        if len(s) < 6:
            break

        def residuals(xv: np.ndarray, s=s, n=n, t=t) -> np.ndarray:
            parts = [np.sum((layout.project(xv, s) - t) * n, axis=1)]
            if corr is not None:
                parts.append(point_weight * (layout.project(xv, corr.world) - corr.pixels).ravel())
            parts.append(layout.priors(xv))
            return np.concatenate(parts)

        result = least_squares(
            residuals,
            layout.clip(x),
            method="trf",
            loss="soft_l1",
            f_scale=1.0,
            x_scale="jac",
            max_nfev=100,
            bounds=layout.bounds(),
        )
        step = float(np.max(np.abs(result.x - x)))
        x = result.x
        if i >= len(gates) - 1 and step < 1e-7:
            break
    s, n, t, distance = _match_edges(layout, x, segments, edges, gates[-1], spacing_px, min_cos)
    rms = float(np.sqrt(np.mean(distance**2))) if len(distance) else float("nan")
    return _make_fit(layout, x, corr, fit.camera.name, rms, len(distance))


def _match_edges(
    layout: ParameterLayout,
    x: np.ndarray,
    segments: np.ndarray,
    edges: EdgeMap,
    gate: float,
    spacing_px: float,
    min_cos: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Matched samples ``(M, 3)``, their image normals ``(M, 2)``, edge pixels ``(M, 2)`` and distances
    ``(M,)`` (along the normal) for the current parameters."""
    h, w = edges.edges.shape
    samples, normals, ids = _segment_samples(layout, x, segments, spacing_px)
    if len(samples) == 0:
        raise CameraFitError("refine_to_edges: no rig segment projects into the image")
    pix = layout.project(x, samples)
    inside = np.all(np.isfinite(pix), axis=1)
    inside &= (pix[:, 0] >= 0) & (pix[:, 0] <= w - 1) & (pix[:, 1] >= 0) & (pix[:, 1] <= h - 1)
    pix_safe = np.where(inside[:, None], pix, 0.0)
    iu = np.clip(np.round(pix_safe[:, 0]).astype(int), 0, w - 1)
    iv = np.clip(np.round(pix_safe[:, 1]).astype(int), 0, h - 1)
    ey, ex = edges.nearest[0, iv, iu], edges.nearest[1, iv, iu]
    target = edges.positions[ey, ex].astype(np.float64)
    offset = pix_safe - target
    distance = np.abs(np.sum(offset * normals, axis=1))
    cos = np.sum(edges.normals[ey, ex] * normals, axis=1)
    use = inside & (np.linalg.norm(offset, axis=1) < gate) & (np.abs(cos) >= min_cos)
    for seg in np.unique(ids[use]):
        mine = use & (ids == seg)
        polarity = np.sign(np.median(cos[mine]))
        use &= ~(mine & (np.sign(cos) != polarity))
    return samples[use], normals[use], target[use], distance[use]


def _segment_samples(
    layout: ParameterLayout, x: np.ndarray, segments: np.ndarray, spacing_px: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """3D samples ``(M, 3)`` along the segments, about ``spacing_px`` apart in the image, the unit image
    normal ``(M, 2)`` of the projected curve at each and its segment index ``(M,)``."""
    all_samples, all_normals, all_ids = [], [], []
    for index, (a, b) in enumerate(segments):
        coarse = a + np.linspace(0.0, 1.0, 9)[:, None] * (b - a)
        pix = layout.project(x, coarse)
        length = float(np.linalg.norm(np.diff(pix, axis=0), axis=1).sum())
        if not math.isfinite(length):
            continue
        count = int(np.clip(length / spacing_px, 4, 2000))
        t = (np.arange(count) + 0.5) / count
        pts = a + t[:, None] * (b - a)
        delta = 0.5 / count
        ahead = layout.project(x, a + np.clip(t + delta, 0, 1)[:, None] * (b - a))
        behind = layout.project(x, a + np.clip(t - delta, 0, 1)[:, None] * (b - a))
        tangent = ahead - behind
        norm = np.linalg.norm(tangent, axis=1, keepdims=True)
        ok = norm[:, 0] > 1e-9
        normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1) / np.maximum(norm, 1e-12)
        all_samples.append(pts[ok])
        all_normals.append(normal[ok])
        all_ids.append(np.full(int(ok.sum()), index))
    if not all_samples:
        return np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0, dtype=int)
    return np.concatenate(all_samples), np.concatenate(all_normals), np.concatenate(all_ids)


def reprojection_errors(camera: Camera, corr: Correspondences, scale=(1.0, 1.0, 1.0)) -> np.ndarray:
    """``(N,)`` pixel distance between the points' projections and their image positions."""
    return np.linalg.norm(camera.project(corr.world * np.asarray(scale)) - corr.pixels, axis=1)


def with_name(camera: Camera, name: str) -> Camera:
    """``camera`` renamed."""
    return dataclasses.replace(camera, name=name)
