"""Known rig features: the rig's named 3D points and segments, and the arena floor's corners found in the video.

Rig points of the ``openfield`` rig (:func:`rig_features`): compass names, north = +y, east = +x:
``floor_ne floor_nw floor_sw floor_se`` (inner floor corners, z = 0) and ``top_ne ... top_se`` (inner wall top
corners, z = wall height); segments ``floor_n floor_e floor_s floor_w`` (floor/wall junctions), ``top_n ...``
and ``corner_ne ...`` (vertical wall corners).

Rig points of the ``wheel`` rig (:func:`synthmouse.scene.rigs.wheel_rig_points`): ``wheel_centre``,
``rim_<top|front|bottom|back>_<left|right>``, ``axle_left``/``axle_right`` and, with the placed mouse,
``headbar_left``/``headbar_right`` and ``spout_tip``; segments ``rim_left`` and ``rim_right`` (the rim's outer
circle on each face, as chords). Other rig types define no points: give world coordinates in the points file.

:func:`propose_floor_corners` proposes the floor's corners for ``synthmouse fit-camera --propose``.

Without a display nobody can click points, and finding a corner's pixel by hand is slow. The floor of an
open-field box seen from above is the region around the image centre bounded by the first strong edge in
every direction (where the floor meets the walls), so:

1. Canny edges of the median frame (:func:`.edges.edge_map`, sub-pixel);
2. rays from the image centre, each stopping at its first edge pixel; rays that leak through a gap are
   dropped (their radius jumps away from the running median of their neighbours);
3. the hull of those boundary points reduced to a quadrilateral (``cv2.approxPolyDP``): rough corners;
4. the four sides are straight lines seen through one radial lens distortion (OpenCV's ``k1 k2`` model about
   the image centre, the model ``fit-camera`` fits, which bends straight edges as real lenses do): lines and
   distortion are fitted together to the boundary points of the sides' middle parts (points beyond 3 robust
   sigmas trimmed); the corners are the lines' intersections, distorted back into the image;
5. names from the scene's camera (the rig's corners projected through the scene's guess of the camera,
   matched to the found ones as a shape), or by compass with north at the image top.

The user checks the proposal on the overlay (:func:`.figures.draw_proposal`: each named point, the fitted sides and a
magnified inset of every corner) and edits the points file (:func:`.points.write_points_file`) before fitting.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from scipy.ndimage import median_filter
from scipy.optimize import least_squares

from synthmouse.scene.rigs import Anchors, wheel_rig_points, wheel_rim_circle

from .edges import edge_map
from .errors import CameraFitError

FLOOR_CORNERS = ("floor_nw", "floor_ne", "floor_se", "floor_sw")
"""The ``openfield`` rig's floor corners, clockwise in a top view with north at the image top."""


# ---------------------------------------------------------------------- rig geometry
@dataclass(frozen=True)
class RigFeatures:
    """Named 3D points and line segments of a rig (world metres).

    Attributes:
        points: ``{name: (3,) float64}``.
        segments: ``{name: (2, 3) float64}`` end points.
        groups: ``{name: segment names}``: curves drawn as several segments (a wheel's rim), named as one.
        default_segments: the segments aligned with the image edges unless others are named.
        rig: the rig type, for messages (``openfield``, ``wheel`` ...).
    """

    points: dict[str, np.ndarray]
    segments: dict[str, np.ndarray]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default_segments: tuple[str, ...] = ()
    rig: str = "openfield"

    def segment_array(self, names: Sequence[str] | None = None) -> np.ndarray:
        """``(S, 2, 3) float64`` of the named segments or groups (all segments when None)."""
        names = list(self.segments) if names is None else self.expand(names)
        return np.array([self.segments[n] for n in names], dtype=np.float64).reshape(-1, 2, 3)

    def expand(self, names: Sequence[str]) -> list[str]:
        """Segment names with each group replaced by its segments; unknown names raise, listing the known."""
        unknown = [n for n in names if n not in self.segments and n not in self.groups]
        if unknown:
            known = list(self.groups) + [n for n in self.segments if not any(n in g for g in self.groups.values())]
            raise CameraFitError(f"unknown {self.rig} rig segment(s) {unknown}; allowed: {', '.join(known) or 'none'}")
        return [s for n in names for s in (self.groups[n] if n in self.groups else (n,))]


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
    return RigFeatures(points, segments, default_segments=("floor_n", "floor_e", "floor_s", "floor_w"))


