"""glTF 2.0 skins: load any rigged glTF/GLB (e.g. exported from Blender) as a :class:`Body`, and save bodies.

Frames. glTF is right-handed with +y up and the front of an asset facing +z, so the asset's left is +x.
The project's body frame is x forward (nose), y left, z up. With the defaults ``up_axis="y"``,
``forward_axis="z"`` a file point ``(X, Y, Z)`` becomes the body point ``s * (Z, X, Y)``,
``s = units_scale``::

    body x (forward) = file +Z,   body y (left) = file +X,   body z (up) = file +Y

``up_axis`` and ``forward_axis`` (``"x" "y" "z" "-x" "-y" "-z"``) name the file axes that point up and forward
for files that do not follow the convention (a Blender scene exported without "+Y up" is ``up_axis="z",
forward_axis="-y"``); left is ``up x forward``. :func:`save_gltf` writes the inverse mapping.

What is loaded (:func:`load_gltf`):

* the skeleton is the skin's joints, in the skin's order. A joint's parent is its nearest ancestor node that
  is also a joint of the skin: nodes between joints that are not in the skin are collapsed, and nodes above
  the topmost joints (an armature object) only place the scene. When several joints have no joint above them
  a joint ``gltf_root`` is added (last) at the origin as their common parent.
* the bind pose: each joint's matrix is ``inverse(inverseBindMatrix)`` in the space of the mesh's
  ``POSITION`` values. As the glTF spec renders a skinned mesh with ``jointWorld @ inverseBindMatrix`` alone
  and ignores the mesh node's own transform, that space is the scene's, and the body's rest pose is the pose
  the file renders in when every ``jointWorld == inverse(inverseBindMatrix)`` (Blender writes vertices and
  inverse bind matrices this way, in world coordinates, whatever the armature's transform).
  ``mesh_transform=True`` also applies the mesh node's world transform, for exporters that rely on it. The
  node graph's current pose does not change the rest pose (read it with :func:`read_gltf_pose`). Only the
  joint positions are taken: rest frames are the project's anatomical frames (:func:`anatomical_frames`), so
  joint angles mean the same as for the other bodies. Missing inverse bind matrices are identity per the
  spec: the mesh is then bound in the node graph's current pose.
* the mesh: every primitive (triangles, strips, fans) of every mesh node that uses the skin, merged;
  ``POSITION``, ``indices``, ``TEXCOORD_0`` and every ``JOINTS_n``/``WEIGHTS_n`` set. Weights are checked like
  :func:`synthmouse.body.mesh.validate_weights` (finite, >= 0, each vertex summing to 1 +/- 0.01) and then
  normalized. Vertex ids are the file's, primitives concatenated in order, except for files written by
  :func:`save_gltf`, whose ``_SYNTHMOUSE_VERTEX`` attribute restores the body's own vertex ids (glTF splits
  vertices along texture seams).
* texture coordinates are flipped to the OBJ convention used by the bodies (``v_body = 1 - v_gltf``).
* joint groups: the ``groups`` argument (joint name -> group), else the ``synthmouse_group`` entry of the
  joint node's ``extras``, else SAM's name rules (:func:`synthmouse.body.sam.sam_joint_group`), else
  ``fixed``. Limits follow the groups (:func:`limits_for_groups`).
* landmarks: the ``landmarks`` argument, over ``synthmouse_landmarks`` in the ``extras`` of the skin (or of
  the mesh node, or of the file). Each entry is ``{"vertices": [...], "weights": [...]}`` or ``{"joint":
  name, "offset": [x, y, z]}`` with the offset in the joint's anatomical frame; offsets stored in the file are
  in file units (scaled by ``units_scale``), offsets given as the argument are in metres.

What is written (:func:`save_gltf`): one mesh, one skin, one node per joint (same order as the skeleton)
whose TRS is the joint's rest frame relative to its parent, so the node graph is in the bind pose, or in
``pose`` when one is given (local rotations as node rotations, the root transform on the root node). Inverse
bind matrices are ``inverse(bind joint world)``. All skinning influences are kept by default, four per
``JOINTS_n``/``WEIGHTS_n`` set, as many sets as the busiest vertex needs (the spec allows any number; SAM
needs three). ``max_influences=k`` keeps the ``k`` largest of each vertex instead and renormalizes them, for
engines that read only ``JOINTS_0``/``JOINTS_1``. Joint groups and landmarks go into ``extras``.

:func:`read_gltf_pose` reads the pose a file's node graph holds (e.g. posed in Blender) for a body loaded from
that file or from its unposed original. Per-joint translations other than the root's cannot be held by a
:class:`Pose` and are dropped.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pygltflib
import scipy.sparse as sp
from scipy.spatial.transform import Rotation

from ..errors import ModelFormatError, OutputError, PoseError
from ..fileio import atomic_path
from .groups import FIXED_GROUP, GROUPS
from .keypoints import KeypointDef
from .limits import limits_for_groups
from .mesh import SkinnedMesh, normalize_weights, validate_weights
from .model import Body
from .pose import Pose
from .rotations import invert_rigid, rigid
from .sam import sam_joint_group
from .skeleton import Skeleton, anatomical_frames

GROUP_KEY = "synthmouse_group"
LANDMARKS_KEY = "synthmouse_landmarks"
BODY_KEY = "synthmouse"
VERTEX_ID_ATTRIBUTE = "_SYNTHMOUSE_VERTEX"
SYNTHETIC_ROOT = "gltf_root"

_COMPONENTS = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_NORMALIZE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}
_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_AXES = {"x": 0, "y": 1, "z": 2}
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963


# --- frames -------------------------------------------------------------------------------------------------
def _axis_vector(name: str, option: str, source: str | Path) -> np.ndarray:
    key = name.strip().lower()
    sign = -1.0 if key.startswith("-") else 1.0
    key = key.lstrip("+-")
    if key not in _AXES:
        raise ModelFormatError(source, f"{option} = {name!r}; allowed: x, y, z, -x, -y, -z")
    out = np.zeros(3)
    out[_AXES[key]] = sign
    return out


def file_to_body_rotation(up_axis: str = "y", forward_axis: str = "z", source: str | Path = "<gltf>") -> np.ndarray:
    """``(3, 3)`` rotation taking file coordinates to body coordinates (rows: forward, left, up in the file).

    The defaults give ``body = (Z, X, Y)`` for a file point ``(X, Y, Z)`` (glTF: +y up, front towards +z).
    """
    up = _axis_vector(up_axis, "up_axis", source)
    forward = _axis_vector(forward_axis, "forward_axis", source)
    if abs(float(up @ forward)) > 0.5:
        raise ModelFormatError(source, f"up_axis {up_axis!r} and forward_axis {forward_axis!r} must be perpendicular")
    return np.stack([forward, np.cross(up, forward), up])


def _polar_rotation(m: np.ndarray) -> np.ndarray:
    """The nearest rotation to each ``(..., 3, 3)`` matrix (drops scale and shear)."""
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    u[..., :, 2] *= d[..., None]
    return u @ vt


# --- reading: buffers, accessors, node graph ----------------------------------------------------------------
class _GltfFile:
    """A parsed glTF file with its buffers, accessors and node graph, raising errors that name the file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFormatError(self.path, "file not found")
        if self.path.suffix.lower() not in (".gltf", ".glb"):
            raise ModelFormatError(self.path, f"unknown suffix {self.path.suffix!r}; allowed: .gltf, .glb")
        try:
            self.doc = pygltflib.GLTF2.load(str(self.path))
        except Exception as exc:  # noqa: BLE001 - pygltflib raises anything from JSON, struct, dataclasses
            problem = f"not a readable glTF 2.0 file ({type(exc).__name__}: {exc})"
            raise ModelFormatError(self.path, problem) from None
        if self.doc is None:
            raise ModelFormatError(self.path, "not a readable glTF 2.0 file (no JSON chunk)")
        self._buffers: dict[int, bytes] = {}
        self.parents = self._node_parents()
        mats = [self._node_matrix(i) for i in range(len(self.doc.nodes))]
        self.local = np.stack(mats) if mats else np.zeros((0, 4, 4))
        self.world = self._world_matrices(self.local)

    def error(self, problem: str) -> ModelFormatError:
        return ModelFormatError(self.path, problem)

    # buffers and accessors
    def buffer(self, index: int) -> bytes:
        if index not in self._buffers:
            if not 0 <= index < len(self.doc.buffers):
                raise self.error(f"buffer {index} does not exist (the file has {len(self.doc.buffers)})")
            buf = self.doc.buffers[index]
            if buf.uri is None:
                data = self.doc.binary_blob()
                if data is None:
                    raise self.error(f"buffer {index} has no uri and the file has no GLB binary chunk")
            elif buf.uri.startswith("data:"):
                try:
                    data = base64.b64decode(buf.uri.split(",", 1)[1], validate=True)
                except (IndexError, ValueError):
                    raise self.error(f"buffer {index}: the data uri is not valid base64") from None
            else:
                external = self.path.parent / urllib.parse.unquote(buf.uri)
                if not external.is_file():
                    raise self.error(f"buffer {index}: external file {buf.uri!r} not found next to the file")
                data = external.read_bytes()
            if buf.byteLength is not None and len(data) < buf.byteLength:
                raise self.error(f"buffer {index} holds {len(data)} bytes, byteLength says {buf.byteLength}")
            self._buffers[index] = bytes(data)
        return self._buffers[index]

    def _view_bytes(self, view_index: int, what: str) -> tuple[bytes, int, int, int | None]:
        if not 0 <= view_index < len(self.doc.bufferViews):
            raise self.error(
                f"{what}: bufferView {view_index} does not exist ({len(self.doc.bufferViews)} in the file)"
            )
        view = self.doc.bufferViews[view_index]
        data = self.buffer(view.buffer if view.buffer is not None else -1)
        start, length = view.byteOffset or 0, view.byteLength or 0
        if start + length > len(data):
            raise self.error(
                f"{what}: bufferView {view_index} spans bytes {start}..{start + length} of a {len(data)}-byte buffer"
            )
        return data, start, length, view.byteStride

    def _strided(self, view_index: int, offset: int, dtype: str, width: int, count: int, what: str) -> np.ndarray:
        data, start, length, stride = self._view_bytes(view_index, what)
        if offset < 0 or start < 0 or (stride is not None and stride <= 0):
            raise self.error(f"{what}: negative byteOffset or non-positive byteStride")
        item = np.dtype(dtype).itemsize
        stride = stride or item * width
        need = offset + (stride * (count - 1) + item * width if count else 0)
        if need > length:
            raise self.error(
                f"{what}: {count} elements of {width} x {dtype[1:]} at offset {offset} need {need} bytes, "
                f"bufferView {view_index} has {length}"
            )
        arr = np.ndarray((count, width), dtype=dtype, buffer=data, offset=start + offset, strides=(stride, item))
        return np.array(arr)

    def accessor(self, index: int | None, what: str, types: tuple[str, ...], components: tuple[int, ...]) -> np.ndarray:
        """Decode accessor ``index`` to ``(count, width)``: float64 for float/normalized data, else int64."""
        if index is None or not 0 <= index < len(self.doc.accessors):
            raise self.error(f"{what}: accessor {index} does not exist (the file has {len(self.doc.accessors)})")
        acc = self.doc.accessors[index]
        what = f"{what} (accessor {index})"
        if acc.type not in types:
            raise self.error(f"{what}: type {acc.type!r}, allowed: {', '.join(types)}")
        if acc.componentType not in components:
            raise self.error(f"{what}: componentType {acc.componentType}, allowed: {components}")
        if acc.count is None or acc.count < 0:
            raise self.error(f"{what}: count {acc.count} is not a non-negative integer")
        width, dtype = _WIDTHS[acc.type], _COMPONENTS[acc.componentType]
        if acc.bufferView is None:
            values = np.zeros((acc.count, width), dtype=dtype)
        else:
            values = self._strided(acc.bufferView, acc.byteOffset or 0, dtype, width, acc.count, what)
        if acc.sparse is not None and acc.sparse.count:
            self._apply_sparse(acc, values, what)
        if acc.componentType == 5126:
            values = values.astype(np.float64)
            if not np.isfinite(values).all():
                row = int(np.argwhere(~np.isfinite(values))[0][0])
                raise self.error(f"{what}: element {row} is not finite (NaN or infinite): {values[row].tolist()}")
            return values
        if acc.normalized:
            scale = _NORMALIZE[acc.componentType]
            return np.maximum(values.astype(np.float64) / scale, -1.0)
        return values.astype(np.int64)

    def _apply_sparse(self, acc, values: np.ndarray, what: str) -> None:
        sparse = acc.sparse
        if sparse.indices.componentType not in (5121, 5123, 5125):
            raise self.error(f"{what}: sparse indices componentType {sparse.indices.componentType} is not allowed")
        idx = self._strided(
            sparse.indices.bufferView,
            sparse.indices.byteOffset or 0,
            _COMPONENTS[sparse.indices.componentType],
            1,
            sparse.count,
            what,
        )[:, 0]
        if idx.size and idx.max() >= acc.count:
            raise self.error(f"{what}: sparse index {int(idx.max())} is outside 0..{acc.count - 1}")
        vals = self._strided(
            sparse.values.bufferView,
            sparse.values.byteOffset or 0,
            values.dtype.str,
            values.shape[1],
            sparse.count,
            what,
        )
        values[idx.astype(np.int64)] = vals

    # node graph
    def _node_parents(self) -> np.ndarray:
        n = len(self.doc.nodes)
        parents = np.full(n, -1, dtype=np.int64)
        for i, node in enumerate(self.doc.nodes):
            for c in node.children or []:
                if not 0 <= c < n:
                    raise self.error(f"node {i} ({node.name!r}) has child {c}, allowed 0..{n - 1}")
                if parents[c] >= 0:
                    raise self.error(f"node {c} has two parents ({int(parents[c])} and {i})")
                parents[c] = i
        return parents

    def _node_matrix(self, index: int) -> np.ndarray:
        node = self.doc.nodes[index]
        what = f"node {index} ({node.name!r})"
        if node.matrix is not None:
            m = np.asarray(node.matrix, dtype=np.float64)
            if m.shape != (16,) or not np.isfinite(m).all():
                raise self.error(f"{what}: matrix must be 16 finite numbers, got {node.matrix}")
            return m.reshape(4, 4).T  # glTF matrices are column-major
        t = np.asarray(node.translation if node.translation is not None else (0, 0, 0), dtype=np.float64)
        q = np.asarray(node.rotation if node.rotation is not None else (0, 0, 0, 1), dtype=np.float64)
        s = np.asarray(node.scale if node.scale is not None else (1, 1, 1), dtype=np.float64)
        if t.shape != (3,) or q.shape != (4,) or s.shape != (3,):
            raise self.error(f"{what}: translation/rotation/scale must have 3/4/3 numbers")
        if not (np.isfinite(t).all() and np.isfinite(q).all() and np.isfinite(s).all()):
            raise self.error(f"{what}: translation, rotation or scale is not finite")
        if np.linalg.norm(q) < 1e-12:
            raise self.error(f"{what}: rotation quaternion {q.tolist()} has zero length")
        m = np.eye(4)
        m[:3, :3] = Rotation.from_quat(q).as_matrix() * s[None, :]  # glTF quaternions are (x, y, z, w)
        m[:3, 3] = t
        return m

    def _world_matrices(self, local: np.ndarray) -> np.ndarray:
        world = np.full_like(local, np.nan)
        todo = list(np.flatnonzero(self.parents < 0))
        for i in todo:
            world[i] = local[i]
        while todo:
            i = todo.pop()
            for c in self.doc.nodes[i].children or []:
                world[c] = world[i] @ local[c]
                todo.append(c)
        unreached = np.flatnonzero(np.isnan(world[:, 0, 0]))
        if unreached.size:
            raise self.error(f"node {int(unreached[0])} is part of a cycle in the node hierarchy")
        return world


