"""Stationary behaviours: rearing, grooming, head scanning and sniffing, reaching or licking, resting.

Each behaviour shapes the axial chain (pelvis, spine, neck, head; plus a root pitch about the hips for rearing and
sitting up) around the standing posture with a smooth envelope, adds a little smooth random movement, and places
the paws by inverse kinematics: paws on the support stay planted where they stood at the start; lifted forepaws
follow goals carried by the body (under the chin when rearing, strokes around the face when grooming, a target
when reaching). With a head fixation the root follows from the head bar instead (see :class:`Stage`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..body import Pose
from ..body.rotations import angles_to_matrices
from ..body.tongue import TIP_LANDMARK
from .base import Clip, RootState, Stage, head_fixed_root, root_transforms, yaw_matrix
from .kinematics import keep_head_above, keep_tail_above, random_angles
from .limb_ik import ACCEL_WEIGHT, LimbTargets, limb_anchor, solve_limb
from .noise import min_jerk
from .rig import LIMB_NAMES, MotionRig
from .spec import GeneratorSpec

_LIMB_GROUPS = ("scapula", "shoulder", "elbow", "wrist", "fore_digits", "hip", "knee", "ankle", "hind_digits")
LIMBS_STILL = {g: 0.0 for g in _LIMB_GROUPS}
HEAD_FIXED_AXIAL = 0.25  # share of a behaviour's trunk, neck and head shaping kept under head fixation
# where head-fixed grooming strokes centre, relative to free grooming (head frame, body lengths): back and down, to
# the whisker pads and chin, which the forepaws reach from a standing trunk (the eyes are ~6 mm out of reach)
HEAD_FIXED_STROKE_SHIFT = np.array([-0.05, 0.0, -0.05])


def envelope(n_frames: int, fps: float, rise: float, fall: float | None = None) -> np.ndarray:
    """``(F,)`` 0 -> 1 -> 0 with minimum-jerk ramps of ``rise`` and ``fall`` seconds (shortened to fit)."""
    t = np.arange(n_frames) / fps
    duration = n_frames / fps
    fall = rise if fall is None else fall
    scale = min(1.0, 0.45 * duration / max(rise, fall, 1e-9))
    rise, fall = rise * scale, fall * scale
    return min_jerk(t / max(rise, 1e-9)) * min_jerk((duration - t) / max(fall, 1e-9))


def spread_flex(rig: MotionRig, angles: np.ndarray, chains: tuple[str, ...], total: np.ndarray, axis: int = 0) -> None:
    """Add ``total (F,)`` radians of bending about ``axis`` over the joints of ``chains``, each joint taking a
    share proportional to its remaining range in that direction (in place; stays inside the limits)."""
    joints = np.concatenate([rig.chains[c] for c in chains])
    if not joints.size:
        return
    current = angles[:, joints, axis]
    room_up = np.maximum(rig.hi[joints, axis] - current, 0.0)
    room_down = np.maximum(current - rig.lo[joints, axis], 0.0)
    room = np.where(total[:, None] >= 0, room_up, room_down)
    share = room / np.maximum(room.sum(axis=1, keepdims=True), 1e-12)
    angles[:, joints, axis] = np.clip(current + total[:, None] * share, rig.lo[joints, axis], rig.hi[joints, axis])


class Shaped:
    """The pieces of a stationary behaviour before the paws are placed."""

    def __init__(self, angles: np.ndarray, pitch: np.ndarray, lift: np.ndarray):
        self.angles = angles  # (F, J, 3)
        self.pitch = pitch  # (F,) root pitch, negative is nose up
        self.lift = lift  # (F,) root height change (metres)


def base_shape(rig: MotionRig, n_frames: int) -> Shaped:
    posture = rig.standing
    angles = np.broadcast_to(posture.angles, (n_frames,) + posture.angles.shape).copy()
    return Shaped(angles, np.zeros(n_frames), np.zeros(n_frames))


def hip_pivot(rig: MotionRig) -> np.ndarray:
    """Body-frame midpoint of the two hip joints in the standing posture (the pivot of rearing)."""
    posture = rig.standing
    world = rig.world(posture.angles[None], posture.root(1))[0]
    hips = [world[rig.limbs[n].chain[0], :3, 3] for n in ("hind_l", "hind_r")]
    return np.mean(hips, axis=0) - np.array([0.0, 0.0, posture.height])


def finish(
    rig: MotionRig,
    shaped: Shaped,
    stage: Stage,
    start: RootState,
    fps: float,
    fore_goal=None,
    fore_weight: np.ndarray | None = None,
) -> Clip:
    """Root, head fixation and paw placement for a shaped behaviour.

    Args:
        fore_goal: ``f(world (F, J, 4, 4)) -> (F, 2, 3)`` world goals of the left and right forepaws.
        fore_weight: ``(F, 2)`` 0 keeps a forepaw planted, 1 sends it to its goal.
    """
    n = shaped.angles.shape[0]
    posture = rig.standing
    support = stage.support
    heading = np.full(n, start.heading)
    pos = np.column_stack([np.full(n, start.x), np.full(n, start.y), support.top + posture.height + shaped.lift])
    pivot = hip_pivot(rig)
    root = root_transforms(pos, heading, shaped.pitch, pivot)
    if stage.head_fixed is not None:
        # the head bar holds the head: bending the neck would swing the body about it, so the trunk keeps
        # near the standing posture and only a fraction of the behaviour's axial shaping remains
        axial = np.concatenate([rig.chains[c] for c in ("pelvis", "spine", "neck", "head")])
        shaped.angles[:, axial] = posture.angles[axial] + HEAD_FIXED_AXIAL * (
            shaped.angles[:, axial] - posture.angles[axial]
        )
        root = head_fixed_root(rig, shaped.angles, stage.head_bar(rig))
        start_root = root[:1]
    else:
        start_root = root_transforms(pos[:1] - [0.0, 0.0, shaped.lift[0]], heading[:1])
    # footholds: where the paws stand in the standing posture at the start
    holds = (
        np.einsum("ij,kj->ki", start_root[0, :3, :3], posture.contacts - [0, 0, posture.height]) + start_root[0, :3, 3]
    )
    holds[:, 2] = support.top + posture.contacts[:, 2]
    if support.kind == "floor" and stage.head_fixed is None:
        shaped.angles = keep_tail_above(rig, shaped.angles, root, support.top, fps)
        shaped.angles = keep_head_above(rig, shaped.angles, root, support.top, fps)
        if stage.arena is not None:
            shaped.angles = keep_nose_off_walls(rig, shaped.angles, root, stage.arena, fps)
    world = rig.world(shaped.angles, root)
    goals = fore_goal(world) if fore_goal is not None else None
    weight = np.zeros((n, 2)) if fore_weight is None else fore_weight
    angles = shaped.angles.copy()
    planted = np.ones((n, 4), bool)
    for i, name in enumerate(LIMB_NAMES):
        limb = rig.limbs[name]
        target = np.broadcast_to(holds[i], (n, 3)).copy()
        dir_weight = np.full(n, 0.002)
        if limb.is_fore and goals is not None:
            w = weight[:, i][:, None]
            target = (1.0 - w) * target + w * goals[:, i]
            dir_weight = 0.002 * (1.0 - weight[:, i])
            planted[:, i] = weight[:, i] <= 1e-9
        direction = np.einsum("fij,j->fi", yaw_matrix(heading), posture.paw_dirs[i])
        init = np.broadcast_to(posture.angles[limb.chain], (n,) + posture.angles[limb.chain].shape)
        theta = solve_limb(
            rig,
            limb,
            limb_anchor(world, rig, limb),
            LimbTargets(target, direction, direction_weight=dir_weight, yaw_only=True),
            init,
            prior=posture.angles[limb.chain],
            prior_weight=0.0003,
            iterations=25,
            smooth=0.002 * np.sqrt(fps / 30.0),
            accel=ACCEL_WEIGHT * fps**2,
        )
        angles[:, limb.chain] = theta
    return Clip(angles, root, planted, np.zeros(n), support, np.zeros(n))


NOSE_WALL_CLEARANCE = 0.004  # metres the nose keeps from an arena wall in stationary behaviours


def keep_nose_off_walls(rig: MotionRig, angles: np.ndarray, root: np.ndarray, arena, fps: float) -> np.ndarray:
    """``angles (F, J, 3)`` whose neck and head movement away from the standing posture is scaled down (smoothly
    over time) where it would take the nose within :data:`NOSE_WALL_CLEARANCE` of a wall of ``arena`` (scanning or
    grooming next to a wall the animal follows); a frame too close even in the standing posture gets that
    posture's neck and head. Only the nose is checked (the rest of the body stands where the path put it)."""
    if "nose" not in rig.body.landmarks:
        return angles
    head = int(rig.chains["head"][0])
    local = rig.local_point("nose", head)
    axial = np.concatenate([rig.chains["neck"], rig.chains["head"]])
    posture = rig.standing.angles[axial]
    levels = np.linspace(1.0, 0.0, 6)
    allowed = np.zeros(len(angles))
    for level in levels[::-1]:  # the largest share of the movement that keeps the nose inside, per frame
        trial = angles.copy()
        trial[:, axial] = posture + level * (angles[:, axial] - posture)
        frame = rig.world(trial, root)[:, head]
        nose = np.einsum("fij,j->fi", frame[:, :3, :3], local) + frame[:, :3, 3]
        ok = arena.wall_gap(nose[:, :2]) >= NOSE_WALL_CLEARANCE
        allowed = np.where(ok, level, allowed)
    if np.all(allowed >= 1.0):
        return angles
    w = max(1, int(round(0.15 * fps)))  # spread the smallest share over +-0.15 s, then smooth
    low = np.array([allowed[max(0, i - w) : i + w + 1].min() for i in range(len(allowed))])
    kernel = np.exp(-0.5 * (np.arange(-w, w + 1) / (0.5 * w)) ** 2)
    share = np.minimum(np.convolve(np.pad(low, w, mode="edge"), kernel / kernel.sum(), mode="valid"), allowed)
    out = angles.copy()
    out[:, axial] = posture + share[:, None, None] * (angles[:, axial] - posture)
    return rig.clamp(out)


