"""A tongue for bodies whose skeleton has tongue joints but whose skin has no tongue (SAM, the parametric mouse).

The tongue is a flattened ellipsoid, a closed mesh of its own appended to the body's mesh, lying on the floor of
the closed mouth (hidden inside the head in the rest pose) and skinned to the ``tongue`` joints: each vertex
blends the tongue joints by where it lies along the tongue (hat weights between the joints' projections). Licking
(:class:`synthmouse.motion.behaviours.ReachSpec` with ``effector: tongue``) opens the jaw and rotates the tongue
joints so that the tip leaves the mouth. A skin landmark ``tongue_tip`` (the front of the ellipsoid) is added.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import ModelFormatError
from .keypoints import KeypointDef
from .mesh import SkinnedMesh
from .model import Body
from .skeleton import Skeleton, anatomical_frames

TIP_LANDMARK = "tongue_tip"
TONGUE_SUBDIVISIONS = 3
TONGUE_VERTICES = 10 * 4**TONGUE_SUBDIVISIONS + 2  # of an icosphere


@dataclass(frozen=True)
class TongueShape:
    """Where the tongue lies in the rest pose (body frame, metres).

    Attributes:
        back, front: ``(3,)`` the ends of its long axis.
        half_width: half its width (lateral).
        half_thickness: half its thickness (vertical).
        pivot: where to add a joint (``tongue_pivot``, group ``tongue``, child of the head: the parent of the
            tongue chain, or of the jaw when that is the parent) that carries the whole tongue; placed well below
            the mouth, rotating it slides the tongue forward out of the mouth (protrusion; joints only rotate).
            None: skin to the existing tongue joints.
    """

    back: tuple[float, float, float]
    front: tuple[float, float, float]
    half_width: float
    half_thickness: float
    pivot: tuple[float, float, float] | None = None


PIVOT_JOINT = "tongue_pivot"


def tongue_mesh(
    shape: TongueShape, subdivisions: int = TONGUE_SUBDIVISIONS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(vertices (V, 3), faces (T, 3), u (V,))`` of a closed ellipsoid along ``back -> front``; ``u`` is each
    vertex's position along the axis (0 at the back, 1 at the front). Faces wind counter-clockwise outside."""
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    unit = np.asarray(sphere.vertices, dtype=np.float64)
    back, front = np.asarray(shape.back, float), np.asarray(shape.front, float)
    axis = front - back
    length = float(np.linalg.norm(axis))
    if length <= 0 or shape.half_width <= 0 or shape.half_thickness <= 0:
        raise ModelFormatError("<tongue>", f"tongue needs a positive length, width and thickness: {shape}")
    x = axis / length
    y = np.cross([0.0, 0.0, 1.0], x)
    y = y / np.linalg.norm(y) if np.linalg.norm(y) > 1e-9 else np.array([0.0, 1.0, 0.0])
    z = np.cross(x, y)
    local = unit * [0.5 * length, shape.half_width, shape.half_thickness]
    vertices = 0.5 * (back + front) + local @ np.stack([x, y, z])
    u = 0.5 * (unit[:, 0] + 1.0)
    return vertices, np.asarray(sphere.faces, dtype=np.int64), u


def tongue_weights(body: Body, vertices: np.ndarray, u: np.ndarray, shape: TongueShape) -> sp.csr_matrix:
    """``(V, J)`` skinning weights of tongue vertices: hat functions over the tongue joints' positions projected
    on the tongue's axis (all weight on the one joint when there is one)."""
    joints = body.skeleton.joints_in_group("tongue")
    if joints.size == 0:
        raise ModelFormatError(body.source or body.name, "the skeleton has no joint in group 'tongue'")
    if shape.pivot is not None:
        joints = np.array([body.skeleton.names.index(PIVOT_JOINT)])
    back, front = np.asarray(shape.back, float), np.asarray(shape.front, float)
    axis = front - back
    at = np.clip((body.skeleton.rest[joints, :3, 3] - back) @ axis / (axis @ axis), 0.0, 1.0)
    order = np.argsort(at, kind="stable")
    joints, at = joints[order], at[order]
    n = len(vertices)
    if joints.size == 1:
        cols, vals, rows = np.full(n, joints[0]), np.ones(n), np.arange(n)
    else:
        k = np.clip(np.searchsorted(at, u, side="right") - 1, 0, len(at) - 2)
        span = np.maximum(at[k + 1] - at[k], 1e-9)
        t = np.clip((u - at[k]) / span, 0.0, 1.0)
        rows = np.concatenate([np.arange(n), np.arange(n)])
        cols = np.concatenate([joints[k], joints[k + 1]])
        vals = np.concatenate([1.0 - t, t])
    weights = sp.csr_matrix((vals, (rows, cols)), shape=(n, body.skeleton.n_joints))
    weights.eliminate_zeros()
    return weights