# --- loading ------------------------------------------------------------------------------------------------
class _SkinData:
    """The parts of one skin the loader and the pose reader share (file coordinates)."""

    def __init__(self, gf: _GltfFile, skin: int, mesh_transform: bool = False):
        doc = gf.doc
        self.gf, self.mesh_transform = gf, mesh_transform
        if not doc.skins:
            raise gf.error("the file has no skin (no 'skins'); export the mesh with its armature")
        if not 0 <= skin < len(doc.skins):
            raise gf.error(f"skin {skin} does not exist; the file has skins 0..{len(doc.skins) - 1}")
        self.index = skin
        self.skin = doc.skins[skin]
        joints = list(self.skin.joints or [])
        if not joints:
            raise gf.error(f"skin {skin} has no joints")
        bad = [j for j in joints if not 0 <= j < len(doc.nodes)]
        if bad or len(set(joints)) != len(joints):
            raise gf.error(
                f"skin {skin}: joints must be distinct node indices in 0..{len(doc.nodes) - 1}, got {joints}"
            )
        self.joints = np.asarray(joints, dtype=np.int64)
        self.mesh_nodes = [i for i, n in enumerate(doc.nodes) if n.skin == skin and n.mesh is not None]
        if not self.mesh_nodes:
            raise gf.error(f"skin {skin} is used by no mesh node")
        for i in self.mesh_nodes:
            if not 0 <= doc.nodes[i].mesh < len(doc.meshes):
                raise gf.error(f"node {i} uses mesh {doc.nodes[i].mesh}, which does not exist")
        self.mesh_world = self.placement(self.mesh_nodes[0])
        if self.skin.inverseBindMatrices is None:
            # the spec's identity IBMs; rebound to the node graph's pose (see _read_mesh)
            self.ibm = np.linalg.inv(gf.world[self.joints]) @ self.mesh_world
            self.rebind = True
        else:
            what = f"skin {skin} inverseBindMatrices"
            flat = gf.accessor(self.skin.inverseBindMatrices, what, ("MAT4",), (5126,))
            if len(flat) < len(joints):
                raise gf.error(f"skin {skin}: {len(flat)} inverse bind matrices for {len(joints)} joints")
            self.ibm = flat[: len(joints)].reshape(-1, 4, 4).transpose(0, 2, 1)
            if np.abs(np.linalg.det(self.ibm[:, :3, :3])).min() < 1e-12:
                raise gf.error(f"skin {skin}: an inverse bind matrix is singular")
            self.rebind = False
        self.parents = self._joint_parents(gf)

    def _joint_parents(self, gf: _GltfFile) -> np.ndarray:
        position = {int(n): k for k, n in enumerate(self.joints)}
        parents = np.full(len(self.joints), -1, dtype=np.int64)
        for k, node in enumerate(self.joints):
            p = gf.parents[node]
            while p >= 0 and int(p) not in position:
                p = gf.parents[p]
            parents[k] = position[int(p)] if p >= 0 else -1
        return parents

    def placement(self, node: int) -> np.ndarray:
        """``(4, 4)`` from a mesh node's vertex space to the scene (identity unless ``mesh_transform``)."""
        return self.gf.world[node] if self.mesh_transform else np.eye(4)

    @property
    def needs_synthetic_root(self) -> bool:
        return int(np.sum(self.parents < 0)) > 1


