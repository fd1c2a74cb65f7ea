"""Locomotion: planted paws on floor, treadmill and wheel; gait phases; arena paths; head fixation."""

from __future__ import annotations

import numpy as np
import pytest

from synthmouse.motion import motion_rig
from synthmouse.motion.base import Arena, HeadFixed, RootState, Stage, Support
from synthmouse.motion.gait import LocomotionSpec
from synthmouse.motion.path import plan_path

PAWS = ("left_paw", "right_paw", "left_foot", "right_foot")  # order of LIMB_NAMES: fore_l fore_r hind_l hind_r


def stance_slides(body, clip) -> np.ndarray:
    """Largest displacement (metres) of each planted paw landmark over each of its stance phases, measured in
    the support's own (moving) surface frame."""
    rig = motion_rig(body)
    kp = body.keypoints(clip.pose(), rig.landmark_set(PAWS))  # through the skinning/keypoint code of the body
    surface = clip.support.to_surface(kp, clip.moved[:, None])
    worst = np.zeros(4)
    for i in range(4):
        planted = clip.planted[:, i]
        edges = np.flatnonzero(np.diff(planted.astype(int))) + 1
        for run in np.split(np.arange(len(planted)), edges):
            if planted[run[0]] and len(run) > 1:
                worst[i] = max(worst[i], np.linalg.norm(surface[run, i] - surface[run[0], i], axis=1).max())
    return worst


@pytest.mark.parametrize("gait", ["walk", "trot"])
def test_planted_paws_stay_on_the_floor(sam_body, gait):
    rig = motion_rig(sam_body)
    stage = Stage(Support("floor"), Arena(-0.3, 0.3, -0.3, 0.3))
    clip = LocomotionSpec(gait=gait, pauses=0).generate(
        rig, 90, 60.0, np.random.default_rng(1), stage, RootState(-0.1, 0.0, 0.0), RootState(0.08, 0.04, 0.4)
    )
    assert clip.planted.any(axis=0).all()
    assert stance_slides(sam_body, clip).max() < 0.002
    # planted paws rest on the floor at their sole height
    kp = sam_body.keypoints(clip.pose(), rig.landmark_set(PAWS))
    soles = rig.standing.contacts[:, 2]
    assert np.abs(kp[..., 2] - soles)[clip.planted].max() < 0.0015


def test_planted_paws_ride_the_treadmill_belt(sam_body):
    rig = motion_rig(sam_body)
    stage = Stage(Support("treadmill"), None)
    clip = LocomotionSpec(gait="trot", speed=0.2).generate(rig, 60, 60.0, np.random.default_rng(2), stage)
    assert clip.moved[-1] > 0.1  # the belt moved ~0.2 m/s for 1 s
    root_x = clip.root[:, 0, 3]
    assert np.ptp(root_x) < 0.02  # the animal stays in place on the belt
    assert stance_slides(sam_body, clip).max() < 0.002
    # in the world, a planted paw moves backwards with the belt, at the belt's speed
    kp = sam_body.keypoints(clip.pose(), rig.landmark_set(PAWS))
    i = 2
    planted = clip.planted[:, i]
    runs = [
        r for r in np.split(np.arange(len(planted)), np.flatnonzero(np.diff(planted.astype(int))) + 1) if planted[r[0]]
    ]
    run = max(runs, key=len)
    travelled = kp[run[0], i, 0] - kp[run[-1], i, 0]
    belt = clip.moved[run[-1]] - clip.moved[run[0]]
    assert belt > 0.005 and abs(travelled - belt) < 0.002


def test_head_fixed_running_on_a_wheel(sam_body):
    rig = motion_rig(sam_body)
    support = Support("wheel", 0.0, 0.09)
    clip = LocomotionSpec(gait="trot", speed=0.2).generate(
        rig, 60, 60.0, np.random.default_rng(3), Stage(support, None, HeadFixed())
    )
    head = int(rig.chains["head"][0])
    world = rig.world(clip.angles, clip.root)
    assert np.abs(world[:, head] - world[0, head]).max() < 1e-9  # the head bar holds the head
    assert stance_slides(sam_body, clip).max() < 0.002
    # planted paws are on the rim: distance to the axle = radius + sole height
    kp = sam_body.keypoints(clip.pose(), rig.landmark_set(PAWS))
    r = np.hypot(kp[..., 0], kp[..., 2] - support.axis_z)
    soles = rig.standing.contacts[:, 2]
    assert np.abs(r - support.radius - soles)[clip.planted].max() < 0.0015


def test_wheel_surface_coordinates_round_trip():
    support = Support("wheel", 0.0, 0.1)
    s, y, h, moved = np.array([0.01, -0.03]), np.array([0.0, 0.02]), np.array([0.003, 0.0]), np.array([0.05, 0.2])
    p = support.to_world(s, y, h, moved)
    # hand check: arc length s - moved from the top, on a circle of radius 0.1 + h about (0, -0.1)
    phi = (s - moved) / 0.1
    assert np.allclose(p[:, 0], (0.1 + h) * np.sin(phi))
    assert np.allclose(p[:, 2], -0.1 + (0.1 + h) * np.cos(phi))
    assert np.allclose(support.to_surface(p, moved), np.stack([s, y, h], 1))


