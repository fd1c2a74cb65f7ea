"""The appearance profile: what a user's real video looks like, as a small YAML file plus PNG plates.

A profile folder holds ``profile.yaml`` (the numbers below, validated with pydantic, unknown keys are errors),
``plate.png`` (the clean background: temporal median with the animal removed) and optionally
``background_000.png ...`` (real frames with the animal replaced by the plate, for background swaps). The
scene
file refers to the profile by the path of its ``profile.yaml`` (or its folder).

Intensities are 8-bit digital numbers (DN, 0..255). For colour videos the scalar statistics are on BT.601
luma.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import cv2
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthmouse.errors import SynthmouseError
from synthmouse.fileio import atomic_open, atomic_path
from synthmouse.io.validation import format_validation_error
from synthmouse.io.yamlio import compose_yaml

PROFILE_FILE = "profile.yaml"
PLATE_FILE = "plate.png"
PROFILE_VERSION = 1
QUANTILE_LEVELS = 33  # animal intensity quantiles stored at linspace(0, 1, QUANTILE_LEVELS)
ILLUMINATION_SIGMA_PX = 12.0  # low-pass of the plate that estimates the illumination field
NOISE_BANK_SIZE = 1024
NOISE_BANK_SEED = 20240601


class AppearanceError(SynthmouseError):
    """An appearance profile, video or fitting input is invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LevelsStats(_Strict):
    """Global tone of the frames: black/white points (0.5 / 99.5 percentiles), and the gamma that maps
    normalized mid-grey onto the observed median, ``((median - black) / (white - black)) = 0.5 ** gamma``."""

    mean: float
    std: float
    black: float
    white: float
    gamma: Annotated[float, Field(gt=0)]


class AnimalStats(_Strict):
    """The animal's intensity distribution (foreground from background subtraction), divided by the local
    illumination (plate low-pass over the floor level) so it is position-independent.

    ``quantiles`` are luma DN at ``linspace(0, 1, len(quantiles))``; ``colour_ratio`` is the per-channel mean
    over the luma mean (1, 1, 1 for grayscale); ``area_px`` the median blob area."""

    quantiles: list[float]
    mean: float
    std: float
    colour_ratio: tuple[float, float, float] = (1.0, 1.0, 1.0)
    area_px: float
    frames_with_animal: int


class NoiseStats(_Strict):
    """Sensor noise: ``sigma(I)^2 = a + b * I`` (Poisson-Gaussian), DN, fitted to per-intensity estimates
    ``bins`` (intensity centre, sigma) from a Laplacian (Immerkaer) estimator on flat image regions."""

    a: Annotated[float, Field(ge=0)]
    b: Annotated[float, Field(ge=0)]
    bins: list[tuple[float, float]] = Field(default_factory=list)

    def sigma(self, intensity: np.ndarray | float) -> np.ndarray:
        """Noise standard deviation (DN) at ``intensity`` (DN), any shape."""
        return np.sqrt(self.a + self.b * np.clip(np.asarray(intensity, dtype=np.float64), 0.0, None))


class BlurStats(_Strict):
    """Gaussian-equivalent blur, pixels: ``defocus_sigma`` from the edge spread of static (rig) edges,
    ``motion_sigma`` the extra spread of the moving animal's edges (sqrt of the variance difference)."""

    defocus_sigma: Annotated[float, Field(ge=0)]
    motion_sigma: Annotated[float, Field(ge=0)]


class VignettingStats(_Strict):
    """Radial fall-off of the floor brightness: ``I(r) = I0 (1 + k1 r^2 + k2 r^4)``, ``r`` the distance from
    ``centre`` (pixels) over the half-diagonal."""

    centre: tuple[float, float]
    k1: float
    k2: float


class CompressionStats(_Strict):
    """Block artefacts: ``blockiness`` (mean gradient across 8-pixel block borders over elsewhere; 1 =
    none) and
    the JPEG quality whose blockiness on the plate matches it."""

    blockiness: float
    jpeg_quality: Annotated[int, Field(ge=1, le=100)]


class ShadowStats(_Strict):
    """Contact shadow around the animal: fractional darkening of the floor just outside its silhouette and the
    distance (pixels) where the darkening falls to half."""

    strength: Annotated[float, Field(ge=0, le=1)]
    radius_px: Annotated[float, Field(ge=0)]


