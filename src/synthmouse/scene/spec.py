"""The scene file (YAML): what the user wrote, validated with pydantic.

:func:`load_scene_spec` reads a file and returns a :class:`SceneSpec`; every problem becomes a
:class:`~synthmouse.errors.SceneError` that names the file, the line, the field path (``cameras[0].width``),
the bad value and what is allowed. Unknown keys are errors. Relative paths start at the scene file's folder
and may not leave it (write absolute paths, or list folders under ``external_folders``); every path is checked
for existence and kind (an image for a texture, a mesh file for a mesh ...). The file is read with
:func:`synthmouse.io.yamlio.compose_yaml` (UTF-8, no control characters, bounded nesting and alias expansion,
duplicate keys are errors); values have physical bounds (the constants below, listed in ``docs/scene.md``) and
booleans, numbers and non-finite floats are told apart (:class:`synthmouse.io.schema.StrictScalarsModel`).
:func:`synthmouse.scene.build.build_scene` turns the spec into runtime objects.

Units: metres and degrees (angles carry a ``_deg`` suffix); colours are sRGB (``"#rrggbb"``, a name, or
``[r, g, b]`` in 0..1).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from ..body.keypoint_sets import builtin_set_names
from ..body.parametric import MouseShape
from ..errors import SceneError
from ..io.schema import StrictScalarsModel
from ..io.validation import format_section_error, format_validation_error
from ..io.yamlio import compose_yaml, one_line, read_text
from ..motion.mix import MotionMixSpec, load_mix_spec
from .materials import FUR_PRESETS, MATERIAL_PRESETS, parse_colour
from .metadata import MetadataSpec
from .randomization import RandomizationSpec

PROFILE_FILE = "profile.yaml"  # the appearance profile's file name (synthmouse.appearance.profile)

BODY_MODELS = ("parametric", "sam")
KEYPOINT_FILE_SUFFIXES = (".yaml", ".yml")
GROUND_TRUTH = ("keypoints", "visibility", "keypoints3d", "depth", "mask", "parts")
PLANARITY_TOL_M = 1e-3


# ---------------------------------------------------------------------------------------------- bounds
# Physical bounds of the values a scene file gives (docs/scene.md lists them): outside them a dataset would be
# blank, one pixel large or numerically meaningless, so they are errors when the file is read.
COORDINATE_M = 100.0  # |x|, |y|, |z| of positions, targets, translations, mirror corners
LENGTH_M = (1e-4, 10.0)  # sizes of rig parts (0.1 mm .. 10 m)
MESH_SCALE = (1e-6, 1e3)  # metres per mesh-file unit (micrometres .. kilometres)
TILE_SIZE_M = (1e-4, 100.0)
IMAGE_SIZE_PX = (16, 8192)  # camera and output width and height
FOCAL_PX = (1.0, 1e6)  # fx, fy
FOV_DEG = (0.1, 170.0)  # horizontal field of view (fov_deg), and the fields of view fx and fy give
DISTORTION_MAX = 1000.0  # |k1|, |k2|, |p1|, |p2|, |k3|
ANGLE_DEG = 360.0  # |heading_deg|, |rotation_deg| components
RVEC_MAX_RAD = 10.0  # |rvec| components
LIGHT_INTENSITY = (0.0, 100.0)  # 1 lights a white surface facing the light to full white
BODY_SCALE = (0.1, 10.0)
SEED_MAX = 2**63 - 1

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MESH_SUFFIXES = (".stl", ".obj", ".ply", ".off", ".glb", ".gltf")
CALIBRATION_SUFFIXES = (".toml", ".yaml", ".yml", ".json", ".xml")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"II*\x00", b"MM\x00*")


def _range_text(lo: float, hi: float, unit: str, open_lo: bool = False) -> str:
    unit = f" {unit}" if unit else ""
    return f"{'(' if open_lo else ''}{lo:g}..{hi:g}{']' if open_lo else ''}{unit}"


def bounded(lo: float, hi: float, unit: str = "", open_lo: bool = False) -> Any:
    """A finite float type allowed in ``lo..hi`` (``(lo..hi]`` with ``open_lo``); the error names the value,
    the range and the unit."""

    def check(value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number; allowed {_range_text(lo, hi, unit, open_lo)}")
        if value < lo or value > hi or (open_lo and value == lo):
            shown = f"{value:g}" + (f" {unit}" if unit else "")
            raise ValueError(f"{shown} is outside the allowed range {_range_text(lo, hi, unit, open_lo)}")
        return value

    return Annotated[float, AfterValidator(check)]


# ---------------------------------------------------------------------------------------------- field types
def _colour(value) -> tuple[float, float, float]:
    return tuple(float(c) for c in parse_colour(value))


def resolve_path(value: str | Path, context: dict | None, kind: str = "any") -> Path:
    """``value`` made absolute against ``context["base_dir"]`` (the scene file's folder); it must exist and be
    of ``kind`` (:func:`check_path_kind`).

    A relative path from a scene file (a context with ``base_dir``) must stay inside the scene's folder (or one
    of ``context["external_folders"]``, the scene's ``external_folders``): ``../x`` leading out of it is an error
    that asks for the absolute path, so a scene file never reads files elsewhere without saying so. Absolute
    paths and ``~`` work anywhere; without a ``base_dir`` (a value set in code or from the command line)
    relative paths start at the working directory and may lead anywhere.
    """
    context = context or {}
    from_file = context.get("base_dir") is not None
    base = Path(os.path.abspath(context.get("base_dir") or "."))
    text = str(value)
    if not text.strip() or "\x00" in text:
        raise ValueError(f"{text!r} is not a path")
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path(os.path.normpath(base / path))
        folders = [base, *context.get("external_folders", ())]
        if from_file and not any(_inside(path, folder) for folder in folders):
            raise ValueError(
                f"{text!r} leads outside the scene's folder {base} (to {path}); write the absolute path "
                f"{path} if you mean that file, or list its folder under external_folders"
            )
    try:
        exists = path.exists()
    except OSError as exc:
        raise ValueError(f"{text!r} is not a usable path: {exc.strerror or exc}") from None
    if not exists:
        raise ValueError(f"file not found: {path} (relative paths start at the scene file's folder {base})")
    path = path.resolve()
    check_path_kind(path, kind)
    return path


def _inside(path: Path, folder: Path) -> bool:
    try:
        return os.path.commonpath([path, folder]) == str(folder)
    except ValueError:  # different drives
        return False


def check_path_kind(path: Path, kind: str) -> None:
    """Raise ``ValueError`` unless ``path`` is of ``kind``: ``image`` (a PNG, JPEG, BMP, TIFF or WebP file, by
    name and content), ``mesh`` (a mesh file by name: STL, OBJ, PLY, OFF, glTF), ``calibration`` (``.toml``,
    ``.yaml``, ``.yml``, ``.json``, ``.xml``), ``yaml`` (a ``.yaml``/``.yml`` file), ``file`` or ``any``."""
    if kind == "any":
        return
    if not path.is_file():
        raise ValueError(f"{path} is {'a folder' if path.is_dir() else 'not a regular file'}; expected a {kind} file")
    suffix = path.suffix.lower()
    allowed = {
        "image": IMAGE_SUFFIXES,
        "mesh": MESH_SUFFIXES,
        "calibration": CALIBRATION_SUFFIXES,
        "yaml": KEYPOINT_FILE_SUFFIXES,
    }.get(kind)
    if allowed is not None and suffix not in allowed:
        raise ValueError(f"{path} is not {_KIND_NAMES[kind]}; allowed file types: {', '.join(allowed)}")
    if kind == "image":
        try:
            with open(path, "rb") as handle:
                head = handle.read(16)
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
        if not (webp or any(head.startswith(magic) for magic in _IMAGE_MAGIC)):
            raise ValueError(
                f"{path} is named like an image but does not hold one (not a PNG, JPEG, BMP, TIFF or WebP file)"
            )


_KIND_NAMES = {"image": "an image", "mesh": "a mesh file", "calibration": "a calibration file", "yaml": "a YAML file"}


def _path_type(kind: str) -> Any:
    def check(value: Path, info: ValidationInfo) -> Path:
        return resolve_path(value, info.context, kind)

    return Annotated[Path, AfterValidator(check)]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    return value


Colour = Annotated[tuple[float, float, float], BeforeValidator(_colour)]
ExistingPath = _path_type("any")
ImagePath = _path_type("image")
MeshPath = _path_type("mesh")
CalibrationPath = _path_type("calibration")
Finite = Annotated[float, AfterValidator(_finite)]
Positive = Annotated[float, Field(gt=0), AfterValidator(_finite)]
NonNegative = Annotated[float, Field(ge=0), AfterValidator(_finite)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Coordinate = bounded(-COORDINATE_M, COORDINATE_M, "m")
Vec3 = tuple[Coordinate, Coordinate, Coordinate]
Length = bounded(*LENGTH_M, "m")
Size2 = tuple[Length, Length]
Angle = bounded(-ANGLE_DEG, ANGLE_DEG, "degrees")
ImageSize = Annotated[int, Field(ge=IMAGE_SIZE_PX[0], le=IMAGE_SIZE_PX[1])]


class StrictModel(StrictScalarsModel):
    """Base of every section: unknown keys are errors, values are validated on assignment too; booleans,
    numbers and non-finite floats are told apart (:class:`~synthmouse.io.schema.StrictScalarsModel`)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


# ---------------------------------------------------------------------------------------------- materials
class MaterialSpec(StrictModel):
    """A material written inline or under ``materials:``; unset fields come from ``base`` (a preset)."""

    base: str | None = None
    colour: Colour | None = None
    texture: ImagePath | None = None
    tile_size: bounded(*TILE_SIZE_M, "m") | None = None
    roughness: Fraction | None = None
    specular: Fraction | None = None
    opacity: Fraction | None = None
    emission: Colour | None = None


def _material_tag(value: Any) -> str:
    return "material_name" if isinstance(value, str) else "material_inline"


MaterialRef = Annotated[
    Annotated[str, Tag("material_name")] | Annotated[MaterialSpec, Tag("material_inline")],
    Discriminator(_material_tag),
]


# ---------------------------------------------------------------------------------------------- body
class BodySpec(StrictModel):
    """The mouse: model, keypoints, size, coat, placement."""

    model: str = "parametric"
    keypoints: str = "mouse22"
    length: Positive | None = None
    scale: bounded(*BODY_SCALE) | None = None
    shape: dict[str, float] = Field(default_factory=dict)
    fur: str = "black"
    fur_colour: Colour | None = None
    position: Vec3 | None = None
    heading_deg: Angle = 0.0

    @field_validator("model")
    @classmethod
    def _model(cls, value: str, info: ValidationInfo) -> str:
        if value in BODY_MODELS:
            return value
        try:
            path = resolve_path(value, info.context)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is neither a built-in model ({', '.join(BODY_MODELS)}) nor an existing SAM "
                f"folder or .gltf/.glb file: {exc}"
            ) from None
        if not (path.is_dir() or path.suffix.lower() in (".gltf", ".glb")):
            raise ValueError(f"{path} must be a SAM model folder or a .gltf/.glb file")
        return str(path)

    @field_validator("keypoints")
    @classmethod
    def _keypoints(cls, value: str, info: ValidationInfo) -> str:
        if looks_like_file(value):
            return str(resolve_path(value, info.context, "file"))
        if value not in builtin_set_names():
            raise ValueError(
                f"unknown keypoint set {value!r}; allowed: {', '.join(builtin_set_names())}, or a keypoint file (.yaml)"
            )
        return value

    @field_validator("fur")
    @classmethod
    def _fur(cls, value: str) -> str:
        if value not in FUR_PRESETS:
            raise ValueError(f"unknown fur preset {value!r}; allowed: {', '.join(FUR_PRESETS)}")
        return value

    @field_validator("length")
    @classmethod
    def _length(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and not 0.02 <= value <= 0.5:
            raise ValueError(f"length {value} m is not a nose-to-tail-root length; allowed 0.02..0.5 m")
        if value is not None and info.data.get("model") == "parametric":
            lo, hi = parametric_ranges()["body_length"]
            if not lo <= value <= hi:
                raise ValueError(
                    f"length {value} m is outside the parametric mouse's range; allowed {lo:g}..{hi:g} m "
                    "with model: parametric"
                )
        return value

    @field_validator("shape")
    @classmethod
    def _shape(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        if info.data.get("model") == "parametric":
            check_parametric_shape(value)
        return value

    @model_validator(mode="after")
    def _length_or_scale(self) -> BodySpec:
        if self.length is not None and self.scale is not None:
            raise ValueError("give either length (metres) or scale (relative to the model), not both")
        if self.model == "parametric":
            given = [k for k in PARAMETRIC_LENGTH_KEYS if k in self.shape]
            if self.length is not None and given:
                raise ValueError(f"length and shape.{given[0]} both set the parametric mouse's body length; give one")
            if self.scale is not None:
                length = self.scale * parametric_length(self.shape)
                lo, hi = parametric_ranges()["body_length"]
                if not lo <= length <= hi:
                    raise ValueError(
                        f"scale {self.scale:g} makes the parametric mouse {length:.4g} m long (nose to tail "
                        f"root); allowed lengths {lo:g}..{hi:g} m, i.e. scale {lo / length * self.scale:.3g}.."
                        f"{hi / length * self.scale:.3g}"
                    )
        return self


PARAMETRIC_LENGTH_KEYS = ("body_length", "length")  # body.shape keys that set the length (``length``: alias)


def parametric_ranges() -> dict[str, tuple[float, float]]:
    """Allowed value of each parametric shape option (:meth:`synthmouse.body.parametric.MouseShape.allowed`)."""
    return MouseShape.allowed()


def parametric_length(shape: dict[str, float]) -> float:
    """Body length (m) a parametric ``body.shape`` asks for (its ``body_length``/``length``, or the default)."""
    for key in PARAMETRIC_LENGTH_KEYS:
        if key in shape:
            return float(shape[key])
    return MouseShape().body_length


def check_parametric_shape(shape: dict[str, float]) -> None:
    """Raise ``ValueError`` naming the key, value and allowed range for a ``body.shape`` option the parametric
    mouse does not accept (unknown keys, both ``length`` and ``body_length``, values out of range)."""
    ranges = parametric_ranges()
    allowed = ", ".join([*ranges, "length"])
    for key, value in shape.items():
        name = "body_length" if key == "length" else key
        if name not in ranges:
            raise ValueError(f"unknown parametric shape option {key!r}; allowed: {allowed}")
        lo, hi = ranges[name]
        if not (math.isfinite(value) and lo <= value <= hi):
            unit = " m" if name.endswith("length") else ""
            raise ValueError(
                f"{key} = {value:g}{unit} is outside the parametric mouse's range; allowed {lo:g}..{hi:g}{unit}"
            )
    if all(k in shape for k in PARAMETRIC_LENGTH_KEYS):
        raise ValueError("give body_length or its alias length, not both")


def looks_like_file(value: str) -> bool:
    """True when a keypoint-set reference is a file path rather than a built-in name."""
    return "/" in value or "\\" in value or Path(value).suffix.lower() in KEYPOINT_FILE_SUFFIXES


# ---------------------------------------------------------------------------------------------- rigs
MeshScale = bounded(*MESH_SCALE, "m per file unit")


class MeshSpec(StrictModel):
    """A mesh file (STL, OBJ, PLY, glTF ... anything ``trimesh.load`` reads) placed in the scene.

    The file's coordinates are multiplied by ``scale`` (e.g. 0.001 for CAD in millimetres), rotated by
    ``rotation_deg`` (x, y, z Euler angles, extrinsic, degrees) and moved by ``position`` (metres).
    """

    name: str | None = None
    file: MeshPath
    scale: MeshScale | tuple[MeshScale, MeshScale, MeshScale] = 1.0
    position: Vec3 = (0.0, 0.0, 0.0)
    rotation_deg: tuple[Angle, Angle, Angle] = (0.0, 0.0, 0.0)
    material: MaterialRef = "white_plastic"
    occluder: bool = True


# ---------------------------------------------------------------------------------------------- rig objects
DURATION_S = (1e-3, 1e5)  # periods of oscillating objects
KEYFRAME_TIME_S = 1e5  # keyframe times (seconds from the start of the dataset)
OBJECT_SHAPES = ("box", "cylinder", "sphere")
OBJECT_MOTIONS = ("static", "schedule", "oscillate")
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]*$"  # object and object-keypoint names (label-table column names)
ObjectName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]


