"""Domain randomization: the ranges (scene file) and one seeded, typed draw per frame.

The scene's ``randomization:`` section is a :class:`RandomizationSpec` (defined in
:mod:`synthmouse.scene.randomization`, because the scene file validates it; re-exported here): nested
sections, or the same keys written flat with dots (``image.noise_scale: [0.5, 2.0]``), as a plain
``dict[str, [lo, hi]]`` holds.
Every range is ``[low, high]`` (uniform; ``[x, x]`` fixes the value); integer keys draw integers inclusive.
Leaving a key out means "not randomized": the value is ``None`` in the draw and the scene's own value is used.

A frame goes: sample (motion) -> :func:`draw` -> frame scene -> render -> composite -> row.

* :func:`draw` returns a :class:`~synthmouse.scene.draw.FrameDraw` (sections ``light``, ``camera``, ``body``,
  ``image``; see :mod:`synthmouse.scene.draw` for what each value does). It always consumes the random stream
  in the same fixed order, whatever is set, so adding one range does not change the other draws of a frame.
* :func:`draw_body_shape` draws ``body.length_scale`` / ``girth_scale`` once per motion segment (stream
  ``STREAM_BODY_SHAPE``): a new body costs ~15 ms plus a GPU upload, so the dataset source replaces the
  per-frame values by it (:meth:`FrameDraw.with_body_shape`).
* :func:`synthmouse.scene.draw.frame_scene` applies the light, camera and body sections to the scene; the
  renderer renders that scene; :func:`synthmouse.appearance.composite.apply_profile` applies ``draw.image``
  (image, background and distractor values).
* :meth:`FrameDraw.as_params` gives the flat keys of ``frames.csv`` (``light.azimuth_deg``,
  ``light.colour_r/g/b`` from ``light.temperature_k`` by a black-body fit normalised to green = 1,
  ``camera.dx_m`` ... ``camera.rz_deg``, ``camera.focal_scale``, ``body.*``, ``image.*``, ``background.*``,
  ``distractors.*``).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import ValidationError

from synthmouse.io.validation import format_validation_error
from synthmouse.scene.draw import (
    BackgroundDraw,
    BodyDraw,
    CameraDraw,
    DistractorDraw,
    FrameDraw,
    ImageDraw,
    LightDraw,
)
from synthmouse.scene.randomization import (
    BACKGROUND_SOURCES,
    BackgroundRandomization,
    BodyRandomization,
    CameraRandomization,
    DistractorRandomization,
    ImageRandomization,
    LightRandomization,
    RandomizationSpec,
)

from .profile import AppearanceError

STREAM_RANDOMIZATION = 7  # SeedSequence([seed, frame, stream]) stream id of the per-frame draw
STREAM_APPEARANCE = 8  # SeedSequence([seed, frame, stream, view]): apply_profile's noise placement
STREAM_BODY_SHAPE = 9  # SeedSequence([seed, segment, stream]): the body shape of one motion segment


def parse_randomization(data: dict | None, where: str = "randomization") -> RandomizationSpec:
    """Validate a ``randomization:`` mapping (nested or flat dotted keys); errors name the key and value, one
    line per problem (:func:`synthmouse.io.validation.format_validation_error`)."""
    try:
        return RandomizationSpec.model_validate(data or {})
    except ValidationError as exc:
        message = format_validation_error(exc, where, data or {}, model=RandomizationSpec, what=where)
        raise AppearanceError(message) from None


def frame_rng(seed: int, frame_index: int, stream: int = STREAM_RANDOMIZATION) -> np.random.Generator:
    """The generator of one frame's randomization: ``PCG64(SeedSequence([seed, frame_index, stream]))``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(frame_index), int(stream)])))


def draw(spec: RandomizationSpec, rng: np.random.Generator) -> FrameDraw:
    """One frame's values for every range set in ``spec`` (``None`` where no range is set).

    Consumes exactly the same number of random numbers whatever is set (fixed order), so draws are stable when
    ranges are added or removed.
    """
    u = rng.random(32)  # fixed budget of uniforms, one slot per value below
    return FrameDraw(
        light=_light_draw(spec.light, u),
        camera=_camera_draw(spec.camera, u),
        body=BodyDraw(
            _lerp_opt(spec.body.fur_albedo_scale, u[11]),
            _lerp_opt(spec.body.length_scale, u[12]),
            _lerp_opt(spec.body.girth_scale, u[13]),
        ),
        image=_image_draw(spec, u),
    )


def _light_draw(light: LightRandomization, u: np.ndarray) -> LightDraw:
    """Uniforms 0..3: azimuth, elevation, intensity, colour temperature (and the colour it makes)."""
    kelvin = _lerp_opt(light.temperature_k, u[3])
    return LightDraw(
        azimuth_deg=_lerp_opt(light.azimuth_deg, u[0]),
        elevation_deg=_lerp_opt(light.elevation_deg, u[1]),
        intensity_scale=_lerp_opt(light.intensity_scale, u[2]),
        temperature_k=kelvin,
        colour=kelvin_to_rgb(kelvin) if kelvin is not None else None,
    )


