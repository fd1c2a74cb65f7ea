"""glTF 2.0 skins: loading hand-built files, the glTF skinning equation, round trips, errors.

The references here are independent of synthmouse.body.gltf: files are built with pygltflib directly, and
the glTF skinning equation (jointMatrix = globalTransform(node) @ inverseBindMatrix,
v' = sum_j w_j jointMatrix_j v) is evaluated with plain numpy on the node graph.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pygltflib
import pytest
import scipy.sparse as sp
from scipy.spatial.transform import Rotation

from synthmouse.body import KeypointDef, KeypointSet, Pose
from synthmouse.body.gltf import load_gltf, read_gltf_pose, save_gltf
from synthmouse.body.limits import limits_for_groups
from synthmouse.body.mesh import SkinnedMesh
from synthmouse.body.model import Body
from synthmouse.body.skeleton import Skeleton, anatomical_frames
from synthmouse.errors import ModelFormatError, OutputError, PoseError

# glTF: +y up, front of the asset towards +z, so its left is +x. Body: x forward, y left, z up.
GLTF_TO_BODY = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


# --- plain-numpy glTF helpers (the reference) ---------------------------------------------------------------
def trs(translation=(0, 0, 0), rotation: Rotation | None = None) -> np.ndarray:
    m = np.eye(4)
    if rotation is not None:
        m[:3, :3] = rotation.as_matrix()
    m[:3, 3] = translation
    return m


def node_local(node: pygltflib.Node) -> np.ndarray:
    if node.matrix is not None:
        return np.array(node.matrix, dtype=float).reshape(4, 4).T
    m = np.eye(4)
    if node.rotation is not None:
        m[:3, :3] = Rotation.from_quat(node.rotation).as_matrix()
    if node.scale is not None:
        m[:3, :3] = m[:3, :3] * np.asarray(node.scale)[None, :]
    if node.translation is not None:
        m[:3, 3] = node.translation
    return m


def node_globals(doc: pygltflib.GLTF2) -> np.ndarray:
    """World matrix of every node, walking the hierarchy from the parentless nodes."""
    out = np.zeros((len(doc.nodes), 4, 4))
    is_child = {c for n in doc.nodes for c in (n.children or [])}
    stack = [(i, np.eye(4)) for i in range(len(doc.nodes)) if i not in is_child]
    while stack:
        i, parent = stack.pop()
        out[i] = parent @ node_local(doc.nodes[i])
        stack += [(c, out[i]) for c in doc.nodes[i].children or []]
    return out


def gltf_skin(points, joints, weights, joint_matrices) -> np.ndarray:
    """The spec's skinning: sum_k weights[:, k] * joint_matrices[joints[:, k]] applied to points (N, 3)."""
    homog = np.column_stack([points, np.ones(len(points))])
    out = np.zeros((len(points), 4))
    for k in range(joints.shape[1]):
        out += weights[:, k : k + 1] * np.einsum("nij,nj->ni", joint_matrices[joints[:, k]], homog)
    return out[:, :3]


def blob_of(doc: pygltflib.GLTF2) -> bytes:
    uri = doc.buffers[0].uri
    return doc.binary_blob() if uri is None else base64.b64decode(uri.split(",", 1)[1])


def read_accessor(doc: pygltflib.GLTF2, index: int) -> np.ndarray:
    """Tightly packed accessors only (what save_gltf writes)."""
    acc = doc.accessors[index]
    view = doc.bufferViews[acc.bufferView]
    dtype = {5121: "<u1", 5123: "<u2", 5125: "<u4", 5126: "<f4"}[acc.componentType]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc.type]
    assert view.byteStride is None
    data = np.frombuffer(
        blob_of(doc), dtype=dtype, count=acc.count * width, offset=(view.byteOffset or 0) + (acc.byteOffset or 0)
    )
    return data.reshape(acc.count, width).astype(np.float64)


