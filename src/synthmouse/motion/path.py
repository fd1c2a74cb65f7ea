"""Root trajectories across an arena: a smooth path between two root states, with speed ramps and pauses.

Two kinds of route:

* **along a wall** (thigmotaxis): when both states stand on the arena's :class:`WallTrack` (the body centre on
  the rounded rectangle ``wall_distance`` inside the walls, heading along it the same way round), the body centre
  follows the track from one to the other, slowing down in the rounded corners so the heading never turns faster
  than ``max_turn_rate``; the corner radius keeps the nose inside the walls;
* **through the open field** otherwise: a cubic Bezier curve from the start to the end state whose inner control
  points lie along the start and end headings, shortened until they lie inside the arena's inner rectangle (or
  the smallest box holding it and the end points); a Bezier curve lies inside the convex hull of its control
  points, so the whole path stays inside the arena. A route that would turn back on itself (headings more than
  120 degrees apart over a short chord, as between two spots of one wall facing opposite ways) loops through a
  point further into the arena instead.

Progress along a route follows a velocity profile made of smooth bumps (minimum-jerk ramps) separated by pauses,
normalised to cover the path exactly in the given time; the heading follows the path's tangent (turning on the
spot where the path is too short to have one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
        x0, x1, y0, y1 = arena.inner  # grown to hold the end points (states on a wall track lie outside it)
        box = (min(x0, p0[0], p3[0]), max(x1, p0[0], p3[0]), min(y0, p0[1], p3[1]), max(y1, p0[1], p3[1]))
        a = min(a, _ray_inside(p0, d0, box))
        b = min(b, _ray_inside(p3, -d1, box))
    return np.stack([p0, p0 + a * d0, p3 - b * d1, p3])


def _bezier_curve(ctrl: np.ndarray, samples: int = 400) -> np.ndarray:
    u = np.linspace(0.0, 1.0, samples)
    basis = np.stack([(1 - u) ** 3, 3 * u * (1 - u) ** 2, 3 * u**2 * (1 - u), u**3], axis=1)
    return basis @ ctrl


def _via(start: RootState, end: RootState, arena: Arena | None) -> RootState | None:
    """A point further into the arena for a route that would turn back on itself (see the module docstring):
    the chord's midpoint moved up to 12 cm towards the arena's middle, crossed along the chord's direction."""
    if arena is None or abs(_wrap(end.heading - start.heading)) < 2.0 * np.pi / 3.0:
        return None
    p0, p3 = np.array([start.x, start.y]), np.array([end.x, end.y])
    chord = float(np.linalg.norm(p3 - p0))
    if chord > 0.25:
        return None
    mid = 0.5 * (p0 + p3)
    away = np.array([0.5 * (arena.x_min + arena.x_max), 0.5 * (arena.y_min + arena.y_max)]) - mid
    room = float(np.linalg.norm(away))
    if room < 0.02:
        return None
    x0, x1, y0, y1 = arena.inner
    via = mid + away * min(1.0, 0.12 / room)
    via = np.array([np.clip(via[0], x0, x1), np.clip(via[1], y0, y1)])
    if chord > 0.01:
        heading = float(np.arctan2(*(p3 - p0)[::-1]))
    else:
        heading = float(np.arctan2(*(via - p0)[::-1]))
    return RootState(float(via[0]), float(via[1]), heading)


def velocity_profile(
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    pauses: float,
    pause_duration: tuple[float, float],
    ramp: float = 0.3,
    max_pause_share: float = 0.6,
) -> np.ndarray:
    """``(F,)`` non-negative relative speed: smooth movement bouts separated by ``Poisson(pauses)`` pauses (dropped
    from the last while they would fill more than ``max_pause_share`` of the clip); integrates to 1 over the clip
    (in units of clip fraction per second times the duration)."""
    duration = n_frames / fps
    n_pauses = int(rng.poisson(pauses)) if pauses > 0 else 0
    lengths = rng.uniform(*pause_duration, size=n_pauses)
    while n_pauses and lengths.sum() > max_pause_share * duration:
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