def _triangles(mode: int, idx: np.ndarray, gf: _GltfFile, what: str) -> np.ndarray:
    if mode == 4:
        if len(idx) % 3:
            raise gf.error(f"{what}: {len(idx)} indices is not a multiple of 3 for triangles")
        return idx.reshape(-1, 3)
    if mode in (5, 6) and len(idx) >= 3:
        k = np.arange(len(idx) - 2)
        if mode == 5:  # strip: every other triangle flips to keep the winding
            even = k % 2 == 0
            second = np.where(even, idx[k + 1], idx[k + 2])
            third = np.where(even, idx[k + 2], idx[k + 1])
            return np.stack([idx[k], second, third], 1)
        return np.stack([np.full_like(k, idx[0]), idx[k + 1], idx[k + 2]], 1)
    raise gf.error(f"{what}: primitive mode {mode} is not supported; allowed: 4 (triangles), 5 (strip), 6 (fan)")


def _read_primitive(gf: _GltfFile, prim, what: str, n_joints: int) -> dict:
    attrs = {k: v for k, v in vars(prim.attributes).items() if v is not None}
    if "POSITION" not in attrs:
        raise gf.error(f"{what}: no POSITION attribute")
    pos = gf.accessor(attrs["POSITION"], f"{what} POSITION", ("VEC3",), (5126,))
    n = len(pos)
    if prim.indices is not None:
        idx = gf.accessor(prim.indices, f"{what} indices", ("SCALAR",), (5121, 5123, 5125))[:, 0]
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise gf.error(f"{what}: vertex index {int(idx.max())} is outside 0..{n - 1}")
    else:
        idx = np.arange(n)
    faces = _triangles(prim.mode if prim.mode is not None else 4, idx, gf, what)
    out = {"positions": pos, "faces": faces, "uvs": None, "vertex_ids": None}
    if "TEXCOORD_0" in attrs:
        out["uvs"] = gf.accessor(attrs["TEXCOORD_0"], f"{what} TEXCOORD_0", ("VEC2",), (5126, 5121, 5123))
    if VERTEX_ID_ATTRIBUTE in attrs:
        ids_what = f"{what} {VERTEX_ID_ATTRIBUTE}"
        out["vertex_ids"] = gf.accessor(attrs[VERTEX_ID_ATTRIBUTE], ids_what, ("SCALAR",), (5126,))[:, 0]
    sets = sorted(int(k[7:]) for k in attrs if k.startswith("JOINTS_") and k[7:].isdigit())
    if not sets:
        raise gf.error(f"{what}: no JOINTS_0/WEIGHTS_0 attributes, so the mesh is not skinned")
    joints, weights = [], []
    for s in sets:
        if f"WEIGHTS_{s}" not in attrs:
            raise gf.error(f"{what}: JOINTS_{s} without WEIGHTS_{s}")
        joints.append(gf.accessor(attrs[f"JOINTS_{s}"], f"{what} JOINTS_{s}", ("VEC4",), (5121, 5123)))
        weights.append(gf.accessor(attrs[f"WEIGHTS_{s}"], f"{what} WEIGHTS_{s}", ("VEC4",), (5126, 5121, 5123)))
    joints_arr, weights_arr = np.concatenate(joints, axis=1), np.concatenate(weights, axis=1)
    for name, arr in (
        ("TEXCOORD_0", out["uvs"]),
        (VERTEX_ID_ATTRIBUTE, out["vertex_ids"]),
        ("JOINTS_n", joints_arr),
        ("WEIGHTS_n", weights_arr),
    ):
        if arr is not None and len(arr) != n:
            raise gf.error(f"{what}: {name} has {len(arr)} elements for {n} positions")
    used = weights_arr != 0
    if used.any() and joints_arr[used].max() >= n_joints:
        v = int(np.argwhere(used & (joints_arr >= n_joints))[0][0])
        j = int(joints_arr[v][used[v]].max())
        raise gf.error(f"{what}: vertex {v} uses joint {j}; the skin has joints 0..{n_joints - 1}")
    out["joints"], out["weights"] = joints_arr, weights_arr
    return out