def _camera_draw(cam: CameraRandomization, u: np.ndarray) -> CameraDraw:
    """Uniforms 4..6: centre offset x, y, z; 7..9: rotation x, y, z; 10: focal scale."""
    offsets = {f"d{axis}_m": _lerp_opt(cam.position_m, u[4 + i]) for i, axis in enumerate("xyz")}
    turns = {f"r{axis}_deg": _lerp_opt(cam.rotation_deg, u[7 + i]) for i, axis in enumerate("xyz")}
    return CameraDraw(**offsets, **turns, focal_scale=_lerp_opt(cam.focal_scale, u[10]))


def _image_draw(spec: RandomizationSpec, u: np.ndarray) -> ImageDraw:
    """Uniforms 14..23: the image values; 24..28: the background; 29..30: the distractors."""
    image = spec.image
    return ImageDraw(
        noise_scale=_lerp_opt(image.noise_scale, u[14]),
        blur_sigma_px=_lerp_opt(image.blur_sigma_px, u[15]),
        motion_blur_px=_lerp_opt(image.motion_blur_px, u[16]),
        motion_blur_angle_deg=_lerp_opt(image.motion_blur_angle_deg, u[17]),
        gamma=_lerp_opt(image.gamma, u[18]),
        brightness=_lerp_opt(image.brightness, u[19]),
        contrast=_lerp_opt(image.contrast, u[20]),
        jpeg_quality=_lerp_int(image.jpeg_quality, u[21]) if image.jpeg_quality is not None else None,
        animal_gain=_lerp_opt(image.animal_gain, u[22]),
        shadow_scale=_lerp_opt(image.shadow_scale, u[23]),
        background=_background_draw(spec.background, u),
        distractors=_distractor_draw(spec.distractors, u),
    )


def _background_draw(bg: BackgroundRandomization, u: np.ndarray) -> BackgroundDraw:
    names = [n for n in BACKGROUND_SOURCES if bg.weights.get(n, 0.0) > 0]
    weights = np.array([bg.weights[n] for n in names], dtype=np.float64)
    pick = int(np.searchsorted(np.cumsum(weights / weights.sum()), u[24], side="right"))
    source = names[min(pick, len(names) - 1)]
    texture = source == "texture"
    return BackgroundDraw(
        source=source,
        pick=float(u[25]),
        texture_contrast=_lerp(bg.texture_contrast, u[26]) if texture else None,
        texture_scale_px=_lerp(bg.texture_scale_px, u[27]) if texture else None,
        texture_seed=int(u[28] * 2**31),
    )


def _distractor_draw(dis: DistractorRandomization, u: np.ndarray) -> DistractorDraw | None:
    count = _lerp_int(dis.count, u[29])
    return DistractorDraw(count, int(u[30] * 2**31)) if dis.count[1] > 0 else None


def draw_body_shape(spec: RandomizationSpec, seed: int, segment: int) -> BodyDraw:
    """The body shape of one motion segment: ``length_scale`` and ``girth_scale`` (those set in ``spec``;
    no fur value) from ``SeedSequence([seed, segment, STREAM_BODY_SHAPE])``; two uniforms are always
    consumed. :meth:`FrameDraw.with_body_shape` puts it into a frame's draw."""
    u = frame_rng(seed, segment, STREAM_BODY_SHAPE).random(2)
    return BodyDraw(
        length_scale=_lerp_opt(spec.body.length_scale, u[0]), girth_scale=_lerp_opt(spec.body.girth_scale, u[1])
    )


def _lerp(bounds: tuple[float, float], u: float) -> float:
    return float(bounds[0] + (bounds[1] - bounds[0]) * u)


def _lerp_int(bounds: tuple[float, float], u: float) -> int:
    lo, hi = math.ceil(bounds[0]), math.floor(bounds[1])
    if hi < lo:
        raise AppearanceError(f"integer range [{bounds[0]}, {bounds[1]}] holds no integer")
    return int(min(lo + math.floor(u * (hi - lo + 1)), hi))


def _lerp_opt(bounds: tuple[float, float] | None, u: float) -> float | None:
    return None if bounds is None else _lerp(bounds, u)


def kelvin_to_rgb(kelvin: float) -> tuple[float, float, float]:
    """Colour multipliers of a black-body light at ``kelvin`` (1000..40000 K), normalised to green = 1.

    Tanner Helland's curve fit to the CIE 1964 black-body colours (about 1 % accurate, enough for
    randomization).
    """
    t = min(max(float(kelvin), 1000.0), 40000.0) / 100.0
    r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    g = 99.4708025861 * math.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
    if t >= 66:
        b = 255.0
    elif t <= 19:
        b = 0.0
    else:
        b = 138.5177312231 * math.log(t - 10) - 305.0447927307
    r, g, b = (min(max(c, 0.0), 255.0) for c in (r, g, b))
    g = max(g, 1.0)
    return r / g, 1.0, b / g


__all__ = [
    "BACKGROUND_SOURCES",
    "STREAM_APPEARANCE",
    "STREAM_BODY_SHAPE",
    "STREAM_RANDOMIZATION",
    "BackgroundRandomization",
    "BodyRandomization",
    "CameraRandomization",
    "DistractorRandomization",
    "FrameDraw",
    "ImageRandomization",
    "LightRandomization",
    "RandomizationSpec",
    "draw",
    "draw_body_shape",
    "frame_rng",
    "kelvin_to_rgb",
    "parse_randomization",
]
