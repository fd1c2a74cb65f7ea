"""Skeleton: joint tree, rest-pose anatomical frames, joint limits, and vectorized forward kinematics.

Conventions (project-wide): metres; right-handed body frame with z up; the rest pose faces +x (nose towards +x)
with the animal's left side towards +y.

Each joint carries an *anatomical frame* in the rest pose, a rigid transform ``rest[j]`` (4 x 4, body frame):

* origin at the joint centre;
* x along the bone, from the joint towards its main child (the child with the largest subtree);
* z is body-up (+z) made orthogonal to x, or body-forward (+x) where the bone is near vertical;
* y completes the right-handed frame (body-left for a bone pointing forward).

Joint angles (see :mod:`synthmouse.body.rotations`) rotate a joint's frame relative to its rest orientation, so
the zero pose is the rest pose and limits are expressed about anatomical axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ModelFormatError, PoseError
from .rotations import invert_rigid, matrices_to_angles, rigid


def topological_levels(parents: np.ndarray, source: str = "<skeleton>") -> list[np.ndarray]:
    """Group joint indices by depth in the tree (roots first). Raises on cycles, bad or missing parents."""
    parents = np.asarray(parents)
    n = len(parents)
    bad = np.flatnonzero((parents < -1) | (parents >= n))
    if bad.size:
        j = int(bad[0])
        raise ModelFormatError(
            source, f"joint {j} has parent {int(parents[j])}, allowed is -1 (root) or 0..{n - 1}", line=j + 1
        )
    self_parent = np.flatnonzero(parents == np.arange(n))
    if self_parent.size:
        j = int(self_parent[0])
        raise ModelFormatError(source, f"joint {j} is its own parent (a cycle)", line=j + 1)
    roots = np.flatnonzero(parents == -1)
    if roots.size != 1:
        raise ModelFormatError(source, f"the skeleton needs exactly one root (parent -1), found {roots.size}")
    depth = np.full(n, -1, dtype=np.int64)
    depth[roots] = 0
    for _ in range(n):
        todo = depth < 0
        if not todo.any():
            break
        ready = todo & (depth[parents] >= 0)
        if not ready.any():
            break
        depth[ready] = depth[parents[ready]] + 1
    unreached = np.flatnonzero(depth < 0)
    if unreached.size:
        j = int(unreached[0])
        raise ModelFormatError(
            source, f"joint {j} is not connected to the root: its parent chain has a cycle", line=j + 1
        )
    return [np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1)]


def anatomical_frames(positions: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Rest-pose anatomical frames ``(J, 4, 4)`` from joint positions ``(J, 3)`` and parents ``(J,)``.

    See the module docstring for the axis rules. Zero-length bones take the direction of the next non-zero bone
    down the main chain, or of the parent bone for leaf joints.
    """
    positions = np.asarray(positions, dtype=np.float64)
    n = len(parents)
    children: list[list[int]] = [[] for _ in range(n)]
    for j, p in enumerate(parents):
        if p >= 0:
            children[p].append(j)
    subtree = np.ones(n, dtype=np.int64)
    for level in reversed(topological_levels(parents)):
        for j in level:
            if parents[j] >= 0:
                subtree[parents[j]] += subtree[j]
    main_child = [max(ch, key=lambda c: subtree[c]) if ch else -1 for ch in children]

    def bone_direction(j: int) -> np.ndarray | None:
        k = j
        while main_child[k] >= 0:
            k = main_child[k]
            d = positions[k] - positions[j]
            if np.linalg.norm(d) > 1e-9:
                return d / np.linalg.norm(d)
        return None

    directions = np.zeros((n, 3))
    known = np.zeros(n, dtype=bool)
    for j in range(n):
        d = bone_direction(j)
        if d is not None:
            directions[j], known[j] = d, True
    for level in topological_levels(parents):  # leaves and degenerate joints inherit from the parent
        for j in level:
            if not known[j]:
                p = parents[j]
                d = positions[j] - positions[p] if p >= 0 else np.zeros(3)
                if p >= 0 and np.linalg.norm(d) > 1e-9:
                    directions[j] = d / np.linalg.norm(d)
                elif p >= 0:
                    directions[j] = directions[p]
                else:
                    directions[j] = (1.0, 0.0, 0.0)
                known[j] = True
    up = np.where(np.abs(directions[:, 2:3]) > 0.9, [[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]])
    z = up - np.sum(up * directions, axis=1, keepdims=True) * directions
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    y = np.cross(z, directions)
    rot = np.stack([directions, y, z], axis=-1)
    return rigid(rot, positions)


