"""Placing a mirror by naming the view it should show.

A lab's mirror shows the camera a second view of the animal (from below, from the side, from the front) in
another part of the same image. :func:`place_mirror` finds the plane: the reflected animal ``M(T)`` must appear
at the requested pixel, so it lies on that pixel's camera ray, ``Q = C + s r``; for each depth ``s`` the mirror
is the plane halfway between ``T`` and ``Q`` (perpendicular to ``Q - T``), and the virtual camera behind it
(``M(C)``) looks at the animal from some direction. The depth whose virtual camera looks from nearest the named
direction wins (a 1-D search); the pixel is met exactly, the view as closely as the geometry allows (the angle
left over is reported). The outline is the rectangle on that plane through which the camera sees the reflected
animal's box, with a margin.

:func:`mirror_entry` is the scene file's ``mirrors:`` item; :func:`scene_text_with_mirror` adds or replaces it in
a scene file's text, keeping the rest as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ruamel.yaml.nodes import MappingNode, SequenceNode
from scipy.optimize import minimize_scalar

from synthmouse.errors import SceneError
from synthmouse.fileio import atomic_path
from synthmouse.io.labels import LabelledFrames
from synthmouse.scene.camera import Camera
from synthmouse.scene.camera_fit.scene_edit import edit_mapping, end_index, find_node, format_value
from synthmouse.scene.mirror import Mirror
from synthmouse.scene.spec import parse_scene_spec

VIEWS = {
    "below": (0.0, 0.0, -1.0),
    "above": (0.0, 0.0, 1.0),
    "front": (1.0, 0.0, 0.0),
    "back": (-1.0, 0.0, 0.0),
    "left": (0.0, 1.0, 0.0),
    "right": (0.0, -1.0, 0.0),
}
"""Named views: the direction (world, from the animal) the mirror's virtual camera looks from. The body's nose
points to +x and its left to +y (docs/conventions.md)."""

MIN_DEPTH_FRACTION = 0.05  # the reflected animal at least this share of the camera distance from the camera
MAX_DEPTH_FACTOR = 20.0  # and at most this many camera distances
ALONG_SIGHT_DEG = 10.0  # a view this close to the line of sight names no side of the image
DEFAULT_MARGIN = 0.25  # share of the animal's size added around its reflection on the mirror


@dataclass(frozen=True, eq=False)
class MirrorPlacement:
    """A mirror that shows the camera the named view of the animal.

    Attributes:
        mirror: the placed mirror (point, unit normal towards the camera and the animal, rectangular corners).
        pixel: ``(2,)`` where the camera sees the reflected animal's centre.
        view: ``(3,)`` unit direction (from the animal) asked for.
        achieved: ``(3,)`` unit direction the mirror's virtual camera looks from.
        view_error_deg: angle between ``view`` and ``achieved``.
        blocks_direct_view: the mirror hides the animal's centre from the camera.
    """

    mirror: Mirror
    pixel: np.ndarray
    view: np.ndarray
    achieved: np.ndarray
    view_error_deg: float
    blocks_direct_view: bool


def view_direction(view: str | Sequence[float]) -> np.ndarray:
    """``(3,)`` unit direction for a named view (:data:`VIEWS`) or a direction ``[x, y, z]``."""
    if isinstance(view, str):
        if view not in VIEWS:
            raise SceneError(f"view {view!r}: allowed are {', '.join(VIEWS)} or a direction x,y,z")
        view = VIEWS[view]
    direction = np.asarray(view, dtype=np.float64).reshape(-1)
    if direction.shape != (3,) or not np.all(np.isfinite(direction)) or np.linalg.norm(direction) < 1e-9:
        raise SceneError(f"view {list(np.atleast_1d(view))}: give a non-zero direction x,y,z")
    return direction / np.linalg.norm(direction)


def default_pixel(camera: Camera, target: np.ndarray, view: np.ndarray) -> np.ndarray:
    """Where the reflected animal goes when no pixel is given: from the animal's own pixel halfway to the image
    border, on the side the view direction points to in the image (a view from below shows in the lower part
    of a side camera's image)."""
    sight = (target - camera.position) / np.linalg.norm(target - camera.position)
    here = camera.project(target[None])[0]
    step = camera.project((target + 0.01 * np.linalg.norm(camera.position - target) * view)[None])[0] - here
    if abs(float(sight @ view)) > np.cos(np.radians(ALONG_SIGHT_DEG)) or np.linalg.norm(step) < 1e-6:
        raise SceneError(
            "the view asked for runs along the camera's line of sight, so it names no image side; "
            "give the pixel where the mirror view should appear (--at u,v)"
        )
    step /= np.linalg.norm(step)
    size = np.array([camera.width - 1.0, camera.height - 1.0])
    with np.errstate(divide="ignore"):
        to_border = np.where(step > 0, (size - here) / step, np.where(step < 0, -here / step, np.inf))
    return here + 0.5 * float(np.min(to_border)) * step


def labelled_pixel(frames: LabelledFrames, names: Sequence[str]) -> np.ndarray:
    """``(2,)`` mean pixel of the keypoints ``names`` over every labelled frame: where the mirrored animal is in
    real images (unlabelled points are skipped).

    Raises:
        SceneError: a name the labels do not have, or none of them labelled.
    """
    missing = [name for name in names if name not in frames.names]
    if missing or not names:
        raise SceneError(
            f"{frames.source}: keypoints {missing or list(names)} are not in the labels (they have: "
            f"{', '.join(frames.names)})"
        )
    columns = [frames.names.index(name) for name in names]
    points = frames.xy[:, columns].reshape(-1, 2)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) == 0:
        raise SceneError(f"{frames.source}: keypoints {list(names)} are not labelled in any frame")
    return points.mean(axis=0)


