"""The tongue added to bodies without tongue skin: hidden in the closed mouth, out of the mouth when licking,
skinned to the tongue joints, pink in renders, and aimed at a lick target by the licking behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from synthmouse.body import Pose
from synthmouse.body.rotations import angles_to_matrices
from synthmouse.body.tongue import PIVOT_JOINT, TIP_LANDMARK, TONGUE_VERTICES, TongueShape, tongue_mesh, tongue_vertices
from synthmouse.motion import motion_rig
from synthmouse.motion.base import Stage
from synthmouse.motion.behaviours import JAW_OPEN, ReachSpec, default_lick_target


def _skin_mesh(body) -> trimesh.Trimesh:
    """The body's surface without the tongue (closed for the parametric mouse)."""
    keep = ~tongue_vertices(body)
    faces = body.mesh.faces[keep[body.mesh.faces].all(axis=1)]
    return trimesh.Trimesh(body.mesh.vertices.astype(np.float64), faces, process=False)


def _lick_pose(rig, level: float) -> Pose:
    """Standing, jaw open as at the peak of a lick, tongue at ``level`` of its protrusion range."""
    angles = rig.standing.angles[None].copy()
    jaw = rig.chains["jaw"]
    angles[0, jaw, 0] = rig.lo[jaw, 0] + JAW_OPEN * (rig.hi[jaw, 0] - rig.lo[jaw, 0])
    joints, limit = rig.tongue_protrusion
    angles[0, joints, 0] += level * (limit - angles[0, joints, 0])
    return Pose(rig.standing.root(1), angles_to_matrices(angles))


def test_tongue_mesh_is_a_closed_ellipsoid_along_its_axis():
    shape = TongueShape((0.0, 0.0, 0.0), (0.01, 0.0, 0.0), 0.002, 0.001)
    vertices, faces, u = tongue_mesh(shape)
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    assert mesh.is_watertight and mesh.volume > 0  # closed, faces wound outwards
    assert len(vertices) == TONGUE_VERTICES
    assert np.allclose(vertices.min(0), [0.0, -0.002, -0.001], atol=1e-12)
    assert np.allclose(vertices.max(0), [0.01, 0.002, 0.001], atol=1e-12)
    assert np.allclose(u, vertices[:, 0] / 0.01)
    # volume of an ellipsoid 4/3 pi abc, within the icosphere's discretisation
    assert mesh.volume == pytest.approx(4 / 3 * np.pi * 0.005 * 0.002 * 0.001, rel=0.03)


def test_parametric_tongue_is_hidden_at_rest_and_sticks_out_when_licking(parametric_body):
    body = parametric_body
    rig = motion_rig(body)
    tongue = tongue_vertices(body)
    assert tongue.sum() == TONGUE_VERTICES and TIP_LANDMARK in body.landmarks
    skin = _skin_mesh(body)
    assert skin.is_watertight
    rest = body.skin(body.rest_pose())[0].astype(np.float64)
    assert skin.contains(rest[tongue]).all()  # inside the closed mouth
    posed = body.skin(_lick_pose(rig, 1.0))[0].astype(np.float64)
    outside = ~skin.contains(posed[tongue])  # (the skin mesh at rest; the snout barely moves)
    assert outside.mean() > 0.2
    # it leaves forwards: the tip ends in front of the nose's rest position, below it
    tip = body.keypoints(_lick_pose(rig, 1.0), rig.landmark_set((TIP_LANDMARK,)))[0, 0]
    nose = body.keypoints(_lick_pose(rig, 0.0), rig.landmark_set(("nose",)))[0, 0]
    assert tip[0] > nose[0] - 0.003 and tip[2] < nose[2]


def test_tongue_vertices_follow_only_the_tongue_joint(parametric_body):
    body = parametric_body
    weights = body.mesh.weights[np.flatnonzero(tongue_vertices(body))]
    joints = body.skeleton.joints_in_group("tongue")
    assert set(np.unique(weights.indices)) <= set(joints.tolist())
    assert np.allclose(np.asarray(weights.sum(axis=1)).ravel(), 1.0)


def test_sam_gets_a_tongue_on_a_pivot_below_the_mouth(sam_body):
    sk = sam_body.skeleton
    pivot = sk.names.index(PIVOT_JOINT)
    assert sk.groups[pivot] == "tongue" and sk.names[sk.parents[pivot]] == "skull"
    tongue = tongue_vertices(sam_body)
    weights = sam_body.mesh.weights[np.flatnonzero(tongue)]
    assert np.all(weights.indices == pivot)
    mouth = sam_body.skin(sam_body.rest_pose())[0][tongue]
    assert sk.rest[pivot, 2, 3] < mouth[:, 2].min() - 0.02  # well below: rotating it slides the tongue forward


def test_licking_reaches_the_spout_at_each_lick_and_retracts_between(parametric_body):
    rig = motion_rig(parametric_body)
    fps, spec = 60.0, ReachSpec(effector="tongue", lick_frequency=6.0)
    clip = spec.generate(rig, 90, fps, np.random.default_rng(2), Stage())
    tip = parametric_body.keypoints(clip.pose(), rig.landmark_set((TIP_LANDMARK,)))[:, 0]
    target = default_lick_target(rig)  # the start root is at the origin, so the body frame is the world
    dist = np.linalg.norm(tip - target, axis=1)
    t = np.arange(90) / fps
    phase = (t * spec.lick_frequency) % 1.0
    middle = (t > 0.4) & (t < 1.1)  # the envelope is full here
    peaks = middle & (np.abs(phase - 0.5) < 0.05)
    troughs = middle & ((phase < 0.05) | (phase > 0.95))
    assert peaks.sum() >= 3 and troughs.sum() >= 3
    assert dist[peaks].max() < 0.0015
    assert dist[troughs].min() > 0.004
    rig.skeleton.check_limits(clip.angles, mode="raise")
