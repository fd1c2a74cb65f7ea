"""Mesh checks used to validate the parametric mouse: edge manifoldness and triangle-triangle
self-intersections.

:func:`self_intersections` finds pairs of triangles of one mesh whose interiors cross: a uniform-grid broad
phase over the triangles' bounding boxes, then an exact-predicate narrow phase (a triangle pair crosses when
an edge of one passes through the other). Triangles that share vertices are shrunk by a relative ``1e-6``
towards their centroids first, so meeting at a shared edge or corner does not count, while a real fold or a
pass-through does.
"""

from __future__ import annotations

import numpy as np


def edge_use_counts(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected edges ``(E, 2)`` and how many faces use each ``(E,)``."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    return np.unique(edges, axis=0, return_counts=True)


def is_closed_manifold(faces: np.ndarray) -> bool:
    """True when every edge is used by exactly two faces, once in each direction (closed, wound)."""
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    _, counts = edge_use_counts(faces)
    unique_directed = np.unique(directed, axis=0)
    return bool(np.all(counts == 2) and len(unique_directed) == len(directed))


def _candidate_pairs(tri: np.ndarray) -> np.ndarray:
    """``(P, 2)`` pairs ``i < j`` of triangles whose bounding boxes overlap (uniform-grid broad phase)."""
    lo, hi = tri.min(axis=1), tri.max(axis=1)
    cell = float(np.median(np.linalg.norm(hi - lo, axis=1))) * 1.5 + 1e-12
    origin = lo.min(axis=0)
    c_lo = np.floor((lo - origin) / cell).astype(np.int64)
    c_hi = np.floor((hi - origin) / cell).astype(np.int64)
    span = c_hi - c_lo + 1
    count = span.prod(axis=1)
    owner = np.repeat(np.arange(len(tri)), count)
    local = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    sx, sy = span[owner, 0], span[owner, 1]
    offset = np.stack([local % sx, (local // sx) % sy, local // (sx * sy)], axis=1)
    cells = c_lo[owner] + offset
    dims = cells.max(axis=0) + 1
    key = (cells[:, 0] * dims[1] + cells[:, 1]) * dims[2] + cells[:, 2]
    order = np.lexsort((owner, key))
    key, owner = key[order], owner[order]
    pairs = []
    shift = 1
    while True:
        same = key[shift:] == key[:-shift]
        if not same.any():
            break
        pairs.append(np.stack([owner[:-shift][same], owner[shift:][same]], axis=1))
        shift += 1
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(pairs)
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    overlap = np.all((lo[pairs[:, 0]] <= hi[pairs[:, 1]]) & (lo[pairs[:, 1]] <= hi[pairs[:, 0]]), axis=1)
    return pairs[overlap]


def _orient(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Sign of the volume of tetrahedra ``(a, b, c, d)`` (each ``(P, 3)``)."""
    return np.sign(np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a))


def _edge_crosses_triangle(p: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(P,)`` whether segments ``p q`` cross triangles ``t (P, 3, 3)`` strictly inside both."""
    a, b, c = t[:, 0], t[:, 1], t[:, 2]
    sp_, sq = _orient(a, b, c, p), _orient(a, b, c, q)
    s1, s2, s3 = _orient(p, q, a, b), _orient(p, q, b, c), _orient(p, q, c, a)
    return (sp_ * sq < 0) & (s1 == s2) & (s2 == s3) & (s1 != 0)


def self_intersections(vertices: np.ndarray, faces: np.ndarray, limit: int | None = None) -> np.ndarray:
    """``(K, 2)`` index pairs of faces whose interiors intersect (empty for a clean mesh).

    Args:
        vertices: ``(V, 3)`` positions.
        faces: ``(T, 3)`` triangles.
        limit: stop after roughly this many candidate pairs have been found to intersect (None: all).
    """
    tri = np.asarray(vertices, dtype=np.float64)[faces]
    pairs = _candidate_pairs(tri)
    shared = (faces[pairs[:, 0]][:, :, None] == faces[pairs[:, 1]][:, None, :]).any(axis=(1, 2))
    hits = []
    for start in range(0, len(pairs), 200_000):
        chunk = pairs[start : start + 200_000]
        t1, t2 = tri[chunk[:, 0]].copy(), tri[chunk[:, 1]].copy()
        sh = shared[start : start + 200_000]
        for t in (t1, t2):
            centre = t[sh].mean(axis=1, keepdims=True)
            t[sh] = centre + (t[sh] - centre) * (1.0 - 1e-6)
        crossing = np.zeros(len(chunk), dtype=bool)
        for e0, e1 in ((0, 1), (1, 2), (2, 0)):
            crossing |= _edge_crosses_triangle(t1[:, e0], t1[:, e1], t2)
            crossing |= _edge_crosses_triangle(t2[:, e0], t2[:, e1], t1)
        hits.append(chunk[crossing])
        if limit is not None and sum(len(h) for h in hits) >= limit:
            break
    return np.concatenate(hits) if hits else np.zeros((0, 2), dtype=np.int64)
