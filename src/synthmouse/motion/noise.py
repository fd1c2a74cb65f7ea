"""Smooth random signals: uniform cubic B-spline noise, and the map from unbounded noise into joint limits.

Spline noise is twice continuously differentiable, so joint angles driven by it have bounded angular acceleration
(about ``6 sigma / timescale^2`` in noise units); that is why it is used here instead of a raw Ornstein-Uhlenbeck
process, whose paths have no derivative. Knots are i.i.d. normal, spaced ``timescale`` seconds apart.

Angles are produced in *limit-normalised* space: a noise value ``u`` maps to ``lo + (hi - lo) * sigmoid(logit(c)
+ u)`` where ``c`` is the centre posture's position inside ``[lo, hi]``; every value of ``u`` lands strictly inside
the limits and ``u = 0`` gives the centre posture.
"""

from __future__ import annotations

import numpy as np

_VARIANCE = 0.4833  # mean variance of a uniform cubic B-spline with unit-variance i.i.d. knots


class SplineNoise:
    """``C`` channels of smooth noise over ``[t0, t0 + duration]`` seconds.

    Args:
        rng: the random generator (consumed at construction).
        duration: seconds covered (evaluation outside clamps to the ends).
        timescale: knot spacing in seconds (larger is slower).
        channels: number of independent channels.
        t0: start time.
    """

    def __init__(self, rng: np.random.Generator, duration: float, timescale: float, channels: int, t0: float = 0.0):
        self.timescale = float(timescale)
        self.t0 = float(t0)
        n_knots = int(np.ceil(duration / self.timescale)) + 4
        self.knots = rng.standard_normal((n_knots, channels)) / np.sqrt(_VARIANCE)

    def _basis(self, t: np.ndarray):
        s = np.clip((t - self.t0) / self.timescale, 0.0, len(self.knots) - 3 - 1e-9)
        i = np.floor(s).astype(np.int64)
        f = s - i
        f2, f3 = f * f, f * f * f
        return i, ((1 - f) ** 3 / 6.0, (3 * f3 - 6 * f2 + 4) / 6.0, (-3 * f3 + 3 * f2 + 3 * f + 1) / 6.0, f3 / 6.0)

    def channel(self, t: np.ndarray, channel: int) -> np.ndarray:
        """Channel ``channel`` at times ``t`` of any shape (a travelling wave samples one channel at shifted
        times)."""
        i, basis = self._basis(np.asarray(t, dtype=np.float64))
        return sum(b * self.knots[i + m, channel] for m, b in enumerate(basis))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """Values at times ``t``: ``(F,)`` gives ``(F, C)``; ``(F, C)`` (a time per channel) gives ``(F, C)``."""
        t = np.asarray(t, dtype=np.float64)
        i, basis = self._basis(t)
        if t.ndim == 1:
            return sum(b[:, None] * self.knots[i + m] for m, b in enumerate(basis))
        cols = np.arange(t.shape[1])[None, :]
        return sum(b * self.knots[i + m, cols] for m, b in enumerate(basis))


def logit(x: np.ndarray) -> np.ndarray:
    return np.log(x) - np.log1p(-x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def centre_fraction(centre: np.ndarray, lo: np.ndarray, hi: np.ndarray, margin: float = 0.03) -> np.ndarray:
    """Position of ``centre`` inside ``[lo, hi]`` as a fraction in ``[margin, 1 - margin]`` (0.5 for empty ranges)."""
    span = hi - lo
    frac = np.where(span > 1e-12, (centre - lo) / np.where(span > 1e-12, span, 1.0), 0.5)
    return np.clip(frac, margin, 1.0 - margin)


def to_limits(u: np.ndarray, centre: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Map noise ``u (..., J, 3)`` into the limits around ``centre (J, 3)`` (see the module docstring)."""
    c = logit(centre_fraction(centre, lo, hi))
    return lo + (hi - lo) * sigmoid(c + u)


def from_limits(
    angles: np.ndarray, centre: np.ndarray, lo: np.ndarray, hi: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Inverse of :func:`to_limits` (angles on the limits map to large finite values)."""
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    x = np.clip((angles - lo) / span, eps, 1.0 - eps)
    return logit(x) - logit(centre_fraction(centre, lo, hi))


def min_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk blend ``10 s^3 - 15 s^4 + 6 s^5`` of ``s`` clipped to [0, 1] (zero velocity and acceleration at
    both ends)."""
    s = np.clip(s, 0.0, 1.0)
    return s * s * s * (10.0 + s * (-15.0 + 6.0 * s))