def _noise(
    rig: MotionRig,
    shaped: Shaped,
    fps: float,
    rng: np.random.Generator,
    amplitude: float,
    timescale: float,
    groups: dict[str, float] | None = None,
) -> None:
    n = shaped.angles.shape[0]
    shaped.angles = random_angles(
        rig, rig.clamp(shaped.angles), n, fps, rng, amplitude, timescale, 0.0, {**LIMBS_STILL, **(groups or {})}
    )


def _goal_in_frame(rig: MotionRig, joint: int, local: np.ndarray):
    """A function of world frames giving ``local (F, 2, 3)`` points carried by ``joint``."""

    def goal(world: np.ndarray) -> np.ndarray:
        frame = world[:, joint]
        return np.einsum("fij,fkj->fki", frame[:, :3, :3], local) + frame[:, None, :3, 3]

    return goal


def _local_of_posture(rig: MotionRig, joint: int, points: np.ndarray) -> np.ndarray:
    """Body-frame points ``(k, 3)`` of the standing posture expressed in the frame of ``joint``."""
    posture = rig.standing
    world = rig.world(posture.angles[None], posture.root(1))[0]
    frame = world[joint]
    return (points - frame[:3, 3]) @ frame[:3, :3]


def _lift_tail(rig: MotionRig, angles: np.ndarray, pitch_up: np.ndarray) -> None:
    """Bend the base of the tail dorsally by the trunk's pitch so the tail stays on the floor behind."""
    tail = rig.chains["tail"][:4]
    if tail.size:
        angles[:, tail, 0] -= pitch_up[:, None] / tail.size
        angles[:, tail] = np.clip(angles[:, tail], rig.lo[tail], rig.hi[tail])


