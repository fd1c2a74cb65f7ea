"""The rig library: parametric behavioural rigs (trimesh primitives, metres) and imported meshes.

Every rig puts the surface the mouse stands on at z = 0 near the origin (for the wheel: the top of the wheel),
so the body's rest placement is simple. Built-in rigs:

* ``openfield``: a box arena (floor centred on the origin, four walls), optionally on a table;
* ``wheel``: a head-fixed running wheel (axis along y) with ridged, smooth, textured, slatted or wire-mesh
  tread, solid, open or spoked sides, axle and supports, head bar with posts, lick spout and one to three
  screens;
* ``treadmill``: a belt along x between two rollers, side walls (clear acrylic by default), frame;
* ``platform``: an elevated disc or box on a pedestal above the room floor;
* ``none``: only imported meshes (a lab's CAD model) and an optional floor plane.

Meshes from files (STL, OBJ, PLY, glTF: anything :func:`trimesh.load` reads) are scaled, rotated and placed as
the scene file says.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from ..errors import SceneError
from ..io.yamlio import one_line
from .frozen import freeze_arrays
from .spec import (
    COORDINATE_M,
    CustomRig,
    MaterialSpec,
    MeshSpec,
    OpenFieldRig,
    PlatformRig,
    TreadmillRig,
    WheelRig,
)

SMOOTH_ANGLE_RAD = np.radians(35.0)
TABLE_SIZE_M = 1.6
TREAD_SECTIONS = 128  # facets around the wheel
TREAD_TEXTURE_MATERIAL = "rig.tread_texture"  # the material of a ``tread: texture`` running surface
MAX_MESH_FACES = 5_000_000  # triangles in one imported mesh file


@dataclass(frozen=True, eq=False)
class RigMesh:
    """One static piece of the rig, ready for a renderer.

    Attributes:
        name: part name (``floor``, ``wall_north``, ``wheel``, ``headbar`` ...).
        vertices: ``(N, 3) float32`` world metres.
        faces: ``(T, 3) int32`` triangles.
        normals: ``(N, 3) float32`` unit vertex normals (vertices are split at sharp edges).
        uvs: ``(N, 2) float32`` texture coordinates, divided by the material's tile size when drawn: metres
            for every built-in part except the textured wheel tread (``wheel_tread``), whose coordinates are
            image units (0..1 once around the circumference and across the width) with a tile size of 1.
        material: material name (a preset or one from the scene file).
        occluder: hides keypoints behind it (False for e.g. a thin wire the annotators would see through).
    """

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    uvs: np.ndarray
    material: str
    occluder: bool = True

    def __post_init__(self) -> None:
        freeze_arrays(self, "vertices", "faces", "normals", "uvs")

    @property
    def bounds(self) -> np.ndarray:
        """``(2, 3)`` min and max corner."""
        return np.stack([self.vertices.min(0), self.vertices.max(0)])


@dataclass(frozen=True)
class Anchors:
    """Where the placed rest-pose mouse is, for parts that attach to it (head bar, lick spout).

    Attributes:
        head_top: ``(3,)`` highest point of the head (skull), world metres.
        nose: ``(3,)`` nose tip.
        length: nose-to-tail-root length in metres.
        mouth: ``(3,)`` where a licking tongue reaches in front of the mouth (the lick spout goes there), or
            None (the spout is placed from the nose).
    """

    head_top: np.ndarray
    nose: np.ndarray
    length: float
    mouth: np.ndarray | None = None


def material_key(field: str, ref: str | MaterialSpec) -> str:
    """The material name a rig part uses: the referenced name, or ``rig.<field>`` for an inline material."""
    return ref if isinstance(ref, str) else f"rig.{field}"


# ---------------------------------------------------------------------------------------------- helpers
def rig_mesh(
    name: str, mesh: trimesh.Trimesh, material: str, occluder: bool = True, uv: str = "planar", axis: int = 1
) -> RigMesh:
    """A :class:`RigMesh` from a trimesh, smooth-shaded with vertices split at edges sharper than 35 degrees.

    ``uv`` is ``"planar"`` (each vertex projected along its normal's dominant axis) or ``"cylinder"`` (arc
    length around and distance along the world ``axis``, for wheels).
    """
    shaded = trimesh.graph.smooth_shade(mesh, angle=SMOOTH_ANGLE_RAD, facet_minarea=None)
    vertices = np.asarray(shaded.vertices, dtype=np.float32)
    normals = np.asarray(shaded.vertex_normals, dtype=np.float32)
    uvs = cylinder_uvs(vertices, axis) if uv == "cylinder" else planar_uvs(vertices, normals)
    return RigMesh(name, vertices, np.asarray(shaded.faces, dtype=np.int32), normals, uvs, material, occluder)


def planar_uvs(vertices: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """``(N, 2) float32`` metres: each vertex projected on the plane across its normal's dominant axis."""
    dominant = np.abs(normals).argmax(axis=1)
    u_axis = np.where(dominant == 0, 1, 0)
    v_axis = np.where(dominant == 2, 1, 2)
    rows = np.arange(len(vertices))
    return np.stack([vertices[rows, u_axis], vertices[rows, v_axis]], axis=1).astype(np.float32)


