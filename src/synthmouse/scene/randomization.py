"""The ``randomization:`` section of a scene file: ranges only (pydantic, unknown keys are errors).

The models live in :mod:`synthmouse.scene` because the scene file validates them; the per-frame draw that
uses them is :func:`synthmouse.appearance.randomize.draw` (which re-exports these names). The section is
written nested or flat with dots (``image.noise_scale: [0.5, 2.0]``); every range is ``[low, high]``
(uniform; one number or ``[x, x]`` fixes the value). Leaving a key out means "not randomized". Every range has
physical bounds (``docs/scene.md``): a range that leaves them is an error naming the key, the range and the bounds.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from ..io.schema import StrictScalarsModel

BACKGROUND_SOURCES = ("plate", "frame", "texture", "render")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _range(value) -> tuple[float, float]:
    if _is_number(value):
        value = [value, value]
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_number(v) for v in value):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise ValueError(f"a range is [low, high] (two numbers, or one number), got {shown}")
    lo, hi = (float(v) for v in value)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"range [{lo:g}, {hi:g}] needs finite low <= high")
    return lo, hi


def bounded_range(lo: float, hi: float, unit: str = "") -> object:
    """A ``[low, high]`` range type whose ends must lie in ``lo..hi`` (``unit`` for the message)."""

    def check(value: tuple[float, float]) -> tuple[float, float]:
        if value[0] < lo or value[1] > hi:
            u = f" {unit}" if unit else ""
            raise ValueError(f"range [{value[0]:g}, {value[1]:g}]{u} leaves the allowed {lo:g}..{hi:g}{u}")
        return value

    return Annotated[tuple[float, float], BeforeValidator(_range), AfterValidator(check)]


Range = Annotated[tuple[float, float], BeforeValidator(_range)]
Factor = bounded_range(0.0, 100.0)  # multipliers (intensities, noise): 0..100
Scale = bounded_range(0.01, 100.0)  # multipliers that must stay positive (focal length, gamma)


class _Section(StrictScalarsModel):
    model_config = ConfigDict(extra="forbid")


class LightRandomization(_Section):
    """The key light (first directional or spot light): ``azimuth_deg`` about world z from +x and
    ``elevation_deg`` above the floor of the direction towards the light; every light's intensity times
    ``intensity_scale`` and colour times the black-body colour of ``temperature_k``."""

    azimuth_deg: bounded_range(-360.0, 360.0, "degrees") | None = None
    elevation_deg: bounded_range(-90.0, 90.0, "degrees") | None = None
    intensity_scale: Factor | None = None
    temperature_k: bounded_range(1000.0, 40000.0, "K") | None = None


class CameraRandomization(_Section):
    position_m: bounded_range(-1.0, 1.0, "m") | None = None  # each of dx, dy, dz uniform in the range
    rotation_deg: bounded_range(-180.0, 180.0, "degrees") | None = None  # each rotation-vector component
    focal_scale: bounded_range(0.1, 10.0) | None = None


class BodyRandomization(_Section):
    """``fur_albedo_scale`` multiplies the fur colour (per frame); ``length_scale`` (nose to tail root) and
    ``girth_scale`` reshape the parametric mouse (one draw per motion segment)."""

    fur_albedo_scale: bounded_range(0.0, 10.0) | None = None
    length_scale: bounded_range(0.1, 10.0) | None = None
    girth_scale: bounded_range(0.1, 10.0) | None = None


class ImageRandomization(_Section):
    """Image-space effects: over the appearance profile's own (measured) values, or, in a scene without a profile,
    on the plain render (noise sigma base 2 DN; `shadow_scale` needs a profile)."""

    noise_scale: Factor | None = None  # multiplies the profile's noise sigma
    blur_sigma_px: bounded_range(0.0, 100.0, "px") | None = None  # extra Gaussian defocus of the rendered layer
    motion_blur_px: bounded_range(0.0, 200.0, "px") | None = None  # length of a linear motion-blur kernel
    motion_blur_angle_deg: bounded_range(-360.0, 360.0, "degrees") | None = None
    gamma: Scale | None = None  # output tone curve exponent (1 = unchanged)
    brightness: bounded_range(-255.0, 255.0, "DN") | None = None  # DN added after the tone curve
    contrast: bounded_range(0.0, 10.0) | None = None  # gain about mid-grey (1 = unchanged)
    jpeg_quality: bounded_range(1.0, 100.0) | None = None  # integer; 100 = no compression
    animal_gain: bounded_range(0.0, 10.0) | None = None  # multiplies the matched animal intensities
    shadow_scale: bounded_range(0.0, 10.0) | None = None  # multiplies the profile's contact-shadow strength


class BackgroundRandomization(_Section):
    """Background source weights (``plate``: the clean plate; ``frame``: a real frame of the profile with the
    animal removed; ``texture``: a random procedural texture on the floor; ``render``: the rendered rig)."""

    weights: dict[str, Annotated[float, Field(ge=0, le=1e6)]] = Field(default_factory=lambda: {"plate": 1.0})
    texture_contrast: bounded_range(0.0, 1.0) = (0.05, 0.3)  # texture std over the floor level
    texture_scale_px: bounded_range(1.0, 4096.0, "px") = (4.0, 64.0)  # feature size of the texture

    @model_validator(mode="after")
    def _weights(self) -> BackgroundRandomization:
        unknown = sorted(str(k) for k in set(self.weights) - set(BACKGROUND_SOURCES))
        if unknown:
            raise ValueError(f"unknown background source(s) {unknown}; allowed: {', '.join(BACKGROUND_SOURCES)}")
        if sum(self.weights.values()) <= 0:
            raise ValueError(f"background weights {self.weights} must have a positive sum")
        return self

    @property
    def swaps(self) -> bool:
        """True when some source other than the plate has weight."""
        return any(w > 0 for name, w in self.weights.items() if name != "plate")


class DistractorRandomization(_Section):
    """Small flat objects drawn on the floor (droppings, pellets, bedding) under the animal."""

    count: bounded_range(0.0, 1000.0) = (0.0, 0.0)  # integer, inclusive
    size_px: bounded_range(0.1, 500.0, "px") = (2.0, 6.0)  # semi-axis lengths
    darkness: bounded_range(0.0, 1.0) = (0.3, 0.8)  # fractional darkening of the floor


class RandomizationSpec(_Section):
    """All randomization ranges of a scene (see :mod:`synthmouse.appearance.randomize` for the keys)."""

    light: LightRandomization = Field(default_factory=LightRandomization)
    camera: CameraRandomization = Field(default_factory=CameraRandomization)
    body: BodyRandomization = Field(default_factory=BodyRandomization)
    image: ImageRandomization = Field(default_factory=ImageRandomization)
    background: BackgroundRandomization = Field(default_factory=BackgroundRandomization)
    distractors: DistractorRandomization = Field(default_factory=DistractorRandomization)

    @model_validator(mode="before")
    @classmethod
    def _unflatten(cls, data: Any) -> Any:
        """Accept ``{"image.noise_scale": [a, b]}`` as ``{"image": {"noise_scale": [a, b]}}``."""
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(key, str) and "." in key:
                section, _, name = key.partition(".")
                target = out.setdefault(section, {})
                if not isinstance(target, dict):
                    raise ValueError(f"{key!r}: section {section!r} is also given as a non-mapping")
                target[name] = value
            else:
                existing = out.get(key)
                if isinstance(existing, dict) and isinstance(value, dict):
                    existing.update(value)
                else:
                    out[key] = value
        return out

    @property
    def is_empty(self) -> bool:
        """True when nothing is randomized (every section at its default)."""
        return self == RandomizationSpec()

    def set_keys(self, section: str) -> list[str]:
        """Dotted names of the ranges given in ``section`` (``image`` -> ``["image.gamma", ...]``); for
        ``background`` and ``distractors``: only when they change anything (swaps, a positive count)."""
        model = getattr(self, section)
        if section == "background":
            return ["background.weights"] if model.swaps else []
        if section == "distractors":
            return ["distractors.count"] if model.count[1] > 0 else []
        return [f"{section}.{name}" for name in type(model).model_fields if getattr(model, name) is not None]


__all__ = [
    "BACKGROUND_SOURCES",
    "BackgroundRandomization",
    "BodyRandomization",
    "CameraRandomization",
    "DistractorRandomization",
    "ImageRandomization",
    "LightRandomization",
    "Range",
    "RandomizationSpec",
]