def plan_path(
    start: RootState,
    end: RootState,
    arena: Arena | None,
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    pauses: float = 0.0,
    pause_duration: tuple[float, float] = (0.3, 1.0),
    ramp: float = 0.3,
    max_turn_rate: float = 2.5,
    track: WallTrack | None = None,
    offset: float = 0.0,
    front: float = 0.0,
) -> RootPath:
    """The root trajectory from ``start`` to ``end`` in ``n_frames`` frames (see the module docstring); the
    heading turns at most ``max_turn_rate`` rad/s (so planted paws stay within reach while the body turns).

    Args:
        track: the arena's wall track; a route along it when both states stand on it.
        offset: how far the body centre (which follows the track) lies ahead of the root (metres).
        front: how far the nose lies ahead of the body centre; where the heading lags behind a bend so far that
            the body would reach a wall, the centre moves away from it (:func:`keep_body_inside`).
    """
    route = None
    if track is not None:
        route = track.route(start, end, offset, max_distance=ALONG_MAX_SPEED * n_frames / fps)
    if route is not None:
        progress = _progress(n_frames, fps, rng, pauses, pause_duration, ramp, route[2] if offset else None)
        return _along_track(track, route, start, progress, fps, max_turn_rate, offset, arena, front)
    arrival = None
    if offset:  # the curve is the body centre's, the root trails it
        start, end = _ahead(start, offset), _ahead(end, offset)
        arrival = _arrival(end, track)
    target = end if arrival is None else arrival[0]
    via = _via(start, target, arena)
    if via is None:
        curve = _bezier_curve(bezier_controls(start, target, arena))
    else:
        curve = np.concatenate(
            [_bezier_curve(bezier_controls(start, via, arena)), _bezier_curve(bezier_controls(via, target, arena))[1:]]
        )
    if arrival is not None:
        curve = np.concatenate([curve, arrival[1][1:]])
    seg = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    length = float(arc[-1])
    progress = _progress(n_frames, fps, rng, pauses, pause_duration, ramp, length if offset else None)
    if offset and length > 1e-6:  # body-centre paths slow down in bends (see _slow_in_bends)
        tangent = np.gradient(curve, axis=0)
        ang = np.unwrap(np.arctan2(tangent[:, 1], tangent[:, 0]))
        bend = np.abs(np.gradient(ang)) / np.maximum(np.gradient(arc), 1e-9)
        s = _slow_in_bends(arc, np.minimum(bend, 200.0), progress, fps, max_turn_rate)
    else:
        s = progress * length
    xy = np.stack([np.interp(s, arc, curve[:, 0]), np.interp(s, arc, curve[:, 1])], axis=1)
    speed = _rate(s) * fps
    heading = _path_heading(curve, arc, s, start.heading, end.heading, length, progress)
    heading = limit_rate(heading, max_turn_rate / fps)
    if offset:
        heading = _end_at(heading, end.heading, fps)
        xy = keep_body_inside(xy, heading, arena, front, fps) - offset * _unit(heading)
    return RootPath(xy, heading, np.maximum(speed, 0.0), fps)


MAX_MEAN_SPEED = 0.2  # m/s: body-centre paths drop pauses that would make the mean moving speed exceed this
WALL_CLEARANCE = 0.01  # metres the nose keeps from the walls while the body centre rounds a corner of the track
CATCH_UP_RATE = 1.5  # rad/s: the fastest turn a path makes to end facing its end state
PEAK_SPEED = 0.5  # m/s: slowing down in bends never asks for more than this elsewhere
ALONG_MAX_SPEED = 0.2  # m/s: a walk along the wall further than this in the time given crosses the arena instead