def rig_features(rig: Any, anchors: Anchors | None = None) -> RigFeatures:
    """Features of a scene rig spec (``synthmouse.scene.spec`` rig section): the ``openfield`` and ``wheel``
    rigs' named points and segments (the wheel's head bar and spout need ``anchors``, where the mouse is);
    other rigs have none (their points need world coordinates in the points file)."""
    kind = str(getattr(rig, "type", None))
    if kind == "openfield":
        return openfield_features(rig.size, rig.wall_height)
    if kind == "wheel":
        return wheel_features(rig, anchors)
    return RigFeatures({}, {}, rig=kind)


def wheel_features(rig: Any, anchors: Anchors | None = None, sections: int = 48) -> RigFeatures:
    """A wheel rig's named points (:func:`~synthmouse.scene.rigs.wheel_rig_points`) and its rims as groups of
    ``sections`` chords (``rim_left``: the +y face, ``rim_right``: the -y face); no default segments, as only
    the face nearer the camera is seen whole (the fit picks it)."""
    segments: dict[str, np.ndarray] = {}
    groups: dict[str, tuple[str, ...]] = {}
    for face in ("left", "right"):
        ring = wheel_rim_circle(rig, face, sections)
        names = tuple(f"rim_{face}_{i:02d}" for i in range(sections))
        for i, name in enumerate(names):
            segments[name] = np.stack([ring[i], ring[(i + 1) % sections]])
        groups[f"rim_{face}"] = names
    return RigFeatures(wheel_rig_points(rig, anchors), segments, groups, rig="wheel")


# ---------------------------------------------------------------------- floor corners in the image
@dataclass(frozen=True)
class CornerProposal:
    """Proposed floor corners.

    Attributes:
        points: ``{name: (u, v)}`` OpenCV pixels (centre of the top-left pixel is 0, 0).
        sides: per side (clockwise in the image), ``(n, 2)`` image polyline of the fitted edge.
        side_rms_px: per side, RMS distance of its boundary points from the fitted edge (undistorted pixels).
        side_points: per side, how many boundary points the edge was fitted to.
        boundary: ``(M, 2)`` boundary points found by the rays (outliers removed).
        naming: how the names were given: ``scene camera`` or ``compass (north = image top)``.
    """

    points: dict[str, tuple[float, float]]
    sides: list[np.ndarray] = field(default_factory=list)
    side_rms_px: list[float] = field(default_factory=list)
    side_points: list[int] = field(default_factory=list)
    boundary: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    naming: str = ""


def gray_uint8(image: np.ndarray) -> np.ndarray:
    """``image`` (``(H, W)`` or ``(H, W, C)`` uint8) as a ``(H, W)`` uint8 grey image."""
    img = np.asarray(image)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.shape[2] == 3 else img[..., 0]
    if img.dtype != np.uint8:
        raise CameraFitError(f"propose corners: expected a uint8 image, got {img.dtype}")
    return img


