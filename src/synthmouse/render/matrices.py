"""Pure matrix and projection maths of the renderer (numpy only, no GPU): OpenGL matrices, shadow projections,
mirror clip planes, scene bounds and depth ranges, vertex normals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import SynthmouseError
from ..scene.materials import Light

NEAR_M = 0.005  # near plane of every camera projection, metres
SHADOW_BIAS = np.array([[0.5, 0, 0, 0.5], [0, 0.5, 0, 0.5], [0, 0, 0.5, 0.5], [0, 0, 0, 1.0]])  # NDC -> texture


@dataclass(frozen=True, eq=False)
class ShadowProjection:
    """Where a shadow map looks from: ``light_vp`` (world -> light clip space), ``shadow_matrix`` (world ->
    shadow-map texture coordinates and depth) and the depth ``offset`` (metres, 1.5 texels) against acne."""

    light_vp: np.ndarray
    shadow_matrix: np.ndarray
    offset: float


def gl_matrix(matrix: np.ndarray) -> bytes:
    """A row-major numpy 4 x 4 matrix as the column-major float32 bytes OpenGL expects."""
    return np.ascontiguousarray(np.asarray(matrix, dtype=np.float32).T).tobytes()


def look_at_gl(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """OpenGL view matrix (camera looks down -z) from ``eye`` to ``target``."""
    f = np.asarray(target, float) - np.asarray(eye, float)
    f /= np.linalg.norm(f)
    up = np.array([0.0, 0.0, 1.0]) if abs(f[2]) < 0.99 else np.array([0.0, 1.0, 0.0])
    s = np.cross(f, up)
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = s, u, -f
    view[:3, 3] = -view[:3, :3] @ eye
    return view


def ortho(left: float, right: float, bottom: float, top: float, near: float, far: float) -> np.ndarray:
    """OpenGL orthographic projection matrix."""
    return np.array(
        [
            [2 / (right - left), 0, 0, -(right + left) / (right - left)],
            [0, 2 / (top - bottom), 0, -(top + bottom) / (top - bottom)],
            [0, 0, -2 / (far - near), -(far + near) / (far - near)],
            [0, 0, 0, 1.0],
        ]
    )


def perspective(fov_rad: float, near: float, far: float) -> np.ndarray:
    """OpenGL perspective projection matrix of a square field of view ``fov_rad``."""
    f = 1.0 / np.tan(fov_rad / 2)
    return np.array(
        [
            [f, 0, 0, 0],
            [0, f, 0, 0],
            [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
            [0, 0, -1.0, 0],
        ]
    )


def shadow_projection(light: Light, bounds: np.ndarray, size: int) -> ShadowProjection:
    """The shadow map projection of a directional (orthographic, covering ``bounds``) or spot light
    (perspective, its cone) for a ``size`` x ``size`` map."""
    centre = bounds.mean(axis=0)
    radius = float(np.linalg.norm(bounds[1] - bounds[0]) / 2) + 1e-3
    if light.kind == "directional":
        eye = centre - light.direction * radius * 2.0
        view = look_at_gl(eye, centre)
        proj = ortho(-radius, radius, -radius, radius, radius * 0.5, radius * 3.5)
        texel_m = 2 * radius / size
    else:  # spot
        eye = np.asarray(light.position, float)
        view = look_at_gl(eye, eye + light.direction)
        far = float(np.linalg.norm(eye - centre) + radius)
        proj = perspective(2 * np.radians(min(light.cone_deg * 1.1, 85.0)), max(far * 1e-3, 0.01), far)
        texel_m = 2 * far * np.tan(np.radians(light.cone_deg)) / size
    light_vp = proj @ view
    return ShadowProjection(light_vp, SHADOW_BIAS @ light_vp, 1.5 * texel_m)


def mirror_clip_planes(mirror, eye: np.ndarray, n_planes: int, max_corners: int) -> np.ndarray:
    """``(n_planes, 4) float32`` planes keeping reflected points behind ``mirror`` and inside the pyramid from
    ``eye`` through the mirror's polygon (each plane's positive side is kept; unused planes keep everything).

    Raises:
        SynthmouseError: the polygon has more than ``max_corners`` corners.
    """
    planes = np.tile(np.array([0.0, 0.0, 0.0, 1.0]), (n_planes, 1))
    n, p = mirror.normal, mirror.point
    planes[0] = [*(-n), float(n @ p)]
    corners = np.asarray(mirror.corners, dtype=np.float64)
    if len(corners) > max_corners:
        raise SynthmouseError(f"mirror {mirror.name!r} has {len(corners)} corners; at most {max_corners}")
    centre = corners.mean(axis=0)
    for i, a in enumerate(corners):
        b = corners[(i + 1) % len(corners)]
        normal = np.cross(a - eye, b - eye)
        w = -float(normal @ eye)
        if normal @ centre + w < 0:
            normal, w = -normal, -w
        planes[i + 1] = [*normal, w]
    return planes.astype("f4")


def scene_bounds(scene, exclude: tuple[str, ...] = ()) -> np.ndarray:
    """``(2, 3)`` bounding box of the rig parts (minus ``exclude``), the placed rest body
    (``scene.body_extent``) and the floor region, padded."""
    boxes = [m.bounds for m in scene.rig if m.name not in exclude]
    extent = getattr(scene, "body_extent", None)
    if extent is None:
        rest = scene.body.skin(scene.rest_pose())[0]
        extent = np.stack([rest.min(0), rest.max(0)])
    boxes.append(np.asarray(extent))
    if scene.floor_region is not None:
        x0, x1, y0, y1 = scene.floor_region
        boxes.append(np.array([[x0, y0, 0.0], [x1, y1, 0.1]]))
    allp = np.concatenate(boxes)
    lo, hi = allp.min(0), allp.max(0)
    pad = 0.02 * np.linalg.norm(hi - lo) + 0.01
    return np.stack([lo - pad, hi + pad])


def far_plane(bounds: np.ndarray, eye: np.ndarray, mirrors: list) -> float:
    """A far plane beyond every corner of ``bounds``, seen directly and through the mirrors."""
    corners = np.array([[x, y, z] for x in bounds[:, 0] for y in bounds[:, 1] for z in bounds[:, 2]])
    eyes = [eye] + [m.reflect_points(eye) for m in mirrors]
    far = max(float(np.linalg.norm(corners - e, axis=1).max()) for e in eyes)
    return max(far * 1.05, NEAR_M * 10)


def nearest_box_order(boxes: list, eye: np.ndarray) -> np.ndarray:
    """Indices of ``(2, 3)`` boxes sorted by the distance of their nearest point to ``eye`` (stable)."""
    keys = [float(np.linalg.norm(np.clip(eye, lo, hi) - eye)) for lo, hi in boxes]
    return np.argsort(keys, kind="stable")


def face_incidence(faces: np.ndarray, n_vertices: int) -> sp.csr_matrix:
    """``(V, T)`` sparse matrix summing face normals into vertex normals."""
    rows = faces.reshape(-1)
    cols = np.repeat(np.arange(len(faces)), 3)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_vertices, len(faces)))


def vertex_normals(vertices: np.ndarray, faces: np.ndarray, incidence: sp.csr_matrix) -> np.ndarray:
    """``(V, 3) float32`` area-weighted vertex normals (not normalized; the shader normalizes)."""
    v0 = vertices[faces[:, 0]]
    face_normals = np.cross(vertices[faces[:, 1]] - v0, vertices[faces[:, 2]] - v0)
    return np.ascontiguousarray(incidence @ face_normals, dtype=np.float32)


__all__ = [
    "NEAR_M",
    "ShadowProjection",
    "face_incidence",
    "far_plane",
    "gl_matrix",
    "look_at_gl",
    "mirror_clip_planes",
    "nearest_box_order",
    "ortho",
    "perspective",
    "scene_bounds",
    "shadow_projection",
    "vertex_normals",
]