class StaticMotion(StrictModel):
    """The object stays where ``position`` and ``rotation_deg`` put it."""

    type: Literal["static"] = "static"


class KeyframeSpec(StrictModel):
    """The object's offset at ``time`` seconds: ``translation`` (metres) and ``rotation_deg`` (x, y, z Euler
    angles, extrinsic, degrees, about the motion's pivot), both in the object's own frame."""

    time: bounded(0.0, KEYFRAME_TIME_S, "s")
    translation: Vec3 = (0.0, 0.0, 0.0)
    rotation_deg: tuple[Angle, Angle, Angle] = (0.0, 0.0, 0.0)


class ScheduleMotion(StrictModel):
    """Keyframes of translation and rotation over time (frame ``i`` is at ``i / fps`` seconds); before the
    first keyframe the object holds the first, after the last the last (or, with ``repeat``, starts again)."""

    type: Literal["schedule"]
    keyframes: Annotated[list[KeyframeSpec], Field(min_length=1)]
    pivot: Vec3 = (0.0, 0.0, 0.0)
    interpolation: Literal["linear", "smooth"] = "linear"
    repeat: bool = False

    @field_validator("keyframes")
    @classmethod
    def _increasing(cls, value: list[KeyframeSpec]) -> list[KeyframeSpec]:
        times = [k.time for k in value]
        for i in range(1, len(times)):
            if times[i] <= times[i - 1]:
                raise ValueError(
                    f"keyframes[{i}].time {times[i]:g} s is not after keyframes[{i - 1}].time {times[i - 1]:g} s; "
                    "allowed: strictly increasing times"
                )
        return value