class PlateFit(_Strict):
    """How the plate of a labelled project was made (``fit-appearance PROJECT``): the animal masked in each
    frame (a region grown by ``mask_radius_px`` around its labelled keypoints, plus what moves), the per-pixel
    median of the unmasked pixels, and the pixels masked in every frame inpainted (OpenCV Telea)."""

    method: Literal["labels"] = "labels"
    mask_radius_px: Annotated[float, Field(ge=0)]
    masked_share: Annotated[float, Field(ge=0, le=1)]  # mean share of a frame masked as the animal
    inpainted_share: Annotated[float, Field(ge=0, le=1)]  # share of the plate masked in every frame


class ProfileFile(_Strict):
    """The schema of ``profile.yaml``.

    ``illumination``: ``plate`` (the animal is lit like the floor under it: the plate's low-pass over the floor
    level) or ``flat`` (no local light field: the plate holds the rig and the animal's surroundings, not a lit
    floor; profiles fitted from labelled projects).
    """

    version: int = PROFILE_VERSION
    source: str = ""
    frames_used: int = 0
    width: Annotated[int, Field(gt=0)]
    height: Annotated[int, Field(gt=0)]
    channels: Annotated[int, Field(ge=1, le=3)]
    plate: str = PLATE_FILE
    backgrounds: list[str] = Field(default_factory=list)
    floor_level: Annotated[float, Field(gt=0)]
    levels: LevelsStats
    animal: AnimalStats
    noise: NoiseStats
    blur: BlurStats
    vignetting: VignettingStats
    compression: CompressionStats
    shadow: ShadowStats
    illumination: Literal["plate", "flat"] = "plate"
    plate_fit: PlateFit | None = None


OPTIONAL_DEFAULTS = {"illumination": "plate", "plate_fit": None}
"""Fields left out of ``profile.yaml`` at these values (profiles fitted from a video stay byte-identical)."""


@dataclass(eq=False)
class AppearanceProfile:
    """A loaded profile: the statistics, the plate and optional background frames.

    Attributes:
        stats: the numbers (:class:`ProfileFile`).
        plate: ``(H, W, C) uint8`` clean background, ``C = stats.channels`` (1 or 3, RGB order).
        backgrounds: list of ``(H, W, C) uint8`` real frames with the animal replaced by the plate.
    """

    stats: ProfileFile
    plate: np.ndarray
    backgrounds: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.plate = _as_hwc(self.plate, "plate")
        self.backgrounds = [_as_hwc(b, f"backgrounds[{i}]") for i, b in enumerate(self.backgrounds)]
        h, w, c = self.plate.shape
        if (w, h, c) != (self.stats.width, self.stats.height, self.stats.channels):
            raise AppearanceError(
                f"profile plate is {w}x{h}x{c} but the profile says {self.stats.width}x{self.stats.height}"
                f"x{self.stats.channels}"
            )
        for i, b in enumerate(self.backgrounds):
            if b.shape != self.plate.shape:
                raise AppearanceError(f"profile backgrounds[{i}] has shape {b.shape}, the plate {self.plate.shape}")

    @property
    def grayscale(self) -> bool:
        return self.stats.channels == 1

    @functools.cached_property
    def plate_f32(self) -> np.ndarray:
        """``(H, W)`` (grayscale) or ``(H, W, 3)`` float32 plate."""
        return _squeeze(self.plate).astype(np.float32)

    @functools.cached_property
    def illumination(self) -> np.ndarray:
        """``(H, W) float32`` local illumination: plate luma low-passed, divided by the floor level."""
        if self.stats.illumination == "flat":
            return np.ones(self.plate.shape[:2], np.float32)
        lum = luma(self.plate).astype(np.float32)
        smooth = cv2.GaussianBlur(lum, (0, 0), ILLUMINATION_SIGMA_PX)
        return np.maximum(smooth / np.float32(self.stats.floor_level), np.float32(0.05))

    @functools.cached_property
    def floor_mask(self) -> np.ndarray:
        """``(H, W) bool`` bright, floor-like plate pixels (illumination over 0.6)."""
        return self.illumination > 0.6

    @functools.cached_property
    def noise_bank(self) -> np.ndarray:
        """``(N, N) float32`` standard normal noise, fixed by the profile (crops are picked per frame)."""
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([NOISE_BANK_SEED])))
        return rng.standard_normal((NOISE_BANK_SIZE, NOISE_BANK_SIZE), dtype=np.float32)

    @functools.cached_property
    def noise_sigma_lut(self) -> np.ndarray:
        """``(256,) float32`` noise sigma (DN) per 8-bit intensity."""
        return self.stats.noise.sigma(np.arange(256)).astype(np.float32)

    def resized(self, width: int, height: int) -> AppearanceProfile:
        """The profile for another image size (plates resized; pixel statistics scaled where they are
        lengths).

        Results are cached on this profile, so calling it every frame is cheap.
        """
        if (width, height) == (self.stats.width, self.stats.height):
            return self
        cache = self.__dict__.setdefault("_resized", {})
        if (width, height) not in cache:
            cache[(width, height)] = self._resize(width, height)
        return cache[(width, height)]

    def _resize(self, width: int, height: int) -> AppearanceProfile:
        sx, sy = width / self.stats.width, height / self.stats.height
        s = float(np.sqrt(sx * sy))
        data = self.stats.model_dump()
        data.update(width=width, height=height)
        data["blur"] = {k: v * s for k, v in data["blur"].items()}
        data["shadow"]["radius_px"] *= s
        data["animal"]["area_px"] *= sx * sy
        if data["plate_fit"] is not None:
            data["plate_fit"]["mask_radius_px"] *= s
        cx, cy = data["vignetting"]["centre"]
        data["vignetting"]["centre"] = ((cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5)

        def resize(image: np.ndarray) -> np.ndarray:
            return _as_hwc(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), "plate")

        return AppearanceProfile(
            ProfileFile.model_validate(data), resize(self.plate), [resize(b) for b in self.backgrounds]
        )


