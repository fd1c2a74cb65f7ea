"""Batched inverse kinematics for one limb chain: put a paw point at a target, vectorized over frames.

Damped Gauss-Newton with the analytic Jacobian of revolute joints (``d p / d theta = omega x (p - o)``), joint
limits enforced by projection after each step, and a prior that pulls free joints towards reference angles. The
paw's long axis can also be steered towards a target direction (to keep a planted paw flat and pointing forward).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..body.rotations import angles_to_matrices

if TYPE_CHECKING:  # annotations only: the rig is built from this module's limb names
    from .rig import Limb, MotionRig

LIMB_NAMES = ("fore_l", "fore_r", "hind_l", "hind_r")  # the four limbs of a rig, in this order everywhere

_EY = np.array([0.0, 1.0, 0.0])
_EZ = np.array([0.0, 0.0, 1.0])
_EX = np.array([1.0, 0.0, 0.0])

# Metres of paw error that one rad/s^2 of angular acceleration costs in the generators' limb IK (the second
# difference of the angles is weighted by ``ACCEL_WEIGHT * fps**2``); 3000 rad/s^2 weighs like 3 mm. Without
# it, joints that run into a limit mid-swing turn back within a frame: 3800 rad/s^2 at 100 fps (parametric mouse,
# head-fixed on a wheel); with it, at most about 2000 rad/s^2 (measured for walk, trot, treadmill and wheel).
ACCEL_WEIGHT = 1e-6


@dataclass(frozen=True)
class LimbTargets:
    """What a limb should reach, per frame.

    Attributes:
        position: ``(N, 3)`` world target of the paw's contact point.
        direction: ``(N, 3)`` unit world direction for the paw's long axis, or None.
        position_weight, direction_weight: residual weights (position in metres, direction unitless; either
            may be ``(N,)``, one per frame).
        yaw_only: steer only the paw's heading (its sideways component), leaving its pitch free so a paw can
            roll over its toes in stance.
        pitch_weight: with ``yaw_only``, a (weaker) pull of the paw's pitch (the z of its long axis) towards the
            target direction's, so a rolling paw does not push its heel into the floor.
    """

    position: np.ndarray
    direction: np.ndarray | None = None
    position_weight: float | np.ndarray = 1.0
    direction_weight: float | np.ndarray = 0.004
    yaw_only: bool = False
    pitch_weight: float | np.ndarray = 0.0


def chain_forward(
    rig: MotionRig, limb: Limb, anchor: np.ndarray, angles: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Forward kinematics of a limb chain.

    Args:
        anchor: ``(N, 4, 4)`` world frame of the parent of the chain's first joint.
        angles: ``(N, n, 3)`` angles of the chain joints.

    Returns:
        ``(point (N, 3), direction (N, 3), origins (N, n, 3), axes (N, n, 3, 3))``: the contact point, the paw's
        long axis, each joint's world origin and its three rotation axes (flex, lateral, twist) in the world.
    """
    local_rest = rig.skeleton.local_rest[limb.chain]
    rots = angles_to_matrices(angles)
    n = len(limb.chain)
    frames = anchor[:, :3, :3]
    origin = anchor[:, :3, 3]
    origins = np.empty((anchor.shape[0], n, 3))
    axes = np.empty((anchor.shape[0], n, 3, 3))
    for i in range(n):
        origin = origin + frames @ local_rest[i, :3, 3]
        pre = frames @ local_rest[i, :3, :3]
        a = angles[:, i, 0]
        ca, sa = np.cos(a), np.sin(a)
        b = angles[:, i, 1]
        cb, sb = np.cos(b), np.sin(b)
        # Axes of Ry(a) @ Rz(b) @ Rx(c): y, then Ry(a) z, then Ry(a) Rz(b) x, all in the pre-rotation frame.
        lat_local = np.stack([sa, np.zeros_like(a), ca], axis=-1)
        twist_local = np.stack([ca * cb, sb, -sa * cb], axis=-1)
        axes[:, i, 0] = pre @ _EY
        axes[:, i, 1] = np.einsum("nij,nj->ni", pre, lat_local)
        axes[:, i, 2] = np.einsum("nij,nj->ni", pre, twist_local)
        origins[:, i] = origin
        frames = pre @ rots[:, i]
    point = origin + frames @ limb.contact_local
    direction = frames @ _EX
    return point, direction, origins, axes