def _progress(
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    pauses: float,
    pause_duration: tuple[float, float],
    ramp: float,
    length: float | None,
) -> np.ndarray:
    """``(F,)`` share of the path covered in each frame (0 to 1), from :func:`velocity_profile`; with a path
    ``length`` the pauses leave enough time to move at :data:`MAX_MEAN_SPEED` at most."""
    share = 0.6
    if length is not None:
        share = float(np.clip(1.0 - length / (MAX_MEAN_SPEED * n_frames / fps), 0.0, 0.6))
    rel = velocity_profile(n_frames, fps, rng, pauses, pause_duration, ramp, share)
    progress = np.concatenate([[0.0], np.cumsum(0.5 * (rel[1:] + rel[:-1]) / fps)])
    return progress / progress[-1] if progress[-1] > 0 else np.linspace(0.0, 1.0, n_frames)


def _arrival(end: RootState, track: WallTrack | None, angle: float = np.pi / 3) -> tuple[RootState, np.ndarray] | None:
    """The last stretch of a route that ends on the wall track: a circular arc of 1.3 corner radii from
    ``angle`` towards the wall into the track's direction (so the nose, ahead of the turning centre, stays
    inside the wall). Returns ``(state where the arc starts, (K, 2) arc points)`` or None off the track."""
    if track is None:
        return None
    s, d = track.project((end.x, end.y))
    direction = track.direction(s, end.heading) if d <= 0.005 else None
    if direction is None:
        return None
    radius = max(track.radius, 0.03)
    h = end.heading
    along = np.array([np.cos(h), np.sin(h)])
    inward = direction * np.array([-along[1], along[0]])
    theta = np.linspace(angle, 0.0, 32)
    points = (
        np.array([end.x, end.y])
        + np.outer(-radius * np.sin(theta), along)
        + np.outer(radius * (1.0 - np.cos(theta)), inward)
    )
    toward = -np.sin(angle) * inward + np.cos(angle) * along
    return RootState(float(points[0, 0]), float(points[0, 1]), float(np.arctan2(toward[1], toward[0]))), points


def keep_body_inside(
    centre: np.ndarray, heading: np.ndarray, arena: Arena | None, front: float, fps: float, clearance: float = 0.01
) -> np.ndarray:
    """``centre (F, 2)`` moved away from the walls where the body, from ``front`` behind to ``front`` ahead of its
    centre along ``heading (F,)``, would come closer than ``clearance`` to a wall (a heading lagging behind a bend
    near a wall). The shift is spread over 0.15 s either side and smoothed (at least what is needed is kept); the
    clearance allows for the head moving about the standing posture's nose."""
    if arena is None or front <= 0 or len(heading) == 0:
        return centre
    ends = np.stack([np.cos(heading), np.sin(heading)], axis=1) * front
    need = np.zeros_like(centre)
    for axis, wall, inward in (
        (0, arena.x_min, 1.0),
        (0, arena.x_max, -1.0),
        (1, arena.y_min, 1.0),
        (1, arena.y_max, -1.0),
    ):
        gap = (centre[:, axis] - wall) * inward - np.abs(ends[:, axis])  # the nearer end of the body
        need[:, axis] += inward * np.maximum(clearance - gap, 0.0)
    if not need.any():
        return centre
    w = max(1, int(round(0.15 * fps)))
    kernel = np.exp(-0.5 * (np.arange(-w, w + 1) / (0.5 * w)) ** 2)
    frames = np.arange(len(heading))
    # the path's ends are its bout's start and end states: the spread fades out there (where not needed)
    taper = min_jerk(np.clip(np.minimum(frames, len(heading) - 1 - frames) / w, 0.0, 1.0))
    out = centre.copy()
    for axis in (0, 1):
        n = need[:, axis]
        spread = n.copy()
        for k in range(1, w + 1):
            for shifted in (np.concatenate([n[k:], np.zeros(k)]), np.concatenate([np.zeros(k), n[:-k]])):
                spread = np.where(np.abs(shifted) > np.abs(spread), shifted, spread)
        smooth = taper * np.convolve(np.pad(spread, w, mode="edge"), kernel / kernel.sum(), mode="valid")
        out[:, axis] += np.where(np.abs(n) > np.abs(smooth), n, smooth)
    return out


def _unit(heading: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(heading), np.sin(heading)], axis=-1)


