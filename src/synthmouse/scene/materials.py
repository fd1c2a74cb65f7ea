"""Colours, surface materials, lights and fur presets: plain data the renderers read.

Colours in user files are sRGB (what colour pickers give): ``"#rrggbb"``, ``"#rgb"``, a name from
:data:`NAMED_COLOURS`, or ``[r, g, b]`` with values in 0..1. Inside the code they are ``(3,) float32`` sRGB in
0..1; renderers convert them to linear light with :func:`srgb_to_linear` before shading.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import SceneError
from .frozen import freeze_arrays

NAMED_COLOURS: dict[str, str] = {
    "black": "#000000",
    "white": "#ffffff",
    "grey": "#808080",
    "gray": "#808080",
    "light_grey": "#c8c8c8",
    "dark_grey": "#404040",
    "red": "#ff0000",
    "green": "#00a000",
    "blue": "#0000ff",
    "yellow": "#ffff00",
    "orange": "#ff8000",
    "brown": "#7a5230",
    "beige": "#d8ccb0",
    "pink": "#e9a6a0",
    "steel": "#a0a4a8",
}


def parse_colour(value) -> np.ndarray:
    """``(3,) float32`` sRGB in 0..1 from ``"#rrggbb"``, ``"#rgb"``, a colour name or ``[r, g, b]`` in 0..1.

    Raises:
        ValueError: with a message naming the bad value and what is allowed (pydantic turns it into a field
            error).
    """
    names = ", ".join(NAMED_COLOURS)
    allowed = f"allowed: '#rrggbb', '#rgb', [r, g, b] with values in 0..1, or a name ({names})"
    if isinstance(value, str):
        text = NAMED_COLOURS.get(value.strip().lower(), value.strip())
        if text.startswith("#") and len(text) in (4, 7):
            digits = text[1:] if len(text) == 7 else "".join(c * 2 for c in text[1:])
            try:
                return np.array([int(digits[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32) / 255.0
            except ValueError:
                pass
        raise ValueError(f"bad colour {value!r}; {allowed}")
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) == 3:
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value):
            rgb = np.asarray(value, dtype=np.float32)
            if np.all(np.isfinite(rgb)) and rgb.min() >= 0.0 and rgb.max() <= 1.0:
                return rgb
    raise ValueError(f"bad colour {value!r}; {allowed}")


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB ``(..., 3)`` in 0..1 to linear light (the exact sRGB transfer curve)."""
    rgb = np.asarray(rgb, dtype=np.float32)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Material:
    """A surface: Lambert diffuse + Blinn-Phong specular, optional texture, opacity and emission.

    Attributes:
        name: material name (rig parts refer to it).
        colour: ``(3,) float32`` sRGB albedo (multiplies the texture when there is one).
        texture: image file (PNG/JPG) tiled over the surface, or None.
        tile_size: metres covered by one repeat of the texture.
        roughness: 0 (mirror-like highlight) .. 1 (matte).
        specular: strength of the highlight, 0..1.
        opacity: 1 opaque; below 1 the surface is blended over what is behind it and does not occlude
            keypoints (clear acrylic walls).
        emission: ``(3,) float32`` sRGB self-illumination added to the shaded colour (screens).
    """

    name: str
    colour: np.ndarray
    texture: Path | None = None
    tile_size: float = 0.1
    roughness: float = 0.7
    specular: float = 0.2
    opacity: float = 1.0
    emission: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))

    def __post_init__(self) -> None:
        freeze_arrays(self, "colour", "emission")


def _material(name: str, colour: str, **kwargs) -> Material:
    if "emission" in kwargs:
        kwargs["emission"] = parse_colour(kwargs["emission"])
    return Material(name, parse_colour(colour), **kwargs)


MATERIAL_PRESETS: dict[str, Material] = {
    m.name: m
    for m in (
        _material("floor_white", "#e4e3de", roughness=0.85, specular=0.1),
        _material("floor_grey", "#8d8d8a", roughness=0.85, specular=0.1),
        _material("floor_black", "#1e1e1f", roughness=0.6, specular=0.2),
        _material("wall_white", "#ecebe6", roughness=0.8, specular=0.1),
        _material("wall_grey", "#9a9a96", roughness=0.8, specular=0.1),
        _material("wall_black", "#1b1b1c", roughness=0.5, specular=0.25),
        _material("acrylic_clear", "#dfe8ec", roughness=0.05, specular=0.6, opacity=0.15),
        _material("steel", "#a4a7ab", roughness=0.3, specular=0.7),
        _material("aluminium", "#c4c6c8", roughness=0.4, specular=0.5),
        _material("brass", "#b59a5b", roughness=0.35, specular=0.6),
        _material("black_plastic", "#1f1f21", roughness=0.5, specular=0.3),
        _material("white_plastic", "#e6e6e2", roughness=0.5, specular=0.25),
        _material("wheel_foam", "#d9d6cc", roughness=0.95, specular=0.05),
        _material("wheel_ridge", "#bdb9ae", roughness=0.9, specular=0.05),
        _material("rubber_belt", "#262628", roughness=0.8, specular=0.1),
        _material("table", "#55514c", roughness=0.7, specular=0.15),
        _material("platform_grey", "#8f8f8c", roughness=0.75, specular=0.1),
        _material("screen", "#101010", roughness=0.2, specular=0.4, emission="#5a5a5a"),
        _material("screen_off", "#121214", roughness=0.2, specular=0.4),
        _material("mirror_back", "#2e2e30", roughness=0.6, specular=0.2),
    )
}