def _thorax(rig: MotionRig) -> int:
    return int(rig.skeleton.parents[rig.limbs["fore_l"].chain[0]])


class RearSpec(GeneratorSpec):
    """Rearing: the trunk pitches up about the hips, forepaws leave the floor and tuck under the chin, the head
    scans while up.

    Attributes:
        pitch: trunk elevation at the top of the rear (degrees).
        rise: seconds to rise (and to come down).
        scan: amplitude of head scanning while up.
    """

    type: Literal["rear"] = "rear"
    pitch: float = Field(50.0, ge=5.0, le=85.0)
    rise: float = Field(0.5, gt=0.05, le=5.0)
    scan: float = Field(0.35, ge=0.0, le=1.0)

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
        stage, start = stage or Stage(), start or RootState()
        env = envelope(n_frames, fps, self.rise)
        shaped = base_shape(rig, n_frames)
        up = np.radians(self.pitch) * env
        shaped.pitch = -up
        spread_flex(rig, shaped.angles, ("neck", "head"), 0.4 * up)  # keep the head looking forward
        _lift_tail(rig, shaped.angles, up)
        _noise(rig, shaped, fps, rng, 0.05, 0.5)
        scan = random_angles(
            rig,
            shaped.angles,
            n_frames,
            fps,
            rng,
            self.scan,
            0.6,
            0.0,
            {g: 0.0 for g in ("pelvis", "spine", "tail", *_LIMB_GROUPS)},
        )
        heads = np.concatenate([rig.chains["neck"], rig.chains["head"]])
        shaped.angles[:, heads] += env[:, None, None] * (scan[:, heads] - shaped.angles[:, heads])
        thorax = _thorax(rig)
        fore = [rig.limbs[n] for n in ("fore_l", "fore_r")]
        posture = rig.standing
        world0 = rig.world(posture.angles[None], posture.root(1))[0]
        length = rig.body.length
        tuck = np.array([world0[lb.chain[1], :3, 3] + [0.12 * length, 0.0, -0.04 * length] for lb in fore])
        tuck[:, 1] *= 0.6
        tuck[:, 2] -= posture.height
        local = _local_of_posture(rig, thorax, tuck + [0, 0, posture.height])
        weight = np.repeat(min_jerk((env - 0.1) / 0.35)[:, None], 2, axis=1)
        return finish(
            rig,
            shaped,
            stage,
            start,
            fps,
            _goal_in_frame(rig, thorax, np.broadcast_to(local, (n_frames, 2, 3))),
            weight,
        )