def cylinder_uvs(vertices: np.ndarray, axis: int = 1) -> np.ndarray:
    """``(N, 2) float32`` metres: arc length around ``axis`` (at each vertex's radius) and position along
    it."""
    a, b = [i for i in range(3) if i != axis]
    centre = (vertices.min(0) + vertices.max(0)) / 2
    rel = vertices - centre
    radius = np.hypot(rel[:, a], rel[:, b])
    angle = np.arctan2(rel[:, b], rel[:, a])
    return np.stack([angle * radius.max(), vertices[:, axis]], axis=1).astype(np.float32)


def box(extents, centre) -> trimesh.Trimesh:
    """An axis-aligned box ``extents (3,)`` metres centred at ``centre (3,)``."""
    return trimesh.creation.box(extents=extents, transform=trimesh.transformations.translation_matrix(centre))


def cylinder(radius: float, start, end, sections: int = 48) -> trimesh.Trimesh:
    """A closed cylinder between two points."""
    return trimesh.creation.cylinder(radius=radius, segment=np.array([start, end], dtype=float), sections=sections)


def combine(meshes: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    return trimesh.util.concatenate(meshes)


def table(top_z: float, size: float = TABLE_SIZE_M, material: str = "table") -> RigMesh:
    """A table top (0.03 m thick) whose upper face is at ``top_z``."""
    return rig_mesh("table", box((size, size, 0.03), (0.0, 0.0, top_z - 0.015)), material)


# ---------------------------------------------------------------------------------------------- rigs
def build_rig(rig, anchors: Anchors | None = None) -> list[RigMesh]:
    """All meshes of a rig spec (built-in parts, then ``rig.meshes``)."""
    builders = {
        "openfield": openfield_parts,
        "wheel": wheel_parts,
        "treadmill": treadmill_parts,
        "platform": platform_parts,
        "none": custom_parts,
    }
    parts = builders[rig.type](rig, anchors)
    for i, mesh_spec in enumerate(rig.meshes):
        parts.append(load_mesh(mesh_spec, f"meshes[{i}]"))
    return parts


def openfield_parts(rig: OpenFieldRig, anchors: Anchors | None = None) -> list[RigMesh]:
    """Floor (top face at z = 0, centred on the origin) and four walls around ``size`` (inner dimensions)."""
    sx, sy = rig.size
    t, h = rig.wall_thickness, rig.wall_height
    floor_mat = material_key("floor_material", rig.floor_material)
    wall_mat = material_key("wall_material", rig.wall_material)
    parts = [rig_mesh("floor", box((sx + 2 * t, sy + 2 * t, 0.01), (0, 0, -0.005)), floor_mat)]
    walls = {
        "wall_east": ((t, sy + 2 * t, h), (sx / 2 + t / 2, 0, h / 2)),
        "wall_west": ((t, sy + 2 * t, h), (-sx / 2 - t / 2, 0, h / 2)),
        "wall_north": ((sx, t, h), (0, sy / 2 + t / 2, h / 2)),
        "wall_south": ((sx, t, h), (0, -sy / 2 - t / 2, h / 2)),
    }
    parts += [rig_mesh(name, box(ext, ctr), wall_mat) for name, (ext, ctr) in walls.items()]
    if rig.table:
        parts.append(table(-0.0101, max(TABLE_SIZE_M, 1.5 * max(sx, sy))))
    return parts


def wheel_parts(rig: WheelRig, anchors: Anchors | None = None) -> list[RigMesh]:
    """Wheel (axis along y, running surface through (0, 0, 0)), axle, supports, head bar, spout, screens."""
    R, W = rig.radius, rig.width
    centre = np.array([0.0, 0.0, -R])
    parts = wheel_body_parts(rig, centre)
    table_z = -2 * R - 0.025
    steel = material_key("headbar_material", rig.headbar_material)
    if rig.axle:
        half = W / 2 + 0.035
        axle = cylinder(rig.axle_radius, centre - [0, half, 0], centre + [0, half, 0], sections=24)
        posts = [cylinder(0.006, [0, s * half, table_z], [0, s * half, -R + 0.008], sections=24) for s in (-1, 1)]
        parts += [rig_mesh("axle", axle, "steel"), rig_mesh("wheel_supports", combine(posts), "aluminium")]
    if rig.headbar and anchors is not None:
        parts += headbar_parts(anchors, WHEEL_HEADBAR_HALF_SPAN_M, steel)
    if rig.lick_spout and anchors is not None:
        parts.append(_lick_spout(anchors))
    parts += screen_parts(rig, anchors)
    if rig.table:
        parts.append(table(table_z))
    return parts


def wheel_body_parts(rig: WheelRig, centre: np.ndarray) -> list[RigMesh]:
    """The wheel itself: running surface (``rig.tread``) and sides (``rig.sides``).

    Solid sides with a ``ridges`` or ``smooth`` tread are one closed drum (``wheel``) and a ``texture`` tread is
    a band between two side discs, as before the see-through options existed; ``slats`` and ``mesh`` treads and
    ``open`` or ``spokes`` sides are built by :func:`open_tread_parts` and :func:`side_parts`.
    """
    R, W = rig.radius, rig.width
    wheel_mat = material_key("wheel_material", rig.wheel_material)
    if rig.sides == "solid" and rig.tread == "texture":
        return [wheel_sides(R, W, centre, wheel_mat), tread_band(R, W, centre, TREAD_TEXTURE_MATERIAL)]
    if rig.sides == "solid" and rig.tread in ("ridges", "smooth"):
        inner = R - rig.ridge_height if rig.tread == "ridges" else R
        tread = cylinder(inner, centre - [0, W / 2, 0], centre + [0, W / 2, 0], sections=TREAD_SECTIONS)
        parts = [rig_mesh("wheel", tread, wheel_mat, uv="cylinder", axis=1)]
        if rig.tread == "ridges":
            parts.append(rig_mesh("wheel_ridges", _ridges(rig, centre), "wheel_ridge", uv="cylinder", axis=1))
        return parts
    return open_tread_parts(rig, centre, wheel_mat) + side_parts(rig, centre, wheel_mat)


def open_tread_parts(rig: WheelRig, centre: np.ndarray, material: str) -> list[RigMesh]:
    """The running surface of a wheel that is not one closed drum.

    ``slats``: ``rig.slats`` bars across the tread, ``rig.slat_gap`` apart at the radius, held by a narrow ring
    at each edge (``wheel_slats``); ``mesh``: the same number of wires across plus rings around, leaving square
    holes of ``rig.slat_gap`` (``wheel_mesh``); ``texture``: the image band of :func:`tread_band`; ``ridges`` and
    ``smooth``: a shell ``rig.slat_thickness`` thick (``wheel``; ridges as on the closed drum).
    The outer faces lie at ``rig.radius`` (ridges: their tops), the surface the motion walks on.
    """
    R, W, t = rig.radius, rig.width, rig.slat_thickness
    if rig.tread == "texture":
        return [tread_band(R, W, centre, TREAD_TEXTURE_MATERIAL)]
    if rig.tread in ("ridges", "smooth"):
        outer = R - rig.ridge_height if rig.tread == "ridges" else R
        parts = [rig_mesh("wheel", wheel_ring(outer - t, outer, W, centre), material, uv="cylinder", axis=1)]
        if rig.tread == "ridges":
            parts.append(rig_mesh("wheel_ridges", _ridges(rig, centre), "wheel_ridge", uv="cylinder", axis=1))
        return parts
    pitch = 2 * np.pi * R / rig.slats
    bar = pitch - rig.slat_gap
    bars = [tread_bar(R, W, bar, t, centre, angle) for angle in np.arange(rig.slats) * 2 * np.pi / rig.slats]
    ring_width = min(bar, W / 4)
    ring_y = tread_ring_positions(W, ring_width, pitch if rig.tread == "mesh" else None)
    rings = [wheel_ring(R - t, R, ring_width, centre + [0.0, y, 0.0]) for y in ring_y]
    name = "wheel_slats" if rig.tread == "slats" else "wheel_mesh"
    return [rig_mesh(name, combine(bars + rings), material, uv="cylinder", axis=1)]


def tread_ring_positions(width: float, ring_width: float, pitch: float | None) -> list[float]:
    """Centres (along y) of the rings around a slatted or mesh tread: one at each edge, and for a mesh
    (``pitch`` given) more between them, evenly, at most ``pitch`` apart."""
    first, last = -width / 2 + ring_width / 2, width / 2 - ring_width / 2
    count = 2 if pitch is None else max(2, int(np.ceil((last - first) / pitch - 1e-9)) + 1)
    return [float(y) for y in np.linspace(first, last, count)]


def tread_bar(radius: float, width: float, bar: float, thickness: float, centre, angle: float) -> trimesh.Trimesh:
    """One bar across the tread (along y), ``bar`` wide around the wheel, its outer face at ``radius``, at
    ``angle`` about the axle (0 at the top, positive towards +x)."""
    rot = trimesh.transformations.rotation_matrix(angle, [0, 1, 0])
    move = trimesh.transformations.translation_matrix(centre)
    shift = trimesh.transformations.translation_matrix([0, 0, radius - thickness / 2])
    return trimesh.creation.box(extents=(bar, width, thickness)).apply_transform(move @ rot @ shift)


def wheel_ring(inner: float, outer: float, width: float, centre, sections: int = TREAD_SECTIONS) -> trimesh.Trimesh:
    """A closed ring (annulus) about the y axis through ``centre``, ``width`` along y."""
    ring = trimesh.creation.annulus(r_min=inner, r_max=outer, height=width, sections=sections)
    turn = trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0])  # the annulus axis z onto y
    return ring.apply_transform(trimesh.transformations.translation_matrix(centre) @ turn)


