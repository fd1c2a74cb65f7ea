"""``randomization.image.*`` on a camera without an appearance profile: noise, blur, tone and JPEG apply to the
render itself (:func:`synthmouse.appearance.composite.apply_image`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fakes.scene import StillPoses
from synthmouse.appearance.composite import has_image_effects, render_effects
from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.dataset.scene_source import SceneFrameSource
from synthmouse.errors import SceneError
from synthmouse.scene.build import build_scene
from synthmouse.scene.draw import ImageDraw
from synthmouse.scene.spec import parse_scene_spec

W, H = 96, 72
EFFECTS = {"image.noise_scale": [1.0, 2.0], "image.gamma": [0.7, 0.8], "image.jpeg_quality": [40, 60]}


def test_no_image_values_leave_the_render_as_it_is():
    rgb = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    mask = np.zeros((H, W), bool)
    assert not has_image_effects(ImageDraw()) and not has_image_effects(None)
    assert np.array_equal(render_effects(rgb, mask, np.random.default_rng(1), ImageDraw()), rgb)


def test_each_image_value_changes_the_render():
    yy, xx = np.mgrid[0:H, 0:W]
    rgb = np.repeat((80 + xx + (yy // 8 % 2) * 40).astype(np.uint8)[..., None], 3, axis=-1)
    mask = np.zeros((H, W), bool)
    mask[20:40, 30:60] = True
    for draw in (
        ImageDraw(noise_scale=2.0),
        ImageDraw(blur_sigma_px=2.0),
        ImageDraw(motion_blur_px=5.0),
        ImageDraw(gamma=0.7),
        ImageDraw(contrast=1.5),
        ImageDraw(jpeg_quality=20),
        ImageDraw(animal_gain=0.5),
    ):
        assert has_image_effects(draw)
        out = render_effects(rgb, mask, np.random.default_rng(1), draw)
        assert out.shape == rgb.shape and out.dtype == np.uint8
        assert np.abs(out.astype(int) - rgb).mean() > 0.3, draw
    noisy = render_effects(rgb, mask, np.random.default_rng(1), ImageDraw(noise_scale=1.5)).astype(float)
    assert abs((noisy - rgb)[..., 0].std() - 3.0) < 0.3  # 1.5 x the nominal 2 DN
    gain = render_effects(rgb, mask, np.random.default_rng(1), ImageDraw(animal_gain=0.5)).astype(float)
    assert np.allclose(gain[mask], np.round(rgb[mask] * 0.5), atol=1) and np.array_equal(gain[~mask], rgb[~mask])


def scene(randomization=None) -> dict:
    data = {
        "seed": 3,
        "body": {"fur": "black"},
        "rig": {"type": "openfield", "size": [0.3, 0.2], "table": False},
        "cameras": [
            {
                "name": "top",
                "width": W,
                "height": H,
                "fx": 1.15 * W,
                "look_at": {"eye": [0.0, 0.0, 0.45], "target": [0.0, 0.0, 0.0]},
            }
        ],
    }
    if randomization:
        data["randomization"] = randomization
    return data


def source_of(data, renderer) -> SceneFrameSource:
    built = build_scene(parse_scene_spec(data))
    return SceneFrameSource(scene=built, seed=4, motion=StillPoses(built, 4), renderer=renderer, name="fx")


@pytest.mark.gl
def test_image_randomization_without_a_profile_changes_the_image_and_is_recorded(tmp_path, renderer):
    plain = source_of(scene(), renderer).render(0).views[0].rgb
    randomized = source_of(scene(EFFECTS), renderer)
    frame = randomized.render(0)
    assert np.abs(frame.views[0].rgb.astype(int) - plain).mean() > 2.0
    assert 1.0 <= frame.params["image.noise_scale"] <= 2.0
    assert generate(randomized, tmp_path / "ds", GenerateOptions(n_frames=2, formats=("dlc",))).complete
    rows = pd.read_csv(tmp_path / "ds" / "frames.csv", index_col="frame")
    assert rows["image.gamma"].between(0.7, 0.8).all() and rows["image.jpeg_quality"].between(40, 60).all()


def test_shadow_scale_without_a_profile_is_refused_naming_the_key():
    data = {**scene(), "randomization": {"image": {"shadow_scale": [0.5, 1.5], "gamma": [0.9, 1.1]}}}
    with pytest.raises(SceneError, match=r"randomization\.image\.shadow_scale.*appearance profile"):
        parse_scene_spec(data)
