"""The neutral standing posture of a body, solved from its landmarks so it works for any rest pose.

A body's rest pose can be anything (SAM's is a prone T-pose with the hind feet pointing back). Generators start
from a standing posture instead, found in two steps:

1. the axial chain (root height, pelvis, spine, neck and head flexion) by least squares on the heights of the
   dorsal and head landmarks, as fractions of the body length (an adult mouse standing: back ~37 %, nose ~12 %);
2. each limb by inverse kinematics: paw contact point on the floor under its girdle, paw pointing forward.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import least_squares

from ..body import Pose
from ..body.rotations import rigid
from .limb_ik import LIMB_NAMES, LimbTargets, chain_forward, limb_anchor, solve_limb

if TYPE_CHECKING:  # annotations only: the rig computes its standing posture with this module
    from .rig import MotionRig

# Landmark heights of a standing adult mouse, as fractions of the nose-to-tail-base length.
STANDING_HEIGHTS = {
    "tail_root": 0.24,
    "back_rump": 0.33,
    "back_middle": 0.38,
    "back_shoulders": 0.36,
    "head_centre": 0.26,
    "nose": 0.13,
}
# Paw contact targets relative to the girdle joint (shoulder or hip joint), fractions of the body length:
# (forward, outward); and the paw's heading outwards (radians).
FORE_PLACEMENT = (0.04, 0.02, 0.1)
HIND_PLACEMENT = (0.05, 0.05, 0.3)


@dataclass(frozen=True, eq=False)
class Posture:
    """A whole-body posture in the body frame.

    Attributes:
        angles: ``(J, 3)`` joint angles inside the limits.
        height: root height above the floor (metres).
        contacts: ``(4, 3)`` paw contact points (order of :data:`LIMB_NAMES`) in the frame of the floor under
            the root (the root at ``(0, 0, height)``); their z is each paw's sole height.
        paw_dirs: ``(4, 3)`` unit direction of each paw's long axis in the body frame.
    """

    angles: np.ndarray
    height: float
    contacts: np.ndarray
    paw_dirs: np.ndarray

    def root(self, frames: int = 1) -> np.ndarray:
        """``(frames, 4, 4)`` root transforms at the origin, raised to the posture's height."""
        return np.broadcast_to(rigid(np.eye(3), np.array([0.0, 0.0, self.height])), (frames, 4, 4)).copy()

    def pose(self, frames: int = 1) -> Pose:
        rots = Pose.from_angles(np.broadcast_to(self.angles, (frames,) + self.angles.shape))
        return Pose(self.root(frames), rots.rotations)


def _axial_joints(rig: MotionRig) -> dict[str, np.ndarray]:
    return {k: rig.chains[k] for k in ("pelvis", "spine", "neck", "head")}


def solve_axial(rig: MotionRig, heights: dict[str, float] | None = None) -> tuple[np.ndarray, float]:
    """``(angles (J, 3), root height)`` of the axial chain matching landmark heights (fractions of length)."""
    heights = STANDING_HEIGHTS if heights is None else heights
    names = tuple(n for n in heights if n in rig.body.landmarks)
    kset = rig.landmark_set(names)
    target = np.array([heights[n] for n in names]) * rig.body.length
    chains = _axial_joints(rig)
    n_j = rig.n_joints
    # parameters: root z, then one flexion per chain, spread evenly over the chain's joints
    lo = [0.0] + [float(rig.lo[chains[k], 0].sum()) if chains[k].size else 0.0 for k in chains]
    hi = [0.1] + [float(rig.hi[chains[k], 0].sum()) if chains[k].size else 0.0 for k in chains]
    lo, hi = np.array(lo), np.array(hi)
    hi = np.where(hi - lo < 1e-9, lo + 1e-9, hi)

    def angles_of(p):
        angles = np.zeros((1, n_j, 3))
        for value, key in zip(p[1:], chains, strict=True):
            if chains[key].size:
                angles[0, chains[key], 0] = value / chains[key].size
        return rig.clamp(angles)

    def residual(p):
        root = rigid(np.eye(3)[None], np.array([[0.0, 0.0, p[0]]]))
        z = rig.body.keypoints(Pose(root, Pose.from_angles(angles_of(p)).rotations), kset)[0, :, 2]
        return np.concatenate([(z - target) / rig.body.length, 0.06 * p[1:]])

    p0 = np.clip(np.zeros(len(lo)), lo, hi)
    p0[0] = 0.005
    fit = least_squares(residual, p0, bounds=(lo, hi), max_nfev=200)
    return angles_of(fit.x)[0], float(fit.x[0])


