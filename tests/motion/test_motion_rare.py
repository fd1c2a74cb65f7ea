"""Rare postures: the plausibility filter and sampling across the joint-limit box."""

from __future__ import annotations

import numpy as np

from synthmouse.motion import motion_rig
from synthmouse.motion.base import RootState, stance_root
from synthmouse.motion.rare import RareSpec, plausible, sample_postures
from synthmouse.motion.semirandom import SemiRandomSpec


def test_trunk_model_lies_inside_the_skin(sam_body):
    rig = motion_rig(sam_body)
    posture = rig.standing
    world = rig.world(posture.angles[None], posture.root(1))
    line = rig.trunk.centreline(world)[0]
    verts = sam_body.skin(posture.pose(1))[0]
    # every centreline point has skin above and below it (it runs through the trunk) ...
    for p in line[1:-1]:
        near = verts[np.linalg.norm(verts[:, :2] - p[:2], axis=1) < 0.004]
        assert near[:, 2].min() < p[2] < near[:, 2].max()
    # ... and the centreline itself counts as inside, a point 5 cm above the back does not
    inside = rig.trunk.penetration(world, line[None, 2:3])
    outside = rig.trunk.penetration(world, (line[2] + [0, 0, 0.05])[None, None])
    assert inside[0, 0] > 0.005 and outside[0, 0] < 0


def test_filter_accepts_standing_and_rejects_implausible(sam_body):
    rig = motion_rig(sam_body)
    posture = rig.standing
    assert plausible(rig, posture.angles[None], posture.root(1))[0]
    # the tail bent down as far as it goes: it goes below the floor
    bent = posture.angles.copy()
    tail = rig.chains["tail"]
    bent[tail, 0] = rig.hi[tail, 0]
    assert not plausible(rig, bent[None], posture.root(1))[0]
    # a forepaw pulled into the chest by IK: inside the trunk
    from synthmouse.motion.limb_ik import LimbTargets, limb_anchor, solve_limb

    limb = rig.limbs["fore_l"]
    world = rig.world(posture.angles[None], posture.root(1))
    target = rig.trunk.centreline(world)[:, -2]
    theta = solve_limb(
        rig, limb, limb_anchor(world, rig, limb), LimbTargets(target), posture.angles[limb.chain][None], iterations=60
    )
    inside = posture.angles.copy()
    inside[limb.chain] = theta[0]
    depth = rig.trunk.penetration(
        rig.world(inside[None], posture.root(1)), rig.contact_points(rig.world(inside[None], posture.root(1)))
    )[0, 0]
    assert depth > 0.002
    assert not plausible(rig, inside[None], posture.root(1))[0]


def test_rare_postures_cover_the_limit_box(sam_body):
    rig = motion_rig(sam_body)
    keys = sample_postures(rig, 40, np.random.default_rng(0))
    sam_body.skeleton.check_limits(keys)
    root = stance_root(rig.standing, RootState(), len(keys))
    from synthmouse.motion.rare import _settle_each

    assert plausible(rig, keys, _settle_each(rig, keys, root, 0.0)).all()
    span = np.where(rig.movable, rig.hi - rig.lo, 1.0)
    frac = np.where(rig.movable, (keys - rig.lo) / span, 0.5)
    near_ends = np.mean((frac < 0.1) | (frac > 0.9), where=np.broadcast_to(rig.movable, frac.shape))
    ordinary = SemiRandomSpec(amplitude=0.4).generate(rig, 40, 30.0, np.random.default_rng(0)).angles
    frac_o = np.where(rig.movable, (ordinary - rig.lo) / span, 0.5)
    near_o = np.mean((frac_o < 0.1) | (frac_o > 0.9), where=np.broadcast_to(rig.movable, frac_o.shape))
    assert near_ends > 0.25  # Beta(0.6, 0.6) puts ~30 % of draws in the outer 20 % of each range
    assert near_ends > 2 * near_o


def test_rare_clip_rests_on_the_floor(sam_body):
    rig = motion_rig(sam_body)
    clip = RareSpec(hold=0.5).generate(rig, 45, 30.0, np.random.default_rng(1))
    verts = sam_body.skin(clip.pose())
    low = verts[..., 2].min(axis=1)
    assert low.min() > -0.001  # nothing below the floor (sampled vertices are exact; 1 mm slack elsewhere)
    assert np.median(low) < 0.002  # and it rests on it
    assert plausible(rig, clip.angles, clip.root).mean() > 0.9
