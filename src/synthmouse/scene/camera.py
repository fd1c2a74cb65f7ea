"""The OpenCV pinhole camera with lens distortion, and its bridges to OpenGL rendering.

Conventions (the same as OpenCV, DeepLabCut, Anipose):

* camera axes: x right, y down, z forward; world to camera ``x_cam = R @ x_world + t``;
* intrinsics ``K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` (no skew), distortion ``k1 k2 p1 p2 k3``;
* pixel ``(0, 0)`` is the *centre* of the top-left pixel; the image covers
  ``[-0.5, w - 0.5) x [-0.5, h - 0.5)``.

Rendering recipe (what :mod:`synthmouse.render.gl` does with a camera):

1. ``maps = camera.distortion_maps()`` (compute once per intrinsics; extrinsics do not matter);
2. render the scene with the undistorted pinhole ``maps.render_camera`` (its own K and size, same R, t) using
   ``render_camera.gl_view_matrix()`` and ``render_camera.projection_matrix_gl(near, far)``; read the
   framebuffer back and flip its rows (``np.flipud``) so that row 0 is the top of the image;
3. ``cv2.remap(render, maps.map_x, maps.map_y, cv2.INTER_LINEAR)`` gives the distorted camera image, whose
   geometry agrees with :meth:`Camera.project` (the labels) to a small fraction of a pixel.

Cameras with ``det(R) = -1`` are allowed: they are the virtual cameras behind planar mirrors
(:func:`synthmouse.scene.mirror.Mirror.mirrored_camera`). Every projection formula here is linear in ``R``
and works unchanged; only the triangle winding in OpenGL flips (see :meth:`Camera.gl_view_matrix`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.spatial.transform import Rotation

from synthmouse.errors import SceneError

BT601_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma weights for R, G, B (as cv2.COLOR_RGB2GRAY)
DEFAULT_HFOV_DEG = 60.0
_ORTHONORMAL_TOL = 1e-6


class CameraError(SceneError):
    """A camera's parameters are invalid or an operation is impossible for this camera."""


class DistortionMaps(NamedTuple):
    """Everything needed to turn an undistorted pinhole render into the distorted camera image.

    Attributes:
        map_x, map_y: ``(h, w) float32`` for ``cv2.remap(render, map_x, map_y, cv2.INTER_LINEAR)``: the
            render pixel (OpenCV convention) sampled for every output pixel. Output pixels without a preimage
            (outside the lens' image circle for very strong barrel distortion) hold ``-10`` and come out as
            the border value.
        render_camera: the undistorted pinhole camera to render with (same name, R, t; its own K and size; no
            distortion).
        valid: ``(h, w) bool`` output pixels whose source lies inside the render.
    """

    map_x: np.ndarray
    map_y: np.ndarray
    render_camera: Camera
    valid: np.ndarray

    @property
    def render_K(self) -> np.ndarray:
        """``(3, 3) float64`` intrinsics of the render."""
        return self.render_camera.K

    @property
    def render_size(self) -> tuple[int, int]:
        """``(width, height)`` of the render in pixels."""
        return self.render_camera.width, self.render_camera.height