def place_limbs(
    rig: MotionRig, angles: np.ndarray, height: float, iterations: int = 60, soles: np.ndarray | None = None
) -> np.ndarray:
    """Angles with each limb solved so its paw stands on the floor under its girdle joint; ``soles (4,)`` are
    the heights of the contact points above the floor (default: each limb's rest-pose sole height)."""
    angles = angles[None].copy()
    root = rigid(np.eye(3)[None], np.array([[0.0, 0.0, height]]))
    world = rig.world(angles, root)
    length = rig.body.length
    for name in LIMB_NAMES:
        limb = rig.limbs[name]
        side = 1.0 if limb.side == "l" else -1.0
        top = world[0, limb.chain[0], :3, 3]
        fwd, out, yaw = FORE_PLACEMENT if limb.is_fore else HIND_PLACEMENT
        sole = limb.sole if soles is None else soles[LIMB_NAMES.index(name)]
        target = np.array([top[0] + fwd * length, top[1] + side * out * length, sole])
        direction = np.array([np.cos(yaw), side * np.sin(yaw), 0.0])
        init = np.zeros((1, len(limb.chain), 3))
        if not limb.is_fore:  # a foot points forward from the heel: start from a dorsiflexed ankle
            init[0, -1, 0] = np.clip(-np.pi / 2, rig.lo[limb.chain[-1], 0], rig.hi[limb.chain[-1], 0])
        theta = solve_limb(
            rig,
            limb,
            limb_anchor(world, rig, limb),
            LimbTargets(target[None], direction[None], direction_weight=0.003),
            init,
            prior=np.zeros((len(limb.chain), 3)),
            prior_weight=0.0003,
            iterations=iterations,
        )
        angles[0, limb.chain] = theta[0]
    return angles[0]


def _paw_clearance(rig: MotionRig, angles: np.ndarray, height: float) -> np.ndarray:
    """``(4,)`` height of each paw's contact point above the lowest vertex of that paw, for ``angles``."""
    pose = Pose(rigid(np.eye(3)[None], np.array([[0.0, 0.0, height]])), Pose.from_angles(angles[None]).rotations)
    verts = rig.body.skin(pose)[0]
    world = rig.world(angles[None], pose.root)
    contacts = rig.contact_points(world)[0]
    dominant = rig.body.mesh.dominant_joint()
    out = np.empty(4)
    for i, name in enumerate(LIMB_NAMES):
        limb = rig.limbs[name]
        paw = np.isin(dominant, np.concatenate([limb.chain[-1:], limb.digits]))
        out[i] = contacts[i, 2] - float(verts[paw, 2].min()) if paw.any() else limb.sole
    return out


def standing_posture(rig: MotionRig) -> Posture:
    """The neutral standing posture of ``rig``'s body (see the module docstring)."""
    axial, height = solve_axial(rig)
    angles = place_limbs(rig, axial, height)
    # the paws are turned in the standing posture: measure how high each contact point really is above the
    # lowest vertex of its paw, and solve again so the soles (not the rest-pose soles) touch the floor
    soles = _paw_clearance(rig, angles, height)
    angles = place_limbs(rig, axial, height, soles=soles)
    angles = rig.clamp(0.5 * (angles + rig.mirror_angles(angles)))  # exactly left/right symmetric
    world = rig.world(angles[None], rigid(np.eye(3)[None], np.array([[0.0, 0.0, height]])))
    contacts = rig.contact_points(world)[0]
    dirs = []
    for name in LIMB_NAMES:
        limb = rig.limbs[name]
        _, d, _, _ = chain_forward(rig, limb, limb_anchor(world, rig, limb), angles[None, limb.chain])
        dirs.append(d[0])
    return Posture(angles, height, contacts, np.array(dirs))


_AXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def body_axis(rig: MotionRig) -> tuple[float, float]:
    """``(centre, front)``: how far the body centre (midpoint of nose and tail base in the standing posture) lies
    ahead of the root, and the nose ahead of that centre (metres, along the heading). Without those landmarks:
    0.4 and 0.5 body lengths. Cached per rig."""
    if rig in _AXES:
        return _AXES[rig]
    length = rig.body.length
    if "nose" in rig.body.landmarks and "tail_root" in rig.body.landmarks:
        posture = rig.standing
        kp = rig.body.keypoints(posture.pose(1), rig.landmark_set(("nose", "tail_root")))[0]
        centre = 0.5 * float(kp[0, 0] + kp[1, 0])
        front = float(kp[0, 0]) - centre
    else:
        centre, front = 0.4 * length, 0.5 * length
    _AXES[rig] = (centre, front)
    return centre, front
