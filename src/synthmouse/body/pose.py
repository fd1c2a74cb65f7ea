"""Poses: a root transform plus local joint rotations, vectorized over frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PoseError
from .rotations import angles_to_matrices, matrices_to_angles, rigid


@dataclass(frozen=True, eq=False)
class Pose:
    """A batch of ``F`` poses of a ``J``-joint skeleton.

    Attributes:
        root: ``(F, 4, 4) float64`` body-to-world transforms (the body frame's origin is on the floor under the
            pelvis, x forward, y left, z up).
        rotations: ``(F, J, 3, 3) float64`` local rotation of each joint relative to its rest orientation,
            expressed in the joint's anatomical frame. Identity everywhere is the rest pose.
    """

    root: np.ndarray
    rotations: np.ndarray

    def __post_init__(self) -> None:
        if self.root.ndim != 3 or self.root.shape[1:] != (4, 4):
            raise PoseError(f"Pose.root must have shape (F, 4, 4), got {self.root.shape}")
        if self.rotations.ndim != 4 or self.rotations.shape[2:] != (3, 3):
            raise PoseError(f"Pose.rotations must have shape (F, J, 3, 3), got {self.rotations.shape}")
        if self.rotations.shape[0] != self.root.shape[0]:
            raise PoseError(
                f"Pose.root has {self.root.shape[0]} frames but Pose.rotations has {self.rotations.shape[0]}"
            )
        if not (np.isfinite(self.root).all() and np.isfinite(self.rotations).all()):
            raise PoseError("Pose contains NaN or infinite values")

    @property
    def n_frames(self) -> int:
        return self.root.shape[0]

    @property
    def n_joints(self) -> int:
        return self.rotations.shape[1]

    def __len__(self) -> int:
        return self.n_frames

    def __getitem__(self, index) -> Pose:
        """Frames ``index`` (an int, slice or index array) as a new Pose; an int keeps the frame axis."""
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1) if index != -1 else slice(-1, None)
        return Pose(self.root[index], self.rotations[index])

    @property
    def angles(self) -> np.ndarray:
        """``(F, J, 3)`` joint angles (flex, lateral, twist) in radians."""
        return matrices_to_angles(self.rotations)

    @classmethod
    def rest(cls, n_joints: int, frames: int = 1) -> Pose:
        """The rest pose, with the body frame at the world origin."""
        root = np.broadcast_to(np.eye(4), (frames, 4, 4)).copy()
        rotations = np.broadcast_to(np.eye(3), (frames, n_joints, 3, 3)).copy()
        return cls(root, rotations)

    @classmethod
    def from_angles(
        cls,
        angles: np.ndarray,
        root_translation: np.ndarray | None = None,
        root_rotation: np.ndarray | None = None,
    ) -> Pose:
        """Build poses from ``(F, J, 3)`` joint angles and an optional root translation ``(F, 3)`` and rotation
        ``(F, 3, 3)`` (identity and zero by default)."""
        angles = np.asarray(angles, dtype=np.float64)
        if angles.ndim != 3 or angles.shape[2] != 3:
            raise PoseError(f"joint angles must have shape (F, J, 3), got {angles.shape}")
        frames = angles.shape[0]
        trans = np.zeros((frames, 3)) if root_translation is None else np.asarray(root_translation, float)
        rot = np.broadcast_to(np.eye(3), (frames, 3, 3)) if root_rotation is None else np.asarray(root_rotation)
        return cls(
            rigid(np.broadcast_to(rot, (frames, 3, 3)), np.broadcast_to(trans, (frames, 3))),
            angles_to_matrices(angles),
        )

    @staticmethod
    def concatenate(poses: list[Pose]) -> Pose:
        """Join pose batches along the frame axis."""
        return Pose(np.concatenate([p.root for p in poses]), np.concatenate([p.rotations for p in poses]))
