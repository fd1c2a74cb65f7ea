"""Appearance estimators against synthetic videos with known plate, noise, blur, vignetting and
compression."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from scipy.special import erf

from synthmouse.appearance.estimate import (
    background_plate,
    blockiness,
    contact_shadow,
    edge_spread_sigma,
    equivalent_jpeg_quality,
    fit_appearance,
    jpeg_roundtrip,
    noise_curve,
    read_frames,
    vignetting_fit,
)
from synthmouse.appearance.profile import AppearanceError, load_profile, save_profile

H, W = 120, 160


def vignetted_plate(level=200.0, k1=-0.25, k2=-0.1) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W].astype(np.float64)
    cx, cy = (W - 1) / 2, (H - 1) / 2
    r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / (cx**2 + cy**2)
    return level * (1 + k1 * r2 + k2 * r2 * r2)


def synthetic_video(n=40, animal=40.0, a=1.0, b=0.02, seed=0, shadow=0.0):
    """Frames of a vignetted floor with a dark ellipse moving on a circle; Poisson-Gaussian noise."""
    rng = np.random.default_rng(seed)
    plate = vignetted_plate()
    frames, masks = [], []
    for i in range(n):
        clean = plate.copy()
        mask = np.zeros((H, W), np.uint8)
        angle = 2 * math.pi * i / n
        centre = (int(W / 2 + 45 * math.cos(angle)), int(H / 2 + 30 * math.sin(angle)))
        cv2.ellipse(mask, (centre, (26, 14), math.degrees(angle)), 1, -1)
        m = mask.astype(bool)
        if shadow:
            dist = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 5)
            clean *= 1.0 - shadow * np.exp(-np.maximum(dist - 1.0, 0) / 3.0) * (dist > 0)
        clean[m] = animal * clean[m] / 200.0  # the animal is lit like the floor under it
        noisy = clean + rng.standard_normal(clean.shape) * np.sqrt(a + b * clean)
        frames.append(np.clip(np.round(noisy), 0, 255).astype(np.uint8))
        masks.append(m)
    return np.stack(frames)[..., None], plate, np.stack(masks)


def test_plate_removes_the_moving_animal_and_keeps_the_floor():
    frames, plate, _ = synthetic_video()
    estimate = background_plate(frames)[..., 0].astype(float)
    assert np.abs(estimate - plate).mean() < 0.8
    assert np.abs(estimate - plate).max() < 6.0  # no dark animal left anywhere


def test_noise_curve_recovers_poisson_gaussian_parameters():
    rng = np.random.default_rng(3)
    ramp = np.tile(np.linspace(20, 235, W), (H, 1))  # smooth: all intensities, no structure
    a, b = 2.0, 0.03
    frames = np.stack(
        [np.clip(np.round(ramp + rng.standard_normal(ramp.shape) * np.sqrt(a + b * ramp)), 0, 255) for _ in range(20)]
    ).astype(np.uint8)[..., None]
    stats = noise_curve(frames, np.round(ramp).astype(np.uint8)[..., None])
    for intensity in (50.0, 128.0, 220.0):
        assert stats.sigma(intensity) == pytest.approx(math.sqrt(a + b * intensity), rel=0.08)


@pytest.mark.parametrize("sigma", [0.8, 1.5, 2.5])
def test_edge_spread_sigma_matches_a_gaussian_blurred_step(sigma):
    yy, xx = np.mgrid[:H, :W].astype(np.float64)
    # a slanted straight step edge, blurred analytically (erf), sampled at pixel centres
    d = (xx - 80.3) * math.cos(0.2) + (yy - 60) * math.sin(0.2)
    image = 60 + 140 * 0.5 * (1 + erf(d / (sigma * math.sqrt(2))))
    assert edge_spread_sigma(image) == pytest.approx(sigma, abs=0.12)


def test_vignetting_fit_recovers_radial_falloff():
    stats = vignetting_fit(vignetted_plate(180, -0.3, 0.05).astype(np.float32), np.ones((H, W), bool))
    assert stats.k1 == pytest.approx(-0.3, abs=1e-3)
    assert stats.k2 == pytest.approx(0.05, abs=1e-3)


def test_blockiness_and_equivalent_jpeg_quality():
    rng = np.random.default_rng(0)
    base = np.clip(vignetted_plate() + rng.normal(0, 3, (H, W)), 0, 255).astype(np.uint8)
    assert blockiness(base) == pytest.approx(1.0, abs=0.05)
    low = jpeg_roundtrip(base, 20)
    assert blockiness(low) > 1.5
    measured = blockiness(jpeg_roundtrip(base, 40))
    assert 25 <= equivalent_jpeg_quality(measured, base) <= 55


def test_contact_shadow_strength():
    frames, plate, masks = synthetic_video(n=20, a=0.01, b=0.0, shadow=0.3)
    stats = contact_shadow(frames[..., 0].astype(np.float32), plate.astype(np.float32), masks)
    # darkening at 2 px: 0.3 * exp(-1/3) = 0.215 (ring pixels span 1..2 px, so allow the neighbouring values)
    assert 0.17 < stats.strength < 0.28
    assert 2.0 <= stats.radius_px <= 5.0


def test_fit_appearance_end_to_end_and_roundtrip(tmp_path):
    frames, plate, _ = synthetic_video(n=40, animal=40.0)
    profile = fit_appearance(frames, source="synthetic", backgrounds=2)
    s = profile.stats
    assert (s.width, s.height, s.channels) == (W, H, 1)
    assert s.floor_level == pytest.approx(
        np.median(plate[H // 2 - 30 : H // 2 + 30, W // 2 - 45 : W // 2 + 45]), rel=0.05
    )
    # animal intensity / illumination = 40 * floor / 200 / (floor / floor_level) ~ 40 * floor_level / 200
    assert s.animal.mean == pytest.approx(40.0 * s.floor_level / 200.0, rel=0.1)
    assert s.noise.sigma(150.0) == pytest.approx(math.sqrt(1.0 + 0.02 * 150), rel=0.15)
    assert s.vignetting.k1 == pytest.approx(-0.25, abs=0.05)
    assert s.compression.jpeg_quality >= 95  # never compressed
    assert len(profile.backgrounds) == 2
    path = save_profile(profile, tmp_path / "prof")
    again = load_profile(path)
    assert again.stats == profile.stats.model_copy(update={"backgrounds": ["background_000.png", "background_001.png"]})
    np.testing.assert_array_equal(again.plate, profile.plate)
    np.testing.assert_array_equal(again.backgrounds[1], profile.backgrounds[1])


def test_profile_file_errors_name_the_field(tmp_path):
    frames, _, _ = synthetic_video(n=10)
    path = save_profile(fit_appearance(frames), tmp_path)
    text = path.read_text().replace("floor_level:", "floor_levle:")
    path.write_text(text)
    with pytest.raises(AppearanceError, match="floor_levle"):
        load_profile(path)


def test_read_frames_from_folder_detects_grayscale(tmp_path):
    frames, _, _ = synthetic_video(n=6)
    for i, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"img{i:03d}.png"), f[..., 0])
    read = read_frames(tmp_path, max_frames=4)
    assert read.shape == (4, H, W, 1)
    np.testing.assert_array_equal(read[0], frames[0])
    with pytest.raises(AppearanceError, match="no such video"):
        read_frames(tmp_path / "missing.mp4")


def test_animal_cores_split_off_the_cast_shadow():
    from synthmouse.appearance.estimate import animal_cores, cast_shadow_stats

    yy, xx = np.mgrid[:H, :W]
    r = np.hypot(xx - 80, yy - 60)
    plate = np.full((H, W), 200.0, np.float32)
    frame = plate.copy()
    frame[r < 16] = 200 * 0.6  # shadow: 40 % darker
    frame[r < 10] = 200 * 0.15  # the dark animal
    fg = r < 16
    cores = animal_cores(frame[None], plate, fg[None])
    assert np.array_equal(cores[0], r < 10)
    stats = cast_shadow_stats(frame[None], plate, cores, (fg & ~cores[0])[None])
    assert stats.strength == pytest.approx(0.4, abs=1e-6)
    # median distance of an annulus 10..16 from the disc: (10 + d)^2 = (100 + 256) / 2 -> d = 3.34
    assert stats.radius_px == pytest.approx(3.34, abs=0.7)
    # a light animal: its brighter-than-floor pixels are the animal
    light = plate.copy()
    light[r < 16] = 120
    light[r < 10] = 250
    assert np.array_equal(animal_cores(light[None], plate, fg[None])[0], r < 10)
