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

A single view cannot tell the rig's absolute size from the camera's distance, so one length must be fixed
(the rig size in the scene); ratios such as the arena's aspect or its wall height can be freed with
``free_scale``. A straight-down view of a flat arena cannot tell the focal length from the height either:
fix ``focal`` or ``camera_height``. :func:`check_fit` refuses what the data could not determine (parameters at
their bounds, large residuals, implausible focal length or distance, a folding lens, too few numbers) and
:func:`scene_view_problems` a camera that would not see the scene's mouse.

Rig points of the ``openfield`` rig (:func:`rig_features`): compass names, north = +y, east = +x:
``floor_ne floor_nw floor_sw floor_se`` (inner floor corners, z = 0) and ``top_ne ... top_se`` (inner wall top
corners, z = wall height); segments ``floor_n floor_e floor_s floor_w`` (floor/wall junctions), ``top_n ...``
and ``corner_ne ...`` (vertical wall corners).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from synthmouse.fileio import atomic_path
from synthmouse.scene.camera import Camera, distort_normalized
from synthmouse.yamlio import load_yaml

from .profile import AppearanceError

DISTORTION_MODELS = {"none": 0, "k1": 1, "k1k2": 2, "k1k2k3": 3}
AXES = "xyz"
HEIGHT_PX = 2000.0
"""Residual (pixels) of the camera-height prior per unit of relative height error (1 % costs 20 px)."""
BOUND_MARGIN = 0.01
"""A parameter within this share of its bounds' span of a bound counts as stuck there."""


# ---------------------------------------------------------------------- rig geometry
@dataclass
class RigFeatures:
    """Named 3D points and line segments of a rig (world metres).

    Attributes:
        points: ``{name: (3,) float64}``.
        segments: ``{name: (2, 3) float64}`` end points.
    """

    points: dict[str, np.ndarray]
    segments: dict[str, np.ndarray]

    def segment_array(self, names: Sequence[str] | None = None) -> np.ndarray:
        """``(S, 2, 3) float64`` of the named segments (all when None)."""
        names = list(self.segments) if names is None else list(names)
        unknown = [n for n in names if n not in self.segments]
        if unknown:
            raise AppearanceError(f"unknown rig segment(s) {unknown}; allowed: {', '.join(self.segments)}")
        return np.array([self.segments[n] for n in names], dtype=np.float64).reshape(-1, 2, 3)


def openfield_features(size: tuple[float, float], wall_height: float) -> RigFeatures:
    """Corners and edges of an open-field box: inner floor ``size`` centred on the origin, walls of
    ``wall_height`` (see the module docstring for the names)."""
    hx, hy = 0.5 * float(size[0]), 0.5 * float(size[1])
    corners = {"ne": (hx, hy), "nw": (-hx, hy), "sw": (-hx, -hy), "se": (hx, -hy)}
    points = {}
    for name, (x, y) in corners.items():
        points[f"floor_{name}"] = np.array([x, y, 0.0])
        points[f"top_{name}"] = np.array([x, y, float(wall_height)])
    segments = {}
    for side, (a, b) in {"n": ("nw", "ne"), "e": ("ne", "se"), "s": ("se", "sw"), "w": ("sw", "nw")}.items():
        segments[f"floor_{side}"] = np.stack([points[f"floor_{a}"], points[f"floor_{b}"]])
        segments[f"top_{side}"] = np.stack([points[f"top_{a}"], points[f"top_{b}"]])
    for name in corners:
        segments[f"corner_{name}"] = np.stack([points[f"floor_{name}"], points[f"top_{name}"]])
    return RigFeatures(points, segments)


def rig_features(rig) -> RigFeatures:
    """Features of a scene rig spec (``synthmouse.scene.spec`` rig section); ``openfield`` is supported."""
    kind = getattr(rig, "type", None)
    if kind == "openfield":
        return openfield_features(rig.size, rig.wall_height)
    raise AppearanceError(
        f"rig type {kind!r} has no built-in fitting features yet (openfield has); give the "
        "points' world coordinates in the points file instead"
    )


# ---------------------------------------------------------------------- correspondences
@dataclass
class Correspondences:
    """Known 3D points and where they appear in the image.

    Attributes:
        names: ``N`` names.
        world: ``(N, 3) float64`` metres.
        pixels: ``(N, 2) float64`` OpenCV pixel coordinates (centre of the top-left pixel is 0, 0).
        image_size: ``(width, height)`` if the file gives it.
    """

    names: list[str]
    world: np.ndarray
    pixels: np.ndarray
    image_size: tuple[int, int] | None = None


