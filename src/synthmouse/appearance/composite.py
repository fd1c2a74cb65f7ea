"""Compositing: a rendered view over the real background plate, made to look like the user's camera.

:func:`apply_profile` is the whole image-space step of a frame. In order:

1. background: the profile's plate (or a real background frame, a procedural floor texture, or the rendered
   rig, per ``image.background.source``), with optional flat distractors (``image.distractors``) drawn on the
   floor;
2. the rendered animal (``view.mask``, plus any ``foreground`` props) is tone-matched to the real animal:
   its luma ranks are mapped onto the real animal's intensity quantiles (so the renderer's shading pattern is
   kept and its levels become the real ones), times the plate's local illumination and ``animal_gain``;
3. a contact shadow (the silhouette blurred by the profile's shadow radius) darkens the floor around it;
4. the layer is blurred (the profile's defocus and motion blur, plus ``blur_sigma_px`` and an optional
   linear ``motion_blur_px`` kernel) and alpha-composited with its equally blurred mask;
5. sensor noise with the profile's intensity-dependent sigma (times ``noise_scale``);
6. tone jitter (``gamma``, ``contrast``, ``brightness``) as one 8-bit look-up table;
7. JPEG at ``jpeg_quality`` (default: the profile's equivalent quality; 100 skips it).

The values come from the frame's :class:`~synthmouse.scene.draw.ImageDraw` (``draw.image``); a value left
``None`` uses the profile's measured value and no jitter.

All per-pixel work on the animal happens inside its padded bounding box; full-frame work is a handful of
vectorised passes (about 2 ms for 640 x 480 grayscale on one core; ``benchmarks/bench_appearance.py``).
Keypoints, depth, mask and parts are unchanged: only ``rgb`` is replaced.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from synthmouse.scene.draw import BackgroundDraw, DistractorDraw, ImageDraw

from .profile import AppearanceError, AppearanceProfile

NO_DRAW = ImageDraw()  # the profile's own look
DEFAULT_TEXTURE_SCALE_PX = 16.0
DEFAULT_TEXTURE_CONTRAST = 0.15

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def apply_profile(
    view,
    profile: AppearanceProfile,
    rng: np.random.Generator,
    image: ImageDraw | None = None,
    foreground: np.ndarray | None = None,
):
    """The view with its ``rgb`` replaced by the composite (see the module docstring).

    Args:
        view: a :class:`synthmouse.render.base.CameraView` (``rgb (H, W, 3) uint8``, ``mask (H, W) bool``).
        profile: the appearance profile (resized to the view if its size differs).
        rng: this frame's generator (noise placement).
        image: this frame's image draw (``draw.image`` of :func:`synthmouse.appearance.randomize.draw`);
            None values (or None) use the profile's measured values and no jitter.
        foreground: ``(H, W) bool`` extra rendered pixels to keep (props near the animal), or None.

    Returns:
        A new ``CameraView`` whose ``rgb`` is ``(H, W, 3) uint8`` (grayscale profiles repeat one channel).
    """
    rgb = composite_image(view.rgb, view.mask, profile, rng, image, foreground)
    return dataclasses.replace(view, rgb=rgb)


def composite_image(
    rgb: np.ndarray,
    mask: np.ndarray,
    profile: AppearanceProfile,
    rng: np.random.Generator,
    image: ImageDraw | None = None,
    foreground: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`apply_profile` on plain arrays: ``rgb (H, W, 3) uint8`` and ``mask (H, W) bool`` in,
    ``(H, W, 3) uint8`` out."""
    draw = image or NO_DRAW
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise AppearanceError(f"apply_profile: view.rgb must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    h, w = rgb.shape[:2]
    if mask.shape != (h, w):
        raise AppearanceError(f"apply_profile: mask shape {mask.shape} differs from the image {(h, w)}")
    prof = profile.resized(w, h)
    layer_mask = mask if foreground is None else (mask | foreground)
    canvas = background(prof, rgb, draw.background or BackgroundDraw())
    add_distractors(canvas, prof, draw.distractors or DistractorDraw())
    if layer_mask.any():
        composite_layer(canvas, rgb, layer_mask, prof, draw)
    out = finish(canvas, prof, draw, rng)
    if out.ndim == 2:
        return cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)
    return out


