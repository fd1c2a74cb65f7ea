"""Rare postures: keyframes sampled across the whole joint-limit box, kept only when plausible.

Each keyframe draws every movable angle independently from a Beta(a, a) distribution over its range (``a = 1``
is uniform; ``a < 1`` favours the ends of the ranges, the rarest postures). A candidate is kept when, with the
body lowered onto the floor, no paw contact point or tail joint lies inside the trunk (capsules along the spine,
:class:`synthmouse.motion.rig.TrunkModel`) deeper than ``tolerance`` and no tail joint lies below the floor. Kept
keyframes are joined by minimum-jerk interpolation in angle space (the limit box is convex, so every frame stays
inside the limits) with a hold at each keyframe, like the noise keyframes of Bolaños et al. 2021; the body rests
on the floor throughout. Give this generator a weight in a mix to oversample such postures.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from .base import Clip, RootState, Stage, stance_root
from .kinematics import ground, lowest_points
from .noise import min_jerk
from .rig import MotionRig
from .spec import GeneratorSpec


def plausible(
    rig: MotionRig, angles: np.ndarray, root: np.ndarray, floor: float = 0.0, tolerance: float = 0.002
) -> np.ndarray:
    """``(F,) bool``: paws and tail outside the trunk (within ``tolerance``) and the tail not below the floor."""
    world = rig.world(angles, root)
    paws = rig.contact_points(world)
    tail_joints = rig.chains["tail"]
    tail = world[:, tail_joints][..., :3, 3]
    points = np.concatenate([paws, tail[:, 2:]], axis=1)  # the tail's first joints sit inside the rump
    inside = rig.trunk.penetration(world, points) > tolerance
    below = tail[..., 2].min(axis=1) < floor - tolerance if tail_joints.size else np.zeros(len(angles), bool)
    return ~inside.any(axis=1) & ~below


def sample_postures(
    rig: MotionRig,
    count: int,
    rng: np.random.Generator,
    concentration: float = 0.6,
    floor: float = 0.0,
    tolerance: float = 0.002,
    batch: int = 64,
    max_batches: int = 50,
) -> np.ndarray:
    """``(count, J, 3)`` plausible postures drawn across the limit box (see the module docstring)."""
    kept: list[np.ndarray] = []
    posture = rig.standing
    for _ in range(max_batches):
        x = rng.beta(concentration, concentration, size=(batch, rig.n_joints, 3))
        angles = np.where(rig.movable, rig.lo + (rig.hi - rig.lo) * x, posture.angles)
        root = stance_root(posture, RootState(), batch)
        root = _settle_each(rig, angles, root, floor)
        ok = plausible(rig, angles, root, floor, tolerance)
        kept.extend(angles[ok])
        if len(kept) >= count:
            return np.stack(kept[:count])
    raise RuntimeError(f"only {len(kept)} of {count} plausible postures in {batch * max_batches} draws")


def _settle_each(rig: MotionRig, angles: np.ndarray, root: np.ndarray, floor: float) -> np.ndarray:
    out = root.copy()
    out[:, 2, 3] += floor - lowest_points(rig, angles, root, tail=True)
    return out


class RareSpec(GeneratorSpec):
    """Rare postures: plausible keyframes from the whole joint-limit box, joined smoothly.

    Attributes:
        hold: seconds between keyframes (half moving, half holding).
        concentration: Beta(a, a) parameter of the draws; below 1 favours the ends of the joint ranges.
        tolerance: how far (metres) a paw or the tail may enter the trunk.
    """

    type: Literal["rare"] = "rare"
    hold: float = Field(0.8, gt=0.1, le=10.0)
    concentration: float = Field(0.6, gt=0.05, le=5.0)
    tolerance: float = Field(0.002, ge=0.0, le=0.02)

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
        n_keys = int(np.ceil(n_frames / (self.hold * fps))) + 1
        keys = sample_postures(rig, n_keys, rng, self.concentration, stage.support.top, self.tolerance)
        keys[0] = 0.5 * (keys[0] + rig.standing.angles)  # start nearer an ordinary posture
        s = np.arange(n_frames) / (self.hold * fps)
        k = np.minimum(np.floor(s).astype(int), n_keys - 2)
        w = min_jerk(2.0 * (s - k))[:, None, None]  # move during the first half, hold during the second
        angles = (1.0 - w) * keys[k] + w * keys[k + 1]
        root = stance_root(rig.standing, start, n_frames)
        root = ground(rig, angles, root, stage.support.top, fps, settle=True, tail=True)
        return Clip.still(angles, root, stage.support)
