"""Pose coverage: does the synthetic set contain every posture of the real data?

Poses are compared in a normalized pose space: each pose's shared keypoints (2D, pixels) are centred, scaled
to unit size and rotated onto the other (orthogonal Procrustes without reflection). In 2D this is exact and
vectorized with complex numbers: a centred, unit-norm pose ``u`` (``(K,) complex``, ``x + iy``) is compared with
``v`` by ``d(u, v) = min_|r|=1 ||u - r v|| = sqrt(2 - 2 |<u, v>|)``. With unit norm, ``d`` is the RMS
displacement of the keypoints in units of the pose's RMS radius (its distance from the centroid), so a radius
of 0.15 means "every keypoint within about 15 % of the body's size".

A real pose is *covered* when some synthetic pose lies within ``radius``; the uncovered real frames are the
rare postures to add to the motion mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..io.mapping import match_keypoints as match
from .errors import MetricsError


def match_keypoints(
    real_names: tuple[str, ...] | list[str],
    synthetic_names: tuple[str, ...] | list[str],
    mapping: dict[str, str] | None = None,
) -> list[tuple[str, str]]:
    """Pairs ``(real name, synthetic name)`` of the keypoints both sets share: the automatic matching shared by
    ``report``, ``train``, ``evaluate`` and ``benchmark-sim2real``
    (:func:`synthmouse.io.mapping.match_keypoints`; ``mapping`` is ``{real: synthetic}``).

    Raises:
        LabelError: ``mapping`` names a keypoint that the real or the synthetic set does not have, or has its
            names on the wrong sides.
    """
    return match(real_names, synthetic_names, mapping, "the real data", "the synthetic data")


# ---------------------------------------------------------------------------------------------- geometry
def unit_shapes(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centre and scale poses to unit size (as complex numbers ``x + iy``).

    Args:
        xy: ``(F, K, 2)`` keypoints.

    Returns:
        ``u (F, K) complex128`` centred unit-norm shapes (zeros where invalid), ``centre (F,) complex128``,
        ``size (F,) float64`` (the norm removed), ``valid (F,) bool`` (every keypoint finite, size > 0).
    """
    xy = np.asarray(xy, dtype=np.float64)
    z = xy[..., 0] + 1j * xy[..., 1]
    valid = np.all(np.isfinite(z), axis=1)
    z = np.where(valid[:, None], z, 0.0)
    centre = z.mean(axis=1)
    z = z - centre[:, None]
    size = np.linalg.norm(z, axis=1)
    valid &= size > 1e-12
    u = np.where(valid[:, None], z / np.where(size > 1e-12, size, 1.0)[:, None], 0.0)
    return u, centre, size, valid