def bisector_mirror(target: np.ndarray, image: np.ndarray, name: str) -> Mirror:
    """The infinite mirror that reflects ``target`` onto ``image`` (its normal towards ``target``)."""
    return Mirror((target + image) / 2, target - image, None, name)


def place_mirror(
    camera: Camera,
    target: Sequence[float],
    view: str | Sequence[float],
    pixel: Sequence[float] | None = None,
    extent: Sequence[float] | float = 0.1,
    margin: float = DEFAULT_MARGIN,
    name: str = "mirror",
) -> MirrorPlacement:
    """A mirror through which ``camera`` sees the point ``target`` from ``view``, at image ``pixel``.

    Args:
        camera: the real camera.
        target: ``(3,)`` world point of the animal to show (its centre).
        view: a name from :data:`VIEWS` or a direction from the animal towards the wanted viewpoint.
        pixel: ``(2,)`` where the reflected ``target`` should appear (e.g. the mean of labelled points of the
            mirrored animal); default :func:`default_pixel`.
        extent: the animal's size, one number (a sphere's diameter) or ``(3,)`` box sides in metres; the mirror
            is made large enough to show all of it, plus ``margin`` of it on each side.
        name: mirror name.

    Raises:
        SceneError: no mirror can show the view (the camera would be behind it at every depth).
    """
    target = np.asarray(target, dtype=np.float64)
    direction = view_direction(view)
    pixel = default_pixel(camera, target, direction) if pixel is None else np.asarray(pixel, dtype=np.float64)
    ray = ray_direction(camera, pixel)
    centre = camera.position
    distance = float(np.linalg.norm(target - centre))

    def misalignment(depth: float) -> float:
        mirror = bisector_mirror(target, centre + depth * ray, name)
        if mirror.signed_distance(centre) <= 0:
            return 4.0 + depth / distance  # camera behind the mirror: worse than any valid depth
        return 1.0 - float(looking_from(mirror, camera, target) @ direction)

    depths = np.geomspace(MIN_DEPTH_FRACTION * distance, MAX_DEPTH_FACTOR * distance, 400)
    scores = np.array([misalignment(d) for d in depths])
    best = int(np.argmin(scores))
    if scores[best] >= 4.0:
        raise SceneError(f"no mirror shows the animal at pixel {pixel.round(1).tolist()}: the camera is behind it")
    lo, hi = depths[max(best - 1, 0)], depths[min(best + 1, len(depths) - 1)]
    depth = float(minimize_scalar(misalignment, bounds=(lo, hi), method="bounded").x) if hi > lo else depths[best]
    plane = bisector_mirror(target, centre + depth * ray, name)
    mirror = outline_mirror(plane, camera, target, extent, margin)
    achieved = looking_from(mirror, camera, target)
    return MirrorPlacement(
        mirror=mirror,
        pixel=pixel,
        view=direction,
        achieved=achieved,
        view_error_deg=float(np.degrees(np.arccos(np.clip(achieved @ direction, -1.0, 1.0)))),
        blocks_direct_view=bool(segment_hits_mirror(mirror, centre, target)),
    )


def ray_direction(camera: Camera, pixel: np.ndarray) -> np.ndarray:
    """``(3,)`` unit world direction of the camera ray through ``pixel`` (lens distortion undone)."""
    normalized = camera.undistort_points(np.asarray(pixel, dtype=np.float64).reshape(1, 2))[0]
    direction = camera.R.T @ np.array([normalized[0], normalized[1], 1.0])
    return direction / np.linalg.norm(direction)


def looking_from(mirror: Mirror, camera: Camera, target: np.ndarray) -> np.ndarray:
    """``(3,)`` unit direction from ``target`` towards the mirror's virtual camera (the reflected centre)."""
    virtual = mirror.reflect_points(camera.position)
    direction = virtual - target
    return direction / np.linalg.norm(direction)


