"""Rig objects: parts of the rig that move on a schedule and carry keypoints (a joystick, a lever, a bar).

A scene file lists them under ``rig.objects`` (:class:`~synthmouse.scene.spec.RigObjectSpec`);
:func:`build_objects` turns them into :class:`RigObject` runtime data: the mesh at rest in world coordinates
(uploaded once by a renderer), the object's rest frame, its keypoints in that frame and its motion. Where the
object is at a time is a pure function of that time (:func:`motion_offset`, :meth:`RigObject.at`); a frame's
scene holds its objects already moved (:func:`synthmouse.scene.draw.place_objects`), and a renderer draws
each with :meth:`RigObject.model_matrix` and labels :meth:`RigObject.keypoints_world`.

Offsets act in the object's own frame: ``world = rest @ T(translation) @ T(pivot) @ R @ T(-pivot)``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from ..errors import SceneError
from .frozen import freeze_arrays
from .rigs import RigMesh, load_mesh, material_key, rig_mesh
from .spec import MeshSpec, OscillateMotion, RigObjectSpec, ScheduleMotion

SPHERE_SUBDIVISIONS = 3
CYLINDER_SECTIONS = 32


@dataclass(frozen=True, eq=False)
class RigObject:
    """One moving rig object, at one time.

    Attributes:
        name: the object's name.
        mesh: its surface at rest, world metres (a renderer uploads it once and moves it by
            :meth:`model_matrix`).
        rest: ``(4, 4)`` object-to-world transform at rest (``position``, ``rotation_deg``).
        keypoint_names: names of its keypoints, as written.
        keypoints: ``(K, 3)`` keypoints in the object's frame, metres.
        motion: the validated motion spec (static, schedule or oscillate).
        transform: ``(4, 4)`` object-to-world transform now (:meth:`at` sets it; ``rest`` when None).
    """

    name: str
    mesh: RigMesh
    rest: np.ndarray
    keypoint_names: tuple[str, ...]
    keypoints: np.ndarray
    motion: object
    transform: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.transform is None:
            object.__setattr__(self, "transform", self.rest)
        object.__setattr__(self, "keypoint_names", tuple(self.keypoint_names))
        freeze_arrays(self, "rest", "keypoints", "transform")

    def pose_at(self, time_s: float) -> np.ndarray:
        """``(4, 4)`` object-to-world transform at ``time_s`` seconds."""
        return np.asarray(self.rest, np.float64) @ motion_offset(self.motion, time_s)

    def at(self, time_s: float) -> RigObject:
        """This object moved to where it is at ``time_s`` seconds (the same mesh object)."""
        return dataclasses.replace(self, transform=self.pose_at(time_s))

    def model_matrix(self) -> np.ndarray:
        """``(4, 4)`` world-to-world transform from the rest mesh to where the object is now."""
        return np.asarray(self.transform, np.float64) @ np.linalg.inv(np.asarray(self.rest, np.float64))

    def keypoints_world(self) -> np.ndarray:
        """``(K, 3)`` keypoints in world metres, where the object is now."""
        return transform_points(self.transform, self.keypoints)

    @property
    def moves(self) -> bool:
        """False for a static object."""
        return isinstance(self.motion, (ScheduleMotion, OscillateMotion))


# ---------------------------------------------------------------------------------------------- pose maths
def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(N, 3)`` points mapped by a ``(4, 4)`` transform (float64)."""
    m = np.asarray(matrix, np.float64)
    p = np.asarray(points, np.float64).reshape(-1, 3)
    return p @ m[:3, :3].T + m[:3, 3]


def rigid(translation, rotation: np.ndarray, pivot) -> np.ndarray:
    """``(4, 4)`` ``T(translation) @ T(pivot) @ R @ T(-pivot)``."""
    pivot = np.asarray(pivot, np.float64)
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = np.asarray(translation, np.float64) + pivot - rotation @ pivot
    return out


def rest_transform(position, rotation_deg) -> np.ndarray:
    """``(4, 4)`` object-to-world transform from a position and x, y, z extrinsic Euler degrees."""
    out = np.eye(4)
    out[:3, :3] = Rotation.from_euler("xyz", rotation_deg, degrees=True).as_matrix()
    out[:3, 3] = position
    return out


