"""Built-in keypoint sets and user keypoint files, resolved on any body through its landmark vocabulary.

A keypoint set maps output keypoint names to *specs*. The built-in sets live in the package data file
``data/keypoint_sets.yaml``; user files use the same spec forms. Every spec becomes a
:class:`~synthmouse.body.keypoints.KeypointDef` (skin or skeleton), so keypoints follow the posed body.

Spec forms (a plain string is short for ``{landmark: NAME}``):

* ``{landmark: NAME}`` -- a landmark of the body (``docs/conventions.md`` lists the vocabulary) or a derived
  landmark of ``keypoint_sets.yaml``;
* ``{vertices: [i, ...], weights: [w, ...]}`` -- the weighted mean of mesh vertices (default: equal weights);
* ``{joint: NAME, offset: [x, y, z]}`` -- a point fixed to a joint, offset in metres in its anatomical frame;
* ``{nearest_surface: [x, y, z]}`` -- the rest-mesh surface point nearest to a body-frame point (metres), kept
  as barycentric weights of its triangle so it follows the skin;
* ``{between: [A, B], at: t}`` -- the rest-pose point ``(1 - t) A + t B`` of two specs, fixed to the nearest
  bone (``groups: [...]`` restricts the bones; ``bind: surface`` snaps it to the skin instead);
* ``{chain: GROUP, at: t, from: A}`` -- the point at arc-length fraction ``t`` along the bone chain of a joint
  group (``tail``, ``spine`` ...), from its first joint or from the chain point nearest to spec ``A``;
* ``{surface_ray: {from: A, direction: [x, y, z]}}`` -- where a ray from spec ``A``'s rest point along a
  body-frame direction leaves the rest mesh for the last time (e.g. ``[0, 0, 1]``: the dorsal surface above a
  point), kept as barycentric weights so it follows the skin;
* ``{silhouette: {from: A, direction: [x, y, z], view: [x, y, z], groups: [...]}}`` -- the rest mesh's
  outline point seen along ``view``, on the ``direction`` side: the surface point farthest along ``direction``
  in the plane through spec ``A``'s rest point spanned by ``direction`` and ``view`` (e.g. the flank as a
  top-view labeller sees it), kept as barycentric weights; ``groups`` (optional) limits the surface to
  vertices dominated by joints of those groups.

A set (built-in or user file) may also say which of its keypoints are labelled when hidden, ``label_hidden``:
``none`` (the default: a keypoint is labelled only where it is visible), ``all``, or a list of keypoint names.
Internal landmarks (joint centres, mouse22's neck or tail root) are occluded in every view; listing them labels
them at their projection whenever they are inside the image, as human labellers estimate hidden joints. The
DeepLabCut export follows it (``docs/dataset.md``); the other formats keep their visibility flags.
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from ..errors import KeypointError
from ..io.yamlio import load_yaml
from .groups import FIXED_GROUP, GROUPS
from .keypoints import KeypointDef, KeypointSet

if TYPE_CHECKING:
    from .model import Body

DATA_FILE = "data/keypoint_sets.yaml"
SPEC_FIELDS = {
    "landmark": (),
    "vertices": ("weights",),
    "joint": ("offset",),
    "nearest_surface": (),
    "between": ("at", "bind", "groups"),
    "chain": ("at", "from"),
    "surface_ray": (),
    "silhouette": (),
}
MAX_OFFSET_M = 0.5  # offsets are metres; anything larger is almost certainly millimetres or another unit
MAX_SURFACE_DISTANCE_M = 0.05  # a nearest_surface point this far from the mesh is a mistake, not a landmark


# --- public API ---------------------------------------------------------------------------------------------
def builtin_set_names() -> tuple[str, ...]:
    """Names of the built-in keypoint sets, in file order."""
    return tuple(_builtin_data()["sets"])


def resolve_keypoint_set(name: str, body: Body) -> KeypointSet:
    """A built-in set (``mouse22``, ``dlc-topview``, ``superanimal-topview``, ``side-limbs``) or a user YAML
    file (a path ending in ``.yaml``/``.yml``) resolved on ``body``.

    Raises :class:`KeypointError` naming the set, keypoint and missing landmark or joint.
    """
    data = _builtin_data()
    if name in data["sets"]:
        entry = data["sets"][name]
        context = _Context(body, f"{DATA_FILE} [set {name}]", data["derived"])
        return context.build_set(name, entry["keypoints"], entry.get("edges", []), entry.get("label_hidden"))
    if str(name).lower().endswith((".yaml", ".yml")):
        return load_user_keypoints(name, body)
    raise KeypointError(
        f"unknown keypoint set {name!r}; allowed: {', '.join(data['sets'])}, or a user keypoint file (.yaml)"
    )


def load_user_keypoints(path_or_dict: str | Path | dict, body: Body) -> KeypointSet:
    """Read a user keypoint file (or its parsed mapping) and resolve it on ``body``.

    The file holds ``keypoints:`` (a mapping of output name to spec, in output order), optional ``edges:``
    (pairs of keypoint names), optional ``label_hidden:`` (``none``, ``all`` or a list of keypoint names) and an
    optional ``name:`` (default: the file's stem). See the module docstring for the specs.
    """
    if isinstance(path_or_dict, dict):
        source, raw, default_name = "<keypoints>", path_or_dict, "user"
    else:
        path = Path(path_or_dict)
        source, default_name = str(path), path.stem
        if not path.is_file():
            raise KeypointError(f"{source}: keypoint file not found")
        raw = load_yaml(path, error=KeypointError, what="keypoint file")
    if not isinstance(raw, dict):
        raise KeypointError(f"{source}: expected a mapping with 'keypoints' (and optional 'edges', 'name')")
    unknown = sorted(set(raw) - {"name", "keypoints", "edges", "description", "label_hidden"})
    if unknown:
        raise KeypointError(
            f"{source}: unknown field(s) {unknown}; allowed: name, keypoints, edges, label_hidden, description"
        )
    keypoints = raw.get("keypoints")
    if not isinstance(keypoints, dict) or not keypoints:
        raise KeypointError(
            f"{source}: field 'keypoints' must be a non-empty mapping of keypoint name to spec, got {keypoints!r}"
        )
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise KeypointError(f"{source}: field 'name' must be a non-empty string, got {name!r}")
    context = _Context(body, source, _builtin_data()["derived"])
    return context.build_set(name, keypoints, raw.get("edges", []), raw.get("label_hidden"))


# --- the data file ------------------------------------------------------------------------------------------
@cache
def _builtin_data() -> dict:
    text = resources.files("synthmouse").joinpath(DATA_FILE).read_text()
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "sets" not in data:
        raise KeypointError(f"{DATA_FILE}: expected top-level 'sets' (and 'derived')")
    data.setdefault("derived", {})
    return data


# --- resolution ---------------------------------------------------------------------------------------------
class _Context:
    """Resolves specs on one body, with error messages naming the source, keypoint and field."""

    def __init__(self, body: Body, source: str, derived: dict[str, Any]):
        self.body = body
        self.source = source
        self.derived = derived
        self._rest_cache: dict[KeypointDef, np.ndarray] = {}

    # errors
    def fail(self, key: str, field: str | None, problem: str, allowed: str | None = None) -> KeypointError:
        where = f"{self.source}: keypoint {key!r}" + (f", field {field!r}" if field else "")
        return KeypointError(f"{where}: {problem}" + (f"; allowed: {allowed}" if allowed else ""))

    # sets
    def build_set(self, name: str, keypoints: dict, edges: Any, label_hidden: Any = None) -> KeypointSet:
        defs = tuple(self.resolve(str(key), spec, key=str(key)) for key, spec in keypoints.items())
        names = [d.name for d in defs]
        hidden = self.label_hidden(label_hidden, names)
        if not isinstance(edges, list):
            raise KeypointError(f"{self.source}: field 'edges' must be a list of [a, b] pairs, got {edges!r}")
        pairs = []
        for i, edge in enumerate(edges):
            if not (isinstance(edge, (list, tuple)) and len(edge) == 2):
                raise KeypointError(f"{self.source}: edges[{i}] must be a pair [a, b], got {edge!r}")
            for end in edge:
                if str(end) not in names:
                    raise KeypointError(
                        f"{self.source}: edges[{i}] = {list(edge)} names {end!r}, which is not a keypoint; "
                        f"allowed: {', '.join(names)}"
                    )
            pairs.append((str(edge[0]), str(edge[1])))
        return KeypointSet(name, defs, tuple(pairs), label_hidden=hidden)

    def label_hidden(self, value: Any, names: list[str]) -> tuple[str, ...]:
        """The keypoints labelled when hidden, in set order, from ``none`` (or absent), ``all`` or a list."""
        allowed = "none, all, or a list of keypoint names of the set"
        if value is None or value == "none":
            return ()
        if value == "all":
            return tuple(names)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise KeypointError(f"{self.source}: field 'label_hidden' is {value!r}; allowed: {allowed}")
        stray = [v for v in value if v not in names]
        if stray:
            raise KeypointError(
                f"{self.source}: field 'label_hidden' names {stray}, which are not keypoints of the set; "
                f"keypoints: {', '.join(names)}"
            )
        return tuple(n for n in names if n in value)

    def resolve(self, name: str, spec: Any, key: str) -> KeypointDef:
        """The :class:`KeypointDef` of ``spec``, named ``name``; ``key`` is the keypoint named in errors."""
        if isinstance(spec, str):
            spec = {"landmark": spec}
        if not isinstance(spec, dict) or not spec:
            raise self.fail(
                key,
                None,
                f"spec {spec!r} is not a landmark name or a mapping",
                "a landmark name, or a mapping with one of " + ", ".join(SPEC_FIELDS),
            )
        kinds = [k for k in spec if k in SPEC_FIELDS]
        if len(kinds) != 1:
            raise self.fail(key, None, f"spec {spec!r} needs exactly one of {', '.join(SPEC_FIELDS)}")
        kind = kinds[0]
        extra = sorted(set(spec) - {kind, *SPEC_FIELDS[kind]})
        if extra:
            raise self.fail(key, extra[0], f"not a field of a {kind!r} spec", ", ".join((kind, *SPEC_FIELDS[kind])))
        return getattr(self, f"_spec_{kind}")(name, spec, key)

    def _spec_landmark(self, name: str, spec: dict, key: str) -> KeypointDef:
        landmark = spec["landmark"]
        if landmark in self.body.landmarks:
            return _renamed(self.body.landmarks[landmark], name)
        if landmark in self.derived:
            return self.resolve(name, self.derived[landmark], key)
        known = sorted(self.body.landmarks) + sorted(self.derived)
        hint = difflib.get_close_matches(str(landmark), known, n=3)
        raise self.fail(
            key,
            "landmark",
            f"body {self.body.name!r} has no landmark {landmark!r}"
            + (f" (did you mean {', '.join(hint)}?)" if hint else ""),
            ", ".join(known),
        )

    def _spec_vertices(self, name: str, spec: dict, key: str) -> KeypointDef:
        n_v = self.body.mesh.n_vertices
        ids = spec["vertices"]
        ids = [ids] if isinstance(ids, int) else ids
        if not isinstance(ids, list) or not ids or not all(_is_int(i) for i in ids):
            raise self.fail(
                key,
                "vertices",
                f"{spec['vertices']!r} is not a list of vertex ids",
                f"a non-empty list of integers in 0..{n_v - 1}",
            )
        bad = [i for i in ids if not 0 <= int(i) < n_v]
        if bad:
            raise self.fail(key, "vertices", f"vertex id {bad[0]} is out of range", f"0..{n_v - 1}")
        weights = spec.get("weights")
        if weights is None:
            return KeypointDef(name, vertices=tuple(int(i) for i in ids))
        if not isinstance(weights, list) or len(weights) != len(ids) or not all(_is_number(w) for w in weights):
            raise self.fail(
                key,
                "weights",
                f"{weights!r} is not a list of {len(ids)} numbers",
                "one number >= 0 per vertex",
            )
        if min(weights) < 0 or sum(weights) <= 0:
            raise self.fail(
                key,
                "weights",
                f"{weights!r} has a negative entry or sums to 0",
                "numbers >= 0 with a positive sum",
            )
        return KeypointDef(name, vertices=tuple(int(i) for i in ids), weights=tuple(float(w) for w in weights))

    def _spec_joint(self, name: str, spec: dict, key: str) -> KeypointDef:
        joint, names = spec["joint"], self.body.skeleton.names
        if joint not in names:
            hint = difflib.get_close_matches(str(joint), names, n=3)
            raise self.fail(
                key,
                "joint",
                f"body {self.body.name!r} has no joint {joint!r}"
                + (f" (did you mean {', '.join(hint)}?)" if hint else ""),
                f"one of its {len(names)} joints (`synthmouse model info` lists them)",
            )
        offset = self._vector(spec.get("offset", [0.0, 0.0, 0.0]), key, "offset")
        if np.abs(offset).max() > MAX_OFFSET_M:
            raise self.fail(
                key,
                "offset",
                f"{offset.tolist()} is larger than {MAX_OFFSET_M} m",
                "metres in the joint's anatomical frame (x along the bone, z up)",
            )
        return KeypointDef(name, joint=joint, offset=tuple(float(x) for x in offset))

    def _spec_nearest_surface(self, name: str, spec: dict, key: str) -> KeypointDef:
        point = self._vector(spec["nearest_surface"], key, "nearest_surface")
        kdef, distance = _nearest_surface(self.body, point, name)
        if distance > MAX_SURFACE_DISTANCE_M:
            raise self.fail(
                key,
                "nearest_surface",
                f"{point.tolist()} is {distance:.3f} m from the body's surface",
                f"a point within {MAX_SURFACE_DISTANCE_M} m of the rest mesh, in metres in the body frame "
                "(x forward, y left, z up, origin on the floor under the pelvis)",
            )
        return kdef

    def _spec_between(self, name: str, spec: dict, key: str) -> KeypointDef:
        ends = spec["between"]
        if not isinstance(ends, list) or len(ends) != 2:
            raise self.fail(key, "between", f"{ends!r} is not a pair", "[A, B], two landmark names or specs")
        t = self._fraction(spec.get("at", 0.5), key)
        a, b = (self.rest_point(self.resolve(f"{name}/{i}", end, key)) for i, end in enumerate(ends))
        point = (1.0 - t) * a + t * b
        bind = spec.get("bind", "bone")
        if bind == "surface":
            return _nearest_surface(self.body, point, name)[0]
        if bind != "bone":
            raise self.fail(key, "bind", f"{bind!r} is not a binding", "bone, surface")
        groups = spec.get("groups")
        if groups is not None:
            if not isinstance(groups, list) or not all(g in GROUPS for g in groups):
                raise self.fail(key, "groups", f"{groups!r} is not a list of joint groups", ", ".join(GROUPS))
        return _bind_to_nearest_bone(self.body, point, name, groups, lambda msg: self.fail(key, "groups", msg))

    def _spec_chain(self, name: str, spec: dict, key: str) -> KeypointDef:
        group = spec["chain"]
        if group not in GROUPS:
            raise self.fail(key, "chain", f"{group!r} is not a joint group", ", ".join(GROUPS))
        t = self._fraction(spec.get("at", 0.5), key)
        chain = _group_chain(self.body, group)
        if chain is None:
            raise self.fail(
                key,
                "chain",
                f"the joints of group {group!r} on body {self.body.name!r} do not form one chain of at least one bone",
                "a group whose joints form a single chain",
            )
        positions = self.body.skeleton.rest[chain, :3, 3]
        start = 0.0
        if "from" in spec:
            start = _arc_position(positions, self.rest_point(self.resolve(f"{name}/from", spec["from"], key)))
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(positions, axis=0), axis=1))])
        s = start + t * (arc[-1] - start)
        seg = int(np.clip(np.searchsorted(arc, s, side="right") - 1, 0, len(chain) - 2))
        u = (s - arc[seg]) / max(arc[seg + 1] - arc[seg], 1e-12)
        point = (1.0 - u) * positions[seg] + u * positions[seg + 1]
        return _skeleton_point(self.body, int(chain[seg]), point, name)

    def _spec_surface_ray(self, name: str, spec: dict, key: str) -> KeypointDef:
        ray = spec["surface_ray"]
        if not isinstance(ray, dict) or set(ray) != {"from", "direction"}:
            raise self.fail(key, "surface_ray", f"{ray!r} is not a ray", "{from: A, direction: [x, y, z]}")
        origin = self.rest_point(self.resolve(f"{name}/from", ray["from"], key))
        direction = self._vector(ray["direction"], key, "surface_ray.direction")
        if np.linalg.norm(direction) == 0:
            raise self.fail(key, "surface_ray.direction", "is the zero vector", "a non-zero body-frame direction")
        hit = _last_ray_hit(self.body, origin, direction / np.linalg.norm(direction))
        if hit is None:
            raise self.fail(
                key,
                "surface_ray",
                f"the ray from {np.round(origin, 4).tolist()} along "
                f"{direction.tolist()} does not meet the surface of body {self.body.name!r}",
                "a ray that crosses the rest mesh",
            )
        triangle, bary = hit
        return _skin_point(self.body, triangle, bary, name)

    def _spec_silhouette(self, name: str, spec: dict, key: str) -> KeypointDef:
        sil = spec["silhouette"]
        if not isinstance(sil, dict) or not {"from", "direction", "view"} <= set(sil) <= {
            "from",
            "direction",
            "view",
            "groups",
        }:
            raise self.fail(
                key,
                "silhouette",
                f"{sil!r} is not an outline query",
                "{from: A, direction: [x, y, z], view: [x, y, z], groups: [optional joint groups]}",
            )
        groups = sil.get("groups")
        if groups is not None and (not isinstance(groups, list) or not all(g in GROUPS for g in groups)):
            raise self.fail(key, "silhouette.groups", f"{groups!r} is not a list of joint groups", ", ".join(GROUPS))
        origin = self.rest_point(self.resolve(f"{name}/from", sil["from"], key))
        direction = self._vector(sil["direction"], key, "silhouette.direction")
        view = self._vector(sil["view"], key, "silhouette.view")
        normal = np.cross(direction, view)
        if np.linalg.norm(direction) == 0 or np.linalg.norm(normal) < 1e-9 * np.linalg.norm(view):
            raise self.fail(
                key,
                "silhouette",
                f"direction {direction.tolist()} and view {view.tolist()} do not span a plane",
                "two non-zero, non-parallel vectors",
            )
        hit = _farthest_in_section(
            self.body, origin, direction / np.linalg.norm(direction), normal / np.linalg.norm(normal), groups
        )
        if hit is None:
            raise self.fail(
                key,
                "silhouette",
                f"the plane through {np.round(origin, 4).tolist()} does not cut the surface of body {self.body.name!r}",
                "a point whose section crosses the rest mesh",
            )
        return _skin_point(self.body, *hit, name)

    # helpers
    def rest_point(self, kdef: KeypointDef) -> np.ndarray:
        """``(3,)`` rest-pose position of a keypoint definition in the body frame."""
        if kdef not in self._rest_cache:
            pts = self.body.keypoints(self.body.rest_pose(), KeypointSet("rest", (kdef,)))
            self._rest_cache[kdef] = pts[0, 0]
        return self._rest_cache[kdef]

    def _vector(self, value: Any, key: str, field: str) -> np.ndarray:
        if not (isinstance(value, (list, tuple)) and len(value) == 3 and all(_is_number(v) for v in value)):
            raise self.fail(key, field, f"{value!r} is not a 3-vector", "[x, y, z], three finite numbers")
        out = np.array(value, dtype=np.float64)
        if not np.isfinite(out).all():
            raise self.fail(key, field, f"{value!r} is not finite", "three finite numbers")
        return out

    def _fraction(self, value: Any, key: str) -> float:
        if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
            raise self.fail(key, "at", f"{value!r} is not a fraction", "a number in [0, 1]")
        return float(value)


# --- geometry -----------------------------------------------------------------------------------------------
def _renamed(kdef: KeypointDef, name: str) -> KeypointDef:
    return KeypointDef(name, vertices=kdef.vertices, weights=kdef.weights, joint=kdef.joint, offset=kdef.offset)


def _skeleton_point(body: Body, joint: int, point: np.ndarray, name: str) -> KeypointDef:
    """A keypoint fixed to ``joint`` at body-frame rest position ``point``."""
    frame = body.skeleton.rest[joint]
    offset = frame[:3, :3].T @ (np.asarray(point, dtype=np.float64) - frame[:3, 3])
    return KeypointDef(name, joint=body.skeleton.names[joint], offset=tuple(float(x) for x in offset))


def _skin_point(body: Body, triangle: int, bary: np.ndarray, name: str) -> KeypointDef:
    """A skin keypoint at barycentric coordinates ``bary (3,)`` of rest-mesh triangle ``triangle``."""
    bary = np.clip(np.asarray(bary, dtype=np.float64), 0.0, None)
    bary = bary / bary.sum()
    ids = tuple(int(i) for i in body.mesh.faces[triangle])
    return KeypointDef(name, vertices=ids, weights=tuple(float(w) for w in bary))


def _triangles(body: Body) -> np.ndarray:
    """``(T, 3, 3) float64`` rest-mesh triangles."""
    return body.mesh.vertices.astype(np.float64)[body.mesh.faces]


def _nearest_surface(body: Body, point: np.ndarray, name: str) -> tuple[KeypointDef, float]:
    """Skin keypoint at the rest-mesh surface point nearest to ``point (3,)``, and its distance (metres)."""
    import trimesh

    triangles = _triangles(body)
    query = np.broadcast_to(np.asarray(point, dtype=np.float64), (len(triangles), 3))
    closest = trimesh.triangles.closest_point(triangles, query)
    distance = np.linalg.norm(closest - query, axis=1)
    best = int(np.argmin(distance))
    bary = trimesh.triangles.points_to_barycentric(triangles[best : best + 1], closest[best : best + 1])[0]
    return _skin_point(body, best, bary, name), float(distance[best])


def _last_ray_hit(body: Body, origin: np.ndarray, direction: np.ndarray) -> tuple[int, np.ndarray] | None:
    """``(triangle, barycentric (3,))`` of a ray's farthest crossing of the rest mesh (Moller-Trumbore)."""
    tri = _triangles(body)
    a, e1, e2 = tri[:, 0], tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    p = np.cross(direction, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > 1e-18
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = origin - a
    u = np.einsum("ij,ij->i", s, p) * inv
    q = np.cross(s, e1)
    v = (q @ direction) * inv
    t = np.einsum("ij,ij->i", e2, q) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    if not hit.any():
        return None
    best = int(np.flatnonzero(hit)[np.argmax(t[hit])])
    return best, np.array([1.0 - u[best] - v[best], u[best], v[best]])


def _farthest_in_section(
    body: Body, origin: np.ndarray, direction: np.ndarray, normal: np.ndarray, groups: list[str] | None = None
) -> tuple[int, np.ndarray] | None:
    """``(triangle, barycentric (3,))`` of the point farthest along ``direction`` where the plane through
    ``origin`` with unit ``normal`` cuts the rest mesh (the ends of each triangle's cut segment are the
    candidates).

    ``groups`` keeps only triangles whose three vertices are dominated by joints of those groups.
    """
    tri = _triangles(body)
    side = (tri - origin) @ normal  # (T, 3) signed distances of the corners
    if groups is not None:
        vertex_group = np.array(body.skeleton.groups)[body.mesh.dominant_joint()]
        keep = np.isin(vertex_group, groups)[body.mesh.faces].all(axis=1)
        side = np.where(keep[:, None], side, np.nan)  # NaN never satisfies the cut test below
    best: tuple[float, int, np.ndarray] | None = None
    for i, j in ((0, 1), (1, 2), (2, 0)):
        si, sj = side[:, i], side[:, j]
        cut = np.flatnonzero((si * sj <= 0) & (si != sj))
        if not cut.size:
            continue
        u = si[cut] / (si[cut] - sj[cut])  # fraction from corner i to corner j
        points = tri[cut, i] + u[:, None] * (tri[cut, j] - tri[cut, i])
        reach = (points - origin) @ direction
        k = int(np.argmax(reach))
        if best is None or reach[k] > best[0]:
            bary = np.zeros(3)
            bary[i], bary[j] = 1.0 - u[k], u[k]
            best = (float(reach[k]), int(cut[k]), bary)
    return None if best is None else (best[1], best[2])


def _bind_to_nearest_bone(body: Body, point: np.ndarray, name: str, groups, fail) -> KeypointDef:
    """Fix ``point`` to the joint whose bone (segment from the joint to a child) passes nearest to it."""
    sk = body.skeleton
    pos = sk.rest[:, :3, 3]
    child = np.flatnonzero(sk.parents >= 0)
    owner = sk.parents[child]
    allowed = np.array(
        [(sk.groups[o] in groups) if groups is not None else sk.groups[o] != FIXED_GROUP for o in owner],
        dtype=bool,
    )
    if not allowed.any():
        raise fail(f"body {body.name!r} has no bones in groups {groups}")
    child, owner = child[allowed], owner[allowed]
    start, seg = pos[owner], pos[child] - pos[owner]
    length2 = np.maximum(np.einsum("ij,ij->i", seg, seg), 1e-24)
    u = np.clip(np.einsum("ij,ij->i", point - start, seg) / length2, 0.0, 1.0)
    distance = np.linalg.norm(start + u[:, None] * seg - point, axis=1)
    return _skeleton_point(body, int(owner[np.argmin(distance)]), point, name)


def _group_chain(body: Body, group: str) -> np.ndarray | None:
    """Joints of ``group`` as a parent-to-child chain, plus the last joint's leaf child if any; else None."""
    sk = body.skeleton
    joints = sorted(sk.joints_in_group(group).tolist(), key=lambda j: len(sk.descendants(j)), reverse=True)
    if not joints:
        return None
    for parent, child in zip(joints, joints[1:], strict=False):
        if sk.parents[child] != parent:
            return None
    chain = list(joints)
    leaves = [int(c) for c in np.flatnonzero(sk.parents == chain[-1]) if not len(sk.descendants(int(c)))]
    if len(leaves) == 1:  # the end of the last bone (e.g. tail_9 -> tail_9_end)
        chain.append(leaves[0])
    return np.array(chain, dtype=np.int64) if len(chain) >= 2 else None


def _arc_position(polyline: np.ndarray, point: np.ndarray) -> float:
    """Arc length along ``polyline (N, 3)`` of its point nearest to ``point``."""
    start, seg = polyline[:-1], np.diff(polyline, axis=0)
    length = np.linalg.norm(seg, axis=1)
    u = np.clip(np.einsum("ij,ij->i", point - start, seg) / np.maximum(length**2, 1e-24), 0.0, 1.0)
    distance = np.linalg.norm(start + u[:, None] * seg - point, axis=1)
    i = int(np.argmin(distance))
    return float(length[:i].sum() + u[i] * length[i])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