class GroomSpec(GeneratorSpec):
    """Face grooming: sitting up a little, head bent down, both forepaws stroking the face in ellipses.

    Attributes:
        sit: trunk elevation while grooming (degrees).
        stroke_frequency: strokes per second.
        stroke: stroke size as a fraction of the body length (small strokes at the nose, larger up to the ears).
        head_bend: downward bend of neck and head (degrees).
    """

    type: Literal["groom"] = "groom"
    sit: float = Field(40.0, ge=0.0, le=70.0)
    stroke_frequency: float = Field(5.0, gt=0.5, le=15.0)
    stroke: float = Field(0.05, gt=0.0, le=0.2)
    head_bend: float = Field(60.0, ge=0.0, le=100.0)

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
        stage, start = stage or Stage(), start or RootState()
        env = envelope(n_frames, fps, 0.4)
        shaped = base_shape(rig, n_frames)
        shaped.pitch = -np.radians(self.sit) * env
        _lift_tail(rig, shaped.angles, np.radians(self.sit) * env)
        spread_flex(rig, shaped.angles, ("neck", "head"), np.radians(self.head_bend) * env)
        _noise(rig, shaped, fps, rng, 0.04, 0.6)
        t = np.arange(n_frames) / fps
        phase = 2 * np.pi * self.stroke_frequency * t + rng.uniform(0, 2 * np.pi)
        head = int(rig.chains["head"][0])
        length = rig.body.length
        # strokes move the head a little too
        bob = np.radians(4.0) * np.sin(phase) * env
        spread_flex(rig, shaped.angles, ("head",), bob)
        nose = rig.local_point("nose", head) if "nose" in rig.body.landmarks else np.array([0.03, 0, 0])
        eyes = [rig.local_point(e, head) for e in ("left_eye", "right_eye") if e in rig.body.landmarks]
        eye = np.mean(eyes, axis=0) if eyes else 0.5 * nose  # between the eyes: strokes are symmetric
        centre = 0.5 * (nose + eye)
        if stage.head_fixed is not None:  # the head bar keeps the eyes out of reach: wipe the chin and whiskers
            centre = centre + HEAD_FIXED_STROKE_SHIFT * length
        growth = 1.0 + 0.8 * (0.5 - 0.5 * np.cos(2 * np.pi * t / max(n_frames / fps, 1e-6)))  # bigger mid-bout
        a = self.stroke * length * growth
        local = np.zeros((n_frames, 2, 3))
        for k, side in enumerate((1.0, -1.0)):
            ph = phase + 0.3 * k
            local[:, k] = centre + np.array([0.0, side * 0.035 * length, -0.03 * length])
            local[:, k, 0] += -a * (0.5 + 0.5 * np.cos(ph))  # from the nose backwards over the cheek
            local[:, k, 2] += 0.6 * a * np.sin(ph)
        weight = np.repeat(min_jerk((env - 0.05) / 0.4)[:, None], 2, axis=1)
        return finish(rig, shaped, stage, start, fps, _goal_in_frame(rig, head, local), weight)