def load_correspondences(path: str | Path, rig_points: Mapping[str, np.ndarray] | None = None) -> Correspondences:
    """Read a points file: YAML ``points: {name: [u, v] | {world: [x, y, z], pixel: [u, v]}}`` (optional
    ``image_size: [w, h]``), or CSV with a header ``name,u,v[,x,y,z]``. Names without world coordinates are
    looked up in ``rig_points``."""
    path = Path(path)
    if not path.is_file():
        raise AppearanceError(f"{path}: points file not found")
    rig_points = dict(rig_points or {})
    entries: list[tuple[str, list | None, list]] = []
    image_size = None
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"name", "u", "v"} - set(reader.fieldnames or [])
            if missing:
                raise AppearanceError(f"{path}: CSV header needs name,u,v[,x,y,z]; missing {sorted(missing)}")
            for line, row in enumerate(reader, start=2):
                world = None
                if row.get("x") not in (None, ""):
                    world = [row["x"], row["y"], row["z"]]
                entries.append((row["name"], world, [row["u"], row["v"]]))
                _ = line
    else:
        data = load_yaml(path, error=AppearanceError, what="points file") or {}
        if not isinstance(data, dict) or not isinstance(data.get("points"), dict):
            raise AppearanceError(f"{path}: expected a mapping with 'points: {{name: [u, v], ...}}'")
        unknown = sorted(set(data) - {"points", "image_size", "image", "notes", "rig"})
        if unknown:
            raise AppearanceError(f"{path}: unknown key(s) {unknown}; allowed: points, image_size, image, notes, rig")
        if data.get("image_size") is not None:
            image_size = tuple(int(v) for v in data["image_size"])
        for name, value in data["points"].items():
            if isinstance(value, dict):
                extra = sorted(set(value) - {"world", "pixel"})
                if extra or "pixel" not in value:
                    raise AppearanceError(
                        f"{path}: points.{name}: expected {{world: [x, y, z], pixel: [u, v]}}, got keys {sorted(value)}"
                    )
                entries.append((str(name), value.get("world"), value["pixel"]))
            else:
                entries.append((str(name), None, value))
    names, world, pixels = [], [], []
    for name, w, p in entries:
        try:
            pixel = np.array(p, dtype=np.float64).reshape(2)
        except (TypeError, ValueError):
            raise AppearanceError(f"{path}: points.{name}: pixel {p!r} is not two numbers [u, v]") from None
        if w is None:
            if name not in rig_points:
                raise AppearanceError(
                    f"{path}: points.{name}: no world coordinates and not a rig point; rig "
                    f"points: {', '.join(rig_points) or 'none (no rig given)'}"
                )
            xyz = np.asarray(rig_points[name], dtype=np.float64)
        else:
            try:
                xyz = np.array(w, dtype=np.float64).reshape(3)
            except (TypeError, ValueError):
                raise AppearanceError(f"{path}: points.{name}: world {w!r} is not three numbers") from None
        names.append(name)
        world.append(xyz)
        pixels.append(pixel)
    if not names:
        raise AppearanceError(f"{path}: no points")
    return Correspondences(names, np.array(world), np.array(pixels), image_size)


# ---------------------------------------------------------------------- the parameter vector
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
            raise AppearanceError(f"distortion model {self.distortion!r}; allowed: {', '.join(DISTORTION_MODELS)}")
        bad = [a for a in self.free_scale if a not in AXES]
        if bad:
            raise AppearanceError(f"free_scale axes {bad}; allowed: x, y, z")
        if self.focal is not None and not (math.isfinite(self.focal) and self.focal > 0):
            raise AppearanceError(f"focal {self.focal}: must be a positive number of pixels")
        if self.camera_height is not None and not (math.isfinite(self.camera_height) and self.camera_height > 0):
            raise AppearanceError(f"camera_height {self.camera_height}: must be a positive number of metres")


@dataclass
class _Layout:
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


@dataclass
class CameraFit:
    """The result of a fit.

    Attributes:
        camera: the fitted camera (in the scaled world).
        scale: ``(3,)`` factors applied to the rig's world coordinates (1 for fixed axes).
        rms_px: RMS reprojection error of the points.
        errors_px: ``(N,)`` per-point reprojection error.
        edge_rms_px: RMS point-to-edge distance of the matched edge samples (NaN without edge refinement).
        edge_matches: how many edge samples were matched in the last iteration.
    """

    camera: Camera
    scale: np.ndarray
    rms_px: float
    errors_px: np.ndarray
    edge_rms_px: float = float("nan")
    edge_matches: int = 0
    x: np.ndarray | None = None


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
        raise AppearanceError(f"fit-camera needs at least 4 points, got {n} ({', '.join(corr.names)})")
    layout = _Layout(int(width), int(height), options, ((width - 1) / 2.0, (height - 1) / 2.0))
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
        raise AppearanceError(
            "fit-camera: no starting pose could be found from the points (are they distinct and not all on one line?)"
        )
    return _make_fit(layout, best.x, corr, name)