def outline_mirror(plane: Mirror, camera: Camera, target: np.ndarray, extent, margin: float) -> Mirror:
    """``plane`` cut to the rectangle through which ``camera`` sees the reflection of the box ``extent``
    around ``target`` (grown by ``margin`` of the box on every side); its edges follow the camera's x axis
    as projected on the plane."""
    sides = np.broadcast_to(np.asarray(extent, dtype=np.float64), 3) * (1.0 + 2.0 * margin)
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    box = target + 0.5 * signs * sides
    hits = sight_on_plane(plane, camera.position, plane.reflect_points(box))
    e1, e2 = plane_axes(plane.normal, camera.R[0])
    a, b = (hits - plane.point) @ e1, (hits - plane.point) @ e2
    corners = [plane.point + u * e1 + v * e2 for u, v in ((a.min(), b.min()), (a.max(), b.min()))]
    corners += [plane.point + u * e1 + v * e2 for u, v in ((a.max(), b.max()), (a.min(), b.max()))]
    return Mirror(plane.point, plane.normal, np.array(corners), plane.name)


def sight_on_plane(plane: Mirror, eye: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(N, 3)`` where the lines from ``eye`` to ``points`` (behind the plane) cross it."""
    d_eye = float(plane.signed_distance(eye))
    d_pts = plane.signed_distance(points)
    s = d_eye / (d_eye - d_pts)
    return eye + s[:, None] * (points - eye)


def plane_axes(normal: np.ndarray, along: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit ``e1`` (``along`` projected on the plane) and ``e2 = normal x e1``: corners ``(-,-) (+,-) (+,+)
    (-,+)`` then run counter-clockwise seen from the normal's side."""
    e1 = along - (along @ normal) * normal
    if np.linalg.norm(e1) < 1e-9:
        e1 = np.cross(normal, [0.0, 0.0, 1.0] if abs(normal[2]) < 0.9 else [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(normal, e1)


def segment_hits_mirror(mirror: Mirror, start: np.ndarray, end: np.ndarray) -> bool:
    """True when the segment crosses the mirror inside its outline."""
    d0, d1 = float(mirror.signed_distance(start)), float(mirror.signed_distance(end))
    if d0 * d1 >= 0:
        return False
    crossing = start + d0 / (d0 - d1) * (end - start)
    return bool(mirror.contains(crossing[None])[0])


# ---------------------------------------------------------------------------------------------- scene file
def mirror_entry(mirror: Mirror, suffix: str | None = None) -> dict:
    """The scene file's ``mirrors:`` item for ``mirror`` (corners to the micrometre, so the plane they span keeps
    the normal to 1e-5; the normal to 1e-6)."""
    entry: dict = {
        "name": mirror.name,
        "corners": [[round(float(v), 6) for v in corner] for corner in mirror.corners],
        "normal": [round(float(v), 6) for v in mirror.normal],
    }
    if suffix is not None:
        entry["suffix"] = suffix
    return entry


def scene_text_with_mirror(text: str, entry: dict, source: str = "<scene>") -> str:
    """The scene file's ``text`` with mirror ``entry`` added to ``mirrors:`` (its corners and normal replaced
    when a mirror of that name exists); the rest of the text as written."""
    mirrors = find_node(text, ["mirrors"], source)
    items = list(mirrors.value) if isinstance(mirrors, SequenceNode) else []
    if entry["name"] in _entry_names(items):
        values = {k: v for k, v in entry.items() if k != "name"}
        return edit_mapping(text, ["mirrors", {"name": entry["name"]}], values, note="placed", source=source)
    flow = format_value(entry, digits=10)
    if not items:  # no mirrors key, or "mirrors: []" / "mirrors:"
        kept = [line for line in text.splitlines(keepends=True) if not line.startswith("mirrors:")]
        return "".join(kept).rstrip("\n") + f"\nmirrors:\n  - {flow}\n"
    if getattr(mirrors, "flow_style", False):
        raise SceneError(f"{source}: mirrors is written as a [flow] list; write it as a block list to add to it")
    indent = " " * max(items[0].start_mark.column - 2, 0)
    end = end_index(mirrors)
    return text[:end] + f"\n{indent}- {flow}" + text[end:]


def _entry_names(items: list) -> list[str]:
    return [str(v.value) for item in items if isinstance(item, MappingNode) for k, v in item.value if k.value == "name"]


def write_mirror_to_scene(scene_path: str | Path, entry: dict, out_path: str | Path | None = None) -> Path:
    """Add (or replace) mirror ``entry`` in a scene file; the result is validated before it is written."""
    scene_path = Path(scene_path)
    out_path = Path(out_path) if out_path is not None else scene_path
    try:
        text = scene_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SceneError(f"{scene_path}: cannot read the scene file ({exc.strerror})") from None
    text = scene_text_with_mirror(text, entry, str(scene_path))
    parse_scene_spec(text, source=out_path, base_dir=scene_path.parent)
    with atomic_path(out_path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return out_path