# --- a hand-built three-joint glTF --------------------------------------------------------------------------
class Packer:
    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[pygltflib.BufferView] = []
        self.accessors: list[pygltflib.Accessor] = []

    def view(self, data: bytes, stride: int | None = None) -> int:
        self.blob += b"\0" * (-len(self.blob) % 4)
        self.views.append(
            pygltflib.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data), byteStride=stride)
        )
        self.blob += data
        return len(self.views) - 1

    def accessor(self, view: int, ctype: int, count: int, kind: str, offset: int = 0, **extra) -> int:
        self.accessors.append(
            pygltflib.Accessor(bufferView=view, byteOffset=offset, componentType=ctype, count=count, type=kind, **extra)
        )
        return len(self.accessors) - 1

    def array(self, arr: np.ndarray, ctype: int, kind: str, **extra) -> int:
        arr = np.ascontiguousarray(arr)
        return self.accessor(self.view(arr.tobytes()), ctype, arr.shape[0], kind, **extra)


# nodes: 0 Armature (not a joint) -> 1 spine -> 2 helper (not a joint) -> 3 neck -> 4 skull; 5 mesh under 0
NODES = [
    ("Armature", (0.1, 0.02, -0.05), Rotation.from_euler("y", 25, degrees=True), [1, 5]),
    ("spine", (0.0, 0.01, 0.0), Rotation.from_euler("x", 10, degrees=True), [2]),
    ("helper", (0.0, 0.0, 0.012), None, [3]),
    ("neck", (0.0, 0.002, 0.01), Rotation.from_euler("xz", [-15, 5], degrees=True), [4]),
    ("skull", (0.0, 0.0, 0.015), Rotation.from_euler("y", 7, degrees=True), []),
    ("MouseMesh", (0.0, 0.003, 0.0), None, []),
]
JOINT_NODES = [1, 3, 4]
MESH_NODE = 5


def three_joint_file(path, form: str = "glb", tamper: str | None = None, node_table=NODES) -> dict:
    """Write the hand-built skinned tube and return the arrays a reference needs.

    Primitive A: interleaved POSITION/TEXCOORD_0 (stride 20), float weights, uint16 indices. Primitive B:
    uint16 JOINTS_0, normalized-ubyte WEIGHTS_0 (exact sums), an all-zero JOINTS_1/WEIGHTS_1 set, uint8
    indices.
    """
    locals_ = np.stack([trs(t, r) for _, t, r, _ in node_table])
    world = np.zeros_like(locals_)
    world[0] = locals_[0]
    for i, (_, _, _, children) in enumerate(node_table):
        for c in children:
            world[c] = world[i] @ locals_[c]
    mesh_world = world[MESH_NODE]
    ibm = np.linalg.inv(world[JOINT_NODES]) @ mesh_world
    joints_mesh = (np.linalg.inv(mesh_world) @ world[JOINT_NODES])[:, :3, 3]

    rings, per_ring = 8, 6
    z = np.linspace(-0.004, 0.045, rings)
    angle = np.linspace(0, 2 * np.pi, per_ring, endpoint=False)
    pts = np.array([(0.006 * np.cos(a), 0.008 + 0.005 * np.sin(a), zz) for zz in z for a in angle])
    uv = np.array([(k / (rings - 1), a / (2 * np.pi)) for k in range(rings) for a in angle])
    d2 = ((pts[:, None, :] - joints_mesh[None]) ** 2).sum(-1)
    dense = np.exp(-d2 / 0.012**2)
    dense /= dense.sum(axis=1, keepdims=True)
    half = rings // 2 * per_ring
    q = np.floor(dense[half:] * 255).astype(int)  # prim B: quantized so every row sums to exactly 255
    q[np.arange(len(q)), q.argmax(axis=1)] += 255 - q.sum(axis=1)
    dense[half:] = q / 255.0
    if tamper == "weights":
        dense[:half] *= 0.5
    if tamper == "nan":
        pts[3, 1] = np.nan

    def ring_faces(first_ring: int, n_rings: int) -> np.ndarray:
        out = []
        for r in range(n_rings - 1):
            for a in range(per_ring):
                p0, p1 = r * per_ring + a, r * per_ring + (a + 1) % per_ring
                out += [(p0, p1, p1 + per_ring), (p0, p1 + per_ring, p0 + per_ring)]
        return np.array(out)

    pk = Packer()
    ia, ib = np.arange(half), np.arange(half, len(pts))
    inter = np.concatenate([pts[ia], uv[ia]], axis=1).astype("<f4")
    view = pk.view(inter.tobytes(), stride=20)
    joints_a = np.tile([0, 1, 2, 0], (half, 1)).astype("<u1")
    if tamper == "joint":
        joints_a[5, 1] = 7
    attrs_a = pygltflib.Attributes(
        POSITION=pk.accessor(
            view, 5126, half, "VEC3", min=np.nanmin(pts[ia], 0).tolist(), max=np.nanmax(pts[ia], 0).tolist()
        ),
        TEXCOORD_0=pk.accessor(view, 5126, half, "VEC2", offset=12),
        JOINTS_0=pk.array(joints_a, 5121, "VEC4"),
        WEIGHTS_0=pk.array(np.column_stack([dense[ia], np.zeros(half)]).astype("<f4"), 5126, "VEC4"),
    )
    faces_a = ring_faces(0, rings // 2)
    prim_a = pygltflib.Primitive(attributes=attrs_a, indices=pk.array(faces_a.ravel().astype("<u2"), 5123, "SCALAR"))
    nb = len(ib)
    attrs_b = pygltflib.Attributes(
        POSITION=pk.array(
            pts[ib].astype("<f4"), 5126, "VEC3", min=pts[ib].min(0).tolist(), max=pts[ib].max(0).tolist()
        ),
        TEXCOORD_0=pk.array(uv[ib].astype("<f4"), 5126, "VEC2"),
        JOINTS_0=pk.array(np.tile([2, 0, 1, 0], (nb, 1)).astype("<u2"), 5123, "VEC4"),
        WEIGHTS_0=pk.array(
            np.column_stack([q[:, 2], q[:, 0], q[:, 1], np.zeros(nb)]).astype("<u1"), 5121, "VEC4", normalized=True
        ),
        JOINTS_1=pk.array(np.zeros((nb, 4), "<u1"), 5121, "VEC4"),
        WEIGHTS_1=pk.array(np.zeros((nb, 4), "<u1"), 5121, "VEC4", normalized=True),
    )
    faces_b = ring_faces(0, rings - rings // 2)
    prim_b = pygltflib.Primitive(attributes=attrs_b, indices=pk.array(faces_b.ravel().astype("<u1"), 5121, "SCALAR"))
    column_major = np.ascontiguousarray(ibm.transpose(0, 2, 1)).reshape(-1, 16)
    ibm_acc = pk.array(column_major.astype("<f4"), 5126, "MAT4")
    if tamper == "accessor":
        pk.accessors[attrs_b.POSITION].count = 10_000
    nodes = []
    for name, t, r, children in node_table:
        node = pygltflib.Node(name=name, translation=list(t), children=children)
        if r is not None:
            node.rotation = r.as_quat().tolist()  # scipy and glTF quaternions are both (x, y, z, w)
        nodes.append(node)
    nodes[MESH_NODE].mesh = 0
    if tamper != "noskin":
        nodes[MESH_NODE].skin = 0
    nodes[1].extras = {"synthmouse_group": "spine"}
    nodes[3].extras = {"synthmouse_group": "neck"}
    doc = pygltflib.GLTF2(
        scene=0,
        scenes=[pygltflib.Scene(nodes=[0])],
        nodes=nodes,
        meshes=[pygltflib.Mesh(name="tube", primitives=[prim_a, prim_b])],
        skins=[] if tamper == "noskin" else [pygltflib.Skin(joints=JOINT_NODES, inverseBindMatrices=ibm_acc)],
        accessors=pk.accessors,
        bufferViews=pk.views,
        buffers=[pygltflib.Buffer(byteLength=len(pk.blob))],
    )
    if form == "glb":
        doc.set_binary_blob(bytes(pk.blob))
        doc.save_binary(str(path))
    elif form == "embedded":
        doc.buffers[0].uri = "data:application/octet-stream;base64," + base64.b64encode(pk.blob).decode()
        doc.save_json(str(path))
    else:  # external .bin with a name that needs URL quoting
        (path.parent / "tube data.bin").write_bytes(bytes(pk.blob))
        doc.buffers[0].uri = "tube%20data.bin"
        doc.save_json(str(path))
    all_faces = np.vstack([faces_a, faces_b + half])
    joint_cols = np.tile(np.arange(3), (len(pts), 1))
    return {
        "doc": doc,
        "points": pts,
        "uv": uv,
        "faces": all_faces,
        "weights": dense,
        "joints": joint_cols,
        "ibm": ibm,
        "mesh_world": mesh_world,
        "world": world,
    }


def pose_graph(truth: dict, node: int, rotation: Rotation) -> np.ndarray:
    """Skinned points (file frame) after appending ``rotation`` to ``node``'s local rotation (the spec)."""
    doc = truth["doc"]
    old = doc.nodes[node].rotation
    base = Rotation.from_quat(old) if old is not None else Rotation.identity()
    doc.nodes[node].rotation = (base * rotation).as_quat().tolist()
    g = node_globals(doc)
    doc.nodes[node].rotation = old
    joint_matrices = g[JOINT_NODES] @ truth["ibm"]
    return gltf_skin(truth["points"], truth["joints"], truth["weights"], joint_matrices)


def as_body(m: np.ndarray) -> np.ndarray:
    """A ``(4, 4)`` transform of the glTF scene expressed in body axes."""
    c = np.eye(4)
    c[:3, :3] = GLTF_TO_BODY
    return c @ m @ c.T


def pose_for_node_rotation(body: Body, truth: dict, joint: int, q: Rotation, placement: np.ndarray) -> Pose:
    """The body pose that reproduces appending ``q`` to ``joint``'s node rotation, derived from the skinning
    equation: the glTF skinning matrix of the rotated joint is ``G Q G^-1 M`` (M = G IBM in the bind graph),
    the body's is ``root R P R^-1`` with ``root = M X^-1`` (X: where the loader placed the rest mesh), so
    ``P = A^T C h Q h^T C^T A`` with ``h`` the rest joint rotation ``X inverse(IBM)``, ``A`` the anatomical
    rest rotation and ``C`` the glTF-to-body axes."""
    m = truth["mesh_world"]
    h = (placement @ np.linalg.inv(truth["ibm"][joint]))[:3, :3]
    a = body.skeleton.rest[joint, :3, :3]
    pose = Pose.rest(body.skeleton.n_joints)
    pose.root[0] = as_body(m @ np.linalg.inv(placement))
    pose.rotations[0, joint] = a.T @ GLTF_TO_BODY @ h @ q.as_matrix() @ h.T @ GLTF_TO_BODY.T @ a
    return pose


# --- loading the hand-built file ----------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["glb", "embedded", "external"])
def test_hand_built_gltf_loads_skeleton_mesh_weights_and_groups(tmp_path, form):
    path = tmp_path / ("tube.glb" if form == "glb" else "tube.gltf")
    truth = three_joint_file(path, form)
    body = load_gltf(path)
    sk = body.skeleton
    assert sk.names == ("spine", "neck", "skull")
    assert sk.parents.tolist() == [-1, 0, 1]  # "helper" collapsed, "Armature" folded away
    # groups: extras on spine/neck, SAM name rule for skull
    assert sk.groups == ("spine", "neck", "head")
    np.testing.assert_allclose(sk.limits, limits_for_groups(["spine", "neck", "head"]))
    # the spec ignores the skinned mesh node's transform: POSITION and inverse(IBM) share the rest space
    bind = np.linalg.inv(truth["ibm"])
    np.testing.assert_allclose(sk.rest[:, :3, 3], bind[:, :3, 3] @ GLTF_TO_BODY.T, atol=1e-7)
    np.testing.assert_allclose(sk.rest, anatomical_frames(sk.rest[:, :3, 3], sk.parents), atol=1e-9)
    np.testing.assert_allclose(body.mesh.vertices, truth["points"] @ GLTF_TO_BODY.T, atol=1e-7)
    placed_body = load_gltf(path, mesh_transform=True)  # optional: place by the mesh node's world transform
    m = truth["mesh_world"]
    np.testing.assert_allclose(
        placed_body.mesh.vertices, (truth["points"] @ m[:3, :3].T + m[:3, 3]) @ GLTF_TO_BODY.T, atol=1e-7
    )
    np.testing.assert_allclose(placed_body.skeleton.rest[:, :3, 3], (m @ bind)[:, :3, 3] @ GLTF_TO_BODY.T, atol=1e-7)
    np.testing.assert_array_equal(body.mesh.faces, truth["faces"])
    np.testing.assert_allclose(body.mesh.weights.toarray(), truth["weights"], atol=1e-7)
    corner_uv = body.mesh.uvs[body.mesh.face_uvs]
    np.testing.assert_allclose(corner_uv[..., 0], truth["uv"][truth["faces"]][..., 0], atol=1e-7)
    np.testing.assert_allclose(corner_uv[..., 1], 1.0 - truth["uv"][truth["faces"]][..., 1], atol=1e-7)
    # the groups argument overrides extras
    assert load_gltf(path, groups={"neck": "tail"}).skeleton.groups == ("spine", "tail", "head")


@pytest.mark.parametrize(("form", "mesh_transform"), [("glb", False), ("embedded", True)])
def test_local_rotation_on_joint_1_matches_gltf_skinning_equation(tmp_path, form, mesh_transform):
    path = tmp_path / ("tube.glb" if form == "glb" else "tube.gltf")
    truth = three_joint_file(path, form)
    body = load_gltf(path, mesh_transform=mesh_transform)
    q = Rotation.from_rotvec([0.3, -0.5, 0.2])  # a local rotation of the "neck" node (joint 1)
    expected = pose_graph(truth, JOINT_NODES[1], q) @ GLTF_TO_BODY.T
    placement = truth["mesh_world"] if mesh_transform else np.eye(4)
    pose = pose_for_node_rotation(body, truth, 1, q, placement)
    got = body.skin(pose)[0]
    unrotated = body.skin(Pose(pose.root, Pose.rest(3).rotations))[0]
    assert np.abs(expected - unrotated).max() > 5e-3  # the rotation really moves the tube
    np.testing.assert_allclose(got, expected, atol=2e-7)


def test_read_gltf_pose_matches_gltf_skinning_equation(tmp_path):
    path = tmp_path / "tube.glb"
    truth = three_joint_file(path, "glb")
    doc = truth["doc"]
    # pose the armature (outside the skin: folded into the root), the root joint and joint 1
    doc.nodes[0].translation = [0.3, -0.1, 0.2]
    for node, rotvec in ((0, [0.0, 0.7, 0.1]), (1, [0.2, 0.0, -0.3]), (3, [-0.4, 0.3, 0.1])):
        doc.nodes[node].rotation = (
            (Rotation.from_quat(doc.nodes[node].rotation) * Rotation.from_rotvec(rotvec)).as_quat().tolist()
        )
    posed_path = tmp_path / "posed.glb"
    doc.save_binary(str(posed_path))
    g = node_globals(doc)
    expected = gltf_skin(truth["points"], truth["joints"], truth["weights"], g[JOINT_NODES] @ truth["ibm"])
    expected = expected @ GLTF_TO_BODY.T
    body = load_gltf(path)  # the rest body from the unposed file
    assert np.abs(body.skin(body.rest_pose())[0] - expected).max() > 5e-3
    np.testing.assert_allclose(body.skin(read_gltf_pose(posed_path, body))[0], expected, atol=2e-7)
    # with mesh_transform the rest placement follows the armature, so the body must come from the same file
    placed = load_gltf(posed_path, mesh_transform=True)
    pose = read_gltf_pose(posed_path, placed, mesh_transform=True)
    np.testing.assert_allclose(placed.skin(pose)[0], expected, atol=2e-7)


def test_axis_options_and_units_scale(tmp_path):
    path = tmp_path / "tube.glb"
    truth = three_joint_file(path, "glb")
    body = load_gltf(path, up_axis="z", forward_axis="-y", units_scale=0.01)
    placed = truth["points"]
    # up = file z, forward = file -y, left = up x forward = file +x
    expected = 0.01 * np.column_stack([-placed[:, 1], placed[:, 0], placed[:, 2]])
    np.testing.assert_allclose(body.mesh.vertices, expected, atol=1e-9)
    with pytest.raises(ModelFormatError, match="perpendicular"):
        load_gltf(path, up_axis="y", forward_axis="-y")
    with pytest.raises(ModelFormatError, match="up_axis"):
        load_gltf(path, up_axis="w")


def test_joints_with_several_roots_get_a_common_root(tmp_path):
    two_roots = [list(n) for n in NODES]
    two_roots[0][3] = [1, 4, 5]  # skull hangs from the armature: spine and skull both lack a joint above them
    two_roots[3][3] = []
    path = tmp_path / "two.glb"
    truth = three_joint_file(path, "glb", node_table=[tuple(n) for n in two_roots])
    body = load_gltf(path)
    assert body.skeleton.names == ("spine", "neck", "skull", "gltf_root")
    assert body.skeleton.parents.tolist() == [3, 0, 3, -1]
    assert body.skeleton.groups[3] == "root"
    np.testing.assert_allclose(body.skeleton.rest[3, :3, 3], 0.0)
    np.testing.assert_allclose(body.skin(body.rest_pose())[0], body.mesh.vertices, atol=1e-7)
    q = Rotation.from_rotvec([0.1, 0.4, -0.2])  # rotate the skull node; its parent is now the armature
    expected = pose_graph(truth, 4, q) @ GLTF_TO_BODY.T
    pose = pose_for_node_rotation(body, truth, 2, q, np.eye(4))
    np.testing.assert_allclose(body.skin(pose)[0], expected, atol=2e-7)


def test_landmarks_from_argument_and_load_body_dispatch(tmp_path):
    from synthmouse.body import load_body

    path = tmp_path / "tube.glb"
    three_joint_file(path, "glb")
    body = load_body(
        str(path),
        landmarks={
            "nose": {"joint": "skull", "offset": [0.01, 0, 0]},
            "neck_skin": KeypointDef("neck_skin", vertices=(30, 31)),
        },
    )
    assert body.landmarks["nose"] == KeypointDef("nose", joint="skull", offset=(0.01, 0.0, 0.0))
    kp = body.keypoints(body.rest_pose(), KeypointSet("k", tuple(body.landmarks.values())))[0]
    skull = body.skeleton.rest[2]
    np.testing.assert_allclose(kp[0], skull[:3, 3] + 0.01 * skull[:3, 0], atol=1e-12)
    np.testing.assert_allclose(kp[1], body.mesh.vertices[[30, 31]].mean(axis=0), atol=1e-7)
    with pytest.raises(ModelFormatError, match="vertex ids must lie in 0..47"):
        load_gltf(path, landmarks={"bad": {"vertices": [48]}})
    with pytest.raises(ModelFormatError, match="unknown joint 'tail'"):
        load_gltf(path, landmarks={"bad": {"joint": "tail"}})
    with pytest.raises(ModelFormatError, match="not one of"):
        load_gltf(path, groups={"neck": "shoulder"})


def test_strips_and_fans_become_triangles():
    from synthmouse.body.gltf import _triangles

    idx = np.array([10, 11, 12, 13, 14])
    strip = _triangles(5, idx, None, "strip")
    np.testing.assert_array_equal(strip, [[10, 11, 12], [11, 13, 12], [12, 13, 14]])  # winding kept
    fan = _triangles(6, idx, None, "fan")
    np.testing.assert_array_equal(fan, [[10, 11, 12], [10, 12, 13], [10, 13, 14]])


# --- round trips --------------------------------------------------------------------------------------------
def synthetic_body(rng: np.random.Generator) -> Body:
    names = ("root", "pelvis", "spine", "neck", "skull", "tail_0", "tail_1", "femur_l")
    parents = np.array([-1, 0, 1, 2, 3, 1, 5, 1])
    positions = np.array(
        [
            [0, 0, 0],
            [0, 0, 0.02],
            [0.02, 0, 0.025],
            [0.04, 0, 0.028],
            [0.055, 0, 0.03],
            [-0.01, 0, 0.02],
            [-0.03, 0, 0.015],
            [-0.005, 0.008, 0.012],
        ],
        dtype=float,
    )
    groups = ("root", "pelvis", "spine", "neck", "head", "tail", "tail", "hip_l")
    rest = anatomical_frames(positions, parents)
    skeleton = Skeleton(names, parents, rest, groups, limits_for_groups(groups))
    n_v, n_j = 150, len(names)
    owner = rng.integers(0, n_j, n_v)
    vertices = (positions[owner] + rng.normal(0, 0.004, (n_v, 3))).astype(np.float32)
    rows, cols, vals = [], [], []
    for v in range(n_v):
        k = int(rng.integers(1, 7))  # up to 6 influences: two JOINTS_n sets
        js = rng.choice(n_j, size=k, replace=False)
        w = rng.uniform(0.05, 1.0, k)
        rows += [v] * k
        cols += js.tolist()
        vals += (w / w.sum()).tolist()
    weights = sp.csr_matrix((vals, (rows, cols)), shape=(n_v, n_j))
    faces = np.array([rng.choice(n_v, 3, replace=False) for _ in range(120)], dtype=np.int32)
    uvs = rng.uniform(0, 1, (200, 2)).astype(np.float32)
    face_uvs = rng.integers(0, 200, faces.shape).astype(np.int32)  # many seams: vertices get split
    mesh = SkinnedMesh(vertices, faces, weights, uvs, face_uvs)
    landmarks = {
        "nose": KeypointDef("nose", vertices=(1, 2, 3), weights=(1.0, 2.0, 1.0)),
        "tail_root": KeypointDef("tail_root", joint="tail_0", offset=(0.001, 0.0, 0.002)),
    }
    return Body("synthetic", skeleton, mesh, landmarks)


def random_pose(body: Body, rng: np.random.Generator) -> Pose:
    lim = body.skeleton.limits
    angles = rng.uniform(lim[..., 0], lim[..., 1], size=(1, *lim.shape[:2]))
    body.skeleton.check_limits(angles)
    return Pose.from_angles(
        angles, rng.normal(0, 0.1, (1, 3)), Rotation.from_rotvec(rng.normal(0, 1, 3)).as_matrix()[None]
    )


def assert_same_body(a: Body, b: Body) -> None:
    assert a.skeleton.names == b.skeleton.names and a.skeleton.groups == b.skeleton.groups
    np.testing.assert_array_equal(a.skeleton.parents, b.skeleton.parents)
    np.testing.assert_allclose(a.skeleton.rest, b.skeleton.rest, atol=1e-5)
    np.testing.assert_allclose(a.mesh.vertices, b.mesh.vertices, atol=1e-7)
    np.testing.assert_array_equal(a.mesh.faces, b.mesh.faces)
    assert abs(a.mesh.weights - b.mesh.weights).max() < 1e-6
    np.testing.assert_allclose(a.mesh.uvs[a.mesh.face_uvs], b.mesh.uvs[b.mesh.face_uvs], atol=1e-6)
    assert a.landmarks.keys() == b.landmarks.keys()


@pytest.mark.parametrize("suffix", [".glb", ".gltf"])
def test_round_trip_synthetic_body(tmp_path, suffix):
    rng = np.random.default_rng(7)
    body = synthetic_body(rng)
    path = save_gltf(body, tmp_path / f"mouse{suffix}")
    loaded = load_gltf(path)
    assert loaded.name == "synthetic"
    assert_same_body(body, loaded)
    assert loaded.landmarks == body.landmarks
    pose = random_pose(body, rng)
    np.testing.assert_allclose(loaded.skin(pose), body.skin(pose), atol=2e-6)
    kset = KeypointSet("lm", tuple(body.landmarks.values()))
    np.testing.assert_allclose(loaded.keypoints(pose, kset), body.keypoints(pose, kset), atol=2e-6)
    doc = pygltflib.GLTF2.load(str(path))
    attrs = vars(doc.meshes[0].primitives[0].attributes)
    assert attrs.get("JOINTS_1") is not None and attrs.get("JOINTS_2") is None  # 6 influences -> 2 sets
    assert [n.extras["synthmouse_group"] for n in doc.nodes[:8]] == list(body.skeleton.groups)
    assert not list(tmp_path.glob(".mouse*"))  # no temporary file left behind
    # an independent reader (trimesh) sees the same triangles, in glTF's y-up axes
    trimesh = pytest.importorskip("trimesh")
    scene = trimesh.load(str(path), process=False)
    (geometry,) = scene.geometry.values()
    corners = np.asarray(geometry.vertices)[np.asarray(geometry.faces)] @ GLTF_TO_BODY.T
    np.testing.assert_allclose(corners, body.mesh.vertices[body.mesh.faces], atol=1e-7)


def test_saved_pose_matches_gltf_skinning_equation(tmp_path):
    rng = np.random.default_rng(3)
    body = synthetic_body(rng)
    pose = random_pose(body, rng)
    path = save_gltf(body, tmp_path / "posed.glb", pose=pose)
    doc = pygltflib.GLTF2.load(str(path))
    prim = doc.meshes[0].primitives[0]
    attrs = {k: v for k, v in vars(prim.attributes).items() if v is not None}
    positions = read_accessor(doc, attrs["POSITION"])
    sets = sorted(k for k in attrs if k.startswith("JOINTS_"))
    joints = np.hstack([read_accessor(doc, attrs[k]) for k in sets]).astype(int)
    weights = np.hstack([read_accessor(doc, attrs["WEIGHTS_" + k[7:]]) for k in sets])
    ibm = read_accessor(doc, doc.skins[0].inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
    g = node_globals(doc)
    expected = gltf_skin(positions, joints, weights, g[doc.skins[0].joints] @ ibm)
    vertex_ids = read_accessor(doc, attrs["_SYNTHMOUSE_VERTEX"])[:, 0].astype(int)
    got = body.skin(pose)[0][vertex_ids] @ GLTF_TO_BODY  # body -> glTF axes
    np.testing.assert_allclose(expected, got, atol=2e-6)
    # and the node graph's pose reads back into the same skinned surface
    loaded = load_gltf(path)
    np.testing.assert_allclose(loaded.skin(read_gltf_pose(path, loaded)), body.skin(pose), atol=2e-6)


def test_max_influences_keeps_largest_and_renormalizes(tmp_path):
    body = synthetic_body(np.random.default_rng(11))
    loaded = load_gltf(save_gltf(body, tmp_path / "four.glb", max_influences=4))
    w = body.mesh.weights.toarray()
    got = loaded.mesh.weights.toarray()
    for v in range(len(w)):
        keep = np.argsort(-w[v], kind="stable")[:4]
        expected = np.zeros_like(w[v])
        expected[keep] = w[v, keep] / w[v, keep].sum()
        np.testing.assert_allclose(got[v], expected, atol=1e-6)
    doc = pygltflib.GLTF2.load(str(tmp_path / "four.glb"))
    assert vars(doc.meshes[0].primitives[0].attributes).get("JOINTS_1") is None


def test_sam_round_trip_keeps_all_twelve_influences(tmp_path, sam_body):
    counts = np.diff(sam_body.mesh.weights.indptr)
    assert counts.max() == 12
    path = save_gltf(sam_body, tmp_path / "sam.glb")
    doc = pygltflib.GLTF2.load(str(path))
    attrs = vars(doc.meshes[0].primitives[0].attributes)
    assert attrs.get("JOINTS_2") is not None and attrs.get("JOINTS_3") is None  # 12 = 3 sets of 4
    loaded = load_gltf(path)
    assert_same_body(sam_body, loaded)
    np.testing.assert_array_equal(np.diff(loaded.mesh.weights.indptr), counts)
    pose = random_pose(sam_body, np.random.default_rng(5))
    np.testing.assert_allclose(loaded.skin(pose), sam_body.skin(pose), atol=2e-6)
    kset = KeypointSet("all", tuple(sam_body.landmarks.values()))
    np.testing.assert_allclose(loaded.keypoints(pose, kset), sam_body.keypoints(pose, kset), atol=2e-6)


# --- errors -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("noskin", "has no skin"),
        ("accessor", "need .* bytes"),
        ("nan", "not finite"),
        ("weights", "sum to"),
        ("joint", "uses joint 7"),
    ],
)
def test_broken_files_raise_model_format_error(tmp_path, tamper, message):
    path = tmp_path / "broken.gltf"
    three_joint_file(path, "embedded", tamper=tamper)
    with pytest.raises(ModelFormatError, match=message) as info:
        load_gltf(path)
    assert "broken.gltf" in str(info.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ModelFormatError, match="file not found"):
        load_gltf(tmp_path / "absent.glb")
    bad = tmp_path / "bad.gltf"
    bad.write_text("{ not json")
    with pytest.raises(ModelFormatError, match="bad.gltf: not a readable glTF"):
        load_gltf(bad)
    external = tmp_path / "ext.gltf"
    three_joint_file(external, "external")
    (tmp_path / "tube data.bin").unlink()
    with pytest.raises(ModelFormatError, match="external file 'tube%20data.bin' not found"):
        load_gltf(external)
    doc = json.loads((tmp_path / "ext.gltf").read_text())
    doc["skins"][0]["inverseBindMatrices"] = 99
    (tmp_path / "ibm.gltf").write_text(json.dumps(doc))
    with pytest.raises(ModelFormatError, match="accessor 99 does not exist"):
        load_gltf(tmp_path / "ibm.gltf")


def test_save_rejects_unknown_suffix_and_multi_frame_pose(tmp_path):
    body = synthetic_body(np.random.default_rng(1))
    with pytest.raises(OutputError, match="allowed: .glb, .gltf"):
        save_gltf(body, tmp_path / "mouse.obj")
    with pytest.raises(PoseError, match="one-frame pose"):
        save_gltf(body, tmp_path / "mouse.glb", pose=Pose.rest(body.skeleton.n_joints, 2))
    assert not list(tmp_path.iterdir())