def motion_offset(motion, time_s: float) -> np.ndarray:
    """``(4, 4)`` offset of an object from its rest frame at ``time_s`` seconds, in its own frame (identity
    for a static object)."""
    if isinstance(motion, ScheduleMotion):
        return schedule_offset(motion, time_s)
    if isinstance(motion, OscillateMotion):
        return oscillate_offset(motion, time_s)
    return np.eye(4)


def schedule_time(motion: ScheduleMotion, time_s: float) -> float:
    """The time ``time_s`` falls on in the schedule: wrapped into the keyframes' span when it repeats."""
    first, last = motion.keyframes[0].time, motion.keyframes[-1].time
    if motion.repeat and last > first and time_s > last:
        return first + math.fmod(time_s - first, last - first)
    return float(time_s)


def schedule_offset(motion: ScheduleMotion, time_s: float) -> np.ndarray:
    """The keyframed offset at ``time_s``: translation and Euler angles interpolated between the keyframes
    around it (``linear``, or ``smooth``: smoothstep easing), held before the first and after the last."""
    t = schedule_time(motion, time_s)
    frames = motion.keyframes
    times = np.array([k.time for k in frames])
    if t <= times[0] or len(frames) == 1:
        key = frames[0]
        return rigid(key.translation, euler(key.rotation_deg), motion.pivot)
    if t >= times[-1]:
        key = frames[-1]
        return rigid(key.translation, euler(key.rotation_deg), motion.pivot)
    i = int(np.searchsorted(times, t, side="right")) - 1
    u = (t - times[i]) / (times[i + 1] - times[i])
    if motion.interpolation == "smooth":
        u = u * u * (3.0 - 2.0 * u)
    a, b = frames[i], frames[i + 1]
    translation = (1 - u) * np.asarray(a.translation) + u * np.asarray(b.translation)
    angles = (1 - u) * np.asarray(a.rotation_deg) + u * np.asarray(b.rotation_deg)
    return rigid(translation, euler(angles), motion.pivot)


def oscillate_offset(motion: OscillateMotion, time_s: float) -> np.ndarray:
    """The sine offset at ``time_s``: ``s = sin(2 pi t / period + phase)``; translation ``s * amplitude``
    along the axis, rotation ``s * amplitude_deg`` about it through the pivot."""
    axis = np.asarray(motion.axis, np.float64)
    axis = axis / np.linalg.norm(axis)
    s = math.sin(2.0 * math.pi * time_s / motion.period + math.radians(motion.phase_deg))
    rotation = Rotation.from_rotvec(axis * math.radians(motion.amplitude_deg) * s).as_matrix()
    return rigid(axis * motion.amplitude * s, rotation, motion.pivot)


def euler(angles_deg) -> np.ndarray:
    """``(3, 3)`` rotation of x, y, z extrinsic Euler degrees."""
    return Rotation.from_euler("xyz", np.asarray(angles_deg, np.float64), degrees=True).as_matrix()


def reach(obj: RigObject) -> float:
    """Metres from the rest frame's origin that the object's surface or keypoints can reach while it moves
    (a bound: its largest radius about the origin plus its largest translation, rotations about a pivot
    included)."""
    local = transform_points(np.linalg.inv(np.asarray(obj.rest, np.float64)), obj.mesh.vertices)
    points = np.concatenate([local, np.asarray(obj.keypoints, np.float64).reshape(-1, 3)])
    radius = float(np.linalg.norm(points, axis=1).max(initial=0.0))
    motion = obj.motion
    if isinstance(motion, ScheduleMotion):
        pivot = float(np.linalg.norm(motion.pivot))
        shift = max(float(np.linalg.norm(k.translation)) for k in motion.keyframes)
        return radius + 2 * pivot + shift
    if isinstance(motion, OscillateMotion):
        return radius + 2 * float(np.linalg.norm(motion.pivot)) + motion.amplitude
    return radius