@dataclass(frozen=True)
class FurPreset:
    """A coat: colours of ``fur`` (back, flanks, limbs), ``belly``, ``skin`` (tail, paws, ears), ``eye``."""

    name: str
    fur: np.ndarray
    belly: np.ndarray
    skin: np.ndarray
    eye: np.ndarray
    roughness: float = 0.8
    specular: float = 0.15


def _fur(name: str, fur: str, belly: str, skin: str, eye: str, **kwargs) -> FurPreset:
    colours = (parse_colour(c) for c in (fur, belly, skin, eye))
    return FurPreset(name, *colours, **kwargs)


FUR_PRESETS: dict[str, FurPreset] = {
    f.name: f
    for f in (
        _fur("black", "#1d1b1a", "#2a2726", "#5e4b4a", "#050505", roughness=0.65, specular=0.25),  # C57BL/6
        _fur("white", "#ebe7de", "#f2efe8", "#e7a8a0", "#8a1c24", roughness=0.85),  # albino (BALB/c, CD-1)
        _fur("agouti", "#7b5b3e", "#c9b8a0", "#b48a80", "#050505", roughness=0.85),  # wild type (CBA, 129)
        _fur("brown", "#5a4030", "#8a725c", "#a88078", "#050505", roughness=0.8),
        _fur("grey", "#6d6b69", "#9d9a96", "#b08a86", "#050505", roughness=0.8),
    )
}


def fur_preset(name: str, colour=None) -> FurPreset:
    """The named coat; ``colour`` (a :func:`parse_colour` value) replaces the fur colour and tints the
    belly."""
    if name not in FUR_PRESETS:
        raise SceneError(f"unknown fur preset {name!r}; allowed: {', '.join(FUR_PRESETS)}")
    preset = FUR_PRESETS[name]
    if colour is None:
        return preset
    fur = parse_colour(colour)
    belly = np.clip(0.6 * fur + 0.4 * preset.belly, 0.0, 1.0).astype(np.float32)
    return replace(preset, fur=fur, belly=belly)


LIGHT_TYPES = ("ambient", "directional", "point", "spot")


@dataclass(frozen=True, eq=False)
class Light:
    """A light source.

    Attributes:
        kind: ``ambient``, ``directional``, ``point`` or ``spot``.
        colour: ``(3,) float32`` sRGB colour.
        intensity: scale of the colour. For ``point`` and ``spot`` it is the intensity reaching ``target``
            (the light falls off with the inverse square of the distance).
        position: ``(3,)`` metres (point, spot; a directional light shines from position towards target).
        target: ``(3,)`` metres the light points at (directional, spot).
        cone_deg: spot half-angle of the cone's edge; ``softness`` is the fraction of it that fades out.
        shadows: this light casts shadows (directional or spot; at most one light per scene).
    """

    kind: str
    colour: np.ndarray
    intensity: float = 1.0
    position: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))
    target: np.ndarray = field(default_factory=lambda: np.zeros(3))
    cone_deg: float = 30.0
    softness: float = 0.2
    shadows: bool = False

    def __post_init__(self) -> None:
        freeze_arrays(self, "colour", "position", "target")

    @property
    def direction(self) -> np.ndarray:
        """``(3,)`` unit vector from the light towards its target."""
        d = np.asarray(self.target, float) - np.asarray(self.position, float)
        n = np.linalg.norm(d)
        return d / n if n > 0 else np.array([0.0, 0.0, -1.0])

    @property
    def reference_distance(self) -> float:
        """Distance at which ``intensity`` applies unattenuated (point and spot lights)."""
        offset = np.asarray(self.target, float) - np.asarray(self.position, float)
        return float(max(np.linalg.norm(offset), 1e-3))


def default_lights() -> list[Light]:
    """Soft room lighting: ambient fill, a key light from above that casts shadows, a weak back light."""
    return [
        Light("ambient", parse_colour("white"), 0.35),
        Light(
            "directional",
            parse_colour("#fff6ea"),
            0.85,
            position=np.array([0.35, -0.25, 0.9]),
            target=np.zeros(3),
            shadows=True,
        ),
        Light(
            "directional",
            parse_colour("#eaf0ff"),
            0.25,
            position=np.array([-0.5, 0.4, 0.5]),
            target=np.zeros(3),
        ),
    ]