class ScanSpec(GeneratorSpec):
    """Head scanning and sniffing while standing: large smooth head and neck movements, fast small nose bobs.

    Attributes:
        scan: amplitude of the head and neck movement (0-1 of their ranges).
        timescale: seconds between scanning knots.
        sniff_frequency: sniffing head bob frequency (Hz); 0 disables.
        sniff: head bob amplitude (degrees).
    """

    type: Literal["scan"] = "scan"
    scan: float = Field(0.5, ge=0.0, le=1.0)
    timescale: float = Field(0.5, gt=0.05, le=5.0)
    sniff_frequency: float = Field(9.0, ge=0.0, le=15.0)
    sniff: float = Field(2.0, ge=0.0, le=10.0)

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
        stage, start = stage or Stage(), start or RootState()
        shaped = base_shape(rig, n_frames)
        _noise(rig, shaped, fps, rng, 0.05, 0.6)
        env = envelope(n_frames, fps, 0.3)
        scan = random_angles(
            rig,
            shaped.angles,
            n_frames,
            fps,
            rng,
            self.scan,
            self.timescale,
            0.0,
            {g: 0.0 for g in ("pelvis", "spine", "tail", *_LIMB_GROUPS)},
        )
        heads = np.concatenate([rig.chains["neck"], rig.chains["head"]])
        shaped.angles[:, heads] += env[:, None, None] * (scan[:, heads] - shaped.angles[:, heads])
        t = np.arange(n_frames) / fps
        sniffing = np.radians(self.sniff) * np.sin(2 * np.pi * self.sniff_frequency * t) * env
        spread_flex(rig, shaped.angles, ("head",), sniffing)
        return finish(rig, shaped, stage, start, fps)


class RestSpec(GeneratorSpec):
    """Sitting still with breathing: the standing (or crouched) posture, a slow breathing rhythm in the trunk.

    Attributes:
        crouch: how far the body sinks towards the floor (0 standing, 1 belly near the floor).
        breathing_rate: breaths per second.
        breathing: trunk bend per breath (degrees over the spine).
        fidget: amplitude of slow random movement.
    """

    type: Literal["rest"] = "rest"
    crouch: float = Field(0.4, ge=0.0, le=1.0)
    breathing_rate: float = Field(3.0, gt=0.2, le=10.0)
    breathing: float = Field(2.0, ge=0.0, le=10.0)
    fidget: float = Field(0.04, ge=0.0, le=0.5)

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
        stage, start = stage or Stage(), start or RootState()
        shaped = base_shape(rig, n_frames)
        env = envelope(n_frames, fps, 0.5)
        shaped.lift = -self.crouch * 0.5 * rig.standing.height * env
        _noise(rig, shaped, fps, rng, self.fidget, 1.0)
        t = np.arange(n_frames) / fps
        breath = np.sin(2 * np.pi * self.breathing_rate * t + rng.uniform(0, 2 * np.pi))
        spread_flex(rig, shaped.angles, ("spine",), np.radians(self.breathing) * breath)
        return finish(rig, shaped, stage, start, fps)