# ---------------------------------------------------------------------- background
def background(profile: AppearanceProfile, rgb: np.ndarray, draw: BackgroundDraw) -> np.ndarray:
    """A fresh float32 background, ``(H, W)`` for grayscale profiles or ``(H, W, 3)``."""
    source = draw.source
    if source == "plate":
        return profile.plate_f32.copy()
    if source == "frame":
        if not profile.backgrounds:
            return profile.plate_f32.copy()
        index = min(int(float(draw.pick) * len(profile.backgrounds)), len(profile.backgrounds) - 1)
        image = profile.backgrounds[index]
        return (image[..., 0] if profile.grayscale else image).astype(np.float32)
    if source == "render":
        if profile.grayscale:
            return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return rgb.astype(np.float32)
    if source == "texture":
        return _texture_background(profile, draw)
    raise AppearanceError(f"background.source {source!r} is not one of plate, frame, texture, render")


def _texture_background(profile: AppearanceProfile, draw: BackgroundDraw) -> np.ndarray:
    """Procedural two-octave noise texture on the floor (lit by the plate's illumination), plate elsewhere."""
    h, w = profile.stats.height, profile.stats.width
    rs = np.random.default_rng(int(draw.texture_seed))
    scale = max(float(_or(draw.texture_scale_px, DEFAULT_TEXTURE_SCALE_PX)), 1.0)
    contrast = float(_or(draw.texture_contrast, DEFAULT_TEXTURE_CONTRAST))
    texture = np.zeros((h, w), np.float32)
    for octave, weight in ((scale, 1.0), (max(scale / 4.0, 1.0), 0.5)):
        small = rs.standard_normal((int(h / octave) + 2, int(w / octave) + 2)).astype(np.float32)
        texture += weight * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    texture *= contrast / max(float(texture.std()), 1e-6)
    floor = profile.stats.floor_level * (1.0 + texture) * profile.illumination
    weight = cv2.GaussianBlur(profile.floor_mask.astype(np.float32), (0, 0), 2.0)
    if profile.grayscale:
        return weight * floor + (1.0 - weight) * profile.plate_f32
    return weight[..., None] * floor[..., None] + (1.0 - weight[..., None]) * profile.plate_f32


def add_distractors(canvas: np.ndarray, profile: AppearanceProfile, draw: DistractorDraw) -> None:
    """Draw ``draw.count`` small dark ellipses on floor pixels of ``canvas`` (in place)."""
    count = int(draw.count)
    if count <= 0:
        return
    rs = np.random.default_rng(int(draw.seed))
    floor = profile.__dict__.get("_floor_index")
    if floor is None:
        floor = profile.__dict__["_floor_index"] = np.flatnonzero(profile.floor_mask)
    if floor.size == 0:
        return
    h, w = canvas.shape[:2]
    sigma = max(profile.stats.blur.defocus_sigma, 0.3)
    for _ in range(count):
        centre = int(floor[rs.integers(floor.size)])
        cy, cx = divmod(centre, w)
        a, b = rs.uniform(2.0, 6.0, 2)
        darkness = rs.uniform(0.3, 0.8)
        angle = rs.uniform(0.0, 180.0)
        r = int(math.ceil(max(a, b) + 3 * sigma + 2))
        y0, y1, x0, x1 = max(cy - r, 0), min(cy + r + 1, h), max(cx - r, 0), min(cx + r + 1, w)
        patch = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.ellipse(patch, ((cx - x0, cy - y0), (2 * a, 2 * b), angle), 1.0, -1, cv2.LINE_AA)
        patch = cv2.GaussianBlur(patch, (0, 0), sigma) * darkness
        region = canvas[y0:y1, x0:x1]
        region *= (1.0 - patch) if region.ndim == 2 else (1.0 - patch)[..., None]


