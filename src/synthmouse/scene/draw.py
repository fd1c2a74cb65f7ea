"""One frame's random draw, typed, and the pure function that applies it to a scene.

:func:`synthmouse.appearance.randomize.draw` fills a :class:`FrameDraw` from the scene's ranges; a value left
``None`` was not randomized (the scene's own value is used). The frame's scene is then
``frame_scene(scene, draw)``: the key light moved and every light scaled and tinted (:class:`LightDraw`), the
fur's albedo scaled and the body reshaped (:class:`BodyDraw`), the cameras jittered (:class:`CameraDraw`). A
renderer renders that scene as it is; the appearance step composites with ``draw.image``
(:class:`ImageDraw`). Rig objects are moved to a frame's time by :func:`place_objects`, a pure function of the
time. :meth:`FrameDraw.as_params` gives the flat ``{key: value}`` the dataset writes into
``frames.csv`` (``light.azimuth_deg``, ``camera.dx_m``, ``image.gamma``, ``background.source`` ...), and
:meth:`FrameDraw.from_params` reads such a row back.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from .build import Scene, reshape_scene
from .camera import Camera
from .materials import Light
from .objects import objects_at

Params = dict[str, float | int | str]
Reshape = Callable[[Scene, float, float], Scene]


# ---------------------------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class LightDraw:
    """The lights of one frame.

    Attributes:
        azimuth_deg: direction from the key light's target towards the key light (the first directional or
            spot light), degrees about world z from +x.
        elevation_deg: its elevation above the floor (90 = straight down).
        intensity_scale: multiplies every light's intensity (ambient included).
        temperature_k: the colour temperature ``colour`` was made from (recorded only).
        colour: ``(r, g, b)`` multipliers of every light's sRGB colour.
    """

    azimuth_deg: float | None = None
    elevation_deg: float | None = None
    intensity_scale: float | None = None
    temperature_k: float | None = None
    colour: tuple[float, float, float] | None = None

    def as_params(self) -> Params:
        out: Params = {}
        _put(out, "light.azimuth_deg", self.azimuth_deg)
        _put(out, "light.elevation_deg", self.elevation_deg)
        _put(out, "light.intensity_scale", self.intensity_scale)
        _put(out, "light.temperature_k", self.temperature_k)
        if self.colour is not None:
            out.update(zip(("light.colour_r", "light.colour_g", "light.colour_b"), self.colour, strict=True))
        return out


@dataclass(frozen=True)
class CameraDraw:
    """The camera jitter of one frame (every camera moves the same way; see :func:`jitter_camera`).

    Attributes:
        dx_m, dy_m, dz_m: camera centre offset, world metres.
        rx_deg, ry_deg, rz_deg: extra rotation (rotation vector, degrees, camera axes) about the centre.
        focal_scale: multiplies fx and fy.
    """

    dx_m: float | None = None
    dy_m: float | None = None
    dz_m: float | None = None
    rx_deg: float | None = None
    ry_deg: float | None = None
    rz_deg: float | None = None
    focal_scale: float | None = None

    @property
    def is_identity(self) -> bool:
        """True when nothing is drawn (the cameras stay the scene's own objects)."""
        return all(getattr(self, f.name) is None for f in dataclasses.fields(self))

    def as_params(self) -> Params:
        out: Params = {}
        for axis in "xyz":
            _put(out, f"camera.d{axis}_m", getattr(self, f"d{axis}_m"))
            _put(out, f"camera.r{axis}_deg", getattr(self, f"r{axis}_deg"))
        _put(out, "camera.focal_scale", self.focal_scale)
        return out


@dataclass(frozen=True)
class BodyDraw:
    """The mouse of one frame.

    Attributes:
        fur_albedo_scale: multiplies the fur's base colour (sRGB, clipped to 1; belly in proportion).
        length_scale: multiplies the parametric mouse's nose-to-tail-root length (a uniform scale).
        girth_scale: multiplies its trunk width and height.
    """

    fur_albedo_scale: float | None = None
    length_scale: float | None = None
    girth_scale: float | None = None

    @property
    def reshapes(self) -> bool:
        """True when a body shape is drawn."""
        return self.length_scale is not None or self.girth_scale is not None

    def as_params(self) -> Params:
        out: Params = {}
        _put(out, "body.fur_albedo_scale", self.fur_albedo_scale)
        _put(out, "body.length_scale", self.length_scale)
        _put(out, "body.girth_scale", self.girth_scale)
        return out


@dataclass(frozen=True)
class BackgroundDraw:
    """What the composite is laid over: ``source`` is ``plate``, ``frame`` (the real background frame at
    ``pick`` in 0..1 of the profile's list), ``texture`` (procedural floor noise of ``texture_contrast`` and
    ``texture_scale_px``, seeded by ``texture_seed``) or ``render``."""

    source: str = "plate"
    pick: float = 0.0
    texture_contrast: float | None = None
    texture_scale_px: float | None = None
    texture_seed: int = 0

    def as_params(self) -> Params:
        out: Params = {"background.source": self.source, "background.pick": self.pick}
        _put(out, "background.texture_contrast", self.texture_contrast)
        _put(out, "background.texture_scale_px", self.texture_scale_px)
        out["background.texture_seed"] = self.texture_seed
        return out


@dataclass(frozen=True)
class DistractorDraw:
    """``count`` small dark ellipses on the floor, placed by the generator seeded with ``seed``."""

    count: int = 0
    seed: int = 0

    def as_params(self) -> Params:
        return {"distractors.count": self.count, "distractors.seed": self.seed}


@dataclass(frozen=True)
class ImageDraw:
    """The image-space values of one frame (:func:`synthmouse.appearance.composite.apply_profile`); ``None``
    keeps the appearance profile's measured value and adds no jitter."""

    noise_scale: float | None = None
    blur_sigma_px: float | None = None
    motion_blur_px: float | None = None
    motion_blur_angle_deg: float | None = None
    gamma: float | None = None
    brightness: float | None = None
    contrast: float | None = None
    jpeg_quality: int | None = None
    animal_gain: float | None = None
    shadow_scale: float | None = None
    background: BackgroundDraw | None = None
    distractors: DistractorDraw | None = None

    def as_params(self) -> Params:
        out: Params = {}
        for name in IMAGE_KEYS:
            _put(out, f"image.{name}", getattr(self, name))
        if self.background is not None:
            out.update(self.background.as_params())
        if self.distractors is not None:
            out.update(self.distractors.as_params())
        return out


IMAGE_KEYS = tuple(f.name for f in dataclasses.fields(ImageDraw) if f.name not in ("background", "distractors"))


@dataclass(frozen=True)
class FrameDraw:
    """Every randomized value of one frame, a section per kind (see the module docstring)."""

    light: LightDraw = field(default_factory=LightDraw)
    camera: CameraDraw = field(default_factory=CameraDraw)
    body: BodyDraw = field(default_factory=BodyDraw)
    image: ImageDraw = field(default_factory=ImageDraw)

    def as_params(self) -> Params:
        """The flat ``{key: value}`` of every drawn value (the ``frames.csv`` columns)."""
        return {
            **self.light.as_params(),
            **self.camera.as_params(),
            **self.body.as_params(),
            **self.image.as_params(),
        }

    def with_body_shape(self, shape: BodyDraw) -> FrameDraw:
        """This draw with the body shape (length and girth scales) of ``shape``, e.g. one drawn per motion
        segment (:func:`synthmouse.appearance.randomize.draw_body_shape`)."""
        body = dataclasses.replace(self.body, length_scale=shape.length_scale, girth_scale=shape.girth_scale)
        return dataclasses.replace(self, body=body)

    def without_compositing(self) -> FrameDraw:
        """This draw without its background and distractor values (nothing composites the frame)."""
        return dataclasses.replace(self, image=dataclasses.replace(self.image, background=None, distractors=None))

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> FrameDraw:
        """The draw recorded as ``params`` (:meth:`as_params`, a ``frames.csv`` row); other keys are ignored."""
        get = _getter(params)
        colour = tuple(get(f"light.colour_{c}") for c in "rgb")
        light = LightDraw(
            get("light.azimuth_deg"),
            get("light.elevation_deg"),
            get("light.intensity_scale"),
            get("light.temperature_k"),
            None if all(c is None for c in colour) else tuple(1.0 if c is None else c for c in colour),
        )
        camera = CameraDraw(**{f.name: get(f"camera.{f.name}") for f in dataclasses.fields(CameraDraw)})
        body = BodyDraw(**{f.name: get(f"body.{f.name}") for f in dataclasses.fields(BodyDraw)})
        image = ImageDraw(
            **{name: get(f"image.{name}") for name in IMAGE_KEYS},
            background=_background_from(params, get),
            distractors=_distractors_from(params, get),
        )
        if image.jpeg_quality is not None:
            image = dataclasses.replace(image, jpeg_quality=int(image.jpeg_quality))
        return cls(light, camera, body, image)


def _put(out: Params, key: str, value: float | int | None) -> None:
    if value is not None:
        out[key] = value


def _getter(params: Mapping[str, object]) -> Callable[[str], float | None]:
    def get(key: str) -> float | None:
        value = params.get(key)
        if value is None or value == "":
            return None
        number = float(value)
        return None if math.isnan(number) else number  # a missing cell of a table read with pandas

    return get


def _background_from(params: Mapping[str, object], get) -> BackgroundDraw | None:
    if params.get("background.source") in (None, ""):
        return None
    return BackgroundDraw(
        str(params["background.source"]),
        get("background.pick") or 0.0,
        get("background.texture_contrast"),
        get("background.texture_scale_px"),
        int(get("background.texture_seed") or 0),
    )


def _distractors_from(params: Mapping[str, object], get) -> DistractorDraw | None:
    if get("distractors.count") is None:
        return None
    return DistractorDraw(int(get("distractors.count")), int(get("distractors.seed") or 0))


# ---------------------------------------------------------------------------------------------- the frame's scene
def frame_scene(scene: Scene, draw: FrameDraw, reshape: Reshape = reshape_scene) -> Scene:
    """``scene`` as frame ``draw`` sees it: body reshaped (by ``reshape``, :func:`reshape_scene` or a caching
    wrapper of it), lights changed (:func:`frame_lights`), fur albedo scaled (:func:`fur_colours`) and
    cameras jittered (:func:`jitter_camera`). Parts the draw leaves alone stay the same objects, so a renderer
    keeps its GPU copies of them; nothing drawn returns ``scene`` itself."""
    if draw.body.reshapes:
        scene = reshape(scene, _or_one(draw.body.length_scale), _or_one(draw.body.girth_scale))
    changes: dict = {}
    lights = frame_lights(scene.lights, draw.light)
    if lights is not scene.lights:
        changes["lights"] = lights
    scale = draw.body.fur_albedo_scale
    if scale is not None and scale != 1.0:
        changes["body_colours"] = fur_colours(scene.body_colours, scene.body_fur_weight, scene.body_fur, scale)
    if not draw.camera.is_identity:
        changes["cameras"] = tuple(jitter_camera(camera, draw.camera) for camera in scene.cameras)
    return dataclasses.replace(scene, **changes) if changes else scene


def place_objects(scene: Scene, time_s: float) -> Scene:
    """``scene`` with its rig objects where they are at ``time_s`` seconds (frame ``i`` of a dataset is at
    ``i / fps``): a pure function of the time. A scene without moving objects is returned itself."""
    objects = getattr(scene, "objects", ())
    if not any(obj.moves for obj in objects):
        return scene
    return dataclasses.replace(scene, objects=objects_at(objects, time_s))


def _or_one(value: float | None) -> float:
    return 1.0 if value is None else value


def frame_lights(lights: tuple[Light, ...], draw: LightDraw) -> tuple[Light, ...]:
    """The scene's ``lights`` changed by a frame's light draw (``None`` values change nothing).

    * ``azimuth_deg`` / ``elevation_deg``: the key light (the first directional or spot light) moves on the
      sphere about its target, keeping its distance (so a spot light's intensity at the target stays): the
      direction from the target towards the light gets this azimuth (degrees about world z from +x) and
      elevation (degrees above the floor); an angle not drawn keeps the light's own;
    * ``intensity_scale`` multiplies every light's intensity (ambient included);
    * ``colour`` multiplies every light's (sRGB) colour.

    Returns:
        ``lights`` itself when nothing applies, else new :class:`Light` objects.
    """
    az, el = draw.azimuth_deg, draw.elevation_deg
    scale = float(_or_one(draw.intensity_scale))
    tint = np.array(draw.colour if draw.colour is not None else (1.0, 1.0, 1.0), dtype=np.float32)
    if az is None and el is None and scale == 1.0 and np.all(tint == 1.0):
        return lights
    key = next((i for i, light in enumerate(lights) if light.kind in ("directional", "spot")), None)
    out = []
    for i, light in enumerate(lights):
        changes: dict = {"intensity": light.intensity * scale, "colour": np.asarray(light.colour) * tint}
        if i == key and (az is not None or el is not None):
            changes["position"] = _key_light_position(light, az, el)
        out.append(dataclasses.replace(light, **changes))
    return tuple(out)


def _key_light_position(light: Light, az: float | None, el: float | None) -> np.ndarray:
    """The key light's position at azimuth ``az`` / elevation ``el`` (degrees; None keeps its own) on the
    sphere about its target."""
    target = np.asarray(light.target, float)
    towards = np.asarray(light.position, float) - target
    distance = float(np.linalg.norm(towards))
    az0 = np.degrees(np.arctan2(towards[1], towards[0]))
    el0 = np.degrees(np.arcsin(np.clip(towards[2] / max(distance, 1e-12), -1.0, 1.0)))
    a = np.radians(float(az) if az is not None else az0)
    e = np.radians(float(el) if el is not None else el0)
    unit = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    return target + unit * max(distance, 1e-3)


def fur_colours(colours: np.ndarray, fur_weight: np.ndarray | None, fur: np.ndarray | None, scale: float) -> np.ndarray:
    """``(V, 3) float32`` sRGB vertex colours with the fur colour times ``scale`` (clipped to 0..1): each
    colour's fur share ``fur_weight (V,)`` of ``fur (3,)`` is scaled; without the weights every colour is."""
    colours = np.asarray(colours, np.float32)
    if fur_weight is None or fur is None:
        return np.clip(colours * np.float32(scale), 0.0, 1.0)
    delta = np.float32(scale - 1.0) * fur_weight[:, None] * np.asarray(fur, np.float32)
    return np.clip(colours + delta, 0.0, 1.0).astype(np.float32)


def jitter_camera(camera: Camera, draw: CameraDraw) -> Camera:
    """``camera`` moved by a frame's camera draw (``None`` values: no change).

    The centre moves by ``(dx, dy, dz)`` metres in world coordinates; the camera turns about its centre by the
    rotation vector ``(rx, ry, rz)`` degrees given in camera axes; fx and fy are multiplied by
    ``focal_scale``.
    """
    offset = np.array([_or_zero(getattr(draw, f"d{a}_m")) for a in "xyz"], dtype=np.float64)
    rotvec = np.radians([_or_zero(getattr(draw, f"r{a}_deg")) for a in "xyz"])
    focal = float(_or_one(draw.focal_scale))
    R = Rotation.from_rotvec(rotvec).as_matrix() @ camera.R
    centre = camera.position + offset
    K = camera.K.copy()
    K[0, 0] *= focal
    K[1, 1] *= focal
    return dataclasses.replace(camera, K=K, R=R, t=-R @ centre)


def _or_zero(value: float | None) -> float:
    return 0.0 if value is None else value


__all__ = [
    "BackgroundDraw",
    "BodyDraw",
    "CameraDraw",
    "DistractorDraw",
    "FrameDraw",
    "ImageDraw",
    "LightDraw",
    "frame_lights",
    "frame_scene",
    "fur_colours",
    "jitter_camera",
]
