"""Anatomy of the built-in parametric mouse: skeleton joints and the implicit surface that becomes its skin.

Everything here is in millimetres in the body frame (origin on the floor under the pelvis, nose towards +x,
the animal's left towards +y, z up), for an adult C57BL/6 in a relaxed standing pose: nose 95 mm from the tail
root, tail 85 mm, trunk about 28 mm wide and 27 mm high, paws on the floor. The mesh builder
(:mod:`synthmouse.body.parametric_mesh`) polygonizes the surface; :mod:`synthmouse.body.parametric` converts
to metres and applies the shape parameters.

The surface is a smooth union of signed-distance primitives grouped in *parts* (the trunk-and-head sweep,
chin, whisker pads, eyes, ears, limb segments, paws, digits, tail). Each primitive names the joint whose bone
it belongs to, which seeds the skinning weights; the trunk sweep and the tail are weighted along their joint
chains instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import PchipInterpolator

# ------------------------------------------------------------------------------------------------------------
# Key dimensions (mm)
NOSE_X, NOSE_Z = 88.5, 12.0
TAIL_ROOT_Z = 16.5
TAIL_LENGTH = 85.0
TAIL_ROOT_RADIUS, TAIL_TIP_RADIUS = 1.6, 0.42
TAIL_JOINTS = 13
TAIL_DROP_LENGTH = TAIL_LENGTH * 5 / TAIL_JOINTS  # arc length over which the tail sinks to the floor (5 bones)
FLOOR_GAP = 0.15  # clearance of the resting tail above the floor
EAR_LENGTH = 13.6
TAIL_MIDDLE_FRACTION = 0.35  # where the tail_middle landmark sits along the tail (as on SAM)


def tail_root_x() -> float:
    """x of the tail root such that the nose tip is 95 mm away."""
    return NOSE_X - float(np.sqrt(95.0**2 - (NOSE_Z - TAIL_ROOT_Z) ** 2))


def tail_radius(s: np.ndarray) -> np.ndarray:
    """Tail radius at arc length ``s`` (mm from the root; values below 0 lie inside the rump)."""
    t = np.clip(np.asarray(s, dtype=np.float64) / TAIL_LENGTH, 0.0, 1.0)
    return TAIL_TIP_RADIUS + (TAIL_ROOT_RADIUS - TAIL_TIP_RADIUS) * (1.0 - t) ** 1.25


def tail_floor_weight(s: np.ndarray) -> np.ndarray:
    """0 at the tail root rising smoothly to 1 where the tail rests on the floor."""
    t = np.clip(np.asarray(s, dtype=np.float64) / TAIL_DROP_LENGTH, 0.0, 1.0)
    return 0.5 * (1.0 - np.cos(np.pi * t))


def tail_centreline(s: np.ndarray) -> np.ndarray:
    """``(N, 3)`` points of the tail centre line at arc lengths ``s`` (mm; below 0 is inside the rump).

    The tail leaves the rump horizontally, sinks to the floor over :data:`TAIL_DROP_LENGTH` and then rests on
    it.
    """
    s = np.asarray(s, dtype=np.float64)
    fine = np.linspace(min(float(s.min()), 0.0), max(float(s.max()), TAIL_LENGTH), 4001)
    z = TAIL_ROOT_Z + (tail_radius(fine) + FLOOR_GAP - TAIL_ROOT_Z) * tail_floor_weight(fine)
    dz = np.gradient(z, fine)
    dx = -np.sqrt(np.clip(1.0 - dz**2, 0.0, 1.0))
    x = np.concatenate([[0.0], np.cumsum(0.5 * (dx[1:] + dx[:-1]) * np.diff(fine))])
    x += tail_root_x() - np.interp(0.0, fine, x)
    return np.stack([np.interp(s, fine, x), np.zeros_like(s), np.interp(s, fine, z)], axis=-1)


# ------------------------------------------------------------------------------------------------------------
# Skeleton


@dataclass(frozen=True)
class JointSpec:
    """One joint: name, parent name (None for the root), anatomical group, rest position (mm)."""

    name: str
    parent: str | None
    group: str
    position: tuple[float, float, float]


def _mirror(p: tuple[float, float, float], side: str) -> tuple[float, float, float]:
    return (p[0], p[1] if side == "l" else -p[1], p[2])


# Left-side limb joints (mm); the right side mirrors y.
SCAPULA = (40.0, 5.0, 22.0)
SHOULDER = (52.0, 8.0, 12.5)
ELBOW = (46.5, 10.0, 6.2)
WRIST = (55.5, 10.2, 1.9)
# Forepaw digits 1 (pollex, medial) .. 5: knuckle and tip positions.
FORE_KNUCKLES = (
    (56.9, 8.9, 1.0),
    (58.5, 9.3, 0.95),
    (58.9, 10.3, 0.95),
    (58.6, 11.2, 0.95),
    (57.8, 11.9, 0.95),
)
FORE_TIPS = ((57.8, 8.3, 0.45), (61.2, 8.4, 0.36), (62.0, 10.1, 0.36), (61.6, 11.9, 0.36), (60.2, 13.1, 0.36))
FORE_TIP_RADIUS, HIND_TIP_RADIUS = 0.36, 0.42  # radii of the digits' tips
HIP = (-4.0, 7.0, 13.5)
KNEE = (7.0, 12.0, 8.0)
ANKLE = (-8.5, 12.8, 2.6)
HEEL = (-9.8, 12.6, 1.0)
HIND_KNUCKLES = (
    (-0.4, 11.8, 1.05),
    (0.9, 12.6, 1.05),
    (1.2, 13.5, 1.05),
    (0.9, 14.4, 1.05),
    (-0.1, 15.2, 1.05),
)
HIND_TIPS = ((2.6, 11.3, 0.42), (5.2, 12.1, 0.42), (5.9, 13.6, 0.42), (5.4, 15.2, 0.42), (3.7, 16.5, 0.42))
EAR_BASE = (61.5, 7.0, 22.4)
EAR_AXIS = (-0.55, 0.58, 0.60)  # base to tip, left ear (normalized below)
EYE_CENTRE = (75.5, 5.0, 17.1)
EYE_RADIUS = 1.8
WHISKER_PAD = (82.0, 2.6, 12.4)  # centre of the mystacial pad's bulge on the side of the snout

AXIAL_JOINTS = (  # name, parent, group, position
    ("root", None, "root", (0.0, 0.0, 0.0)),
    ("pelvis", "root", "pelvis", (0.0, 0.0, 19.0)),
    ("spine_0", "pelvis", "spine", (9.0, 0.0, 21.5)),
    ("spine_1", "spine_0", "spine", (19.0, 0.0, 22.0)),
    ("spine_2", "spine_1", "spine", (29.0, 0.0, 21.0)),
    ("spine_3", "spine_2", "spine", (39.0, 0.0, 19.5)),
    ("neck", "spine_3", "neck", (49.0, 0.0, 17.5)),
    ("head", "neck", "head", (60.0, 0.0, 17.5)),
    ("snout", "head", "fixed", (75.0, 0.0, 15.0)),
    ("rhinarium", "snout", "fixed", (85.0, 0.0, 13.0)),
    ("nose_tip", "rhinarium", "fixed", (NOSE_X, 0.0, NOSE_Z)),
    ("jaw", "head", "jaw", (65.0, 0.0, 11.0)),
    # the tongue's pivot lies 40 mm below the mouth (a child of the head, not of the jaw), so rotating it slides
    # the tongue forward out of the mouth (protrusion: joints only rotate); the tongue is a separate mesh
    # (synthmouse.body.tongue)
    ("tongue", "head", "tongue", (73.0, 0.0, -28.0)),
)
# the tongue on the floor of the closed mouth (mm): ends of its axis, half width, half thickness
TONGUE_BACK = (66.5, 0.0, 12.2)
TONGUE_FRONT = (79.5, 0.0, 11.9)
TONGUE_HALF_WIDTH = 2.0
TONGUE_HALF_THICKNESS = 0.85


def ear_axis(side: str) -> np.ndarray:
    a = np.array(_mirror(EAR_AXIS, side))
    return a / np.linalg.norm(a)


def tail_joint_arclengths() -> np.ndarray:
    """Arc length (mm) of ``tail_0 .. tail_{n-1}`` and ``tail_end``."""
    return np.linspace(0.0, TAIL_LENGTH, TAIL_JOINTS + 1)


def joint_specs() -> list[JointSpec]:
    """All joints, parents before children."""
    specs = [JointSpec(*j) for j in AXIAL_JOINTS]
    for side in ("l", "r"):
        base = np.array(_mirror(EAR_BASE, side))
        specs += [
            JointSpec(f"ear_{side}", "head", f"ear_{side}", tuple(base)),
            JointSpec(f"ear_{side}_end", f"ear_{side}", "fixed", tuple(base + EAR_LENGTH * ear_axis(side))),
        ]
    tail_points = tail_centreline(tail_joint_arclengths())
    for k in range(TAIL_JOINTS):
        specs.append(JointSpec(f"tail_{k}", "pelvis" if k == 0 else f"tail_{k - 1}", "tail", tuple(tail_points[k])))
    specs.append(JointSpec("tail_end", f"tail_{TAIL_JOINTS - 1}", "fixed", tuple(tail_points[-1])))
    for side in ("l", "r"):
        m = lambda p, side=side: _mirror(p, side)  # noqa: E731
        specs += [
            JointSpec(f"scapula_{side}", "spine_3", f"scapula_{side}", m(SCAPULA)),
            JointSpec(f"humerus_{side}", f"scapula_{side}", f"shoulder_{side}", m(SHOULDER)),
            JointSpec(f"ulna_{side}", f"humerus_{side}", f"elbow_{side}", m(ELBOW)),
            JointSpec(f"fore_paw_{side}", f"ulna_{side}", f"wrist_{side}", m(WRIST)),
        ]
        for d in range(5):
            specs += [
                JointSpec(
                    f"fore_digit{d + 1}_{side}",
                    f"fore_paw_{side}",
                    f"fore_digits_{side}",
                    m(FORE_KNUCKLES[d]),
                ),
                JointSpec(f"fore_digit{d + 1}_{side}_end", f"fore_digit{d + 1}_{side}", "fixed", m(FORE_TIPS[d])),
            ]
        specs += [
            JointSpec(f"femur_{side}", "pelvis", f"hip_{side}", m(HIP)),
            JointSpec(f"tibia_{side}", f"femur_{side}", f"knee_{side}", m(KNEE)),
            JointSpec(f"hind_paw_{side}", f"tibia_{side}", f"ankle_{side}", m(ANKLE)),
        ]
        for d in range(5):
            specs += [
                JointSpec(
                    f"hind_digit{d + 1}_{side}",
                    f"hind_paw_{side}",
                    f"hind_digits_{side}",
                    m(HIND_KNUCKLES[d]),
                ),
                JointSpec(f"hind_digit{d + 1}_{side}_end", f"hind_digit{d + 1}_{side}", "fixed", m(HIND_TIPS[d])),
            ]
    return specs


# ------------------------------------------------------------------------------------------------------------
# Signed-distance primitives (negative inside). Distances are exact or first-order approximations near the
# surface.


def smooth_min(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum of two fields with blend radius ``k`` (mm); plain min for ``k <= 0``."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.clip(k - np.abs(a - b), 0.0, None) / k
    return np.minimum(a, b) - h * h * k * 0.25


def _frame_from_axis(axis: np.ndarray) -> np.ndarray:
    """``(3, 3)`` rotation with columns (axis, side, normal), ``normal`` as close to +z as possible."""
    up = np.array([0.0, 0.0, 1.0])
    x = axis / np.linalg.norm(axis)
    if abs(float(x @ up)) > 0.95:
        up = np.array([1.0, 0.0, 0.0])
    z = up - (up @ x) * x
    z /= np.linalg.norm(z)
    return np.stack([x, np.cross(z, x), z], axis=1)


@dataclass(frozen=True)
class RoundCone:
    """Convex hull of two spheres (centres ``a``, ``b``; radii ``ra``, ``rb``), optionally squashed.

    ``squash`` < 1 flattens the cross-section along the axis' ``up``-most normal (a paw sole, a foot).
    """

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    ra: float
    rb: float
    joint: str
    squash: float = 1.0

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        a, b, r = np.array(self.a), np.array(self.b), max(self.ra, self.rb)
        return np.minimum(a, b) - r, np.maximum(a, b) + r

    def sdf(self, p: np.ndarray) -> np.ndarray:
        a, b = np.array(self.a), np.array(self.b)
        if self.squash != 1.0:
            rot = _frame_from_axis(b - a)
            local = (p - a) @ rot
            local[:, 2] /= self.squash
            p = local @ rot.T + a
        d = _round_cone(p, a, b, self.ra, self.rb)
        return d * self.squash if self.squash < 1.0 else d


def _round_cone(p: np.ndarray, a: np.ndarray, b: np.ndarray, r1: float, r2: float) -> np.ndarray:
    """Exact signed distance to the convex hull of two spheres (after I. Quilez's formulation)."""
    ba = b - a
    l2 = float(ba @ ba)
    rr = r1 - r2
    a2 = l2 - rr * rr
    pa = p - a
    y = pa @ ba
    z = y - l2
    x2 = np.sum((pa * l2 - y[:, None] * ba) ** 2, axis=1)
    y2 = y * y * l2
    z2 = z * z * l2
    k = np.sign(rr) * rr * rr * x2
    d_side = (np.sqrt(np.clip(x2 * a2 / l2, 0.0, None)) + y * rr) / l2 - r1
    d_b = np.sqrt(x2 + z2) / l2 - r2
    d_a = np.sqrt(x2 + y2) / l2 - r1
    return np.where(np.sign(z) * a2 * z2 > k, d_b, np.where(np.sign(y) * a2 * y2 < k, d_a, d_side))


@dataclass(frozen=True)
class Ellipsoid:
    """Ellipsoid with centre, orientation (rows = axes) and semi-axes; ``cup`` bends it into a dish.

    ``cup`` (1/mm) curves the thin third axis with the square of the second coordinate, so a flat disc becomes
    a cupped ear.
    """

    centre: tuple[float, float, float]
    axes: tuple[tuple[float, float, float], ...]  # 3 x 3, rows are the unit axes
    radii: tuple[float, float, float]
    joint: str
    cup: float = 0.0

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        c = np.array(self.centre)
        ext = np.abs(np.array(self.axes)).T @ np.array(self.radii) + abs(self.cup) * max(self.radii) ** 2
        return c - ext, c + ext

    def sdf(self, p: np.ndarray) -> np.ndarray:
        local = (p - np.array(self.centre)) @ np.array(self.axes).T
        if self.cup:
            local[:, 2] -= self.cup * (local[:, 1] ** 2 + 0.4 * local[:, 0] ** 2)
        return _ellipsoid_estimate(local, np.array(self.radii))


# The trunk-and-head sweep: elliptic cross-sections perpendicular to x with an upper and a lower half, closed
# by
# half-ellipsoid caps at both ends. Rows: x, half-width, top, bottom (mm) from the rear cap's base to the nose
# cap's base; the widest line sits at bottom + WIDEST * (top - bottom). Repeated rows make the profile flat
# where
# it meets the caps, so the surface is smooth there.
REAR_CAP, FRONT_CAP = 20.5, 2.0  # lengths (mm) of the rounded ends
SWEEP_PROFILE = np.array(
    [
        (8.5, 14.2, 33.6, 5.4),
        (10.5, 14.2, 33.6, 5.4),
        (18.0, 13.8, 33.2, 5.7),
        (27.0, 12.5, 31.4, 6.6),
        (36.0, 11.1, 28.9, 7.6),
        (45.0, 10.0, 26.2, 8.5),
        (52.0, 9.3, 24.8, 8.8),
        (56.0, 9.3, 24.6, 8.8),
        (61.0, 9.8, 25.3, 8.7),
        (66.0, 9.5, 24.9, 8.8),
        (72.0, 7.8, 23.0, 9.2),
        (78.0, 5.5, 20.0, 9.7),
        (84.0, 3.1, 16.0, 10.3),
        (NOSE_X - FRONT_CAP, 2.3, 14.3, 10.5),
    ]
)
WIDEST = 0.45


def _ellipsoid_estimate(local: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Signed distance estimate to axis-aligned ellipsoids, radii ``(N, 3)`` per point (I. Quilez's bound)."""
    k0 = np.linalg.norm(local / radii, axis=1)
    k1 = np.linalg.norm(local / (radii * radii), axis=1)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


@dataclass(frozen=True)
class Sweep:
    """Trunk, neck and head as one surface of elliptic x-sections with half-ellipsoid ends."""

    profile: np.ndarray = field(default_factory=lambda: SWEEP_PROFILE.copy())
    joint: str = "spine_1"

    def __post_init__(self) -> None:
        x = self.profile[:, 0]
        table_x = np.linspace(x[0], x[-1], int(round((x[-1] - x[0]) / 0.02)) + 1)
        w, top, bottom = (PchipInterpolator(x, self.profile[:, i])(table_x) for i in (1, 2, 3))
        mid = bottom + WIDEST * (top - bottom)
        rows = np.stack([w, mid, top - mid, mid - bottom])
        object.__setattr__(self, "_x", table_x)
        object.__setattr__(self, "_rows", np.concatenate([rows, np.gradient(rows, table_x, axis=1)]))

    @property
    def xa(self) -> float:
        """Where the rear cap meets the core."""
        return float(self.profile[0, 0])

    @property
    def xb(self) -> float:
        """Where the nose cap meets the core."""
        return float(self.profile[-1, 0])

    @property
    def x0(self) -> float:
        """The rear end."""
        return self.xa - REAR_CAP

    @property
    def x1(self) -> float:
        """The nose tip."""
        return self.xb + FRONT_CAP

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        p = self.profile
        return np.array([self.x0, -p[:, 1].max(), p[:, 3].min()]), np.array([self.x1, p[:, 1].max(), p[:, 2].max()])

    def section(self, x: np.ndarray) -> np.ndarray:
        """``(4, N)``: half-width, centre height, upper and lower half-heights of the core at ``x``."""
        return self._lookup(x)[:4]

    def _lookup(self, x: np.ndarray) -> np.ndarray:
        """``(8, N)``: the section and its x-derivatives at ``x``, interpolated in the uniform table."""
        table_x = self._x
        step = table_x[1] - table_x[0]
        t = np.clip((x - table_x[0]) / step, 0.0, len(table_x) - 1.000001)
        i = t.astype(np.int64)
        frac = t - i
        return self._rows[:, i] * (1.0 - frac) + self._rows[:, i + 1] * frac

    def sdf(self, p: np.ndarray) -> np.ndarray:
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        w, mid, up, down, dw, dmid, dup, ddown = self._lookup(x)
        above = z > mid
        h = np.where(above, up, down)
        dh = np.where(above, dup, ddown)
        u, v = y / w, (z - mid) / h
        rho = np.sqrt(u * u + v * v)
        # First-order distance (rho - 1) / |grad rho|, with x entering through the profile's slopes.
        gx = -(u * u / w * dw + v / h * dmid + v * v / h * dh)
        grad = np.sqrt(gx * gx + (u / w) ** 2 + (v / h) ** 2) / np.maximum(rho, 1e-9)
        d = (rho - 1.0) / np.maximum(grad, 1e-6)
        for end, cap, sign in ((self.xa, REAR_CAP, -1.0), (self.xb, FRONT_CAP, 1.0)):
            beyond = np.flatnonzero(sign * (x - end) > 0)
            if beyond.size:
                we, me, ue, de = self.section(np.array([end]))[:, 0]
                local = p[beyond] - np.array([end, 0.0, me])
                radii = np.empty((len(beyond), 3))
                radii[:, 0], radii[:, 1] = cap, we
                radii[:, 2] = np.where(local[:, 2] > 0, ue, de)
                d[beyond] = _ellipsoid_estimate(local, radii)
        return d


@dataclass(frozen=True)
class Part:
    """Primitives smoothly united with each other (``k_inner``) and then with the body so far (``k_body``).

    ``region`` names the coarse region (for skinning restrictions and colour hints).
    """

    name: str
    region: str
    primitives: tuple
    k_inner: float
    k_body: float


def tail_primitives(samples: int = 44) -> tuple[RoundCone, ...]:
    """The tail as a chain of round cones along its centre line (starting 6 mm inside the rump)."""
    s = np.concatenate([[-6.0], np.linspace(0.0, TAIL_LENGTH, samples)])
    pts = tail_centreline(s)
    r = tail_radius(s)
    r[-1] = TAIL_TIP_RADIUS
    return tuple(
        RoundCone(tuple(pts[i]), tuple(pts[i + 1]), float(r[i]), float(r[i + 1]), "tail") for i in range(len(s) - 1)
    )


def limb_parts(side: str) -> list[Part]:
    """Forelimb and hindlimb parts of one side."""
    m = lambda p: _mirror(p, side)  # noqa: E731
    fore = Part(
        f"forelimb_{side}",
        f"forelimb_{side}",
        (
            RoundCone(m(SHOULDER), m(ELBOW), 3.4, 2.2, f"humerus_{side}"),
            RoundCone(m(ELBOW), m((53.0, 10.2, 2.8)), 1.85, 1.25, f"ulna_{side}"),
            RoundCone(m((53.0, 10.2, 2.8)), m(WRIST), 1.25, 1.05, f"ulna_{side}"),
        ),
        1.2,
        2.5,
    )
    forepaw = Part(
        f"forepaw_{side}",
        f"forelimb_{side}",
        (
            RoundCone(m((55.3, 10.2, 1.25)), m((57.9, 10.3, 1.0)), 1.1, 1.0, f"fore_paw_{side}", squash=0.7),
            *(
                RoundCone(
                    m(FORE_KNUCKLES[d]),
                    m(FORE_TIPS[d]),
                    0.5 if d else 0.42,
                    FORE_TIP_RADIUS,
                    f"fore_digit{d + 1}_{side}",
                )
                for d in range(5)
            ),
        ),
        0.35,
        0.8,
    )
    hind = Part(
        f"hindlimb_{side}",
        f"hindlimb_{side}",
        (
            RoundCone(m(HIP), m(KNEE), 5.8, 4.0, f"femur_{side}"),
            RoundCone(m(KNEE), m(ANKLE), 2.7, 1.35, f"tibia_{side}"),
        ),
        2.0,
        4.0,
    )
    hindpaw = Part(
        f"hindpaw_{side}",
        f"hindlimb_{side}",
        (
            RoundCone(m(HEEL), m(ANKLE), 0.95, 1.3, f"hind_paw_{side}"),
            RoundCone(m(HEEL), m((0.6, 13.5, 1.3)), 1.1, 1.3, f"hind_paw_{side}", squash=0.78),
            *(
                RoundCone(m(HIND_KNUCKLES[d]), m(HIND_TIPS[d]), 0.55, HIND_TIP_RADIUS, f"hind_digit{d + 1}_{side}")
                for d in range(5)
            ),
        ),
        0.35,
        1.0,
    )
    return [fore, forepaw, hind, hindpaw]


def head_parts(side: str) -> list[Part]:
    """Eye, ear and whisker pad of one side."""
    m = lambda p: _mirror(p, side)  # noqa: E731
    axis = ear_axis(side)
    normal = np.array(m((0.8, 0.47, 0.38)))  # the ear opening faces forward, outward and up
    normal -= (normal @ axis) * axis
    normal /= np.linalg.norm(normal)
    width = np.cross(normal, axis)
    centre = np.array(m(EAR_BASE)) + 6.6 * axis
    ear = Ellipsoid(
        tuple(centre), (tuple(axis), tuple(width), tuple(normal)), (6.8, 6.1, 0.42), f"ear_{side}", cup=-0.05
    )
    eye = Ellipsoid(m(EYE_CENTRE), ((1, 0, 0), (0, 1, 0), (0, 0, 1)), (EYE_RADIUS,) * 3, "head")
    pad = Ellipsoid(m(WHISKER_PAD), ((1, 0, 0), (0, 1, 0), (0, 0, 1)), (3.4, 2.0, 2.1), "head")
    return [
        Part(f"whisker_pad_{side}", "head", (pad,), 0.0, 1.5),
        Part(f"eye_{side}", "eye", (eye,), 0.0, 0.35),
        Part(f"ear_{side}", f"ear_{side}", (ear,), 0.0, 0.9),
    ]


def surface_parts() -> tuple[Sweep, list[Part]]:
    """The sweep and all other parts, in the order they are united."""
    chin = Part(
        "chin",
        "head",
        (RoundCone((66.0, 0.0, 11.8), (80.5, 0.0, 11.0), 3.0, 1.6, "jaw", squash=0.8),),
        0.0,
        2.0,
    )
    parts = [chin, Part("tail", "tail", tail_primitives(), 0.15, 3.0)]
    for side in ("l", "r"):
        parts += head_parts(side) + limb_parts(side)
    return Sweep(), parts


# Where along x each axial bone's influence peaks (mm); trunk vertices blend linearly between neighbours. The
# head is rigid from just behind the ears forward, so the ears stay attached to the skin around them.
AXIAL_CENTRES = {
    "pelvis": 2.0,
    "spine_0": 14.0,
    "spine_1": 24.0,
    "spine_2": 34.0,
    "spine_3": 43.0,
    "neck": 51.0,
    "head": 57.0,
}
