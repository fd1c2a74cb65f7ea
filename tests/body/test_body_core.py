"""Body core: skeleton, forward kinematics, skinning, keypoints, joint angles and limits.

References are independent of the code under test: hand-written 4 x 4 transforms, scipy's Rotation, and a
naive dense per-vertex skinning sum.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.transform import Rotation

from synthmouse.body import KeypointDef, KeypointSet, Pose, Skeleton, angles_to_matrices, matrices_to_angles
from synthmouse.body.mesh import SkinnedMesh, linear_blend_skinning, skinning_matrices
from synthmouse.body.model import Body
from synthmouse.errors import ModelFormatError, PoseError


# --- a small hand-built chain -------------------------------------------------------------------------------
def _translation(x: float, y: float, z: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


RZ90 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # +90 deg about z
RY90 = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # +90 deg about y


def _chain_skeleton(limits_deg: float = 90.0) -> Skeleton:
    """a (origin) -> b (1, 0, 0) -> c (2, 0, 0); c's rest frame is turned +90 deg about z."""
    rest = np.stack([np.eye(4), _translation(1, 0, 0), _translation(2, 0, 0)])
    rest[2, :3, :3] = RZ90
    limits = np.tile(np.radians([-limits_deg, limits_deg]), (3, 3, 1))
    return Skeleton(("a", "b", "c"), np.array([-1, 0, 1]), rest, ("root", "spine", "spine"), limits)


