"""Domain randomization: the ranges (scene file) and one seeded draw per frame.

The scene's ``randomization:`` section is a :class:`RandomizationSpec` (defined in
:mod:`synthmouse.scene.randomization`, because the scene file validates it; re-exported here): nested
sections, or the same keys written flat with dots (``image.noise_scale: [0.5, 2.0]``), as a plain
``dict[str, [lo, hi]]`` holds.
Every range is ``[low, high]`` (uniform; ``[x, x]`` fixes the value); integer keys draw integers inclusive.
Leaving a key out means "not randomized": the key is absent from the draw and the scene's own value is used.

:func:`draw` returns a flat ``{key: value}`` dict that goes into ``FrameResult.params`` (so into the
per-frame parameter table). It always consumes the random stream in the same fixed order, whatever is set,
so adding one range does not change the other draws of a frame.

Keys the renderer honours (the appearance step ignores them):

* ``light.azimuth_deg``: direction of the key (first directional or spot) light, degrees about world z
  from +x; ``light.elevation_deg``: its elevation above the floor (90 = straight down);
* ``light.intensity_scale``: multiplies every light's intensity;
* ``light.colour_r/g/b``: multiply every light's colour (from ``light.temperature_k`` by a black-body fit,
  normalised to green = 1);
* ``camera.dx_m/dy_m/dz_m``: camera centre offset, world metres; ``camera.rx_deg/ry_deg/rz_deg``: extra
  rotation (rotation vector, degrees, camera axes) about the centre; ``camera.focal_scale``: multiplies fx
  and fy (:func:`jitter_camera` applies all three);
* ``body.fur_albedo_scale``: multiplies the fur's base colour (sRGB, clipped to 1; belly in proportion);
* ``body.length_scale``: multiplies the parametric mouse's nose-to-tail-root length (a uniform scale; the
  tail length is its own parameter and stays); ``body.girth_scale``: multiplies its trunk width and height.
  :func:`draw` draws them per frame like every key, but a new body costs ~15 ms plus a GPU upload, so the
  dataset source replaces them by one draw per motion segment, :func:`draw_body_shape` (stream
  ``STREAM_BODY_SHAPE``), and records that value in the frame's parameters.

Keys the appearance step (:func:`synthmouse.appearance.composite.apply_profile`) honours: every ``image.*``,
``background.*`` and ``distractors.*`` key below.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import ValidationError
from scipy.spatial.transform import Rotation

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
    """Validate a ``randomization:`` mapping (nested or flat dotted keys); errors name the key and value."""
    try:
        return RandomizationSpec.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{where}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise AppearanceError(problems) from None


def frame_rng(seed: int, frame_index: int, stream: int = STREAM_RANDOMIZATION) -> np.random.Generator:
    """The generator of one frame's randomization: ``PCG64(SeedSequence([seed, frame_index, stream]))``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(frame_index), int(stream)])))


def draw(spec: RandomizationSpec, rng: np.random.Generator) -> dict[str, float | int | str]:
    """One frame's values for every range set in ``spec``.

    Consumes exactly the same number of random numbers whatever is set (fixed order), so draws are stable when
    ranges are added or removed.

    Returns:
        Flat ``{key: value}``; see the module docstring for the keys.
    """
    out: dict[str, float | int | str] = {}
    u = rng.random(32)  # fixed budget of uniforms, one slot per key below
    light, cam, body, image = spec.light, spec.camera, spec.body, spec.image

    _put(out, "light.azimuth_deg", light.azimuth_deg, u[0])
    _put(out, "light.elevation_deg", light.elevation_deg, u[1])
    _put(out, "light.intensity_scale", light.intensity_scale, u[2])
    if light.temperature_k is not None:
        kelvin = _lerp(light.temperature_k, u[3])
        out["light.temperature_k"] = kelvin
        r, g, b = kelvin_to_rgb(kelvin)
        out.update({"light.colour_r": r, "light.colour_g": g, "light.colour_b": b})
    for i, axis in enumerate("xyz"):
        _put(out, f"camera.d{axis}_m", cam.position_m, u[4 + i])
        _put(out, f"camera.r{axis}_deg", cam.rotation_deg, u[7 + i])
    _put(out, "camera.focal_scale", cam.focal_scale, u[10])
    _put(out, "body.fur_albedo_scale", body.fur_albedo_scale, u[11])
    _put(out, "body.length_scale", body.length_scale, u[12])
    _put(out, "body.girth_scale", body.girth_scale, u[13])
    _put(out, "image.noise_scale", image.noise_scale, u[14])
    _put(out, "image.blur_sigma_px", image.blur_sigma_px, u[15])
    _put(out, "image.motion_blur_px", image.motion_blur_px, u[16])
    _put(out, "image.motion_blur_angle_deg", image.motion_blur_angle_deg, u[17])
    _put(out, "image.gamma", image.gamma, u[18])
    _put(out, "image.brightness", image.brightness, u[19])
    _put(out, "image.contrast", image.contrast, u[20])
    _put(out, "image.jpeg_quality", image.jpeg_quality, u[21], integer=True)
    _put(out, "image.animal_gain", image.animal_gain, u[22])
    _put(out, "image.shadow_scale", image.shadow_scale, u[23])

    bg = spec.background
    names = [n for n in BACKGROUND_SOURCES if bg.weights.get(n, 0.0) > 0]
    weights = np.array([bg.weights[n] for n in names], dtype=np.float64)
    pick = int(np.searchsorted(np.cumsum(weights / weights.sum()), u[24], side="right"))
    out["background.source"] = names[min(pick, len(names) - 1)]
    out["background.pick"] = float(u[25])
    if out["background.source"] == "texture":
        out["background.texture_contrast"] = _lerp(bg.texture_contrast, u[26])
        out["background.texture_scale_px"] = _lerp(bg.texture_scale_px, u[27])
    out["background.texture_seed"] = int(u[28] * 2**31)

    dis = spec.distractors
    count = _lerp_int(dis.count, u[29])
    if dis.count[1] > 0:
        out["distractors.count"] = count
        out["distractors.seed"] = int(u[30] * 2**31)
    return out


