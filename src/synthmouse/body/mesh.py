"""Skinned mesh and linear-blend skinning, vectorized over frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import ModelFormatError
from .rotations import invert_rigid

WEIGHT_SUM_TOLERANCE = 0.01


@dataclass(frozen=True, eq=False)
class SkinnedMesh:
    """A triangle mesh bound to a skeleton.

    Attributes:
        vertices: ``(V, 3) float32`` rest-pose positions in the body frame (metres).
        faces: ``(T, 3) int32`` triangles, counter-clockwise seen from outside.
        weights: ``(V, J)`` sparse CSR skinning weights, each row summing to 1.
        uvs: ``(U, 2) float32`` texture coordinates, or None.
        face_uvs: ``(T, 3) int32`` indices into ``uvs`` per triangle corner, or None.
    """

    vertices: np.ndarray
    faces: np.ndarray
    weights: sp.csr_matrix
    uvs: np.ndarray | None = None
    face_uvs: np.ndarray | None = None

    def __post_init__(self) -> None:
        v = len(self.vertices)
        if self.weights.shape[0] != v:
            raise ModelFormatError("<mesh>", f"weights have {self.weights.shape[0]} rows for {v} vertices")
        if self.faces.size and (self.faces.min() < 0 or self.faces.max() >= v):
            raise ModelFormatError("<mesh>", f"face indices must lie in 0..{v - 1}")

    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    def dominant_joint(self) -> np.ndarray:
        """``(V,) int`` the joint with the largest weight for each vertex."""
        return np.asarray(self.weights.argmax(axis=1)).ravel()


def validate_weights(weights: sp.csr_matrix, source: str = "<weights>", lines: np.ndarray | None = None) -> None:
    """Raise :class:`ModelFormatError` if a vertex has no weights, NaN or negative weights, or a sum off 1."""
    data = weights.data
    if not np.isfinite(data).all():
        raise ModelFormatError(source, "skinning weights contain NaN or infinite values")
    if (data < 0).any():
        raise ModelFormatError(source, f"skinning weights must be >= 0, found {data.min():g}")
    sums = np.asarray(weights.sum(axis=1)).ravel()
    bad = np.flatnonzero(np.abs(sums - 1.0) > WEIGHT_SUM_TOLERANCE)
    if bad.size:
        v = int(bad[0])
        raise ModelFormatError(
            source,
            f"the weights of vertex {v} sum to {sums[v]:.4f}; allowed is 1 +/- {WEIGHT_SUM_TOLERANCE} "
            f"({bad.size} vertices are off)",
        )


def normalize_weights(weights: sp.csr_matrix) -> sp.csr_matrix:
    """Rows rescaled to sum to exactly 1."""
    sums = np.asarray(weights.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(1.0 / sums) @ weights)


def skinning_matrices(world: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """``(F, J, 3, 4)`` transforms that carry rest-pose points to the posed body: ``world @ inv(rest)``."""
    return np.matmul(world, invert_rigid(rest))[..., :3, :]


def dense_weights(weights: sp.csr_matrix, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """``(used joints (Ju,), dense (V, Ju) weights)``, cached on the matrix object (weights are immutable)."""
    key = f"_synthmouse_dense_{np.dtype(dtype).name}"
    cached = getattr(weights, key, None)
    if cached is None:
        used = np.unique(weights.indices)
        cached = (used, weights[:, used].toarray().astype(dtype))
        setattr(weights, key, cached)
    return cached


def linear_blend_skinning(
    vertices: np.ndarray,
    weights: sp.csr_matrix,
    skin: np.ndarray,
    dtype=np.float32,
    chunk: int = 256,
) -> np.ndarray:
    """Skin rest vertices ``(V, 3)`` with weights ``(V, J)`` and skinning matrices ``(F, J, 3, 4)``.

    Blends the 3 x 4 matrices per vertex first (one dense BLAS product over the joints that carry weight, for a
    chunk of frames at once), then transforms each vertex once. Dense beats sparse here: a mouse has ~100
    weighted joints, and BLAS turns the blend into one well-vectorized matrix product.

    Returns:
        ``(F, V, 3)`` posed vertices.
    """
    used, dense = dense_weights(weights, dtype)
    verts = vertices.astype(dtype)
    frames = skin.shape[0]
    out = np.empty((frames, len(verts), 3), dtype=dtype)
    x, y, z = (verts[:, None, i : i + 1] for i in range(3))
    for start in range(0, frames, chunk):
        mats = skin[start : start + chunk, used].astype(dtype)
        n = mats.shape[0]
        flat = np.ascontiguousarray(mats.transpose(1, 0, 2, 3).reshape(len(used), n * 12))
        blended = (dense @ flat).reshape(len(verts), n, 3, 4)
        posed = blended[..., 0] * x
        posed += blended[..., 1] * y
        posed += blended[..., 2] * z
        posed += blended[..., 3]
        out[start : start + n] = posed.transpose(1, 0, 2)
    return out
