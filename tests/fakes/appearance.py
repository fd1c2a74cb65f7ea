"""A grayscale appearance profile the renderer could never draw itself (a gradient plate with a checker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
    save_profile,
)

NOISE_SIGMA = 2.0  # the profile's sensor noise (DN)
ANIMAL_DN = (20.0, 60.0)  # the real animal's intensity range in the profile


def write_checker_profile(folder: Path, width: int, height: int) -> Path:
    """Save the profile into ``folder``; returns its ``profile.yaml``."""
    yy, xx = np.mgrid[0:height, 0:width]
    plate = 150 + 0.6 * xx - 0.4 * yy + 12 * (((xx // 8) + (yy // 8)) % 2)
    frame = np.clip(plate + 25 * np.sin(xx / 5.0), 0, 255)
    stats = ProfileFile(
        width=width,
        height=height,
        channels=1,
        floor_level=180.0,
        levels=LevelsStats(mean=170, std=20, black=10, white=250, gamma=1.0),
        animal=AnimalStats(
            quantiles=list(np.linspace(*ANIMAL_DN, 33)), mean=40, std=10, area_px=200, frames_with_animal=10
        ),
        noise=NoiseStats(a=NOISE_SIGMA**2, b=0.0),
        blur=BlurStats(defocus_sigma=0.0, motion_sigma=0.0),
        vignetting=VignettingStats(centre=((width - 1) / 2, (height - 1) / 2), k1=0, k2=0),
        compression=CompressionStats(blockiness=1.0, jpeg_quality=100),
        shadow=ShadowStats(strength=0.0, radius_px=0.0),
    )
    return save_profile(AppearanceProfile(stats, plate.astype(np.uint8), [frame.astype(np.uint8)]), folder)