def draw_body_shape(spec: RandomizationSpec, seed: int, segment: int) -> dict[str, float]:
    """The body shape of one motion segment: ``body.length_scale`` and ``body.girth_scale`` (those set in
    ``spec``) from ``SeedSequence([seed, segment, STREAM_BODY_SHAPE])``; two uniforms are always consumed."""
    u = frame_rng(seed, segment, STREAM_BODY_SHAPE).random(2)
    out: dict[str, float] = {}
    _put(out, "body.length_scale", spec.body.length_scale, u[0])
    _put(out, "body.girth_scale", spec.body.girth_scale, u[1])
    return out


def _lerp(bounds: tuple[float, float], u: float) -> float:
    return float(bounds[0] + (bounds[1] - bounds[0]) * u)


def _lerp_int(bounds: tuple[float, float], u: float) -> int:
    lo, hi = math.ceil(bounds[0]), math.floor(bounds[1])
    if hi < lo:
        raise AppearanceError(f"integer range [{bounds[0]}, {bounds[1]}] holds no integer")
    return int(min(lo + math.floor(u * (hi - lo + 1)), hi))


def _put(out: dict, key: str, bounds: tuple[float, float] | None, u: float, integer: bool = False) -> None:
    if bounds is not None:
        out[key] = _lerp_int(bounds, u) if integer else _lerp(bounds, u)


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


def jitter_camera(camera, params: dict):
    """``camera`` moved by the ``camera.*`` keys of a draw (absent keys: no change).

    The centre moves by ``(dx, dy, dz)`` metres in world coordinates; the camera turns about its centre by the
    rotation vector ``(rx, ry, rz)`` degrees given in camera axes; fx and fy are multiplied by
    ``focal_scale``.

    Args:
        camera: a :class:`synthmouse.scene.camera.Camera`.

    Returns:
        A new camera.
    """
    import dataclasses

    offset = np.array([params.get(f"camera.d{a}_m", 0.0) for a in "xyz"], dtype=np.float64)
    rotvec = np.radians([params.get(f"camera.r{a}_deg", 0.0) for a in "xyz"])
    focal = float(params.get("camera.focal_scale", 1.0))
    R = Rotation.from_rotvec(rotvec).as_matrix() @ camera.R
    centre = camera.position + offset
    K = camera.K.copy()
    K[0, 0] *= focal
    K[1, 1] *= focal
    return dataclasses.replace(camera, K=K, R=R, t=-R @ centre)


__all__ = [
    "BACKGROUND_SOURCES",
    "STREAM_APPEARANCE",
    "STREAM_BODY_SHAPE",
    "STREAM_RANDOMIZATION",
    "BackgroundRandomization",
    "BodyRandomization",
    "CameraRandomization",
    "DistractorRandomization",
    "ImageRandomization",
    "LightRandomization",
    "RandomizationSpec",
    "draw",
    "draw_body_shape",
    "frame_rng",
    "jitter_camera",
    "kelvin_to_rgb",
    "parse_randomization",
]
