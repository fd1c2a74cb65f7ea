"""Where a freely moving animal goes in an arena: anchors and the targets of walking bouts (thigmotaxis).

A mix's timeline is cut into blocks planned independently of each other (random access, see
:mod:`synthmouse.motion.mix`). Each block ``b`` has an *anchor* ``A_b``, drawn from ``(seed, b)`` alone, where the
root stands when the block starts; the targets of the block's walking bouts (its *legs*) are chained from
``A_b`` to ``A_{b+1}``, so the last leg of a block ends where the next block starts:

* a :class:`Place` lies either on the arena's wall track (:class:`~synthmouse.motion.path.WallTrack`: the body
  centre ``wall_distance`` from a wall, heading along it one way or the other) or in the open (a point of the
  arena's centre zone, outside the periphery zone, and a heading);
* an anchor lies on the track with probability ``arena.periphery``, else in the open;
* every leg but the last ends in the open with probability ``q`` (below), the body heading the way it came;
  otherwise on the track: further along the wall the same way (the bout's cruise speed times its duration times
  U(0.5, 0.9)), or at a random spot of the track (coming back from the open), or, with probability
  :data:`CROSS`, on the far half of the track (crossing the arena);
* the last leg ends at ``A_{b+1}``. When that anchor lies on the track, the legs after the last *jump* (a leg that
  ends in the open or lands on the track from elsewhere) walk along the wall into it: the jump lands where that
  walk has to start. Without a jump the legs' distances are scaled to reach it when that takes 0.4 to 2 times
  their nominal distances and the directions agree; otherwise the leg before the last one ends in the open.

``q`` is chosen per block from its plan so that the expected time in the open is ``1 - periphery`` of the block:
a stop in the open costs the stationary time after it and half of the legs into and out of it
(:data:`OPEN_COST` calibrates the approximation; measured shares in ``docs/motion/README.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Arena, RootState
from .path import WallTrack

CROSS = 0.15  # share of wall-to-wall legs that cross the arena instead of following the wall
OPEN_COST = 1.0  # time in the open per stop there, relative to the estimate (see the module docstring)
CROSS_COST = 0.5  # share of a crossing leg spent in the open
REACH = 1.6  # how far a leg may go, relative to its cruise speed times its duration
OPEN_CANDIDATES = 3  # open places drawn per leg; the one needing the smallest turn is taken
OPEN_REACH = 0.15  # metres a leg must reach (REACH times its cruise speed times its duration) to end in the open
CROSS_REACH = 0.3  # ... and to cross the arena


@dataclass(frozen=True)
class Place:
    """Where the body centre stands: on the wall track (``s``, ``direction`` +1 counter-clockwise or -1) or in the
    open (``x``, ``y``, ``heading``)."""

    on_track: bool
    s: float = 0.0
    direction: int = 1
    x: float = 0.0
    y: float = 0.0
    heading: float = 0.0

    def centre(self, track: WallTrack) -> np.ndarray:
        return track.point(self.s) if self.on_track else np.array([self.x, self.y])

    def state(self, track: WallTrack, offset: float) -> RootState:
        """The root state (the root ``offset`` behind the body centre)."""
        if self.on_track:
            return track.state(self.s, self.direction, offset)
        h = self.heading
        return RootState(self.x - offset * np.cos(h), self.y - offset * np.sin(h), h)


def open_place(rng: np.random.Generator, arena: Arena) -> Place:
    """A uniform point of the arena's centre zone with a uniform heading."""
    x0, x1, y0, y1 = arena.centre_zone
    x, y, h = rng.uniform(x0, x1), rng.uniform(y0, y1), rng.uniform(-np.pi, np.pi)
    return Place(False, x=float(x), y=float(y), heading=float(h))


def anchor_place(rng: np.random.Generator, arena: Arena, track: WallTrack) -> Place:
    """A block anchor: on the track with probability ``arena.periphery`` (uniform position, either way round),
    else in the open."""
    on_track = rng.random() < arena.periphery
    s, direction = rng.uniform(0.0, track.length), 1 if rng.random() < 0.5 else -1
    inside = open_place(rng, arena)
    return Place(True, float(s), direction) if on_track else inside