# ---------------------------------------------------------------------- the animal layer
def composite_layer(
    canvas: np.ndarray, rgb: np.ndarray, mask: np.ndarray, profile: AppearanceProfile, draw: ImageDraw
) -> None:
    """Tone-match, shade, shadow, blur and alpha-composite the rendered layer onto ``canvas`` (in place)."""
    stats = profile.stats
    shadow_strength = stats.shadow.strength * float(_or(draw.shadow_scale, 1.0))
    shadow_radius = stats.shadow.radius_px
    sigma = layer_blur_sigma(profile, draw)
    motion_len = float(_or(draw.motion_blur_px, 0.0))
    pad = int(math.ceil(3.0 * max(sigma, shadow_radius) + motion_len / 2.0)) + 2
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    y0, y1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, h)
    x0, x1 = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, w)
    m = mask[y0:y1, x0:x1]
    alpha = m.astype(np.float32)

    layer = match_animal(
        cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY), m, stats.animal.quantiles
    )
    layer *= profile.illumination[y0:y1, x0:x1] * np.float32(_or(draw.animal_gain, 1.0))
    region = canvas[y0:y1, x0:x1]
    colour = not profile.grayscale
    if shadow_strength > 0 and shadow_radius > 0:
        shade = np.minimum(2.0 * smooth_blur(alpha, shadow_radius), 1.0) * np.float32(shadow_strength)
        region *= (1.0 - shade)[..., None] if colour else (1.0 - shade)
    premult = layer * alpha
    premult = _blur(premult, sigma, motion_len, draw)
    cover = _blur(alpha, sigma, motion_len, draw)
    if colour:
        ratio = np.asarray(stats.animal.colour_ratio, np.float32)
        region[...] = premult[..., None] * ratio + (1.0 - cover)[..., None] * region
    else:
        region[...] = premult + (1.0 - cover) * region