def fit_camera(
    corr: Correspondences,
    width: int,
    height: int,
    options: FitOptions | None = None,
    edges: EdgeMap | None = None,
    segments: np.ndarray | None = None,
    focal_guesses: Sequence[float] | None = None,
    name: str = "camera",
    progress: Callable[[str, int, int], None] | None = None,
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
            layout = _Layout(int(width), int(height), options, ((width - 1) / 2.0, (height - 1) / 2.0))
            f, c, k, rvec, tvec, scale = start.layout.unpack(start.x)  # type: ignore[attr-defined]
            x0 = layout.pack(f, layout.centre, np.zeros(3), rvec, tvec, scale)
            fit = _point_fit_from(layout, x0, corr, name)
            if edges is not None and segments is not None and len(segments):
                fit = refine_to_edges(fit, segments, edges, corr)
                score = fit.rms_px**2 + (fit.edge_rms_px**2 if math.isfinite(fit.edge_rms_px) else 1e6)
                score += 1e3 / max(fit.edge_matches, 1)
            else:
                score = fit.rms_px**2
        except AppearanceError:
            continue
        if score < best_score:
            best, best_score = fit, score
    if progress is not None:
        progress(step, len(guesses), len(guesses))
    if best is None:
        raise AppearanceError("fit-camera: no start converged; check the points' names and pixel positions")
    return best


def _point_fit_from(layout: _Layout, x0: np.ndarray, corr: Correspondences, name: str) -> CameraFit:
    def residuals(x: np.ndarray) -> np.ndarray:
        return np.concatenate([(layout.project(x, corr.world) - corr.pixels).ravel(), layout.priors(x)])

    result = least_squares(
        residuals, layout.clip(x0), method="trf", x_scale="jac", max_nfev=400, bounds=layout.bounds()
    )
    return _make_fit(layout, result.x, corr, name)


def _initial_vector(layout: _Layout, corr: Correspondences, f0: float) -> np.ndarray | None:
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
    layout: _Layout,
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
    fit = CameraFit(camera, scale, rms, errors, edge_rms, matches, x)
    fit.layout = layout  # type: ignore[attr-defined]
    return fit


# ---------------------------------------------------------------------- is the fit plausible?
FOCAL_RANGE = (0.2, 10.0)
"""Plausible ``fx`` in image widths (a 160 degree fisheye to a 5.7 degree telephoto field of view)."""
DISTANCE_RANGE = (1.0 / 20.0, 20.0)
"""Plausible camera distance from the fitted points' centre, in rig sizes (their largest separation)."""
RMS_FLOOR_PX, RMS_DIAGONAL = 3.0, 0.005
"""Largest acceptable RMS reprojection error: ``max(3 px, 0.5 % of the image diagonal)``."""
MIN_VISIBLE = 0.5
"""Least share of the body's keypoints (and of the floor region) a usable camera sees."""


@dataclass(frozen=True)
class FitProblem:
    """One failed plausibility criterion.

    Attributes:
        criterion: ``bound``, ``rms``, ``edges``, ``focal``, ``distance``, ``lens``, ``underdetermined`` or
            ``view``.
        text: what failed, with the values and the allowed range.
        parameter: the stuck parameter (``fx``, ``k1``, ``scale_y`` ...) for ``bound``.
    """

    criterion: str
    text: str
    parameter: str = ""


@dataclass
class FitCheck:
    """The verdict of :func:`check_fit`: the problems found and the flags that would help."""

    problems: list[FitProblem]
    advice: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """The problems, one clause each."""
        return "; ".join(p.text for p in self.problems)

    def message(self, target: str = "the scene") -> str:
        """One line: what failed, which flags to add, and ``--force``."""
        what = "; ".join(p.text for p in self.problems)
        fix = " and ".join(self.advice) if self.advice else "check the points (names and pixels) on --overlay PNG"
        return (
            f"fit-camera: not writing this camera into {target}, the fit is degenerate: {what}. "
            f"Add {fix} (--force writes it anyway)"
        )


def rms_limit(width: int, height: int) -> float:
    """The RMS reprojection error above which a fit is refused: ``max(3 px, 0.5 % of the diagonal)``."""
    return max(RMS_FLOOR_PX, RMS_DIAGONAL * math.hypot(width, height))


def check_fit(
    fit: CameraFit,
    corr: Correspondences,
    segments: np.ndarray | None = None,
    diagnose: bool = True,
    extra: Sequence[FitProblem] = (),
) -> FitCheck:
    """Is ``fit`` a real camera or a degenerate solution? General criteria, for any rig and camera:

    * a parameter within 1 % of its optimizer bound (:meth:`_Layout.bounds`): the data pushed it to a limit;
    * RMS point (or edge) error above ``max(3 px, 0.5 % of the image diagonal)``;
    * ``fx`` outside 0.2-10 image widths;
    * the camera farther than 20 or nearer than 1/20 rig sizes (largest separation of the points and
      segments) from the rig;
    * the lens model folding back inside the image, or points fitted beyond the fold;
    * fewer point coordinates than unknowns when no edges were used (any answer fits exactly).

    Advice names the flags to add: ``--focal``/``--camera-height`` when the focal length is free (planar rig
    features cannot settle it from a near-perpendicular view), ``--free-scale y`` when freeing the rig's
    aspect makes the points fit (tried when ``diagnose``), fewer lens terms, ``--centred``. ``extra`` problems
    found elsewhere (:func:`scene_view_problems`) join the verdict and the advice.

    Returns:
        :class:`FitCheck` (``ok`` when no problem was found).
    """
    layout: _Layout = fit.layout  # type: ignore[attr-defined]
    cam = fit.camera
    width, height = layout.width, layout.height
    problems: list[FitProblem] = []
    lo, hi = layout.bounds()
    for name, value, low, high in zip(layout.parameter_names(), fit.x, lo, hi, strict=True):
        if not (math.isfinite(low) and math.isfinite(high)):
            continue
        margin = BOUND_MARGIN * (high - low)
        if low + margin < value < high - margin:
            continue
        log = name == "fx" or name.startswith("scale_")
        unit = " px" if name in ("fx", "cx", "cy") else ""

        def shown(v: float, log: bool = log) -> str:
            v = math.exp(v) if log else v
            return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4g}"

        problems.append(
            FitProblem(
                "bound",
                f"{name} {shown(value)}{unit} is at its bound (allowed {shown(low)}..{shown(high)}{unit})",
                name,
            )
        )
    limit = rms_limit(width, height)
    if fit.rms_px > limit:
        problems.append(FitProblem("rms", f"points rms {fit.rms_px:.2f} px > {limit:.1f} px"))
    if math.isfinite(fit.edge_rms_px) and fit.edge_rms_px > limit:
        problems.append(FitProblem("edges", f"edges rms {fit.edge_rms_px:.2f} px > {limit:.1f} px"))
    f_lo, f_hi = FOCAL_RANGE
    if not f_lo * width <= cam.fx <= f_hi * width:
        problems.append(
            FitProblem(
                "focal",
                f"fx {cam.fx:.0f} px is {cam.fx / width:.3g} image widths (plausible {f_lo:g}-{f_hi:g}, "
                f"{f_lo * width:.0f}-{f_hi * width:.0f} px)",
            )
        )
    world = [corr.world * fit.scale]
    if segments is not None and len(segments):
        world.append(np.asarray(segments, dtype=np.float64).reshape(-1, 3) * fit.scale)
    pts = np.concatenate(world)
    size = float(np.max(np.linalg.norm(pts[:, None] - pts[None], axis=-1))) if len(pts) > 1 else 0.0
    distance = float(np.linalg.norm(cam.position - pts.mean(axis=0)))
    d_lo, d_hi = DISTANCE_RANGE
    if size > 0 and not d_lo * size <= distance <= d_hi * size:
        problems.append(
            FitProblem(
                "distance",
                f"camera {distance:.3g} m from the rig, {distance / size:.3g} rig sizes ({size:.3g} m; "
                f"plausible {d_lo:g}-{d_hi:g})",
            )
        )
    problems += _lens_problems(cam, corr.world * fit.scale)
    unknowns = layout.parameter_names()
    if not math.isfinite(fit.edge_rms_px) and 2 * len(corr.names) < len(unknowns):
        problems.append(
            FitProblem(
                "underdetermined",
                f"{len(corr.names)} points ({2 * len(corr.names)} numbers) cannot determine {len(unknowns)} unknowns "
                f"({', '.join(unknowns)}) without the image's edges",
            )
        )
    problems += list(extra)
    return FitCheck(problems, _advice(fit, corr, problems, pts, limit, diagnose) if problems else [])