def side_parts(rig: WheelRig, centre: np.ndarray, material: str) -> list[RigMesh]:
    """The wheel's sides: ``solid`` discs (``wheel_sides``), ``open`` (none: the tread is held by the axle out of
    view), or ``spokes``: at each side a hub on the axle and ``rig.spokes`` spokes out to the tread's inner face
    (``wheel_spokes``)."""
    R, W = rig.radius, rig.width
    if rig.sides == "solid":
        sides = wheel_sides(R, W, centre, material)
        return [dataclasses.replace(sides, name="wheel_sides")]
    if rig.sides == "open":
        return []
    inner = R - rig.slat_thickness - (rig.ridge_height if rig.tread == "ridges" else 0.0)
    hub = max(2.5 * rig.axle_radius, rig.spoke_width)
    depth = min(rig.spoke_width, W / 4)
    pieces = []
    for sign in (-1.0, 1.0):
        y = sign * (W / 2 - depth / 2)
        side = centre + [0.0, y, 0.0]
        pieces.append(cylinder(hub, side - [0, depth / 2, 0], side + [0, depth / 2, 0], sections=32))
        for angle in np.arange(rig.spokes) * 2 * np.pi / rig.spokes:
            pieces.append(spoke(hub * 0.5, inner + 0.0005, rig.spoke_width, depth, side, angle))
    return [rig_mesh("wheel_spokes", combine(pieces), material)]


def spoke(start: float, end: float, width: float, depth: float, centre, angle: float) -> trimesh.Trimesh:
    """A flat radial bar from ``start`` to ``end`` metres from the axle at ``angle`` (0 at the top)."""
    rot = trimesh.transformations.rotation_matrix(angle, [0, 1, 0])
    move = trimesh.transformations.translation_matrix(centre)
    shift = trimesh.transformations.translation_matrix([0, 0, (start + end) / 2])
    return trimesh.creation.box(extents=(width, depth, end - start)).apply_transform(move @ rot @ shift)


def tread_band(
    radius: float, width: float, centre: np.ndarray, material: str, sections: int = TREAD_SECTIONS
) -> RigMesh:
    """The wheel's running surface as an open band (axis along y) whose image wraps once around it.

    A point at angle ``theta`` about the axle (0 at the top, positive towards +x) and ``y`` across the tread
    sits at ``centre + radius * (sin theta, 0, cos theta) + (0, y, 0)``. Its texture coordinates are
    ``u = (theta + pi) / (2 pi)`` (the seam at the bottom of the wheel, the image's centre column on top, the
    image's right towards +x there) and ``v = (y + width / 2) / width`` (the image's top row at +y, so that
    seen from above with +x to the right the image is not mirrored). Seam vertices are duplicated so the
    image does not smear across it.

    Returns:
        ``wheel_tread``: ``2 * (sections + 1)`` vertices, ``2 * sections`` triangles wound counter-clockwise
        seen from outside, outward unit normals, ``uvs`` in image units (draw with a tile size of 1).
    """
    u = np.linspace(0.0, 1.0, sections + 1)
    theta = 2.0 * np.pi * u - np.pi
    radial = np.stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)], axis=1)
    rows = []
    for y in (-width / 2, width / 2):
        rows.append(centre + radius * radial + np.array([0.0, y, 0.0]))
    vertices = np.concatenate(rows).astype(np.float32)
    normals = np.concatenate([radial, radial]).astype(np.float32)
    uvs = np.stack([np.tile(u, 2), np.repeat([0.0, 1.0], sections + 1)], axis=1).astype(np.float32)
    k = np.arange(sections)
    a, b, c, d = k, k + 1, k + 1 + sections + 1, k + sections + 1  # (y-, theta), (y-, theta+), (y+, ...)
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)]).astype(np.int32)
    return RigMesh("wheel_tread", vertices, faces, normals, uvs, material)


def wheel_sides(
    radius: float, width: float, centre: np.ndarray, material: str, sections: int = TREAD_SECTIONS
) -> RigMesh:
    """``wheel``: the two flat side discs of a wheel whose running surface is a separate :func:`tread_band`."""
    ring = 2.0 * np.pi * np.arange(sections) / sections
    rim = np.stack([np.sin(ring), np.zeros_like(ring), np.cos(ring)], axis=1) * radius
    k = np.arange(sections)
    discs = []
    for sign in (-1.0, 1.0):
        side = centre + np.array([0.0, sign * width / 2, 0.0])
        vertices = np.concatenate([side[None], side + rim])
        fan = np.stack([np.zeros_like(k), 1 + k, 1 + (k + 1) % sections], axis=1)
        # the rim runs from +z towards +x: counter-clockwise seen from +y, clockwise from -y
        discs.append(trimesh.Trimesh(vertices, fan if sign > 0 else fan[:, ::-1], process=False))
    return rig_mesh("wheel", combine(discs), material)


def _ridges(rig: WheelRig, centre: np.ndarray) -> trimesh.Trimesh:
    """``rig.ridges`` bars across the tread, their outer faces at the wheel radius."""
    R, W, h = rig.radius, rig.width, rig.ridge_height
    depth = h + 0.0005
    bar = trimesh.creation.box(extents=(min(0.0025, np.pi * R / rig.ridges), W, depth))
    bars = []
    for angle in np.arange(rig.ridges) * 2 * np.pi / rig.ridges:
        # rotate about y; the bar's centre sits at radius R - depth / 2
        rot = trimesh.transformations.rotation_matrix(angle, [0, 1, 0])
        move = trimesh.transformations.translation_matrix(centre)
        shift = trimesh.transformations.translation_matrix([0, 0, R - depth / 2])
        bars.append(bar.copy().apply_transform(move @ rot @ shift))
    return combine(bars)


def headbar_parts(anchors: Anchors, half_span: float, material: str) -> list[RigMesh]:
    """A flat head bar across the skull (along y), clamped at both ends to posts that rise to a cross bar."""
    top = anchors.head_top
    bar_z = top[2] + 0.0012
    x, y = top[0], top[1]
    bar = box((0.004, 2 * half_span, 0.0015), (x, y, bar_z))
    clamps = [box((0.008, 0.01, 0.008), (x, y + s * half_span, bar_z)) for s in (-1, 1)]
    rise = 0.09
    posts = [
        cylinder(0.004, [x, y + s * half_span, bar_z + 0.004], [x, y + s * half_span, bar_z + rise], sections=20)
        for s in (-1, 1)
    ]
    cross = box((0.012, 2 * half_span + 0.012, 0.012), (x, y, bar_z + rise + 0.006))
    holder = [rig_mesh("headbar_posts", combine(clamps + posts + [cross]), "aluminium")]
    return [rig_mesh("headbar", bar, material)] + holder


def _lick_spout(anchors: Anchors) -> RigMesh:
    """A steel tube (1.6 mm) ending where the tongue reaches in front of the mouth (or just in front of and below
    the nose), rising from below-front."""
    scale = anchors.length / 0.095
    tip = lick_spout_tip(anchors)
    base = tip + np.array([0.03, 0.0, -0.025]) * scale
    tube = cylinder(0.0008, tip, base, sections=16)
    holder = cylinder(0.0025, base, base + np.array([0.015, 0.0, -0.0125]) * scale, sections=20)
    return rig_mesh("lick_spout", combine([tube, holder]), "steel")


def screen_parts(rig: WheelRig, anchors: Anchors | None) -> list[RigMesh]:
    """``rig.screens`` displays facing the mouse: front (+x); front and left/right; or all three."""
    if rig.screens == 0:
        return []
    d, (sw, sh) = rig.screen_distance, rig.screen_size
    eye_z = anchors.head_top[2] if anchors is not None else 0.03
    x0 = anchors.head_top[0] if anchors is not None else 0.0
    placements = {
        "front": ((0.01, sw, sh), (x0 + d, 0, eye_z)),
        "left": ((sw, 0.01, sh), (x0, d, eye_z)),
        "right": ((sw, 0.01, sh), (x0, -d, eye_z)),
    }
    names = {1: ["front"], 2: ["left", "right"], 3: ["front", "left", "right"]}[rig.screens]
    material = material_key("screen_material", rig.screen_material)
    return [rig_mesh(f"screen_{n}", box(*placements[n]), material) for n in names]


def treadmill_parts(rig: TreadmillRig, anchors: Anchors | None = None) -> list[RigMesh]:
    """Belt (top at z = 0 along x), rollers, frame, side walls and optionally a head bar."""
    L, W, r = rig.length, rig.width, rig.roller_radius
    belt_mat = material_key("belt_material", rig.belt_material)
    belt = combine([box((L, W, 0.003), (0, 0, -0.0015)), box((L, W, 0.003), (0, 0, -2 * r + 0.0015))])
    rollers = [cylinder(r - 0.0005, [s * L / 2, -W / 2, -r], [s * L / 2, W / 2, -r]) for s in (-1, 1)]
    frame = [box((L + 2 * r + 0.02, 0.008, 2 * r), (0, s * (W / 2 + 0.006), -r - 0.001)) for s in (-1, 1)]
    table_z = -2 * r - 0.02
    legs = [
        box((0.02, 0.02, -table_z - 2 * r), (sx * L / 2, sy * (W / 2 + 0.006), (table_z - 2 * r) / 2))
        for sx in (-1, 1)
        for sy in (-1, 1)
    ]
    parts = [
        rig_mesh("belt", belt, belt_mat),
        rig_mesh("rollers", combine(rollers), "aluminium", uv="cylinder"),
        rig_mesh("frame", combine(frame + legs), "aluminium"),
    ]
    if rig.side_walls:
        wall_mat = material_key("wall_material", rig.wall_material)
        walls = [box((L, 0.003, rig.wall_height), (0, s * (W / 2 + 0.0015), rig.wall_height / 2)) for s in (-1, 1)]
        parts.append(rig_mesh("side_walls", combine(walls), wall_mat))
    if rig.headbar and anchors is not None:
        parts += headbar_parts(anchors, 0.018, material_key("headbar_material", rig.headbar_material))
    if rig.table:
        parts.append(table(table_z))
    return parts


def platform_parts(rig: PlatformRig, anchors: Anchors | None = None) -> list[RigMesh]:
    """An elevated top (disc or box, upper face at z = 0) on a pedestal, above a room floor."""
    sx, sy = rig.size
    t = rig.thickness
    top_mat = material_key("top_material", rig.top_material)
    if rig.shape == "disc":
        top = trimesh.creation.cylinder(radius=sx / 2, height=t, sections=96)
        top.apply_scale([1.0, sy / sx, 1.0])
        top.apply_translation([0, 0, -t / 2])
    else:
        top = box((sx, sy, t), (0, 0, -t / 2))
    pedestal = cylinder(0.015, [0, 0, -rig.height], [0, 0, -t], sections=32)
    foot = cylinder(0.08, [0, 0, -rig.height], [0, 0, -rig.height + 0.01], sections=48)
    floor = box((3.0, 3.0, 0.02), (0, 0, -rig.height - 0.01))
    return [
        rig_mesh("platform", top, top_mat),
        rig_mesh("pedestal", combine([pedestal, foot]), material_key("pedestal_material", rig.pedestal_material)),
        rig_mesh("room_floor", floor, material_key("room_floor_material", rig.room_floor_material)),
    ]


def custom_parts(rig: CustomRig, anchors: Anchors | None = None) -> list[RigMesh]:
    """Only a floor plane (top face at z = 0) unless ``floor_material`` is null."""
    if rig.floor_material is None:
        return []
    sx, sy = rig.floor_size
    return [rig_mesh("floor", box((sx, sy, 0.01), (0, 0, -0.005)), material_key("floor_material", rig.floor_material))]


def load_mesh(spec: MeshSpec, field: str) -> RigMesh:
    """An imported mesh file, scaled, rotated (x, y, z Euler degrees) and moved as ``spec`` says."""
    try:
        loaded = trimesh.load(spec.file, force="mesh")
    except Exception as exc:  # trimesh raises many kinds for unreadable files
        raise SceneError(one_line(f"rig.{field}.file: cannot read mesh {spec.file}: {exc}")) from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise SceneError(f"rig.{field}.file: {spec.file} holds no triangles")
    if len(loaded.faces) > MAX_MESH_FACES:
        raise SceneError(
            f"rig.{field}.file: {spec.file} has {len(loaded.faces)} triangles; allowed at most "
            f"{MAX_MESH_FACES} (simplify the mesh)"
        )
    mesh = loaded.copy()
    mesh.apply_scale(
        np.broadcast_to(np.asarray(spec.scale, dtype=float), 3) if isinstance(spec.scale, tuple) else float(spec.scale)
    )
    transform = np.eye(4)
    transform[:3, :3] = Rotation.from_euler("xyz", spec.rotation_deg, degrees=True).as_matrix()
    transform[:3, 3] = spec.position
    mesh.apply_transform(transform)
    extent = np.abs(mesh.vertices).max(initial=0.0) if np.all(np.isfinite(mesh.vertices)) else np.inf
    if extent > COORDINATE_M:
        raise SceneError(
            f"rig.{field}: {spec.file} reaches {extent:.4g} m from the origin after scale {spec.scale} and position "
            f"{list(spec.position)}; allowed within {COORDINATE_M:g} m (is the scale right? 0.001 for millimetres)"
        )
    name = spec.name or spec.file.stem
    return rig_mesh(name, mesh, material_key(f"{field}.material", spec.material), occluder=spec.occluder)


# ---------------------------------------------------------------------------------------------- placement
def body_placement(rig, rest_vertices: np.ndarray, foot_mask: np.ndarray | None = None) -> np.ndarray:
    """``(4, 4)`` default body-to-world transform for a rig: on the floor at the origin, or for the wheel,
    centred over the axle and lowered until the body touches the wheel's curved top.

    Args:
        rig: the rig spec.
        rest_vertices: ``(V, 3)`` rest-pose vertices in the body frame.
        foot_mask: ``(V,) bool`` vertices allowed to touch the support (paws); all when None.
    """
    root = np.eye(4)
    if rig.type != "wheel":
        return root
    verts = rest_vertices if foot_mask is None else rest_vertices[foot_mask]
    R = rig.radius
    dx = -0.5 * (verts[:, 0].min() + verts[:, 0].max())
    x = verts[:, 0] + dx
    inside = np.abs(x) < 0.9 * R
    surface = np.sqrt(R * R - x[inside] ** 2) - R
    dz = -float(np.min(verts[inside, 2] - surface)) if inside.any() else 0.0
    root[:3, 3] = [dx, 0.0, dz]
    return root