def luma(image: np.ndarray) -> np.ndarray:
    """``(..., H, W)`` luma of an ``(..., H, W, C)`` image (C = 1 or 3, RGB, BT.601), float32."""
    image = np.asarray(image)
    if image.shape[-1] == 1:
        return image[..., 0].astype(np.float32)
    if image.shape[-1] == 3:
        return image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    raise AppearanceError(f"expected (..., H, W, 1|3) images, got shape {image.shape}")


def save_profile(profile: AppearanceProfile, folder: str | Path) -> Path:
    """Write ``profile.yaml``, ``plate.png`` and the background PNGs into ``folder`` (atomically, file by
    file).

    Returns:
        The path of ``profile.yaml``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"background_{i:03d}.png" for i in range(len(profile.backgrounds))]
    stats = profile.stats.model_copy(update={"plate": PLATE_FILE, "backgrounds": names})
    _write_png(folder / PLATE_FILE, profile.plate)
    for name, image in zip(names, profile.backgrounds, strict=True):
        _write_png(folder / name, image)
    path = folder / PROFILE_FILE
    data = {k: v for k, v in stats.model_dump().items() if OPTIONAL_DEFAULTS.get(k, ...) != v}
    text = yaml.safe_dump(_plain(data), sort_keys=False, default_flow_style=None, width=110)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write("# synthmouse appearance profile (synthmouse fit-appearance)\n" + text)
    return path


def load_profile(path: str | Path) -> AppearanceProfile:
    """Read a profile from its ``profile.yaml`` (or the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / PROFILE_FILE
    if not path.is_file():
        raise AppearanceError(f"{path}: appearance profile not found (run `synthmouse fit-appearance VIDEO`)")
    data, node = compose_yaml(path, error=AppearanceError, what="appearance profile")
    try:
        stats = ProfileFile.model_validate(data)
    except ValidationError as exc:
        problems = format_validation_error(exc, str(path), data, node, model=ProfileFile, what="the profile")
        raise AppearanceError(f"{path}: invalid appearance profile; {problems}") from None
    plate = _read_png(path.parent / stats.plate, stats.channels)
    backgrounds = [_read_png(path.parent / name, stats.channels) for name in stats.backgrounds]
    return AppearanceProfile(stats, plate, backgrounds)


# ---------------------------------------------------------------------- helpers
def _as_hwc(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise AppearanceError(f"profile {what}: expected uint8, got {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise AppearanceError(f"profile {what}: expected (H, W), (H, W, 1) or (H, W, 3), got {image.shape}")
    return np.ascontiguousarray(image)


def _squeeze(image: np.ndarray) -> np.ndarray:
    return image[..., 0] if image.shape[-1] == 1 else image


def _write_png(path: Path, image: np.ndarray) -> None:
    bgr = image[..., 0] if image.shape[-1] == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), bgr):
            raise AppearanceError(f"{path}: could not write the PNG")


def _read_png(path: Path, channels: int) -> np.ndarray:
    if not path.is_file():
        raise AppearanceError(f"{path}: profile image not found")
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    image = cv2.imread(str(path), flag)
    if image is None:
        raise AppearanceError(f"{path}: not a readable image")
    return image if channels == 1 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _plain(value):
    """Tuples to lists and numpy scalars to Python numbers, for YAML."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