def _lens_problems(cam: Camera, world: np.ndarray) -> list[FitProblem]:
    fold = cam.max_undistorted_radius
    if not math.isfinite(fold):
        return []
    k1, k2, _, _, k3 = (float(v) for v in cam.dist)
    reach = fold * (1 + k1 * fold**2 + k2 * fold**4 + k3 * fold**6)  # largest distorted radius
    corners = np.array([[0, 0], [cam.width - 1, 0], [0, cam.height - 1], [cam.width - 1, cam.height - 1]])
    corner_r = float(np.max(np.hypot((corners[:, 0] - cam.cx) / cam.fx, (corners[:, 1] - cam.cy) / cam.fy)))
    out = []
    if corner_r > reach:
        out.append(
            FitProblem(
                "lens",
                f"the lens model (k1 {k1:.3g}, k2 {k2:.3g}) folds back inside the image (at "
                f"{reach * cam.fx:.0f} px from the centre, the corners are {corner_r * cam.fx:.0f} px)",
            )
        )
    beyond = int((~cam.projectable(world)).sum())
    if beyond:
        out.append(FitProblem("lens", f"{beyond} point(s) lie behind the camera or beyond the lens model's fold"))
    return out


def _advice(
    fit: CameraFit,
    corr: Correspondences,
    problems: list[FitProblem],
    pts: np.ndarray,
    limit: float,
    diagnose: bool,
) -> list[str]:
    layout: _Layout = fit.layout  # type: ignore[attr-defined]
    options = layout.options
    kinds = {p.criterion for p in problems}
    stuck = {p.parameter for p in problems if p.criterion == "bound"}
    advice = []
    if kinds & {"rms", "edges"} and "y" not in options.free_scale and diagnose:
        trial_options = dataclasses.replace(options, free_scale=tuple(sorted({*options.free_scale, "y"})))
        try:
            trial = fit_camera_points(corr, layout.width, layout.height, trial_options)
        except AppearanceError:
            trial = None
        if trial is not None and trial.rms_px <= limit:
            advice.append(
                f"--free-scale y (with it the points fit to {trial.rms_px:.2f} px and the rig's y size comes out "
                f"{trial.scale[1]:.3g} x the scene's: fit it, or write the real size in the scene)"
            )
    focal_free = not options.focal and not options.camera_height
    if focal_free and (kinds - {"rms", "edges"} or not advice):
        flat = np.linalg.matrix_rank(pts - pts.mean(axis=0), tol=1e-6) < 3
        why = (
            "a view of a flat arena's points cannot determine the focal length"
            if flat
            else "these points do not determine the focal length well"
        )
        advice.append(
            f"--focal PX ({why}; fx = lens focal length / pixel size, e.g. 4 mm / 0.006 mm = 667 px, or "
            f"image width / (2 tan(horizontal field of view / 2))) or --camera-height M (lens above the floor)"
        )
    if "underdetermined" in kinds and not focal_free:
        advice.append("the image's edges (--video or --image with --scene) or --distortion none")
    if stuck & {"k1", "k2", "k3"} and not focal_free:
        fewer = {"k1k2k3": "k1k2", "k1k2": "k1", "k1": "none"}.get(options.distortion, "none")
        advice.append(f"--distortion {fewer} (the points and edges cannot determine {options.distortion})")
    if stuck & {"cx", "cy"}:
        advice.append("--centred (the principal point ran to the image border)")
    if any(s.startswith("scale_") for s in stuck):
        advice.append("the rig's real size in the scene (a fitted scale hit its 0.1-10 x bound)")
    return advice


