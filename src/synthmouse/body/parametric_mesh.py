"""Polygonize the parametric mouse's implicit surface and compute its skinning weights.

Pipeline (millimetres): evaluate the signed-distance field on a coarse grid, re-evaluate it exactly on a fine
grid only in a narrow band around the surface, extract the zero level set with marching cubes
(``skimage.measure.marching_cubes``), relax it with a few Taubin steps and decimate it with quadric edge
collapse (``fast_simplification``). Skinning weights are seeded per primitive (or along the axial and tail
joint chains), diffused over the mesh graph for a smooth falloff at joints, and cut to the strongest four per
vertex.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import parametric_design as design
from .parametric_design import Part, Sweep, smooth_min

BLOCK = 4  # fine samples per coarse cell along each axis
FAR = 1.0e3  # field value far from every primitive (mm)


@dataclass(frozen=True, eq=False)
class Field:
    """The mouse's signed-distance field: a sweep plus parts, with a flat table of primitives.

    Attributes:
        sweep: the trunk-and-head sweep (primitive 0).
        parts: the other parts, united in order.
        primitives: ``[sweep, *part primitives]``.
        part_of: ``(P,) int`` part index of each primitive (-1 for the sweep).
        lo, hi: ``(P, 3)`` bounds of each primitive.
    """

    sweep: Sweep
    parts: tuple[Part, ...]
    primitives: tuple
    part_of: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def build(cls, sweep: Sweep, parts: list[Part]) -> Field:
        prims, part_of = [sweep], [-1]
        for i, part in enumerate(parts):
            prims += list(part.primitives)
            part_of += [i] * len(part.primitives)
        bounds = [p.bounds() for p in prims]
        return cls(
            sweep,
            tuple(parts),
            tuple(prims),
            np.array(part_of),
            np.array([b[0] for b in bounds]),
            np.array([b[1] for b in bounds]),
        )

    def bounds(self, margin: float) -> tuple[np.ndarray, np.ndarray]:
        return self.lo.min(axis=0) - margin, self.hi.max(axis=0) + margin

    def evaluate(self, blocks: np.ndarray, margin: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
        """Field values and dominant primitive at points grouped in blocks.

        Args:
            blocks: ``(B, n, 3) float64`` points (mm), grouped so that each block is spatially compact
                (only the primitives whose bounds come within ``margin`` plus the part's blend radii of a
                block are evaluated there; farther away they cannot change the field by more than the blend).

        Returns:
            ``(B, n) float64`` signed distance (negative inside) and ``(B, n) int`` index of the primitive
            with the smallest raw distance.
        """
        b_lo, b_hi = blocks.min(axis=1), blocks.max(axis=1)
        shape = blocks.shape[:2]
        value = np.full(shape, FAR)
        best = np.full(shape, FAR)
        label = np.zeros(shape, dtype=np.int64)
        groups = [(range(0, 1), 0.0, 0.0)]
        start = 1
        for part in self.parts:
            groups.append((range(start, start + len(part.primitives)), part.k_inner, part.k_body))
            start += len(part.primitives)
        block_pos = np.full(len(blocks), -1)
        for ids, k_inner, k_body in groups:
            reach = margin + k_inner + k_body
            touched = [
                np.flatnonzero(np.all((b_lo <= self.hi[i] + reach) & (b_hi >= self.lo[i] - reach), axis=1)) for i in ids
            ]
            union = np.unique(np.concatenate(touched))
            if union.size == 0:
                continue
            block_pos[union] = np.arange(len(union))
            pts = blocks[union]
            part_value = np.full((len(union), shape[1]), FAR)
            part_best = best[union]
            part_label = label[union]
            for i, t in zip(ids, touched, strict=True):
                if t.size == 0:
                    continue
                rows = block_pos[t]
                d = self.primitives[i].sdf(pts[rows].reshape(-1, 3)).reshape(len(rows), -1)
                part_value[rows] = smooth_min(part_value[rows], d, k_inner)
                closer = d < part_best[rows]
                part_best[rows] = np.where(closer, d, part_best[rows])
                part_label[rows] = np.where(closer, i, part_label[rows])
            best[union], label[union] = part_best, part_label
            value[union] = smooth_min(value[union], part_value, k_body)
        return value, label


def _grid_blocks(origin: np.ndarray, step: float, shape: tuple[int, int, int], index: np.ndarray) -> np.ndarray:
    """``(B, BLOCK**3, 3)`` points of the fine samples of coarse cells ``index (B, 3)``."""
    local = np.stack(np.meshgrid(*(np.arange(BLOCK),) * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    fine_index = index[:, None, :] * BLOCK + local[None]
    return origin + fine_index * step


def polygonize(field: Field, voxel: float = 0.25, band: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Triangle mesh ``(V, 3) float64, (T, 3) int64`` of the field's zero level set (mm), outward-facing.

    Args:
        voxel: fine grid spacing (mm); the coarse grid is ``BLOCK`` times coarser.
        band: half-width (mm) of the band around the coarse surface that is re-evaluated on the fine grid.
    """
    from skimage.measure import marching_cubes

    coarse_step = voxel * BLOCK
    lo, hi = field.bounds(margin=2 * coarse_step)
    cells = np.ceil((hi - lo) / coarse_step).astype(int)
    # Coarse values at the cell corners, evaluated block-wise (each block is one cell's BLOCK^3 corner patch).
    corner_shape = tuple(int(c) + 1 for c in cells)
    super_cells = np.stack(
        np.meshgrid(*(np.arange(-(-s // BLOCK)) for s in corner_shape), indexing="ij"), axis=-1
    ).reshape(-1, 3)
    pts = _grid_blocks(lo, coarse_step, corner_shape, super_cells)
    coarse_vals, _ = field.evaluate(pts)
    padded = tuple(-(-s // BLOCK) * BLOCK for s in corner_shape)
    coarse = np.empty(padded)
    idx = (
        super_cells[:, None, :] * BLOCK
        + np.stack(np.meshgrid(*(np.arange(BLOCK),) * 3, indexing="ij"), -1).reshape(-1, 3)[None]
    )
    coarse[idx[..., 0], idx[..., 1], idx[..., 2]] = coarse_vals
    coarse = coarse[: corner_shape[0], : corner_shape[1], : corner_shape[2]]
    # Active cells: a corner near the surface or a sign change. A cell's fine samples stop one short of its
    # far
    # corners, which belong to the next cells: activate those too.
    corners = [
        coarse[i : i + cells[0], j : j + cells[1], k : k + cells[2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)
    ]
    stack = np.stack(corners)
    near = (np.abs(stack).min(axis=0) < band) | ((stack.min(axis=0) < 0) & (stack.max(axis=0) > 0))
    active = near.copy()
    for i, j, k in ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1)):
        active[i:, j:, k:] |= near[: cells[0] - i, : cells[1] - j, : cells[2] - k]
    # Fine grid: nearest-coarse values everywhere, exact values in the active cells.
    fine_shape = tuple(int(c) * BLOCK + 1 for c in cells)
    blocks_of_fine = np.empty((coarse.shape[0], BLOCK, coarse.shape[1], BLOCK, coarse.shape[2], BLOCK), np.float32)
    blocks_of_fine[:] = coarse[:, None, :, None, :, None]
    fine = blocks_of_fine.reshape(coarse.shape[0] * BLOCK, coarse.shape[1] * BLOCK, coarse.shape[2] * BLOCK)
    fine = np.ascontiguousarray(fine[: fine_shape[0], : fine_shape[1], : fine_shape[2]])
    active_cells = np.argwhere(active)
    values, _ = field.evaluate(_grid_blocks(lo, voxel, fine_shape, active_cells))
    fidx = (
        active_cells[:, None, :] * BLOCK
        + np.stack(np.meshgrid(*(np.arange(BLOCK),) * 3, indexing="ij"), -1).reshape(-1, 3)[None]
    )
    fine[fidx[..., 0], fidx[..., 1], fidx[..., 2]] = values
    verts, faces, _, _ = marching_cubes(fine, 0.0, spacing=(voxel,) * 3, allow_degenerate=False)
    verts = verts.astype(np.float64) + lo
    if _signed_volume(verts, faces) < 0:
        faces = faces[:, ::-1]
    return verts, faces.astype(np.int64)


def _signed_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    tri = verts[faces]
    return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0)


def decimate(verts: np.ndarray, faces: np.ndarray, target_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadric edge-collapse decimation to about ``target_faces`` triangles."""
    import fast_simplification

    v, f = fast_simplification.simplify(verts, faces.astype(np.int32), target_count=target_faces, agg=5.0)
    return np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64)


def vertex_adjacency(n_vertices: int, faces: np.ndarray) -> sp.csr_matrix:
    """``(V, V)`` symmetric 0/1 adjacency of the mesh's edges."""
    i = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2]])
    j = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0]])
    a = sp.csr_matrix((np.ones(len(i)), (i, j)), shape=(n_vertices, n_vertices))
    a = ((a + a.T) > 0).astype(np.float64)
    return sp.csr_matrix(a)