def _read_mesh(gf: _GltfFile, sd: _SkinData) -> dict:
    """Merge the primitives of the skin's mesh nodes; positions in file (scene) coordinates."""
    parts = []
    for node_index in sd.mesh_nodes:
        node = gf.doc.nodes[node_index]
        mesh = gf.doc.meshes[node.mesh]
        world = sd.placement(node_index)
        for p, prim in enumerate(mesh.primitives):
            what = f"mesh {node.mesh} ({mesh.name!r}) primitive {p}"
            part = _read_primitive(gf, prim, what, len(sd.joints))
            if sd.rebind:  # identity IBMs: bake the node graph's pose (jointWorld @ I) into the rest
                part["positions"] = _skin_points(
                    part["positions"], part["joints"], part["weights"], np.linalg.inv(world) @ gf.world[sd.joints]
                )
            part["positions"] = part["positions"] @ world[:3, :3].T + world[:3, 3]
            parts.append(part)
    if not parts:
        raise gf.error("the skinned mesh has no primitives")
    offsets = np.cumsum([0] + [len(p["positions"]) for p in parts])
    padded = _pad_sets(parts)
    merged = {
        "positions": np.concatenate([p["positions"] for p in parts]),
        "faces": np.concatenate([p["faces"] + o for p, o in zip(parts, offsets, strict=False)]),
        "joints": np.concatenate([p["joints"] for p in padded]),
        "weights": np.concatenate([p["weights"] for p in padded]),
        "uvs": (np.concatenate([p["uvs"] for p in parts]) if all(p["uvs"] is not None for p in parts) else None),
        "vertex_ids": (
            np.concatenate([p["vertex_ids"] for p in parts])
            if all(p["vertex_ids"] is not None for p in parts)
            else None
        ),
    }
    return merged


