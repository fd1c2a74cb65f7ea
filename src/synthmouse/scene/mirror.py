"""Planar mirrors: reflections, the virtual camera behind a mirror, and mirror visibility.

A camera that sees the mouse in a mirror sees the reflected mouse ``M(X)``. Equivalently, the *virtual camera*
``C' = C o M`` sees the original mouse ``X``: ``C.project(M(X)) == C'.project(X)`` exactly. We represent
``C'`` as an ordinary :class:`~synthmouse.scene.camera.Camera` whose rotation is ``R' = R S`` (``S`` the 3x3
reflection, so ``det(R') = -1``) and ``t' = t + R d``; it keeps the real camera's K, distortion and image
size. Every projection formula is linear in ``R`` and works unchanged, so the mirror view's keypoints are
``C'.project(keypoints3d)``.

Rendering a mirror view (what the renderer does): render the scene with the virtual camera (its
``gl_view_matrix`` has determinant -1, so set the front face to clockwise or disable culling), clip away
geometry behind the mirror plane (``mirror.plane``: keep ``plane @ [x, 1] >= 0``), and composite the result
into the real camera's undistorted render inside the mirror's image polygon
(``mirror.image_polygon(render_camera)``) where the mirror is nearer than the real scene; then distort the
composite once. Labels from the mirror view get the suffix of :func:`mirror_names`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from synthmouse.errors import SceneError
from synthmouse.scene.camera import Camera

DEFAULT_MIRROR_SUFFIX = "_mirror"
_PLANE_TOL = 1e-6  # metres: corners must lie this close to the mirror plane


class MirrorError(SceneError):
    """A mirror definition is invalid."""


@dataclass(frozen=True, eq=False)
class Mirror:
    """A planar mirror.

    Attributes:
        point: ``(3,) float64`` a point on the mirror plane, world metres.
        normal: ``(3,) float64`` unit normal pointing out of the reflective face (towards the arena).
        corners: ``(N, 3) float64`` polygon of the mirror's outline (N >= 3, in order around it), or ``None``
            for an infinite plane.
        name: mirror name (used in virtual camera names).
    """

    point: np.ndarray
    normal: np.ndarray
    corners: np.ndarray | None = None
    name: str = "mirror"

    def __post_init__(self) -> None:
        point = _vector(self.point, self.name, "point")
        normal = _vector(self.normal, self.name, "normal")
        length = np.linalg.norm(normal)
        if length < 1e-12:
            raise MirrorError(f"mirror {self.name!r}: normal {normal.tolist()} has zero length")
        normal = normal / length
        object.__setattr__(self, "point", _frozen(point))
        object.__setattr__(self, "normal", _frozen(normal))
        if self.corners is not None:
            corners = np.array(self.corners, dtype=np.float64)
            if corners.ndim != 2 or corners.shape[1] != 3 or corners.shape[0] < 3:
                raise MirrorError(f"mirror {self.name!r}: corners have shape {corners.shape}, expected (N>=3, 3)")
            off = np.abs((corners - point) @ normal).max()
            if off > _PLANE_TOL:
                raise MirrorError(
                    f"mirror {self.name!r}: corners lie up to {off:.3g} m off the mirror plane (allowed "
                    f"{_PLANE_TOL} m); give corners on the plane through point with that normal"
                )
            object.__setattr__(self, "corners", _frozen(corners))

    @classmethod
    def from_corners(cls, corners, facing, name: str = "mirror") -> Mirror:
        """A mirror from its ``(N, 3)`` planar outline; its normal points towards ``facing (3,)``."""
        corners = np.array(corners, dtype=np.float64)
        if corners.ndim != 2 or corners.shape[1] != 3 or corners.shape[0] < 3:
            raise MirrorError(f"mirror {name!r}: corners have shape {corners.shape}, expected (N>=3, 3)")
        centre = corners.mean(axis=0)
        _, _, vt = np.linalg.svd(corners - centre)
        normal = vt[2]
        if np.dot(np.asarray(facing, dtype=np.float64) - centre, normal) < 0:
            normal = -normal
        return cls(centre, normal, corners, name)

    # ------------------------------------------------------------------ geometry
    @property
    def plane(self) -> np.ndarray:
        """``(4,) float64`` plane ``[n, -n . p]``: ``plane @ [x, 1]`` is the signed distance (front > 0)."""
        return np.append(self.normal, -float(self.normal @ self.point))

    def signed_distance(self, points) -> np.ndarray:
        """``(..., 3)`` points to ``(...,)`` signed distance to the plane, positive on the reflective side."""
        return (np.asarray(points, dtype=np.float64) - self.point) @ self.normal

    def reflection_matrix(self) -> np.ndarray:
        """``(4, 4) float64`` reflection ``[[S, d], [0, 1]]`` with ``S = I - 2 n n^T``, ``d = 2 (n.p) n``."""
        M = np.eye(4)
        M[:3, :3] -= 2.0 * np.outer(self.normal, self.normal)
        M[:3, 3] = 2.0 * float(self.normal @ self.point) * self.normal
        return M

    def reflect_points(self, points) -> np.ndarray:
        """``(..., 3)`` world points to their ``(..., 3)`` mirror images."""
        points = np.asarray(points, dtype=np.float64)
        return points - 2.0 * self.signed_distance(points)[..., None] * self.normal

    def reflect_directions(self, directions) -> np.ndarray:
        """``(..., 3)`` direction vectors reflected (no translation)."""
        directions = np.asarray(directions, dtype=np.float64)
        return directions - 2.0 * (directions @ self.normal)[..., None] * self.normal

    def mirrored_camera(self, camera: Camera, name: str | None = None) -> Camera:
        """The virtual camera behind the mirror: ``mirrored.project(X) == camera.project(reflect_points(X))``.

        Same intrinsics, distortion, size and sensor as ``camera``; ``R' = R S`` (``det = -1``,
        ``is_reflected``), ``t' = t + R d``. Its image is the mirror view as the real camera sees it (not
        left-right flipped).
        Default name: ``"{camera.name}_{mirror.name}"``.
        """
        M = self.reflection_matrix()
        R = camera.R @ M[:3, :3]
        t = camera.t + camera.R @ M[:3, 3]
        return dataclasses.replace(camera, name=name or f"{camera.name}_{self.name}", R=R, t=t)

    def mirror_visible(self, points, camera: Camera) -> np.ndarray:
        """``(..., 3)`` world points to ``(...,) bool``: ``camera`` sees the reflection in this mirror.

        True when the camera and the point are both in front of the reflective face and the line of sight from
        the camera centre to the reflected point crosses the plane inside the mirror polygon (anywhere on an
        infinite mirror). Occlusion by other objects and the image bounds are not checked here.
        """
        points = np.asarray(points, dtype=np.float64)
        centre = camera.position
        d_cam = float(self.signed_distance(centre))
        d_pts = self.signed_distance(points)
        front = (d_pts > 0.0) & (d_cam > 0.0)
        if self.corners is None:
            return front
        # The segment from the camera to the reflected point meets the plane at s = d_cam / (d_cam + d_pts).
        reflected = self.reflect_points(points)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = d_cam / (d_cam + d_pts)
        hit = centre + s[..., None] * (reflected - centre)
        return front & self.contains(hit)

    def contains(self, points) -> np.ndarray:
        """``(..., 3)`` points on the plane to ``(...,) bool``: inside the mirror polygon (even-odd rule)."""
        points = np.asarray(points, dtype=np.float64)
        if self.corners is None:
            return np.ones(points.shape[:-1], dtype=bool)
        e1, e2 = _plane_basis(self.normal)
        poly = np.stack([(self.corners - self.point) @ e1, (self.corners - self.point) @ e2], axis=-1)
        px = (points - self.point) @ e1
        py = (points - self.point) @ e2
        return _point_in_polygon(px, py, poly)

    def image_polygon(self, camera: Camera) -> np.ndarray:
        """``(N, 2) float64`` the mirror's corners projected by ``camera`` (edges curve under distortion)."""
        if self.corners is None:
            raise MirrorError(f"mirror {self.name!r} has no corners, so no image polygon")
        return camera.project(self.corners)


