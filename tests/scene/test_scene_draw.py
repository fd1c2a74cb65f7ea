"""The typed per-frame draw applied to a scene: frame_scene changes lights, fur, cameras and body shape and
shares every part it leaves alone (so a renderer keeps its GPU copies of them)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from synthmouse.scene.build import build_scene
from synthmouse.scene.draw import (
    BodyDraw,
    CameraDraw,
    FrameDraw,
    LightDraw,
    frame_lights,
    frame_scene,
    fur_colours,
    jitter_camera,
)
from synthmouse.scene.spec import parse_scene_spec

SCENE = {
    "body": {"fur": "grey"},
    "rig": {"type": "openfield", "size": [0.3, 0.2], "table": False},
    "lights": [
        {"type": "ambient", "intensity": 0.3},
        {"type": "directional", "intensity": 0.9, "direction": [-0.3, 0.2, -0.9], "shadows": True},
    ],
    "cameras": [
        {"name": "top", "width": 64, "height": 48, "fx": 70, "look_at": {"eye": [0, 0, 0.45], "target": [0, 0, 0]}},
        {"name": "side", "width": 64, "height": 48, "fx": 70, "look_at": {"eye": [0, -0.4, 0.1], "target": [0, 0, 0]}},
    ],
}


@pytest.fixture(scope="module")
def scene(parametric_body):
    return build_scene(parse_scene_spec(SCENE), body=parametric_body)


def test_an_empty_draw_is_the_scene_itself(scene):
    assert frame_scene(scene, FrameDraw()) is scene
    assert frame_scene(scene, FrameDraw(body=BodyDraw(fur_albedo_scale=1.0))) is scene


def test_frame_scene_applies_each_section_and_shares_the_rest(scene):
    draw = FrameDraw(
        light=LightDraw(azimuth_deg=30.0, intensity_scale=0.5, colour=(1.0, 0.9, 0.8)),
        camera=CameraDraw(dx_m=0.01, rz_deg=2.0),
        body=BodyDraw(fur_albedo_scale=1.2),
    )
    framed = frame_scene(scene, draw)
    assert framed is not scene
    for name in ("rig", "materials", "mirrors", "body", "body_root", "background", "spec", "body_fur_weight"):
        assert getattr(framed, name) is getattr(scene, name), name
    assert [light.intensity for light in framed.lights] == pytest.approx([0.15, 0.45])
    np.testing.assert_allclose(framed.lights[0].colour, np.asarray(scene.lights[0].colour) * [1.0, 0.9, 0.8])
    assert frame_lights(scene.lights, LightDraw()) is scene.lights
    for before, after in zip(scene.cameras, framed.cameras, strict=True):
        np.testing.assert_allclose(after.position, before.position + [0.01, 0, 0], atol=1e-12)
        np.testing.assert_allclose(after.R, jitter_camera(before, draw.camera).R)
    np.testing.assert_array_equal(
        framed.body_colours, fur_colours(scene.body_colours, scene.body_fur_weight, scene.body_fur, 1.2)
    )
    assert not framed.body_colours.flags.writeable  # still an immutable scene
    assert (framed.body_colours >= scene.body_colours).all() and (framed.body_colours > scene.body_colours).any()


def test_the_key_light_turns_to_the_drawn_angles(scene):
    framed = frame_scene(scene, FrameDraw(light=LightDraw(azimuth_deg=90.0, elevation_deg=60.0)))
    key = framed.lights[1]
    towards = (key.position - key.target) / np.linalg.norm(key.position - key.target)
    e = np.radians(60.0)
    np.testing.assert_allclose(towards, [0.0, np.cos(e), np.sin(e)], atol=1e-12)
    old = scene.lights[1]
    assert np.linalg.norm(key.position - key.target) == pytest.approx(np.linalg.norm(old.position - old.target))
    assert [light.intensity for light in framed.lights] == [light.intensity for light in scene.lights]


def test_body_shape_goes_through_the_given_reshape(scene):
    calls = []

    def reshape(base, length, girth):
        calls.append((base, length, girth))
        return dataclasses.replace(base, body_extent=base.body_extent)

    framed = frame_scene(scene, FrameDraw(body=BodyDraw(length_scale=1.1)), reshape)
    assert calls == [(scene, 1.1, 1.0)] and framed is not scene
    frame_scene(scene, FrameDraw(body=BodyDraw(fur_albedo_scale=0.9)), reshape)
    assert len(calls) == 1  # no shape drawn: no reshape