@dataclass(frozen=True, eq=False)
class Camera:
    """An OpenCV camera: intrinsics, 5-coefficient distortion, extrinsics, image size, sensor mode.

    Attributes:
        name: camera name (used in file names and labels).
        width, height: image size in pixels.
        K: ``(3, 3) float64`` intrinsics ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``.
        dist: ``(5,) float64`` OpenCV distortion ``k1 k2 p1 p2 k3``.
        R: ``(3, 3) float64`` world to camera rotation (``det = -1`` only for virtual mirror cameras).
        t: ``(3,) float64`` world to camera translation, metres: ``x_cam = R @ x_world + t``.
        grayscale: the sensor is monochrome (see :meth:`sensor_image`).

    Arrays are copied and made read-only; use :func:`dataclasses.replace` (or the ``with_*`` methods) to
    change one.
    """

    name: str
    width: int
    height: int
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray
    grayscale: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "name", str(self.name))
        set_(self, "width", _positive_int(self.width, self.name, "width"))
        set_(self, "height", _positive_int(self.height, self.name, "height"))
        set_(self, "K", _frozen(_check_intrinsics(self.K, self.name)))
        set_(self, "dist", _frozen(_check_distortion(self.dist, self.name)))
        set_(self, "R", _frozen(_check_rotation(self.R, self.name)))
        set_(self, "t", _frozen(_check_vector(self.t, self.name, "t")))
        set_(self, "grayscale", bool(self.grayscale))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def look_at(
        cls,
        name: str,
        eye,
        target,
        up=(0.0, 0.0, 1.0),
        width: int = 640,
        height: int = 480,
        fx: float | None = None,
        fy: float | None = None,
        cx: float | None = None,
        cy: float | None = None,
        dist=None,
        fov_deg: float | None = None,
        grayscale: bool = False,
    ) -> Camera:
        """A camera at ``eye`` looking at ``target`` with image-up as close to world ``up`` as possible.

        Focal length: ``fx`` if given, else from the horizontal field of view ``fov_deg`` (default 60
        degrees) as ``fx = (width / 2) / tan(fov / 2)``; ``fy`` defaults to ``fx``. ``cx, cy`` default to the
        image centre ``((width - 1) / 2, (height - 1) / 2)``. When the viewing direction is parallel to
        ``up`` (a camera looking straight down on an arena) world +y is used as image-up instead, so image
        right is world +x.
        """
        eye = _check_vector(eye, name, "eye")
        target = _check_vector(target, name, "target")
        forward = target - eye
        if np.linalg.norm(forward) < 1e-12:
            raise CameraError(f"camera {name!r}: eye and target are the same point {eye.tolist()}")
        R = look_at_rotation(forward, up)
        if fx is None:
            fov = DEFAULT_HFOV_DEG if fov_deg is None else float(fov_deg)
            if not 0.0 < fov < 180.0:
                raise CameraError(f"camera {name!r}: fov_deg {fov} must be in (0, 180) degrees")
            fx = 0.5 * width / math.tan(math.radians(fov) / 2.0)
        fy = fx if fy is None else fy
        cx = (width - 1) / 2.0 if cx is None else cx
        cy = (height - 1) / 2.0 if cy is None else cy
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)
        return cls(name, width, height, K, np.zeros(5) if dist is None else dist, R, -R @ eye, grayscale)

    @classmethod
    def from_rvec_tvec(
        cls,
        name: str,
        rvec,
        tvec,
        K,
        dist=None,
        width: int = 640,
        height: int = 480,
        grayscale: bool = False,
    ) -> Camera:
        """A camera from OpenCV's Rodrigues rotation vector ``rvec (3,)`` and translation ``tvec (3,)``."""
        rvec = _check_vector(rvec, name, "rvec")
        R = Rotation.from_rotvec(rvec).as_matrix()
        return cls(name, width, height, K, np.zeros(5) if dist is None else dist, R, tvec, grayscale)

    # ------------------------------------------------------------------ properties
    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.width, self.height

    @property
    def position(self) -> np.ndarray:
        """``(3,) float64`` camera centre in world coordinates, ``-R^T t``."""
        return -self.R.T @ self.t

    @property
    def is_reflected(self) -> bool:
        """True for a virtual mirror camera (``det(R) = -1``); OpenGL must swap its front-face winding."""
        return bool(np.linalg.det(self.R) < 0.0)

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist != 0.0))

    @property
    def rvec(self) -> np.ndarray:
        """``(3,) float64`` Rodrigues rotation vector of ``R`` (as ``cv2.Rodrigues``)."""
        if self.is_reflected:
            raise CameraError(
                f"camera {self.name!r}: R is a reflection (det -1, a mirror camera) without a rotation vector"
            )
        return Rotation.from_matrix(self.R).as_rotvec()

    @property
    def extrinsics(self) -> np.ndarray:
        """``(4, 4) float64`` world to camera transform ``[[R, t], [0, 1]]``."""
        out = np.eye(4)
        out[:3, :3] = self.R
        out[:3, 3] = self.t
        return out

    @property
    def max_undistorted_radius(self) -> float:
        """Largest normalized radius ``r = |(x, y)| / z`` where radial distortion is still monotonic.

        Beyond it OpenCV's polynomial folds back (strong barrel distortion), so points there would project
        onto wrong pixels inside the image; :meth:`projectable` excludes them. ``inf`` when it never folds.
        Tangential terms are ignored here (they are small for real lenses).
        """
        return _fold_radius(self.dist)

    # ------------------------------------------------------------------ projection
    def to_camera(self, points) -> np.ndarray:
        """``(..., 3)`` world points to ``(..., 3) float64`` camera coordinates."""
        points = np.asarray(points, dtype=np.float64)
        return points @ self.R.T + self.t

    def project(self, points) -> np.ndarray:
        """``(..., 3)`` world points to ``(..., 2) float64`` distorted pixels, as cv2.projectPoints.

        Points behind the camera are projected too (as OpenCV does); use :meth:`projectable` or the depth from
        :meth:`project_with_depth` to reject them.
        """
        return self.project_with_depth(points)[0]

    def project_with_depth(self, points) -> tuple[np.ndarray, np.ndarray]:
        """``(..., 3)`` world points to ``(..., 2)`` pixels and ``(...,)`` depth ``z_cam`` (metres)."""
        cam = self.to_camera(points)
        z = cam[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = cam[..., 0] / z
            y = cam[..., 1] / z
        xd, yd = distort_normalized(x, y, self.dist)
        pixels = np.stack([self.fx * xd + self.cx, self.fy * yd + self.cy], axis=-1)
        return pixels, z

    def projectable(self, points) -> np.ndarray:
        """``(...,) bool``: in front of the camera and inside the radius where distortion is monotonic."""
        cam = self.to_camera(points)
        z = cam[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = (cam[..., 0] ** 2 + cam[..., 1] ** 2) / (z * z)
        return (z > 0.0) & (r2 < self.max_undistorted_radius**2)

    def in_image(self, pixels) -> np.ndarray:
        """``(..., 2)`` pixels to ``(...,) bool``: inside ``[-0.5, w - 0.5) x [-0.5, h - 0.5)``."""
        pixels = np.asarray(pixels, dtype=np.float64)
        u, v = pixels[..., 0], pixels[..., 1]
        return (u >= -0.5) & (u < self.width - 0.5) & (v >= -0.5) & (v < self.height - 0.5)

    def undistort_points(self, pixels, output: str = "normalized", exact: bool = True) -> np.ndarray:
        """Remove lens distortion from ``(..., 2)`` distorted pixels.

        Args:
            pixels: ``(..., 2)`` distorted pixel coordinates.
            output: ``"normalized"`` (``x/z, y/z`` as cv2.undistortPoints without P) or ``"pixels"`` (the
                undistorted pinhole pixels with this K, as cv2.undistortPoints with ``P=K``).
            exact: True solves the distortion equations to ~1e-12 with Newton's method (round-trips
                :meth:`project`); False reproduces cv2.undistortPoints' default (5 fixed-point iterations),
                which is off by up to a pixel near the corners with strong distortion.

        Returns:
            ``(..., 2) float64``; NaN where ``exact`` finds no solution (outside the lens' image circle).
        """
        pixels = np.asarray(pixels, dtype=np.float64)
        xd = (pixels[..., 0] - self.cx) / self.fx
        yd = (pixels[..., 1] - self.cy) / self.fy
        if exact:
            x, y, ok = undistort_normalized(xd, yd, self.dist)
            x = np.where(ok, x, np.nan)
            y = np.where(ok, y, np.nan)
        else:
            x, y = _undistort_opencv_iterations(xd, yd, self.dist, iterations=5)
        if output == "normalized":
            return np.stack([x, y], axis=-1)
        if output == "pixels":
            return np.stack([self.fx * x + self.cx, self.fy * y + self.cy], axis=-1)
        raise CameraError(f"undistort_points: output {output!r} is not one of 'normalized', 'pixels'")

    def pixel_rays(self, pixels) -> np.ndarray:
        """``(..., 2)`` distorted pixels to ``(..., 3)`` unit ray directions in world coordinates."""
        xy = self.undistort_points(pixels, output="normalized")
        d_cam = np.concatenate([xy, np.ones(xy.shape[:-1] + (1,))], axis=-1)
        d_world = d_cam @ self.R  # R^T @ d for each ray
        return d_world / np.linalg.norm(d_world, axis=-1, keepdims=True)

    # ------------------------------------------------------------------ OpenGL
    def gl_view_matrix(self) -> np.ndarray:
        """``(4, 4) float64`` world to OpenGL eye coordinates (x right, y up, looking down -z).

        It is ``diag(1, -1, -1, 1) @ [[R, t], [0, 1]]``. For a mirror camera (``is_reflected``) its
        determinant is -1, which swaps triangle winding: render it with ``ctx.front_face = "cw"`` (or with
        culling off).
        """
        return np.diag([1.0, -1.0, -1.0, 1.0]) @ self.extrinsics

    def projection_matrix_gl(self, near: float, far: float) -> np.ndarray:
        """``(4, 4) float64`` OpenGL projection of the *undistorted* pinhole with this K and image size.

        Apply it to ``gl_view_matrix() @ X``. With a viewport of exactly ``width x height`` the point lands at
        window coordinates ``(u + 0.5, height - 0.5 - v)`` where ``(u, v)`` is the OpenCV pixel (window pixel
        i has its centre at i + 0.5, rows counted from the bottom). After reading the framebuffer back, flip
        the rows (``np.flipud``) and array index ``[v, u]`` holds the fragment of OpenCV pixel ``(u, v)``.
        Depth is the standard OpenGL mapping of ``z_cam`` in ``[near, far]`` to NDC ``[-1, 1]``.
        """
        if not 0.0 < near < far:
            raise CameraError(f"camera {self.name!r}: need 0 < near < far, got near={near}, far={far}")
        w, h = self.width, self.height
        P = np.zeros((4, 4))
        P[0, 0] = 2.0 * self.fx / w
        P[0, 2] = 1.0 - 2.0 * (self.cx + 0.5) / w
        P[1, 1] = 2.0 * self.fy / h
        P[1, 2] = 2.0 * (self.cy + 0.5) / h - 1.0
        P[2, 2] = -(far + near) / (far - near)
        P[2, 3] = -2.0 * far * near / (far - near)
        P[3, 2] = -1.0
        return P

    def distortion_maps(
        self, oversize: float | None = None, scale: float = 1.0, margin: int = 2, max_factor: float = 3.0
    ) -> DistortionMaps:
        """Remap tables that turn an undistorted pinhole render into this camera's distorted image.

        Args:
            oversize: ``None`` picks the smallest render (plus ``margin`` pixels) that covers the whole
                distorted image; a number renders ``oversize`` times the image size around the principal
                point instead.
            scale: render pixels per image pixel. Above 1 the render holds more detail than the output;
                low-pass it (e.g. a Gaussian of sigma ~ 0.4 * scale) before the bilinear remap, which does
                not average.
            margin: extra render pixels around the covered area, for the interpolation kernel.
            max_factor: cap on render size over image size (very strong distortion would otherwise ask for a
                huge render; pixels outside the cap become invalid).

        Returns:
            :class:`DistortionMaps`. With no distortion and ``scale = 1`` the maps are an integer shift, so
            the remap copies pixels exactly.
        """
        if scale <= 0 or (oversize is not None and oversize <= 0):
            raise CameraError(f"distortion_maps: scale {scale} and oversize {oversize} must be > 0")
        render = self._render_camera(oversize, scale, margin, max_factor)
        u, v = np.meshgrid(np.arange(self.width, dtype=np.float64), np.arange(self.height, dtype=np.float64))
        xu, yu, ok = undistort_normalized((u - self.cx) / self.fx, (v - self.cy) / self.fy, self.dist)
        map_x = render.fx * xu + render.cx
        map_y = render.fy * yu + render.cy
        ok &= (map_x >= 0) & (map_x <= render.width - 1) & (map_y >= 0) & (map_y <= render.height - 1)
        map_x = np.where(ok, map_x, -10.0).astype(np.float32)
        map_y = np.where(ok, map_y, -10.0).astype(np.float32)
        return DistortionMaps(map_x, map_y, render, ok)

    def _render_camera(self, oversize: float | None, scale: float, margin: int, max_factor: float) -> Camera:
        """The undistorted pinhole camera whose render covers this camera's distorted image."""
        if oversize is not None:
            half_w, half_h = 0.5 * oversize * self.width, 0.5 * oversize * self.height
            u_lo, u_hi = self.cx - half_w, self.cx + half_w
            v_lo, v_hi = self.cy - half_h, self.cy + half_h
        else:
            u_lo, u_hi, v_lo, v_hi = self._undistorted_bounds()
        cap_w, cap_h = 0.5 * (max_factor - 1.0) * self.width, 0.5 * (max_factor - 1.0) * self.height
        u_lo, u_hi = max(u_lo, -0.5 - cap_w), min(u_hi, self.width - 0.5 + cap_w)
        v_lo, v_hi = max(v_lo, -0.5 - cap_h), min(v_hi, self.height - 0.5 + cap_h)
        # Render pixel of an undistorted image pixel p: scale * (p + 0.5) - 0.5 + pad, pad an integer.
        pad_x = math.ceil(margin - (scale * (u_lo + 0.5) - 0.5) - 1e-9)
        pad_y = math.ceil(margin - (scale * (v_lo + 0.5) - 0.5) - 1e-9)
        width = math.ceil(scale * (u_hi + 0.5) - 0.5 + pad_x + margin + 1 - 1e-9)
        height = math.ceil(scale * (v_hi + 0.5) - 0.5 + pad_y + margin + 1 - 1e-9)
        K = np.array(
            [
                [scale * self.fx, 0.0, scale * (self.cx + 0.5) - 0.5 + pad_x],
                [0.0, scale * self.fy, scale * (self.cy + 0.5) - 0.5 + pad_y],
                [0.0, 0.0, 1.0],
            ]
        )
        return dataclasses.replace(self, width=width, height=height, K=K, dist=np.zeros(5))

    def _undistorted_bounds(self) -> tuple[float, float, float, float]:
        """Bounding box ``(u_lo, u_hi, v_lo, v_hi)`` of the undistorted image border, in this K's pixels."""
        w, h = self.width, self.height
        us = np.linspace(-0.5, w - 0.5, 2 * w + 1)
        vs = np.linspace(-0.5, h - 0.5, 2 * h + 1)
        border = np.concatenate(
            [
                np.stack([us, np.full_like(us, -0.5)], -1),
                np.stack([us, np.full_like(us, h - 0.5)], -1),
                np.stack([np.full_like(vs, -0.5), vs], -1),
                np.stack([np.full_like(vs, w - 0.5), vs], -1),
            ]
        )
        und = self.undistort_points(border, output="pixels")
        und = und[np.all(np.isfinite(und), axis=-1)]
        if len(und) == 0:
            return -0.5, w - 0.5, -0.5, h - 0.5
        return float(und[:, 0].min()), float(und[:, 0].max()), float(und[:, 1].min()), float(und[:, 1].max())

    # ------------------------------------------------------------------ variants
    def with_jitter(
        self,
        rng: np.random.Generator,
        position_sigma: float = 0.0,
        rotation_sigma_deg: float = 0.0,
        focal_sigma_rel: float = 0.0,
    ) -> Camera:
        """A randomly perturbed copy of this camera.

        The camera centre moves by N(0, position_sigma^2 I) metres; the camera turns about its centre by a
        rotation vector ~ N(0, rotation_sigma^2 I); fx and fy are scaled by one factor 1 + N(0, sigma^2).

        Draws exactly 7 normals from ``rng`` in that order (position 3, rotation 3, focal 1), even for zero
        sigmas, so the stream stays aligned.
        """
        d_pos = rng.normal(0.0, 1.0, 3) * position_sigma
        d_rot = rng.normal(0.0, 1.0, 3) * math.radians(rotation_sigma_deg)
        d_focal = rng.normal(0.0, 1.0) * focal_sigma_rel
        R = Rotation.from_rotvec(d_rot).as_matrix() @ self.R  # keeps det(R), so mirror cameras stay reflected
        centre = self.position + d_pos
        K = self.K.copy()
        factor = max(1.0 + d_focal, 1e-3)
        K[0, 0] *= factor
        K[1, 1] *= factor
        return dataclasses.replace(self, K=K, R=R, t=-R @ centre)

    def scaled(self, factor: float) -> Camera:
        """The same camera at ``factor`` times the resolution (pixel-centre convention kept exact)."""
        width, height = round(self.width * factor), round(self.height * factor)
        sx, sy = width / self.width, height / self.height
        K = np.array(
            [
                [self.fx * sx, 0.0, sx * (self.cx + 0.5) - 0.5],
                [0.0, self.fy * sy, sy * (self.cy + 0.5) - 0.5],
                [0.0, 0.0, 1.0],
            ]
        )
        return dataclasses.replace(self, width=width, height=height, K=K)

    def sensor_image(self, rgb: np.ndarray) -> np.ndarray:
        """``rgb`` unchanged for a colour camera; BT.601 luma repeated to 3 channels for a grayscale one."""
        return to_sensor(rgb, channels=3) if self.grayscale else rgb

    def __repr__(self) -> str:
        pos = np.array2string(self.position, precision=3)
        return (
            f"Camera({self.name!r}, {self.width}x{self.height}, fx={self.fx:.1f}, fy={self.fy:.1f}, "
            f"cx={self.cx:.1f}, cy={self.cy:.1f}, position={pos}{', grayscale' if self.grayscale else ''})"
        )


# ---------------------------------------------------------------------- distortion equations
def distort_normalized(x, y, dist) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's distortion (``k1 k2 p1 p2 k3``) of normalized coordinates ``x/z, y/z`` (equal shapes)."""
    k1, k2, p1, p2, k3 = (float(d) for d in dist[:5])
    x2, y2, xy = x * x, y * y, x * y
    r2 = x2 + y2
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * xy + p2 * (r2 + 2.0 * x2)
    yd = y * radial + p1 * (r2 + 2.0 * y2) + 2.0 * p2 * xy
    return xd, yd


def undistort_normalized(xd, yd, dist, iterations: int = 30, tol: float = 1e-13) -> tuple:
    """Invert :func:`distort_normalized` with Newton's method.

    Args:
        xd, yd: distorted normalized coordinates, equal shapes.
        dist: ``(5,)`` distortion.

    Returns:
        ``(x, y, ok)``: undistorted coordinates and a bool mask of points that converged inside the monotonic
        range of the radial polynomial (elsewhere the lens has no preimage and ``x, y`` are meaningless).
    """
    xd = np.asarray(xd, dtype=np.float64)
    yd = np.asarray(yd, dtype=np.float64)
    k1, k2, p1, p2, k3 = (float(d) for d in dist[:5])
    if k1 == k2 == p1 == p2 == k3 == 0.0:
        return xd.copy(), yd.copy(), np.isfinite(xd) & np.isfinite(yd)
    r_fold = _fold_radius(dist)
    x, y = xd.copy(), yd.copy()
    for _ in range(iterations):
        fx_, fy_ = distort_normalized(x, y, dist)
        ex, ey = fx_ - xd, fy_ - yd
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        g = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)  # d radial / d r2
        a = radial + 2.0 * x * x * g + 2.0 * p1 * y + 6.0 * p2 * x
        b = 2.0 * x * y * g + 2.0 * p1 * x + 2.0 * p2 * y
        d = radial + 2.0 * y * y * g + 6.0 * p1 * y + 2.0 * p2 * x
        det = a * d - b * b
        with np.errstate(divide="ignore", invalid="ignore"):
            dx = (d * ex - b * ey) / det
            dy = (a * ey - b * ex) / det
        bad = ~np.isfinite(dx) | ~np.isfinite(dy)
        dx = np.where(bad, 0.0, dx)
        dy = np.where(bad, 0.0, dy)
        x, y = x - dx, y - dy
        if np.all(np.abs(dx) + np.abs(dy) < tol):
            break
    fx_, fy_ = distort_normalized(x, y, dist)
    resid = np.hypot(fx_ - xd, fy_ - yd)
    ok = np.isfinite(resid) & (resid < 1e-9) & (x * x + y * y < r_fold * r_fold)
    return x, y, ok


def _undistort_opencv_iterations(xd, yd, dist, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """cv2.undistortPoints' fixed-point iteration ``x = (x0 - tangential) / radial``, ``iterations`` times."""
    k1, k2, p1, p2, k3 = (float(d) for d in dist[:5])
    x, y = xd.copy(), yd.copy()
    failed = np.zeros(np.shape(x), dtype=bool)
    for _ in range(iterations):
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        failed |= radial <= 0.0  # OpenCV gives up and returns the distorted coordinates
        dx = 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        dy = p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        with np.errstate(divide="ignore", invalid="ignore"):
            x_new, y_new = (xd - dx) / radial, (yd - dy) / radial
        x = np.where(failed, x, x_new)
        y = np.where(failed, y, y_new)
    return np.where(failed, xd, x), np.where(failed, yd, y)


def _fold_radius(dist) -> float:
    """Smallest r > 0 where ``d/dr [r (1 + k1 r^2 + k2 r^4 + k3 r^6)] = 0``; inf if none."""
    k1, k2, _, _, k3 = (float(d) for d in dist[:5])
    # 1 + 3 k1 s + 5 k2 s^2 + 7 k3 s^3 = 0 with s = r^2
    coeffs = np.trim_zeros(np.array([7.0 * k3, 5.0 * k2, 3.0 * k1, 1.0]), "f")
    if len(coeffs) < 2:
        return math.inf
    roots = np.roots(coeffs)
    s = roots[(np.abs(roots.imag) < 1e-12) & (roots.real > 0)].real
    return float(np.sqrt(s.min())) if len(s) else math.inf


# ---------------------------------------------------------------------- helpers
def look_at_rotation(forward, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """``(3, 3)`` world to camera rotation (OpenCV axes) looking along ``forward``, image-up towards ``up``.

    Rows are the camera axes in world coordinates: ``x = forward x up`` (right), ``y = z x x`` (down),
    ``z = forward``. If ``forward`` is parallel to ``up`` the fallback up is world +y (then world +x).
    """
    z = np.asarray(forward, dtype=np.float64)
    z = z / np.linalg.norm(z)
    for candidate in (np.asarray(up, dtype=np.float64), np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0])):
        x = np.cross(z, candidate)
        norm = np.linalg.norm(x)
        if norm > 1e-9 * max(np.linalg.norm(candidate), 1e-300):
            x = x / norm
            break
    y = np.cross(z, x)
    return np.stack([x, y, z])


def to_sensor(rgb: np.ndarray, channels: int = 3) -> np.ndarray:
    """A monochrome sensor's image from ``(H, W, 3)`` RGB: ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B``.

    Args:
        rgb: ``(H, W, 3)`` uint8 or float image (RGB order).
        channels: 3 repeats the luma in all channels ``(H, W, 3)`` (what video writers and DeepLabCut expect);
            1 returns ``(H, W)``.

    Returns:
        Same dtype as the input; uint8 is rounded to nearest (as ``cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)``).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise CameraError(f"to_sensor: expected an (H, W, 3) RGB image, got shape {rgb.shape}")
    if channels not in (1, 3):
        raise CameraError(f"to_sensor: channels {channels} must be 1 or 3")
    luma = rgb.astype(np.float32) @ BT601_LUMA.astype(np.float32)
    if np.issubdtype(rgb.dtype, np.integer):
        info = np.iinfo(rgb.dtype)
        luma = np.clip(np.floor(luma + 0.5), info.min, info.max)
    luma = luma.astype(rgb.dtype)
    return luma if channels == 1 else np.repeat(luma[..., None], 3, axis=-1)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _positive_int(value, camera: str, field: str) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or int(value) <= 0:
        raise CameraError(f"camera {camera!r}: {field} {value!r} must be a positive integer")
    return int(value)


def _as_float_array(value, camera: str, field: str, shape: tuple[int, ...]) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CameraError(f"camera {camera!r}: {field} {value!r} is not numeric: {exc}") from None
    if array.shape != shape:
        raise CameraError(f"camera {camera!r}: {field} has shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise CameraError(f"camera {camera!r}: {field} {array.tolist()} has non-finite values")
    return array


def _check_vector(value, camera: str, field: str) -> np.ndarray:
    return _as_float_array(np.ravel(np.asarray(value, dtype=object)), camera, field, (3,))


def _check_intrinsics(value, camera: str) -> np.ndarray:
    K = _as_float_array(value, camera, "K", (3, 3))
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise CameraError(f"camera {camera!r}: K focal lengths fx={K[0, 0]}, fy={K[1, 1]} must be > 0")
    if K[0, 1] != 0.0:
        raise CameraError(f"camera {camera!r}: K skew {K[0, 1]} is not supported (OpenCV ignores it); use 0")
    if K[1, 0] != 0.0 or K[2, 0] != 0.0 or K[2, 1] != 0.0 or K[2, 2] != 1.0:
        raise CameraError(f"camera {camera!r}: K {K.tolist()} must have the form [[fx,0,cx],[0,fy,cy],[0,0,1]]")
    return K


def _check_distortion(value, camera: str) -> np.ndarray:
    try:
        dist = np.ravel(np.array(value, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise CameraError(f"camera {camera!r}: dist {value!r} is not numeric: {exc}") from None
    if dist.size == 4:
        dist = np.append(dist, 0.0)
    if dist.size not in (5, 8, 12, 14) or np.any(dist[5:] != 0.0):
        raise CameraError(
            f"camera {camera!r}: dist {dist.tolist()} must be 4 or 5 OpenCV coefficients k1 k2 p1 p2 [k3] "
            "(rational, thin-prism and tilt terms are not supported)"
        )
    if not np.all(np.isfinite(dist)):
        raise CameraError(f"camera {camera!r}: dist {dist.tolist()} has non-finite values")
    return dist[:5].copy()


def _check_rotation(value, camera: str) -> np.ndarray:
    R = _as_float_array(value, camera, "R", (3, 3))
    if np.abs(R @ R.T - np.eye(3)).max() > _ORTHONORMAL_TOL:
        raise CameraError(f"camera {camera!r}: R {R.tolist()} is not orthonormal (R R^T != I)")
    return R