class OscillateMotion(StrictModel):
    """A sine about the rest pose: ``amplitude`` metres along ``axis`` and ``amplitude_deg`` degrees about
    ``axis`` through ``pivot`` (object frame), ``period`` seconds, starting at ``phase_deg``."""

    type: Literal["oscillate"]
    axis: Vec3 = (0.0, 0.0, 1.0)
    period: bounded(*DURATION_S, "s")
    amplitude: bounded(0.0, COORDINATE_M, "m") = 0.0
    amplitude_deg: bounded(0.0, ANGLE_DEG, "degrees") = 0.0
    phase_deg: Angle = 0.0
    pivot: Vec3 = (0.0, 0.0, 0.0)

    @model_validator(mode="after")
    def _moves(self) -> OscillateMotion:
        if float(np.linalg.norm(self.axis)) < 1e-9:
            raise ValueError(f"axis {list(self.axis)} has zero length; allowed: any non-zero vector")
        if self.amplitude == 0.0 and self.amplitude_deg == 0.0:
            raise ValueError("amplitude and amplitude_deg are both 0; allowed: at least one above 0 (or type static)")
        return self


def _object_motion_tag(value: Any) -> str:
    """An object motion's ``type`` (``static`` when left out)."""
    return type_tag(value) or "static"


def _motion_shorthand(value: Any) -> Any:
    """``motion: static`` is short for ``motion: {type: static}``."""
    return {"type": value} if isinstance(value, str) else value


ObjectMotionSpec = Annotated[
    Annotated[StaticMotion, Tag("static")]
    | Annotated[ScheduleMotion, Tag("schedule")]
    | Annotated[OscillateMotion, Tag("oscillate")],
    Discriminator(_object_motion_tag),
    BeforeValidator(_motion_shorthand),
]


class RigObjectSpec(StrictModel):
    """A part of the rig that moves (a joystick, a lever, an obstacle bar, a lick spout) and may carry
    keypoints.

    Its frame is placed in the world by ``position`` and ``rotation_deg`` (x, y, z Euler angles, extrinsic);
    its shape is a primitive centred on its origin (``box`` of ``size``; ``cylinder`` of ``radius`` and
    ``length`` along its z; ``sphere`` of ``radius``) or a mesh ``file`` (coordinates times ``scale``, in the
    object's frame). ``keypoints`` are ``{name: [x, y, z]}`` metres in the object's frame; they are labelled
    like body keypoints, under the names written. ``motion`` moves the object over time
    (:class:`StaticMotion`, :class:`ScheduleMotion`, :class:`OscillateMotion`).
    """

    name: ObjectName
    shape: Literal["box", "cylinder", "sphere"] | None = None
    size: tuple[Length, Length, Length] | None = None
    radius: Length | None = None
    length: Length | None = None
    file: MeshPath | None = None
    scale: MeshScale | tuple[MeshScale, MeshScale, MeshScale] = 1.0
    material: MaterialRef = "white_plastic"
    occluder: bool = True
    position: Vec3 = (0.0, 0.0, 0.0)
    rotation_deg: tuple[Angle, Angle, Angle] = (0.0, 0.0, 0.0)
    motion: ObjectMotionSpec = Field(default_factory=StaticMotion)
    keypoints: dict[ObjectName, Vec3] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _geometry(self) -> RigObjectSpec:
        if (self.shape is None) == (self.file is None):
            raise ValueError(
                f"object {self.name!r}: give either shape ({', '.join(OBJECT_SHAPES)}) or file (a mesh), not "
                f"{'both' if self.shape else 'neither'}"
            )
        needs = {"box": ("size",), "cylinder": ("radius", "length"), "sphere": ("radius",), None: ()}[self.shape]
        for key in ("size", "radius", "length"):
            given = getattr(self, key) is not None
            if key in needs and not given:
                raise ValueError(f"object {self.name!r}: shape {self.shape!r} needs {' and '.join(needs)}")
            if key not in needs and given:
                allowed = ", ".join(needs) if needs else "none (the mesh file gives the shape)"
                raise ValueError(
                    f"object {self.name!r}: {key} does not apply to {self.shape or 'file'}; allowed: {allowed}"
                )
        return self