def procrustes_distances(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``(F, G)`` rotation-aligned distances between unit shapes ``u (F, K)`` and ``v (G, K)`` (complex):
    ``sqrt(2 - 2 |<u, v>|)``, in units of the pose size (0: same shape; at most 2)."""
    inner = np.abs(u @ np.conj(v).T)
    return np.sqrt(np.clip(2.0 - 2.0 * inner, 0.0, None))


def align_onto(u: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotate each unit shape ``u (F, K)`` onto ``target (F, K)`` or ``(K,)`` (complex): the rotation that
    minimises ``||target - r u||``."""
    inner = np.sum(np.atleast_2d(target) * np.conj(u), axis=1)
    return u * np.exp(1j * np.angle(inner))[:, None]


def mean_shape(u: np.ndarray, iterations: int = 20) -> np.ndarray:
    """``(K,) complex`` generalized-Procrustes mean of unit shapes ``u (F, K)`` (rotation-aligned, unit norm)."""
    mean = u[0]
    for _ in range(iterations):
        aligned = align_onto(u, mean)
        new = aligned.mean(axis=0)
        new = new / max(np.linalg.norm(new), 1e-12)
        if np.linalg.norm(new - mean) < 1e-10:
            return new
        mean = new
    return mean


# ---------------------------------------------------------------------------------------------- coverage
@dataclass
class PoseCoverage:
    """Result of :func:`pose_coverage` (real-frame arrays have one entry per real frame, NaN/-1/False where the
    frame lacks a shared keypoint).

    Attributes:
        pairs: ``(real name, synthetic name)`` keypoints used.
        radius: distance within which a synthetic pose covers a real one (units of pose size).
        distance: ``(F,)`` distance of each real pose to its nearest synthetic pose.
        nearest: ``(F,)`` index of that synthetic frame (-1 where invalid).
        uncovered: ``(F,)`` no synthetic pose within ``radius``.
        real_valid, synthetic_valid: frames with every shared keypoint.
        real_nn_distance: ``(F,)`` distance of each real pose to its nearest *other* real pose (how densely the
            real data samples its own poses; NaN where invalid).
    """

    pairs: list[tuple[str, str]]
    radius: float
    distance: np.ndarray
    nearest: np.ndarray
    uncovered: np.ndarray
    real_valid: np.ndarray
    synthetic_valid: np.ndarray
    real_nn_distance: np.ndarray
    _real_u: np.ndarray = field(repr=False, default=None)
    _synthetic_u: np.ndarray = field(repr=False, default=None)
    _real_centre: np.ndarray = field(repr=False, default=None)
    _real_size: np.ndarray = field(repr=False, default=None)

    @property
    def fraction_uncovered(self) -> float:
        """Uncovered share of the real frames that have every shared keypoint."""
        n = int(self.real_valid.sum())
        return float(self.uncovered.sum() / n) if n else float("nan")

    def to_json(self, real_keys: tuple[str, ...] | None = None) -> dict:
        d = self.distance[self.real_valid]
        out = {
            "pairs": [list(p) for p in self.pairs],
            "radius": self.radius,
            "n_real": int(self.real_valid.sum()),
            "n_real_skipped": int((~self.real_valid).sum()),
            "n_synthetic": int(self.synthetic_valid.sum()),
            "n_synthetic_skipped": int((~self.synthetic_valid).sum()),
            "fraction_uncovered": self.fraction_uncovered,
            "nearest_distance_median": float(np.median(d)) if d.size else None,
            "nearest_distance_p95": float(np.percentile(d, 95)) if d.size else None,
            "real_to_real_distance_median": float(np.nanmedian(self.real_nn_distance))
            if np.isfinite(self.real_nn_distance).any()
            else None,
            "mean_shape_distance": self.mean_shapes()[2],
        }
        if real_keys is not None:
            order = np.flatnonzero(self.uncovered)[np.argsort(-self.distance[self.uncovered])]
            out["uncovered_frames"] = [{"frame": real_keys[i], "distance": float(self.distance[i])} for i in order]
        return out

    def mean_shapes(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Mean real and mean synthetic pose (``(K,) complex``, unit size, the synthetic one rotated onto the
        real one) and their distance: a large distance is a systematic difference, often two definitions of a
        keypoint (the ear's tip against its base) rather than missing postures."""
        real = mean_shape(self._real_u[self.real_valid])
        synthetic = align_onto(mean_shape(self._synthetic_u[self.synthetic_valid])[None], real)[0]
        return real, synthetic, float(np.linalg.norm(real - synthetic))

    def nearest_pose_on_real(self, i: int) -> np.ndarray:
        """``(K, 2)`` the nearest synthetic pose to real frame ``i``, moved, scaled and rotated onto it (pixels of
        the real image), for drawing."""
        v = align_onto(self._synthetic_u[self.nearest[i]][None], self._real_u[i])[0]
        z = self._real_centre[i] + self._real_size[i] * v
        return np.stack([z.real, z.imag], axis=-1)

    def embedding(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """2D view of the normalized pose space: shapes aligned to the real mean shape, projected on the first
        two principal components of the real poses.

        Returns:
            ``real (n, 2)``, ``synthetic (m, 2)`` (valid frames only) and ``explained (2,)`` variance ratios.
        """
        ru, su = self._real_u[self.real_valid], self._synthetic_u[self.synthetic_valid]
        mean = mean_shape(ru)
        ra, sa = align_onto(ru, mean), align_onto(su, mean)
        rv = np.concatenate([ra.real, ra.imag], axis=1)
        sv = np.concatenate([sa.real, sa.imag], axis=1)
        centre = rv.mean(axis=0)
        _, s, vt = np.linalg.svd(rv - centre, full_matrices=False)
        explained = (s**2 / max(np.sum(s**2), 1e-12))[:2]
        return (rv - centre) @ vt[:2].T, (sv - centre) @ vt[:2].T, explained


def pose_coverage(
    real_xy: np.ndarray,
    synthetic_xy: np.ndarray,
    pairs: list[tuple[str, str]] | None = None,
    radius: float = 0.15,
    chunk: int = 512,
) -> PoseCoverage:
    """Which real poses have a synthetic pose within ``radius`` in the normalized pose space.

    Args:
        real_xy: ``(F, K, 2)`` real keypoints (the shared keypoints, in the order of ``pairs``).
        synthetic_xy: ``(G, K, 2)`` synthetic keypoints, same keypoint order.
        pairs: names of the keypoints, for the report.
        radius: coverage radius in units of pose size (see the module docstring).

    Raises:
        MetricsError: fewer than 3 shared keypoints, or no valid real or synthetic pose.
    """
    real_xy, synthetic_xy = np.asarray(real_xy, np.float64), np.asarray(synthetic_xy, np.float64)
    if real_xy.shape[1:] != synthetic_xy.shape[1:] or real_xy.shape[1] < 3:
        raise MetricsError(
            f"pose coverage needs at least 3 shared keypoints in the same order; got real "
            f"{real_xy.shape[1:]} and synthetic {synthetic_xy.shape[1:]} (use --map REAL=SYNTHETIC)"
        )
    ru, rc, rs, rvalid = unit_shapes(real_xy)
    su, _, _, svalid = unit_shapes(synthetic_xy)
    if not rvalid.any() or not svalid.any():
        which = "real" if not rvalid.any() else "synthetic"
        raise MetricsError(
            f"pose coverage: no {which} frame has all of the shared keypoints "
            f"{[p[0 if which == 'real' else 1] for p in pairs or []]}"
        )
    n = len(real_xy)
    distance, nearest = np.full(n, np.nan), np.full(n, -1)
    syn_index = np.flatnonzero(svalid)
    real_index = np.flatnonzero(rvalid)
    real_nn = np.full(n, np.nan)
    for start in range(0, len(real_index), chunk):
        rows = real_index[start : start + chunk]
        d = procrustes_distances(ru[rows], su[syn_index])
        best = np.argmin(d, axis=1)
        distance[rows], nearest[rows] = d[np.arange(len(rows)), best], syn_index[best]
        dr = procrustes_distances(ru[rows], ru[real_index])
        dr[np.arange(len(rows)), start + np.arange(len(rows))] = np.inf
        if len(real_index) > 1:
            real_nn[rows] = dr.min(axis=1)
    uncovered = rvalid & (distance > radius)
    return PoseCoverage(
        pairs=list(pairs or []),
        radius=float(radius),
        distance=distance,
        nearest=nearest,
        uncovered=uncovered,
        real_valid=rvalid,
        synthetic_valid=svalid,
        real_nn_distance=real_nn,
        _real_u=ru,
        _synthetic_u=su,
        _real_centre=rc,
        _real_size=rs,
    )


def shared_keypoints(xy: np.ndarray, names: tuple[str, ...], wanted: list[str]) -> np.ndarray:
    """``(F, len(wanted), 2)`` columns of ``xy (F, K, 2)`` for the keypoints ``wanted`` (by name)."""
    index = [list(names).index(n) for n in wanted]
    return np.asarray(xy)[:, index]
