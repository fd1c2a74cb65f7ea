"""Shared types of the motion generators: clips, root states, support surfaces, the stage, root transforms.

A generator turns ``(rig, n_frames, fps, rng, stage, start, end)`` into a :class:`Clip`: joint angles inside the
limits, root transforms, and which paws are planted on the support surface in each frame. Support surfaces are
described in *surface coordinates* ``(s, y, h)``: arc length ``s`` along the running direction in the surface's
own (moving) frame, lateral ``y``, height ``h`` above the surface. A paw planted in stance keeps constant surface
coordinates; :meth:`Support.to_world` maps them into the world at each frame, given how far the surface has moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..body import Pose
from ..body.rotations import angles_to_matrices, invert_rigid, rigid
from .rig import MotionRig


@dataclass(frozen=True)
class RootState:
    """Where the animal stands: position on the floor ``(x, y)`` (metres) and heading (radians about +z)."""

    x: float = 0.0
    y: float = 0.0
    heading: float = 0.0


@dataclass(frozen=True)
class Support:
    """The surface the paws stand on.

    Attributes:
        kind: ``floor`` (static plane ``z = height``), ``treadmill`` (a belt in the plane ``z = height`` running
            towards -x) or ``wheel`` (a cylinder of ``radius`` about an axis parallel to y through ``(0, 0,
            centre_z)``; the animal runs on its top, towards +x).
        height: floor or belt height (metres).
        radius: wheel radius (metres).
        centre_z: wheel axis height; default puts the top of the wheel at ``height``.
    """

    kind: str = "floor"
    height: float = 0.0
    radius: float = 0.1
    centre_z: float | None = None

    @property
    def axis_z(self) -> float:
        return self.height - self.radius if self.centre_z is None else self.centre_z

    @property
    def top(self) -> float:
        return self.height if self.kind != "wheel" else self.axis_z + self.radius

    def to_world(self, s: np.ndarray, y: np.ndarray, h: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world points of surface coordinates (broadcast arrays); ``moved`` is how far (metres of
        surface) the belt or wheel rim has travelled backwards."""
        s, y, h, moved = np.broadcast_arrays(s, y, h, moved)
        if self.kind == "floor":
            return np.stack([s, y, h + self.height], axis=-1)
        if self.kind == "treadmill":
            return np.stack([s - moved, y, h + self.height], axis=-1)
        phi = (s - moved) / self.radius
        r = self.radius + h
        return np.stack([r * np.sin(phi), y, self.axis_z + r * np.cos(phi)], axis=-1)

    def to_surface(self, points: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_world`: ``(..., 3)`` world points to ``(..., 3)`` surface coordinates ``(s, y, h)``."""
        p = np.asarray(points, dtype=np.float64)
        moved = np.broadcast_to(np.asarray(moved, dtype=np.float64), p.shape[:-1])
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        if self.kind == "floor":
            return np.stack([x, y, z - self.height], axis=-1)
        if self.kind == "treadmill":
            return np.stack([x + moved, y, z - self.height], axis=-1)
        dz = z - self.axis_z
        r = np.hypot(x, dz)
        return np.stack([np.arctan2(x, dz) * self.radius + moved, y, r - self.radius], axis=-1)

    def frame(self, s: np.ndarray, h: np.ndarray, moved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World ``(..., 3)`` position and ``(...,)`` pitch (radians, nose-down positive about +y) of a body
        standing at surface coordinate ``s`` and height ``h`` (the surface's tangent plane)."""
        pos = self.to_world(s, np.zeros_like(s), h, moved)
        if self.kind != "wheel":
            return pos, np.zeros(np.shape(pos)[:-1])
        return pos, (np.asarray(s) - moved) / self.radius


@dataclass(frozen=True)
class Arena:
    """An axis-aligned rectangle on the floor between walls, and how a freely moving animal uses it.

    Attributes:
        x_min, x_max, y_min, y_max: the walls (metres).
        margin: how far the root keeps from the walls on paths through the open field (Bezier paths stay in
            :attr:`inner`).
        periphery: share of time (0-1) the body centre should spend in the periphery zone, within
            ``periphery_width`` of a wall (thigmotaxis); a mix plans its stops and paths for it
            (:mod:`synthmouse.motion.itinerary`).
        periphery_width: width of the periphery zone (metres).
        wall_distance: how far the body's midline runs from a wall it follows (metres).
    """

    x_min: float = -0.2
    x_max: float = 0.2
    y_min: float = -0.2
    y_max: float = 0.2
    margin: float = 0.04
    periphery: float = 0.8
    periphery_width: float = 0.08
    wall_distance: float = 0.025

    @property
    def inner(self) -> tuple[float, float, float, float]:
        m = self.margin
        return self.x_min + m, self.x_max - m, self.y_min + m, self.y_max - m

    def wall_gap(self, xy: np.ndarray) -> np.ndarray:
        """``(...)`` distance of points ``(..., 2)`` to the nearest wall (negative outside)."""
        xy = np.asarray(xy, dtype=np.float64)
        return np.minimum.reduce(
            [xy[..., 0] - self.x_min, self.x_max - xy[..., 0], xy[..., 1] - self.y_min, self.y_max - xy[..., 1]]
        )

    @property
    def centre_zone(self) -> tuple[float, float, float, float]:
        """The box outside the periphery zone (at least a tenth of each side wide, around the middle)."""
        w = min(self.periphery_width, 0.45 * (self.x_max - self.x_min), 0.45 * (self.y_max - self.y_min))
        return self.x_min + w, self.x_max - w, self.y_min + w, self.y_max - w

    def contains(self, xy: np.ndarray, tolerance: float = 1e-9) -> np.ndarray:
        """``(...)`` whether points ``(..., 2)`` keep the margin from the walls (or 60 % of ``wall_distance``
        where that is less: a wall-following root)."""
        m = min(self.margin, 0.6 * self.wall_distance)
        x0, x1, y0, y1 = self.x_min + m, self.x_max - m, self.y_min + m, self.y_max - m
        return (
            (xy[..., 0] >= x0 - tolerance)
            & (xy[..., 0] <= x1 + tolerance)
            & (xy[..., 1] >= y0 - tolerance)
            & (xy[..., 1] <= y1 + tolerance)
        )

    def random_state(self, rng: np.random.Generator) -> RootState:
        x0, x1, y0, y1 = self.inner
        return RootState(float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)), float(rng.uniform(-np.pi, np.pi)))


@dataclass(frozen=True)
class HeadFixed:
    """Head fixation: the head joint's world frame is held at ``transform`` (4 x 4); the rest of the body hangs
    from it. ``None`` lets the generator place the head bar at the standing posture above the support."""

    transform: np.ndarray | None = None


@dataclass(frozen=True)
class Stage:
    """The environment of a generator: the support surface (floor, treadmill belt or wheel), the arena, an
    optional head fixation (the head bar) and an optional lick spout.

    A scene derives its stage from its rig (:func:`synthmouse.scene.build.rig_stage`, the one place that decides
    which rigs hold the head); a motion mix's own ``support``/``arena``/``head_fixed`` sections override it.

    Attributes:
        support: the surface the paws stand on.
        arena: where a free mouse walks (used on a floor without head fixation).
        head_fixed: the head fixation, or None for a freely moving mouse.
        spout: ``(x, y, z)`` where a licking tongue aims, in the body frame of the standing posture at the start
            of a bout (z up from the support), or None: in front of the mouth
            (:func:`synthmouse.motion.behaviours.default_lick_target`).
    """

    support: Support = field(default_factory=Support)
    arena: Arena | None = field(default_factory=Arena)
    head_fixed: HeadFixed | None = None
    spout: tuple[float, float, float] | None = None

    @property
    def free(self) -> bool:
        """A freely moving mouse on a floor (not held, not on a belt or wheel): it walks about the arena."""
        return self.support.kind == "floor" and self.head_fixed is None

    def head_bar(self, rig: MotionRig) -> np.ndarray:
        """``(4, 4)`` the head-bar frame the head joint is held at: the head fixation's transform, or the head of
        the rig's standing posture on top of the support at the origin.

        Raises:
            ValueError: the stage has no head fixation.
        """
        if self.head_fixed is None:
            raise ValueError("this stage holds no head (head_fixed is None)")
        if self.head_fixed.transform is not None:
            return np.asarray(self.head_fixed.transform, dtype=np.float64)
        posture = rig.standing
        root = root_transforms(np.array([[0.0, 0.0, self.support.top + posture.height]]), np.zeros(1))
        world = rig.world(posture.angles[None], root)
        return world[0, int(rig.chains["head"][0])]


@dataclass(eq=False)
class Clip:
    """A generated motion.

    Attributes:
        angles: ``(F, J, 3) float64`` joint angles inside the limits.
        root: ``(F, 4, 4) float64`` body-to-world transforms.
        planted: ``(F, 4) bool`` paws (order of :data:`synthmouse.motion.rig.LIMB_NAMES`) planted on the support.
        moved: ``(F,)`` metres the support surface (belt, wheel rim) has moved backwards; zeros on a floor.
        support: the support surface.
        speed: ``(F,)`` forward speed of the animal relative to the support (m/s).
    """

    angles: np.ndarray
    root: np.ndarray
    planted: np.ndarray
    moved: np.ndarray
    support: Support
    speed: np.ndarray

    @property
    def n_frames(self) -> int:
        return self.angles.shape[0]

    def pose(self) -> Pose:
        return Pose(self.root, angles_to_matrices(self.angles))

    @classmethod
    def still(cls, angles: np.ndarray, root: np.ndarray, support: Support) -> Clip:
        n = angles.shape[0]
        return cls(angles, root, np.zeros((n, 4), bool), np.zeros(n), support, np.zeros(n))


def yaw_matrix(heading: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotations about +z."""
    c, s = np.cos(heading), np.sin(heading)
    out = np.zeros(np.shape(heading) + (3, 3))
    out[..., 0, 0], out[..., 0, 1] = c, -s
    out[..., 1, 0], out[..., 1, 1] = s, c
    out[..., 2, 2] = 1.0
    return out


def pitch_matrix(pitch: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotations about +y (positive pitches the nose down)."""
    c, s = np.cos(pitch), np.sin(pitch)
    out = np.zeros(np.shape(pitch) + (3, 3))
    out[..., 0, 0], out[..., 0, 2] = c, s
    out[..., 2, 0], out[..., 2, 2] = -s, c
    out[..., 1, 1] = 1.0
    return out


def root_transforms(
    position: np.ndarray, heading: np.ndarray, pitch: np.ndarray | None = None, pivot: np.ndarray | None = None
) -> np.ndarray:
    """``(F, 4, 4)`` root transforms: yaw ``heading`` then pitch about a body-frame ``pivot (3,)`` (default the
    origin), placed so the body origin is at ``position (F, 3)`` when the pitch is zero."""
    rot = yaw_matrix(heading)
    if pitch is None:
        return rigid(rot, position)
    pivot = np.zeros(3) if pivot is None else np.asarray(pivot, dtype=np.float64)
    p = pitch_matrix(pitch)
    local_t = pivot - np.einsum("fij,j->fi", p, pivot)
    return rigid(rot @ p, position + np.einsum("fij,fj->fi", rot, local_t))


def head_fixed_root(rig, angles: np.ndarray, head_world: np.ndarray) -> np.ndarray:
    """``(F, 4, 4)`` root transforms that put the head joint at ``head_world (4, 4)`` for angles ``(F, J, 3)``."""
    head = int(rig.chains["head"][0])
    body_frames = rig.world(angles, np.broadcast_to(np.eye(4), (angles.shape[0], 4, 4)))
    return head_world @ invert_rigid(body_frames[:, head])


def stance_root(posture, state: RootState, frames: int) -> np.ndarray:
    """``(frames, 4, 4)`` root at ``state`` raised to the posture's standing height."""
    pos = np.broadcast_to([state.x, state.y, posture.height], (frames, 3))
    return root_transforms(pos, np.full(frames, state.heading))