def boundary_from_centre(image: np.ndarray, rays: int = 1440, centre: Sequence[float] | None = None) -> np.ndarray:
    """``(M, 2)`` sub-pixel positions of the first edge met by ``rays`` rays cast from ``centre`` (default the
    image centre), after dropping rays whose radius jumps away from their neighbours' (a gap in the outline)."""
    gray = gray_uint8(image)
    h, w = gray.shape
    edges = edge_map(gray)
    cu, cv = ((w - 1) / 2.0, (h - 1) / 2.0) if centre is None else (float(centre[0]), float(centre[1]))
    angles = np.linspace(0.0, 2.0 * math.pi, rays, endpoint=False)
    radii = np.arange(1.0, math.hypot(w, h), 0.5)
    u = cu + np.cos(angles)[:, None] * radii[None]
    v = cv + np.sin(angles)[:, None] * radii[None]
    inside = (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
    iu = np.clip(np.round(u).astype(int), 0, w - 1)
    iv = np.clip(np.round(v).astype(int), 0, h - 1)
    hits = edges.edges[iv, iu] & inside
    found = hits.any(axis=1)
    first = np.argmax(hits, axis=1)
    pix = edges.positions[iv[np.arange(rays), first], iu[np.arange(rays), first]].astype(np.float64)
    radius = np.where(found, radii[first], np.nan)
    if found.sum() < rays // 2:
        raise CameraFitError(
            f"propose corners: only {int(found.sum())} of {rays} rays from the image centre met an edge; is the "
            "arena floor around the image centre, with its border inside the image?"
        )
    filled = np.where(found, radius, np.nanmedian(radius))
    smooth = median_filter(filled, size=max(rays // 96, 5), mode="wrap")
    keep = found & (np.abs(radius - smooth) <= 0.04 * smooth + 1.5)
    return pix[keep]


def _quad(points: np.ndarray) -> np.ndarray:
    """``(4, 2)`` rough corners: the points' convex hull reduced to four vertices."""
    hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2)
    perimeter = cv2.arcLength(hull, True)
    lo, hi = 0.0, 0.5 * perimeter
    best = None
    for _ in range(40):
        eps = 0.5 * (lo + hi)
        approx = cv2.approxPolyDP(hull, eps, True).reshape(-1, 2)
        if len(approx) == 4:
            best = approx
            hi = eps
        elif len(approx) > 4:
            lo = eps
        else:
            hi = eps
    if best is None:
        raise CameraFitError(
            "propose corners: the floor's outline is not a quadrilateral (no four-cornered outline found around "
            "the image centre)"
        )
    return best.astype(np.float64)


def _side_points(points: np.ndarray, a: np.ndarray, b: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """The boundary points along the chord ``a -> b`` (away from its ends, near the chord)."""
    axis = b - a
    length = float(np.linalg.norm(axis))
    axis = axis / length
    rel = points - a
    t = rel @ axis / length
    d = rel @ np.array([-axis[1], axis[0]])
    use = (t > margin) & (t < 1 - margin) & (np.abs(d) < 0.15 * length)
    if use.sum() < 12:
        raise CameraFitError(
            f"propose corners: only {int(use.sum())} boundary points along the side from ({a[0]:.0f}, {a[1]:.0f}) "
            f"to ({b[0]:.0f}, {b[1]:.0f}); write the points by hand"
        )
    return points[use]


@dataclass(frozen=True)
class _Lens:
    """OpenCV's radial model about ``centre`` (the model ``fit-camera`` fits): distorted
    ``p = c + scale * x (1 + l1 |x|^2 + l2 |x|^4)`` for undistorted ``x`` in units of ``scale`` (half the image
    diagonal; the focal length is not needed). Straight rig edges are straight lines in ``c + scale * x``."""

    centre: np.ndarray
    scale: float
    l1: float = 0.0
    l2: float = 0.0

    def undistort(self, p: np.ndarray) -> np.ndarray:
        rel = (p - self.centre) / self.scale
        rd = np.linalg.norm(rel, axis=-1)
        r = rd.copy()
        for _ in range(8):  # Newton on r (1 + l1 r^2 + l2 r^4) = rd
            f = r * (1.0 + self.l1 * r**2 + self.l2 * r**4) - rd
            df = 1.0 + 3.0 * self.l1 * r**2 + 5.0 * self.l2 * r**4
            r = r - f / np.where(np.abs(df) > 1e-9, df, 1e-9)
        gain = np.where(rd > 1e-12, r / np.maximum(rd, 1e-12), 1.0)
        return self.centre + self.scale * rel * gain[..., None]

    def distort(self, q: np.ndarray) -> np.ndarray:
        x = (np.atleast_2d(q) - self.centre) / self.scale
        r2 = np.sum(x**2, axis=-1, keepdims=True)
        return self.centre + self.scale * x * (1.0 + self.l1 * r2 + self.l2 * r2**2)


def _fit_lines(sides: list[np.ndarray], centre: np.ndarray, scale: float):
    """Four lines and one radial distortion through the sides' boundary points (least squares, outliers trimmed):
    ``(lens, lines (4, 3) as n_x n_y rho in undistorted pixels, per-side rms px, per-side counts)``."""

    def lines_through(lens: _Lens, pts_list) -> np.ndarray:
        out = []
        for pts in pts_list:
            q = lens.undistort(pts)
            mean = q.mean(axis=0)
            _, _, vt = np.linalg.svd(q - mean, full_matrices=False)
            n = vt[1]
            out.append([n[0], n[1], float(n @ mean)])
        return np.array(out)

    def residuals(x: np.ndarray, pts_list) -> np.ndarray:
        pts = np.concatenate(pts_list)
        side = np.repeat(np.arange(len(pts_list)), [len(p) for p in pts_list])
        q = _Lens(centre, scale, x[0], x[1]).undistort(pts)
        theta, rho = x[2::2][side], x[3::2][side]
        return q[:, 0] * np.cos(theta) + q[:, 1] * np.sin(theta) - rho

    kept = [np.asarray(p, dtype=np.float64) for p in sides]
    x0 = [0.0, 0.0]
    for n_x, n_y, rho in lines_through(_Lens(centre, scale), kept):
        x0 += [math.atan2(n_y, n_x), rho]
    x = np.array(x0)
    for _ in range(4):
        result = least_squares(residuals, x, args=(kept,), method="lm", x_scale="jac")
        x = result.x
        lens = _Lens(centre, scale, x[0], x[1])
        trimmed = []
        for i, pts in enumerate(kept):
            n = np.array([math.cos(x[2 + 2 * i]), math.sin(x[2 + 2 * i])])
            r = np.abs(lens.undistort(pts) @ n - x[3 + 2 * i])
            trimmed.append(pts[r <= max(3.0 * 1.4826 * float(np.median(r)), 0.75)])
        if all(len(t) == len(k) for t, k in zip(trimmed, kept, strict=True)) or min(map(len, trimmed)) < 12:
            break
        kept = trimmed
    lens = _Lens(centre, scale, x[0], x[1])
    lines, rms = [], []
    for i, pts in enumerate(kept):
        n = np.array([math.cos(x[2 + 2 * i]), math.sin(x[2 + 2 * i])])
        lines.append([n[0], n[1], x[3 + 2 * i]])
        rms.append(float(np.sqrt(np.mean((lens.undistort(pts) @ n - x[3 + 2 * i]) ** 2))))
    return lens, np.array(lines), rms, [len(k) for k in kept]


def _meet(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection of the lines ``n . q = rho``."""
    return np.linalg.solve(np.array([a[:2], b[:2]]), np.array([a[2], b[2]]))


def _normalized(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    return centred / max(float(np.sqrt(np.mean(np.sum(centred**2, axis=1)))), 1e-9)


def name_corners(
    corners: np.ndarray, expected: Mapping[str, Sequence[float]] | None = None
) -> tuple[dict[str, np.ndarray], str]:
    """Give the four ``(4, 2)`` corners the ``openfield`` rig's names.

    With ``expected`` (``{name: (u, v)}``, e.g. the rig's corners projected through the scene's camera), the
    assignment whose shape (centred, scaled) matches best; otherwise by compass with north at the image top.
    """
    if expected is not None and len(expected) == 4:
        names = list(expected)
        target = _normalized(np.array([expected[n] for n in names], dtype=np.float64))
        found = _normalized(corners)
        best = min(itertools.permutations(range(4)), key=lambda p: float(np.sum((found[list(p)] - target) ** 2)))
        return {n: corners[i] for n, i in zip(names, best, strict=True)}, "scene camera"
    s, d = corners.sum(axis=1), corners[:, 0] - corners[:, 1]
    picks = {"floor_nw": np.argmin(s), "floor_se": np.argmax(s), "floor_ne": np.argmax(d), "floor_sw": np.argmin(d)}
    if len(set(int(i) for i in picks.values())) != 4:
        raise CameraFitError("propose corners: cannot tell the corners apart by position; write them by hand")
    return {n: corners[i] for n, i in picks.items()}, "compass (north = image top)"


def propose_floor_corners(
    image: np.ndarray, expected: Mapping[str, Sequence[float]] | None = None, rays: int = 1440
) -> CornerProposal:
    """Find the arena floor's four corners in ``image`` (the video's median frame).

    Args:
        image: ``(H, W)`` or ``(H, W, 3)`` uint8, the floor around the image centre.
        expected: ``{floor_nw: (u, v), ...}`` rough positions that fix the names (see :func:`name_corners`).
        rays: rays cast from the centre.

    Returns:
        :class:`CornerProposal`.

    Raises:
        CameraFitError: no four-cornered outline around the image centre.
    """
    boundary = boundary_from_centre(image, rays)
    rough = _quad(boundary)
    middle = rough.mean(axis=0)
    rough = rough[np.argsort(np.arctan2(rough[:, 1] - middle[1], rough[:, 0] - middle[0]))]  # clockwise
    h, w = gray_uint8(image).shape[:2]
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    sides = [_side_points(boundary, rough[i], rough[(i + 1) % 4]) for i in range(4)]
    lens, lines, rms, counts = _fit_lines(sides, centre, 0.5 * math.hypot(w, h))
    # corner i: where side i - 1 (ending at it) meets side i (starting at it), in the undistorted image
    straight = np.array([_meet(lines[(i - 1) % 4], lines[i]) for i in range(4)])
    corners = lens.distort(straight)
    if np.max(np.linalg.norm(corners - rough, axis=1)) > 0.1 * np.linalg.norm(rough[0] - rough[2]):
        raise CameraFitError("propose corners: the fitted sides do not meet near the outline's corners")
    named, how = name_corners(corners, expected)
    ts = np.linspace(0.0, 1.0, 80)[:, None]
    drawn = [lens.distort(straight[i] + ts * (straight[(i + 1) % 4] - straight[i])) for i in range(4)]
    points = {n: (float(p[0]), float(p[1])) for n, p in named.items()}
    return CornerProposal(points, drawn, rms, counts, boundary, how)