def solve_limb(
    rig: MotionRig,
    limb: Limb,
    anchor: np.ndarray,
    targets: LimbTargets,
    init: np.ndarray,
    prior: np.ndarray | None = None,
    prior_weight: float | np.ndarray = 0.002,
    iterations: int = 12,
    damping: float = 1e-6,
    smooth: float = 0.0,
    accel: float = 0.0,
) -> np.ndarray:
    """Chain angles ``(N, n, 3)`` that bring the paw's contact point to ``targets`` (see module docstring).

    Args:
        anchor: ``(N, 4, 4)`` world frame of the chain's parent joint.
        init: ``(N, n, 3)`` starting angles (inside the limits).
        prior: ``(N, n, 3)`` or ``(n, 3)`` reference angles for the regulariser (default: ``init``).
        prior_weight: weight of the prior, metres per radian (small: it only settles redundant joints); a
            ``(n, 3)`` array weights each joint axis separately.
        smooth: weight (metres per radian) of the change of angles between consecutive frames; > 0 couples the
            frames (one banded solve per iteration) so that neighbouring frames stay on the same IK branch.
        accel: weight (metres per radian) of the second difference of the angles between consecutive frames
            (callers scale it by ``fps**2`` to penalise angular acceleration in rad/s^2); it rounds off the kinks
            where a joint runs into a limit, which a first-difference term alone leaves.
    """
    lo, hi = rig.lo[limb.chain], rig.hi[limb.chain]
    dof = limb.dofs.reshape(-1)
    theta = np.clip(np.asarray(init, dtype=np.float64), lo, hi).copy()
    prior = theta.copy() if prior is None else np.broadcast_to(prior, theta.shape)
    n_frames = theta.shape[0]
    m = int(dof.sum())
    wp = np.broadcast_to(np.asarray(targets.position_weight, dtype=np.float64), (theta.shape[0],))
    wd = np.broadcast_to(np.asarray(targets.direction_weight, dtype=np.float64), (theta.shape[0],))
    eye = np.eye(m)
    lo_flat, hi_flat = lo.reshape(-1)[dof], hi.reshape(-1)[dof]
    pw2 = np.broadcast_to(np.asarray(prior_weight, dtype=np.float64), (len(limb.chain), 3)).reshape(-1)[dof] ** 2
    for _ in range(iterations):
        point, direction, origins, axes = chain_forward(rig, limb, anchor, theta)
        flat_axes = axes.reshape(n_frames, -1, 3)[:, dof]  # (N, m, 3)
        flat_origins = np.repeat(origins, 3, axis=1)[:, dof]
        jp = np.cross(flat_axes, point[:, None] - flat_origins)  # (N, m, 3)
        res_p = (targets.position - point) * wp[:, None]
        lhs = np.einsum("nmi,nki->nmk", jp, jp) * wp[:, None, None] ** 2
        rhs = np.einsum("nmi,ni->nm", jp, res_p) * wp[:, None]
        if targets.direction is not None and targets.yaw_only:
            side = np.cross([0.0, 0.0, 1.0], targets.direction)
            side /= np.maximum(np.linalg.norm(side, axis=-1, keepdims=True), 1e-12)
            jd = np.einsum("nmi,ni->nm", np.cross(flat_axes, direction[:, None]), side) * wd[:, None]
            res_d = -np.einsum("ni,ni->n", side, direction) * wd
            lhs += jd[:, :, None] * jd[:, None, :]
            rhs += jd * res_d[:, None]
            wz = np.broadcast_to(np.asarray(targets.pitch_weight, dtype=np.float64), (theta.shape[0],))
            if np.any(wz > 0):
                jz = np.cross(flat_axes, direction[:, None])[..., 2] * wz[:, None]
                res_z = (targets.direction[:, 2] - direction[:, 2]) * wz
                lhs += jz[:, :, None] * jz[:, None, :]
                rhs += jz * res_z[:, None]
        elif targets.direction is not None:
            jd = np.cross(flat_axes, direction[:, None]) * wd[:, None, None]
            res_d = (targets.direction - direction) * wd[:, None]
            lhs += np.einsum("nmi,nki->nmk", jd, jd)
            rhs += np.einsum("nmi,ni->nm", jd, res_d)
        delta_prior = (prior.reshape(n_frames, -1) - theta.reshape(n_frames, -1))[:, dof]
        lhs += eye * (pw2 + damping)
        rhs += pw2 * delta_prior
        current = theta.reshape(n_frames, -1)[:, dof]
        step = _step(lhs, rhs, current, smooth, accel)
        # active set: joints at a limit that the step pushes further out are held, and the step recomputed
        blocked = ((current <= lo_flat + 1e-9) & (step < 0)) | ((current >= hi_flat - 1e-9) & (step > 0))
        if blocked.any():
            lhs = lhs + np.eye(m) * (blocked[:, :, None] * 1e6)
            rhs = np.where(blocked, 0.0, rhs)
            step = _step(lhs, rhs, current, smooth, accel)
        flat = theta.reshape(n_frames, -1)
        flat[:, dof] += step
        theta = np.clip(flat.reshape(theta.shape), lo, hi)
    return theta


