"""Kinematic helpers shared by generators: coupled random angles, grounding, limb placement over frames."""

from __future__ import annotations

import numpy as np

from ..body.mesh import linear_blend_skinning, skinning_matrices
from ..body.rotations import angles_to_matrices
from .noise import SplineNoise, to_limits
from .rig import MotionRig

TAIL_GAIN = 0.5  # a tail has many joints bending the same way: less per joint
NOISE_GAIN = 2.5  # amplitude 1 spreads noise over nearly the whole limit box (sigmoid of N(0, 2.5^2))


def group_base(group: str) -> str:
    return group[:-2] if group.endswith(("_l", "_r")) else group


def joint_amplitudes(rig: MotionRig, amplitude: float, overrides: dict[str, float] | None = None) -> np.ndarray:
    """``(J,)`` noise amplitude per joint: ``amplitude`` times the override of its base group (``tail``,
    ``hip``...) when given."""
    overrides = overrides or {}
    return np.array([amplitude * overrides.get(group_base(g), 1.0) for g in rig.skeleton.groups])


def coupled_noise(
    rig: MotionRig,
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    timescale: float,
    symmetry: float = 0.0,
    independence: float = 0.35,
    tail_lag: float = 0.06,
) -> np.ndarray:
    """``(F, J, 3)`` unit-scale smooth noise with the couplings that keep a body plausible.

    * spine (pelvis and spine groups): one shared signal per axis bends every vertebral joint the same way (a
      smooth curve), plus ``independence`` times a per-joint signal;
    * neck and head: one shared gaze signal per axis plus a smaller per-joint part (they turn together);
    * tail: a travelling wave, the shared signal delayed by ``tail_lag`` seconds per joint;
    * limbs and the rest: independent per joint; the right side is blended towards the mirror image of the left
      side by ``symmetry`` (1 gives mirror-symmetric limbs: (flex, -lateral, -twist) in noise space).
    """
    n_j = rig.n_joints
    duration = n_frames / fps + 1.0
    t = np.arange(n_frames) / fps
    u = SplineNoise(rng, duration, timescale, n_j * 3)(t).reshape(n_frames, n_j, 3)
    for key in (("pelvis", "spine"), ("neck", "head")):
        joints = np.concatenate([rig.chains[k] for k in key])
        if joints.size:
            shared = SplineNoise(rng, duration, timescale, 3)(t)
            gain = 1.0 / np.sqrt(joints.size)  # the curve's total bend stays about one joint's range
            u[:, joints] = gain * shared[:, None] + independence * gain * u[:, joints]
    tail = rig.chains["tail"]
    if tail.size:
        lag = tail_lag * np.arange(tail.size)
        wave = SplineNoise(rng, duration + lag[-1], timescale, 3, t0=-lag[-1])
        times = t[:, None] - lag[None]  # (F, n): joint k follows the base of the tail k lags later
        for axis in range(3):
            u[:, tail, axis] = TAIL_GAIN * (wave.channel(times, axis) + 0.5 * independence * u[:, tail, axis])
    if symmetry > 0.0:
        left = np.array([j for j, g in enumerate(rig.skeleton.groups) if g.endswith("_l")], dtype=np.int64)
        right = rig.mirror[left]
        ok = right != left
        left, right = left[ok], right[ok]
        mirrored = u[:, left] * np.array([1.0, -1.0, -1.0])
        u[:, right] = symmetry * mirrored + (1.0 - symmetry) * u[:, right]
    return u


def random_angles(
    rig: MotionRig,
    centre: np.ndarray,
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    amplitude: float = 0.5,
    timescale: float = 0.5,
    symmetry: float = 0.0,
    group_amplitude: dict[str, float] | None = None,
) -> np.ndarray:
    """``(F, J, 3)`` smooth random angles inside the limits around ``centre`` (``(J, 3)`` or ``(F, J, 3)``)."""
    u = coupled_noise(rig, n_frames, fps, rng, timescale, symmetry)
    u *= NOISE_GAIN * joint_amplitudes(rig, amplitude, group_amplitude)[None, :, None]
    return np.where(rig.movable, to_limits(u, centre, rig.lo, rig.hi), centre)


def smooth_upper_envelope(values: np.ndarray, radius: int) -> np.ndarray:
    """A smooth curve at or above ``values (F,)``: running maximum over ``2 radius + 1`` frames, then a Gaussian
    of sigma ``radius / 3`` (and a final maximum with the values, which only matters at isolated peaks)."""
    if radius < 1 or values.size < 2:
        return values.copy()
    padded = np.pad(values, radius, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)
    running = windows.max(axis=1)
    sigma = max(radius / 3.0, 0.5)
    k = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (k / sigma) ** 2)
    kernel /= kernel.sum()
    smooth = np.convolve(np.pad(running, radius, mode="edge"), kernel, mode="valid")
    return np.maximum(smooth, values)


def lowest_points(rig: MotionRig, angles: np.ndarray, root: np.ndarray, tail: bool = False) -> np.ndarray:
    """``(F,)`` lowest z of the body (a fixed sample of its vertices, the tail only if ``tail``, plus the paw
    soles)."""
    verts, weights = rig.floor_sample_all if tail else rig.floor_sample
    world = rig.world(angles, root)
    skin = skinning_matrices(world, rig.skeleton.rest)
    z = linear_blend_skinning(verts, weights, skin, dtype=np.float64)[..., 2].min(axis=1)
    sole = max(limb.sole for limb in rig.limbs.values())
    return np.minimum(z, rig.contact_points(world)[..., 2].min(axis=1) - sole)