class ReachSpec(GeneratorSpec):
    """Reaching with a forepaw, or licking, towards a target point.

    Attributes:
        target: target in the body frame at the start (metres, x forward, y left, z up from the floor); default
            in front of the shoulders within reach of a forepaw.
        effector: ``left``, ``right`` or ``alternate`` forepaw, or ``tongue`` (the head turns to the target, the
            jaw opens and the tongue slides out towards it rhythmically; default target: a spout in front of the
            mouth at 90 % of the tongue's reach).
        reach_time: seconds of one reach out (and back).
        lick_frequency: licks per second (tongue).
    """

    type: Literal["reach"] = "reach"
    target: tuple[float, float, float] | None = None
    effector: Literal["left", "right", "alternate", "tongue"] = "alternate"
    reach_time: float = Field(0.35, gt=0.05, le=3.0)
    lick_frequency: float = Field(7.0, gt=0.5, le=15.0)

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
        stage, start = stage or Stage(), start or RootState()
        shaped = base_shape(rig, n_frames)
        _noise(rig, shaped, fps, rng, 0.04, 0.6)
        posture = rig.standing
        world0 = rig.world(posture.angles[None], posture.root(1))[0]
        head = int(rig.chains["head"][0])
        nose = world0[head, :3, :3] @ rig.local_point("nose", head) + world0[head, :3, 3]
        length = rig.body.length
        if self.target is not None:
            target = np.array(self.target, dtype=np.float64)
        elif self.effector == "tongue" and TIP_LANDMARK in rig.body.landmarks:
            target = np.array(stage.spout) if stage.spout is not None else default_lick_target(rig)
        else:  # in front of the shoulders, within reach of a forepaw
            shoulders = np.mean([world0[rig.limbs[n].chain[1], :3, 3] for n in ("fore_l", "fore_r")], axis=0)
            reach = float(np.linalg.norm(world0[rig.limbs["fore_l"].chain[1], :3, 3] - posture.contacts[0]))
            target = shoulders + [0.75 * reach, 0.0, 0.45 * reach]
        start_root = root_transforms(np.array([[start.x, start.y, stage.support.top]]), np.array([start.heading]))
        target_world = start_root[0, :3, :3] @ target + start_root[0, :3, 3]
        t = np.arange(n_frames) / fps
        env = envelope(n_frames, fps, 0.3)
        if self.effector == "tongue":
            return self._lick(rig, shaped, stage, start, fps, target, t, env)
        cycle = 2.5 * self.reach_time
        k = np.floor(t / cycle).astype(int)
        s = (t - k * cycle) / self.reach_time
        out = min_jerk(s) * min_jerk(2.5 - s) * env
        which = {"left": np.zeros_like(k), "right": np.ones_like(k), "alternate": k % 2}[self.effector]
        weight = np.zeros((n_frames, 2))
        weight[np.arange(n_frames), which] = out
        # lean towards the target while reaching
        shaped.pitch = -np.radians(15.0) * out * np.clip((target[2] - nose[2]) / (0.1 * length), 0, 1)

        def goal(world):
            return np.broadcast_to(target_world, (n_frames, 2, 3))

        return finish(rig, shaped, stage, start, fps, goal, weight)

    def _lick(self, rig, shaped, stage, start, fps, target, t, env) -> Clip:
        """Turn the head towards the target (neck and head lateral/flex), then lick: the jaw opens and the tongue
        slides out towards the target at ``lick_frequency`` (its reach solved per frame, see :func:`tongue_reach`)."""
        has_tongue = TIP_LANDMARK in rig.body.landmarks
        for _ in range(2):  # aim the mouth (where the tongue tip gets) at the target, frame by frame
            yaw, pitch = _mouth_aim(rig, shaped.angles, target, has_tongue)
            spread_flex(rig, shaped.angles, ("neck", "head"), pitch * env, axis=0)
            spread_flex(rig, shaped.angles, ("neck", "head"), yaw * env, axis=1)
        lick = (0.5 - 0.5 * np.cos(2 * np.pi * self.lick_frequency * t)) * env
        jaw = rig.chains["jaw"]
        lo, hi = rig.lo[jaw, 0], rig.hi[jaw, 0]
        shaped.angles[:, jaw, 0] = lo + (hi - lo) * JAW_OPEN * lick[:, None]
        clip = finish(rig, shaped, stage, start, fps)
        if has_tongue:
            start_root = root_transforms(np.array([[start.x, start.y, stage.support.top]]), np.array([start.heading]))
            goal = start_root[0, :3, :3] @ target + start_root[0, :3, 3]
            peak = clip.angles.copy()  # aim with the jaw open as at the peak of a lick
            peak[:, jaw, 0] = lo + (hi - lo) * JAW_OPEN
            reach = tongue_reach(rig, peak, clip.root, goal, fps)
            joints, limit = rig.tongue_protrusion
            clip.angles[:, joints, 0] = rig.standing.angles[joints, 0] + (reach * lick)[:, None] * (
                limit - rig.standing.angles[joints, 0]
            )
        return clip


JAW_OPEN = 0.6  # share of the jaw's range opened at the peak of a lick
LICK_REACH = 0.9  # share of the tongue's protrusion range at which the default spout sits
TONGUE_STEPS = 13  # protrusion levels tried per frame when aiming the tongue


