"""Locomotion: walk and trot along a root path, with paws planted on the support surface during stance.

Each limb has a phase ``psi = frac(phi(t) + offset)`` where ``phi`` integrates the stride frequency; a limb is in
stance while ``psi < duty_factor``. Every stance has one foothold: the paw's standing-posture position carried by
the root at mid-stance, in surface coordinates (so it stays put on a floor, and travels with a treadmill belt or
a wheel's rim). In swing the paw moves to the next foothold on a minimum-jerk path, lifted by ``step_height``
(scaled down for short steps, so a stopped animal's paws stay down). Limb angles come from batched inverse
kinematics (:mod:`synthmouse.motion.limb_ik`) with the paw kept pointing along the heading. The trunk sways
with the stride and carries a little smooth random movement.

Phase offsets (fraction of a stride, order fore_l, fore_r, hind_l, hind_r): walk is the lateral-sequence walk
(hind_l 0, fore_l 0.25, hind_r 0.5, fore_r 0.75); trot moves diagonal pairs together (fore_l + hind_r, then
fore_r + hind_l).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from .base import (
    Clip,
    RootState,
    Stage,
    head_fixed_root,
    pitch_matrix,
    root_transforms,
    yaw_matrix,
)
from .behaviours import spread_flex
from .kinematics import keep_head_above, keep_tail_above, random_angles
from .limb_ik import ACCEL_WEIGHT, LimbTargets, limb_anchor, solve_limb
from .noise import SplineNoise, min_jerk
from .path import RootPath, plan_path, straight_path, wall_track
from .posture import body_axis
from .rig import LIMB_NAMES, MotionRig
from .spec import GeneratorSpec

PHASE_OFFSETS = {
    "walk": np.array([0.75, 0.25, 0.0, 0.5]),  # touchdowns: hind_l 0, fore_l 0.25, hind_r 0.5, fore_r 0.75
    "trot": np.array([0.0, 0.5, 0.5, 0.0]),
}
WHEEL_BEND = 0.5  # trunk flexion on a wheel, radians per (body length / wheel radius)
PRIOR_WEIGHTS = np.array([0.0002, 0.0008, 0.0008])  # metres per radian of (flex, lateral, twist) off the posture
SWING_WEIGHT = 0.3  # position weight of a paw in the middle of its swing (1 in stance)
PAW_PITCH_WEIGHT = 0.002  # keeps paws near flat (metres per unit of the long axis' z)
MAX_STANCE = 0.16  # longest stance travel, fraction of the body length (the legs' reach)
DEFAULTS = {  # stride frequency (Hz) at the cruise speed, duty factor
    "walk": (3.5, 0.65),
    "trot": (5.5, 0.5),
}


class LocomotionSpec(GeneratorSpec):
    """Walking or trotting along a path across the arena (floor) or in place on a treadmill or wheel.

    Attributes:
        gait: ``walk`` or ``trot``.
        speed: cruise speed (m/s); on a floor the path length and bout duration set the actual mean speed, and
            the stride frequency scales with the square root of speed / cruise speed.
        stride_frequency: strides per second at the cruise speed (default: walk 3.5, trot 5.5).
        duty_factor: fraction of a stride a paw is on the ground (default: walk 0.65, trot 0.5).
        step_height: paw lift in swing, as a fraction of the body length.
        pauses: mean number of pauses per bout (on a floor).
        pause_duration: ``[min, max]`` seconds of a pause.
        body_noise: amplitude of the smooth random movement of spine, neck, head and tail.
        sway: lateral bending of the spine with the stride, radians per spine joint.
    """

    type: Literal["locomotion"] = "locomotion"
    moves_root = True
    gait: Literal["walk", "trot"] = "walk"
    speed: float = Field(0.12, gt=0.0, le=1.0)
    stride_frequency: float | None = Field(None, gt=0.2, le=20.0)
    duty_factor: float | None = Field(None, gt=0.2, lt=0.95)
    step_height: float = Field(0.06, ge=0.0, le=0.3)
    pauses: float = Field(0.3, ge=0.0, le=10.0)
    pause_duration: tuple[float, float] = (0.3, 1.0)
    body_noise: float = Field(0.12, ge=0.0, le=1.0)
    sway: float = Field(0.03, ge=0.0, le=0.3)

    def generate(
        self,
        rig: MotionRig,
        n_frames: int,
        fps: float,
        rng: np.random.Generator,
        stage: Stage | None = None,
        start: RootState | None = None,
        end: RootState | None = None,
    ) -> Clip:
        stage = stage or Stage()
        return locomotion_clip(rig, self.root_path(rig, n_frames, fps, rng, stage, start, end), stage, rng, self)

    def root_path(
        self,
        rig: MotionRig,
        n_frames: int,
        fps: float,
        rng: np.random.Generator,
        stage: Stage | None = None,
        start: RootState | None = None,
        end: RootState | None = None,
    ) -> RootPath:
        """The root's path of :meth:`generate` (its first use of ``rng``): on a floor from ``start`` to ``end``
        (along the arena's wall track when both stand on it, see :mod:`synthmouse.motion.path`), else in place."""
        stage = stage or Stage()
        start = start or RootState()
        if stage.support.kind == "floor":
            if end is None:
                end = _default_end(start, stage, self.speed * n_frames / fps, rng)
            centre, front = body_axis(rig)
            return plan_path(
                start,
                end,
                stage.arena,
                n_frames,
                fps,
                rng,
                self.pauses,
                self.pause_duration,
                track=wall_track(stage.arena, front),
                offset=centre,
                front=front,
            )
        speed = self.speed * (1.0 + 0.1 * _slow_noise(rng, n_frames, fps))
        return straight_path(n_frames, fps, speed)


def _default_end(start: RootState, stage: Stage, distance: float, rng: np.random.Generator) -> RootState:
    if stage.arena is not None:
        return stage.arena.random_state(rng)
    h = start.heading + rng.uniform(-1.0, 1.0)
    return RootState(start.x + distance * np.cos(h), start.y + distance * np.sin(h), h + rng.uniform(-0.5, 0.5))


def _slow_noise(rng: np.random.Generator, n_frames: int, fps: float) -> np.ndarray:
    return SplineNoise(rng, n_frames / fps + 1.0, 1.0, 1)(np.arange(n_frames) / fps)[:, 0]


def gait_phase(
    path: RootPath, stride_frequency: float, cruise: float, margin: int, max_stride: float = np.inf
) -> np.ndarray:
    """``(F + 2 margin,)`` stride phase (strides, increasing) over the clip extended by ``margin`` frames each side.

    The phase advances at ``stride_frequency * clip(sqrt(speed / cruise), 0.4, 1.4)``: slower strides at low
    speed, and never a full stop (a stopped animal steps in place with zero step length); faster where the
    stride would otherwise exceed ``max_stride`` metres (the legs' reach).
    """
    v = np.pad(path.speed, margin, mode="edge")
    rate = stride_frequency * np.clip(np.sqrt(np.maximum(v, 0.0) / cruise), 0.4, 1.4)
    rate = np.maximum(rate, v / max_stride)
    return np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) / path.fps)])


