"""Time the training-free appearance step (apply_profile) per 640 x 480 frame on one core.

Prints ms/frame for the profile's own look and for a fully randomized draw (noise, gamma, contrast, JPEG,
background swaps, distractors), and the ratio against a naive full-frame float64 implementation of the same
steps (measured in the same process). The budget is 5 ms/frame.

Usage: .venv/bin/python benchmarks/bench_appearance.py [--frames 200] [--profile PROFILE_DIR]
Without --profile it fits one from ../shared/real/openfield/labeled-data/m4s1 (if present) or a synthetic
video.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from synthmouse.appearance.composite import composite_image  # noqa: E402
from synthmouse.appearance.estimate import fit_appearance, read_frames  # noqa: E402
from synthmouse.appearance.profile import AppearanceProfile, load_profile  # noqa: E402
from synthmouse.appearance.randomize import draw, frame_rng, parse_randomization  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real" / "openfield" / "labeled-data" / "m4s1"
H, W = 480, 640
RANDOM = {
    "image.noise_scale": [0.5, 2.0],
    "image.gamma": [0.8, 1.25],
    "image.contrast": [0.85, 1.15],
    "image.brightness": [-10, 10],
    "image.jpeg_quality": [60, 95],
    "image.blur_sigma_px": [0, 1.5],
    "image.animal_gain": [0.8, 1.2],
    "image.shadow_scale": [0.5, 1.5],
    "background": {"weights": {"plate": 2, "frame": 1, "texture": 1}},
    "distractors": {"count": [0, 6]},
}


def rendered_frames(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stand-in renders: a shaded mouse-sized ellipse moving over a grey rendered floor."""
    out = []
    yy, xx = np.mgrid[:H, :W]
    for i in range(n):
        rgb = np.full((H, W, 3), 150, np.uint8)
        mask = np.zeros((H, W), np.uint8)
        centre = (int(320 + 200 * np.cos(i / 7)), int(240 + 150 * np.sin(i / 5)))
        cv2.ellipse(mask, (centre, (110, 55), (i * 13) % 180), 1, -1)
        m = mask.astype(bool)
        shade = np.clip(40 + 40 * np.cos((xx - centre[0]) / 15.0), 0, 255).astype(np.uint8)
        rgb[m] = shade[m][:, None]
        out.append((rgb, m))
    return out


def naive_apply(
    rgb: np.ndarray, mask: np.ndarray, profile: AppearanceProfile, rng: np.random.Generator, params: dict
) -> np.ndarray:
    """The same steps done the obvious way: full frame, float64, three channels."""
    s = profile.stats
    plate = (
        np.repeat(profile.plate.astype(np.float64), 3, axis=2)
        if profile.grayscale
        else profile.plate.astype(np.float64)
    )
    lum = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    values = lum[mask]
    ranks = np.argsort(np.argsort(values)) / max(len(values) - 1, 1)
    matched = np.zeros_like(lum)
    matched[mask] = np.interp(ranks, np.linspace(0, 1, len(s.animal.quantiles)), s.animal.quantiles)
    illum = cv2.GaussianBlur(lum * 0 + plate[..., 0], (0, 0), 12.0) / s.floor_level
    layer = np.repeat((matched * illum)[..., None], 3, axis=2)
    alpha = mask.astype(np.float64)
    shade = np.minimum(2 * cv2.GaussianBlur(alpha, (0, 0), max(s.shadow.radius_px, 0.1)), 1) * s.shadow.strength
    background = plate * (1 - shade)[..., None]
    sigma = max(float(np.hypot(s.blur.defocus_sigma, float(params.get("image.blur_sigma_px", 0.0)))), 0.1)
    pre = cv2.GaussianBlur(layer * alpha[..., None], (0, 0), sigma)
    cover = cv2.GaussianBlur(alpha, (0, 0), sigma)[..., None]
    out = pre + (1 - cover) * background
    noise_sigma = np.sqrt(s.noise.a + s.noise.b * np.clip(out, 0, None)) * float(params.get("image.noise_scale", 1))
    out = out + rng.normal(0, 1, out.shape) * noise_sigma
    gamma = float(params.get("image.gamma", 1.0))
    out = (np.clip(out, 0, 255) / 255.0) ** gamma * 255.0
    out = (out - 128) * float(params.get("image.contrast", 1.0)) + 128 + float(params.get("image.brightness", 0))
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    quality = int(params.get("image.jpeg_quality", s.compression.jpeg_quality))
    if quality < 100:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def load_or_fit_profile(path: str | None) -> AppearanceProfile:
    if path:
        return load_profile(path)
    if REAL.is_dir():
        return fit_appearance(read_frames(REAL, 60), source=str(REAL), backgrounds=4)
    rng = np.random.default_rng(0)
    frames = []
    for i in range(30):
        f = np.full((H, W), 200, np.uint8)
        cv2.ellipse(f, ((100 + 15 * i, 240), (100, 50), 0), 40, -1)
        frames.append(np.clip(f + rng.normal(0, 2, f.shape), 0, 255).astype(np.uint8))
    return fit_appearance(np.stack(frames)[..., None], backgrounds=4)


def time_per_frame(fn, frames, repeats: int = 1) -> float:
    fn(*frames[0], 0)  # warm caches (noise bank, illumination)
    start = time.perf_counter()
    for _ in range(repeats):
        for i, (rgb, mask) in enumerate(frames):
            fn(rgb, mask, i)
    return (time.perf_counter() - start) / (repeats * len(frames)) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    profile = load_or_fit_profile(args.profile)
    spec = parse_randomization(RANDOM)
    frames = rendered_frames(args.frames)
    draws = [draw(spec, frame_rng(0, i)) for i in range(len(frames))]

    def fast_default(rgb, mask, i):
        return composite_image(rgb, mask, profile, frame_rng(0, i, 8), None)

    def fast_random(rgb, mask, i):
        return composite_image(rgb, mask, profile, frame_rng(0, i, 8), draws[i].image)

    def naive_default(rgb, mask, i):
        return naive_apply(rgb, mask, profile, frame_rng(0, i, 8), {})

    def naive_random(rgb, mask, i):
        return naive_apply(rgb, mask, profile, frame_rng(0, i, 8), draws[i].as_params())

    print(
        f"profile: {profile.stats.source or 'synthetic'} ({profile.stats.width}x{profile.stats.height}, "
        f"{profile.stats.channels} channel(s), JPEG-equivalent quality "
        f"{profile.stats.compression.jpeg_quality})"
    )
    print(f"frames: {len(frames)} of {W}x{H}, one core (cv2.setNumThreads(1))")
    for label, fast, naive in (
        ("profile look", fast_default, naive_default),
        ("randomized  ", fast_random, naive_random),
    ):
        t_fast = time_per_frame(fast, frames)
        t_naive = time_per_frame(naive, frames[: max(len(frames) // 4, 10)])
        verdict = "within" if t_fast <= 5.0 else "OVER"
        print(
            f"{label}: apply_profile {t_fast:6.2f} ms/frame | naive {t_naive:6.2f} ms/frame | "
            f"speed-up x{t_naive / t_fast:5.1f} | {verdict} the 5 ms budget"
        )


if __name__ == "__main__":
    main()