class RigBase(StrictModel):
    meshes: list[MeshSpec] = Field(default_factory=list)
    objects: list[RigObjectSpec] = Field(default_factory=list)

    @field_validator("objects")
    @classmethod
    def _unique_objects(cls, value: list[RigObjectSpec]) -> list[RigObjectSpec]:
        _unique([o.name for o in value], "rig object")
        _unique([k for o in value for k in o.keypoints], "rig-object keypoint")
        return value

    @model_serializer(mode="wrap")
    def _omit_empty_objects(self, handler) -> Any:
        """A rig without objects dumps as before objects existed (the scene hash, which names a dataset, stays)."""
        data = handler(self)
        if isinstance(data, dict) and not self.objects:
            data.pop("objects", None)
        return data


class OpenFieldRig(RigBase):
    """A square or rectangular open-field box: floor at z = 0 centred on the origin, four walls."""

    type: Literal["openfield"]
    size: Size2 = (0.45, 0.45)
    wall_height: Length = 0.3
    wall_thickness: Length = 0.01
    floor_material: MaterialRef = "floor_white"
    wall_material: MaterialRef = "wall_white"
    table: bool = True


class WheelRig(RigBase):
    """A head-fixed mouse on a running wheel (axis along y; the mouse runs towards +x on top of it)."""

    type: Literal["wheel"]
    radius: Length = 0.09
    width: Length = 0.07
    tread: Literal["ridges", "smooth", "texture", "slats", "mesh"] = "ridges"
    ridges: Annotated[int, Field(ge=3, le=720)] = 72
    ridge_height: Length = 0.0012
    slats: Annotated[int, Field(ge=3, le=720)] = 60
    slat_gap: Length = 0.004
    slat_thickness: Length = 0.002
    sides: Literal["solid", "open", "spokes"] = "solid"
    spokes: Annotated[int, Field(ge=1, le=64)] = 6
    spoke_width: Length = 0.004
    tread_texture: ImagePath | None = None
    wheel_material: MaterialRef = "wheel_foam"
    axle: bool = True
    axle_radius: Length = 0.004
    headbar: bool = True
    headbar_material: MaterialRef = "steel"
    lick_spout: bool = True
    screens: Annotated[int, Field(ge=0, le=3)] = 1
    screen_distance: Length = 0.22
    screen_size: Size2 = (0.34, 0.2)
    screen_material: MaterialRef = "screen"
    table: bool = True

    @model_validator(mode="after")
    def _texture(self) -> WheelRig:
        if self.tread == "texture" and self.tread_texture is None:
            raise ValueError("tread 'texture' needs tread_texture (an image file)")
        if self.axle_radius >= self.radius:
            raise ValueError(
                f"axle_radius {self.axle_radius:g} m must be smaller than the wheel's radius {self.radius:g} m"
            )
        if self.ridge_height >= self.radius / 2:
            raise ValueError(
                f"ridge_height {self.ridge_height:g} m must be smaller than half the wheel's radius "
                f"({self.radius / 2:g} m)"
            )
        self._check_openings()
        return self

    def _check_openings(self) -> None:
        """Slats and mesh holes must leave material between them; spokes must fit inside the wheel."""
        if self.tread in ("slats", "mesh"):
            pitch = 2 * math.pi * self.radius / self.slats
            if self.slat_gap >= pitch:
                raise ValueError(
                    f"slat_gap {self.slat_gap:g} m leaves no tread: {self.slats} slats around a {self.radius:g} m "
                    f"wheel are {pitch:.4g} m apart (slat_gap below that, or fewer slats)"
                )
        if (self.tread in ("slats", "mesh") or self.sides != "solid") and self.slat_thickness >= self.radius / 2:
            raise ValueError(
                f"slat_thickness {self.slat_thickness:g} m must be smaller than half the wheel's radius "
                f"({self.radius / 2:g} m)"
            )
        if self.tread == "mesh" and self.slat_gap >= self.width:
            raise ValueError(
                f"slat_gap {self.slat_gap:g} m: a mesh hole must be narrower than the width {self.width:g} m"
            )
        hub = max(2.5 * self.axle_radius, self.spoke_width)  # the hub's radius (rigs.side_parts)
        inside = self.radius - self.slat_thickness - (self.ridge_height if self.tread == "ridges" else 0.0)
        if self.sides == "spokes" and hub >= inside:
            raise ValueError(
                f"spokes: the hub (radius max(2.5 axle_radius, spoke_width) = {hub:g} m) must fit inside the tread "
                f"({inside:g} m from the axle); make spoke_width or axle_radius smaller"
            )


class TreadmillRig(RigBase):
    """A linear treadmill: belt top at z = 0 along x, rollers at both ends, optional side walls."""

    type: Literal["treadmill"]
    length: Length = 0.32
    width: Length = 0.07
    roller_radius: Length = 0.02
    belt_material: MaterialRef = "rubber_belt"
    side_walls: bool = True
    wall_height: Length = 0.06
    wall_material: MaterialRef = "acrylic_clear"
    headbar: bool = False
    headbar_material: MaterialRef = "steel"
    table: bool = True

    @model_validator(mode="after")
    def _rollers(self) -> TreadmillRig:
        if 2 * self.roller_radius >= self.length:
            raise ValueError(
                f"roller_radius {self.roller_radius:g} m: the two rollers must fit in the belt's "
                f"length {self.length:g} m (roller_radius below {self.length / 2:g} m)"
            )
        return self


class PlatformRig(RigBase):
    """An elevated platform: top at z = 0, ``height`` above the room floor, on a central pedestal."""

    type: Literal["platform"]
    shape: Literal["box", "disc"] = "disc"
    size: Size2 = (0.12, 0.12)
    height: Length = 0.4
    thickness: Length = 0.015
    top_material: MaterialRef = "platform_grey"
    pedestal_material: MaterialRef = "aluminium"
    room_floor_material: MaterialRef = "floor_grey"

    @model_validator(mode="after")
    def _thickness(self) -> PlatformRig:
        if self.thickness >= self.height:
            raise ValueError(f"thickness {self.thickness:g} m must be smaller than the height {self.height:g} m")
        return self


class CustomRig(RigBase):
    """No built-in parts: only ``meshes`` (a lab's CAD model), plus an optional floor plane at z = 0."""

    type: Literal["none"]
    floor_material: MaterialRef | None = "floor_grey"
    floor_size: Size2 = (1.0, 1.0)


def type_tag(value: Any) -> Any:
    """The ``type`` of a tagged-union member as written (a mapping) or built (a model); None when absent."""
    return value.get("type") if isinstance(value, dict) else getattr(value, "type", None)