def _mouth_aim(
    rig: MotionRig, angles: np.ndarray, target: np.ndarray, has_tongue: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``(yaw (F,), pitch (F,))`` turns of neck and head (body frame at the standing root) that point the line
    from the neck's base to the mouth (the tongue tip at a lick's peak; the nose without a tongue) at
    ``target (3,)``."""
    root = rig.standing.root(angles.shape[0])
    world = rig.world(angles, root)
    base = world[:, int(rig.chains["neck"][0]), :3, 3]
    if has_tongue:
        peak = angles.copy()
        jaw = rig.chains["jaw"]
        peak[:, jaw, 0] = rig.lo[jaw, 0] + JAW_OPEN * (rig.hi[jaw, 0] - rig.lo[jaw, 0])
        joints, limit = rig.tongue_protrusion
        peak[:, joints, 0] = rig.standing.angles[joints, 0] + LICK_REACH * (limit - rig.standing.angles[joints, 0])
        mouth = rig.body.keypoints(Pose(root, angles_to_matrices(peak)), rig.landmark_set((TIP_LANDMARK,)))[:, 0]
    else:
        mouth = rig.body.keypoints(Pose(root, angles_to_matrices(angles)), rig.landmark_set(("nose",)))[:, 0]
    now, goal = mouth - base, target - base
    yaw = np.arctan2(goal[:, 1], goal[:, 0]) - np.arctan2(now[:, 1], now[:, 0])
    pitch = np.arctan2(now[:, 2], np.hypot(now[:, 0], now[:, 1])) - np.arctan2(
        goal[:, 2], np.hypot(goal[:, 0], goal[:, 1])
    )
    return yaw, pitch


def default_lick_target(rig: MotionRig) -> np.ndarray:
    """``(3,)`` a lick spout in front of the mouth: where the tongue tip gets at :data:`LICK_REACH` of its range with
    the jaw open, in the standing posture (body frame at the start, z up from the floor)."""
    posture = rig.standing
    angles = posture.angles[None].copy()
    jaw = rig.chains["jaw"]
    angles[0, jaw, 0] = rig.lo[jaw, 0] + JAW_OPEN * (rig.hi[jaw, 0] - rig.lo[jaw, 0])
    joints, limit = rig.tongue_protrusion
    angles[0, joints, 0] += LICK_REACH * (limit - angles[0, joints, 0])
    pose = Pose(posture.root(1), angles_to_matrices(angles))
    return rig.body.keypoints(pose, rig.landmark_set((TIP_LANDMARK,)))[0, 0]


def tongue_reach(rig: MotionRig, angles: np.ndarray, root: np.ndarray, goal: np.ndarray, fps: float) -> np.ndarray:
    """``(F,)`` share (0-1) of the tongue's protrusion range that brings its tip closest to ``goal (3,)`` in each
    frame (a 1-D inverse kinematics by search over :data:`TONGUE_STEPS` levels, refined parabolically), smoothed
    over 0.1 s so the aim follows the head without jumps."""
    joints, limit = rig.tongue_protrusion
    kset = rig.landmark_set((TIP_LANDMARK,))
    levels = np.linspace(0.0, 1.0, TONGUE_STEPS)
    dist = np.empty((len(levels), angles.shape[0]))
    for i, level in enumerate(levels):
        trial = angles.copy()
        trial[:, joints, 0] += level * (limit - trial[:, joints, 0])
        tip = rig.body.keypoints(Pose(root, angles_to_matrices(trial)), kset)[:, 0]
        dist[i] = np.linalg.norm(tip - goal, axis=-1)
    best = np.clip(np.argmin(dist, axis=0), 1, len(levels) - 2)
    cols = np.arange(angles.shape[0])
    d0, d1, d2 = dist[best - 1, cols], dist[best, cols], dist[best + 1, cols]
    curvature = d0 - 2 * d1 + d2
    shift = np.where(curvature > 1e-12, 0.5 * (d0 - d2) / np.maximum(curvature, 1e-12), 0.0)
    reach = np.clip(levels[best] + np.clip(shift, -1, 1) * (levels[1] - levels[0]), 0.0, 1.0)
    radius = max(1, int(round(0.1 * fps)))
    kernel = np.exp(-0.5 * (np.arange(-2 * radius, 2 * radius + 1) / radius) ** 2)
    return np.convolve(np.pad(reach, 2 * radius, mode="edge"), kernel / kernel.sum(), mode="valid")
