"""The Body: skeleton + skinned mesh + anatomical landmarks, with vectorized posing."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import KeypointError
from .groups import PART_OF_GROUP, PARTS
from .keypoint_sets import resolve_keypoint_set
from .keypoints import CompiledKeypoints, KeypointDef, KeypointSet, compile_keypoints
from .mesh import SkinnedMesh, apply_skinning_operator, skinning_matrices, skinning_operator
from .pose import Pose
from .skeleton import Skeleton


@dataclass(frozen=True, eq=False)
class Body:
    """An articulated, skinned mouse.

    Attributes:
        name: model name (``sam``, ``parametric``, or a file name).
        skeleton: the joint tree.
        mesh: the skinned surface.
        landmarks: anatomical landmarks this body defines, by canonical name (``nose``, ``left_ear_tip`` ...);
            built-in keypoint sets are resolved through them.
        source: where the model came from (a path, or a description).
    """

    name: str
    skeleton: Skeleton
    mesh: SkinnedMesh
    landmarks: dict[str, KeypointDef] = field(default_factory=dict)
    source: str = ""
    _compiled: dict = field(default_factory=dict, init=False, repr=False)

    # --- posing ---------------------------------------------------------------------------------------------
    def rest_pose(self, frames: int = 1) -> Pose:
        return Pose.rest(self.skeleton.n_joints, frames)

    def world_frames(self, pose: Pose) -> np.ndarray:
        """``(F, J, 4, 4)`` joint frames in the world."""
        if pose.n_joints != self.skeleton.n_joints:
            raise KeypointError(f"pose has {pose.n_joints} joints but body {self.name!r} has {self.skeleton.n_joints}")
        return self.skeleton.forward_kinematics(pose.rotations, pose.root)

    def skin(self, pose: Pose, world: np.ndarray | None = None) -> np.ndarray:
        """``(F, V, 3) float32`` posed vertices in the world."""
        world = self.world_frames(pose) if world is None else world
        mats = skinning_matrices(world, self.skeleton.rest)
        return apply_skinning_operator(self._skinning_operator(np.float32), mats)

    def _skinning_operator(self, dtype):
        """The mesh's :func:`~synthmouse.body.mesh.skinning_operator` ``(V, 4 J)``, built once per dtype."""
        key = ("lbs", np.dtype(dtype).name)
        if key not in self._compiled:
            self._compiled[key] = skinning_operator(self.mesh.vertices, self.mesh.weights, dtype)
        return self._compiled[key]

    # --- keypoints ------------------------------------------------------------------------------------------
    def keypoint_set(self, name: str | KeypointSet) -> KeypointSet:
        """A built-in keypoint set resolved on this body (``mouse22``, ``dlc-topview`` ...), or ``name``."""
        if isinstance(name, KeypointSet):
            return name
        key = ("set", name)
        if key not in self._compiled:  # resolved once per body: built-in sets are immutable
            self._compiled[key] = resolve_keypoint_set(name, self)
        return self._compiled[key]

    def compiled_keypoints(self, kset: str | KeypointSet) -> CompiledKeypoints:
        kset = self.keypoint_set(kset)
        key = ("compiled", kset)  # KeypointSet is frozen and hashed by value
        if key not in self._compiled:
            self._compiled[key] = compile_keypoints(kset, self.skeleton.names, self.mesh.n_vertices)
        return self._compiled[key]

    def keypoints(self, pose: Pose, kset: str | KeypointSet, world: np.ndarray | None = None) -> np.ndarray:
        """``(F, K, 3) float64`` world positions of the keypoints of ``kset`` for each pose."""
        compiled = self.compiled_keypoints(kset)
        world = self.world_frames(pose) if world is None else world
        out = np.zeros((pose.n_frames, len(compiled.keypoint_set), 3))
        if compiled.joint_rows.size:
            frames = world[:, compiled.joints]
            out[:, compiled.joint_rows] = (
                np.einsum("fkij,kj->fki", frames[..., :3, :3], compiled.offsets) + frames[..., :3, 3]
            )
        if compiled.skin_rows.size:
            mats = skinning_matrices(world, self.skeleton.rest)
            out[:, compiled.skin_rows] = apply_skinning_operator(self._skin_keypoint_operator(compiled), mats)
        return out

    def _skin_keypoint_operator(self, compiled: CompiledKeypoints):
        """``(Ks, 4 J)`` float64 operator of the skin keypoints: vertex weights times the mesh operator."""
        key = ("skin", id(compiled))  # compiled sets live in the same cache, so the id is not reused
        if key not in self._compiled:
            self._compiled[key] = (compiled.skin_matrix @ self._skinning_operator(np.float64)).tocsr()
        return self._compiled[key]

    # --- parts ----------------------------------------------------------------------------------------------
    def vertex_parts(self) -> np.ndarray:
        """``(V,) uint8`` body-part id (index into :data:`synthmouse.body.groups.PARTS`) of each vertex."""
        joint_part = np.array(
            [PARTS.index(PART_OF_GROUP.get(g, "trunk")) for g in self.skeleton.groups], dtype=np.uint8
        )
        return joint_part[self.mesh.dominant_joint()]

    @property
    def length(self) -> float:
        """Rest-pose nose-to-tail-base distance in metres (from the ``nose`` and ``tail_root`` landmarks)."""
        pts = self.keypoints(
            self.rest_pose(), KeypointSet("length", (self.landmarks["nose"], self.landmarks["tail_root"]))
        )
        return float(np.linalg.norm(pts[0, 0] - pts[0, 1]))