def reach_bounds(objects) -> np.ndarray | None:
    """``(2, 3)`` box holding every object wherever it moves (:func:`reach`), or None without objects."""
    boxes = []
    for obj in objects:
        centre, r = np.asarray(obj.rest, np.float64)[:3, 3], reach(obj)
        boxes += [centre - r, centre + r]
    return np.stack([np.min(boxes, axis=0), np.max(boxes, axis=0)]) if boxes else None


# ---------------------------------------------------------------------------------------------- building
def build_objects(specs: list[RigObjectSpec], body_keypoints: tuple[str, ...] = ()) -> tuple[RigObject, ...]:
    """The runtime objects of ``rig.objects``.

    Raises:
        SceneError: an object keypoint named like a body keypoint, or an unreadable mesh file (naming the
            field ``rig.objects[i]...``).
    """
    taken = set(body_keypoints)
    out = []
    for i, spec in enumerate(specs):
        clash = sorted(taken & set(spec.keypoints))
        if clash:
            raise SceneError(
                f"rig.objects[{i}].keypoints: {', '.join(clash)} is already a body keypoint; allowed: names "
                "the body's keypoint set does not use"
            )
        out.append(build_object(spec, i))
    return tuple(out)


def build_object(spec: RigObjectSpec, index: int) -> RigObject:
    """One :class:`RigObject` from its spec (``index``: its place in ``rig.objects``)."""
    rest = rest_transform(spec.position, spec.rotation_deg)
    names = tuple(spec.keypoints)
    keypoints = np.array([spec.keypoints[n] for n in names], np.float64).reshape(-1, 3)
    return RigObject(spec.name, object_mesh(spec, index, rest), rest, names, keypoints, spec.motion)


def object_mesh(spec: RigObjectSpec, index: int, rest: np.ndarray) -> RigMesh:
    """The object's surface at rest in world metres: a primitive centred on its origin, or its mesh file."""
    field = f"objects[{index}]"
    material = material_key(f"{field}.material", spec.material)
    if spec.file is not None:
        mesh_spec = MeshSpec.model_construct(
            name=spec.name,
            file=spec.file,
            scale=spec.scale,
            position=tuple(spec.position),
            rotation_deg=tuple(spec.rotation_deg),
            material=spec.material,
            occluder=spec.occluder,
        )
        return dataclasses.replace(load_mesh(mesh_spec, field), material=material)
    mesh = primitive(spec)
    mesh.apply_transform(rest)
    return rig_mesh(spec.name, mesh, material, occluder=spec.occluder)


def primitive(spec: RigObjectSpec) -> trimesh.Trimesh:
    """The object's primitive in its own frame: a box of ``size``, a cylinder of ``radius`` and ``length``
    along z, or a sphere of ``radius``, centred on the origin."""
    if spec.shape == "box":
        return trimesh.creation.box(extents=spec.size)
    if spec.shape == "cylinder":
        return trimesh.creation.cylinder(radius=spec.radius, height=spec.length, sections=CYLINDER_SECTIONS)
    return trimesh.creation.icosphere(subdivisions=SPHERE_SUBDIVISIONS, radius=spec.radius)


def objects_at(objects: tuple[RigObject, ...], time_s: float) -> tuple[RigObject, ...]:
    """Every object where it is at ``time_s`` seconds (static ones unchanged)."""
    return tuple(obj.at(time_s) if obj.moves else obj for obj in objects)


def object_keypoint_names(objects) -> tuple[str, ...]:
    """The keypoint names of all objects, in order."""
    return tuple(n for obj in objects for n in obj.keypoint_names)


def object_keypoints(objects) -> np.ndarray:
    """``(K, 3)`` world keypoints of all objects where they are now, in :func:`object_keypoint_names` order."""
    points = [obj.keypoints_world() for obj in objects]
    return np.concatenate(points) if points else np.zeros((0, 3))


__all__ = [
    "RigObject",
    "build_object",
    "build_objects",
    "motion_offset",
    "object_keypoint_names",
    "object_keypoints",
    "objects_at",
    "oscillate_offset",
    "reach_bounds",
    "schedule_offset",
]
