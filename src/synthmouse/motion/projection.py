"""OpenCV pinhole projection with its Jacobian, for fitting poses to 2D keypoints.

Works on any camera object with ``K (3, 3)``, ``dist (5,)`` (k1 k2 p1 p2 k3), ``R (3, 3)`` and ``t (3,)``
(world to camera ``x_cam = R @ x_world + t``), such as :class:`synthmouse.scene.camera.Camera`; ``motion`` sits
upstream of ``scene``, so it takes cameras by these attributes rather than importing the class. The formula is
OpenCV's (``cv2.projectPoints``); pixel ``(0, 0)`` is the centre of the top-left pixel.
"""

from __future__ import annotations

import numpy as np


def camera_arrays(camera) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(K, dist (5,), R, t)`` as float64 arrays from a camera-like object."""
    dist = np.zeros(5)
    raw = np.asarray(getattr(camera, "dist", np.zeros(5)), dtype=np.float64).ravel()
    dist[: min(5, raw.size)] = raw[:5]
    return (
        np.asarray(camera.K, dtype=np.float64),
        dist,
        np.asarray(camera.R, dtype=np.float64),
        np.asarray(camera.t, dtype=np.float64).ravel(),
    )


def project(camera, points: np.ndarray, jacobian: bool = False):
    """Project world points ``(..., 3)`` to distorted pixels ``(..., 2)``.

    With ``jacobian=True`` also returns ``(..., 2, 3)`` the derivative of the pixels with respect to the world
    point.
    """
    K, dist, R, t = camera_arrays(camera)
    k1, k2, p1, p2, k3 = dist
    cam = np.asarray(points, dtype=np.float64) @ R.T + t
    z = cam[..., 2]
    inv_z = 1.0 / z
    x, y = cam[..., 0] * inv_z, cam[..., 1] * inv_z
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    skew = K[0, 1]
    pixels = np.stack([fx * xd + skew * yd + cx, fy * yd + cy], axis=-1)
    if not jacobian:
        return pixels
    d_radial = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)  # d radial / d r2
    dxd_dx = radial + 2.0 * x * x * d_radial + 2.0 * p1 * y + 6.0 * p2 * x
    dxd_dy = 2.0 * x * y * d_radial + 2.0 * p1 * x + 2.0 * p2 * y
    dyd_dx = 2.0 * x * y * d_radial + 2.0 * p1 * x + 2.0 * p2 * y
    dyd_dy = radial + 2.0 * y * y * d_radial + 6.0 * p1 * y + 2.0 * p2 * x
    d_dist = np.stack([np.stack([dxd_dx, dxd_dy], -1), np.stack([dyd_dx, dyd_dy], -1)], -2)  # (..., 2, 2)
    d_norm = np.zeros(z.shape + (2, 3))
    d_norm[..., 0, 0] = inv_z
    d_norm[..., 0, 2] = -x * inv_z
    d_norm[..., 1, 1] = inv_z
    d_norm[..., 1, 2] = -y * inv_z
    k2x2 = np.array([[fx, skew], [0.0, fy]])
    jac = k2x2 @ d_dist @ d_norm @ R
    return pixels, jac


def triangulate(cameras, pixels: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Linear (DLT) triangulation of ``(C, N, 2)`` pixels seen by ``C`` cameras, ignoring lens distortion's
    non-linearity after undistorting with the cameras' ``undistort_points`` when they have one.

    Args:
        weights: ``(C, N)`` confidence per observation (0 drops it); NaN pixels are dropped.

    Returns:
        ``(N, 3)`` points; NaN where fewer than two views observe a point.
    """
    pixels = np.asarray(pixels, dtype=np.float64)
    n_cams, n = pixels.shape[:2]
    w = np.ones((n_cams, n)) if weights is None else np.asarray(weights, dtype=np.float64).copy()
    w = np.where(np.isfinite(pixels).all(-1), w, 0.0)
    rows = np.zeros((n, 2 * n_cams, 4))
    for c, cam in enumerate(cameras):
        K, _, R, t = camera_arrays(cam)
        if hasattr(cam, "undistort_points"):
            norm = cam.undistort_points(np.nan_to_num(pixels[c]), output="normalized")
        else:
            homog = np.concatenate([np.nan_to_num(pixels[c]), np.ones((n, 1))], -1)
            norm = (homog @ np.linalg.inv(K).T)[:, :2]
        P = np.concatenate([R, t[:, None]], axis=1)
        wc = np.nan_to_num(w[c])[:, None]
        rows[:, 2 * c] = wc * (norm[:, :1] * P[2] - P[0])
        rows[:, 2 * c + 1] = wc * (norm[:, 1:2] * P[2] - P[1])
    _, _, vt = np.linalg.svd(rows)
    homog = vt[:, -1]
    out = homog[:, :3] / homog[:, 3:4]
    out[(w > 0).sum(axis=0) < 2] = np.nan
    return out