def mirror_names(names: Iterable[str], suffix: str = DEFAULT_MIRROR_SUFFIX) -> tuple[str, ...]:
    """Keypoint names for a mirror view: each name with ``suffix`` appended (``nose`` -> ``nose_mirror``)."""
    return tuple(f"{name}{suffix}" for name in names)


def _plane_basis(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors spanning the plane with this unit normal."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(normal, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(normal, e1)


def _point_in_polygon(px: np.ndarray, py: np.ndarray, poly: Sequence) -> np.ndarray:
    """Even-odd ray casting, vectorized over points ``px, py (...)``; ``poly (N, 2)``."""
    poly = np.asarray(poly, dtype=np.float64)
    inside = np.zeros(np.shape(px), dtype=bool)
    x0, y0 = poly[-1]
    for x1, y1 in poly:
        crosses = (y1 > py) != (y0 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (py - y1) * (x0 - x1) / (y0 - y1)
        inside ^= crosses & (px < x_at)
        x0, y0 = x1, y1
    return inside


def _vector(value, mirror: str, field: str) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise MirrorError(f"mirror {mirror!r}: {field} {value!r} is not numeric: {exc}") from None
    if array.shape != (3,) or not np.all(np.isfinite(array)):
        raise MirrorError(f"mirror {mirror!r}: {field} {array.tolist()} must be 3 finite numbers")
    return array


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