def visible_points(
    camera: Camera, points: np.ndarray, occluders: Sequence[np.ndarray] = (), tolerance: float = 1e-3
) -> np.ndarray:
    """``(N,) bool``: inside the image, in front of the lens (within its monotonic radius) and not hidden
    behind any of the ``occluders`` (``(T, 3, 3)`` world triangles) by more than ``tolerance`` metres."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    seen = camera.projectable(points) & camera.in_image(camera.project(points))
    triangles = [np.asarray(t, dtype=np.float64).reshape(-1, 3, 3) for t in occluders if len(t)]
    if not triangles or not seen.any():
        return seen
    tri = np.concatenate(triangles)
    origin = camera.position
    ray = points[seen] - origin
    length = np.linalg.norm(ray, axis=1)
    direction = ray / length[:, None]
    # Moeller-Trumbore, every ray against every triangle
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    p = np.cross(direction[:, None], e2[None])
    det = np.einsum("tk,rtk->rt", e1, p)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = origin - tri[:, 0]
    u = np.einsum("tk,rtk->rt", s, p) * inv
    q = np.cross(s, e1)
    v = np.einsum("rk,tk->rt", direction, q) * inv
    t = np.einsum("tk,tk->t", e2, q)[None] * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9) & (t < length[:, None] - tolerance)
    out = seen.copy()
    out[np.flatnonzero(seen)[hit.any(axis=1)]] = False
    return out


def scene_view_problems(scene, camera: Camera) -> list[FitProblem]:
    """Would ``camera`` see the scene's mouse? The body's keypoints at its start placement and a 5 x 5 grid over
    the floor region (1 cm up), each visible when inside the image and not behind a rig part that occludes.

    Args:
        scene: a built :class:`synthmouse.scene.build.Scene`.
        camera: the fitted camera (in the scene's world).
    """
    occluders = [m.vertices[m.faces] for m in scene.rig if m.occluder]
    keypoints = scene.body.keypoints(scene.place(scene.rest_pose(1)), scene.keypoint_set)[0]
    problems = []
    seen = visible_points(camera, keypoints, occluders)
    if seen.mean() < MIN_VISIBLE:
        problems.append(
            FitProblem(
                "view",
                f"the mouse at its start position would show {int(seen.sum())} of {len(seen)} keypoints (outside "
                "the image or behind the rig)",
            )
        )
    if scene.floor_region is not None:
        x0, x1, y0, y1 = scene.floor_region
        gx, gy = np.meshgrid(np.linspace(x0, x1, 7)[1:-1], np.linspace(y0, y1, 7)[1:-1])
        grid = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, 0.01)], axis=1)
        seen = visible_points(camera, grid, occluders)
        if seen.mean() < MIN_VISIBLE:
            problems.append(
                FitProblem("view", f"{int(seen.sum())} of {len(seen)} points over the arena floor would be visible")
            )
    return problems


# ---------------------------------------------------------------------- edges
@dataclass
class EdgeMap:
    """Canny edges of an image with their gradient directions and the nearest-edge lookup.

    Attributes:
        edges: ``(H, W) bool``.
        normals: ``(H, W, 2) float32`` unit image-gradient direction (x, y).
        nearest: ``(2, H, W) int`` row and column of the nearest edge pixel of every pixel.
        positions: ``(H, W, 2) float32`` sub-pixel edge location (x, y) at edge pixels: the peak of the
            gradient magnitude along the gradient (parabola through three samples).
    """

    edges: np.ndarray
    normals: np.ndarray
    nearest: np.ndarray
    positions: np.ndarray


def edge_map(image: np.ndarray, sigma: float = 1.5, low: float | None = None, high: float | None = None) -> EdgeMap:
    """Canny edges of a ``(H, W)`` or ``(H, W, 3)`` uint8 image, smoothed by ``sigma`` (thresholds from the
    gradient distribution when not given)."""
    img = np.asarray(image)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.shape[2] == 3 else img[..., 0]
    smooth = cv2.GaussianBlur(img, (0, 0), sigma)
    smooth_f = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigma)
    gx = cv2.Sobel(smooth_f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth_f, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    if high is None:
        # Canny thresholds act on |gx| + |gy| of the 3x3 Sobel: a third of the 99.5th percentile keeps the
        # rig's strong outlines and drops floor texture and lighting gradients
        high = max(0.35 * float(np.percentile(np.abs(gx) + np.abs(gy), 99.5)), 10.0)
        low = high / 3.0
    edges = cv2.Canny(smooth, float(low if low is not None else 0.4 * high), float(high)) > 0
    normals = (np.stack([gx, gy], axis=-1) / np.maximum(mag, 1e-6)[..., None]).astype(np.float32)
    if not edges.any():
        raise AppearanceError("edge_map: no edges found in the image (too dark, flat or thresholds too high)")
    _, nearest = distance_transform_edt(~edges, return_indices=True)
    return EdgeMap(edges, normals, nearest, _subpixel_positions(edges, normals, mag))


def _subpixel_positions(edges: np.ndarray, normals: np.ndarray, mag: np.ndarray) -> np.ndarray:
    """``(H, W, 2) float32``: edge pixels moved along their normal to the parabolic peak of ``mag``."""
    h, w = edges.shape
    positions = np.zeros((h, w, 2), np.float32)
    ys, xs = np.nonzero(edges)
    n = normals[ys, xs]
    offsets = np.array([-1.0, 0.0, 1.0], np.float32)
    map_x = (xs[:, None] + n[:, :1] * offsets[None]).astype(np.float32)
    map_y = (ys[:, None] + n[:, 1:] * offsets[None]).astype(np.float32)
    m = cv2.remap(mag, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    curvature = m[:, 0] - 2.0 * m[:, 1] + m[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(curvature < 0, 0.5 * (m[:, 0] - m[:, 2]) / curvature, 0.0)
    delta = np.clip(np.nan_to_num(delta), -0.5, 0.5)
    positions[ys, xs, 0] = xs + delta * n[:, 0]
    positions[ys, xs, 1] = ys + delta * n[:, 1]
    return positions


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
    layout: _Layout = fit.layout  # type: ignore[attr-defined]
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
    layout: _Layout,
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
        raise AppearanceError("refine_to_edges: no rig segment projects into the image")
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
    layout: _Layout, x: np.ndarray, segments: np.ndarray, spacing_px: float
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


# ---------------------------------------------------------------------- output
def project_segments(
    camera: Camera, segments: np.ndarray, scale=(1.0, 1.0, 1.0), samples: int = 200
) -> list[np.ndarray]:
    """Each segment (world, before ``scale``) as an ``(n, 2)`` distorted image polyline (projectable part)."""
    out = []
    t = np.linspace(0.0, 1.0, samples)[:, None]
    for a, b in np.asarray(segments, dtype=np.float64):
        pts = (a + t * (b - a)) * np.asarray(scale)
        ok = camera.projectable(pts)
        if ok.sum() >= 2:
            out.append(camera.project(pts[ok]))
    return out


def draw_overlay(
    image: np.ndarray,
    fit: CameraFit,
    segments: np.ndarray,
    corr: Correspondences | None = None,
    title: str | None = None,
) -> np.ndarray:
    """``(H, W, 3) uint8`` BGR picture: the frame, the projected rig segments (green), the clicked points (red
    crosses) and their reprojections (blue circles), and the RMS errors."""
    img = np.asarray(image)
    canvas = (
        cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        if img.ndim == 2
        else (
            cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.shape[2] == 3 else cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2BGR)
        )
    )
    canvas = canvas.copy()
    shift = 4
    for line in project_segments(fit.camera, segments, fit.scale):
        pts = np.round(line * (1 << shift)).astype(np.int32)
        cv2.polylines(canvas, [pts], False, (0, 200, 0), 1, cv2.LINE_AA, shift)
    if corr is not None:
        reproj = fit.camera.project(corr.world * fit.scale)
        for (u, v), (ru, rv) in zip(corr.pixels, reproj, strict=True):
            cv2.drawMarker(canvas, (int(round(u)), int(round(v))), (0, 0, 255), cv2.MARKER_CROSS, 9, 1)
            cv2.circle(canvas, (int(round(ru * 16)), int(round(rv * 16))), 4 * 16, (255, 80, 0), 1, cv2.LINE_AA, 4)
    text = title or (
        f"points rms {fit.rms_px:.2f} px"
        + (
            f", edges rms {fit.edge_rms_px:.2f} px ({fit.edge_matches} samples)"
            if math.isfinite(fit.edge_rms_px)
            else ""
        )
    )
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    y = canvas.shape[0] - 8
    cv2.rectangle(canvas, (4, y - th - 4), (12 + tw, y + base), (0, 0, 0), -1)
    cv2.putText(canvas, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def save_png(path: str | Path, bgr: np.ndarray) -> None:
    """Write a BGR image atomically as PNG."""
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise AppearanceError(f"{path}: could not write the image")


def camera_scene_entry(camera: Camera) -> dict:
    """The scene-file ``cameras[]`` fields for ``camera`` (intrinsics, distortion, rotation rvec,
    translation), rounded to what calibration can tell: 0.001 px, 1e-7 of distortion, 1e-9 rad, 1e-9 m."""
    return {
        "width": int(camera.width),
        "height": int(camera.height),
        "fx": round(float(camera.fx), 3),
        "fy": round(float(camera.fy), 3),
        "cx": round(float(camera.cx), 3),
        "cy": round(float(camera.cy), 3),
        "distortion": [round(float(v), 7) for v in camera.dist],
        "rotation": {"rvec": [round(float(v), 9) for v in camera.rvec]},
        "translation": [round(float(v), 9) for v in camera.t],
    }


REPLACED_CAMERA_KEYS = ("look_at", "fov_deg", "calibration", "calibration_name", "rotation", "translation")


def scene_text_with_camera(
    scene_path: str | Path,
    camera: Camera,
    rig_size: tuple[float, ...] | None = None,
    wall_height: float | None = None,
) -> str:
    """The scene file's text with camera ``camera.name`` replaced by ``camera`` and, when given, the rig's
    ``size`` / ``wall_height``; every other character as the user wrote it (:mod:`.scene_edit`: the
    camera's ``look_at``, ``fov_deg`` or ``calibration`` lines are commented out, not deleted)."""
    from .scene_edit import edit_mapping, find_node

    scene_path = Path(scene_path)
    try:
        text = scene_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AppearanceError(f"{scene_path}: cannot read the scene file ({exc.strerror})") from None
    source = str(scene_path)
    cameras = find_node(text, ["cameras"], source)
    names = [str(c) for c in _camera_names(cameras)]
    if camera.name not in names:
        raise AppearanceError(
            f"{scene_path}: no camera named {camera.name!r} in cameras (has: {', '.join(names) or 'none'}); "
            "choose one with --camera"
        )
    entry = camera_scene_entry(camera)
    values = {k: entry[k] for k in ("width", "height", "fx", "fy", "cx", "cy", "distortion")}
    values |= {"rotation": entry["rotation"], "translation": entry["translation"]}
    remove = [k for k in REPLACED_CAMERA_KEYS if k not in values]
    text = edit_mapping(
        text, ["cameras", {"name": camera.name}], values, remove, note="replaced by fit-camera", source=source
    )
    rig: dict = {}
    if rig_size is not None:
        rig["size"] = [round(float(v), 4) for v in rig_size]  # 0.1 mm
    if wall_height is not None:
        rig["wall_height"] = round(float(wall_height), 4)
    if rig:
        text = edit_mapping(text, ["rig"], rig, source=source)
    return text


def _camera_names(node) -> list:
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    if not isinstance(node, SequenceNode):
        return []
    out = []
    for item in node.value:
        if isinstance(item, MappingNode):
            out += [v.value for k, v in item.value if k.value == "name"]
    return out


def write_camera_to_scene(
    scene_path: str | Path,
    camera: Camera,
    out_path: str | Path | None = None,
    rig_size: tuple[float, ...] | None = None,
    wall_height: float | None = None,
) -> Path:
    """Replace the pose and intrinsics of camera ``camera.name`` in a scene file, keeping the rest of the file
    as written (:func:`scene_text_with_camera`); the result is validated before it is written (atomically).
    ``rig_size`` / ``wall_height`` update the rig when a scale was fitted."""
    from synthmouse.scene.spec import parse_scene_spec

    scene_path = Path(scene_path)
    out_path = Path(out_path) if out_path is not None else scene_path
    text = scene_text_with_camera(scene_path, camera, rig_size, wall_height)
    parse_scene_spec(text, source=out_path, base_dir=scene_path.parent)
    with atomic_path(out_path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return out_path


def click_points(
    image: np.ndarray, names: Sequence[str], window: str = "synthmouse fit-camera"
) -> dict[str, tuple[float, float]]:
    """Let the user click each named point on ``image`` (left click: place, right click / Esc: skip).

    Raises:
        AppearanceError: when there is no display or OpenCV was built without windows (headless).
    """
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and os.name != "nt":
        raise AppearanceError(
            "no display: cannot open a window to click points; write them into a points file "
            "(YAML 'points: {floor_nw: [u, v], ...}') instead"
        )
    clicks: list = []

    def on_mouse(event, u, v, flags, param) -> None:  # noqa: ARG001 - OpenCV's callback signature
        if event == cv2.EVENT_LBUTTONDOWN:
            clicks.append((float(u), float(v)))
        elif event == cv2.EVENT_RBUTTONDOWN:
            clicks.append(None)

    try:
        cv2.namedWindow(window, cv2.WINDOW_NORMAL)
        cv2.setMouseCallback(window, on_mouse)
    except cv2.error as exc:
        raise AppearanceError(
            f"OpenCV cannot open a window here ({exc.err.strip() if hasattr(exc, 'err') else exc}); "
            "write the points into a points file instead"
        ) from None
    out: dict[str, tuple[float, float]] = {}
    try:
        for name in names:
            clicks.clear()
            shown = image.copy()
            cv2.putText(
                shown,
                f"click {name} (right click: skip)",
                (10, 20),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.6,
                (0, 0, 255),
                2,
            )
            while not clicks:
                cv2.imshow(window, shown)
                if cv2.waitKey(30) == 27:
                    clicks.append(None)
            if clicks[0] is not None:
                out[name] = clicks[0]
    finally:
        cv2.destroyWindow(window)
    return out


def reprojection_errors(camera: Camera, corr: Correspondences, scale=(1.0, 1.0, 1.0)) -> np.ndarray:
    """``(N,)`` pixel distance between the points' projections and their image positions."""
    return np.linalg.norm(camera.project(corr.world * np.asarray(scale)) - corr.pixels, axis=1)


def with_name(camera: Camera, name: str) -> Camera:
    """``camera`` renamed."""
    return dataclasses.replace(camera, name=name)