@dataclass(frozen=True, eq=False)
class Skeleton:
    """A joint tree with rest-pose anatomical frames and rotation limits.

    Attributes:
        names: ``J`` joint names.
        parents: ``(J,) int`` parent index, -1 for the root.
        rest: ``(J, 4, 4) float64`` rest-pose joint frames in the body frame.
        groups: ``J`` anatomical group names (``spine``, ``tail``, ``elbow_l`` ... see ``joint_limits.yaml``).
        limits: ``(J, 3, 2) float64`` lower/upper angle in radians for (flex, lateral, twist).
    """

    names: tuple[str, ...]
    parents: np.ndarray
    rest: np.ndarray
    groups: tuple[str, ...]
    limits: np.ndarray
    levels: list[np.ndarray] = field(init=False, repr=False)
    local_rest: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.names)
        if self.parents.shape != (n,) or self.rest.shape != (n, 4, 4) or len(self.groups) != n:
            raise ModelFormatError("<skeleton>", "names, parents, rest frames and groups differ in length")
        if self.limits.shape != (n, 3, 2):
            raise ModelFormatError("<skeleton>", f"limits must have shape ({n}, 3, 2), got {self.limits.shape}")
        if len(set(self.names)) != n:
            dup = sorted({x for x in self.names if self.names.count(x) > 1})
            raise ModelFormatError("<skeleton>", f"duplicate joint names: {dup}")
        object.__setattr__(self, "levels", topological_levels(self.parents))
        local = self.rest.copy()
        has_parent = self.parents >= 0
        local[has_parent] = invert_rigid(self.rest[self.parents[has_parent]]) @ self.rest[has_parent]
        object.__setattr__(self, "local_rest", local)

    @property
    def n_joints(self) -> int:
        return len(self.names)

    @property
    def root(self) -> int:
        return int(self.levels[0][0])

    def index(self, name: str) -> int:
        """Index of a joint by name (raises ``KeyError`` naming the known joints)."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"unknown joint {name!r}; joints are: {', '.join(self.names)}") from None

    def joints_in_group(self, group: str) -> np.ndarray:
        """Indices of the joints of one anatomical group, parents before children."""
        return np.array([j for j, g in enumerate(self.groups) if g == group], dtype=np.int64)

    def descendants(self, joint: int) -> np.ndarray:
        """Indices of all joints below ``joint`` (excluding itself)."""
        out, frontier = [], [joint]
        while frontier:
            kids = [int(c) for c in np.flatnonzero(np.isin(self.parents, frontier))]
            out += kids
            frontier = kids
        return np.array(sorted(out), dtype=np.int64)

    def bone_lengths(self, world: np.ndarray) -> np.ndarray:
        """``(..., J)`` distance of each joint to its parent (0 for the root) from world frames ``(..., J, 4, 4)``."""
        pos = world[..., :3, 3]
        par = np.where(self.parents >= 0, self.parents, np.arange(self.n_joints))
        return np.linalg.norm(pos - pos[..., par, :], axis=-1)

    def forward_kinematics(self, rotations: np.ndarray, root: np.ndarray) -> np.ndarray:
        """World frames of every joint.

        Args:
            rotations: ``(F, J, 3, 3)`` local rotations relative to each joint's rest orientation.
            root: ``(F, 4, 4)`` body-to-world transform.

        Returns:
            ``(F, J, 4, 4) float64`` joint frames in the world.
        """
        rotations = np.asarray(rotations, dtype=np.float64)
        frames = rotations.shape[0]
        local = np.matmul(self.local_rest[None, :, :3, :3], rotations)
        transforms = np.zeros((frames, self.n_joints, 4, 4))
        transforms[..., :3, :3] = local
        transforms[..., :3, 3] = self.local_rest[None, :, :3, 3]
        transforms[..., 3, 3] = 1.0
        world = np.empty_like(transforms)
        roots = self.levels[0]
        world[:, roots] = np.matmul(root[:, None], transforms[:, roots])
        for level in self.levels[1:]:
            world[:, level] = np.matmul(world[:, self.parents[level]], transforms[:, level])
        return world

    def check_limits(self, angles: np.ndarray, mode: str = "raise", tolerance: float = 1e-6) -> np.ndarray:
        """Apply the joint limits to ``(F, J, 3)`` angles.

        ``mode="raise"`` raises :class:`PoseError` naming the first joint, frame and angle outside the limits;
        ``mode="clamp"`` returns the angles clipped into the limits. Nothing outside the limits passes silently.
        """
        lo, hi = self.limits[..., 0], self.limits[..., 1]
        if mode == "clamp":
            return np.clip(angles, lo, hi)
        if mode != "raise":
            raise ValueError(f"mode must be 'raise' or 'clamp', got {mode!r}")
        bad = (angles < lo - tolerance) | (angles > hi + tolerance)
        if bad.any():
            f, j, a = (int(i) for i in np.argwhere(bad)[0])
            axis = ("flex", "lateral", "twist")[a]
            raise PoseError(
                f"frame {f}, joint {self.names[j]!r} ({self.groups[j]}): {axis} = "
                f"{np.degrees(angles[f, j, a]):.2f} deg is outside the limits "
                f"[{np.degrees(lo[j, a]):.2f}, {np.degrees(hi[j, a]):.2f}] deg"
            )
        return angles

    def angles_of(self, rotations: np.ndarray) -> np.ndarray:
        """Joint angles ``(F, J, 3)`` of local rotations ``(F, J, 3, 3)``."""
        return matrices_to_angles(rotations)