def _pad_sets(parts: list[dict]) -> list[dict]:
    """Primitives with fewer JOINTS_n sets get zero-weight columns so that they concatenate."""
    width = max(p["joints"].shape[1] for p in parts)
    out = []
    for p in parts:
        pad = width - p["joints"].shape[1]
        out.append(
            {"joints": np.pad(p["joints"], ((0, 0), (0, pad))), "weights": np.pad(p["weights"], ((0, 0), (0, pad)))}
        )
    return out


def _skin_points(points: np.ndarray, joints: np.ndarray, weights: np.ndarray, mats: np.ndarray) -> np.ndarray:
    """glTF skinning of points ``(N, 3)`` with joints/weights ``(N, K)`` and joint matrices ``(J, 4, 4)``."""
    blended = np.einsum("nk,nkij->nij", weights, mats[joints])
    return np.einsum("nij,nj->ni", blended[:, :3, :3], points) + blended[:, :3, 3]


def _weight_matrix(joints: np.ndarray, weights: np.ndarray, n_joints: int, gf: _GltfFile) -> sp.csr_matrix:
    n = len(joints)
    rows = np.repeat(np.arange(n), joints.shape[1])
    # a joint listed twice for a vertex adds up
    matrix = sp.csr_matrix((weights.ravel(), (rows, joints.ravel())), shape=(n, n_joints))
    matrix.eliminate_zeros()
    validate_weights(matrix, str(gf.path))
    return normalize_weights(matrix)


def _weld(merged: dict, gf: _GltfFile) -> tuple[np.ndarray, np.ndarray]:
    """``(first glTF vertex of each body vertex (V,), body faces (T, 3))`` from saved vertex ids, if any."""
    ids = merged["vertex_ids"]
    if ids is None:
        return np.arange(len(merged["positions"])), merged["faces"]
    if (ids < 0).any() or (ids != np.round(ids)).any():
        raise gf.error(f"{VERTEX_ID_ATTRIBUTE} must hold non-negative integers")
    ids = ids.astype(np.int64)
    n = int(ids.max()) + 1
    first = np.full(n, -1, dtype=np.int64)
    first[ids[::-1]] = np.arange(len(ids))[::-1]
    if (first < 0).any():
        raise gf.error(f"{VERTEX_ID_ATTRIBUTE}: vertex id {int(np.flatnonzero(first < 0)[0])} is missing")
    return first, ids[merged["faces"]]


def _joint_names(gf: _GltfFile, sd: _SkinData) -> list[str]:
    names: list[str] = []
    for k, node in enumerate(sd.joints):
        base = gf.doc.nodes[node].name or f"joint_{k}"
        name, i = base, 2
        while name in names:
            name, i = f"{base}_{i}", i + 1
        names.append(name)
    return names


def _resolve_groups(names: list[str], gf: _GltfFile, sd: _SkinData, groups: Mapping[str, str] | None) -> list[str]:
    groups = dict(groups or {})
    unknown = sorted(set(groups) - set(names))
    if unknown:
        raise gf.error(f"groups name joints {unknown} that the skin does not have; joints are: {', '.join(names)}")
    out = []
    for k, name in enumerate(names):
        extras = gf.doc.nodes[sd.joints[k]].extras if k < len(sd.joints) else {}
        group = groups.get(name) or (extras or {}).get(GROUP_KEY) or sam_joint_group(name) or FIXED_GROUP
        if group not in GROUPS:
            raise gf.error(f"joint {name!r}: group {group!r} is not one of: {', '.join(GROUPS)}")
        out.append(group)
    return out