def gaussian_smooth(values: np.ndarray, sigma: int) -> np.ndarray:
    """``values (F,)`` smoothed with a Gaussian of ``sigma`` frames (edges padded with their values)."""
    if sigma < 1 or len(values) < 2:
        return values.copy()
    kernel = np.exp(-0.5 * (np.arange(-3 * sigma, 3 * sigma + 1) / sigma) ** 2)
    return np.convolve(np.pad(values, 3 * sigma, mode="edge"), kernel / kernel.sum(), mode="valid")


def ground(
    rig: MotionRig,
    angles: np.ndarray,
    root: np.ndarray,
    floor: float,
    fps: float,
    clearance: float = 0.0,
    settle: bool = False,
    tail: bool = False,
) -> np.ndarray:
    """Root transforms raised (smoothly) so that no part of the body goes below ``floor + clearance``.

    With ``settle`` the body is also lowered onto the floor where it floats (rests on its lowest point).
    """
    low = lowest_points(rig, angles, root, tail)
    need = floor + clearance - low
    radius = int(round(0.15 * fps))
    if settle:  # follow the floor closely (smoothed), then lift wherever the smoothing left a part below it
        lift = gaussian_smooth(need, max(1, radius // 3))
        lift = lift + smooth_upper_envelope(np.maximum(need - lift, 0.0), radius)
    else:
        lift = smooth_upper_envelope(np.maximum(need, 0.0), radius)
    out = root.copy()
    out[:, 2, 3] += lift
    return out


def keep_tail_above(
    rig: MotionRig, angles: np.ndarray, root: np.ndarray, floor: float, fps: float, clearance: float = 0.0015
) -> np.ndarray:
    """Angles with the tail bent up (dorsally), joint by joint from its base, wherever it would go below
    ``floor + clearance``; the corrections are smoothed in time so they add no jerks. The tail then lies on
    the floor instead of passing through it."""
    tail = rig.chains["tail"]
    if tail.size < 2:
        return angles
    angles = angles.copy()
    sk = rig.skeleton
    parent = int(sk.parents[tail[0]])
    frame = rig.world(angles, root)[:, parent]
    radius = max(1, int(round(0.1 * fps)))
    for k in range(tail.size - 1):
        j, child = int(tail[k]), int(tail[k + 1])
        pre = frame @ sk.local_rest[j]
        here = pre @ _rot4(angles_to_matrices(angles[:, j]))
        tip = (here @ sk.local_rest[child])[:, :3, 3]
        deficit = floor + clearance - tip[:, 2]
        if np.any(deficit > 0):
            arm = np.linalg.norm(tip - here[:, :3, 3], axis=1)
            need = np.arcsin(np.clip(smooth_upper_envelope(np.maximum(deficit, 0.0), radius) / arm, 0.0, 1.0))
            angles[:, j, 0] = np.clip(angles[:, j, 0] - 1.2 * need, rig.lo[j, 0], rig.hi[j, 0])
            here = pre @ _rot4(angles_to_matrices(angles[:, j]))
        frame = here
    return angles


def _rot4(rot: np.ndarray) -> np.ndarray:
    out = np.zeros(rot.shape[:-2] + (4, 4))
    out[..., :3, :3] = rot
    out[..., 3, 3] = 1.0
    return out


def keep_head_above(
    rig: MotionRig,
    angles: np.ndarray,
    root: np.ndarray,
    floor: float,
    fps: float,
    clearance: float = 0.004,
    passes: int = 2,
) -> np.ndarray:
    """Angles with the neck and head raised (less flexion, spread over their joints) wherever the nose would
    come closer than ``clearance`` to the floor; corrections are smoothed in time."""
    joints = np.concatenate([rig.chains["neck"], rig.chains["head"]])
    if not joints.size or "nose" not in rig.body.landmarks:
        return angles
    head = int(rig.chains["head"][0])
    nose_local = rig.local_point("nose", head)
    base = int(joints[0])
    radius = max(1, int(round(0.1 * fps)))
    angles = angles.copy()
    for _ in range(passes):
        world = rig.world(angles, root)
        nose = np.einsum("fij,j->fi", world[:, head, :3, :3], nose_local) + world[:, head, :3, 3]
        deficit = floor + clearance - nose[:, 2]
        if not np.any(deficit > 0):
            break
        arm = np.maximum(np.linalg.norm(nose - world[:, base, :3, 3], axis=1), 1e-6)
        need = np.arcsin(np.clip(smooth_upper_envelope(np.maximum(deficit, 0.0), radius) / arm, 0.0, 1.0))
        share = np.maximum(angles[:, joints, 0] - rig.lo[joints, 0], 0.0)
        share = share / np.maximum(share.sum(axis=1, keepdims=True), 1e-12)
        angles[:, joints, 0] = np.clip(
            angles[:, joints, 0] - 1.2 * need[:, None] * share, rig.lo[joints, 0], rig.hi[joints, 0]
        )
    return angles
