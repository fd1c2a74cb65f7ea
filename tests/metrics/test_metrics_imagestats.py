"""Image statistics: brightness, contrast and the mouse's size, position and orientation, and their comparison."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from fakes.metrics import flat_renders
from synthmouse.metrics.frames import FrameSet, load_frame_set, render_masks
from synthmouse.metrics.imagestats import compare_statistic, image_statistics


def ellipse_frames(n: int, seed: int = 0) -> tuple[FrameSet, dict[str, np.ndarray]]:
    """A dark ellipse on a bright, slightly noisy floor at known places and angles (320 x 240)."""
    rng = np.random.default_rng(seed)
    images, truth = [], {"x": [], "y": [], "angle": [], "area": []}
    for _ in range(n):
        floor = np.clip(rng.normal(215, 3, (240, 320)), 0, 255).astype(np.uint8)
        centre = (int(rng.integers(60, 260)), int(rng.integers(50, 190)))
        angle_cv = float(rng.uniform(0, 180))  # OpenCV: clockwise on screen (y down)
        mask = np.zeros_like(floor)
        cv2.ellipse(mask, centre, (34, 12), angle_cv, 0, 360, 255, -1)
        floor[mask > 0] = 40
        images.append(floor)
        truth["x"].append((centre[0] + 0.5) / 320)
        truth["y"].append((centre[1] + 0.5) / 240)
        truth["angle"].append((-angle_cv) % 180)
        truth["area"].append(100 * np.count_nonzero(mask) / mask.size)
    stack = np.stack(images)
    return FrameSet("ellipses", Path("."), tuple(f"{i}" for i in range(n)), stack), {
        k: np.array(v) for k, v in truth.items()
    }


def test_statistics_recover_a_known_ellipse():
    frames, truth = ellipse_frames(12)
    stats = image_statistics(frames)
    np.testing.assert_allclose(stats["brightness"], frames.images.reshape(12, -1).mean(1))
    np.testing.assert_allclose(stats["contrast"], frames.images.reshape(12, -1).std(1), rtol=1e-6)
    np.testing.assert_allclose(stats["mouse_area"], truth["area"], rtol=0.03)
    np.testing.assert_allclose(stats["mouse_x"], truth["x"], atol=1.0 / 320)
    np.testing.assert_allclose(stats["mouse_y"], truth["y"], atol=1.0 / 240)
    gap = np.abs((stats["mouse_orientation"] - truth["angle"] + 90) % 180 - 90)
    assert gap.max() < 2.0
    np.testing.assert_allclose(stats["mouse_intensity"], 40, atol=2)


def test_render_masks_of_a_synthmouse_dataset_give_the_labelled_mouse_area(tmp_path_factory):
    import json

    root = flat_renders(tmp_path_factory)
    frames = load_frame_set(root, "synthetic")
    stats = image_statistics(frames, render_masks(frames))
    for i, key in enumerate(frames.keys):
        row = json.loads((root / ".synthmouse" / "rows" / f"{int(Path(key).stem[3:]):08d}.json").read_text())
        view = row["views"][0]
        assert stats["mouse_area"][i] == pytest.approx(100 * view["area"] / (view["width"] * view["height"]))
        x0, y0, w, h = view["bbox"]  # COCO corner box: the centroid lies inside it
        assert x0 <= stats["mouse_x"][i] * view["width"] <= x0 + w
        assert y0 <= stats["mouse_y"][i] * view["height"] <= y0 + h
    assert stats["mouse_intensity"].max() < 0.6 * stats["brightness"].min()  # a black mouse on a white floor
    assert render_masks(FrameSet("plain", Path("."), ("a.png",), frames.images[:1])) is None


def test_comparison_overlap_and_coverage():
    rng = np.random.default_rng(1)
    a = rng.normal(100, 5, 300)
    same = compare_statistic("brightness", a, a.copy())
    assert same.overlap == pytest.approx(1.0) and same.outside == 0.0
    apart = compare_statistic("brightness", a, a + 100)
    assert apart.overlap == 0.0 and apart.outside == 1.0 and len(apart.outside_frames) == 300
    assert same.status == "matches" and apart.status == "differs" and apart.difference == pytest.approx(100)
    # outside = more than the tolerance (the real std, 1.89 here) beyond the synthetic range [4, 6]
    real = np.array([1.0, 5, 5, 5, 5, 5, 5, 5, 9, np.nan, 7.5])
    partly = compare_statistic("brightness", real, np.array([4.0, 6.0]))
    assert partly.tolerance == pytest.approx(np.nanstd(real))
    assert partly.outside == pytest.approx(2 / 10) and partly.outside_frames == (0, 8)  # 7.5 is within 1.89 of 6
    assert partly.status == "narrower"  # same median (5), but 20 % of the real frames lie outside the synthetic range
    wrap = compare_statistic("mouse_orientation", np.array([179.0, 2.0, 90.0]), np.array([1.0, 178.0]))
    assert wrap.outside_frames == (2,)  # 179 and 2 degrees are close to 1 and 178 across the wrap