RigSpec = Annotated[
    Annotated[OpenFieldRig, Tag("openfield")]
    | Annotated[WheelRig, Tag("wheel")]
    | Annotated[TreadmillRig, Tag("treadmill")]
    | Annotated[PlatformRig, Tag("platform")]
    | Annotated[CustomRig, Tag("none")],
    Discriminator(type_tag),
]
RIG_TYPES = ("openfield", "wheel", "treadmill", "platform", "none")


# ---------------------------------------------------------------------------------------------- cameras
class LookAt(StrictModel):
    eye: Vec3
    target: Vec3
    up: Vec3 = (0.0, 0.0, 1.0)

    @model_validator(mode="after")
    def _distinct(self) -> LookAt:
        forward = np.subtract(self.target, self.eye)
        if np.linalg.norm(forward) < 1e-9:
            raise ValueError(f"eye and target are the same point {list(self.eye)}")
        if np.linalg.norm(self.up) < 1e-12:
            raise ValueError("up must not be the zero vector")
        return self


RvecComponent = bounded(-RVEC_MAX_RAD, RVEC_MAX_RAD, "rad")


class RotationSpec(StrictModel):
    """World-to-camera rotation (OpenCV): a Rodrigues vector ``rvec`` (radians) or a 3 x 3 ``matrix``."""

    rvec: tuple[RvecComponent, RvecComponent, RvecComponent] | None = None
    matrix: tuple[Vec3, Vec3, Vec3] | None = None

    @model_validator(mode="after")
    def _one(self) -> RotationSpec:
        if (self.rvec is None) == (self.matrix is None):
            raise ValueError("give exactly one of rvec (Rodrigues vector, radians) or matrix (3 x 3)")
        if self.matrix is not None:
            m = np.asarray(self.matrix)
            err = np.abs(m @ m.T - np.eye(3)).max()
            if err > 1e-6 or np.linalg.det(m) < 0:
                raise ValueError(
                    f"matrix {m.tolist()} is not a rotation (needs R R^T = I, det R = +1; off by {err:.2g})"
                )
        return self


