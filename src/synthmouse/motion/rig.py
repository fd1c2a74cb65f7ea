"""A body seen through its anatomical joint groups: the view every motion generator works on.

:class:`MotionRig` collects, from groups and landmarks only (never joint names), what the generators need: joint
limits as arrays, the axial chains (spine, neck, head, tail), the four limbs as joint chains with a contact point on
each paw, the left/right mirror map, and a trunk model for plausibility checks. It works for any body whose
skeleton carries the groups of :mod:`synthmouse.body.groups` and whose landmarks include the shared vocabulary
(``left_paw``, ``left_foot``, ``nose``, ``head_centre`` ...).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..body import Body, KeypointSet, Pose
from ..body.groups import PARTS
from ..body.rotations import angles_to_matrices
from ..body.tongue import TIP_LANDMARK
from ..errors import PoseError
from .limb_ik import LIMB_NAMES
from .posture import Posture, standing_posture

FORE_GROUPS = ("scapula", "shoulder", "elbow", "wrist")
HIND_GROUPS = ("hip", "knee", "ankle")
SIDE_WORD = {"l": "left", "r": "right"}


@dataclass(frozen=True, eq=False)
class Limb:
    """One leg as a joint chain from its girdle joint to the paw.

    Attributes:
        name: ``fore_l``, ``fore_r``, ``hind_l`` or ``hind_r``.
        chain: ``(n,) int`` joints from the proximal limb joint down to the paw joint, parents first (helper
            joints on the path are included; they never move).
        dofs: ``(n, 3) bool`` the axes (flex, lateral, twist) of each chain joint that have a non-empty range.
        digits: ``(d,) int`` the digit joints (held still while the paw is on a surface).
        contact_local: ``(3,)`` the paw's contact landmark in the frame of the last chain joint (rest pose).
        landmark: name of that landmark (``left_paw``, ``left_foot`` ...).
        sole: height of the contact landmark above the lowest vertex of the paw in the rest pose (metres).
    """

    name: str
    chain: np.ndarray
    dofs: np.ndarray
    digits: np.ndarray
    contact_local: np.ndarray
    landmark: str
    sole: float

    @property
    def side(self) -> str:
        return self.name[-1]

    @property
    def is_fore(self) -> bool:
        return self.name.startswith("fore")

    @property
    def paw_joint(self) -> int:
        return int(self.chain[-1])


@dataclass(frozen=True, eq=False)
class MotionRig:
    """Arrays and chains derived once from a :class:`~synthmouse.body.Body` for the motion generators.

    Attributes:
        body: the body.
        lo, hi: ``(J, 3) float64`` lower/upper joint limits (radians) for (flex, lateral, twist).
        movable: ``(J, 3) bool`` axes with a non-empty range.
        chains: axial chains by group name (``pelvis``, ``spine``, ``neck``, ``head``, ``tail``, ``jaw``,
            ``tongue``, ``ear_l``, ``ear_r``) as ``(n,) int`` joints, parents first.
        limbs: the four :class:`Limb` by name.
        mirror: ``(J,) int`` the contralateral joint of each joint (itself on the midline).
    """

    body: Body
    lo: np.ndarray = field(init=False)
    hi: np.ndarray = field(init=False)
    movable: np.ndarray = field(init=False)
    chains: dict[str, np.ndarray] = field(init=False)
    limbs: dict[str, Limb] = field(init=False)
    mirror: np.ndarray = field(init=False)
    depth: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        sk = self.body.skeleton
        set_ = object.__setattr__
        depth = np.zeros(sk.n_joints, dtype=np.int64)
        for d, level in enumerate(sk.levels):
            depth[level] = d
        set_(self, "depth", depth)
        set_(self, "lo", sk.limits[..., 0].copy())
        set_(self, "hi", sk.limits[..., 1].copy())
        set_(self, "movable", (sk.limits[..., 1] - sk.limits[..., 0]) > 1e-9)
        chains = {
            g: self.group(g) for g in ("pelvis", "spine", "neck", "head", "jaw", "tongue", "tail", "ear_l", "ear_r")
        }
        for needed in ("spine", "neck", "head"):
            if chains[needed].size == 0:
                raise PoseError(f"body {self.body.name!r} has no joints in group {needed!r}; motion needs it")
        set_(self, "chains", chains)
        set_(self, "limbs", {name: self._make_limb(name) for name in LIMB_NAMES})
        set_(self, "mirror", self._mirror_map())

    # ------------------------------------------------------------------ construction helpers
    @property
    def skeleton(self):
        return self.body.skeleton

    @property
    def n_joints(self) -> int:
        return self.body.skeleton.n_joints

    def group(self, name: str) -> np.ndarray:
        """Joints of one group sorted parents first (by depth, then index)."""
        joints = self.skeleton.joints_in_group(name)
        return joints[np.lexsort((joints, self.depth[joints]))] if joints.size else joints

    def groups(self, names) -> np.ndarray:
        """Joints of several groups, concatenated."""
        parts = [self.group(n) for n in names]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _path(self, top: int, bottom: int) -> np.ndarray:
        """Joints from ``top`` down to ``bottom`` (both included); raises if ``top`` is not an ancestor."""
        path = [bottom]
        while path[-1] != top:
            parent = int(self.skeleton.parents[path[-1]])
            if parent < 0:
                raise PoseError(f"body {self.body.name!r}: joint {top} is not an ancestor of joint {bottom}")
            path.append(parent)
        return np.array(path[::-1], dtype=np.int64)

    def _make_limb(self, name: str) -> Limb:
        kind, side = name.split("_")
        groups = FORE_GROUPS if kind == "fore" else HIND_GROUPS
        present = [g for g in groups if self.group(f"{g}_{side}").size]
        if len(present) < 2:
            raise PoseError(f"body {self.body.name!r}: limb {name} needs the groups {groups} (side {side})")
        top = int(self.group(f"{present[0]}_{side}")[0])
        paw_group = self.group(f"{present[-1]}_{side}")
        bottom = int(paw_group[-1])
        chain = self._path(top, bottom)
        digit_group = f"{'fore' if kind == 'fore' else 'hind'}_digits_{side}"
        landmark = f"{SIDE_WORD[side]}_{'paw' if kind == 'fore' else 'foot'}"
        if landmark not in self.body.landmarks:
            raise PoseError(f"body {self.body.name!r} lacks the landmark {landmark!r} needed for paw contacts")
        rest_world = self.skeleton.rest
        point = self.landmark_rest(landmark)
        frame = rest_world[bottom]
        contact_local = frame[:3, :3].T @ (point - frame[:3, 3])
        paw_joints = np.concatenate([paw_group, self.group(digit_group)])
        sole = float(point[2] - self._lowest_vertex_z(paw_joints))
        dofs = self.movable[chain]
        return Limb(name, chain, dofs, self.group(digit_group), contact_local, landmark, max(sole, 0.0))

    def _lowest_vertex_z(self, joints: np.ndarray) -> float:
        dominant = self.body.mesh.dominant_joint()
        mask = np.isin(dominant, joints)
        verts = self.body.mesh.vertices[mask] if mask.any() else self.body.mesh.vertices
        return float(verts[:, 2].min())

    def _mirror_map(self) -> np.ndarray:
        mirror = np.arange(self.n_joints)
        groups = self.skeleton.groups
        for g in sorted(set(groups)):
            if not g.endswith("_l"):
                continue
            left, right = self.group(g), self.group(g[:-2] + "_r")
            if left.size == right.size:
                mirror[left], mirror[right] = right, left
        return mirror

    # ------------------------------------------------------------------ landmarks and kinematics
    def landmark_set(self, names: tuple[str, ...] | list[str]) -> KeypointSet:
        """A keypoint set made of the body's landmarks ``names`` (raises naming a missing one)."""
        missing = [n for n in names if n not in self.body.landmarks]
        if missing:
            raise PoseError(f"body {self.body.name!r} has no landmarks {missing}; it has {sorted(self.body.landmarks)}")
        return KeypointSet("motion:" + ",".join(names), tuple(self.body.landmarks[n] for n in names))

    def landmark_rest(self, name: str) -> np.ndarray:
        """``(3,)`` rest-pose position of one landmark in the body frame."""
        return self.body.keypoints(Pose.rest(self.n_joints), self.landmark_set((name,)))[0, 0]

    def local_point(self, landmark: str, joint: int) -> np.ndarray:
        """``(3,)`` rest position of ``landmark`` in the rest frame of ``joint`` (a point carried by the joint)."""
        frame = self.skeleton.rest[joint]
        return frame[:3, :3].T @ (self.landmark_rest(landmark) - frame[:3, 3])

    def world(self, angles: np.ndarray, root: np.ndarray) -> np.ndarray:
        """``(F, J, 4, 4)`` joint frames for angles ``(F, J, 3)`` and root transforms ``(F, 4, 4)``."""
        return self.skeleton.forward_kinematics(angles_to_matrices(angles), root)

    def contact_points(self, world: np.ndarray) -> np.ndarray:
        """``(F, 4, 3)`` world positions of the paw contact points (order of :data:`LIMB_NAMES`)."""
        out = []
        for name in LIMB_NAMES:
            limb = self.limbs[name]
            frame = world[:, limb.paw_joint]
            out.append(frame[:, :3, :3] @ limb.contact_local + frame[:, :3, 3])
        return np.stack(out, axis=1)

    # ------------------------------------------------------------------ limits
    def clamp(self, angles: np.ndarray) -> np.ndarray:
        """Angles ``(..., J, 3)`` clipped into the joint limits."""
        return np.clip(angles, self.lo, self.hi)

    def mirror_angles(self, angles: np.ndarray) -> np.ndarray:
        """Left/right mirror image of ``(..., J, 3)`` angles: swap sides and map (flex, lateral, twist) to
        (flex, -lateral, -twist) (midline joints mirror onto themselves)."""
        out = angles[..., self.mirror, :].copy()
        out[..., 1:] *= -1.0
        return out

    @cached_property
    def trunk(self) -> TrunkModel:
        """Capsule model of the trunk for plausibility checks (see :class:`TrunkModel`)."""
        return TrunkModel.from_rig(self)

    @cached_property
    def floor_sample_all(self):
        """Like :attr:`floor_sample`, tail included."""
        mesh = self.body.mesh
        idx = np.arange(0, mesh.n_vertices, max(1, mesh.n_vertices // 1000))
        return mesh.vertices[idx], mesh.weights[idx]

    @cached_property
    def floor_sample(self):
        """``(vertices (S, 3), weights (S, J) csr)``: every n-th mesh vertex off the tail, used to find the lowest
        point of a posed body quickly (the tail may rest on the floor)."""
        mesh = self.body.mesh
        stride = max(1, mesh.n_vertices // 800)
        tail = np.isin(mesh.dominant_joint(), self.chains["tail"])
        idx = np.flatnonzero(~tail)[::stride]
        return mesh.vertices[idx], mesh.weights[idx]

    @cached_property
    def tongue_protrusion(self) -> tuple[np.ndarray, np.ndarray]:
        """``(joints (k,), limit (k,))``: the tongue joints that carry the tongue's skin and, for each, the
        flexion limit that slides the tongue tip (landmark ``tongue_tip``) furthest forward along the head."""
        joints = self.chains["tongue"]
        skinned = np.isin(joints, self.body.mesh.dominant_joint())
        joints = joints[skinned] if skinned.any() else joints
        posture = self.standing
        head = int(self.chains["head"][0])
        forward = []
        for limit in (self.lo[joints, 0], self.hi[joints, 0]):
            angles = posture.angles[None].copy()
            angles[0, joints, 0] = limit
            world = self.world(angles, posture.root(1))
            tip = self.body.keypoints(
                Pose(posture.root(1), angles_to_matrices(angles)), self.landmark_set((TIP_LANDMARK,)), world=world
            )[0, 0]
            forward.append(float((tip - world[0, head, :3, 3]) @ world[0, head, :3, 0]))
        return joints, (self.hi if forward[1] >= forward[0] else self.lo)[joints, 0]

    @cached_property
    def standing(self) -> Posture:
        """The neutral standing posture of this body (see :func:`synthmouse.motion.posture.standing_posture`)."""
        return standing_posture(self)


@dataclass(frozen=True, eq=False)
class TrunkModel:
    """The trunk as a chain of capsules along a centreline carried by the spine joints.

    Attributes:
        joints: ``(n,) int`` spine-line joints (pelvis, spine, first neck joint) parents first.
        offsets: ``(n, 3)`` centreline point of each joint in its frame (the middle of the trunk's cross-section
            at the joint, so the line runs through the trunk, not along the back).
        radius: ``(n - 1,)`` capsule radius of each segment (inside the skin).
    """

    joints: np.ndarray
    offsets: np.ndarray
    radius: np.ndarray

    @classmethod
    def from_rig(cls, rig: MotionRig) -> TrunkModel:
        """Slab the rest-pose trunk (vertices of the ``trunk`` part) along the body axis at each spine joint: the
        centre of a slab's cross-section is the centreline point, 80 % of its smaller half-extent the radius."""
        joints = np.concatenate([rig.chains["pelvis"], rig.chains["spine"], rig.chains["neck"][:1]])
        rest = rig.skeleton.rest[joints]
        xs = rest[:, 0, 3]
        verts = rig.body.mesh.vertices.astype(np.float64)
        trunk = verts[rig.body.vertex_parts() == PARTS.index("trunk")]
        order = np.argsort(xs)
        edges = np.concatenate([[-np.inf], 0.5 * (xs[order][1:] + xs[order][:-1]), [np.inf]])
        centre = rest[:, :3, 3].copy()
        half = np.full(len(joints), np.inf)
        for rank, k in enumerate(order):
            slab = trunk[(trunk[:, 0] >= edges[rank]) & (trunk[:, 0] < edges[rank + 1])]
            if len(slab) >= 4:
                lo, hi = slab.min(axis=0), slab.max(axis=0)
                centre[k, 1:] = [0.5 * (lo[1] + hi[1]), 0.5 * (lo[2] + hi[2])]
                half[k] = 0.5 * min(hi[1] - lo[1], hi[2] - lo[2])
        half = np.where(np.isfinite(half), half, np.nanmin(np.where(np.isfinite(half), half, np.nan)))
        offsets = np.einsum("kji,kj->ki", rest[:, :3, :3], centre - rest[:, :3, 3])
        radius = 0.8 * np.minimum(half[:-1], half[1:])
        return cls(joints, offsets, radius)

    def centreline(self, world: np.ndarray) -> np.ndarray:
        """``(F, n, 3)`` centreline points for joint frames ``(F, J, 4, 4)``."""
        frames = world[:, self.joints]
        return np.einsum("fkij,kj->fki", frames[..., :3, :3], self.offsets) + frames[..., :3, 3]

    def penetration(self, world: np.ndarray, points: np.ndarray) -> np.ndarray:
        """``(F, P)`` how deep (metres, >0 inside) each point ``(F, P, 3)`` lies inside the trunk capsules."""
        dist = segment_distances(points, self.centreline(world))  # (F, P, S)
        return np.max(self.radius - dist, axis=-1)


def segment_distances(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """``(F, P, S)`` distance of points ``(F, P, 3)`` to the segments of polylines ``(F, S + 1, 3)``."""
    a, b = line[:, None, :-1], line[:, None, 1:]
    p = points[:, :, None]
    ab = b - a
    t = np.clip(np.sum((p - a) * ab, -1) / np.maximum(np.sum(ab * ab, -1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1)


_RIGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def motion_rig(body: Body) -> MotionRig:
    """The :class:`MotionRig` of a body, built once per body object and cached."""
    rig = _RIGS.get(body)
    if rig is None:
        rig = MotionRig(body)
        _RIGS[body] = rig
    return rig
