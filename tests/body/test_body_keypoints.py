"""Keypoint sets: the built-in sets on SAM (and the parametric mouse when present) and user keypoint files.

Geometric references come from trimesh (ray casting, nearest surface point, plane sections) on the rest and
posed meshes, not from the code under test.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import trimesh
import yaml

from synthmouse.body import Pose
from synthmouse.body.keypoint_sets import builtin_set_names, load_user_keypoints, resolve_keypoint_set
from synthmouse.errors import KeypointError

SUPERANIMAL_TOPVIEWMOUSE = (  # DeepLabCut modelzoo/project_configs/superanimal_topviewmouse.yaml, in order
    "nose",
    "left_ear",
    "right_ear",
    "left_ear_tip",
    "right_ear_tip",
    "left_eye",
    "right_eye",
    "neck",
    "mid_back",
    "mouse_center",
    "mid_backend",
    "mid_backend2",
    "mid_backend3",
    "tail_base",
    "tail1",
    "tail2",
    "tail3",
    "tail4",
    "tail5",
    "left_shoulder",
    "left_midside",
    "left_hip",
    "right_shoulder",
    "right_midside",
    "right_hip",
    "tail_end",
    "head_midpoint",
)


def _rest(body, kset) -> dict[str, np.ndarray]:
    kset = body.keypoint_set(kset)
    return dict(zip(kset.names, body.keypoints(body.rest_pose(), kset)[0], strict=True))


def _mesh(body, vertices=None) -> trimesh.Trimesh:
    v = body.mesh.vertices if vertices is None else vertices
    return trimesh.Trimesh(np.asarray(v, dtype=np.float64), body.mesh.faces, process=False)


def _landmark(body, name) -> np.ndarray:
    from synthmouse.body import KeypointSet

    return body.keypoints(body.rest_pose(), KeypointSet("l", (body.landmarks[name],)))[0, 0]


# --- built-in sets ------------------------------------------------------------------------------------------
def test_builtin_set_names():
    assert builtin_set_names() == ("mouse22", "dlc-topview", "superanimal-topview", "side-limbs")


@pytest.mark.parametrize("name", ["mouse22", "dlc-topview", "superanimal-topview", "side-limbs"])
def test_builtin_sets_resolve_on_sam(sam_body, name):
    kset = sam_body.keypoint_set(name)
    assert sam_body.keypoint_set(name) is kset  # resolved once per body
    pts = sam_body.keypoints(sam_body.rest_pose(), kset)[0]
    assert np.isfinite(pts).all()
    # every keypoint lies on or inside the animal's bounding box (metres), none at the origin by accident
    lo, hi = sam_body.mesh.vertices.min(axis=0) - 1e-3, sam_body.mesh.vertices.max(axis=0) + 1e-3
    assert np.all((pts >= lo) & (pts <= hi))
    assert len(set(map(tuple, np.round(pts, 6)))) == len(kset)  # all distinct
    edges = kset.edge_indices
    assert edges.shape[1] == 2 and len(edges) >= len(kset) - 1


def test_parametric_mouse_resolves_builtin_sets():
    if importlib.util.find_spec("synthmouse.body.parametric") is None:
        pytest.skip("synthmouse.body.parametric is not there yet")
    from synthmouse.body.parametric import build_parametric_mouse

    body = build_parametric_mouse()
    for name in builtin_set_names():
        pts = body.keypoints(body.rest_pose(), name)[0]
        assert np.isfinite(pts).all(), name


def test_mouse22_order_and_dlc_topview_landmarks(sam_dir, sam_body):
    names = (sam_dir / "keypoint22_names.txt").read_text().split()
    assert sam_body.keypoint_set("mouse22").names == tuple(names)
    dlc = _rest(sam_body, "dlc-topview")
    assert tuple(dlc) == ("snout", "leftear", "rightear", "tailbase")
    np.testing.assert_allclose(dlc["snout"], _landmark(sam_body, "nose"))
    # Top-view labels lie on the skin straight above the (internal) skeleton landmarks, so a camera above sees them:
    # compare with the first upward hit of trimesh's own ray cast.
    import trimesh

    mesh = trimesh.Trimesh(sam_body.mesh.vertices, sam_body.mesh.faces, process=False)
    for keypoint, landmark in (("leftear", "left_ear_base"), ("rightear", "right_ear_base"), ("tailbase", "tail_root")):
        inside = _landmark(sam_body, landmark)
        hits, _, _ = mesh.ray.intersects_location([inside], [[0.0, 0.0, 1.0]])
        above = hits[hits[:, 2] > inside[2]]
        first = above[np.argmin(above[:, 2])]
        np.testing.assert_allclose(dlc[keypoint], first, atol=2e-4)
    assert dlc["leftear"][1] > 0 > dlc["rightear"][1]


def test_superanimal_topview_keypoints(sam_body):
    kps = _rest(sam_body, "superanimal-topview")
    assert tuple(kps) == SUPERANIMAL_TOPVIEWMOUSE
    mesh = _mesh(sam_body)
    # Dorsal midline points: where a vertical ray leaves the skin for the last time.
    dorsal = [
        "head_midpoint",
        "neck",
        "mid_back",
        "mouse_center",
        "mid_backend",
        "mid_backend2",
        "mid_backend3",
    ]
    for name in dorsal:
        p = kps[name]
        hits, _, _ = mesh.ray.intersects_location([[p[0], p[1], 0.0]], [[0.0, 0.0, 1.0]], multiple_hits=True)
        assert abs(p[2] - hits[:, 2].max()) < 1e-6, name
    xs = [kps[n][0] for n in dorsal[1:]] + [kps["tail_base"][0]]
    assert xs == sorted(xs, reverse=True)  # neck to tail base, front to back
    # Tail points: ordered along the tail, evenly spaced along its bones.
    tail = np.array([kps[n] for n in ("tail_base", "tail1", "tail2", "tail3", "tail4", "tail5", "tail_end")])
    steps = np.linalg.norm(np.diff(tail, axis=0), axis=1)
    assert np.all(np.diff(tail[:, 0]) < 0)
    assert steps.max() / steps.min() < 1.15  # even arc-length spacing, the chord of a curved tail slightly less
    # Flanks: the trunk's outline in the cross-section through the midline point, left positive y.
    for side, sign in (("left", 1), ("right", -1)):
        for flank, mid in (("shoulder", "mid_back"), ("midside", "mouse_center"), ("hip", "mid_backend3")):
            p = kps[f"{side}_{flank}"]
            assert abs(p[0] - kps[mid][0]) < 1e-6 and sign * p[1] > 0.01
            assert mesh.nearest.on_surface([p])[1][0] < 1e-6
    np.testing.assert_allclose(kps["left_midside"] * [1, -1, 1], kps["right_midside"], atol=2e-3)  # ~symmetric


def test_flank_is_the_widest_point_of_the_trunk_section(sam_body):
    kps = _rest(sam_body, "superanimal-topview")
    groups = np.array(sam_body.skeleton.groups)[sam_body.mesh.dominant_joint()]
    trunk = {
        "root",
        "pelvis",
        "spine",
        "neck",
        "fixed",
        "scapula_l",
        "scapula_r",
        "shoulder_l",
        "shoulder_r",
        "hip_l",
        "hip_r",
    }
    keep = np.isin(groups, list(trunk))[sam_body.mesh.faces].all(axis=1)
    sub = trimesh.Trimesh(sam_body.mesh.vertices.astype(float), sam_body.mesh.faces[keep], process=False)
    p = kps["left_midside"]
    segments = trimesh.intersections.mesh_plane(sub, plane_normal=[1, 0, 0], plane_origin=p)
    assert abs(segments[..., 1].max() - p[1]) < 1e-6


def test_side_limbs_uses_anatomical_joint_centres(sam_body):
    kps = _rest(sam_body, "side-limbs")
    sk = sam_body.skeleton
    for name, joint in (
        ("left_knee", "tibia_l"),
        ("left_hip", "femur_l"),
        ("right_ankle", "hind_paw_r"),
        ("left_elbow", "ulna_l"),
        ("right_wrist", "fore_paw_r"),
        ("left_shoulder", "humerus_l"),
    ):
        np.testing.assert_allclose(kps[name], sk.rest[sk.index(joint), :3, 3], atol=1e-12)
    assert len(kps) == 22 and {"nose", "ear", "eye", "tail_base", "tail_middle", "tail_tip"} <= set(kps)


def test_unknown_set_names_the_allowed_sets(sam_body):
    with pytest.raises(KeypointError, match="unknown keypoint set 'mouse23'; allowed: mouse22, dlc-topview"):
        resolve_keypoint_set("mouse23", sam_body)


# --- user keypoint files ------------------------------------------------------------------------------------
USER_FILE = {
    "name": "lab-points",
    "keypoints": {
        "snout_pair": {"vertices": [13492, 13337], "weights": [3.0, 1.0]},
        "withers": {"joint": "thoracic_vertebrae_0", "offset": [0.002, 0.0, 0.004]},
        "left_cheek": {"nearest_surface": [0.055, 0.012, 0.012]},
        "snout": "nose",
    },
    "edges": [["snout", "withers"], ["snout_pair", "left_cheek"]],
}


def test_user_file_with_all_keypoint_kinds(sam_body, tmp_path):
    path = tmp_path / "points.yaml"
    path.write_text(yaml.safe_dump(USER_FILE, sort_keys=False))
    kset = load_user_keypoints(path, sam_body)
    assert kset.name == "lab-points" and kset.names == ("snout_pair", "withers", "left_cheek", "snout")
    assert kset.edges == (("snout", "withers"), ("snout_pair", "left_cheek"))
    assert sam_body.keypoint_set(str(path)).names == kset.names  # a .yaml path works as a set name

    rng = np.random.default_rng(5)
    lim = sam_body.skeleton.limits
    pose = Pose.from_angles(rng.uniform(lim[..., 0], lim[..., 1], size=(2, *lim.shape[:2])), [[0.1, 0, 0]] * 2)
    got = sam_body.keypoints(pose, kset)
    posed = sam_body.skin(pose).astype(np.float64)
    world = sam_body.world_frames(pose)
    np.testing.assert_allclose(got[:, 0], 0.75 * posed[:, 13492] + 0.25 * posed[:, 13337], atol=2e-6)
    frame = world[:, sam_body.skeleton.index("thoracic_vertebrae_0")]
    np.testing.assert_allclose(got[:, 1], (frame @ np.array([0.002, 0.0, 0.004, 1.0]))[:, :3], atol=1e-12)
    np.testing.assert_allclose(got[:, 3], sam_body.keypoints(pose, "mouse22")[:, 2], atol=1e-12)  # the nose


def test_nearest_surface_keypoint_is_the_closest_rest_surface_point(sam_body):
    kset = load_user_keypoints(USER_FILE, sam_body)
    rest = sam_body.keypoints(sam_body.rest_pose(), kset)[0, 2]
    closest, distance, _ = trimesh.proximity.closest_point(_mesh(sam_body), [[0.055, 0.012, 0.012]])
    np.testing.assert_allclose(rest, closest[0], atol=1e-6)
    assert distance[0] < 0.05


def test_nearest_surface_keypoint_follows_the_skin(sam_body):
    spec = {"keypoints": {"forearm_skin": {"nearest_surface": [0.035, 0.02, 0.01]}}}
    kset = load_user_keypoints(spec, sam_body)
    sk = sam_body.skeleton
    angles = np.zeros((1, sk.n_joints, 3))
    angles[0, sk.index("humerus_l")] = np.radians([50.0, 20.0, 0.0])
    pose = Pose.from_angles(angles)
    rest = sam_body.keypoints(sam_body.rest_pose(), kset)[0, 0]
    posed_kp = sam_body.keypoints(pose, kset)[0, 0]
    assert np.linalg.norm(posed_kp - rest) > 0.002  # it moved with the limb
    posed_mesh = _mesh(sam_body, sam_body.skin(pose)[0])
    assert posed_mesh.nearest.on_surface([posed_kp])[1][0] < 1e-6  # and is still on the (posed) skin


@pytest.mark.parametrize(
    ("keypoints", "needle"),
    [
        (
            {"a": {"vertices": [1, 99999]}},
            "keypoint 'a', field 'vertices': vertex id 99999 is out of range; allowed: 0..15163",
        ),
        ({"a": {"vertices": [1, 2], "weights": [1.0]}}, "keypoint 'a', field 'weights'"),
        ({"a": {"vertices": [1, 2], "weights": [1.0, -2.0]}}, "has a negative entry"),
        (
            {"a": {"joint": "femur_x"}},
            "field 'joint': body 'sam' has no joint 'femur_x' (did you mean femur_",
        ),
        (
            {"a": {"joint": "femur_l", "offset": [0, 0, 4]}},
            "field 'offset': [0.0, 0.0, 4.0] is larger than 0.5 m",
        ),
        ({"a": {"joint": "femur_l", "offset": [0, 0]}}, "field 'offset': [0, 0] is not a 3-vector"),
        ({"a": {"nearest_surface": [1.0, 0.0, 0.0]}}, "from the body's surface"),
        (
            {"a": {"joint": "femur_l", "colour": "red"}},
            "keypoint 'a', field 'colour': not a field of a 'joint' spec",
        ),
        ({"a": {"size": 3}}, "needs exactly one of landmark, vertices, joint, nearest_surface"),
        ({"a": "left_earr"}, "has no landmark 'left_earr' (did you mean left_ear"),
        (
            {"a": {"chain": "tail", "at": 1.5}},
            "field 'at': 1.5 is not a fraction; allowed: a number in [0, 1]",
        ),
    ],
)
def test_user_file_errors_name_file_keypoint_field_and_value(sam_body, tmp_path, keypoints, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"keypoints": keypoints}))
    with pytest.raises(KeypointError) as info:
        load_user_keypoints(path, sam_body)
    assert str(path) in str(info.value)
    assert needle in str(info.value)


def test_user_file_structure_errors(sam_body, tmp_path):
    with pytest.raises(KeypointError, match="keypoint file not found"):
        load_user_keypoints(tmp_path / "missing.yaml", sam_body)
    bad = tmp_path / "bad.yaml"
    bad.write_text("keypoints: [unclosed")
    with pytest.raises(KeypointError, match="not valid YAML"):
        load_user_keypoints(bad, sam_body)
    with pytest.raises(KeypointError, match=r"edges\[0\] = \['a', 'zz'\] names 'zz', which is not a keypoint"):
        load_user_keypoints({"keypoints": {"a": "nose"}, "edges": [["a", "zz"]]}, sam_body)
    with pytest.raises(KeypointError, match="unknown field"):
        load_user_keypoints({"keypoints": {"a": "nose"}, "skeleton": []}, sam_body)
    with pytest.raises(KeypointError, match="'keypoints' must be a non-empty mapping"):
        load_user_keypoints({"keypoints": []}, sam_body)


def test_derived_specs_in_user_files(sam_body):
    spec = {
        "keypoints": {
            "mid_tail": {"chain": "tail", "from": "tail_root", "at": 0.5},
            "mid_spine": {"between": ["neck", "tail_root"], "at": 0.5, "groups": ["spine"]},
            "top": {"surface_ray": {"from": "head_centre", "direction": [0, 0, 1]}},
        }
    }
    kset = load_user_keypoints(spec, sam_body)
    kps = sam_body.keypoints(sam_body.rest_pose(), kset)[0]
    assert kset.keypoints[0].joint.startswith("tail_")
    assert sam_body.skeleton.groups[sam_body.skeleton.index(kset.keypoints[1].joint)] == "spine"
    np.testing.assert_allclose(
        kps[1], 0.5 * (_landmark(sam_body, "neck") + _landmark(sam_body, "tail_root")), atol=1e-12
    )
    assert kps[2][2] > _landmark(sam_body, "head_centre")[2]