def smooth_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``(h, w) float32``; wide kernels (sigma over 3 px) run on a 2-4x smaller copy (the
    result is smooth, so the linear upsampling error is far below one grey level)."""
    factor = int(min(4, max(1, sigma // 3)))
    if factor == 1:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(w // factor, 1), max(h // factor, 1)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def layer_blur_sigma(profile: AppearanceProfile, draw: ImageDraw) -> float:
    """Gaussian sigma (pixels) for the rendered layer: profile defocus, profile motion (unless a linear motion
    kernel is drawn) and ``blur_sigma_px``, added in quadrature."""
    blur = profile.stats.blur
    motion = 0.0 if draw.motion_blur_px is not None else blur.motion_sigma
    extra = float(_or(draw.blur_sigma_px, 0.0))
    return math.sqrt(blur.defocus_sigma**2 + motion**2 + extra**2)


def _blur(image: np.ndarray, sigma: float, motion_len: float, draw: ImageDraw) -> np.ndarray:
    if sigma > 0.05:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    if motion_len >= 1.0:
        image = cv2.filter2D(image, -1, motion_kernel(motion_len, float(_or(draw.motion_blur_angle_deg, 0.0))))
    return image


def _or(value: float | int | None, default: float | int) -> float | int:
    """``value``, or ``default`` when it was not drawn."""
    return default if value is None else value


def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """``(k, k) float32`` normalised line kernel of ``length`` pixels at ``angle_deg`` (anti-aliased)."""
    k = int(math.ceil(length)) | 1
    kernel = np.zeros((k + 2, k + 2), np.float32)
    c = (k + 1) / 2.0
    dx, dy = (
        0.5 * length * math.cos(math.radians(angle_deg)),
        0.5 * length * math.sin(math.radians(angle_deg)),
    )
    shift = 4
    scale = 1 << shift
    p0 = (round((c - dx) * scale), round((c - dy) * scale))
    p1 = (round((c + dx) * scale), round((c + dy) * scale))
    cv2.line(kernel, p0, p1, 1.0, 1, cv2.LINE_AA, shift)
    total = kernel.sum()
    if total <= 0:
        kernel[int(c), int(c)] = 1.0
        total = 1.0
    return kernel / total


def match_animal(luma_u8: np.ndarray, mask: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Map rendered luma onto the real animal's intensity distribution (histogram matching over ``mask``).

    Args:
        luma_u8: ``(h, w) uint8`` rendered luma; mask ``(h, w) bool`` the animal's pixels.
        quantiles: real animal luma at ``linspace(0, 1, len(quantiles))``.

    Returns:
        ``(h, w) float32``: each pixel's mid-rank among the masked pixels, mapped through the quantiles
        (pixels
        outside the mask get the value of their luma too; they are weighted out by the alpha).
    """
    hist = np.bincount(luma_u8[mask], minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return np.zeros(luma_u8.shape, np.float32)
    cdf = (np.cumsum(hist) - 0.5 * hist) / total
    levels = np.linspace(0.0, 1.0, len(quantiles))
    lut = np.interp(cdf, levels, np.asarray(quantiles, np.float64)).astype(np.float32)
    return cv2.LUT(luma_u8, lut)


# ---------------------------------------------------------------------- sensor, tone, compression
def finish(canvas: np.ndarray, profile: AppearanceProfile, draw: ImageDraw, rng: np.random.Generator) -> np.ndarray:
    """Noise, tone curve and JPEG: float32 canvas to ``(H, W)`` or ``(H, W, 3) uint8``."""
    add_noise(canvas, profile, float(_or(draw.noise_scale, 1.0)), rng)
    out = cv2.add(canvas, 0.0, dtype=cv2.CV_8U)  # round and saturate
    lut = tone_lut(float(_or(draw.gamma, 1.0)), float(_or(draw.contrast, 1.0)), float(_or(draw.brightness, 0.0)))
    if lut is not None:
        out = cv2.LUT(out, lut)
    quality = int(_or(draw.jpeg_quality, profile.stats.compression.jpeg_quality))
    if quality < 100:
        out = jpeg_roundtrip_rgb(out, quality)
    return out


def add_noise(canvas: np.ndarray, profile: AppearanceProfile, scale: float, rng: np.random.Generator) -> None:
    """Add zero-mean Gaussian noise of sigma ``scale * sigma(I)`` to ``canvas`` in place.

    The normals come from the profile's fixed noise bank at an offset drawn from ``rng`` (cheap; the bank is
    1024 x 1024, so frames up to that size never repeat a pattern at the same pixel unless offsets collide).
    """
    if scale <= 0:
        return
    stats = profile.stats.noise
    if stats.a == 0.0 and stats.b == 0.0:
        return
    channels = 1 if canvas.ndim == 2 else canvas.shape[2]
    for c in range(channels):
        plane = canvas if canvas.ndim == 2 else canvas[..., c]
        normals = _normals(profile, plane.shape, rng)
        if stats.b == 0.0:
            plane += normals * np.float32(scale * math.sqrt(stats.a))
        else:
            index = cv2.add(plane, 0.0, dtype=cv2.CV_8U)
            sigma = cv2.LUT(index, profile.noise_sigma_lut)
            plane += normals * sigma * np.float32(scale) if scale != 1.0 else normals * sigma


def _normals(profile: AppearanceProfile, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    bank = profile.noise_bank
    h, w = shape
    if h > bank.shape[0] or w > bank.shape[1]:
        return rng.standard_normal((h, w), dtype=np.float32)
    oy = int(rng.integers(0, bank.shape[0] - h + 1))
    ox = int(rng.integers(0, bank.shape[1] - w + 1))
    return bank[oy : oy + h, ox : ox + w]


def tone_lut(gamma: float = 1.0, contrast: float = 1.0, brightness: float = 0.0) -> np.ndarray | None:
    """``(256,) uint8`` look-up table ``((i / 255) ** gamma * 255 - 128) * contrast + 128 + brightness``;
    None for the identity."""
    if gamma == 1.0 and contrast == 1.0 and brightness == 0.0:
        return None
    if gamma <= 0:
        raise AppearanceError(f"image.gamma {gamma} must be > 0")
    x = np.arange(256, dtype=np.float64) / 255.0
    y = (x**gamma * 255.0 - 128.0) * contrast + 128.0 + brightness
    return np.clip(np.round(y), 0, 255).astype(np.uint8)


def jpeg_roundtrip_rgb(image: np.ndarray, quality: int) -> np.ndarray:
    """``(H, W)`` or ``(H, W, 3)`` RGB uint8 through OpenCV's JPEG at ``quality`` (1..100)."""
    if not 1 <= quality <= 100:
        raise AppearanceError(f"image.jpeg_quality {quality} must be in 1..100")
    data = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buffer = cv2.imencode(".jpg", data, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise AppearanceError(f"JPEG encoding failed for an image of shape {image.shape}")
    if image.ndim == 2:
        return cv2.imdecode(buffer, cv2.IMREAD_GRAYSCALE)
    return cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------------- cameras without a profile
NOMINAL_NOISE_SIGMA_DN = 2.0
"""Sensor noise sigma (DN) that ``image.noise_scale`` multiplies on a camera without an appearance profile."""


def has_image_effects(image: ImageDraw | None) -> bool:
    """True when ``image`` sets an image-space value that applies without a profile (noise, blur, motion blur,
    tone, JPEG, animal gain)."""
    if image is None:
        return False
    keys = ("noise_scale", "blur_sigma_px", "motion_blur_px", "gamma", "brightness", "contrast", "jpeg_quality")
    return any(getattr(image, k) is not None for k in (*keys, "animal_gain"))


def apply_image(view, rng: np.random.Generator, image: ImageDraw | None):
    """The view with the frame's image draw applied to its own render (a camera without an appearance profile).

    In order: ``animal_gain`` on the animal's pixels (``view.mask``), a Gaussian blur of ``blur_sigma_px`` and a
    linear motion blur of ``motion_blur_px`` over the whole image, Gaussian noise of sigma
    ``noise_scale *`` :data:`NOMINAL_NOISE_SIGMA_DN`, the tone curve (``gamma``, ``contrast``, ``brightness``)
    and JPEG at ``jpeg_quality``; values left None do nothing (``shadow_scale`` needs a profile).
    """
    rgb = render_effects(view.rgb, view.mask, rng, image or NO_DRAW)
    return dataclasses.replace(view, rgb=rgb)


def render_effects(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator, draw: ImageDraw) -> np.ndarray:
    """:func:`apply_image` on arrays: ``rgb (H, W, 3) uint8`` and ``mask (H, W) bool`` in, ``(H, W, 3) uint8`` out."""
    canvas = np.asarray(rgb).astype(np.float32)
    if draw.animal_gain is not None and mask.any():
        canvas[mask] *= np.float32(draw.animal_gain)
    canvas = _blur(canvas, float(_or(draw.blur_sigma_px, 0.0)), float(_or(draw.motion_blur_px, 0.0)), draw)
    if draw.noise_scale is not None and draw.noise_scale > 0:
        sigma = np.float32(draw.noise_scale * NOMINAL_NOISE_SIGMA_DN)
        canvas += rng.standard_normal(canvas.shape[:2], dtype=np.float32)[..., None] * sigma
    out = cv2.add(canvas, 0.0, dtype=cv2.CV_8U)
    lut = tone_lut(float(_or(draw.gamma, 1.0)), float(_or(draw.contrast, 1.0)), float(_or(draw.brightness, 0.0)))
    if lut is not None:
        out = cv2.LUT(out, lut)
    quality = int(_or(draw.jpeg_quality, 100))
    return jpeg_roundtrip_rgb(out, quality) if quality < 100 else out