def taubin_smooth(
    verts: np.ndarray, faces: np.ndarray, steps: int = 6, lam: float = 0.5, mu: float = -0.53
) -> np.ndarray:
    """Taubin (lambda/mu) smoothing with uniform weights: removes faceting without shrinking."""
    adj = vertex_adjacency(len(verts), faces)
    deg = np.asarray(adj.sum(axis=1)).ravel()
    avg = sp.diags(1.0 / deg) @ adj
    v = verts.copy()
    for _ in range(steps):
        v = v + lam * (avg @ v - v)
        v = v + mu * (avg @ v - v)
    return v


def clean_decimated(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove what quadric decimation can leave behind: pairs of coincident faces (zero-volume flaps),
    degenerate faces and unreferenced vertices."""
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 2] != faces[:, 0])]
    key = np.sort(faces, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    faces = faces[counts[inverse.ravel()] == 1]
    used = np.unique(faces)
    remap = np.full(len(verts), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return verts[used], remap[faces]


def axial_hat_weights(x: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear-blend weights along a chain: for positions ``x (N,)`` and increasing bone centres ``(B,)``,
    ``(N, 2)`` bone indices and ``(N, 2)`` weights (clamped to the first/last bone beyond the ends)."""
    xc = np.clip(x, centres[0], centres[-1])
    hi = np.clip(np.searchsorted(centres, xc, side="right"), 1, len(centres) - 1)
    lo = hi - 1
    t = (xc - centres[lo]) / (centres[hi] - centres[lo])
    return np.stack([lo, hi], axis=1), np.stack([1.0 - t, t], axis=1)


def skinning_weights(
    verts: np.ndarray,
    faces: np.ndarray,
    field: Field,
    label: np.ndarray,
    names: tuple[str, ...],
    parents: np.ndarray,
    positions: np.ndarray,
    max_influences: int = 4,
    diffusion_steps: int = 10,
) -> sp.csr_matrix:
    """``(V, J)`` skinning weights, rows summing to 1.

    Seeds: a vertex dominated by a limb, ear, eye or chin primitive belongs to that primitive's joint; a trunk
    vertex blends linearly between the axial bones by its x (:data:`AXIAL_CENTRES`); a tail vertex blends
    between the tail bones by its arc length along the tail. The seeds then diffuse over the mesh's edges (a
    smooth falloff at joints and across region borders), and each vertex keeps its ``max_influences`` largest
    weights.
    """
    from scipy.spatial import cKDTree

    n_v, n_j = len(verts), len(names)
    seeds = np.zeros((n_v, n_j))
    index = {n: i for i, n in enumerate(names)}
    prim_joint = np.array([-1] + [index.get(p.joint, -2) for p in field.primitives[1:]])
    direct = prim_joint[label] >= 0
    seeds[np.flatnonzero(direct), prim_joint[label[direct]]] = 1.0
    # Trunk: linear blend along the axial chain by x.
    trunk = np.flatnonzero(label == 0)
    axial = np.array([index[n] for n in design.AXIAL_CENTRES])
    bones, w = axial_hat_weights(verts[trunk, 0], np.array(list(design.AXIAL_CENTRES.values())))
    for k in range(2):
        np.add.at(seeds, (trunk, axial[bones[:, k]]), w[:, k])
    # Tail: linear blend along the tail chain by arc length (the pelvis before the first bone's centre).
    tail = np.flatnonzero(prim_joint[label] == -2)
    s_line = np.arange(-6.0, design.TAIL_LENGTH + 0.025, 0.025)
    _, nearest = cKDTree(design.tail_centreline(s_line)).query(verts[tail])
    s_joint = design.tail_joint_arclengths()
    centres = np.concatenate([[-6.0], 0.5 * (s_joint[:-1] + s_joint[1:])])
    chain = np.array([index["pelvis"]] + [index[f"tail_{k}"] for k in range(design.TAIL_JOINTS)])
    bones, w = axial_hat_weights(s_line[nearest], centres)
    for k in range(2):
        np.add.at(seeds, (tail, chain[bones[:, k]]), w[:, k])
    # Diffuse over the mesh graph.
    adj = vertex_adjacency(n_v, faces)
    avg = sp.diags(1.0 / np.asarray(adj.sum(axis=1)).ravel()) @ adj
    weights = seeds
    for _ in range(diffusion_steps):
        weights = 0.5 * weights + 0.5 * (avg @ weights)
    # Keep the strongest influences.
    top = np.argsort(-weights, axis=1)[:, :max_influences]
    vals = np.take_along_axis(weights, top, axis=1)
    vals = np.where(vals > 1e-3, vals, 0.0)
    vals /= vals.sum(axis=1, keepdims=True)
    rows = np.repeat(np.arange(n_v), max_influences)
    matrix = sp.csr_matrix((vals.ravel(), (rows, top.ravel())), shape=(n_v, n_j))
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix
