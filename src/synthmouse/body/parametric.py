"""The built-in parametric mouse: an adult C57BL/6 made by code, with shape parameters and their ranges.

``build_parametric_mouse(**shape)`` returns a :class:`~synthmouse.body.model.Body` with a closed, manifold,
self-intersection-free triangle mesh (snout, whisker pads, eyes, ears, trunk, four legs with paws and five
digits each, a long tapered tail), skinned to an 85-joint skeleton whose joints carry the anatomical groups of
:mod:`synthmouse.body.groups`, and every landmark of the vocabulary in ``docs/conventions.md``.

The expensive part (polygonizing the implicit surface, decimating it, computing skinning weights: 2-4 s) runs
once for a canonical mouse (:func:`canonical_mouse`: cached in the process and on disk). A shape is applied as
a smooth deformation of that canonical mesh through the skinning weights: every bone gets an affine map (a
scale about its joint in its anatomical frame: girth widens the trunk bones across their axis, limb length
scales the limb bones ...), the joints are carried by their parents' maps, and each vertex moves by the
weight-blended maps. The topology never changes, so every individual stays watertight, and a random individual
costs milliseconds.

Vertex colour hint: :func:`eye_mask` marks the vertices of the two eyes (render them black); the renderer
colours everything else by body part (:meth:`Body.vertex_parts`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from ..errors import ModelFormatError
from ..fileio import atomic_path
from . import parametric_design as design
from . import parametric_mesh
from .fetch import cache_root
from .keypoints import KeypointDef
from .limits import limits_for_groups
from .mesh import SkinnedMesh
from .model import Body
from .parametric_mesh import Field, clean_decimated, decimate, polygonize, skinning_weights, taubin_smooth
from .skeleton import Skeleton, anatomical_frames
from .tongue import TongueShape, with_tongue

MM = 1e-3
SOURCE = "<parametric mouse>"
TARGET_FACES = 20_000
MAX_INFLUENCES = 4
BODY_LENGTH_LIMITS = (0.05, 0.15)  # accepted body lengths (m); the randomization range is narrower


# ------------------------------------------------------------------------------------------------------------
# Shape parameters


@dataclass(frozen=True)
class MouseShape:
    """Shape parameters of the parametric mouse, defaulting to an adult C57BL/6.

    The two lengths are absolute; the other parameters scale a part relative to a C57BL/6 of the same body
    length (1 = the default: a trunk 28 mm wide and a tail 3.2 mm thick at its root for a 95 mm mouse).

    Attributes:
        body_length: nose tip to tail root, metres (the ``nose`` and ``tail_root`` landmarks).
        tail_length: tail root to tail tip along the tail, metres.
        girth_scale: trunk width and (less) height; the width is measured through ``body_middle``.
        head_scale: head size (skull, snout, eyes, ears).
        ear_scale: ear size relative to the head.
        limb_scale: limb length (upper arm to digits, thigh to toes; paws and digits grow with it).
        tail_thickness_scale: tail diameter (the tail tapers to about a quarter of its root diameter).

    :attr:`RANGES` are the randomization ranges (:func:`sample_shape`), inside which the mesh is checked to
    stay free of self-intersections. Every value must lie in :meth:`allowed` -- the same ranges, except that
    ``body_length`` (a uniform scale, which cannot make the mesh intersect itself) accepts 5-15 cm; values
    outside raise :class:`ModelFormatError`.
    """

    body_length: float = 0.095
    tail_length: float = 0.085
    girth_scale: float = 1.0
    head_scale: float = 1.0
    ear_scale: float = 1.0
    limb_scale: float = 1.0
    tail_thickness_scale: float = 1.0

    RANGES: ClassVar[dict[str, tuple[float, float]]] = {
        "body_length": (0.080, 0.105),
        "tail_length": (0.070, 0.100),
        "girth_scale": (0.88, 1.12),
        "head_scale": (0.9, 1.1),
        "ear_scale": (0.8, 1.2),
        "limb_scale": (0.9, 1.1),
        "tail_thickness_scale": (0.8, 1.2),
    }

    def __post_init__(self) -> None:
        for name, (lo, hi) in self.allowed().items():
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and lo - 1e-12 <= value <= hi + 1e-12):
                raise ModelFormatError(
                    SOURCE,
                    f"shape parameter {name} = {value!r} is outside its allowed range [{lo:g}, {hi:g}]",
                )
            object.__setattr__(self, name, float(value))

    @classmethod
    def allowed(cls) -> dict[str, tuple[float, float]]:
        """The accepted range of each parameter (the randomization ranges, wider for ``body_length``)."""
        return {**cls.RANGES, "body_length": BODY_LENGTH_LIMITS}

    @classmethod
    def from_options(cls, **options: float) -> MouseShape:
        """A shape from keyword options, naming any unknown option and the known ones. ``length`` is accepted
        for ``body_length`` (the option every body loader takes)."""
        if "length" in options:
            if "body_length" in options:
                raise ModelFormatError(SOURCE, "give 'length' or 'body_length', not both")
            options = {("body_length" if k == "length" else k): v for k, v in options.items()}
        unknown = sorted(set(options) - set(cls.RANGES))
        if unknown:
            raise ModelFormatError(
                SOURCE, f"unknown shape parameter(s) {unknown}; allowed: {', '.join(cls.RANGES)} (or length)"
            )
        return cls(**options)

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    @classmethod
    def extremes(cls) -> list[MouseShape]:
        """Shapes at the corners of the ranges that stress the mesh most (for validation)."""
        lo = {k: v[0] for k, v in cls.RANGES.items()}
        hi = {k: v[1] for k, v in cls.RANGES.items()}
        mixed_a = {k: (hi if i % 2 else lo)[k] for i, k in enumerate(cls.RANGES)}
        mixed_b = {k: (lo if i % 2 else hi)[k] for i, k in enumerate(cls.RANGES)}
        return [cls(**lo), cls(**hi), cls(**mixed_a), cls(**mixed_b)]


def sample_shape(rng: np.random.Generator) -> MouseShape:
    """A random individual: every parameter uniform in its range (one draw per parameter, in field order)."""
    return MouseShape(**{name: float(rng.uniform(lo, hi)) for name, (lo, hi) in MouseShape.RANGES.items()})


# ------------------------------------------------------------------------------------------------------------
# The canonical mouse (built once per process)


@dataclass(frozen=True, eq=False)
class CanonicalMouse:
    """The default-shape mouse in millimetres, with everything the shape deformation needs.

    Attributes:
        vertices: ``(V, 3) float64`` rest vertices (mm), paws on z = 0.
        faces: ``(T, 3) int32``.
        weights: ``(V, J)`` CSR skinning weights.
        names, parents, groups: the skeleton's joints.
        positions: ``(J, 3) float64`` joint positions (mm).
        eye: ``(V,) bool`` eye vertices.
        region: ``(V,)`` coarse region name per vertex (``trunk``, ``tail``, ``forelimb_l`` ...).
        landmarks: landmark definitions (offsets in mm in the canonical joint frames).
        girth: trunk width at the ``body_middle`` cross-section (mm).
        length: nose to tail root (mm).
    """

    vertices: np.ndarray
    faces: np.ndarray
    weights: sp.csr_matrix
    names: tuple[str, ...]
    parents: np.ndarray
    groups: tuple[str, ...]
    positions: np.ndarray
    eye: np.ndarray
    region: np.ndarray
    landmarks: dict[str, KeypointDef]
    girth: float
    length: float


DISK_CACHE_ENV = "SYNTHMOUSE_PARAMETRIC_CACHE"  # "0" turns the on-disk cache of the canonical mouse off


@cache
def canonical_mouse(voxel: float = 0.25, target_faces: int = TARGET_FACES) -> CanonicalMouse:
    """The canonical mouse, built once per process and argument set.

    The build takes a few seconds, so its result is also kept on disk (``<cache>/parametric/``, see
    :func:`synthmouse.body.fetch.cache_root`) under a key made of the arguments, the source code of the three
    ``parametric`` modules and the versions of the libraries that shape the mesh: any change rebuilds it, and
    a cached mouse is bit-for-bit the one :func:`build_canonical_mouse` makes. Set
    ``SYNTHMOUSE_PARAMETRIC_CACHE=0`` to skip the disk; an unreadable or unwritable cache is ignored.
    """
    path = _disk_cache_path(voxel, target_faces)
    if path is not None and path.is_file():
        try:
            return _load_canonical(path)
        except Exception:  # noqa: BLE001 - a damaged cache file is rebuilt, never trusted
            pass
    mouse = build_canonical_mouse(voxel, target_faces)
    if path is not None:
        try:
            _save_canonical(mouse, path)
            _prune_disk_cache(path.parent, keep=4)
        except OSError:
            pass
    return mouse


def _prune_disk_cache(folder, keep: int) -> None:
    """Delete all but the ``keep`` most recently written canonical mice (older code versions)."""
    files = sorted(folder.glob("canonical-*.npz"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)


def _disk_cache_path(voxel: float, target_faces: int):
    """Where the canonical mouse for these arguments and this code is cached, or None when disabled."""
    import hashlib
    import os
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    if os.environ.get(DISK_CACHE_ENV, "1") == "0":
        return None
    digest = hashlib.sha256(f"{voxel!r} {target_faces!r} {MAX_INFLUENCES!r}".encode())
    for module in (design, parametric_mesh):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    for package in ("numpy", "scipy", "scikit-image", "fast-simplification"):
        try:
            digest.update(f"{package}={version(package)}".encode())
        except PackageNotFoundError:
            digest.update(package.encode())
    return cache_root() / "parametric" / f"canonical-{digest.hexdigest()[:24]}.npz"


def _save_canonical(mouse: CanonicalMouse, path) -> None:
    import json

    landmarks = [dataclasses.asdict(kp) for kp in mouse.landmarks.values()]
    w = mouse.weights
    with atomic_path(path) as tmp:
        np.savez(
            tmp,
            vertices=mouse.vertices,
            faces=mouse.faces,
            w_data=w.data,
            w_indices=w.indices,
            w_indptr=w.indptr,
            w_shape=np.array(w.shape),
            names=np.array(mouse.names),
            parents=mouse.parents,
            groups=np.array(mouse.groups),
            positions=mouse.positions,
            eye=mouse.eye,
            region=mouse.region.astype(str),
            landmarks=np.array(json.dumps(landmarks)),
            scalars=np.array([mouse.girth, mouse.length]),
        )


def _load_canonical(path) -> CanonicalMouse:
    import json

    with np.load(path, allow_pickle=False) as data:
        weights = sp.csr_matrix((data["w_data"], data["w_indices"], data["w_indptr"]), shape=tuple(data["w_shape"]))
        landmarks = {}
        for entry in json.loads(str(data["landmarks"])):
            entry = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
            landmarks[entry["name"]] = KeypointDef(**entry)
        girth, length = (float(x) for x in data["scalars"])
        return CanonicalMouse(
            vertices=data["vertices"],
            faces=data["faces"],
            weights=weights,
            names=tuple(data["names"].tolist()),
            parents=data["parents"],
            groups=tuple(data["groups"].tolist()),
            positions=data["positions"],
            eye=data["eye"],
            region=data["region"].astype(object),
            landmarks=landmarks,
            girth=girth,
            length=length,
        )


def build_canonical_mouse(voxel: float = 0.25, target_faces: int = TARGET_FACES) -> CanonicalMouse:
    """Build the canonical mouse from scratch: polygonize, decimate, skin, place landmarks (a few seconds)."""

    sweep, parts = design.surface_parts()
    field = Field.build(sweep, parts)
    verts, faces = polygonize(field, voxel=voxel)
    verts = taubin_smooth(verts, faces, steps=6)  # before decimation: smoothing after it can fold tight creases
    verts, faces = clean_decimated(*decimate(verts, faces, target_faces))
    _, label = field.evaluate(verts[None])
    label = label[0]
    specs = design.joint_specs()
    names = tuple(s.name for s in specs)
    parents = np.array([-1 if s.parent is None else names.index(s.parent) for s in specs], dtype=np.int64)
    positions = np.array([s.position for s in specs], dtype=np.float64)
    weights = skinning_weights(verts, faces, field, label, names, parents, positions, MAX_INFLUENCES)
    region = np.array(["trunk"] + [field.parts[i].region for i in field.part_of[1:]], dtype=object)[label]
    region[label == 0] = "trunk"
    ground = verts[:, 2].min()
    verts[:, 2] -= ground
    positions[:, 2] -= ground
    positions[0, 2] = 0.0
    landmarks = _canonical_landmarks(verts, faces, names, parents, positions, sweep)
    mouse = CanonicalMouse(
        vertices=verts,
        faces=faces.astype(np.int32),
        weights=weights,
        names=names,
        parents=parents,
        groups=tuple(s.group for s in specs),
        positions=positions,
        eye=region == "eye",
        region=region,
        landmarks=landmarks,
        girth=0.0,
        length=0.0,
    )
    nose = _landmark_points(mouse, verts, positions, np.tile(np.eye(3), (len(names), 1, 1)), ("nose",))[0]
    length = float(np.linalg.norm(nose - positions[names.index("tail_0")]))
    return dataclasses.replace(mouse, girth=trunk_width(mouse, verts), length=length)


def _closest_surface_point(
    verts: np.ndarray, faces: np.ndarray, target: np.ndarray
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Vertices and barycentric weights of the mesh point closest to ``target`` (mm), searched among the 40
    triangles with the nearest centroids."""
    tri = verts[faces]
    centroid_d = np.linalg.norm(tri.mean(axis=1) - target, axis=1)
    best = None
    for t in np.argsort(centroid_d)[:40]:
        point, bary = _closest_point_on_triangle(target, tri[t])
        d = float(np.linalg.norm(point - target))
        if best is None or d < best[0]:
            best = (d, t, bary)
    _, t, bary = best
    keep = bary > 1e-9
    return tuple(int(i) for i in faces[t][keep]), tuple(float(b) for b in bary[keep])


def _closest_point_on_triangle(p: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest point to ``p`` on triangle ``tri (3, 3)`` and its barycentric coordinates: the projection onto
    the plane when it falls inside, else the closest point of the three edges."""
    a, b, c = tri
    e0, e1 = b - a, c - a
    gram = np.array([[e0 @ e0, e0 @ e1], [e0 @ e1, e1 @ e1]])
    rhs = np.array([(p - a) @ e0, (p - a) @ e1])
    s, t = np.linalg.solve(gram, rhs)
    if s >= 0 and t >= 0 and s + t <= 1:
        bary = np.array([1 - s - t, s, t])
    else:  # closest point on the boundary: check the three edges
        candidates = []
        for i, j in ((0, 1), (1, 2), (2, 0)):
            u = np.clip((p - tri[i]) @ (tri[j] - tri[i]) / ((tri[j] - tri[i]) @ (tri[j] - tri[i])), 0, 1)
            w = np.zeros(3)
            w[i], w[j] = 1 - u, u
            candidates.append(w)
        bary = min(candidates, key=lambda w: float(np.linalg.norm(w @ tri - p)))
    return bary @ tri, bary


def _canonical_landmarks(
    verts: np.ndarray,
    faces: np.ndarray,
    names: tuple[str, ...],
    parents: np.ndarray,
    positions: np.ndarray,
    sweep: design.Sweep,
) -> dict[str, KeypointDef]:
    """All landmarks of the vocabulary: on the skin (nose, ear tips, eyes, dorsal points) or on joints."""
    frames = anatomical_frames(positions, parents)
    out: dict[str, KeypointDef] = {}

    def skin(name: str, target: np.ndarray) -> None:
        ids, w = _closest_surface_point(verts, faces, np.asarray(target, dtype=np.float64))
        out[name] = KeypointDef(name, vertices=ids, weights=w)

    def joint(name: str, joint_name: str, world_target: np.ndarray | None = None) -> None:
        j = names.index(joint_name)
        offset = np.zeros(3) if world_target is None else frames[j, :3, :3].T @ (world_target - positions[j])
        out[name] = KeypointDef(name, joint=joint_name, offset=tuple(float(x) for x in offset))

    _, mid_nose, _, _ = sweep.section(np.array([sweep.xb]))[:, 0]
    skin("nose", (sweep.x1 + 1.0, 0.0, mid_nose))
    for side, lr in (("l", "left"), ("r", "right")):
        sign = 1.0 if side == "l" else -1.0
        base = positions[names.index(f"ear_{side}")]
        skin(f"{lr}_ear_tip", base + (design.EAR_LENGTH + 1.0) * design.ear_axis(side))
        eye = np.array(design.EYE_CENTRE) * (1, sign, 1)
        outward = np.array([0.15, sign, 0.3])
        skin(f"{lr}_eye", eye + (design.EYE_RADIUS + 1.0) * outward / np.linalg.norm(outward))
        joint(f"{lr}_ear_base", f"ear_{side}")
        for what, jn in (
            ("shoulder", "humerus"),
            ("elbow", "ulna"),
            ("wrist", "fore_paw"),
            ("hip", "femur"),
            ("knee", "tibia"),
            ("ankle", "hind_paw"),
        ):
            joint(f"{lr}_{what}_joint", f"{jn}_{side}")
        # mouse-22 (MAMMAL semantics: "hip" is the knee joint, "knee" the ankle joint, "foot" the hind
        # digits).
        joint(f"{lr}_shoulder", f"humerus_{side}")
        joint(f"{lr}_elbow", f"ulna_{side}")
        joint(f"{lr}_paw_end", f"fore_paw_{side}")
        joint(f"{lr}_paw", f"fore_digit3_{side}")
        joint(f"{lr}_hip", f"tibia_{side}")
        joint(f"{lr}_knee", f"hind_paw_{side}")
        digit3 = positions[names.index(f"hind_digit3_{side}")]
        joint(
            f"{lr}_foot",
            f"hind_digit3_{side}",
            0.5 * (digit3 + positions[names.index(f"hind_digit3_{side}_end")]),
        )
        for paw, prefix, tip_radius in (
            ("forepaw", "fore", design.FORE_TIP_RADIUS),
            ("hindpaw", "hind", design.HIND_TIP_RADIUS),
        ):
            for d in range(1, 6):
                end = f"{prefix}_digit{d}_{side}_end"
                j = names.index(end)
                direction = positions[j] - positions[parents[j]]
                tip = positions[j] + tip_radius * direction / np.linalg.norm(direction)
                joint(f"{lr}_{paw}_digit{d}_tip", end, tip)
    joint("head_centre", "head")
    neck = positions[names.index("neck")]
    joint("neck", "neck", neck + np.array([0.0, 0.0, 4.5]))
    joint("tail_root", "tail_0")
    # MAMMAL's tail middle lies about a third of the way down the tail (SAM: 42 of 120 mm).
    s_mid = design.TAIL_MIDDLE_FRACTION * design.TAIL_LENGTH
    k = int(np.searchsorted(design.tail_joint_arclengths(), s_mid, side="right") - 1)
    joint("tail_middle", f"tail_{k}", design.tail_centreline(np.array([s_mid]))[0])
    end = positions[names.index("tail_end")]
    tip_dir = end - positions[names.index(f"tail_{design.TAIL_JOINTS - 1}")]
    joint("tail_end", "tail_end", end + design.TAIL_TIP_RADIUS * tip_dir / np.linalg.norm(tip_dir))
    dorsal = {"back_rump": -2.5, "back_middle": 15.0, "body_middle": 15.0, "back_shoulders": 35.0}
    trunk_top = float(verts[:, 2].max()) + 5.0
    for name, x in dorsal.items():
        column = verts[(np.abs(verts[:, 0] - x) < 1.0) & (np.abs(verts[:, 1]) < 2.0)]
        skin(name, (x, 0.0, float(column[:, 2].max()) + 0.5 if len(column) else trunk_top))
    return out


def trunk_width(mouse: CanonicalMouse, vertices: np.ndarray) -> float:
    """Width (in the vertices' unit) of the trunk's cross-section through the ``body_middle`` landmark."""
    kp = mouse.landmarks["body_middle"]
    x = float(np.average(vertices[list(kp.vertices), 0], weights=kp.weights))
    scale = np.ptp(vertices[:, 0]) / np.ptp(mouse.vertices[:, 0])
    sel = (np.abs(vertices[:, 0] - x) < 1.0 * scale) & (mouse.region == "trunk")
    return float(np.ptp(vertices[sel, 1]))


# ------------------------------------------------------------------------------------------------------------
# Shape deformation


OWN, INHERIT, COMPOSE = 0, 1, 2  # how a joint's linear map relates to its parent's (see _bone_maps)


def _joint_scales(mouse: CanonicalMouse, shape: MouseShape, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint scale factors ``(J, 3)`` along the joint frame's axes (x along the bone), before the overall
    scale ``sigma``, and ``(J,)`` map modes: ``OWN`` (just the scale), ``INHERIT`` (the parent's linear map:
    the scapulae ride on the trunk) or ``COMPOSE`` (the parent's map, then the scale: the thigh and upper arm,
    which lie inside the trunk's skin, widen with the trunk so the creases around them do not fold).
    """
    names, groups = mouse.names, mouse.groups
    n = len(names)
    scale = np.ones((n, 3))
    mode = np.full(n, OWN)
    girth = shape.girth_scale
    s_tail = design.tail_joint_arclengths()
    drop = design.TAIL_DROP_LENGTH
    floor_length = design.TAIL_LENGTH - drop
    tail_stretch = (shape.tail_length / MM / sigma - drop) / floor_length
    thickness = shape.tail_thickness_scale
    for j, (name, group) in enumerate(zip(names, groups, strict=True)):
        base = group[:-2] if group.endswith(("_l", "_r")) else group
        if group in ("pelvis", "spine", "neck"):
            scale[j] = (1.0, girth, np.sqrt(girth))  # a stouter mouse is mostly wider
        elif group in ("head", "jaw", "tongue") or name in ("snout", "rhinarium", "nose_tip"):
            scale[j] = shape.head_scale
        elif base == "ear" or name.startswith("ear_"):
            scale[j] = shape.head_scale * shape.ear_scale
        elif base in ("shoulder", "elbow", "wrist", "fore_digits", "hip", "knee", "ankle", "hind_digits") or (
            name.startswith(("fore_digit", "hind_digit")) and name.endswith("_end")
        ):
            scale[j] = shape.limb_scale
            if base in ("shoulder", "hip"):
                # Upper arm and thigh: longer, not thicker (they sit in the trunk).
                scale[j] = (shape.limb_scale, 1.0, 1.0)
                mode[j] = COMPOSE
        elif base == "scapula":
            mode[j] = INHERIT
        elif name.startswith("tail_"):
            k = design.TAIL_JOINTS if name == "tail_end" else int(name.split("_")[1])
            along = tail_stretch if s_tail[k] >= drop - 1e-6 else 1.0
            scale[j] = (along, thickness, thickness)
    return scale, mode


def _tail_lift(
    mouse: CanonicalMouse, shape: MouseShape, scale: np.ndarray, mode: np.ndarray, floor: float
) -> np.ndarray:
    """``(J,)`` extra height (mm, before ``sigma``) of each tail joint relative to its parent that keeps the
    resting part of the tail on the floor (at height ``floor``): its centre line stays one (scaled) radius
    above the floor however the girth, the tail's thickness and its stretch along slightly sloping bones move
    it.
    """
    thickness = shape.tail_thickness_scale
    _, unlifted = _bone_maps(mouse, scale, mode, np.zeros(len(mouse.names)))
    absolute = np.zeros(len(mouse.names))
    s = design.tail_joint_arclengths()
    for k in range(design.TAIL_JOINTS + 1):
        j = mouse.names.index("tail_end" if k == design.TAIL_JOINTS else f"tail_{k}")
        r = float(design.tail_radius(np.array([s[k]]))[0])
        weight = float(design.tail_floor_weight(np.array([s[k]]))[0])
        target = mouse.positions[j, 2] + (thickness - 1.0) * r + floor
        absolute[j] = weight * (target - unlifted[j, 2])
    has_parent = mouse.parents >= 0
    relative = absolute.copy()
    relative[has_parent] -= absolute[mouse.parents[has_parent]]
    return relative


def _bone_maps(
    mouse: CanonicalMouse, scale: np.ndarray, mode: np.ndarray, lift: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Affine maps ``(J, 3, 4)`` from canonical rest space to the shaped rest space, and new joint positions
    ``(J, 3)``, carrying each joint with its parent's map (plus its own ``lift`` in z, which its descendants
    inherit).
    """
    frames = anatomical_frames(mouse.positions, mouse.parents)
    rot = frames[:, :3, :3]
    linear = rot @ (scale[:, :, None] * np.swapaxes(rot, 1, 2))
    old = mouse.positions
    new = np.zeros_like(old)
    maps = np.zeros((len(old), 3, 4))
    for j, p in enumerate(mouse.parents):
        if p < 0:
            new[j] = old[j]
        else:
            new[j] = maps[p, :, :3] @ old[j] + maps[p, :, 3] + np.array([0.0, 0.0, lift[j]])
        if mode[j] == INHERIT and p >= 0:
            linear[j] = linear[p]
        elif mode[j] == COMPOSE and p >= 0:
            linear[j] = linear[p] @ linear[j]
        maps[j, :, :3] = linear[j]
        maps[j, :, 3] = new[j] - linear[j] @ old[j]
    return maps, new


def _apply_maps(weights: sp.csr_matrix, maps: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Weight-blended affine maps applied to ``points (V, 3)``."""
    blended = (weights @ maps.reshape(len(maps), 12)).reshape(-1, 3, 4)
    return np.einsum("vij,vj->vi", blended[:, :, :3], points) + blended[:, :, 3]


def _landmark_points(
    mouse: CanonicalMouse,
    verts: np.ndarray,
    positions: np.ndarray,
    linear: np.ndarray,
    names: tuple[str, ...],
) -> np.ndarray:
    """Landmark positions ``(K, 3)`` (mm) on shaped vertices/joints; joint offsets go through ``linear``."""
    frames = anatomical_frames(mouse.positions, mouse.parents)
    out = []
    for name in names:
        kp = mouse.landmarks[name]
        if kp.on_skin:
            out.append(np.average(verts[list(kp.vertices)], axis=0, weights=kp.weights or None))
        else:
            j = mouse.names.index(kp.joint)
            out.append(positions[j] + linear[j] @ frames[j, :3, :3] @ np.asarray(kp.offset))
    return np.array(out)


@dataclass(frozen=True, eq=False)
class ShapedMouse:
    """A deformed canonical mouse in millimetres (before conversion to a :class:`Body`)."""

    vertices: np.ndarray
    positions: np.ndarray
    offset_scale: np.ndarray  # (J, 3) how each joint's landmark offsets scale along its frame axes
    sigma: float


def shape_mouse(mouse: CanonicalMouse, shape: MouseShape) -> ShapedMouse:
    """Deform the canonical mouse to ``shape`` (mm): bone-wise scaling, paws put back on the floor, then the
    overall scale that makes the nose-to-tail-root distance ``shape.body_length``."""
    sigma = shape.body_length / MM / mouse.length
    limb_roots = [mouse.names.index(f"{bone}_{side}") for bone in ("humerus", "femur") for side in ("l", "r")]
    paw_regions = [mouse.region == r for r in ("forelimb_l", "forelimb_r", "hindlimb_l", "hindlimb_r")]
    for _ in range(2):
        scale, mode = _joint_scales(mouse, shape, sigma)
        lift = np.zeros(len(mouse.names))
        maps, positions = _bone_maps(mouse, scale, mode, lift)
        verts = _apply_maps(mouse.weights, maps, mouse.vertices)
        # Longer legs lift the whole body (the ground shift below); what differs between the four legs (the
        # trunk's girth moves hips and shoulders by different amounts) is evened out at the limb roots, so all
        # four paws end on the floor while the creases around the thighs and upper arms barely shear.
        drop = np.array([mouse.vertices[sel, 2].min() - verts[sel, 2].min() for sel in paw_regions])
        lift[limb_roots] += drop - drop.mean()
        maps, positions = _bone_maps(mouse, scale, mode, lift)
        verts = _apply_maps(mouse.weights, maps, mouse.vertices)
        ground = min(verts[sel, 2].min() for sel in paw_regions)
        lift += _tail_lift(mouse, shape, scale, mode, ground)
        maps, positions = _bone_maps(mouse, scale, mode, lift)
        verts = _apply_maps(mouse.weights, maps, mouse.vertices)
        verts[:, 2] -= ground
        positions[:, 2] -= ground
        positions[0, 2] = 0.0
        nose, tail_root = _landmark_points(mouse, verts, positions, maps[:, :, :3], ("nose", "tail_root"))
        sigma = shape.body_length / MM / float(np.linalg.norm(nose - tail_root))
    return ShapedMouse(vertices=verts * sigma, positions=positions * sigma, offset_scale=scale * sigma, sigma=sigma)


def build_parametric_mouse(shape: MouseShape | None = None, **options: float) -> Body:
    """The built-in parametric mouse as a :class:`Body` in metres.

    Args:
        shape: a :class:`MouseShape`; or give its fields as keyword options (``body_length=0.09`` ...).
    """
    if shape is not None and options:
        raise ModelFormatError(SOURCE, f"give either a MouseShape or keyword options, not both ({sorted(options)})")
    shape = shape if shape is not None else MouseShape.from_options(**options)
    mouse = canonical_mouse()
    shaped = shape_mouse(mouse, shape)
    positions = shaped.positions * MM
    skeleton = Skeleton(
        names=mouse.names,
        parents=mouse.parents,
        rest=anatomical_frames(positions, mouse.parents),
        groups=mouse.groups,
        limits=limits_for_groups(mouse.groups),
    )
    mesh = SkinnedMesh(vertices=(shaped.vertices * MM).astype(np.float32), faces=mouse.faces, weights=mouse.weights)
    landmarks = {
        name: kp
        if kp.on_skin
        else dataclasses.replace(
            kp,
            offset=tuple(
                float(x) for x in np.asarray(kp.offset) * shaped.offset_scale[mouse.names.index(kp.joint)] * MM
            ),
        )
        for name, kp in mouse.landmarks.items()
    }
    body = Body(
        name="parametric",
        skeleton=skeleton,
        mesh=mesh,
        landmarks=landmarks,
        source=f"parametric mouse {shape.as_dict()}",
    )
    return with_tongue(body, _shaped_tongue(mouse, positions))


def _shaped_tongue(mouse: CanonicalMouse, positions: np.ndarray) -> TongueShape:
    """The design's tongue (mm, canonical) carried into the shaped mouth: relative to the jaw joint, scaled by
    the jaw-to-rhinarium distance."""
    jaw, tip = mouse.names.index("jaw"), mouse.names.index("rhinarium")
    canon = mouse.positions
    k = np.linalg.norm(positions[tip] - positions[jaw]) / np.linalg.norm(canon[tip] - canon[jaw])

    def carry(point) -> tuple[float, float, float]:
        return tuple(float(v) for v in positions[jaw] + (np.asarray(point) - canon[jaw]) * k)

    return TongueShape(
        carry(design.TONGUE_BACK),
        carry(design.TONGUE_FRONT),
        design.TONGUE_HALF_WIDTH * k,
        design.TONGUE_HALF_THICKNESS * k,
    )


def eye_mask(body: Body) -> np.ndarray:
    """``(V,) bool`` the eye vertices of a parametric mouse (a colour hint: render them black)."""
    mouse = canonical_mouse()
    if body.mesh.n_vertices < len(mouse.vertices) or not body.name.startswith("parametric"):
        raise ModelFormatError(SOURCE, f"body {body.name!r} is not a parametric mouse; eye_mask needs one")
    mask = np.zeros(body.mesh.n_vertices, dtype=bool)  # the tongue's vertices follow the canonical ones
    mask[: len(mouse.vertices)] = mouse.eye
    return mask
