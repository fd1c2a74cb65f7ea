"""Keypoint definitions: on the skin (weighted vertices) or on the skeleton (joint plus offset)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..errors import KeypointError


@dataclass(frozen=True)
class KeypointDef:
    """One keypoint.

    Exactly one of the two forms:

    * skin: ``vertices`` (ids into the body's mesh) with optional ``weights`` (default: equal); the keypoint is the
      weighted mean of the posed vertices, so it follows the surface;
    * skeleton: ``joint`` (name) with ``offset`` ``(3,)`` metres in the joint's anatomical frame.
    """

    name: str
    vertices: tuple[int, ...] = ()
    weights: tuple[float, ...] = ()
    joint: str | None = None
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if bool(self.vertices) == (self.joint is not None):
            raise KeypointError(f"keypoint {self.name!r}: give either 'vertices' or 'joint', not both or neither")
        if self.weights and len(self.weights) != len(self.vertices):
            raise KeypointError(
                f"keypoint {self.name!r}: {len(self.weights)} weights for {len(self.vertices)} vertices"
            )
        if self.weights and (min(self.weights) < 0 or sum(self.weights) <= 0):
            raise KeypointError(f"keypoint {self.name!r}: weights must be >= 0 with a positive sum")

    @property
    def on_skin(self) -> bool:
        return bool(self.vertices)


@dataclass(frozen=True)
class KeypointSet:
    """A named, ordered set of keypoints with skeleton edges (pairs of keypoint names) for drawing and export;
    ``label_hidden``: keypoints labelled at their projection even when occluded (internal landmarks)."""

    name: str
    keypoints: tuple[KeypointDef, ...]
    edges: tuple[tuple[str, str], ...] = ()
    label_hidden: tuple[str, ...] = ()
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(k.name for k in self.keypoints)
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise KeypointError(f"keypoint set {self.name!r}: duplicate keypoint names {dup}")
        for a, b in self.edges:
            for end in (a, b):
                if end not in names:
                    raise KeypointError(
                        f"keypoint set {self.name!r}: edge ({a}, {b}) names {end!r}, which is not one of {names}"
                    )
        stray = [n for n in self.label_hidden if n not in names]
        if stray:
            raise KeypointError(f"keypoint set {self.name!r}: label_hidden names {stray}, not among {names}")
        object.__setattr__(self, "names", names)

    def __len__(self) -> int:
        return len(self.keypoints)

    @property
    def edge_indices(self) -> np.ndarray:
        """``(E, 2) int`` edges as keypoint indices."""
        idx = {n: i for i, n in enumerate(self.names)}
        return np.array([(idx[a], idx[b]) for a, b in self.edges], dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True, eq=False)
class CompiledKeypoints:
    """A keypoint set bound to a body: arrays ready for vectorized evaluation.

    Attributes:
        skin_rows: indices of skin keypoints in the set.
        skin_matrix: ``(Ks, V)`` sparse CSR, rows summing to 1.
        joint_rows: indices of skeleton keypoints in the set.
        joints: ``(Kj,) int`` joint index per skeleton keypoint.
        offsets: ``(Kj, 3)`` offsets in the joint frames.
    """

    keypoint_set: KeypointSet
    skin_rows: np.ndarray
    skin_matrix: sp.csr_matrix
    joint_rows: np.ndarray
    joints: np.ndarray
    offsets: np.ndarray


def compile_keypoints(kset: KeypointSet, joint_names: tuple[str, ...], n_vertices: int) -> CompiledKeypoints:
    """Check a keypoint set against a body's joints and vertex count and build its evaluation arrays."""
    skin_rows, joint_rows, joints, offsets = [], [], [], []
    rows, cols, vals = [], [], []
    for i, kp in enumerate(kset.keypoints):
        if kp.on_skin:
            ids = np.asarray(kp.vertices, dtype=np.int64)
            if ids.min() < 0 or ids.max() >= n_vertices:
                bad = int(ids[(ids < 0) | (ids >= n_vertices)][0])
                raise KeypointError(
                    f"keypoint set {kset.name!r}, keypoint {kp.name!r}: vertex {bad} is outside 0..{n_vertices - 1}"
                )
            w = np.asarray(kp.weights or [1.0] * len(ids), dtype=np.float64)
            rows += [len(skin_rows)] * len(ids)
            cols += list(ids)
            vals += list(w / w.sum())
            skin_rows.append(i)
        else:
            if kp.joint not in joint_names:
                raise KeypointError(
                    f"keypoint set {kset.name!r}, keypoint {kp.name!r}: unknown joint {kp.joint!r}; "
                    f"joints are: {', '.join(joint_names)}"
                )
            joint_rows.append(i)
            joints.append(joint_names.index(kp.joint))
            offsets.append(kp.offset)
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(len(skin_rows), n_vertices))
    return CompiledKeypoints(
        kset,
        np.array(skin_rows, dtype=np.int64),
        matrix,
        np.array(joint_rows, dtype=np.int64),
        np.array(joints, dtype=np.int64),
        np.array(offsets, dtype=np.float64).reshape(-1, 3),
    )