def _landmark_def(name: str, entry, scale: float, gf: _GltfFile) -> KeypointDef:
    if isinstance(entry, KeypointDef):
        return entry
    if not isinstance(entry, Mapping):
        raise gf.error(f"landmark {name!r}: expected a mapping with 'vertices' or 'joint', got {entry!r}")
    try:
        if "joint" in entry:
            offset = tuple(float(x) * scale for x in entry.get("offset", (0.0, 0.0, 0.0)))
            if len(offset) != 3:
                raise ValueError("offset needs 3 numbers")
            return KeypointDef(name, joint=str(entry["joint"]), offset=offset)
        return KeypointDef(
            name,
            vertices=tuple(int(v) for v in entry["vertices"]),
            weights=tuple(float(w) for w in entry.get("weights", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise gf.error(
            f"landmark {name!r}: {exc}; expected {{'vertices': [...]}} or {{'joint': name, "
            f"'offset': [x, y, z]}}, got {entry!r}"
        ) from None


def _resolve_landmarks(gf: _GltfFile, sd: _SkinData, landmarks, scale: float, names, n_vertices: int):
    stored = {}
    for holder in (gf.doc, gf.doc.nodes[sd.mesh_nodes[0]], sd.skin):
        stored.update((holder.extras or {}).get(LANDMARKS_KEY, {}) or {})
    merged = {**stored, **dict(landmarks or {})}
    out = {}
    for name, entry in merged.items():
        kp = _landmark_def(name, entry, scale if name not in (landmarks or {}) else 1.0, gf)
        if kp.joint is not None and kp.joint not in names:
            raise gf.error(f"landmark {name!r}: unknown joint {kp.joint!r}; joints are: {', '.join(names)}")
        if kp.vertices and (min(kp.vertices) < 0 or max(kp.vertices) >= n_vertices):
            raise gf.error(f"landmark {name!r}: vertex ids must lie in 0..{n_vertices - 1}")
        out[name] = kp
    return out


def load_gltf(
    path: str | Path,
    skin: int = 0,
    groups: Mapping[str, str] | None = None,
    landmarks: Mapping[str, KeypointDef | Mapping] | None = None,
    units_scale: float = 1.0,
    up_axis: str = "y",
    forward_axis: str = "z",
    mesh_transform: bool = False,
) -> Body:
    """Load a skinned glTF 2.0 model (``.gltf`` with embedded or external buffers, or ``.glb``) as a Body.

    Args:
        path: the file.
        skin: index of the skin to load.
        groups: joint name -> anatomical group (overrides ``extras`` and the name rules).
        landmarks: name -> :class:`KeypointDef` (or its dict form), over the landmarks stored in ``extras``.
        units_scale: metres per file unit (0.01 for a model made in centimetres).
        up_axis, forward_axis: the file axes pointing up and towards the nose (see the module docstring).
        mesh_transform: also apply the skinned mesh node's world transform to the bind pose (the spec says
            to ignore it; for files from exporters that rely on it).

    Returns:
        a Body with ``J`` joints (the skin's, plus ``gltf_root`` if the joints have several roots) and ``V``
        vertices in the body frame, metres.
    """
    gf = _GltfFile(path)
    rot = file_to_body_rotation(up_axis, forward_axis, gf.path)
    if not (np.isfinite(units_scale) and units_scale > 0):
        raise gf.error(f"units_scale must be a positive number, got {units_scale}")
    to_body = rot * float(units_scale)
    sd = _SkinData(gf, skin, mesh_transform)
    merged = _read_mesh(gf, sd)
    names = _joint_names(gf, sd)
    parents = sd.parents.copy()
    bind = sd.mesh_world @ np.linalg.inv(sd.ibm)
    positions = bind[:, :3, 3] @ to_body.T
    n_joints = len(names)
    if sd.needs_synthetic_root:
        root_name = SYNTHETIC_ROOT if SYNTHETIC_ROOT not in names else f"{SYNTHETIC_ROOT}_{n_joints}"
        parents = np.append(np.where(parents < 0, n_joints, parents), -1)
        names.append(root_name)
        positions = np.vstack([positions, np.zeros(3)])
    weights = _weight_matrix(merged["joints"], merged["weights"], len(names), gf)
    first, faces = _weld(merged, gf)
    group_names = _resolve_groups(names, gf, sd, groups)
    if sd.needs_synthetic_root and not (groups and names[-1] in groups):
        group_names[-1] = "root"
    skeleton = Skeleton(
        names=tuple(names),
        parents=parents,
        rest=anatomical_frames(positions, parents),
        groups=tuple(group_names),
        limits=limits_for_groups(group_names),
    )
    uvs = merged["uvs"]
    mesh = SkinnedMesh(
        vertices=(merged["positions"][first] @ to_body.T).astype(np.float32),
        faces=faces.astype(np.int32),
        weights=sp.csr_matrix(weights[first]),
        uvs=None if uvs is None else np.column_stack([uvs[:, 0], 1.0 - uvs[:, 1]]).astype(np.float32),
        face_uvs=None if uvs is None else merged["faces"].astype(np.int32),
    )
    body_landmarks = _resolve_landmarks(gf, sd, landmarks, float(units_scale), names, mesh.n_vertices)
    name = ((gf.doc.asset.extras or {}).get(BODY_KEY) or {}).get("name") or gf.path.stem
    return Body(name=str(name), skeleton=skeleton, mesh=mesh, landmarks=body_landmarks, source=str(gf.path))


def read_gltf_pose(
    path: str | Path,
    body: Body,
    skin: int = 0,
    units_scale: float = 1.0,
    up_axis: str = "y",
    forward_axis: str = "z",
    mesh_transform: bool = False,
) -> Pose:
    """The pose a file's node graph holds, for ``body`` loaded (with the same options) from this file or from
    a file with the same skin and bind pose (the rest file of an animated copy).

    The glTF skinning matrices ``jointWorld @ inverseBindMatrix`` are carried into the body frame and the
    Pose's joint frames are matched to them: the root joint's transform becomes ``Pose.root`` and every other
    joint gets the local rotation that gives its frame the same world rotation. Scale, shear and the
    translation of joints other than the root are dropped (a Pose cannot hold them).

    Returns:
        a one-frame :class:`Pose`.
    """
    gf = _GltfFile(path)
    to_body = rigid(file_to_body_rotation(up_axis, forward_axis, gf.path) * float(units_scale), np.zeros(3))
    sd = _SkinData(gf, skin, mesh_transform)
    n = len(sd.joints)
    sk = body.skeleton
    if sk.n_joints not in (n, n + 1):
        raise PoseError(f"{gf.path}: skin {skin} has {n} joints but body {body.name!r} has {sk.n_joints}")
    skin_mats = gf.world[sd.joints] @ sd.ibm @ np.linalg.inv(sd.mesh_world)
    mats = to_body @ skin_mats @ np.linalg.inv(to_body)
    if sk.n_joints == n + 1:  # the synthetic root follows the first real root
        mats = np.concatenate([mats, mats[np.flatnonzero(sd.parents < 0)[:1]]])
    skin_rot = _polar_rotation(mats[:, :3, :3])
    world_rot = skin_rot @ sk.rest[:, :3, :3]
    rotations = np.broadcast_to(np.eye(3), (sk.n_joints, 3, 3)).copy()
    child = np.flatnonzero(sk.parents >= 0)
    parent_rot = world_rot[sk.parents[child]] @ sk.local_rest[child, :3, :3]
    rotations[child] = np.swapaxes(parent_rot, -1, -2) @ world_rot[child]
    r = sk.root
    root = rigid(skin_rot[r], mats[r, :3, 3])
    return Pose(root[None], rotations[None])


# --- saving -------------------------------------------------------------------------------------------------
class _BinaryBuilder:
    """Collects arrays into one buffer (4-byte aligned views) and describes them as glTF accessors."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[pygltflib.BufferView] = []
        self.accessors: list[pygltflib.Accessor] = []

    def add(self, array: np.ndarray, kind: str, target: int | None = None, with_bounds: bool = False) -> int:
        component = {"f4": 5126, "u4": 5125, "u2": 5123, "u1": 5121}
        ctype = component[array.dtype.str[1:]]
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        self.blob += b"\0" * (-len(self.blob) % 4)
        data = array.tobytes()
        self.views.append(
            pygltflib.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data), target=target)
        )
        self.blob += data
        count = array.shape[0]
        acc = pygltflib.Accessor(
            bufferView=len(self.views) - 1, byteOffset=0, componentType=ctype, count=count, type=kind
        )
        if with_bounds:
            flat = array.reshape(count, -1)
            acc.min = [float(x) for x in flat.min(axis=0)]
            acc.max = [float(x) for x in flat.max(axis=0)]
        self.accessors.append(acc)
        return len(self.accessors) - 1


def _split_by_uv(mesh: SkinnedMesh) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """glTF vertices: ``(body vertex of each, uv index of each or None, faces into them)``.

    glTF has one index per corner, so a body vertex with several texture coordinates becomes several vertices.
    Vertices that no face uses are kept so that vertex ids survive.
    """
    n = mesh.n_vertices
    if mesh.uvs is None or mesh.face_uvs is None:
        per_vertex = mesh.uvs is not None and len(mesh.uvs) == n
        return np.arange(n), (np.arange(n) if per_vertex else None), mesh.faces
    corners = np.stack([mesh.faces.ravel(), mesh.face_uvs.ravel()], axis=1).astype(np.int64)
    unused = np.setdiff1d(np.arange(n), corners[:, 0])
    corners = np.vstack([corners, np.column_stack([unused, np.zeros_like(unused)])])
    pairs, inverse = np.unique(corners, axis=0, return_inverse=True)
    faces = inverse.ravel()[: mesh.faces.size].reshape(-1, 3)
    return pairs[:, 0], pairs[:, 1], faces


def _influences(weights: sp.csr_matrix, max_influences: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``(V, K)`` joint indices and weights per vertex, largest first, ``K`` a multiple of 4 (zero padded)."""
    w = sp.csr_matrix(weights)
    w.eliminate_zeros()
    counts = np.diff(w.indptr)
    rows = np.repeat(np.arange(w.shape[0]), counts)
    order = np.lexsort((-w.data, rows))
    slot = np.arange(len(order)) - w.indptr[rows[order]]
    k = int(counts.max()) if counts.size else 1
    joints = np.zeros((w.shape[0], k), dtype=np.int64)
    values = np.zeros((w.shape[0], k), dtype=np.float64)
    joints[rows[order], slot] = w.indices[order]
    values[rows[order], slot] = w.data[order]
    if max_influences is not None and max_influences < k:
        joints, values = joints[:, :max_influences], values[:, :max_influences]
        values /= values.sum(axis=1, keepdims=True)
    pad = -joints.shape[1] % 4
    return np.pad(joints, ((0, 0), (0, pad))), np.pad(values, ((0, 0), (0, pad)))


def _landmark_extras(landmarks: Mapping[str, KeypointDef]) -> dict:
    out = {}
    for name, kp in landmarks.items():
        if kp.on_skin:
            entry = {"vertices": [int(v) for v in kp.vertices]}
            if kp.weights:
                entry["weights"] = [float(w) for w in kp.weights]
        else:
            entry = {"joint": kp.joint, "offset": [float(x) for x in kp.offset]}
        out[name] = entry
    return out


def _joint_nodes(body: Body, pose: Pose | None, body_to_file: np.ndarray) -> list[pygltflib.Node]:
    sk = body.skeleton
    local = sk.local_rest.copy()
    if pose is not None:
        local[:, :3, :3] = local[:, :3, :3] @ pose.rotations[0]
    root = sk.root
    local[root] = body_to_file @ (np.eye(4) if pose is None else pose.root[0]) @ local[root]
    quats = Rotation.from_matrix(_polar_rotation(local[:, :3, :3])).as_quat()  # (x, y, z, w), as glTF
    nodes = []
    for j, name in enumerate(sk.names):
        nodes.append(
            pygltflib.Node(
                name=name,
                translation=[float(x) for x in local[j, :3, 3]],
                rotation=[float(x) for x in quats[j]],
                children=[int(c) for c in np.flatnonzero(sk.parents == j)],
                extras={GROUP_KEY: sk.groups[j]},
            )
        )
    return nodes


def save_gltf(
    body: Body,
    path: str | Path,
    pose: Pose | None = None,
    up_axis: str = "y",
    forward_axis: str = "z",
    max_influences: int | None = None,
) -> Path:
    """Write ``body`` as a skinned glTF 2.0 file: ``.glb`` (binary) or ``.gltf`` (JSON, embedded buffer).

    Args:
        body: the body.
        path: the output file; written atomically.
        pose: an optional one-frame pose to put into the node graph (the bind pose stays in the inverse bind
            matrices); default: the rest pose.
        up_axis, forward_axis: the file axes for body up and forward (glTF convention by default).
        max_influences: keep at most this many of the largest weights per vertex and renormalize (None: keep
            all, using as many ``JOINTS_n``/``WEIGHTS_n`` sets as needed).

    Returns:
        the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".glb", ".gltf"):
        raise OutputError(f"{path}: unknown suffix {path.suffix!r}; allowed: .glb, .gltf")
    sk = body.skeleton
    if pose is not None and (pose.n_frames != 1 or pose.n_joints != sk.n_joints):
        raise PoseError(
            f"{path}: save_gltf needs a one-frame pose of {sk.n_joints} joints, got "
            f"{pose.n_frames} frames of {pose.n_joints} joints"
        )
    if max_influences is not None and max_influences < 1:
        raise OutputError(f"{path}: max_influences must be >= 1 or None, got {max_influences}")
    if sk.n_joints > 65536:
        raise OutputError(f"{path}: glTF allows 65536 joints at most; the body has {sk.n_joints}")
    to_file = rigid(file_to_body_rotation(up_axis, forward_axis, path).T, np.zeros(3))
    vertex_of, uv_of, faces = _split_by_uv(body.mesh)
    if len(vertex_of) >= 1 << 24:
        raise OutputError(f"{path}: {len(vertex_of)} glTF vertices; at most 2**24 can carry exact vertex ids")
    validate_weights(body.mesh.weights, str(path))
    joints, weights = _influences(body.mesh.weights[vertex_of], max_influences)

    bb = _BinaryBuilder()
    positions = (body.mesh.vertices[vertex_of].astype(np.float64) @ to_file[:3, :3].T).astype(np.float32)
    attributes = {"POSITION": bb.add(positions, "VEC3", _ARRAY_BUFFER, with_bounds=True)}
    if uv_of is not None:
        uv = body.mesh.uvs[uv_of]
        flipped = np.column_stack([uv[:, 0], 1.0 - uv[:, 1]]).astype(np.float32)
        attributes["TEXCOORD_0"] = bb.add(flipped, "VEC2", _ARRAY_BUFFER)
    joint_dtype = np.uint8 if sk.n_joints <= 256 else np.uint16
    for s in range(joints.shape[1] // 4):
        cols = slice(4 * s, 4 * s + 4)
        attributes[f"JOINTS_{s}"] = bb.add(joints[:, cols].astype(joint_dtype), "VEC4", _ARRAY_BUFFER)
        attributes[f"WEIGHTS_{s}"] = bb.add(weights[:, cols].astype(np.float32), "VEC4", _ARRAY_BUFFER)
    if not np.array_equal(vertex_of, np.arange(body.mesh.n_vertices)):
        attributes[VERTEX_ID_ATTRIBUTE] = bb.add(vertex_of.astype(np.float32), "SCALAR", _ARRAY_BUFFER)
    index_dtype = np.uint16 if len(vertex_of) < 65535 else np.uint32
    indices = bb.add(faces.ravel().astype(index_dtype), "SCALAR", _ELEMENT_ARRAY_BUFFER)
    ibm = invert_rigid(to_file @ sk.rest)
    column_major = np.ascontiguousarray(ibm.transpose(0, 2, 1)).reshape(-1, 16)
    ibm_accessor = bb.add(column_major.astype(np.float32), "MAT4")

    nodes = _joint_nodes(body, pose, to_file)
    mesh_node = len(nodes)
    nodes.append(pygltflib.Node(name=body.name, mesh=0, skin=0))
    doc = pygltflib.GLTF2(
        asset=pygltflib.Asset(generator="synthmouse", extras={BODY_KEY: {"name": body.name}}),
        scene=0,
        scenes=[pygltflib.Scene(nodes=[sk.root, mesh_node])],
        nodes=nodes,
        meshes=[
            pygltflib.Mesh(
                name=body.name,
                primitives=[
                    pygltflib.Primitive(attributes=pygltflib.Attributes(**attributes), indices=indices, mode=4)
                ],
            )
        ],
        skins=[
            pygltflib.Skin(
                name=f"{body.name}_skin",
                joints=list(range(sk.n_joints)),
                inverseBindMatrices=ibm_accessor,
                skeleton=sk.root,
                extras={LANDMARKS_KEY: _landmark_extras(body.landmarks)},
            )
        ],
        accessors=bb.accessors,
        bufferViews=bb.views,
        buffers=[pygltflib.Buffer(byteLength=len(bb.blob))],
    )
    blob = bytes(bb.blob)
    with atomic_path(path) as tmp:
        if suffix == ".glb":
            doc.set_binary_blob(blob)
            doc.save_binary(str(tmp))
        else:
            encoded = base64.b64encode(blob).decode("ascii")
            doc.buffers[0].uri = "data:application/octet-stream;base64," + encoded
            doc.save_json(str(tmp))
    return path