def open_probability(
    arena: Arena,
    legs: np.ndarray,
    gaps: np.ndarray,
    eligible: np.ndarray | None = None,
    crossable: np.ndarray | None = None,
) -> tuple[float, float]:
    """``(q, cross)``: the chances that a leg (not the last) ends in the open, and that a leg from the wall to the
    wall crosses the arena, so the expected time in the open of a block with leg durations ``legs (k,)`` and
    stationary times ``gaps (k + 1,)`` (before, between and after the legs, seconds) is ``1 - periphery`` of it
    (see the module docstring; a crossing costs :data:`CROSS_COST` of its leg in the open). ``eligible`` and
    ``crossable`` ``(k - 1,)`` say which legs may end in the open or cross (default: all)."""
    k = len(legs)
    if k < 2:
        return 0.0, CROSS
    eligible = np.ones(k - 1, bool) if eligible is None else eligible
    crossable = np.ones(k - 1, bool) if crossable is None else crossable
    away = 1.0 - arena.periphery
    total = float(legs.sum() + gaps.sum())
    anchors = away * (gaps[0] + 0.5 * legs[0] + gaps[k] + 0.5 * legs[k - 1])  # anchors are open this often
    budget = away * total - anchors
    costs = float((OPEN_COST * (gaps[1:k] + 0.5 * (legs[:-1] + legs[1:])))[eligible].sum())
    crossing = CROSS * CROSS_COST * float(legs[:-1][crossable].sum())
    if budget <= crossing:
        return 0.0, CROSS * max(budget, 0.0) / max(crossing, 1e-9)
    return float(np.clip((budget - crossing) / max(costs - crossing, 1e-9), 0.0, 1.0)), CROSS


def block_targets(
    rng: np.random.Generator,
    arena: Arena,
    track: WallTrack,
    legs: np.ndarray,
    distances: np.ndarray,
    gaps: np.ndarray,
    start: Place,
    end: Place,
) -> list[Place]:
    """The end places of a block's ``k`` legs (the last is ``end``), see the module docstring.

    Args:
        legs: ``(k,)`` leg durations (seconds).
        distances: ``(k,)`` cruise speed times duration of each leg (metres): a leg reaches :data:`REACH` times that,
            walks a random 0.5-0.9 of it along a wall, ends in the open only when it reaches
            :data:`OPEN_REACH` and crosses the arena only when it reaches :data:`CROSS_REACH`.
        gaps: ``(k + 1,)`` stationary seconds before, between and after the legs.
        start, end: this block's and the next block's anchors.
    """
    k = len(legs)
    if k == 0:
        return []
    length = track.length
    reach = REACH * distances
    eligible, crossable = reach[:-1] >= OPEN_REACH, reach[:-1] >= CROSS_REACH
    q, cross = open_probability(arena, legs, gaps, eligible, crossable)
    # every draw happens up front, in a fixed order, whatever the choices below
    nominal = distances * rng.uniform(0.5, 0.9, size=k)
    u_open, u_cross = rng.random(k - 1), rng.random(k - 1)
    landing = rng.random(k - 1)  # where a jump lands (a share of the track or of the reach)
    turns = np.where(rng.random(k - 1) < 0.5, 1, -1)
    opens = [[open_place(rng, arena) for _ in range(OPEN_CANDIDATES)] for _ in range(k - 1)]
    kinds = []
    on_track = start.on_track
    for i in range(k - 1):
        if u_open[i] < q and eligible[i]:
            kind = "open"
        elif not on_track or (u_cross[i] < cross and crossable[i]):
            kind = "land"
        else:
            kind = "along"
        kinds.append(kind)
        on_track = kind != "open"
    scale = 1.0
    if end.on_track:
        jumps = [i for i, kind in enumerate(kinds) if kind != "along"]
        last = jumps[-1] if jumps else -1
        walk = float(nominal[last + 1 :].sum())
        if last >= 0 and kinds[last] == "land":
            landing[last] = np.nan  # lands where the walk into ``end`` starts
            turns[last] = end.direction
        elif last < 0:
            ratio = ((end.s - start.s) * start.direction) % length / max(walk, 1e-9)
            if start.on_track and start.direction == end.direction and 0.4 <= ratio <= 2.0:
                scale = ratio
            elif k >= 2:
                kinds[k - 2] = "open"
    places: list[Place] = []
    here = start
    s, direction = start.s, start.direction
    x0, x1, y0, y1 = arena.centre_zone
    for i in range(k - 1):
        if kinds[i] == "along":
            s = s + direction * nominal[i] * scale
            place = Place(True, float(s % length), direction)
        elif kinds[i] == "land":
            if np.isnan(landing[i]):  # the walk into ``end`` starts here: as near as its length allows
                s, scale = _landing(track, here.centre(track), reach[i], end, float(nominal[i + 1 :].sum()))
            elif here.on_track:  # crossing: to a wall ahead or across
                s = s + direction * (0.2 + 0.35 * landing[i]) * length
            else:  # back to the wall: straight ahead if within reach, else the nearest wall
                s = _return(track, here, reach[i]) + (landing[i] - 0.5) * 0.5 * reach[i]
            direction = (
                _arriving(track, here.centre(track), s, int(turns[i])) if not np.isnan(landing[i]) else end.direction
            )
            place = Place(True, float(s % length), direction)
        else:  # in the open within reach, heading the way the body came
            origin = here.centre(track)
            if i == k - 2:  # the last leg goes on to ``end``: stop between here and there
                ahead = 0.5 * (origin + end.centre(track))
                chosen = Place(False, x=float(ahead[0]), y=float(ahead[1]), heading=opens[i][0].heading)
            else:  # the candidate needing the smallest turn
                facing = here.state(track, 0.0).heading
                turns_to = [abs(_wrap(np.arctan2(c.y - origin[1], c.x - origin[0]) - facing)) for c in opens[i]]
                chosen = opens[i][int(np.argmin(turns_to))]
            came = np.array([chosen.x, chosen.y]) - origin
            far = float(np.hypot(*came))
            point = origin + came * min(1.0, 0.8 * reach[i] / max(far, 1e-9))
            point = np.array([np.clip(point[0], x0, x1), np.clip(point[1], y0, y1)])
            came = point - origin
            heading = float(np.arctan2(came[1], came[0])) if np.hypot(*came) > 0.02 else chosen.heading
            place = Place(False, x=float(point[0]), y=float(point[1]), heading=heading)
        places.append(place)
        here = place
    places.append(end)
    return places


