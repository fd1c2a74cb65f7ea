"""Open-field motion: wall following (thigmotaxis), short bouts, behaviour shares as time, the body inside the walls."""

from __future__ import annotations

import numpy as np
import pytest

from synthmouse.motion.base import Arena, RootState
from synthmouse.motion.itinerary import Place, block_targets
from synthmouse.motion.mix import DEFAULT_FREE_MIX, MotionMix
from synthmouse.motion.path import plan_path, wall_track

FPS = 30.0
OPENFIELD = {"x": [-0.225, 0.225], "y": [-0.225, 0.225], "margin": 0.05}  # the starter scene's 45 cm box


def _mix(body, periphery: float | None = None, **extra) -> MotionMix:
    arena = dict(OPENFIELD) if periphery is None else {**OPENFIELD, "periphery": periphery}
    return MotionMix.from_dict({**DEFAULT_FREE_MIX, "arena": arena, **extra}, body)


def _centre(mix: MotionMix, xy: np.ndarray, heading: np.ndarray) -> np.ndarray:
    return xy + mix.offset * np.stack([np.cos(heading), np.sin(heading)], axis=1)


@pytest.mark.parametrize("periphery", [0.6, 0.85])
def test_periphery_share_follows_the_setting(parametric_body, periphery):
    mix = _mix(parametric_body, periphery)
    shares = []
    for seed in (0, 1):
        xy, heading, _ = mix.root_plan(int(900 * FPS), FPS, seed)  # 15 min
        gap = mix.stage.arena.wall_gap(_centre(mix, xy, heading))
        shares.append(np.mean(gap < mix.stage.arena.periphery_width))
    assert abs(np.mean(shares) - periphery) < 0.06, shares


def test_default_periphery_is_wall_hugging(parametric_body):
    mix = _mix(parametric_body)
    assert mix.stage.arena.periphery == 0.8 and mix.stage.arena.periphery_width == 0.08
    xy, heading, names = mix.root_plan(int(600 * FPS), FPS, 3)
    gap = mix.stage.arena.wall_gap(_centre(mix, xy, heading))
    assert 0.7 < np.mean(gap < 0.08) < 0.9
    walking = np.isin(names, ["walk", "trot"])
    # wall following: much of the walking runs along the wall, the body centre 2.5 cm from it
    assert np.mean(np.abs(gap[walking] - 0.025) < 0.003) > 0.3


def test_default_mix_has_short_bouts_and_time_shares_follow_weights(parametric_body):
    mix = _mix(parametric_body)
    n = int(3600 * FPS)  # plans only: cheap
    counts, frames, bouts_per_300 = {}, 0, []
    block = 0
    while frames < n:
        bouts = mix.plan(block, FPS, 5)
        for bout in bouts:
            name = mix.names[bout.entry]
            counts[name] = counts.get(name, 0) + bout.length
        frames += sum(b.length for b in bouts)
        starts = np.array([b.start for b in bouts]) - block * mix.block_frames(FPS)
        bouts_per_300 += [np.sum((starts >= a) & (starts < a + 300)) for a in range(0, mix.block_frames(FPS), 300)]
        block += 1
    assert np.mean(bouts_per_300) >= 6.0 and np.min(bouts_per_300) >= 3  # was ~4.5 with 2-4 s bouts
    shares = {k: v / frames for k, v in counts.items()}
    for name, weight in zip(mix.names, mix.weights, strict=True):
        assert abs(shares[name] - weight) < 0.025, (name, shares[name], weight)


def test_root_plan_matches_the_sampled_roots(parametric_body):
    mix = _mix(parametric_body, block_seconds=4.0)
    n = 150
    pose, ids, names = mix.sample(n, FPS, seed=1)
    xy, heading, plan_names = mix.root_plan(n, FPS, seed=1)
    assert plan_names == names
    blend = mix.blend_frames(FPS)
    starts = np.flatnonzero(np.diff(np.concatenate([[-1], ids])))
    outside = np.ones(n, bool)
    for s in starts[1:]:
        outside[s : s + blend] = False
    level = outside & np.isin(names, ["walk", "trot", "scan", "rest", "random"])  # no root pitch
    assert level.sum() > 20
    assert np.allclose(pose.root[level, :2, 3], xy[level], atol=1e-9)


def test_body_stays_inside_the_walls(parametric_body):
    mix = _mix(parametric_body, block_seconds=4.0)
    pose, ids, names = mix.sample(240, FPS, seed=2)
    kp = parametric_body.keypoints(pose, mix.rig.landmark_set(("nose", "tail_root")))[..., :2]
    assert np.abs(kp).max() < 0.225, np.abs(kp).max()  # nose and tail base inside the 45 cm box
    assert len(set(ids.tolist())) >= 4 and "walk" in names
    parametric_body.skeleton.check_limits(pose.angles)
    from synthmouse.motion import ANGULAR_ACCELERATION_BOUND

    assert np.abs(np.diff(pose.angles, 2, axis=0)).max() * FPS**2 < ANGULAR_ACCELERATION_BOUND
    # over a long plan, the standing posture's nose and tail base (the body centre -+ front) stay inside
    from synthmouse.motion.posture import body_axis

    front = body_axis(mix.rig)[1]
    xy, heading, _ = mix.root_plan(int(600 * FPS), FPS, 4)
    c = _centre(mix, xy, heading)
    ends = front * np.stack([np.cos(heading), np.sin(heading)], axis=1)
    assert min(mix.stage.arena.wall_gap(c + ends).min(), mix.stage.arena.wall_gap(c - ends).min()) > 0.0


