"""Domain randomization ranges, seeded per-frame typed draws, their flat frames.csv keys and the camera jitter
they drive."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthmouse.appearance.profile import AppearanceError
from synthmouse.appearance.randomize import (
    RandomizationSpec,
    draw,
    draw_body_shape,
    frame_rng,
    kelvin_to_rgb,
    parse_randomization,
)
from synthmouse.scene.camera import Camera
from synthmouse.scene.draw import BodyDraw, CameraDraw, FrameDraw, jitter_camera

RANGES = {
    "light.azimuth_deg": [0, 360],
    "light.temperature_k": [3000, 6500],
    "camera.position_m": [-0.01, 0.01],
    "camera.focal_scale": [0.95, 1.05],
    "body.fur_albedo_scale": [0.7, 1.3],
    "image.noise_scale": [0.5, 2.0],
    "image.jpeg_quality": [60, 95],
    "image.gamma": [0.8, 1.25],
}


def test_flat_and_nested_forms_are_the_same_spec():
    flat = parse_randomization(RANGES)
    nested = parse_randomization(
        {
            "light": {"azimuth_deg": [0, 360], "temperature_k": [3000, 6500]},
            "camera": {"position_m": [-0.01, 0.01], "focal_scale": [0.95, 1.05]},
            "body": {"fur_albedo_scale": [0.7, 1.3]},
            "image": {"noise_scale": [0.5, 2.0], "jpeg_quality": [60, 95], "gamma": [0.8, 1.25]},
        }
    )
    assert flat == nested


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"image.nosie_scale": [0, 1]}, "nosie_scale"),
        ({"image.gamma": [2, 1]}, "low <= high"),
        ({"background": {"weights": {"video": 1}}}, "unknown background source"),
        ({"lights.azimuth_deg": [0, 1]}, "lights"),
    ],
)
def test_invalid_ranges_name_the_key(bad, match):
    with pytest.raises(AppearanceError, match=match):
        parse_randomization(bad)


def test_draw_values_in_range_and_reproducible():
    spec = parse_randomization(RANGES)
    for frame in range(50):
        typed = draw(spec, frame_rng(4, frame))
        assert typed == draw(spec, frame_rng(4, frame))
        assert 0 <= typed.light.azimuth_deg <= 360 and typed.image.blur_sigma_px is None
        assert typed.light.colour == kelvin_to_rgb(typed.light.temperature_k)
        d = typed.as_params()
        assert 0 <= d["light.azimuth_deg"] <= 360
        assert isinstance(d["image.jpeg_quality"], int) and 60 <= d["image.jpeg_quality"] <= 95
        for axis in "xyz":
            assert -0.01 <= d[f"camera.d{axis}_m"] <= 0.01
        assert d["background.source"] == "plate"
        assert "image.blur_sigma_px" not in d  # not randomized: absent
    assert draw(spec, frame_rng(4, 0)) != draw(spec, frame_rng(4, 1))
    assert draw(spec, frame_rng(4, 0)) != draw(spec, frame_rng(5, 0))


def test_flat_params_keep_the_draw_order_and_read_back():
    spec = parse_randomization({**RANGES, "background": {"weights": {"texture": 1}}, "distractors.count": [1, 4]})
    typed = draw(spec, frame_rng(2, 3))
    params = typed.as_params()
    assert list(params)[:8] == [
        "light.azimuth_deg",
        "light.temperature_k",
        "light.colour_r",
        "light.colour_g",
        "light.colour_b",
        "camera.dx_m",
        "camera.dy_m",
        "camera.dz_m",
    ]
    assert list(params)[-7:] == [
        "background.source",
        "background.pick",
        "background.texture_contrast",
        "background.texture_scale_px",
        "background.texture_seed",
        "distractors.count",
        "distractors.seed",
    ]
    assert FrameDraw.from_params(params) == typed
    assert FrameDraw.from_params({k: str(v) for k, v in params.items()}) == typed  # a frames.csv row
    bare = typed.without_compositing()
    assert bare.image.background is None and not any(k.startswith("background.") for k in bare.as_params())


def test_segment_body_shape_replaces_the_frame_shape():
    spec = parse_randomization({"body.length_scale": [0.9, 1.1], "body.fur_albedo_scale": [0.8, 1.2]})
    shape = draw_body_shape(spec, 4, 12)
    assert shape == draw_body_shape(spec, 4, 12) and shape.girth_scale is None and shape.fur_albedo_scale is None
    assert 0.9 <= shape.length_scale <= 1.1
    frame = draw(spec, frame_rng(4, 100))
    shaped = frame.with_body_shape(shape)
    assert shaped.body == BodyDraw(frame.body.fur_albedo_scale, shape.length_scale, None)
    assert shaped.light == frame.light and shaped.image == frame.image


def test_adding_a_range_keeps_the_other_draws():
    base = parse_randomization(RANGES)
    more = parse_randomization({**RANGES, "image.blur_sigma_px": [0, 2], "distractors.count": [0, 5]})
    a, b = draw(base, frame_rng(1, 7)).as_params(), draw(more, frame_rng(1, 7)).as_params()
    for key, value in a.items():
        if key != "distractors.seed":
            assert b[key] == value
    assert 0 <= b["image.blur_sigma_px"] <= 2


def test_background_weights_and_integer_counts_are_respected():
    spec = parse_randomization(
        {"background": {"weights": {"plate": 2, "frame": 1, "texture": 1}}, "distractors": {"count": [1, 3]}}
    )
    draws = [draw(spec, frame_rng(0, i)).as_params() for i in range(2000)]
    sources = [d["background.source"] for d in draws]
    assert sources.count("plate") / 2000 == pytest.approx(0.5, abs=0.04)
    assert sources.count("texture") / 2000 == pytest.approx(0.25, abs=0.04)
    counts = np.array([d["distractors.count"] for d in draws])
    assert set(counts.tolist()) == {1, 2, 3}
    assert all("background.texture_contrast" in d for d in draws if d["background.source"] == "texture")


def test_kelvin_to_rgb_trends():
    r, g, b = kelvin_to_rgb(6600)
    assert r == pytest.approx(1.0, abs=0.02) and b == pytest.approx(1.0, abs=0.03)
    warm = kelvin_to_rgb(3000)
    assert warm[0] > 1.2 and warm[2] < 0.75


def test_jitter_camera_applies_the_drawn_offsets():
    cam = Camera.look_at("top", eye=(0, 0, 0.5), target=(0, 0, 0), fx=500)
    none = CameraDraw()
    assert none.is_identity
    assert np.allclose(jitter_camera(cam, none).R, cam.R) and np.allclose(jitter_camera(cam, none).t, cam.t)
    moved = jitter_camera(cam, CameraDraw(dx_m=0.01, dz_m=-0.02, rz_deg=5.0, focal_scale=1.1))
    np.testing.assert_allclose(moved.position, cam.position + [0.01, 0, -0.02], atol=1e-12)
    assert moved.fx == pytest.approx(550.0)
    # a 5 degree turn about the optical axis rotates image directions by 5 degrees
    angle = math.degrees(math.acos(np.clip((np.trace(moved.R @ cam.R.T) - 1) / 2, -1, 1)))
    assert angle == pytest.approx(5.0, abs=1e-9)


def test_spec_defaults_draw_only_plate():
    typed = draw(RandomizationSpec(), frame_rng(0, 0))
    assert typed.camera.is_identity and not typed.body.reshapes and typed.image.distractors is None
    d = typed.as_params()
    assert d["background.source"] == "plate"
    assert not any(k.startswith(("light.", "camera.", "body.", "image.")) for k in d)
