"""The built-in parametric mouse: a closed, intersection-free, skinned mesh with every group and landmark,
whose shape parameters do what they say, at the defaults and at the corners of their randomization ranges."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
import trimesh

from synthmouse.body import load_body
from synthmouse.body.groups import GROUPS, PARTS
from synthmouse.body.keypoints import KeypointSet
from synthmouse.body.mesh import validate_weights
from synthmouse.body.parametric import (
    MouseShape,
    build_canonical_mouse,
    build_parametric_mouse,
    canonical_mouse,
    eye_mask,
    sample_shape,
    trunk_width,
)
from synthmouse.body.parametric_check import is_closed_manifold, self_intersections
from synthmouse.body.pose import Pose
from synthmouse.body.tongue import without_tongue
from synthmouse.errors import ModelFormatError

VOCABULARY = (
    (
        "left_ear_tip right_ear_tip nose neck body_middle tail_root tail_middle tail_end "
        "left_paw left_paw_end left_elbow left_shoulder right_paw right_paw_end right_elbow right_shoulder "
        "left_foot left_knee left_hip right_foot right_knee right_hip "
        "left_eye right_eye left_ear_base right_ear_base head_centre back_shoulders back_middle back_rump"
    ).split()
    + [
        f"{side}_{paw}_digit{d}_tip"
        for side in ("left", "right")
        for paw in ("forepaw", "hindpaw")
        for d in range(1, 6)
    ]
    + [
        f"{side}_{j}_joint"
        for side in ("left", "right")
        for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
    ]
)
EXTREMES = MouseShape.extremes()


def landmarks(body, names=None) -> dict[str, np.ndarray]:
    """Rest-pose landmark positions (metres)."""
    names = list(body.landmarks) if names is None else list(names)
    pts = body.keypoints(body.rest_pose(), KeypointSet("all", tuple(body.landmarks[n] for n in names)))[0]
    return dict(zip(names, pts, strict=True))


def tmesh(body, vertices=None) -> trimesh.Trimesh:
    v = body.mesh.vertices if vertices is None else vertices
    return trimesh.Trimesh(np.asarray(v, dtype=np.float64), body.mesh.faces, process=False)


# --- the self-intersection check itself
# ------------------------------------------------------------------------------------------------------------


def test_self_intersection_check_finds_crossings_and_passes_clean_meshes():
    sphere = trimesh.creation.icosphere(subdivisions=3)
    assert len(self_intersections(sphere.vertices, sphere.faces)) == 0
    # Two overlapping closed spheres in one mesh: closed and manifold, but the surfaces cross.
    other = sphere.vertices + [0.6, 0.0, 0.0]
    both_v = np.vstack([sphere.vertices, other])
    both_f = np.vstack([sphere.faces, sphere.faces + len(sphere.vertices)])
    assert is_closed_manifold(both_f)
    hits = self_intersections(both_v, both_f)
    assert len(hits) > 0
    assert np.all(hits[:, 0] < len(sphere.faces)) and np.all(hits[:, 1] >= len(sphere.faces))
    # One vertex pushed through the opposite side: its fan pierces the far wall.
    spike = sphere.vertices.copy()
    tip = int(np.argmax(spike[:, 0]))
    spike[tip] = (-1.4, 0.01, 0.02)
    assert len(self_intersections(spike, sphere.faces)) > 0
    # A thin fold: pushing a vertex a little inwards is still clean (no false alarm on a dent).
    dent = sphere.vertices.copy()
    dent[tip] *= 0.8
    assert len(self_intersections(dent, sphere.faces)) == 0


def test_closed_manifold_check_rejects_holes_and_flipped_faces():
    sphere = trimesh.creation.icosphere(subdivisions=2)
    assert is_closed_manifold(sphere.faces)
    assert not is_closed_manifold(sphere.faces[1:])
    flipped = sphere.faces.copy()
    flipped[0] = flipped[0, ::-1]
    assert not is_closed_manifold(flipped)


# --- the default mouse
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parametric_body(parametric_body):
    """The parametric mouse's skin: these tests are about the implicit surface; the separate tongue mesh has its
    own tests (test_body_tongue.py)."""
    return without_tongue(parametric_body)


def _skin_only_mouse(*args, **kwargs):
    return without_tongue(build_parametric_mouse(*args, **kwargs))


def test_default_mesh_is_closed_oriented_single_and_mouse_sized(parametric_body):
    body = parametric_body
    mesh = tmesh(body)
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert is_closed_manifold(body.mesh.faces)
    assert mesh.volume > 0
    assert mesh.body_count == 1
    assert 8_000 <= body.mesh.n_vertices <= 15_000
    assert body.mesh.vertices.dtype == np.float32 and body.mesh.faces.dtype == np.int32
    # Volume of an adult mouse's furred outline (25-30 g at ~1 g/cm^3, plus the fur): 20-40 cm^3.
    assert 20e-6 < mesh.volume < 40e-6
    lo, hi = body.mesh.vertices.min(axis=0), body.mesh.vertices.max(axis=0)
    assert abs(lo[2]) < 1e-6  # resting on the floor
    assert 0.028 < hi[2] < 0.040  # back and ears 3-4 cm high
    assert 0.17 < hi[0] - lo[0] < 0.19  # nose tip to tail tip: 95 + 85 mm


def test_default_mesh_has_no_self_intersections(parametric_body):
    assert len(self_intersections(parametric_body.mesh.vertices, parametric_body.mesh.faces)) == 0


def test_skeleton_has_every_group_and_readable_names(parametric_body):
    sk = parametric_body.skeleton
    assert set(sk.groups) == set(GROUPS)
    assert len(sk.joints_in_group("spine")) >= 3
    assert len(sk.joints_in_group("tail")) >= 10
    for name in (
        "root",
        "pelvis",
        "spine_0",
        "neck",
        "head",
        "jaw",
        "femur_l",
        "tibia_r",
        "humerus_l",
        "tail_0",
    ):
        sk.index(name)
    # Leaf joints are fixed; the root is at the origin, on the floor under the pelvis.
    leaves = [j for j in range(sk.n_joints) if not np.any(sk.parents == j)]
    assert all(sk.groups[j] in ("fixed", "tongue", "jaw") for j in leaves)  # (the tongue hangs from the head)
    rest = sk.rest[:, :3, 3]
    np.testing.assert_allclose(rest[sk.root], 0.0)
    pelvis = rest[sk.index("pelvis")]
    assert abs(pelvis[0]) < 1e-9 and abs(pelvis[1]) < 1e-9 and pelvis[2] > 0.01
    # Rest frames are rigid.
    rot = sk.rest[:, :3, :3]
    np.testing.assert_allclose(rot @ np.swapaxes(rot, 1, 2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-9)


def test_skinning_weights_are_valid_sparse_and_smooth(parametric_body):
    body = parametric_body
    w = body.mesh.weights
    assert sp.issparse(w) and w.shape == (body.mesh.n_vertices, body.skeleton.n_joints)
    validate_weights(w)
    np.testing.assert_allclose(np.asarray(w.sum(axis=1)).ravel(), 1.0, atol=1e-6)
    assert w.data.min() >= 0 and np.diff(w.indptr).max() <= 4
    sk = body.skeleton
    dense = w.toarray()
    # Smooth falloff: some vertices blend the upper and lower bone at the elbow, knee and along the spine.
    for parent, child in (
        ("humerus_l", "ulna_l"),
        ("femur_r", "tibia_r"),
        ("spine_1", "spine_2"),
        ("tail_4", "tail_5"),
    ):
        a, b = dense[:, sk.index(parent)], dense[:, sk.index(child)]
        assert np.any((a > 0.25) & (b > 0.25)), (parent, child)
    # The ear moves with the ear bone (and the head at its base) only.
    mouse = canonical_mouse()
    ear = mouse.region == "ear_l"
    allowed = {sk.index(n) for n in ("ear_l", "head", "neck")}
    assert set(np.flatnonzero(dense[ear].sum(axis=0) > 0)) <= allowed
    tip = body.landmarks["left_ear_tip"].vertices
    assert np.all(dense[list(tip), sk.index("ear_l")] > 0.99)
    # Fixed leaf joints carry no skin.
    for j in sk.joints_in_group("fixed"):
        if not np.any(sk.parents == j):
            assert dense[:, j].max() == 0.0, sk.names[j]


def test_every_landmark_resolves_and_sits_where_it_should(parametric_body):
    body = parametric_body
    assert set(VOCABULARY) <= set(body.landmarks)
    pts = landmarks(body)
    assert all(np.isfinite(p).all() for p in pts.values())
    mm = {k: v * 1000 for k, v in pts.items()}
    verts = body.mesh.vertices * 1000
    # The nose is the front-most point, the tail end the rear-most, both on the midline.
    assert mm["nose"][0] == pytest.approx(verts[:, 0].max(), abs=0.3) and abs(mm["nose"][1]) < 0.3
    assert mm["tail_end"][0] == pytest.approx(verts[:, 0].min(), abs=0.3) and abs(mm["tail_end"][1]) < 0.3
    # Left is +y; eyes between ears and nose; ear tips above and behind the ear bases.
    for side, sign in (("left", 1), ("right", -1)):
        assert sign * mm[f"{side}_eye"][1] > 3 and sign * mm[f"{side}_ear_tip"][1] > sign * mm[f"{side}_ear_base"][1]
        assert mm[f"{side}_ear_base"][0] < mm[f"{side}_eye"][0] < mm["nose"][0]
        assert mm[f"{side}_ear_tip"][2] > mm[f"{side}_ear_base"][2] + 5
        # MAMMAL semantics: "hip" at the knee joint, "knee" at the ankle joint, "foot" on the hind digits.
        np.testing.assert_allclose(mm[f"{side}_hip"], mm[f"{side}_knee_joint"])
        np.testing.assert_allclose(mm[f"{side}_knee"], mm[f"{side}_ankle_joint"])
        np.testing.assert_allclose(mm[f"{side}_paw_end"], mm[f"{side}_wrist_joint"])
        assert mm[f"{side}_foot"][0] > mm[f"{side}_ankle_joint"][0] and mm[f"{side}_foot"][2] < 1.5
        for paw in ("forepaw", "hindpaw"):
            tips = np.array([mm[f"{side}_{paw}_digit{d}_tip"] for d in range(1, 6)])
            assert np.all(tips[:, 2] < 1.0)  # on the floor
            assert np.all(sign * tips[:, 1] > 5)
            assert sign * tips[0, 1] < sign * tips[4, 1]  # digit 1 is medial
    # Dorsal landmarks lie on the back, in order from the rump to the shoulders; the skull centre is inside.
    assert mm["back_rump"][0] < mm["back_middle"][0] < mm["back_shoulders"][0] < mm["neck"][0]
    for name in ("back_rump", "back_middle", "back_shoulders", "body_middle"):
        assert mm[name][2] > 25
    mesh = tmesh(body)
    assert mesh.contains([pts["head_centre"], pts["neck"], pts["tail_root"]]).all()


def test_landmarks_agree_with_sam(parametric_body, sam_body):
    """Axial landmarks relative to the nose-to-tail-root axis match SAM's within 8% of the body length (SAM's
    rest pose lowers its head and splays its limbs, so limb landmarks are not compared)."""

    def relative(body):
        pts = landmarks(body)
        nose, root = pts["nose"], pts["tail_root"]
        length = np.linalg.norm(nose - root)
        axis = (nose - root) / length
        return {k: ((v - root) @ axis / length, abs(v[1]) / length) for k, v in pts.items()}

    ours, sam = relative(parametric_body), relative(sam_body)
    for name in (
        "neck",
        "head_centre",
        "left_eye",
        "right_eye",
        "left_ear_base",
        "right_ear_base",
        "body_middle",
        "back_middle",
        "back_shoulders",
        "back_rump",
        "left_hip_joint",
        "left_shoulder_joint",
    ):
        assert ours[name][0] == pytest.approx(sam[name][0], abs=0.08), name
        assert ours[name][1] == pytest.approx(sam[name][1], abs=0.06), name


def test_posing_with_random_in_limit_angles(parametric_body):
    body = parametric_body
    sk = body.skeleton
    rng = np.random.default_rng(7)
    lo, hi = sk.limits[..., 0], sk.limits[..., 1]
    angles = rng.uniform(lo, hi, size=(6, sk.n_joints, 3))
    pose = Pose.from_angles(angles, rng.normal(0, 0.05, (6, 3)), np.broadcast_to(np.eye(3), (6, 3, 3)))
    verts = body.skin(pose)
    assert verts.shape == (6, body.mesh.n_vertices, 3) and np.isfinite(verts).all()
    world = body.world_frames(pose)
    rest_lengths = sk.bone_lengths(sk.rest[None])[0]
    np.testing.assert_allclose(sk.bone_lengths(world), np.broadcast_to(rest_lengths, (6, sk.n_joints)), atol=1e-9)
    # A rigidly moved rest pose moves every vertex rigidly.
    rest = body.skin(body.rest_pose())[0]
    np.testing.assert_allclose(rest, body.mesh.vertices, atol=1e-6)
    kps = body.keypoints(pose, "mouse22")
    assert np.isfinite(kps).all()


def test_vertex_parts_and_eye_mask(parametric_body):
    body = parametric_body
    parts = body.vertex_parts()
    assert set(parts.tolist()) == set(range(1, len(PARTS)))
    eye = eye_mask(body)
    assert 20 < eye.sum() < 500
    verts = body.mesh.vertices
    pts = landmarks(body, ["left_eye", "right_eye"])
    for side, sign in (("left_eye", 1), ("right_eye", -1)):
        ids = np.flatnonzero(eye & (np.sign(verts[:, 1]) == sign))
        assert len(ids) > 10
        assert np.linalg.norm(verts[ids].mean(axis=0) - pts[side]) < 0.0015
    sam_like = _skin_only_mouse(body_length=0.09)
    np.testing.assert_array_equal(eye_mask(sam_like), eye)


# --- shape parameters
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", EXTREMES, ids=["all-low", "all-high", "mixed-a", "mixed-b"])
def test_extreme_shapes_stay_closed_and_intersection_free(shape):
    body = _skin_only_mouse(shape)
    mesh = tmesh(body)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert len(self_intersections(body.mesh.vertices, body.mesh.faces)) == 0
    # Paws on the floor, nothing below it, the belly clear of it.
    mouse = canonical_mouse()
    v = body.mesh.vertices
    assert v[:, 2].min() == pytest.approx(0.0, abs=1e-6)
    for region in ("forelimb_l", "forelimb_r", "hindlimb_l", "hindlimb_r"):
        assert v[mouse.region == region, 2].min() < 2e-4, region
    trunk = mouse.region == "trunk"
    assert v[trunk, 2].min() > 0.002


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shape_parameters_are_met(seed):
    shape = sample_shape(np.random.default_rng(seed))
    body = _skin_only_mouse(shape)
    mouse = canonical_mouse()
    pts = landmarks(body)
    # Body length: nose to tail root within 2% (by construction: exact).
    assert body.length == pytest.approx(shape.body_length, rel=0.02)
    assert np.linalg.norm(pts["nose"] - pts["tail_root"]) == pytest.approx(shape.body_length, rel=1e-6)
    # Girth: trunk width at mid-body, relative to the same mouse with the default girth.
    plain = _skin_only_mouse(dataclasses.replace(shape, girth_scale=1.0))
    width = trunk_width(mouse, body.mesh.vertices.astype(np.float64))
    assert width / trunk_width(mouse, plain.mesh.vertices.astype(np.float64)) == pytest.approx(
        shape.girth_scale, rel=0.02
    )
    # Tail length along the tail joints, from the root to the tip.
    sk = body.skeleton
    chain = [sk.index(f"tail_{k}") for k in range(len(sk.joints_in_group("tail")))] + [sk.index("tail_end")]
    rest = sk.rest[:, :3, 3]
    assert np.linalg.norm(np.diff(rest[chain], axis=0), axis=1).sum() == pytest.approx(shape.tail_length, rel=0.01)


def _ratio(body_a, body_b, a: str, b: str) -> float:
    pa, pb = landmarks(body_a, [a, b]), landmarks(body_b, [a, b])
    return float(np.linalg.norm(pa[a] - pa[b]) / np.linalg.norm(pb[a] - pb[b]))


def test_each_parameter_changes_its_own_part(parametric_body):
    """Head, ear and limb scales are relative to the rest of the body (the body length stays fixed, so the
    rest shrinks a little when the head grows): compare each part with another part of the same mouse (a
    shank, or the eyes' distance).
    """
    base = parametric_body

    def relative(body, a, b, ref=("left_knee_joint", "left_ankle_joint")):
        return _ratio(body, base, a, b) / _ratio(body, base, *ref)

    head = _skin_only_mouse(head_scale=1.1)
    assert relative(head, "left_eye", "right_eye") == pytest.approx(1.1, rel=0.02)
    assert relative(head, "nose", "head_centre") == pytest.approx(1.1, rel=0.02)
    assert head.length == pytest.approx(base.length, rel=1e-6)
    ears = _skin_only_mouse(ear_scale=1.2)
    assert _ratio(ears, base, "left_ear_base", "left_ear_tip") == pytest.approx(1.2, rel=0.02)
    assert _ratio(ears, base, "left_eye", "right_eye") == pytest.approx(1.0, abs=1e-6)
    limbs = _skin_only_mouse(limb_scale=0.9)
    eyes = ("left_eye", "right_eye")
    assert relative(limbs, "left_knee_joint", "left_ankle_joint", eyes) == pytest.approx(0.9, rel=0.02)
    assert relative(limbs, "left_elbow_joint", "left_wrist_joint", eyes) == pytest.approx(0.9, rel=0.02)
    assert relative(limbs, "left_hindpaw_digit3_tip", "left_ankle_joint", eyes) == pytest.approx(0.9, rel=0.02)
    # Tail thickness: the tail's diameter 20 mm from its root scales with the parameter.
    thick = _skin_only_mouse(tail_thickness_scale=1.15)

    def diameter(body):
        mouse = canonical_mouse()
        s = body.skeleton
        j = s.index("tail_3")
        centre, axis = s.rest[j, :3, 3], s.rest[j, :3, 0]
        v = body.mesh.vertices.astype(np.float64)
        ring = (mouse.region == "tail") & (np.abs((v - centre) @ axis) < 3e-4)
        return 2 * np.median(np.linalg.norm(np.cross(v[ring] - centre, axis), axis=1))

    assert diameter(thick) / diameter(base) == pytest.approx(1.15, rel=0.04)
    assert 0.0025 < diameter(base) < 0.0032  # a C57BL/6 tail 20 mm from its root
    # The default trunk is 2.5-3 cm wide.
    assert 0.025 < trunk_width(canonical_mouse(), base.mesh.vertices.astype(np.float64)) < 0.030


def test_sample_shape_is_seeded_and_in_range():
    a = sample_shape(np.random.default_rng(3))
    assert a == sample_shape(np.random.default_rng(3))
    assert a != sample_shape(np.random.default_rng(4))
    draws = [sample_shape(np.random.default_rng(s)) for s in range(50)]
    for name, (lo, hi) in MouseShape.RANGES.items():
        values = np.array([getattr(d, name) for d in draws])
        assert values.min() >= lo and values.max() <= hi
        assert values.max() - values.min() > 0.5 * (hi - lo)  # spread over the range
        assert lo <= getattr(MouseShape(), name) <= hi


def test_bad_shape_parameters_are_rejected():
    with pytest.raises(ModelFormatError, match="girth_scale"):
        MouseShape(girth_scale=1.5)
    with pytest.raises(ModelFormatError, match="body_length"):
        MouseShape(body_length=float("nan"))
    with pytest.raises(ModelFormatError, match="tail_colour"):
        _skin_only_mouse(tail_colour=1.0)
    with pytest.raises(ModelFormatError, match="not both"):
        _skin_only_mouse(MouseShape(), body_length=0.09)


def test_same_parameters_give_identical_meshes():
    shape = sample_shape(np.random.default_rng(11))
    a, b = _skin_only_mouse(shape), _skin_only_mouse(**shape.as_dict())
    np.testing.assert_array_equal(a.mesh.vertices, b.mesh.vertices)
    np.testing.assert_array_equal(a.skeleton.rest, b.skeleton.rest)
    assert a.landmarks == b.landmarks
    # Rebuilding the canonical mesh from scratch gives the same mesh, weights and landmarks bit for bit (also
    # when the cached one came from the disk cache).
    fresh = build_canonical_mouse()
    cached = canonical_mouse()
    assert_same_canonical(fresh, cached)


def assert_same_canonical(a, b) -> None:
    for field in ("vertices", "faces", "positions", "parents", "eye"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert (a.weights != b.weights).nnz == 0 and a.weights.shape == b.weights.shape
    assert a.names == b.names and a.groups == b.groups and a.landmarks == b.landmarks
    assert list(a.region) == list(b.region) and (a.girth, a.length) == (b.girth, b.length)


def test_disk_cache_round_trips_and_is_keyed_by_code(tmp_path, monkeypatch):
    from synthmouse.body import parametric

    monkeypatch.setenv("SYNTHMOUSE_CACHE_DIR", str(tmp_path))
    path = parametric._disk_cache_path(0.25, parametric.TARGET_FACES)
    assert path.parent == tmp_path / "parametric"
    assert path != parametric._disk_cache_path(0.3, parametric.TARGET_FACES)
    mouse = canonical_mouse()
    parametric._save_canonical(mouse, path)
    assert_same_canonical(parametric._load_canonical(path), mouse)
    monkeypatch.setenv("SYNTHMOUSE_PARAMETRIC_CACHE", "0")
    assert parametric._disk_cache_path(0.25, parametric.TARGET_FACES) is None


def test_load_body_builds_the_parametric_mouse():
    body = load_body("parametric", body_length=0.09)
    assert body.name == "parametric"
    assert body.length == pytest.approx(0.09, rel=1e-6)
    # ``length`` (what every loader takes) is the body length; it may leave the randomization range.
    big = load_body("parametric", length=0.12, head_scale=1.05)
    assert big.length == pytest.approx(0.12, rel=1e-6)
    with pytest.raises(ModelFormatError, match="not both"):
        load_body("parametric", length=0.09, body_length=0.09)
    with pytest.raises(ModelFormatError, match="body_length"):
        load_body("parametric", length=0.5)


@pytest.mark.slow
def test_every_corner_of_the_ranges_is_intersection_free_and_grounded():
    """All 2^7 corners of the randomization box (about 2 minutes)."""
    import itertools

    mouse = canonical_mouse()
    names = list(MouseShape.RANGES)
    for bits in itertools.product((0, 1), repeat=len(names)):
        shape = MouseShape(**{n: MouseShape.RANGES[n][b] for n, b in zip(names, bits, strict=True)})
        body = _skin_only_mouse(shape)
        v = body.mesh.vertices
        assert len(self_intersections(v, body.mesh.faces)) == 0, shape
        assert v[:, 2].min() > -1e-6, shape
        for region in ("forelimb_l", "forelimb_r", "hindlimb_l", "hindlimb_r"):
            assert v[mouse.region == region, 2].min() < 2e-4, (shape, region)
        assert v[mouse.region == "trunk", 2].min() > 0.002, shape