def _landing(track: WallTrack, origin: np.ndarray, reach: float, end: Place, walk: float) -> tuple[float, float]:
    """``(s, scale)``: where a leg from ``origin`` lands on the track so that walking ``scale * walk`` along it
    reaches ``end`` (``scale`` in 0.4-2, the landing nearest to ``origin``; exactly ``walk`` when that one is
    within ``reach`` too)."""
    scales = np.concatenate([[1.0], np.linspace(0.4, 2.0, 17)])
    spots = end.s - end.direction * walk * scales
    chords = np.linalg.norm(track.point(spots) - origin, axis=-1)
    # arriving against the track's direction there means a loop: count it as 20 cm more
    along = np.stack([np.cos(track.heading(spots)), np.sin(track.heading(spots))], axis=-1) * end.direction
    cost = chords + 0.2 * (np.einsum("ij,ij->i", along, track.point(spots) - origin) < 0)
    pick = 0 if cost[0] <= reach else int(np.argmin(cost))
    return float(spots[pick]), float(scales[pick])


def _arriving(track: WallTrack, origin: np.ndarray, s: float, fallback: int) -> int:
    """The direction along the track at ``s`` that continues the approach from ``origin`` (``fallback`` when
    the approach is nearly square to the wall)."""
    along = np.array([np.cos(track.heading(s)), np.sin(track.heading(s))])
    come = track.point(s) - origin
    dot = float(along @ come) / max(float(np.linalg.norm(come)), 1e-9)
    return fallback if abs(dot) < 0.2 else (1 if dot > 0 else -1)


def _return(track: WallTrack, here: Place, reach: float) -> float:
    """Track position a leg from the open place ``here`` heads for: where its heading meets the track if that
    is within ``reach``, else the nearest track position."""
    origin = np.array([here.x, here.y])
    d = np.array([np.cos(here.heading), np.sin(here.heading)])
    hits = []
    for k, (lo, hi) in enumerate(((track.x0, track.x1), (track.y0, track.y1))):
        if abs(d[k]) > 1e-9:
            hits += [t for t in ((lo - origin[k]) / d[k], (hi - origin[k]) / d[k]) if t > 0]
    t = min(hits) if hits else np.inf
    if t <= reach:
        return track.project(origin + t * d)[0]
    return track.project(origin)[0]


def _wrap(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)