def test_forward_kinematics_matches_hand_computed_transforms():
    sk = _chain_skeleton()
    rotations = np.stack([RZ90, RY90, np.eye(3)])[None]
    root = _translation(0.5, 0.0, 0.0)[None]
    world = sk.forward_kinematics(rotations, root)[0]
    # a: root translation, then a's rotation.
    expected_a = np.array([[0, -1, 0, 0.5], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    # b: 1 along a's rotated x = world +y; orientation Rz90 @ Ry90.
    expected_b = np.array([[0, -1, 0, 0.5], [0, 0, 1, 1], [-1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    # c: 1 along b's x (world -z); orientation Rz90 @ Ry90 @ (c's rest turn Rz90).
    expected_c = np.array([[-1, 0, 0, 0.5], [0, 0, 1, 1], [0, 1, 0, -1], [0, 0, 0, 1]], dtype=float)
    np.testing.assert_allclose(world[0], expected_a, atol=1e-12)
    np.testing.assert_allclose(world[1], expected_b, atol=1e-12)
    np.testing.assert_allclose(world[2], expected_c, atol=1e-12)


def test_forward_kinematics_of_rest_pose_gives_rest_frames():
    sk = _chain_skeleton()
    world = sk.forward_kinematics(np.broadcast_to(np.eye(3), (2, 3, 3, 3)), np.broadcast_to(np.eye(4), (2, 4, 4)))
    np.testing.assert_allclose(world, np.broadcast_to(sk.rest, world.shape), atol=1e-12)


def test_skinning_of_hand_built_chain_matches_naive_sum():
    sk = _chain_skeleton()
    vertices = np.array([[0.5, 0.1, 0.0], [1.5, 0.0, 0.2], [2.5, -0.1, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    weights = sp.csr_matrix(np.array([[1, 0, 0], [0, 0.7, 0.3], [0, 0, 1], [0.5, 0.5, 0]], dtype=float))
    pose = Pose.from_angles(np.radians([[[10, 20, 5], [-30, 10, 0], [45, 0, 0]]]), np.array([[0.1, 0.2, 0.3]]))
    world = sk.forward_kinematics(pose.rotations, pose.root)
    got = linear_blend_skinning(vertices, weights, skinning_matrices(world, sk.rest), dtype=np.float64)
    expected = np.zeros((4, 3))
    for v in range(4):
        for j in range(3):
            to_posed = world[0, j] @ np.linalg.inv(sk.rest[j])
            expected[v] += weights[v, j] * (to_posed @ np.append(vertices[v], 1.0))[:3]
    np.testing.assert_allclose(got[0], expected, atol=1e-7)


# --- SAM: skinning and keypoints ----------------------------------------------------------------------------
def test_rest_pose_reproduces_rest_vertices(sam_body):
    posed = sam_body.skin(sam_body.rest_pose(2))
    assert posed.shape == (2, sam_body.mesh.n_vertices, 3) and posed.dtype == np.float32
    np.testing.assert_allclose(posed[1], sam_body.mesh.vertices, atol=1e-7)


def test_skinning_matches_naive_dense_reference(sam_body):
    rng = np.random.default_rng(3)
    lim = sam_body.skeleton.limits
    pose = Pose.from_angles(
        rng.uniform(lim[..., 0], lim[..., 1], size=(3, *lim.shape[:2])), rng.normal(scale=0.1, size=(3, 3))
    )
    world = sam_body.world_frames(pose)
    subset = rng.choice(sam_body.mesh.n_vertices, 300, replace=False)
    w = sam_body.mesh.weights[subset].toarray()
    homogeneous = np.hstack([sam_body.mesh.vertices[subset].astype(float), np.ones((300, 1))])
    to_posed = world @ np.linalg.inv(sam_body.skeleton.rest)  # (F, J, 4, 4)
    expected = np.einsum("vj,fjik,vk->fvi", w, to_posed, homogeneous)[..., :3]
    got = sam_body.skin(pose)[:, subset]
    np.testing.assert_allclose(got, expected, atol=2e-6)


def _joint(body: Body, name: str) -> int:
    return body.skeleton.index(name)


def test_rotating_one_joint_moves_only_its_vertices_and_keypoints(sam_body):
    sk, mesh = sam_body.skeleton, sam_body.mesh
    j = _joint(sam_body, "ulna_l")  # the left forearm: ulna_l -> fore_paw_l -> digits
    moved_joints = np.concatenate([[j], sk.descendants(j)])
    angles = np.zeros((1, sk.n_joints, 3))
    angles[0, j] = np.radians([40.0, 0.0, 0.0])
    pose = Pose.from_angles(angles)
    posed = sam_body.skin(pose)[0]
    displacement = np.linalg.norm(posed - mesh.vertices, axis=1)
    influence = np.asarray(mesh.weights[:, moved_joints].sum(axis=1)).ravel()
    assert np.all(displacement[influence == 0] < 1e-7), "a vertex without weight on the forearm moved"
    assert np.all(displacement[influence > 0.5] > 1e-5), "a vertex mostly on the forearm did not move"
    # Keypoints: one on the forearm bone follows its rotation about the elbow; one elsewhere stays.
    elbow = sk.rest[j, :3, 3]
    on_bone = KeypointDef("on_bone", joint="ulna_l", offset=(0.004, 0.0, 0.001))
    elsewhere = KeypointDef("elsewhere", joint="femur_r", offset=(0.002, 0.0, 0.0))
    kps = sam_body.keypoints(pose, KeypointSet("t", (on_bone, elsewhere)))[0]
    rest_on_bone = sk.rest[j] @ np.array([0.004, 0.0, 0.001, 1.0])
    frame = sk.rest[j, :3, :3]
    rot = frame @ Rotation.from_euler("y", 40, degrees=True).as_matrix() @ frame.T  # about the joint's y axis
    np.testing.assert_allclose(kps[0], elbow + rot @ (rest_on_bone[:3] - elbow), atol=1e-9)
    rest_elsewhere = sk.rest[_joint(sam_body, "femur_r")] @ np.array([0.002, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(kps[1], rest_elsewhere[:3], atol=1e-12)


def test_positive_flex_moves_the_distal_end_ventrally(sam_body):
    sk = sam_body.skeleton
    j = _joint(sam_body, "tail_3")
    angles = np.zeros((1, sk.n_joints, 3))
    angles[0, j, 0] = np.radians(20)
    tip = KeypointSet("tip", (KeypointDef("tip", joint="tail_9_end"),))
    rest_z = sam_body.keypoints(sam_body.rest_pose(), tip)[0, 0, 2]
    assert sam_body.keypoints(Pose.from_angles(angles), tip)[0, 0, 2] < rest_z - 0.005


def test_random_poses_within_limits_keep_vertices_finite_and_bones_rigid(sam_body):
    rng = np.random.default_rng(7)
    sk = sam_body.skeleton
    angles = rng.uniform(sk.limits[..., 0], sk.limits[..., 1], size=(8, *sk.limits.shape[:2]))
    rot = Rotation.random(8, random_state=11).as_matrix()
    pose = Pose.from_angles(angles, rng.normal(size=(8, 3)), rot)
    world = sam_body.world_frames(pose)
    posed = sam_body.skin(pose, world)
    assert np.isfinite(posed).all()
    np.testing.assert_allclose(
        sk.bone_lengths(world), np.broadcast_to(sk.bone_lengths(sk.rest), (8, sk.n_joints)), atol=1e-9
    )
    kps = sam_body.keypoints(pose, "mouse22", world)
    assert kps.shape == (8, 22, 3) and np.isfinite(kps).all()


# --- joint angles and limits --------------------------------------------------------------------------------
def test_angles_to_matrices_matches_scipy_intrinsic_yzx():
    rng = np.random.default_rng(0)
    angles = rng.uniform(-np.pi, np.pi, size=(50, 3))
    expected = Rotation.from_euler("YZX", angles).as_matrix()
    np.testing.assert_allclose(angles_to_matrices(angles), expected, atol=1e-12)


def test_matrices_to_angles_round_trips_inside_limits(sam_body):
    rng = np.random.default_rng(1)
    lim = sam_body.skeleton.limits
    angles = rng.uniform(lim[..., 0], lim[..., 1], size=(20, *lim.shape[:2]))
    np.testing.assert_allclose(matrices_to_angles(angles_to_matrices(angles)), angles, atol=1e-9)
    np.testing.assert_allclose(Pose.from_angles(angles).angles, angles, atol=1e-9)


def test_check_limits_raises_naming_joint_frame_and_angle(sam_body):
    sk = sam_body.skeleton
    angles = np.zeros((3, sk.n_joints, 3))
    j = _joint(sam_body, "tibia_l")
    angles[2, j, 1] = np.radians(30.0)  # knee lateral limit is +/- 5 degrees
    with pytest.raises(PoseError) as info:
        sk.check_limits(angles)
    message = str(info.value)
    assert "frame 2" in message and "'tibia_l'" in message and "lateral" in message and "30.00 deg" in message
    clamped = sk.check_limits(angles, mode="clamp")
    assert clamped[2, j, 1] == pytest.approx(np.radians(5.0))
    sk.check_limits(clamped)  # now inside
    np.testing.assert_array_equal(
        np.delete(clamped.reshape(-1), 2 * sk.n_joints * 3 + j * 3 + 1),
        np.delete(angles.reshape(-1), 2 * sk.n_joints * 3 + j * 3 + 1),
    )


# --- malformed skeletons ------------------------------------------------------------------------------------
def _skeleton_with_parents(parents: list[int]) -> Skeleton:
    n = len(parents)
    rest = np.stack([_translation(i, 0, 0) for i in range(n)])
    return Skeleton(tuple(f"j{i}" for i in range(n)), np.array(parents), rest, ("spine",) * n, np.zeros((n, 3, 2)))


@pytest.mark.parametrize(
    ("parents", "needle"),
    [
        ([-1, 2, 1], "cycle"),  # 1 -> 2 -> 1
        ([-1, 1, 0], "cycle"),  # its own parent
        ([1, 2, 0], "exactly one root"),  # no root at all (a loop)
        ([-1, -1, 1], "exactly one root"),  # two roots
        ([-1, 0, 7], "allowed is -1 (root) or 0..2"),  # out of range
    ],
)
def test_malformed_skeletons_raise_model_format_error(parents, needle):
    with pytest.raises(ModelFormatError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        _skeleton_with_parents(parents)


def test_mismatched_weights_raise_model_format_error():
    with pytest.raises(ModelFormatError, match="weights have 2 rows for 3 vertices"):
        SkinnedMesh(np.zeros((3, 3), np.float32), np.array([[0, 1, 2]], np.int32), sp.csr_matrix(np.ones((2, 1))))
