"""Compositing a rendered view over the plate: tone matching, shadow, blur, noise, tone curve, JPEG."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from synthmouse.appearance.composite import (
    apply_profile,
    composite_image,
    jpeg_roundtrip_rgb,
    match_animal,
    motion_kernel,
    tone_lut,
)
from synthmouse.appearance.estimate import edge_spread_sigma
from synthmouse.appearance.profile import (
    AnimalStats,
    AppearanceProfile,
    BlurStats,
    CompressionStats,
    LevelsStats,
    NoiseStats,
    ProfileFile,
    ShadowStats,
    VignettingStats,
)
from synthmouse.render.base import CameraView
from synthmouse.scene.draw import BackgroundDraw, DistractorDraw, ImageDraw

H, W = 96, 128
QUANTILES = list(np.linspace(20.0, 100.0, 33))


def make_profile(
    level=200.0, noise=(0.0, 0.0), blur=0.0, motion=0.0, shadow=(0.0, 0.0), quality=100, colour=False
) -> AppearanceProfile:
    stats = ProfileFile(
        width=W,
        height=H,
        channels=3 if colour else 1,
        floor_level=level,
        levels=LevelsStats(mean=level, std=10, black=0, white=255, gamma=1.0),
        animal=AnimalStats(
            quantiles=QUANTILES,
            mean=60,
            std=20,
            area_px=500,
            frames_with_animal=10,
            colour_ratio=(1.2, 1.0, 0.8) if colour else (1.0, 1.0, 1.0),
        ),
        noise=NoiseStats(a=noise[0], b=noise[1]),
        blur=BlurStats(defocus_sigma=blur, motion_sigma=motion),
        vignetting=VignettingStats(centre=((W - 1) / 2, (H - 1) / 2), k1=0, k2=0),
        compression=CompressionStats(blockiness=1.0, jpeg_quality=quality),
        shadow=ShadowStats(strength=shadow[0], radius_px=shadow[1]),
    )
    plate = np.full((H, W, 3 if colour else 1), int(level), np.uint8)
    return AppearanceProfile(stats, plate)


def rendered_view(shading=True) -> CameraView:
    rgb = np.full((H, W, 3), 90, np.uint8)
    mask = np.zeros((H, W), np.uint8)
    cv2.ellipse(mask, ((64, 48), (50, 26), 20), 1, -1)
    mask = mask.astype(bool)
    if shading:
        xx = np.tile(np.arange(W), (H, 1))
        rgb[mask] = np.clip(30 + 1.5 * xx[mask], 0, 255).astype(np.uint8)[:, None]
    return CameraView(
        "top",
        rgb,
        np.full((H, W), 0.3, np.float32),
        mask,
        mask.astype(np.uint8),
        np.array([[64.0, 48.0]]),
        np.array([True]),
        ("nose",),
    )


def test_neutral_profile_gives_plate_outside_and_matched_animal_inside():
    view = rendered_view()
    out = apply_profile(view, make_profile(), np.random.default_rng(0))
    assert out.rgb.shape == (H, W, 3) and out.rgb.dtype == np.uint8
    assert np.array_equal(out.rgb[..., 0], out.rgb[..., 2])  # grayscale sensor
    assert np.all(out.rgb[~view.mask] == 200)
    inside = out.rgb[view.mask, 0].astype(float)
    # the real animal's quantiles are uniform on [20, 100]: matched intensities must be too
    assert inside.min() >= 19 and inside.max() <= 101
    assert np.mean(inside) == pytest.approx(60.0, abs=2.0)
    # the renderer's shading order is kept (intensity grows with x)
    xx = np.tile(np.arange(W), (H, 1))[view.mask]
    assert np.corrcoef(xx, inside)[0, 1] > 0.98
    # everything but rgb untouched
    assert out.mask is view.mask and out.keypoints is view.keypoints and out.depth is view.depth


def test_match_animal_quantiles_against_numpy():
    rng = np.random.default_rng(1)
    luma = rng.integers(0, 256, (40, 40)).astype(np.uint8)
    mask = rng.random((40, 40)) < 0.5
    out = match_animal(luma, mask, QUANTILES)
    # each pixel's mid-rank (ties averaged) mapped through the quantiles, computed independently
    values = luma[mask].astype(float)
    below = np.searchsorted(np.sort(values), values, side="left")
    equal = np.searchsorted(np.sort(values), values, side="right") - below
    rank = (below + 0.5 * equal) / values.size
    expected = np.interp(rank, np.linspace(0, 1, 33), QUANTILES)
    np.testing.assert_allclose(out[mask], expected, atol=1e-3)


def test_noise_level_follows_the_profile_and_is_seeded():
    prof = make_profile(noise=(1.0, 0.02))
    view = rendered_view()
    view.mask[:] = False
    a = apply_profile(view, prof, np.random.default_rng(5)).rgb[..., 0].astype(float)
    b = apply_profile(view, prof, np.random.default_rng(5)).rgb[..., 0].astype(float)
    c = apply_profile(view, prof, np.random.default_rng(6)).rgb[..., 0].astype(float)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    expected = math.sqrt(1.0 + 0.02 * 200)
    assert np.std(a - 200) == pytest.approx(math.sqrt(expected**2 + 1 / 12), rel=0.08)  # + rounding
    doubled = composite_image(view.rgb, view.mask, prof, np.random.default_rng(5), ImageDraw(noise_scale=2.0))
    assert np.std(doubled[..., 0].astype(float) - 200) == pytest.approx(2 * expected, rel=0.08)


def test_layer_blur_gives_the_profile_edge_spread():
    view = rendered_view(shading=False)
    out = apply_profile(view, make_profile(blur=1.5), np.random.default_rng(0))
    assert edge_spread_sigma(out.rgb[..., 0], min_step=50) == pytest.approx(1.5, abs=0.2)
    sharp = apply_profile(view, make_profile(blur=0.0), np.random.default_rng(0))
    assert edge_spread_sigma(sharp.rgb[..., 0], min_step=50) < 0.6


def test_contact_shadow_darkens_the_floor_next_to_the_animal():
    view = rendered_view(shading=False)
    out = apply_profile(view, make_profile(shadow=(0.3, 3.0)), np.random.default_rng(0)).rgb[..., 0]
    dist = cv2.distanceTransform((~view.mask).astype(np.uint8), cv2.DIST_L2, 5)
    near = out[(dist > 0) & (dist <= 1.5)].astype(float)
    far = out[dist > 20].astype(float)
    assert np.all(far == 200)
    assert 200 * (1 - 0.3) - 3 <= near.mean() <= 200 * (1 - 0.15)
    none = apply_profile(view, make_profile(shadow=(0.3, 3.0)), np.random.default_rng(0))
    assert np.array_equal(none.rgb, apply_profile(view, make_profile(shadow=(0.3, 3.0)), np.random.default_rng(0)).rgb)
    off = composite_image(
        view.rgb,
        view.mask,
        make_profile(shadow=(0.3, 3.0)),
        np.random.default_rng(0),
        ImageDraw(shadow_scale=0.0),
    )
    assert np.all(off[~view.mask] == 200)


def test_tone_lut_formula_and_identity():
    assert tone_lut() is None
    lut = tone_lut(gamma=0.5, contrast=1.2, brightness=-10)
    i = np.arange(256)
    expected = np.clip(np.round(((i / 255) ** 0.5 * 255 - 128) * 1.2 + 128 - 10), 0, 255)
    np.testing.assert_array_equal(lut, expected.astype(np.uint8))


def test_jpeg_matches_opencv_roundtrip():
    rng = np.random.default_rng(2)
    image = cv2.GaussianBlur(rng.integers(0, 256, (H, W, 3)).astype(np.uint8), (0, 0), 2)
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 40])
    expected = cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(jpeg_roundtrip_rgb(image, 40), expected)
    view = rendered_view()
    out = composite_image(view.rgb, view.mask, make_profile(quality=30), np.random.default_rng(0))
    clean = composite_image(view.rgb, view.mask, make_profile(quality=100), np.random.default_rng(0))
    np.testing.assert_array_equal(out[..., 0], jpeg_roundtrip_rgb(clean[..., 0], 30))


def test_motion_kernel_is_a_normalised_line():
    kernel = motion_kernel(9.0, 0.0)
    assert kernel.sum() == pytest.approx(1.0)
    ys, xs = np.nonzero(kernel > 1e-3)
    assert np.ptp(ys) <= 1 and 8 <= np.ptp(xs) <= 10
    vertical = motion_kernel(9.0, 90.0)
    ys, xs = np.nonzero(vertical > 1e-3)
    assert np.ptp(xs) <= 1 and 8 <= np.ptp(ys) <= 10


def test_colour_profile_and_background_sources():
    prof = make_profile(colour=True)
    view = rendered_view()
    out = apply_profile(view, prof, np.random.default_rng(0))
    inside = out.rgb[view.mask].astype(float).mean(axis=0)
    assert inside[0] > inside[1] > inside[2]  # the animal's colour ratio (1.2, 1.0, 0.8)
    rendered = composite_image(
        view.rgb, view.mask, prof, np.random.default_rng(0), ImageDraw(background=BackgroundDraw("render"))
    )
    assert np.all(rendered[~view.mask] == 90)
    texture = composite_image(
        view.rgb,
        view.mask,
        prof,
        np.random.default_rng(0),
        ImageDraw(background=BackgroundDraw("texture", texture_contrast=0.2, texture_seed=3)),
    )
    assert texture[~view.mask].std() > 10


def test_distractors_are_drawn_on_the_floor_only_and_seeded():
    view = rendered_view()
    view.mask[:] = False
    image = ImageDraw(distractors=DistractorDraw(count=6, seed=11))
    a = composite_image(view.rgb, view.mask, make_profile(), np.random.default_rng(0), image)
    b = composite_image(view.rgb, view.mask, make_profile(), np.random.default_rng(0), image)
    assert np.array_equal(a, b)
    assert (a[..., 0] < 190).sum() > 20  # dark spots
    assert np.all(a <= 200)


def test_smooth_blur_matches_full_resolution_gaussian():
    from synthmouse.appearance.composite import smooth_blur

    alpha = np.zeros((200, 240), np.float32)
    cv2.ellipse(alpha, ((120, 100), (90, 40), 30), 1.0, -1)
    for sigma in (2.0, 8.0, 12.0):
        reference = cv2.GaussianBlur(alpha, (0, 0), sigma)
        assert np.abs(smooth_blur(alpha, sigma) - reference).max() < 0.015