def test_default_mix_random_access_and_reproducibility(parametric_body):
    mix = _mix(parametric_body, block_seconds=3.0)
    pose, ids, names = mix.sample(120, FPS, seed=7)
    fresh = _mix(parametric_body, block_seconds=3.0)
    for i in (119, 0, 45, 89, 90, 91):  # out of order, across the block boundary at 90
        p, sid, name = fresh.pose_at(i, FPS, seed=7)
        assert np.allclose(p.root, pose.root[i : i + 1], atol=1e-12)
        assert np.allclose(p.rotations, pose.rotations[i : i + 1], atol=1e-12)
        assert sid == ids[i] and name == names[i]


# ---------------------------------------------------------------------------------------------- geometry
def test_wall_track_is_a_continuous_loop_that_keeps_the_nose_inside():
    arena = Arena(-0.225, 0.225, -0.225, 0.225, 0.05)
    front = 0.047
    track = wall_track(arena, front)
    s = np.linspace(-0.2, 2 * track.length, 4001)
    p, h = track.point(s), track.heading(s)
    step = np.linalg.norm(np.diff(p, axis=0), axis=1)
    assert step.max() < 1.01 * (s[1] - s[0])  # arc length parametrisation, no jumps
    d = np.diff(p, axis=0)
    assert np.abs(np.angle(np.exp(1j * (np.arctan2(d[:, 1], d[:, 0]) - h[:-1])))).max() < 0.01  # heading = tangent
    assert np.isclose(h[-1] - track.heading(s[-1] - track.length), 2 * np.pi)
    assert np.allclose(arena.wall_gap(p).min(), arena.wall_distance)
    nose = p + front * np.stack([np.cos(h), np.sin(h)], axis=1)
    assert arena.wall_gap(nose).min() >= 0.0099  # WALL_CLEARANCE in the corners
    for where in (0.0, 0.3, 0.5, 1.1):
        q = track.point(where) + np.array([0.004, -0.003])
        found, dist = track.project(q)
        assert dist < 0.006 and abs((found - where + 0.1) % track.length - 0.1) < 0.01


def test_walks_between_wall_states_follow_the_wall():
    arena = Arena(-0.225, 0.225, -0.225, 0.225, 0.05)
    track, offset, front = wall_track(arena, 0.047), 0.04, 0.047
    start, end = track.state(0.1, 1, offset), track.state(0.55, 1, offset)  # round a corner
    path = plan_path(
        start, end, arena, 120, FPS, np.random.default_rng(0), 0.3, track=track, offset=offset, front=front
    )
    centre = path.xy + offset * np.stack([np.cos(path.heading), np.sin(path.heading)], axis=1)
    assert max(track.project(c)[1] for c in centre) < 1e-3  # the body centre runs along the track
    assert np.allclose(path.xy[-1], [end.x, end.y], atol=1e-6)
    assert np.abs(np.diff(path.heading)).max() * FPS < 2.6  # within the turning limit
    # from the open field to the wall: arrives along the wall without the body touching it
    inside = RootState(0.0, 0.05, -1.0)
    path = plan_path(
        inside, end, arena, 90, FPS, np.random.default_rng(1), 0.0, track=track, offset=offset, front=front
    )
    centre = path.xy + offset * np.stack([np.cos(path.heading), np.sin(path.heading)], axis=1)
    ends = front * np.stack([np.cos(path.heading), np.sin(path.heading)], axis=1)
    assert min(arena.wall_gap(centre + ends).min(), arena.wall_gap(centre - ends).min()) > 0.0
    assert np.allclose(path.xy[-1], [end.x, end.y], atol=1e-6)


def test_block_targets_chain_into_the_next_anchor():
    arena = Arena(-0.225, 0.225, -0.225, 0.225, 0.05)
    track = wall_track(arena, 0.047)
    legs = np.array([1.5, 2.0, 1.0, 2.5, 1.2])
    gaps = np.array([1.0, 2.0, 0.5, 3.0, 1.0, 2.0])
    start, end = Place(True, 0.2, 1), Place(True, 1.1, -1)
    places = block_targets(np.random.default_rng(3), arena, track, legs, 0.12 * legs, gaps, start, end)
    again = block_targets(np.random.default_rng(3), arena, track, legs, 0.12 * legs, gaps, start, end)
    assert places == again and places[-1] == end and len(places) == len(legs)
    x0, x1, y0, y1 = arena.centre_zone
    for place in places:
        if not place.on_track:
            assert x0 <= place.x <= x1 and y0 <= place.y <= y1


def test_the_documented_open_field_mix_is_the_default():
    from pathlib import Path

    from synthmouse.motion.mix import load_mix_spec

    doc = load_mix_spec(Path(__file__).resolve().parents[2] / "docs" / "motion" / "openfield_mix.yaml")
    assert doc.generators == load_mix_spec(DEFAULT_FREE_MIX).generators
    assert (doc.arena.periphery, doc.arena.periphery_width, doc.arena.wall_distance) == (0.8, 0.08, 0.025)