def with_pivot_joint(body: Body, pivot: np.ndarray) -> Body:
    """``body`` with a joint :data:`PIVOT_JOINT` (group ``tongue``, the limits of the first tongue joint) at
    ``pivot``, a child of the head (see :class:`TongueShape`), its frame by the anatomical rules (a leaf: x from
    the parent to it)."""
    sk = body.skeleton
    tongue = sk.joints_in_group("tongue")
    if tongue.size == 0:
        raise ModelFormatError(body.source or body.name, "the skeleton has no joint in group 'tongue'")
    depth = {int(j): d for d, level in enumerate(sk.levels) for j in level}
    first = int(min(tongue, key=lambda j: depth[int(j)]))  # the root of the tongue chain
    parent = int(sk.parents[first])
    if sk.groups[parent] == "jaw":  # the tongue slides out of the mouth on its own, not with the lower jaw
        parent = int(sk.parents[parent])
    parents = np.append(sk.parents, parent)
    positions = np.concatenate([sk.rest[:, :3, 3], pivot[None]])
    # the model's own frames, and for the new leaf the one a glTF or text reader would rebuild
    rest = np.concatenate([sk.rest, anatomical_frames(positions, parents)[-1:]])
    skeleton = Skeleton(
        names=sk.names + (PIVOT_JOINT,),
        parents=parents,
        rest=rest,
        groups=sk.groups + ("tongue",),
        limits=np.concatenate([sk.limits, sk.limits[first][None]]),
    )
    weights = body.mesh.weights
    shape = (weights.shape[0], len(skeleton.names))
    weights = sp.csr_matrix((weights.data, weights.indices, weights.indptr), shape=shape)
    mesh = dataclasses.replace(body.mesh, weights=weights)
    return dataclasses.replace(body, skeleton=skeleton, mesh=mesh)


def has_tongue_skin(body: Body) -> bool:
    """True if some vertex of the body is skinned mostly to a tongue joint."""
    joints = body.skeleton.joints_in_group("tongue")
    return bool(joints.size) and bool(np.isin(body.mesh.dominant_joint(), joints).any())


def with_tongue(body: Body, shape: TongueShape) -> Body:
    """``body`` with a tongue mesh appended (see the module docstring); unchanged if it already has one."""
    if has_tongue_skin(body):
        return body
    if shape.pivot is not None:
        body = with_pivot_joint(body, np.asarray(shape.pivot, dtype=np.float64))
    vertices, faces, u = tongue_mesh(shape)
    weights = tongue_weights(body, vertices, u, shape)
    mesh = body.mesh
    offset = mesh.n_vertices
    uvs, face_uvs = mesh.uvs, mesh.face_uvs
    if uvs is not None and face_uvs is not None:  # the tongue uses one texture coordinate: the first one
        face_uvs = np.concatenate([face_uvs, np.zeros((len(faces), 3), dtype=face_uvs.dtype)])
    new_mesh = SkinnedMesh(
        vertices=np.concatenate([mesh.vertices, vertices.astype(mesh.vertices.dtype)]),
        faces=np.concatenate([mesh.faces, (faces + offset).astype(mesh.faces.dtype)]),
        weights=sp.vstack([mesh.weights, weights.astype(mesh.weights.dtype)]).tocsr(),
        uvs=uvs,
        face_uvs=face_uvs,
    )
    tip = int(offset + np.argmax(u))
    landmarks = {**body.landmarks, TIP_LANDMARK: KeypointDef(TIP_LANDMARK, vertices=(tip,))}
    return dataclasses.replace(body, mesh=new_mesh, landmarks=landmarks)


def tongue_vertices(body: Body) -> np.ndarray:
    """``(V,) bool`` the vertices skinned mostly to tongue joints."""
    return np.isin(body.mesh.dominant_joint(), body.skeleton.joints_in_group("tongue"))


def without_tongue(body: Body) -> Body:
    """``body`` with the tongue's vertices and faces removed (the skin alone: closed for the parametric mouse);
    the skeleton is kept."""
    keep = ~tongue_vertices(body)
    if keep.all():
        return body
    mesh = body.mesh
    new_index = np.cumsum(keep) - 1
    face_keep = keep[mesh.faces].all(axis=1)
    landmarks = {k: v for k, v in body.landmarks.items() if not v.on_skin or keep[np.asarray(v.vertices)].all()}
    landmarks = {
        k: v if not v.on_skin else dataclasses.replace(v, vertices=tuple(int(new_index[i]) for i in v.vertices))
        for k, v in landmarks.items()
    }
    skin = SkinnedMesh(
        vertices=mesh.vertices[keep],
        faces=new_index[mesh.faces[face_keep]].astype(mesh.faces.dtype),
        weights=mesh.weights[np.flatnonzero(keep)].tocsr(),
        uvs=mesh.uvs,
        face_uvs=None if mesh.face_uvs is None else mesh.face_uvs[face_keep],
    )
    return dataclasses.replace(body, mesh=skin, landmarks=landmarks)