def _extend(a: np.ndarray, margin: int) -> np.ndarray:
    """Extrapolate ``(F, ...)`` linearly by ``margin`` frames each side (root positions and headings)."""
    if len(a) < 2:
        return np.pad(a, [(margin, margin)] + [(0, 0)] * (a.ndim - 1), mode="edge")
    head = a[0] - (a[1] - a[0]) * np.arange(margin, 0, -1).reshape((-1,) + (1,) * (a.ndim - 1))
    tail = a[-1] + (a[-1] - a[-2]) * np.arange(1, margin + 1).reshape((-1,) + (1,) * (a.ndim - 1))
    return np.concatenate([head, a, tail])


def paw_targets(
    rig: MotionRig,
    path: RootPath,
    phase: np.ndarray,
    offsets: np.ndarray,
    duty: float,
    step_height: float,
    margin: int,
    girdles: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Paw contact targets in surface coordinates and stance flags.

    Args:
        girdles: ``(F, 4, 2)`` surface position of each limb's girdle joint (shoulder blade or hip); footholds
            are then placed relative to the girdle rather than the root, so they follow a bending trunk.

    Returns:
        ``(targets (F, 4, 3), planted (F, 4) bool, swing (F, 4))``: ``(s, y, h)`` per paw per frame, stance flags,
        and the fraction of the swing done (0 in stance).
    """
    posture = rig.standing
    n = path.n_frames
    xy = _extend(path.xy, margin)
    heading = _extend(path.heading, margin)
    frames = np.arange(len(phase), dtype=np.float64)
    lift = step_height * rig.body.length
    targets = np.zeros((n, 4, 3))
    planted = np.zeros((n, 4), bool)
    swing = np.zeros((n, 4))
    if girdles is not None:
        standing_world = rig.world(posture.angles[None], posture.root(1))[0]
        girdle_rest = np.array([standing_world[rig.limbs[name].chain[0], :2, 3] for name in LIMB_NAMES])
        girdles = _extend(girdles, margin)
    for i in range(4):
        nominal = posture.contacts[i]
        cycle_phase = phase + offsets[i]
        cycle = np.floor(cycle_phase)
        psi = cycle_phase - cycle
        # foothold of cycle k: nominal contact carried by the root (or the girdle) at mid-stance
        first, last = int(cycle.min()), int(cycle.max()) + 1
        ks = np.arange(first, last + 1)
        t_mid = np.interp(ks - offsets[i] + duty / 2.0, phase, frames)
        hx = np.interp(t_mid, frames, heading)
        if girdles is None:
            base = np.stack([np.interp(t_mid, frames, xy[:, 0]), np.interp(t_mid, frames, xy[:, 1])], axis=1)
            off = nominal[:2]
        else:
            base = np.stack(
                [np.interp(t_mid, frames, girdles[:, i, 0]), np.interp(t_mid, frames, girdles[:, i, 1])], axis=1
            )
            off = nominal[:2] - girdle_rest[i]
        px = base[:, 0] + np.cos(hx) * off[0] - np.sin(hx) * off[1]
        py = base[:, 1] + np.sin(hx) * off[0] + np.cos(hx) * off[1]
        holds = np.stack([px, py], axis=1)
        k = (cycle - first).astype(int)
        here, after = holds[k], holds[np.minimum(k + 1, len(ks) - 1)]
        stance = psi < duty
        sigma = np.clip((psi - duty) / (1.0 - duty), 0.0, 1.0)
        w = min_jerk(sigma)[:, None]
        pos = np.where(stance[:, None], here, (1.0 - w) * here + w * after)
        step = np.linalg.norm(after - here, axis=1)
        height = lift * np.clip(step / max(0.25 * rig.body.length, 1e-6), 0.0, 1.0) * np.sin(np.pi * sigma) ** 2
        h = nominal[2] + np.where(stance, 0.0, height)
        sl = slice(margin, margin + n)
        targets[:, i, :2] = pos[sl]
        targets[:, i, 2] = h[sl]
        planted[:, i] = stance[sl]
        swing[:, i] = np.where(stance, 0.0, sigma)[sl]
    return targets, planted, swing


def locomotion_clip(
    rig: MotionRig, path: RootPath, stage: Stage, rng: np.random.Generator, spec: LocomotionSpec
) -> Clip:
    """Full-body locomotion along ``path`` (surface coordinates) on ``stage`` (see the module docstring)."""
    f0, d0 = DEFAULTS[spec.gait]
    freq = spec.stride_frequency or f0
    duty = spec.duty_factor or d0
    offsets = PHASE_OFFSETS[spec.gait]
    n, fps = path.n_frames, path.fps
    margin = int(np.ceil(2.0 * fps / freq)) + 2
    max_stride = MAX_STANCE * rig.body.length / duty
    phase = gait_phase(path, freq, spec.speed, margin, max_stride)
    stride = phase[margin : margin + n]

    posture = rig.standing
    centre = np.broadcast_to(posture.angles, (n,) + posture.angles.shape).copy()
    spine = np.concatenate([rig.chains["pelvis"], rig.chains["spine"]])
    sway = spec.sway * np.sin(2 * np.pi * (stride + 0.1))
    centre[:, spine, 1] += sway[:, None]
    centre[:, rig.chains["tail"], 1] -= 0.5 * sway[:, None]
    if stage.support.kind == "wheel":  # bend the trunk along the rim so the hind paws reach it
        bend = WHEEL_BEND * rig.body.length / stage.support.radius
        spread_flex(rig, centre, ("pelvis", "spine"), np.full(n, bend))
    # a walking mouse carries its head; hanging from a head bar, the trunk moves even less (the hind paws must
    # keep reaching the support)
    axial_groups = (
        {"pelvis": 0.3, "spine": 0.3, "neck": 0.15, "head": 0.15}
        if stage.head_fixed is not None
        else {"neck": 0.5, "head": 0.5, "pelvis": 0.5, "spine": 0.5}
    )
    angles = random_angles(
        rig, rig.clamp(centre), n, fps, rng, spec.body_noise, 0.5, 0.0, {**_LIMB_ZERO, **axial_groups}
    )
    angles = rig.clamp(angles)

    support = stage.support
    moved = _support_motion(path, support)
    bob = 0.01 * rig.body.length * np.cos(4 * np.pi * stride) * (spec.gait == "trot")
    root = _root_on_support(rig, path, support, moved, posture.height + bob)
    if stage.head_fixed is not None:
        root = head_fixed_root(rig, angles, stage.head_bar(rig))
    # footholds follow the girdles of the (bending, swaying) trunk, in surface coordinates
    body_world = rig.world(angles, root)
    girdle_world = np.stack([body_world[:, rig.limbs[name].chain[0], :3, 3] for name in LIMB_NAMES], axis=1)
    girdles = support.to_surface(girdle_world, moved[:, None])[..., :2]
    targets, planted, swing = paw_targets(rig, path, phase, offsets, duty, spec.step_height, margin, girdles)
    world_targets = support.to_world(targets[..., 0], targets[..., 1], targets[..., 2], moved[:, None])
    if support.kind == "floor":
        angles = keep_tail_above(rig, angles, root, support.top, fps)
        angles = keep_head_above(rig, angles, root, support.top, fps)
    # swinging paws follow their targets loosely (smoothly down to SWING_WEIGHT mid-swing, 1 at touchdown)
    weights = 1.0 - (1.0 - SWING_WEIGHT) * np.sin(np.pi * swing) ** 2
    angles = solve_limbs(rig, angles, root, world_targets, path.heading, support, moved, targets[..., 0], fps, weights)
    return Clip(angles, root, planted, moved, support, path.speed.copy())


_LIMB_ZERO = {
    g: 0.0 for g in ("scapula", "shoulder", "elbow", "wrist", "fore_digits", "hip", "knee", "ankle", "hind_digits")
}


def _support_motion(path: RootPath, support) -> np.ndarray:
    """How far the surface moved backwards: the animal stays in place on a treadmill or wheel."""
    if support.kind == "floor":
        return np.zeros(path.n_frames)
    return path.xy[:, 0] - path.xy[0, 0]


def _root_on_support(rig, path: RootPath, support, moved: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Root transforms for a body standing on the support at the path's positions."""
    n = path.n_frames
    h = np.broadcast_to(height, (n,))
    if support.kind == "floor":
        pos = np.concatenate([path.xy, (support.height + h)[:, None]], axis=1)
        return root_transforms(pos, path.heading)
    s = path.xy[:, 0]
    pos, pitch = support.frame(s, h, moved)
    pos = pos.copy()
    pos[:, 1] = path.xy[:, 1]
    return root_transforms(pos, path.heading, pitch)


def solve_limbs(
    rig: MotionRig,
    angles: np.ndarray,
    root: np.ndarray,
    targets: np.ndarray,
    heading: np.ndarray,
    support,
    moved: np.ndarray,
    s: np.ndarray,
    fps: float,
    weights: np.ndarray | None = None,
    iterations: int = 30,
) -> np.ndarray:
    """Angles with the four limbs solved by IK so the paw contact points reach ``targets (F, 4, 3)`` (world),
    paws pointing along the heading in the support's tangent plane. ``weights (F, 4)`` scale the position
    residuals (lower in swing, so smoothness and the posture prior keep the limb on one IK branch)."""
    angles = angles.copy()
    world = rig.world(angles, root)
    posture = rig.standing
    for i, name in enumerate(LIMB_NAMES):
        limb = rig.limbs[name]
        base_dir = posture.paw_dirs[i]
        direction = np.einsum("fij,j->fi", yaw_matrix(heading), base_dir)
        if support.kind == "wheel":
            tilt = (s[:, i] - moved) / support.radius
            direction = np.einsum("fij,fj->fi", pitch_matrix(tilt), direction)
        init = np.broadcast_to(posture.angles[limb.chain], (len(angles),) + posture.angles[limb.chain].shape)
        theta = solve_limb(
            rig,
            limb,
            limb_anchor(world, rig, limb),
            LimbTargets(
                targets[:, i],
                direction,
                1.0 if weights is None else weights[:, i],
                direction_weight=0.002,
                yaw_only=True,
                pitch_weight=PAW_PITCH_WEIGHT,
            ),
            init,
            prior=posture.angles[limb.chain],
            prior_weight=PRIOR_WEIGHTS,
            iterations=iterations,
            smooth=0.002 * np.sqrt(fps / 30.0),
            accel=ACCEL_WEIGHT * fps**2,
        )
        angles[:, limb.chain] = theta
    return angles