def floor_region(rig) -> tuple[float, float, float, float] | None:
    """``(x_min, x_max, y_min, y_max)`` where a freely moving mouse may walk, or None for head-fixed rigs."""
    if rig.type == "openfield":
        return (-rig.size[0] / 2, rig.size[0] / 2, -rig.size[1] / 2, rig.size[1] / 2)
    if rig.type == "treadmill":
        return (-rig.length / 2, rig.length / 2, -rig.width / 2, rig.width / 2)
    if rig.type == "platform":
        return (-rig.size[0] / 2, rig.size[0] / 2, -rig.size[1] / 2, rig.size[1] / 2)
    if rig.type == "none" and rig.floor_material is not None:
        return (-rig.floor_size[0] / 2, rig.floor_size[0] / 2, -rig.floor_size[1] / 2, rig.floor_size[1] / 2)
    return None


# ---------------------------------------------------------------------------------------------- named points
WHEEL_HEADBAR_HALF_SPAN_M = 0.018  # the head bar's half span across the skull, as :func:`wheel_parts` builds it
WHEEL_RIM_POINTS = {"top": (0.0, 1.0), "front": (1.0, 0.0), "bottom": (0.0, -1.0), "back": (-1.0, 0.0)}
"""Where on the rim (``x, z`` direction from the axle): the top (where the mouse runs), front (+x), bottom, back."""
WHEEL_FACES = {"left": 1.0, "right": -1.0}
"""The wheel's two faces: ``left`` at ``+y`` (the running mouse's left), ``right`` at ``-y``."""


def wheel_rig_points(rig: WheelRig, anchors: Anchors | None = None) -> dict[str, np.ndarray]:
    """Named world points (metres) of a wheel rig, as :func:`wheel_parts` builds it, for ``fit-camera``.

    ``wheel_centre`` (the axle's centre), ``rim_<top|front|bottom|back>_<left|right>`` (the rim's outer edge on
    the left (+y) or right (-y) face), ``axle_left`` / ``axle_right`` (the axle's ends, with ``axle``), and with
    ``anchors`` (where the placed mouse is): ``headbar_left`` / ``headbar_right`` (the bar's ends, with
    ``headbar``) and ``spout_tip`` (with ``lick_spout``).
    """
    radius, half_width = float(rig.radius), 0.5 * float(rig.width)
    centre = np.array([0.0, 0.0, -radius])
    points = {"wheel_centre": centre}
    for where, (dx, dz) in WHEEL_RIM_POINTS.items():
        for face, sign in WHEEL_FACES.items():
            points[f"rim_{where}_{face}"] = centre + np.array([radius * dx, sign * half_width, radius * dz])
    if rig.axle:
        for face, sign in WHEEL_FACES.items():
            points[f"axle_{face}"] = centre + np.array([0.0, sign * (half_width + 0.035), 0.0])
    if anchors is not None and rig.headbar:
        top = np.asarray(anchors.head_top, dtype=np.float64)
        for face, sign in WHEEL_FACES.items():
            points[f"headbar_{face}"] = np.array([top[0], top[1] + sign * WHEEL_HEADBAR_HALF_SPAN_M, top[2] + 0.0012])
    if anchors is not None and rig.lick_spout:
        points["spout_tip"] = lick_spout_tip(anchors)
    return points


def wheel_rim_circle(rig: WheelRig, face: str, sections: int = 48) -> np.ndarray:
    """``(sections, 3)`` points around the rim's outer edge on one face (``left``: +y, ``right``: -y)."""
    angle = 2.0 * np.pi * np.arange(sections) / sections
    radius, y = float(rig.radius), WHEEL_FACES[face] * 0.5 * float(rig.width)
    return np.stack([radius * np.sin(angle), np.full_like(angle, y), radius * np.cos(angle) - radius], axis=1)


def lick_spout_tip(anchors: Anchors) -> np.ndarray:
    """``(3,)`` the lick spout's tip (the end of :func:`_lick_spout`'s tube: just beyond where the tongue reaches,
    or in front of and below the nose)."""
    scale = anchors.length / 0.095
    if anchors.mouth is not None:
        return np.asarray(anchors.mouth, dtype=np.float64) + np.array([0.0015, 0.0, -0.0008]) * scale
    return np.asarray(anchors.nose, dtype=np.float64) + np.array([0.003, 0.0, -0.005]) * scale
