"""Build the runtime :class:`Scene` (body, rig meshes, cameras, mirrors, lights, materials) from a
:class:`~synthmouse.scene.spec.SceneSpec`.

The Scene is plain, immutable data (as in Kubric): a frozen dataclass with tuples, read-only mappings and
read-only arrays, so renderers may cache on it; :func:`dataclasses.replace` makes a changed copy. Its
:class:`~synthmouse.motion.base.Stage` (support, arena, head bar, lick spout) is derived from the rig here
(:func:`rig_stage`), the one place that decides which rigs hold the mouse's head.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from ..body import Body, KeypointSet, Pose, load_body
from ..body.groups import PARTS
from ..body.tongue import TIP_LANDMARK, tongue_vertices
from ..errors import KeypointError, ModelFormatError, SceneError
from ..motion.base import Arena, HeadFixed, Stage, Support
from ..motion.behaviours import default_lick_target
from ..motion.mix import MotionMixSpec
from ..motion.rig import motion_rig
from .calibration import load_cameras
from .camera import Camera
from .frozen import freeze_arrays, frozen_array, frozen_mapping
from .materials import (
    MATERIAL_PRESETS,
    FurPreset,
    Light,
    Material,
    default_lights,
    fur_preset,
    parse_colour,
)
from .mirror import Mirror, mirror_names
from .objects import RigObject, build_objects, object_keypoint_names
from .randomization import RandomizationSpec
from .rigs import (
    TREAD_TEXTURE_MATERIAL,
    Anchors,
    RigMesh,
    body_placement,
    build_rig,
    floor_region,
    material_key,
)
from .spec import (
    IMAGE_SIZE_PX,
    CameraSpec,
    LightSpec,
    MaterialSpec,
    RigSpec,
    SceneSpec,
    load_scene_spec,
    material_refs,
    motion_mix,
)

SKIN_PARTS = ("tail", "ear_l", "ear_r", "forepaw_l", "forepaw_r", "hindpaw_l", "hindpaw_r")
HEAD_PARTS = ("head", "ear_l", "ear_r")
EYE_RADIUS_REL = 0.022  # eye radius as a fraction of the body length (2 mm for a 9.5 cm mouse)
ARENA_MARGIN_M = 0.05  # how far a free mouse's root keeps from the walls of the rig's floor region (at most)


@dataclass(frozen=True, eq=False)
class SceneMirror:
    """A mirror of the scene: the geometric :class:`~synthmouse.scene.mirror.Mirror` and how it looks.

    Attributes:
        mirror: the plane, normal (towards the reflective side) and polygon.
        suffix: appended to keypoint names seen in this mirror.
        reflectance: fraction of light reflected (the rest shows the mirror's dark backing).
        tint: ``(3,) float32`` sRGB colour multiplying the reflection.
    """

    mirror: Mirror
    suffix: str
    reflectance: float = 0.9
    tint: np.ndarray = field(default_factory=lambda: np.ones(3, np.float32))

    def __post_init__(self) -> None:
        freeze_arrays(self, "tint")

    @property
    def name(self) -> str:
        return self.mirror.name

    def keypoint_names(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return mirror_names(names, self.suffix)


@dataclass(frozen=True, eq=False)
class Scene:
    """Everything a renderer needs, built from a scene file (immutable: see the module docstring).

    Attributes:
        spec: the validated scene file.
        body: the mouse.
        keypoint_set: the keypoints to label.
        body_root: ``(4, 4)`` default body-to-world transform the rig expects (on the floor at the origin; on
            top of the wheel, centred over its axle). Poses from motion generators are composed with it.
        body_colours: ``(V, 3) float32`` sRGB colour per body vertex (fur, belly, skin, eyes).
        body_material: roughness/specular of the coat (its colour is per vertex).
        rig: static meshes in world coordinates.
        materials: every material the rig uses, by name (read-only).
        cameras: the cameras (output sizes applied).
        mirrors: planar mirrors.
        lights: light sources.
        background: ``(3,) float32`` sRGB colour where nothing is hit.
        floor_region: ``(x_min, x_max, y_min, y_max)`` where a free mouse may walk, or None (head-fixed).
        stage: where the mouse moves, derived from the rig (:func:`rig_stage`): support surface, arena, head
            fixation and lick spout, in the rig's coordinates (before :attr:`body_root`).
        motion: the scene's motion mix (inline, or read from its file), or None for the rig's default mix
            (:func:`synthmouse.scene.motion_binding.scene_motion` binds it to the body and the stage).
        randomization: the randomization ranges (the draws are applied per frame by the renderer and the
            dataset source).
        appearance: camera name -> appearance profile file (``profile.yaml``) for the cameras that have one
            (read-only); the dataset source loads and applies them (:mod:`synthmouse.appearance`).
        body_fur_weight: ``(V,) float32`` share of the fur colour in each of ``body_colours`` (1 on the back,
            less on the belly, 0 on bare skin and eyes), for ``body.fur_albedo_scale``; None: scale all.
        body_fur: ``(3,) float32`` sRGB fur colour that ``body_fur_weight`` refers to.
        body_extent: ``(2, 3)`` bounding box of the placed rest body, which renderers size their depth range
            and shadow maps by; :func:`reshape_scene` keeps it, so that every body shape of a scene renders
            with the same projections whichever was uploaded first (shards stay byte-identical). None: the
            renderer measures the body.
        objects: the rig's moving objects (:class:`~synthmouse.scene.objects.RigObject`), where they are in this
            scene (a frame's scene holds them moved: :func:`synthmouse.scene.draw.place_objects`); their
            keypoints are labelled after the body's (:attr:`label_names`).
    """

    spec: SceneSpec
    body: Body
    keypoint_set: KeypointSet
    body_root: np.ndarray
    body_colours: np.ndarray
    body_material: Material
    rig: tuple[RigMesh, ...]
    materials: Mapping[str, Material]
    cameras: tuple[Camera, ...]
    mirrors: tuple[SceneMirror, ...]
    lights: tuple[Light, ...]
    background: np.ndarray
    floor_region: tuple[float, float, float, float] | None = None
    stage: Stage = field(default_factory=Stage)
    motion: MotionMixSpec | None = None
    randomization: RandomizationSpec = field(default_factory=RandomizationSpec)
    appearance: Mapping[str, Path] = field(default_factory=dict)
    body_fur_weight: np.ndarray | None = None
    body_fur: np.ndarray | None = None
    body_extent: np.ndarray | None = None
    objects: tuple[RigObject, ...] = ()

    def __post_init__(self) -> None:
        for name in ("rig", "cameras", "mirrors", "lights", "objects"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in ("materials", "appearance"):
            object.__setattr__(self, name, frozen_mapping(getattr(self, name)))
        for name in ("body_root", "body_colours", "background", "body_fur_weight", "body_fur", "body_extent"):
            object.__setattr__(self, name, frozen_array(getattr(self, name)))

    @property
    def keypoint_names(self) -> tuple[str, ...]:
        return self.keypoint_set.names

    @property
    def rig_keypoint_names(self) -> tuple[str, ...]:
        """The keypoints of the rig's objects, in object order."""
        return object_keypoint_names(self.objects)

    @property
    def label_names(self) -> tuple[str, ...]:
        """Every labelled keypoint: the body's, then the rig objects'."""
        return tuple(self.keypoint_set.names) + self.rig_keypoint_names

    def camera(self, name: str) -> Camera:
        """The camera called ``name``."""
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise SceneError(f"no camera named {name!r}; cameras: {', '.join(c.name for c in self.cameras)}")

    def rest_pose(self, frames: int = 1) -> Pose:
        """The body's rest pose placed where the rig expects it (``body_root``)."""
        pose = self.body.rest_pose(frames)
        return Pose(np.broadcast_to(self.body_root, (frames, 4, 4)).copy(), pose.rotations)

    def place(self, pose: Pose) -> Pose:
        """``pose`` (root relative to the rig's body origin) composed with :attr:`body_root`."""
        return Pose(self.body_root @ pose.root, pose.rotations)

    def bounds(self) -> np.ndarray:
        """``(2, 3)`` bounding box of the rig and the placed rest body."""
        pts = [m.bounds for m in self.rig] + [self.body.skin(self.rest_pose())[0]]
        allp = np.concatenate([np.asarray(p).reshape(-1, 3) for p in pts])
        return np.stack([allp.min(0), allp.max(0)])


def load_scene(path: str | Path, body: Body | None = None) -> Scene:
    """Read, validate and build a scene file (see :func:`build_scene`)."""
    return build_scene(load_scene_spec(path), body=body)


def build_scene(spec: SceneSpec, body: Body | None = None) -> Scene:
    """Turn a validated spec into runtime objects.

    Args:
        spec: from :func:`~synthmouse.scene.spec.load_scene_spec`.
        body: an already loaded body to use instead of ``spec.body.model`` (its size and shape options are
            then ignored); saves loading time when many scenes share one body.

    Raises:
        SceneError: naming the file, line and field (a body that fails to load, an unknown keypoint, a camera
            missing from its calibration file, an unreadable mesh ...).
    """
    body = body if body is not None else load_scene_body(spec)
    kset = resolve_keypoints(spec, body)
    rest = body.skin(body.rest_pose())[0]
    parts = body.vertex_parts()
    feet = np.isin(parts, [PARTS.index(p) for p in ("forepaw_l", "forepaw_r", "hindpaw_l", "hindpaw_r")])
    root = body_placement(spec.rig, rest, feet if feet.any() else None)
    root = apply_body_override(spec, root)
    region = floor_region(spec.rig)
    stage = rig_stage(spec.rig, region, body)
    anchors = head_fixed_anchors(body, stage) if stage.head_fixed is not None else body_anchors(body, root, rest, parts)
    try:
        rig = build_rig(spec.rig, anchors)
    except SceneError as exc:
        raise spec.error("rig", str(exc)) from None
    try:
        objects = build_objects(spec.rig.objects, tuple(kset.names))
    except SceneError as exc:
        raise spec.error("rig.objects", str(exc)) from None
    preset = fur_preset(spec.body.fur, spec.body.fur_colour)
    colours, fur_weight = body_colour_layers(body, preset, rest, parts)
    lights = [build_light(light) for light in spec.lights] if spec.lights is not None else default_lights()
    check_light_randomization(spec, lights)
    return Scene(
        spec=spec,
        body=body,
        keypoint_set=kset,
        body_root=root,
        body_colours=colours,
        body_material=Material("fur", preset.fur, roughness=preset.roughness, specular=preset.specular),
        rig=rig,
        materials=resolve_materials(spec),
        cameras=[build_camera(spec, i) for i in range(len(spec.cameras))],
        mirrors=[build_mirror(spec, i) for i in range(len(spec.mirrors))],
        lights=lights,
        background=np.asarray(spec.background, dtype=np.float32),
        floor_region=region,
        stage=stage,
        motion=motion_mix(spec),
        randomization=spec.randomization,
        appearance=appearance_by_camera(spec),
        body_fur_weight=fur_weight,
        body_fur=np.asarray(preset.fur, np.float32),
        body_extent=placed_extent(body, root),
        objects=objects,
    )


def placed_extent(body: Body, root: np.ndarray) -> np.ndarray:
    """``(2, 3)`` min and max corner of ``body``'s rest pose placed at ``root``."""
    placed = body.skin(Pose(root[None], body.rest_pose().rotations))[0]
    return np.stack([placed.min(0), placed.max(0)])


def appearance_by_camera(spec: SceneSpec) -> dict[str, Path]:
    """``spec.appearance`` as camera name -> profile file (a single profile belongs to the only camera)."""
    if spec.appearance is None:
        return {}
    if isinstance(spec.appearance, Path):
        return {spec.cameras[0].name: spec.appearance}
    return dict(spec.appearance)


def check_light_randomization(spec: SceneSpec, lights: list[Light]) -> None:
    """Light direction randomization needs a key light (a directional or spot light) to turn."""
    rnd = spec.randomization.light
    if (rnd.azimuth_deg is not None or rnd.elevation_deg is not None) and not any(
        light.kind in ("directional", "spot") for light in lights
    ):
        raise spec.error(
            "randomization.light",
            "azimuth_deg / elevation_deg turn the key light (the first directional or spot light), but the "
            "scene has none; add one under lights: or remove them",
        )


# ---------------------------------------------------------------------------------------------- body shape
def reshape_scene(scene: Scene, length_scale: float = 1.0, girth_scale: float = 1.0) -> Scene:
    """``scene`` with its parametric mouse rebuilt ``length_scale`` times longer (nose to tail root; a
    uniform scale about the body origin on the floor, so standing feet stay on it) and ``girth_scale`` times
    wider and higher across the trunk (about 15 ms once the canonical mesh is cached).

    Everything else (rig, lights, cameras, ``body_root``, materials) is the same object, so a renderer only
    re-uploads the mouse. Poses of the original body apply unchanged (same skeleton topology).

    Raises:
        SceneError: the body is not the parametric mouse, or the shape leaves its allowed ranges.
    """
    if length_scale == 1.0 and girth_scale == 1.0:
        return scene
    spec = scene.spec
    if spec.body.model != "parametric" or not scene.body.name.startswith("parametric"):
        raise spec.error("randomization.body", f"body {scene.body.name!r} is not the parametric mouse")
    options = reshaped_options(spec, scene.body, length_scale, girth_scale)
    try:
        body = load_body("parametric", **options)
    except ModelFormatError as exc:
        raise spec.error("randomization.body", str(exc)) from None
    rest = body.skin(body.rest_pose())[0]
    parts = body.vertex_parts()
    colours, fur_weight = body_colour_layers(body, fur_preset(spec.body.fur, spec.body.fur_colour), rest, parts)
    return dataclasses.replace(
        scene,
        body=body,
        keypoint_set=resolve_keypoints(spec, body),
        body_colours=colours,
        body_fur_weight=fur_weight,
    )


def reshaped_options(spec: SceneSpec, body: Body, length_scale: float, girth_scale: float) -> dict[str, float]:
    """Parametric shape options of ``body`` (length and ``body.shape``) with the two scales applied."""
    options: dict[str, Any] = {k: v for k, v in spec.body.shape.items() if k not in ("length", "body_length")}
    options["body_length"] = float(body.length) * float(length_scale)
    options["girth_scale"] = float(spec.body.shape.get("girth_scale", 1.0)) * float(girth_scale)
    return options


# ---------------------------------------------------------------------------------------------- body
def load_scene_body(spec: SceneSpec) -> Body:
    """Load ``spec.body.model`` with its size and shape options."""
    b = spec.body
    options: dict[str, Any] = dict(b.shape)
    if b.length is not None:
        options["length"] = b.length
    try:
        body = load_body(b.model, **options)
        if b.scale is not None:
            body = load_body(b.model, **{**options, "length": b.scale * body.length})
    except ModuleNotFoundError as exc:
        raise spec.error("body.model", f"model {b.model!r} is not available in this installation ({exc})") from None
    except TypeError as exc:
        raise spec.error(
            "body.shape", f"model {b.model!r} does not accept these options {sorted(options)}: {exc}"
        ) from None
    except (ModelFormatError, KeypointError) as exc:
        raise spec.error("body.model", str(exc)) from None
    return body


def resolve_keypoints(spec: SceneSpec, body: Body) -> KeypointSet:
    """The keypoint set named (or the file given) in ``body.keypoints``, resolved on ``body``."""
    try:
        return body.keypoint_set(spec.body.keypoints)
    except KeypointError as exc:
        raise spec.error("body.keypoints", str(exc)) from None


def apply_body_override(spec: SceneSpec, root: np.ndarray) -> np.ndarray:
    """``root`` with ``body.position`` (replaces the translation) and ``body.heading_deg`` (about z)
    applied."""
    root = root.copy()
    if spec.body.heading_deg:
        root[:3, :3] = Rotation.from_euler("z", spec.body.heading_deg, degrees=True).as_matrix() @ root[:3, :3]
    if spec.body.position is not None:
        root[:3, 3] = spec.body.position
    return root


# ---------------------------------------------------------------------------------------------- stage
def holds_head(rig: RigSpec) -> bool:
    """The head-fixation rule: a wheel, or a treadmill with a head bar, holds the mouse's head."""
    return rig.type == "wheel" or (rig.type == "treadmill" and bool(getattr(rig, "headbar", False)))


def rig_support(rig: RigSpec) -> Support:
    """The surface the paws stand on: the wheel's rim (its top at ``z = 0``), a treadmill belt, else the floor."""
    if rig.type == "wheel":
        return Support("wheel", 0.0, float(rig.radius))
    if rig.type == "treadmill":
        return Support("treadmill")
    return Support()


def rig_arena(region: tuple[float, float, float, float] | None, support: Support) -> Arena:
    """The arena of a free mouse: the rig's floor region with a margin of at most :data:`ARENA_MARGIN_M` (a
    quarter of its width or depth when smaller), else the default arena."""
    if region is None or support.kind != "floor":
        return Arena()
    margin = min(ARENA_MARGIN_M, 0.25 * (region[1] - region[0]), 0.25 * (region[3] - region[2]))
    return Arena(region[0], region[1], region[2], region[3], margin)


def rig_stage(rig: RigSpec, region: tuple[float, float, float, float] | None, body: Body) -> Stage:
    """The :class:`~synthmouse.motion.base.Stage` of a rig for ``body``: its support, arena (from the floor
    ``region``), head fixation (:func:`holds_head`: the head bar at the standing posture's head on the support)
    and, for a held mouse with a tongue, the lick spout where the tongue reaches
    (:func:`~synthmouse.motion.behaviours.default_lick_target`)."""
    support = rig_support(rig)
    if not holds_head(rig):
        return Stage(support, rig_arena(region, support), None)
    spout = None
    if TIP_LANDMARK in body.landmarks:
        spout = tuple(default_lick_target(motion_rig(body)))
    return Stage(support, rig_arena(region, support), HeadFixed(None), spout)


def head_fixed_anchors(body: Body, stage: Stage) -> Anchors:
    """Anchors of the standing posture on a running surface at ``z = 0``: where head-fixed motion
    (:meth:`synthmouse.motion.base.Stage.head_bar`) holds the head, so the head bar sits on the skull and the
    lick spout at the stage's spout."""
    pose = motion_rig(body).standing.pose(1)
    anchors = body_anchors(
        body, pose.root[0], body.skin(Pose(np.eye(4)[None], pose.rotations))[0], body.vertex_parts(), pose
    )
    mouth = np.array(stage.spout) if stage.spout is not None else None
    return dataclasses.replace(anchors, mouth=mouth)


def body_anchors(
    body: Body, root: np.ndarray, rest: np.ndarray, parts: np.ndarray, pose: Pose | None = None
) -> Anchors:
    """Head top and nose of the body placed at ``root``, for the head bar and lick spout; ``rest`` are its
    vertices in the body frame (of ``pose``'s rotations when given, else of the rest pose)."""
    placed = rest @ root[:3, :3].T + root[:3, 3]
    head = np.isin(parts, [PARTS.index("head")])
    head_pts = placed[head] if head.any() else placed
    top = head_pts[np.argmax(head_pts[:, 2])]
    rotations = body.rest_pose().rotations if pose is None else pose.rotations
    nose_kp = body.keypoints(Pose(root[None], rotations), KeypointSet("anchors", (body.landmarks["nose"],)))[0, 0]
    skull_x = float(np.median(head_pts[:, 0]))
    head_top = np.array([skull_x, float(head_pts[:, 1].mean()), float(top[2])])
    return Anchors(head_top=head_top, nose=nose_kp, length=body.length)


TONGUE_COLOUR = np.array([0.86, 0.45, 0.50])  # sRGB, pink whatever the coat


def body_vertex_colours(body: Body, preset: FurPreset, rest: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """``(V, 3) float32`` sRGB colours: fur, a lighter belly (downward-facing trunk skin), bare skin on the
    tail, ears and paws, and dark (or red, for albinos) eyes around the eye landmarks."""
    return body_colour_layers(body, preset, rest, parts)[0]


def body_colour_layers(
    body: Body, preset: FurPreset, rest: np.ndarray, parts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`body_vertex_colours` and ``(V,) float32`` the share of ``preset.fur`` in each colour."""
    normals = vertex_normals(rest, body.mesh.faces)
    furred = ~np.isin(parts, [PARTS.index(p) for p in SKIN_PARTS])
    belly = np.clip((-normals[:, 2] - 0.2) / 0.5, 0.0, 1.0) * furred
    weight = (1.0 - belly) * furred
    colours = weight[:, None] * preset.fur + belly[:, None] * preset.belly
    colours[~furred] = preset.skin
    eye_names = [n for n in ("left_eye", "right_eye") if n in body.landmarks]
    if eye_names:
        eyes = body.keypoints(body.rest_pose(), KeypointSet("eyes", tuple(body.landmarks[n] for n in eye_names)))[0]
        radius = EYE_RADIUS_REL * body.length
        dist = np.linalg.norm(rest[:, None, :] - eyes[None, :, :], axis=-1).min(axis=1)
        eye = (dist < radius) & np.isin(parts, [PARTS.index(p) for p in HEAD_PARTS])
        colours[eye] = preset.eye
        weight[eye] = 0.0
    tongue = tongue_vertices(body)
    colours[tongue] = TONGUE_COLOUR
    weight[tongue] = 0.0
    return colours.astype(np.float32), weight.astype(np.float32)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``(V, 3) float32`` area-weighted unit vertex normals."""
    v = vertices.astype(np.float64)
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    out = np.zeros_like(v)
    for k in range(3):
        np.add.at(out, faces[:, k], fn)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.where(norm > 0, norm, 1.0)).astype(np.float32)


# ---------------------------------------------------------------------------------------------- materials
def resolve_materials(spec: SceneSpec) -> dict[str, Material]:
    """Presets, the scene's ``materials:`` and the rig's inline materials, by name."""
    materials = dict(MATERIAL_PRESETS)
    for name, mat in spec.materials.items():
        materials[name] = material_from_spec(name, mat)
    for path, ref in material_refs(spec):
        if isinstance(ref, MaterialSpec):
            key = material_key(path.removeprefix("rig."), ref)
            materials[key] = material_from_spec(key, ref)
    rig = spec.rig
    if rig.type == "wheel" and rig.tread == "texture":
        wheel = materials[material_key("wheel_material", rig.wheel_material)]
        materials[TREAD_TEXTURE_MATERIAL] = tread_texture_material(wheel, rig.tread_texture)
    return materials


def tread_texture_material(wheel: Material, texture: Path) -> Material:
    """The material of a ``tread: texture`` running surface: the wheel material's roughness and specular,
    the image in its own colours (white albedo), wrapped once around the wheel (tile size 1, see
    :func:`~synthmouse.scene.rigs.tread_band`)."""
    return dataclasses.replace(
        wheel,
        name=TREAD_TEXTURE_MATERIAL,
        colour=np.ones(3, np.float32),
        texture=Path(texture),
        tile_size=1.0,
        opacity=1.0,
        emission=np.zeros(3, np.float32),
    )


def material_from_spec(name: str, spec: MaterialSpec) -> Material:
    """A :class:`Material` from its spec: the ``base`` preset (default ``white_plastic``) with the given
    fields."""
    base = MATERIAL_PRESETS[spec.base or "white_plastic"]
    changes: dict[str, Any] = {"name": name}
    for key in ("texture", "tile_size", "roughness", "specular", "opacity"):
        if getattr(spec, key) is not None:
            changes[key] = getattr(spec, key)
    if spec.colour is not None:
        changes["colour"] = np.asarray(spec.colour, dtype=np.float32)
    elif spec.texture is not None and spec.base is None:
        changes["colour"] = np.ones(3, np.float32)  # a texture alone shows its own colours
    if spec.emission is not None:
        changes["emission"] = np.asarray(spec.emission, dtype=np.float32)
    return dataclasses.replace(base, **changes)


# ---------------------------------------------------------------------------------------------- cameras
def build_camera(spec: SceneSpec, index: int) -> Camera:
    """Camera ``index`` of the spec, with ``outputs.width/height`` applied."""
    cam_spec = spec.cameras[index]
    where = f"cameras[{index}]"
    try:
        camera = camera_from_spec(cam_spec)
    except SceneError as exc:
        raise spec.error(where, str(exc)) from None
    camera = resize_camera(spec, camera)
    if not all(IMAGE_SIZE_PX[0] <= n <= IMAGE_SIZE_PX[1] for n in (camera.width, camera.height)):
        raise spec.error(
            where,
            f"image size {camera.width}x{camera.height} px (after calibration and outputs "
            f"scaling); allowed {IMAGE_SIZE_PX[0]}..{IMAGE_SIZE_PX[1]} px per side",
        )
    return camera


def camera_from_spec(c: CameraSpec) -> Camera:
    """A :class:`Camera` from one camera entry (look_at, rotation + translation, or a calibration file)."""
    if c.calibration is not None:
        wanted = c.calibration_name or c.name
        cameras = load_cameras(c.calibration, unit=c.calibration_unit)
        found = [cam for cam in cameras if cam.name == wanted]
        if not found:
            raise SceneError(
                f"calibration: camera {wanted!r} is not in {c.calibration}; it has "
                f"{', '.join(cam.name for cam in cameras)} (set calibration_name)"
            )
        camera = dataclasses.replace(found[0], name=c.name, grayscale=c.grayscale)
        if c.width is not None or c.height is not None:
            factor = (c.width / camera.width) if c.width is not None else (c.height / camera.height)
            camera = camera.scaled(factor)
        return camera
    fx = c.fx
    if fx is None:
        fx = 0.5 * c.width / np.tan(np.radians(c.fov_deg) / 2)
    K = np.array(
        [
            [fx, 0.0, (c.width - 1) / 2 if c.cx is None else c.cx],
            [0.0, c.fy or fx, (c.height - 1) / 2 if c.cy is None else c.cy],
            [0.0, 0.0, 1.0],
        ]
    )
    dist = np.asarray(c.distortion, dtype=np.float64)
    if c.look_at is not None:
        la = c.look_at
        return Camera.look_at(
            c.name,
            la.eye,
            la.target,
            la.up,
            c.width,
            c.height,
            fx=K[0, 0],
            fy=K[1, 1],
            cx=K[0, 2],
            cy=K[1, 2],
            dist=dist,
            grayscale=c.grayscale,
        )
    if c.rotation.rvec is not None:
        R = Rotation.from_rotvec(c.rotation.rvec).as_matrix()
    else:
        R = np.asarray(c.rotation.matrix, dtype=np.float64)
    return Camera(c.name, c.width, c.height, K, dist, R, np.asarray(c.translation, dtype=np.float64), c.grayscale)


def resize_camera(spec: SceneSpec, camera: Camera) -> Camera:
    """``camera`` scaled to ``outputs.width``/``height`` (the other side keeps the aspect ratio)."""
    out = spec.outputs
    if out.width is None and out.height is None:
        return camera
    factor = out.width / camera.width if out.width is not None else out.height / camera.height
    scaled = camera.scaled(factor)
    if out.height is not None and scaled.height != out.height or out.width is not None and scaled.width != out.width:
        raise spec.error(
            "outputs",
            f"size {out.width}x{out.height} changes the aspect ratio of camera "
            f"{camera.name!r} ({camera.width}x{camera.height}); give only width or height",
        )
    return scaled


# ------------------------------------------------------------------------------------------ mirrors, lights
def build_mirror(spec: SceneSpec, index: int) -> SceneMirror:
    m = spec.mirrors[index]
    corners = np.asarray(m.corners, dtype=np.float64)
    try:
        mirror = Mirror(corners.mean(axis=0), m.unit_normal, _project_to_plane(corners, m.unit_normal), m.name)
    except SceneError as exc:
        raise spec.error(f"mirrors[{index}]", str(exc)) from None
    suffix = m.suffix if m.suffix is not None else f"_{m.name}"
    return SceneMirror(mirror, suffix, m.reflectance, np.asarray(m.tint, dtype=np.float32))


def _project_to_plane(corners: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Corners moved onto their best-fit plane (the spec allows 1 mm of slack; the Mirror needs exact)."""
    centre = corners.mean(axis=0)
    return corners - np.outer((corners - centre) @ normal, normal)


def build_light(light: LightSpec) -> Light:
    """A :class:`Light` from its spec (a directional light's ``direction`` becomes position -> target)."""
    target = np.asarray(light.target, dtype=np.float64)
    if light.direction is not None:
        d = np.asarray(light.direction, dtype=np.float64)
        position = target - d / np.linalg.norm(d)
    elif light.position is not None:
        position = np.asarray(light.position, dtype=np.float64)
    else:
        position = target + np.array([0.0, 0.0, 1.0])
    return Light(
        light.type,
        np.asarray(light.colour, dtype=np.float32),
        light.intensity,
        position,
        target,
        light.cone_deg,
        light.softness,
        light.shadows,
    )


__all__ = ["Scene", "SceneMirror", "build_scene", "load_scene", "parse_colour", "reshape_scene"]