def test_gait_phases_and_duty_factor(sam_body):
    rig = motion_rig(sam_body)
    stage = Stage(Support("treadmill"), None)
    trot = LocomotionSpec(gait="trot", speed=0.15, duty_factor=0.5).generate(
        rig, 120, 60.0, np.random.default_rng(4), stage
    )
    p = trot.planted
    fl, fr, hl, hr = (p[:, i] for i in range(4))
    assert np.mean(fl == hr) > 0.95 and np.mean(fr == hl) > 0.95  # diagonal pairs together
    assert np.mean(fl == fr) < 0.1
    assert abs(p.mean() - 0.5) < 0.06
    walk = LocomotionSpec(gait="walk", speed=0.1, duty_factor=0.7).generate(
        rig, 180, 60.0, np.random.default_rng(4), stage
    )
    assert abs(walk.planted.mean() - 0.7) < 0.06
    # lateral-sequence walk: touchdowns in the order hind_l, fore_l, hind_r, fore_r
    down = {i: np.flatnonzero(np.diff(walk.planted[:, i].astype(int)) == 1) for i in range(4)}
    t0 = down[2][0]
    after = [down[i][down[i] > t0][0] for i in (0, 3, 1)]
    assert t0 < after[0] < after[1] < after[2]


def test_arena_paths_stay_inside_and_reach_the_end():
    arena = Arena(-0.2, 0.2, -0.15, 0.15, margin=0.04)
    rng = np.random.default_rng(0)
    for _ in range(20):
        start, end = arena.random_state(rng), arena.random_state(rng)
        path = plan_path(start, end, arena, 90, 30.0, rng, pauses=1.0)
        x0, x1, y0, y1 = -0.16, 0.16, -0.11, 0.11
        assert np.all((path.xy[:, 0] >= x0 - 1e-9) & (path.xy[:, 0] <= x1 + 1e-9))
        assert np.all((path.xy[:, 1] >= y0 - 1e-9) & (path.xy[:, 1] <= y1 + 1e-9))
        assert np.allclose(path.xy[0], [start.x, start.y]) and np.allclose(path.xy[-1], [end.x, end.y])
        assert np.all(path.speed >= 0)
        assert np.abs(np.diff(path.heading)).max() * 30.0 <= 2.5 + 1e-6  # turning rate limit


def test_pauses_stop_the_animal(sam_body):
    rng = np.random.default_rng(5)
    arena = Arena()
    path = plan_path(
        RootState(-0.1, 0, 0), RootState(0.1, 0, 0), arena, 120, 30.0, rng, pauses=3.0, pause_duration=(0.5, 0.6)
    )
    assert (path.speed < 1e-6).sum() >= 10  # at least one pause of >= 0.3 s at 30 fps


@pytest.mark.parametrize("n", [2, 3, 7])
def test_banded_step_with_acceleration_penalty_matches_a_dense_solve(n):
    from synthmouse.motion.limb_ik import _banded_step, difference_penalty

    rng = np.random.default_rng(0)
    m = 4
    a = rng.normal(size=(n, m, m))
    lhs = a @ a.transpose(0, 2, 1) + np.eye(m)
    rhs, theta = rng.normal(size=(n, m)), rng.normal(size=(n, m))
    w1, w2 = 0.3, 0.7
    step = _banded_step(lhs, rhs, theta, difference_penalty(n, w1**2, w2**2))
    d1, d2 = np.diff(np.eye(n), axis=0), np.diff(np.eye(n), 2, axis=0)
    lap = np.kron(w1**2 * d1.T @ d1 + w2**2 * d2.T @ d2, np.eye(m))
    dense = lap.copy()
    for f in range(n):
        dense[f * m : (f + 1) * m, f * m : (f + 1) * m] += lhs[f]
    expected = np.linalg.solve(dense, rhs.reshape(-1) - lap @ theta.reshape(-1))
    assert np.allclose(step.reshape(-1), expected, atol=1e-12)


@pytest.mark.parametrize("case", ["floor_trot", "treadmill", "wheel_headfixed"])
def test_gaits_respect_the_acceleration_bound_at_100_fps(parametric_body, case):
    from synthmouse.motion import ANGULAR_ACCELERATION_BOUND

    rig = motion_rig(parametric_body)
    fps = 100.0
    stages = {
        "floor_trot": Stage(arena=Arena(-0.3, 0.3, -0.3, 0.3)),
        "treadmill": Stage(Support("treadmill"), None),
        "wheel_headfixed": Stage(Support("wheel", 0.0, 0.09), None, HeadFixed()),
    }
    moving = case == "floor_trot"
    clip = LocomotionSpec(gait="trot", speed=0.2, pauses=0).generate(
        rig,
        120,
        fps,
        np.random.default_rng(1),
        stages[case],
        RootState(-0.1, 0.0, 0.0) if moving else None,
        RootState(0.1, 0.02, 0.2) if moving else None,
    )
    accel = np.abs(np.diff(clip.angles, 2, axis=0)).max() * fps**2
    assert accel < ANGULAR_ACCELERATION_BOUND