def _end_at(heading: np.ndarray, end: float, fps: float, seconds: float = 0.6) -> np.ndarray:
    """``heading (F,)`` with what it lags behind ``end`` at the last frame made up over the last ``seconds`` or more
    (a minimum-jerk ramp within the path, peaking at :data:`CATCH_UP_RATE`; what that cannot make up is left to
    the blend into the next bout), so a path ends facing the way the next bout starts."""
    lag = _wrap(end - float(heading[-1])) if len(heading) else 0.0
    if abs(lag) < 1e-9 or len(heading) < 2:
        return heading
    peak = 1.875  # a minimum-jerk ramp's peak rate over its mean
    span = max(min(max(seconds, peak * abs(lag) / CATCH_UP_RATE) * fps, len(heading) - 1.0), 1.0)
    lag = float(np.sign(lag)) * min(abs(lag), CATCH_UP_RATE * span / (peak * fps))
    t = (np.arange(len(heading)) - (len(heading) - 1 - span)) / span
    return heading + lag * min_jerk(np.clip(t, 0.0, 1.0))


def _wrap_array(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def _rate(s: np.ndarray) -> np.ndarray:
    """Per-frame change of ``s (F,)`` (zeros for a single frame)."""
    return np.gradient(s) if len(s) > 1 else np.zeros_like(s)


def _ahead(state: RootState, offset: float) -> RootState:
    return RootState(state.x + offset * np.cos(state.heading), state.y + offset * np.sin(state.heading), state.heading)


def _along_track(
    track: WallTrack,
    route: tuple[float, int, float],
    start: RootState,
    progress: np.ndarray,
    fps: float,
    max_turn_rate: float,
    offset: float,
    arena: Arena | None = None,
    front: float = 0.0,
) -> RootPath:
    """The body centre along the wall track (``route = (s0, direction, distance)``), slowed in the corners so the
    heading keeps up; the root trails ``offset`` behind the centre along the heading."""
    s0, direction, distance = route
    arc = np.linspace(0.0, distance, max(2, int(distance / 0.002) + 2))
    where = s0 + direction * arc
    centre = track.point(where)
    ang = track.heading(where) + (0.0 if direction > 0 else np.pi)
    ang += np.round((start.heading - ang[0]) / (2 * np.pi)) * 2 * np.pi
    s = _slow_in_bends(arc, track.curvature(where), progress, fps, max_turn_rate)
    xy = np.stack([np.interp(s, arc, centre[:, 0]), np.interp(s, arc, centre[:, 1])], axis=1)
    heading = limit_rate(np.interp(s, arc, ang), max_turn_rate / fps)
    heading = _end_at(heading, float(ang[-1]), fps)
    root = keep_body_inside(xy, heading, arena, front, fps) - offset * _unit(heading)
    return RootPath(root, heading, np.maximum(_rate(s) * fps, 0.0), fps)


def _slow_in_bends(
    arc: np.ndarray, curvature: np.ndarray, progress: np.ndarray, fps: float, max_turn_rate: float
) -> np.ndarray:
    """``(F,)`` arc length reached in each frame: the clip's ``progress`` (0-1) run on a stretched arc length,
    stretched by ``curvature * peak speed / (0.8 max_turn_rate)`` where above 1, so the heading can follow the
    tangent in bends (the peak speed taken as twice the mean); the stretch is smoothed over ~2 cm of path."""
    samples = len(arc)
    if samples < 2 or arc[-1] <= 0:
        return progress * float(arc[-1]) if samples else progress * 0.0
    sigma = min(max(1.0, 0.02 / max(float(arc[-1]) / (samples - 1), 1e-9)), samples / 3.0)
    kernel = np.exp(-0.5 * (np.arange(-int(3 * sigma), int(3 * sigma) + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    duration = max(len(progress) / fps, 1e-6)
    length = float(arc[-1])
    most = max(length, 0.5 * PEAK_SPEED * duration)  # the stretched length that keeps the peak speed
    stretched = length
    for _ in range(4):  # slowing the bends speeds the rest up: a few rounds find the peak speed
        peak = 2.0 * min(stretched, most) / duration
        weight = np.maximum(1.0, curvature * peak / (0.8 * max_turn_rate))
        if samples > 3:
            weight = np.convolve(np.pad(weight, len(kernel) // 2, mode="edge"), kernel, mode="valid")
        stretched = float(np.sum(0.5 * (weight[1:] + weight[:-1]) * np.diff(arc)))
    if stretched > most:  # bends that would need more time than the peak speed leaves keep some heading lag
        weight = 1.0 + (weight - 1.0) * (most - length) / (stretched - length)
    warped = np.concatenate([[0.0], np.cumsum(0.5 * (weight[1:] + weight[:-1]) * np.diff(arc))])
    return np.interp(progress * warped[-1], warped, arc)


@dataclass(frozen=True)
class WallTrack:
    """The line a wall-following body centre runs along: the rectangle ``[x0, x1] x [y0, y1]`` (the arena inset by
    its ``wall_distance``) with corners rounded to ``radius``, parametrised counter-clockwise by arc length ``s``
    from the start of the straight along the ``y0`` side. Positions ``s`` may be any real number (taken modulo
    :attr:`length`); headings are continuous in ``s`` (``+2 pi`` per lap)."""

    x0: float
    x1: float
    y0: float
    y1: float
    radius: float

    @property
    def _parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per part (straight, corner, ... counter-clockwise): lengths, start headings, start points or corner
        centres, and whether it is a corner."""
        r = self.radius
        w, h = self.x1 - self.x0 - 2 * r, self.y1 - self.y0 - 2 * r
        q = 0.5 * np.pi * r
        lengths = np.array([w, q, h, q, w, q, h, q])
        headings = 0.5 * np.pi * np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=np.float64)
        points = np.array(
            [
                [self.x0 + r, self.y0],
                [self.x1 - r, self.y0 + r],
                [self.x1, self.y0 + r],
                [self.x1 - r, self.y1 - r],
                [self.x1 - r, self.y1],
                [self.x0 + r, self.y1 - r],
                [self.x0, self.y1 - r],
                [self.x0 + r, self.y0 + r],
            ]
        )
        return lengths, headings, points, np.arange(8) % 2 == 1

    @property
    def length(self) -> float:
        return float(self._parts[0].sum())

    def _locate(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lengths = self._parts[0]
        total = lengths.sum()
        s = np.asarray(s, dtype=np.float64)
        lap = np.floor(s / total)
        local = s - lap * total
        ends = np.cumsum(lengths)
        part = np.minimum(np.searchsorted(ends, local, side="right"), 7)
        t = np.clip(local - (ends[part] - lengths[part]), 0.0, lengths[part])
        return part, t, lap

    def point(self, s: np.ndarray) -> np.ndarray:
        """``(..., 2)`` positions of track positions ``s (...)``."""
        lengths, headings, points, corner = self._parts
        part, t, _ = self._locate(s)
        h = headings[part] + np.where(corner[part], t / max(self.radius, 1e-12), 0.0)
        straight = points[part] + t[..., None] * np.stack([np.cos(h), np.sin(h)], axis=-1)
        arc = points[part] + self.radius * np.stack([np.sin(h), -np.cos(h)], axis=-1)
        return np.where(corner[part][..., None], arc, straight)

    def heading(self, s: np.ndarray) -> np.ndarray:
        """``(...)`` direction of travel (counter-clockwise) at ``s``, continuous in ``s``."""
        _, headings, _, corner = self._parts
        part, t, lap = self._locate(s)
        return 2 * np.pi * lap + headings[part] + np.where(corner[part], t / max(self.radius, 1e-12), 0.0)

    def curvature(self, s: np.ndarray) -> np.ndarray:
        """``(...)`` 1 / radius in the corners, 0 on the straights."""
        corner = self._parts[3]
        part, _, _ = self._locate(s)
        return np.where(corner[part], 1.0 / max(self.radius, 1e-12), 0.0)

    def project(self, xy) -> tuple[float, float]:
        """``(s, distance)`` of the track position nearest to the point ``xy (2,)``."""
        lengths, headings, points, corner = self._parts
        p = np.asarray(xy, dtype=np.float64)
        best = (0.0, np.inf)
        start = 0.0
        for k in range(8):
            if corner[k]:
                rel = p - points[k]
                turn = (np.arctan2(rel[1], rel[0]) + 0.5 * np.pi - headings[k]) % (2 * np.pi)
                if turn > 0.5 * np.pi:  # beyond the corner's ends: the nearer end
                    turn = 0.0 if turn > 0.25 * np.pi + np.pi else 0.5 * np.pi
                t = turn * self.radius
                h = headings[k] + turn
                q = points[k] + self.radius * np.array([np.sin(h), -np.cos(h)])
            else:
                u = np.array([np.cos(headings[k]), np.sin(headings[k])])
                t = float(np.clip((p - points[k]) @ u, 0.0, lengths[k]))
                q = points[k] + t * u
            d = float(np.linalg.norm(p - q))
            if d < best[1]:
                best = (start + t, d)
            start += lengths[k]
        return best

    def direction(self, s: float, heading: float, tolerance: float = 0.3) -> int | None:
        """+1 when ``heading`` runs along the track at ``s`` (counter-clockwise), -1 against it, else None."""
        diff = _wrap(heading - float(self.heading(s)))
        if abs(diff) < tolerance:
            return 1
        if abs(_wrap(diff - np.pi)) < tolerance:
            return -1
        return None

    def state(self, s: float, direction: int, offset: float) -> RootState:
        """The root state whose body centre (``offset`` ahead of the root) stands at ``s`` facing ``direction``."""
        c = self.point(s)
        h = float(self.heading(s)) + (0.0 if direction > 0 else np.pi)
        return RootState(float(c[0] - offset * np.cos(h)), float(c[1] - offset * np.sin(h)), _wrap(h))

    def route(
        self,
        start: RootState,
        end: RootState,
        offset: float,
        tolerance: float = 0.005,
        max_share: float = 0.75,
        max_distance: float = np.inf,
    ) -> tuple[float, int, float] | None:
        """``(s0, direction, distance)`` of a walk along the track from ``start`` to ``end`` (root states whose body
        centres, ``offset`` ahead, lie within ``tolerance`` of the track, heading the same way along it, at most
        ``max_share`` of a lap and ``max_distance`` apart in that direction), else None."""
        found = []
        for state in (start, end):
            c = (state.x + offset * np.cos(state.heading), state.y + offset * np.sin(state.heading))
            s, d = self.project(c)
            direction = self.direction(s, state.heading) if d <= tolerance else None
            if direction is None:
                return None
            found.append((s, direction))
        (s0, d0), (s1, d1) = found
        if d0 != d1:
            return None
        distance = float(((s1 - s0) * d0) % self.length)
        if distance > min(max_share * self.length, max_distance):
            return None
        return s0, d0, distance


@lru_cache(maxsize=64)
def wall_track(arena: Arena | None, front: float) -> WallTrack | None:
    """The wall track of an arena for a body whose nose lies ``front`` metres ahead of its centre (None without an
    arena, or when the arena is too small for one). The corner radius keeps the nose :data:`WALL_CLEARANCE` inside
    the walls while the centre rounds a corner ``wall_distance`` from both walls: ``(front^2 - g^2) / 2 g`` with
    ``g`` the wall distance less the clearance (at least 2 cm, at most half the track's shorter side)."""
    if arena is None:
        return None
    g = arena.wall_distance
    x0, x1, y0, y1 = arena.x_min + g, arena.x_max - g, arena.y_min + g, arena.y_max - g
    if x1 - x0 < 0.02 or y1 - y0 < 0.02:
        return None
    clear = max(g - WALL_CLEARANCE, 0.005)
    radius = max(0.02, (front**2 - clear**2) / (2 * clear)) if front > clear else 0.02
    return WallTrack(x0, x1, y0, y1, min(radius, 0.5 * (x1 - x0), 0.5 * (y1 - y0)))


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
