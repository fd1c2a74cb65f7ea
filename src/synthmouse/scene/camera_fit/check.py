"""Is a camera fit real or degenerate? General criteria for any rig and camera, and a view check on the scene.

:func:`check_fit` refuses what the data could not determine (parameters at their bounds, large residuals,
implausible focal length or distance, a folding lens, too few numbers) and :func:`scene_view_problems` a camera
that would not see the scene's mouse.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from synthmouse.scene.build import Scene
from synthmouse.scene.camera import Camera

from .errors import CameraFitError
from .fit import BOUND_MARGIN, CameraFit, ParameterLayout, fit_camera_points
from .points import Correspondences

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


@dataclass(frozen=True)
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

    * a parameter within 1 % of its optimizer bound (:meth:`ParameterLayout.bounds`): the data pushed it to a limit;
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
    layout: ParameterLayout = fit.layout
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
    layout: ParameterLayout = fit.layout
    options = layout.options
    kinds = {p.criterion for p in problems}
    stuck = {p.parameter for p in problems if p.criterion == "bound"}
    advice = []
    if kinds & {"rms", "edges"} and "y" not in options.free_scale and diagnose:
        trial_options = dataclasses.replace(options, free_scale=tuple(sorted({*options.free_scale, "y"})))
        try:
            trial = fit_camera_points(corr, layout.width, layout.height, trial_options)
        except CameraFitError:
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


def scene_view_problems(scene: Scene, camera: Camera) -> list[FitProblem]:
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