def _distortion(value) -> tuple[float, float, float, float, float]:
    names = ("k1", "k2", "p1", "p2", "k3")
    if isinstance(value, dict):
        unknown = sorted(str(k) for k in set(value) - set(names))
        if unknown:
            raise ValueError(f"unknown distortion coefficient(s) {unknown}; allowed: {', '.join(names)}")
        value = [value.get(n, 0.0) for n in names]
    if not isinstance(value, (list, tuple)) or len(value) not in (4, 5):
        n = len(value) if isinstance(value, (list, tuple)) else type(value).__name__
        raise ValueError(f"distortion must be 5 numbers [k1, k2, p1, p2, k3] (or 4), got {n}: {value!r}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise ValueError(f"distortion {value!r}: every coefficient must be a number")
    out = [float(v) for v in value] + [0.0] * (5 - len(value))
    if not all(math.isfinite(v) and abs(v) <= DISTORTION_MAX for v in out):
        raise ValueError(
            f"distortion {value!r}: coefficients must be finite, within -{DISTORTION_MAX:g}..{DISTORTION_MAX:g}"
        )
    return tuple(out)


FocalLength = bounded(*FOCAL_PX, "px")


class CameraSpec(StrictModel):
    """One camera: intrinsics, distortion, size and a pose from exactly one of ``look_at``,
    ``rotation`` + ``translation``, or ``calibration`` (a calibration file and the camera's name in it)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100)]
    width: ImageSize | None = None
    height: ImageSize | None = None
    fx: FocalLength | None = None
    fy: FocalLength | None = None
    cx: Finite | None = None
    cy: Finite | None = None
    fov_deg: bounded(*FOV_DEG, "degrees") | None = None
    distortion: Annotated[tuple[float, float, float, float, float], BeforeValidator(_distortion)] = (0.0,) * 5
    look_at: LookAt | None = None
    rotation: RotationSpec | None = None
    translation: Vec3 | None = None
    calibration: CalibrationPath | None = None
    calibration_name: str | None = None
    calibration_unit: Literal["m", "cm", "mm"] = "m"
    grayscale: bool = False

    @model_validator(mode="after")
    def _pose(self) -> CameraSpec:
        sources = [
            s
            for s, given in (
                ("look_at", self.look_at is not None),
                ("rotation", self.rotation is not None or self.translation is not None),
                ("calibration", self.calibration is not None),
            )
            if given
        ]
        if len(sources) != 1:
            raise ValueError(
                f"camera {self.name!r}: the pose needs exactly one of look_at {{eye, target, up}}, "
                f"rotation {{rvec | matrix}} + translation, or calibration (a file); got "
                f"{', '.join(sources) if sources else 'none'}"
            )
        if sources == ["rotation"] and (self.rotation is None or self.translation is None):
            raise ValueError(f"camera {self.name!r}: rotation and translation must be given together")
        if sources == ["calibration"]:
            given = [f for f in ("fx", "fy", "cx", "cy", "fov_deg") if getattr(self, f) is not None]
            if given or any(self.distortion):
                raise ValueError(
                    f"camera {self.name!r}: intrinsics and distortion come from the calibration file; "
                    f"remove {', '.join(given) or 'distortion'}"
                )
        else:
            if self.width is None or self.height is None:
                raise ValueError(f"camera {self.name!r}: width and height are required (pixels)")
            if self.fx is None and self.fov_deg is None:
                raise ValueError(f"camera {self.name!r}: give the focal length fx (pixels) or fov_deg")
            if self.fx is not None and self.fov_deg is not None:
                raise ValueError(f"camera {self.name!r}: give fx or fov_deg, not both")
            self._check_intrinsics()
        return self

    def _check_intrinsics(self) -> None:
        """The principal point near the image and fields of view within :data:`FOV_DEG` (a focal length that
        is not a lens for this image size renders a blank or a one-pixel mouse)."""
        for axis, size, focal, centre in (
            ("x", self.width, self.fx, self.cx),
            ("y", self.height, self.fy or self.fx, self.cy),
        ):
            if focal is not None:
                fov = math.degrees(2 * math.atan(size / 2 / focal))
                if not FOV_DEG[0] <= fov <= FOV_DEG[1]:
                    key = "fx" if axis == "x" else ("fy" if self.fy is not None else "fx")
                    lo = size / 2 / math.tan(math.radians(FOV_DEG[1]) / 2)
                    hi = size / 2 / math.tan(math.radians(FOV_DEG[0]) / 2)
                    raise ValueError(
                        f"camera {self.name!r}: {key} {focal:g} px gives a {fov:.3g} degree field of view over "
                        f"{size} px; allowed fields of view {FOV_DEG[0]:g}..{FOV_DEG[1]:g} degrees, i.e. {key} "
                        f"{lo:.3g}..{hi:.3g} px"
                    )
            if centre is not None and not -size <= centre <= 2 * size:
                raise ValueError(
                    f"camera {self.name!r}: c{axis} {centre:g} px is far outside the image ({size} px); allowed "
                    f"{-size}..{2 * size} px"
                )


# ------------------------------------------------------------------------------------------ mirrors, lights
class MirrorSpec(StrictModel):
    """A planar, convex mirror polygon. Its reflective side is the one its ``normal`` points to (default: the
    side from which the corners run counter-clockwise)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$")]
    corners: Annotated[list[Vec3], Field(min_length=3, max_length=7)]
    normal: Vec3 | None = None
    suffix: Annotated[str, Field(max_length=100)] | None = None
    reflectance: Fraction = 0.9
    tint: Colour = (1.0, 1.0, 1.0)

    @model_validator(mode="after")
    def _planar_convex(self) -> MirrorSpec:
        pts = np.asarray(self.corners, dtype=np.float64)
        normal = polygon_normal(pts)
        if normal is None:
            raise ValueError(f"mirror {self.name!r}: the corners {pts.tolist()} do not span a plane")
        off = np.abs((pts - pts.mean(0)) @ normal).max()
        if off > PLANARITY_TOL_M:
            raise ValueError(
                f"mirror {self.name!r}: corners are not in one plane ({off * 1000:.1f} mm off; allowed "
                f"{PLANARITY_TOL_M * 1000:g} mm)"
            )
        if not polygon_is_convex(pts, normal):
            raise ValueError(f"mirror {self.name!r}: the corners must form a convex polygon, in order")
        if self.normal is not None:
            n = np.asarray(self.normal, float)
            if np.linalg.norm(n) < 1e-12 or abs(abs(n @ normal) / np.linalg.norm(n) - 1) > 1e-3:
                raise ValueError(
                    f"mirror {self.name!r}: normal {list(self.normal)} is not perpendicular to the mirror's plane"
                )
        return self

    @property
    def unit_normal(self) -> np.ndarray:
        """``(3,)`` unit normal on the reflective side."""
        normal = polygon_normal(np.asarray(self.corners, dtype=np.float64))
        if self.normal is not None and np.dot(self.normal, normal) < 0:
            normal = -normal
        return normal


def polygon_normal(points: np.ndarray) -> np.ndarray | None:
    """Newell's normal of a polygon ``(N, 3)`` (counter-clockwise corners -> towards the viewer), or None."""
    nxt = np.roll(points, -1, axis=0)
    n = np.array(
        [
            np.sum((points[:, 1] - nxt[:, 1]) * (points[:, 2] + nxt[:, 2])),
            np.sum((points[:, 2] - nxt[:, 2]) * (points[:, 0] + nxt[:, 0])),
            np.sum((points[:, 0] - nxt[:, 0]) * (points[:, 1] + nxt[:, 1])),
        ]
    )
    norm = np.linalg.norm(n)
    return None if norm < 1e-12 else n / norm


def polygon_is_convex(points: np.ndarray, normal: np.ndarray) -> bool:
    """True when the ordered corners ``(N, 3)`` turn the same way around ``normal`` at every corner."""
    edges = np.roll(points, -1, axis=0) - points
    turns = np.cross(edges, np.roll(edges, -1, axis=0)) @ normal
    return bool(np.all(turns > -1e-12) or np.all(turns < 1e-12))


class LightSpec(StrictModel):
    """A light. ``ambient`` needs nothing else; ``directional`` a ``direction`` (or ``position`` +
    ``target``); ``point`` a ``position``; ``spot`` a ``position``, ``target`` and ``cone_deg``. ``intensity``
    of point and spot lights is what reaches ``target`` (inverse-square fall-off). One directional or spot
    light may cast shadows."""

    type: Literal["ambient", "directional", "point", "spot"]
    colour: Colour = (1.0, 1.0, 1.0)
    intensity: bounded(*LIGHT_INTENSITY) = 1.0
    position: Vec3 | None = None
    target: Vec3 = (0.0, 0.0, 0.0)
    direction: Vec3 | None = None
    cone_deg: Annotated[float, Field(gt=0, lt=90)] = 30.0
    softness: Fraction = 0.2
    shadows: bool = False

    @model_validator(mode="after")
    def _geometry(self) -> LightSpec:
        if self.type in ("point", "spot") and self.position is None:
            raise ValueError(f"a {self.type} light needs a position [x, y, z]")
        if self.type == "directional" and self.direction is None and self.position is None:
            raise ValueError("a directional light needs a direction [x, y, z] (or a position and target)")
        if self.direction is not None and self.type != "directional":
            raise ValueError(f"direction is for directional lights; a {self.type} light uses position/target")
        if self.direction is not None and np.linalg.norm(self.direction) < 1e-9:
            raise ValueError("direction must not be the zero vector")
        if (
            self.type in ("directional", "spot")
            and self.direction is None
            and self.position is not None
            and np.linalg.norm(np.subtract(self.target, self.position)) < 1e-9
        ):
            raise ValueError(f"a {self.type} light's position and target are the same point {list(self.position)}")
        if self.shadows and self.type not in ("directional", "spot"):
            raise ValueError(f"shadows are available for directional and spot lights, not {self.type}")
        return self


# ---------------------------------------------------------------------------------------------- outputs
class OutputsSpec(StrictModel):
    """What is written: image size override (scales every camera), image format, ground truth."""

    width: ImageSize | None = None
    height: ImageSize | None = None
    format: Literal["png", "jpg"] = "png"
    jpeg_quality: Annotated[int, Field(ge=1, le=100)] = 95
    ground_truth: list[Literal["keypoints", "visibility", "keypoints3d", "depth", "mask", "parts"]] = Field(
        default_factory=lambda: list(GROUND_TRUTH)
    )
    visibility_tolerance: Annotated[float, Field(gt=0, le=0.05)] = 0.005


def _appearance_profile(value: str | Path, info: ValidationInfo) -> Path:
    """An appearance profile reference: its ``profile.yaml`` (any ``.yaml``) or the folder holding it."""
    path = resolve_path(value, info.context)
    if path.is_dir():
        if not (path / PROFILE_FILE).is_file():
            raise ValueError(
                f"{path} is a folder without {PROFILE_FILE}; give the profile.yaml that "
                "`synthmouse fit-appearance VIDEO --out FOLDER` wrote, or its folder"
            )
        return path / PROFILE_FILE
    if path.suffix.lower() not in KEYPOINT_FILE_SUFFIXES:
        raise ValueError(f"{path} is not an appearance profile (a profile.yaml or its folder)")
    return path


AppearancePath = Annotated[Path, AfterValidator(_appearance_profile)]


def _appearance_tag(value: Any) -> str:
    return "appearance_per_camera" if isinstance(value, dict) else "appearance_profile"


AppearanceRef = Annotated[
    Annotated[AppearancePath, Tag("appearance_profile")]
    | Annotated[dict[str, AppearancePath], Tag("appearance_per_camera")],
    Discriminator(_appearance_tag),
]


def _motion_tag(value: Any) -> str:
    return "mix_inline" if isinstance(value, (dict, MotionMixSpec)) else "mix_file"


MixPath = _path_type("file")
# ``motion:`` is a motion mix written inline (validated here, with the scene's lines) or a mix file (read and
# validated by :func:`motion_mix` with :func:`synthmouse.motion.mix.load_mix_spec`)
MotionRef = Annotated[
    Annotated[MotionMixSpec, Tag("mix_inline")] | Annotated[MixPath, Tag("mix_file")],
    Discriminator(_motion_tag),
]


# ---------------------------------------------------------------------------------------------- the scene
class SceneSpec(StrictModel):
    """A whole scene file.

    ``appearance`` makes the frames look like the user's video: the ``profile.yaml`` written by
    ``synthmouse fit-appearance`` (or its folder), for a scene with one camera; with several cameras, a
    mapping ``{camera name: profile}`` (cameras left out keep the plain render). ``randomization`` holds the
    domain-randomization ranges (:class:`~synthmouse.scene.randomization.RandomizationSpec`).
    """

    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] = 0
    body: BodySpec = Field(default_factory=BodySpec)
    rig: RigSpec = Field(default_factory=lambda: OpenFieldRig(type="openfield"))
    cameras: Annotated[list[CameraSpec], Field(min_length=1)]
    mirrors: list[MirrorSpec] = Field(default_factory=list)
    lights: list[LightSpec] | None = None
    materials: dict[str, MaterialSpec] = Field(default_factory=dict)
    background: Colour = (0.12, 0.12, 0.13)
    motion: MotionRef | None = None
    appearance: AppearanceRef | None = None
    randomization: RandomizationSpec = Field(default_factory=RandomizationSpec)
    outputs: OutputsSpec = Field(default_factory=OutputsSpec)
    external_folders: list[str] = Field(default_factory=list, exclude=True)
    metadata: MetadataSpec = Field(default_factory=MetadataSpec)

    _source: Path | None = PrivateAttr(default=None)
    _lines: dict = PrivateAttr(default_factory=dict)
    _base: Path | None = PrivateAttr(default=None)
    _motion_written: dict | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_motion_as_written(cls, data: Any, handler) -> SceneSpec:
        spec = handler(data)
        if isinstance(data, dict) and isinstance(data.get("motion"), dict):
            spec._motion_written = data["motion"]
        return spec

    @field_serializer("motion")
    def _dump_motion_as_written(self, value: MotionMixSpec | Path | None) -> Any:
        """An inline mix dumps as written (the scene's hash, which names a dataset, keys on what the user wrote)."""
        return self._motion_written if isinstance(value, MotionMixSpec) and self._motion_written is not None else value

    @field_validator("external_folders")
    @classmethod
    def _external_folders(cls, value: list[str], info: ValidationInfo) -> list[str]:
        external_folders(value, (info.context or {}).get("base_dir") or ".")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> SceneSpec:
        _unique([c.name for c in self.cameras], "camera")
        _unique([m.name for m in self.mirrors], "mirror")
        if self.lights is not None and sum(light.shadows for light in self.lights) > 1:
            raise ValueError("at most one light may cast shadows (shadows: true)")
        known = set(MATERIAL_PRESETS) | set(self.materials)
        for name, mat in self.materials.items():
            if mat.base is not None and mat.base not in MATERIAL_PRESETS:
                raise ValueError(
                    f"materials.{name}.base: unknown preset {mat.base!r}; allowed: {', '.join(MATERIAL_PRESETS)}"
                )
        for path, ref in material_refs(self):
            if isinstance(ref, str) and ref not in known:
                mine = f" or your materials {', '.join(self.materials)}" if self.materials else ""
                raise ValueError(
                    f"{path}: unknown material {ref!r}; allowed: presets {', '.join(MATERIAL_PRESETS)}{mine}"
                )
            if isinstance(ref, MaterialSpec) and ref.base is not None and ref.base not in MATERIAL_PRESETS:
                raise ValueError(f"{path}.base: unknown preset {ref.base!r}; allowed: {', '.join(MATERIAL_PRESETS)}")
        return self

    @property
    def source(self) -> Path | None:
        """The scene file this spec was read from (None when built in code)."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """Where relative paths of this spec start: the ``base_dir`` it was parsed with, else the scene file's
        folder, else the working directory."""
        if self._base is not None:
            return self._base
        return self._source.parent if self._source is not None else Path.cwd()

    def line_of(self, field: str) -> int | None:
        """1-based line of ``field`` (a dotted path like ``motion.generators[1].speed``) in the scene file: the
        key itself, else the first key written under it (flat dotted keys), else its closest written parent
        (a missing key); None for a spec not read from YAML text."""
        line = self._lines.get(field)
        if line is None:  # a section written flat with dotted keys, or a field left at its default
            line = next((n for key, n in self._lines.items() if key.startswith(field + ".")), None)
        parent = field
        while line is None and parent:
            parent = parent[: max(parent.rfind("."), parent.rfind("["), 0)]
            line = self._lines.get(parent)
        return line

    def error(self, field: str, problem: str) -> SceneError:
        """A :class:`SceneError` for ``field`` (a dotted path like ``body.keypoints``) with file and line."""
        line = self.line_of(field)
        where = f"{self._source}" if self._source is not None else "<scene>"
        where += f", line {line}" if line else ""
        return SceneError(one_line(f"{where}: {field}: {problem}"))


def external_folders(value: list[str], base: str | Path) -> list[Path]:
    """The scene's ``external_folders`` (relative to ``base``, the scene's folder, or absolute) as absolute
    paths: folders outside the scene's folder that its relative paths may reach (``../shared/meshes``).

    Raises:
        ValueError: for an entry that is not an existing folder.
    """
    out = []
    for entry in value:
        path = Path(str(entry)).expanduser()
        path = Path(os.path.normpath(path if path.is_absolute() else Path(os.path.abspath(base)) / path))
        if not path.is_dir():
            raise ValueError(f"{entry!r}: {path} is not an existing folder")
        out.append(path)
    return out


def _unique(names: list[str], what: str) -> None:
    seen = set()
    for n in names:
        if n in seen:
            raise ValueError(f"two {what}s are named {n!r}; {what} names must be unique")
        seen.add(n)


def material_refs(spec: SceneSpec) -> list[tuple[str, str | MaterialSpec]]:
    """``(field path, reference)`` of every material reference in the rig."""
    refs = []
    rig = spec.rig
    for name in type(rig).model_fields:
        value = getattr(rig, name)
        if name.endswith("_material") and value is not None:
            refs.append((f"rig.{name}", value))
    for i, mesh in enumerate(rig.meshes):
        refs.append((f"rig.meshes[{i}].material", mesh.material))
    for i, obj in enumerate(rig.objects):
        refs.append((f"rig.objects[{i}].material", obj.material))
    return refs


# ---------------------------------------------------------------------------------------------- loading
def load_scene_spec(path: str | Path) -> SceneSpec:
    """Read and validate a scene file.

    Raises:
        SceneError: naming the file, line, field path, bad value and what is allowed, for every problem found.
    """
    path = Path(path)
    return parse_scene_spec(read_text(path, error=SceneError, what="scene file"), source=path)


def parse_scene_spec(
    text: str | dict, source: str | Path | None = None, base_dir: str | Path | None = None
) -> SceneSpec:
    """Validate YAML text (or an already parsed mapping) as a scene; ``source`` names it in errors and its
    folder is where relative paths start (``base_dir`` overrides that)."""
    name = str(source) if source is not None else "<scene>"
    node = None
    if isinstance(text, str):
        data, node = compose_yaml(text, name, error=SceneError, what="scene file")
    else:
        data = text
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SceneError(
            f"{name}: a scene file is a mapping of sections (body, rig, cameras ...), got {type(data).__name__}"
        )
    if base_dir is not None:
        base = Path(os.path.abspath(base_dir))
    else:
        base = Path(source).resolve().parent if source is not None else Path.cwd()
    context: dict[str, Any] = {"base_dir": base}
    external = data.get("external_folders")
    try:  # folders relative paths may reach outside the scene's folder; a bad entry is reported by validation
        context["external_folders"] = external_folders(external, base) if isinstance(external, list) else []
    except ValueError:
        context["external_folders"] = []
    try:
        spec = SceneSpec.model_validate(data, context=context)
    except ValidationError as exc:
        raise SceneError(scene_validation_error(exc, name, data, node)) from None
    spec._source = Path(source).resolve() if source is not None else None
    spec._base = base.resolve()
    spec._lines = _line_index(node)
    check_output_sizes(spec)
    check_appearance(spec)
    return spec


def check_output_sizes(spec: SceneSpec) -> None:
    """``outputs.width``/``height`` must keep every camera (with its own size) inside :data:`IMAGE_SIZE_PX`
    (cameras from calibration files are checked when the scene is built)."""
    out = spec.outputs
    if out.width is None and out.height is None:
        return
    key = "outputs.width" if out.width is not None else "outputs.height"
    lo, hi = IMAGE_SIZE_PX
    for i, cam in enumerate(spec.cameras):
        if cam.calibration is not None or cam.width is None or cam.height is None:
            continue
        factor = out.width / cam.width if out.width is not None else out.height / cam.height
        size = (round(cam.width * factor), round(cam.height * factor))
        if not all(lo <= n <= hi for n in size):
            raise spec.error(
                key,
                f"{getattr(out, key.split('.')[1])} scales camera {cam.name!r} (cameras[{i}], "
                f"{cam.width}x{cam.height}) to {size[0]}x{size[1]} px; allowed image sizes {lo}..{hi} px per side",
            )


def check_appearance(spec: SceneSpec) -> None:
    """Cross-checks of ``appearance`` and ``randomization`` (errors name the field and its line).

    * a single profile needs a scene with one camera; mapping keys must be camera names;
    * background swaps, distractors and ``randomization.image.shadow_scale`` need an appearance profile (they
      are applied when compositing over it); the other ``image.*`` keys also apply to plain renders of a scene
      without a profile;
    * ``randomization.body.length_scale`` / ``girth_scale`` reshape the parametric mouse only.
    """
    cameras = [c.name for c in spec.cameras]
    if isinstance(spec.appearance, Path) and len(cameras) > 1:
        raise spec.error(
            "appearance",
            f"one profile ({spec.appearance}) for {len(cameras)} cameras ({', '.join(cameras)}): a profile "
            f"matches one camera's view; write appearance: {{{cameras[0]}: {spec.appearance}}}",
        )
    if isinstance(spec.appearance, dict):
        unknown = sorted(set(spec.appearance) - set(cameras))
        if unknown:
            raise spec.error("appearance", f"unknown camera(s) {unknown}; the scene's cameras: {', '.join(cameras)}")
    rnd = spec.randomization
    if not spec.appearance:
        shadow = [k for k in rnd.set_keys("image") if k == "image.shadow_scale"]
        needs = shadow + rnd.set_keys("background") + rnd.set_keys("distractors")
        if needs:
            raise spec.error(
                f"randomization.{needs[0]}",
                f"{', '.join(needs)} change the composite over an appearance profile; add appearance: "
                "path/to/profile.yaml (from `synthmouse fit-appearance`) or remove them",
            )
    shape = [k for k in rnd.set_keys("body") if k != "body.fur_albedo_scale"]
    if shape and spec.body.model != "parametric":
        raise spec.error(
            f"randomization.{shape[0]}",
            f"{', '.join(shape)} reshape the parametric mouse; body.model is {spec.body.model!r} "
            "(use body.model: parametric or remove them)",
        )
    if shape:
        check_shape_randomization(spec)


def check_shape_randomization(spec: SceneSpec) -> None:
    """``randomization.body.length_scale`` / ``girth_scale`` must keep the parametric mouse inside its
    allowed body length and girth (:meth:`synthmouse.body.parametric.MouseShape.allowed`)."""
    ranges = parametric_ranges()
    body = spec.body
    length = body.length or (body.scale or 1.0) * parametric_length(body.shape)
    nominal = {
        "length_scale": ("body_length", length, " m"),
        "girth_scale": ("girth_scale", float(body.shape.get("girth_scale", 1.0)), ""),
    }
    for key, (option, base, unit) in nominal.items():
        bounds = getattr(spec.randomization.body, key)
        if bounds is None:
            continue
        lo, hi = ranges[option]
        got = (bounds[0] * base, bounds[1] * base)
        if got[0] < lo - 1e-12 or got[1] > hi + 1e-12:
            raise spec.error(
                f"randomization.body.{key}",
                f"[{bounds[0]:g}, {bounds[1]:g}] times the mouse's {option} {base:.4g}{unit} gives "
                f"{got[0]:.4g}..{got[1]:.4g}{unit}; the parametric mouse allows {lo:g}..{hi:g}{unit}, i.e. "
                f"{key} within [{lo / base:.4g}, {hi / base:.4g}]",
            )


def motion_mix(spec: SceneSpec) -> MotionMixSpec | None:
    """The scene's motion mix: the inline one, or its mix file read and validated; None without ``motion:``.

    Raises:
        SceneError: for a mix file, the scene's ``motion`` line followed by the file's own errors.
    """
    if not isinstance(spec.motion, Path):
        return spec.motion
    try:
        return load_mix_spec(spec.motion)
    except SceneError as exc:
        raise spec.error("motion", "mix file " + "; ".join(str(exc).splitlines())) from None


def scene_validation_error(exc: ValidationError, name: str, data: Any, node: yaml.Node | None) -> str:
    """One line per problem: ``file, line N: field.path: message (got value)``; problems all inside the
    ``motion:`` mix are headed ``N problems in motion``, others ``N problems in the scene file``."""
    in_motion = all(err["loc"][:1] == ("motion",) for err in exc.errors(include_url=False))
    what = "motion" if in_motion else "the scene file"
    return format_validation_error(exc, name, data, node, model=SceneSpec, what=what, tags=_TAG_NAMES)


def section_error(spec: SceneSpec, section: str, exc: ValidationError, model: type[BaseModel]) -> SceneError:
    """A section validated after the scene against its own ``model``: one line per problem naming the scene
    file, the line, the full field path, the bad value and what is allowed."""
    data = getattr(spec, section)
    return SceneError(format_section_error(exc, section, data, model, spec.error, _TAG_NAMES))


# union members pydantic names in error locations that the data does not hold
_TAG_NAMES = {
    "material_name",
    "material_inline",
    "appearance_profile",
    "appearance_per_camera",
    "mix_inline",
    "mix_file",
    *RIG_TYPES,
}


def _line_index(node: yaml.Node | None) -> dict[str, int]:
    """Dotted field path -> 1-based line, for errors found after validation (while building the scene)."""
    index: dict[str, int] = {}

    def visit(n: yaml.Node, prefix: str) -> None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                path = f"{prefix}.{k.value}" if prefix else str(k.value)
                index[path] = k.start_mark.line + 1
                visit(v, path)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                path = f"{prefix}[{i}]"
                index[path] = v.start_mark.line + 1
                visit(v, path)

    if node is not None:
        visit(node, "")
    return index