def _step(lhs: np.ndarray, rhs: np.ndarray, current: np.ndarray, smooth: float, accel: float = 0.0) -> np.ndarray:
    if (smooth > 0.0 or accel > 0.0) and len(rhs) > 1:
        return _banded_step(lhs, rhs, current, difference_penalty(len(rhs), smooth**2, accel**2))
    return np.linalg.solve(lhs, rhs[..., None])[..., 0]


def difference_penalty(n: int, w1: float, w2: float) -> np.ndarray:
    """Upper bands ``(3, n)`` of ``L = w1 D1^T D1 + w2 D2^T D2`` (``D1``, ``D2``: first and second differences
    over ``n`` frames): row ``k`` holds ``L[f, f + k]`` at column ``f``. Built from the stencils, O(n)."""
    bands = np.zeros((3, n))
    for weight, stencil in ((w1, (-1.0, 1.0)), (w2, (1.0, -2.0, 1.0))):
        rows = n - len(stencil) + 1  # rows of the difference operator
        if weight <= 0.0 or rows <= 0:
            continue
        for i, ci in enumerate(stencil):
            for j in range(i, len(stencil)):
                bands[j - i, i : i + rows] += weight * ci * stencil[j]
    return bands


def _banded_step(lhs: np.ndarray, rhs: np.ndarray, theta: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """Solve the Gauss-Newton system of all frames at once with the temporal penalty ``sum theta^T L theta``
    (``L`` given by its upper ``bands``, see :func:`difference_penalty`, applied to each angle separately): a
    block-banded system solved as a symmetric banded matrix."""
    from scipy.linalg import solveh_banded

    n, m = rhs.shape
    lhs = lhs + bands[0][:, None, None] * np.eye(m)
    lap = bands[0][:, None] * theta
    for k in (1, 2):
        lap[:-k] += bands[k, : n - k, None] * theta[k:]
        lap[k:] += bands[k, : n - k, None] * theta[:-k]
    rhs = rhs - lap
    u = 2 * m  # upper bandwidth: frame f couples to f + 2
    ab = np.zeros((u + 1, n * m))
    for k in range(m):
        band = ab[u - k].reshape(n, m)
        band[:, k:] = lhs[:, np.arange(m - k), np.arange(k, m)]
    for k in (1, 2):
        ab[u - k * m].reshape(n, m)[k:] += bands[k, : n - k, None]
    return solveh_banded(ab, rhs.reshape(-1), check_finite=False).reshape(n, m)


def limb_anchor(world: np.ndarray, rig: MotionRig, limb: Limb) -> np.ndarray:
    """``(F, 4, 4)`` world frame of the parent of the limb's first joint, from full-body frames ``(F, J, 4, 4)``."""
    return world[:, int(rig.skeleton.parents[limb.chain[0]])]
