"""Root trajectories across an arena: a smooth path between two root states, with speed ramps and pauses.

The path is a cubic Bezier curve from the start to the end state whose inner control points lie along the start
and end headings, shortened until they lie inside the arena's inner rectangle; a Bezier curve lies inside the
convex hull of its control points, so the whole path stays inside the arena. Progress along it follows a
velocity profile made of smooth bumps (minimum-jerk ramps) separated by pauses, normalised to cover the path
exactly in the given time; the heading follows the path's tangent (turning on the spot where the path is too
short to have one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Arena, RootState
from .noise import min_jerk


@dataclass(frozen=True)
class RootPath:
    """A root trajectory on a plane.

    Attributes:
        xy: ``(F, 2)`` positions (metres).
        heading: ``(F,)`` radians about +z, unwrapped (continuous).
        speed: ``(F,)`` forward speed (m/s).
        fps: frame rate.
    """

    xy: np.ndarray
    heading: np.ndarray
    speed: np.ndarray
    fps: float

    @property
    def n_frames(self) -> int:
        return len(self.heading)


def _ray_inside(p: np.ndarray, direction: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Largest ``d >= 0`` with ``p + d * direction`` inside the box (``p`` inside)."""
    x0, x1, y0, y1 = box
    d = np.inf
    for k, (lo, hi) in enumerate(((x0, x1), (y0, y1))):
        if direction[k] > 1e-12:
            d = min(d, (hi - p[k]) / direction[k])
        elif direction[k] < -1e-12:
            d = min(d, (lo - p[k]) / direction[k])
    return max(float(d), 0.0)


def bezier_controls(start: RootState, end: RootState, arena: Arena | None, reach: float = 0.4) -> np.ndarray:
    """``(4, 2)`` control points of the path from ``start`` to ``end`` (see the module docstring)."""
    p0 = np.array([start.x, start.y])
    p3 = np.array([end.x, end.y])
    chord = float(np.linalg.norm(p3 - p0))
    d0 = np.array([np.cos(start.heading), np.sin(start.heading)])
    d1 = np.array([np.cos(end.heading), np.sin(end.heading)])
    a = b = reach * chord
    if arena is not None:
        box = arena.inner
        a = min(a, _ray_inside(p0, d0, box))
        b = min(b, _ray_inside(p3, -d1, box))
    return np.stack([p0, p0 + a * d0, p3 - b * d1, p3])


def velocity_profile(n_frames: int, fps: float, rng: np.random.Generator, pauses: float,
                     pause_duration: tuple[float, float], ramp: float = 0.3) -> np.ndarray:
    """``(F,)`` non-negative relative speed: smooth movement bouts separated by ``Poisson(pauses)`` pauses;
    integrates to 1 over the clip (in units of clip fraction per second times the duration)."""
    duration = n_frames / fps
    n_pauses = int(rng.poisson(pauses)) if pauses > 0 else 0
    lengths = rng.uniform(*pause_duration, size=n_pauses)
    while n_pauses and lengths.sum() > 0.6 * duration:
        n_pauses -= 1
        lengths = lengths[:n_pauses]
    moving = duration - lengths.sum()
    cuts = np.sort(rng.uniform(0.0, moving, size=n_pauses))
    bounds = np.concatenate([[0.0], cuts, [moving]])
    t = (np.arange(n_frames) + 0.5) / fps
    v = np.zeros(n_frames)
    offset = 0.0
    for k in range(len(bounds) - 1):
        t0 = bounds[k] + offset
        length = bounds[k + 1] - bounds[k]
        if length > 1e-6:
            r = min(ramp, 0.5 * length)
            s = (t - t0) / length
            rise = _smooth_step((t - t0) / r) if r > 0 else (s >= 0)
            fall = _smooth_step((t0 + length - t) / r) if r > 0 else (s <= 1)
            v += np.where((s >= 0) & (s <= 1), rise * fall, 0.0)
        if k < n_pauses:
            offset += lengths[k]
    total = v.sum() / fps
    return v / total if total > 0 else v


def _smooth_step(x: np.ndarray) -> np.ndarray:
    return min_jerk(np.clip(x, 0.0, 1.0))


def plan_path(start: RootState, end: RootState, arena: Arena | None, n_frames: int, fps: float,
              rng: np.random.Generator, pauses: float = 0.0, pause_duration: tuple[float, float] = (0.3, 1.0),
              ramp: float = 0.3, max_turn_rate: float = 2.5) -> RootPath:
    """The root trajectory from ``start`` to ``end`` in ``n_frames`` frames (see the module docstring); the
    heading turns at most ``max_turn_rate`` rad/s (so planted paws stay within reach while the body turns)."""
    ctrl = bezier_controls(start, end, arena)
    u = np.linspace(0.0, 1.0, 400)
    basis = np.stack([(1 - u) ** 3, 3 * u * (1 - u) ** 2, 3 * u**2 * (1 - u), u**3], axis=1)
    curve = basis @ ctrl
    seg = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    length = float(arc[-1])
    rel = velocity_profile(n_frames, fps, rng, pauses, pause_duration, ramp)
    progress = np.concatenate([[0.0], np.cumsum(0.5 * (rel[1:] + rel[:-1]) / fps)])
    progress = progress / progress[-1] if progress[-1] > 0 else np.linspace(0.0, 1.0, n_frames)
    s = progress * length
    xy = np.stack([np.interp(s, arc, curve[:, 0]), np.interp(s, arc, curve[:, 1])], axis=1)
    speed = np.gradient(s) * fps
    heading = _path_heading(curve, arc, s, start.heading, end.heading, length, progress)
    heading = limit_rate(heading, max_turn_rate / fps)
    return RootPath(xy, heading, np.maximum(speed, 0.0), fps)


def limit_rate(values: np.ndarray, step: float, smooth: int = 3) -> np.ndarray:
    """``values (F,)`` followed with at most ``step`` change per frame, then lightly smoothed (no kinks)."""
    out = np.empty_like(values)
    out[0] = values[0]
    for i in range(1, len(values)):
        out[i] = out[i - 1] + np.clip(values[i] - out[i - 1], -step, step)
    if smooth > 0 and len(values) > 2 * smooth:
        k = np.exp(-0.5 * (np.arange(-2 * smooth, 2 * smooth + 1) / smooth) ** 2)
        out = np.convolve(np.pad(out, 2 * smooth, mode="edge"), k / k.sum(), mode="valid")
    return out


def _path_heading(curve, arc, s, h0, h1, length, progress) -> np.ndarray:
    """Tangent heading along the path, continuous; blends to ``h0``/``h1`` where the path is too short."""
    tangent = np.gradient(curve, axis=0)
    ang = np.unwrap(np.arctan2(tangent[:, 1], tangent[:, 0]))
    ang += np.round((h0 - ang[0]) / (2 * np.pi)) * 2 * np.pi  # start on the branch of h0
    along = np.interp(s, arc, ang)
    turn = h0 + _wrap(h1 - h0) * min_jerk(progress)
    weight = np.clip(length / 0.02, 0.0, 1.0)  # shorter than 2 cm: turn on the spot
    return weight * along + (1 - weight) * turn


def _wrap(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)


def straight_path(n_frames: int, fps: float, speed: np.ndarray | float) -> RootPath:
    """A straight run along +x (for treadmills and wheels) with the given speed per frame."""
    v = np.broadcast_to(np.asarray(speed, dtype=np.float64), (n_frames,)).copy()
    x = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) / fps)])
    return RootPath(np.stack([x, np.zeros(n_frames)], axis=1), np.zeros(n_frames), v, fps)
