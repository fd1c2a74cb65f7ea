"""The scene's stage (derived from the rig), its motion mix bound to it, and the immutable Scene."""

from __future__ import annotations

import dataclasses
import textwrap

import numpy as np
import pytest

from synthmouse.errors import SceneError
from synthmouse.motion.base import Arena, HeadFixed, Support
from synthmouse.motion.mix import MotionMixSpec
from synthmouse.scene.build import build_scene, load_scene, reshape_scene
from synthmouse.scene.motion_binding import scene_mix, scene_motion
from synthmouse.scene.spec import parse_scene_spec

CAMERA = """
cameras:
  - {name: top, width: 64, height: 48, fx: 60, look_at: {eye: [0, 0, 0.6], target: [0, 0, 0]}}
"""


def scene_of(text: str, body, tmp_path=None):
    return build_scene(parse_scene_spec(textwrap.dedent(CAMERA + text), base_dir=tmp_path), body=body)


def test_a_wheel_holds_the_head_on_its_rim_and_the_default_mix_runs(parametric_body):
    scene = scene_of("rig: {type: wheel, radius: 0.08}\n", parametric_body)
    stage = scene.stage
    assert stage.support == Support("wheel", 0.0, 0.08) and stage.head_fixed == HeadFixed(None)
    assert stage.spout is not None and len(stage.spout) == 3  # the parametric mouse has a tongue
    assert not stage.free and scene.motion is None
    provider = scene_motion(scene, seed=1, fps=30.0)
    assert provider.mix.stage == stage
    assert {g.label for g in scene_mix(scene).generators} >= {"run", "walk", "lick"}
    head = stage.head_bar(provider.mix.rig)
    pose, params = provider.sample(5)
    world = provider.mix.rig.world(pose.angles, scene.body_root @ pose.root)
    assert np.allclose(world[0, int(provider.mix.rig.chains["head"][0])], head, atol=1e-9)  # held at the bar
    assert set(params) == {"motion", "segment"}


def test_treadmills_hold_the_head_only_with_a_head_bar(parametric_body):
    free = scene_of("rig: {type: treadmill}\n", parametric_body).stage
    held = scene_of("rig: {type: treadmill, headbar: true}\n", parametric_body).stage
    assert free.support.kind == held.support.kind == "treadmill"
    assert free.head_fixed is None and free.spout is None and held.head_fixed is not None
    with pytest.raises(ValueError, match="holds no head"):
        free.head_bar(None)


def test_an_open_field_is_the_arena_of_a_free_mouse(parametric_body):
    scene = scene_of("rig: {type: openfield, size: [0.3, 0.1]}\n", parametric_body)
    x0, x1, y0, y1 = scene.floor_region
    assert scene.stage.arena == Arena(x0, x1, y0, y1, min(0.05, 0.25 * (y1 - y0)))
    assert scene.stage.free and scene.stage.head_fixed is None
    assert scene_motion(scene, seed=0).mix.track is not None  # walks along the walls


def test_the_sections_a_mix_writes_override_the_rig(parametric_body):
    text = """\
rig: {type: wheel}
motion:
  fps: 50
  support: {type: treadmill}
  generators:
    - {type: rest, duration: [1, 2]}
"""
    scene = scene_of(text, parametric_body)
    assert isinstance(scene.motion, MotionMixSpec) and scene.motion.fps == 50.0
    provider = scene_motion(scene, seed=0)
    assert provider.fps == 50.0
    assert provider.mix.stage.support == Support("treadmill")  # written
    assert provider.mix.stage.head_fixed == HeadFixed(None)  # from the rig


def test_a_rig_the_mix_cannot_move_on_names_the_field(parametric_body):
    scene = scene_of("rig: {type: wheel, radius: 0.008}\n", parametric_body)
    with pytest.raises(SceneError, match=r"^motion: support.radius: .*greater than 0.01 \(got 0.008\)"):
        scene_motion(scene, seed=0)


def test_a_mix_file_is_read_when_the_scene_is_built(tmp_path, parametric_body):
    (tmp_path / "calm.yaml").write_text("fps: 25\ngenerators:\n  - {type: rest, duration: [1, 2]}\n")
    (tmp_path / "scene.yaml").write_text(textwrap.dedent(CAMERA) + "motion: calm.yaml\n")
    scene = load_scene(tmp_path / "scene.yaml", body=parametric_body)
    assert scene.spec.motion == (tmp_path / "calm.yaml").resolve() and scene.motion.fps == 25.0
    (tmp_path / "calm.yaml").write_text("generators:\n  - {type: rest, crouchh: 0.2}\n")
    with pytest.raises(SceneError, match=r"line \d+: motion: mix file .*calm.yaml.*crouchh"):
        load_scene(tmp_path / "scene.yaml", body=parametric_body)


def test_inline_mix_errors_name_the_scene_line_and_field(tmp_path):
    text = CAMERA + "motion:\n  generators:\n    - {type: locomotoin}\n    - {type: groom, stroke_frequency: 99}\n"
    with pytest.raises(SceneError) as info:
        parse_scene_spec(textwrap.dedent(text), "scene.yaml")
    lines = str(info.value).splitlines()
    assert lines[0] == "2 problems in motion:"
    assert lines[1].startswith("  scene.yaml, line 6: motion.generators[0]: unknown type 'locomotoin'")
    assert lines[2] == (
        "  scene.yaml, line 7: motion.generators[1].stroke_frequency: Input should be less than or equal to 15 (got 99)"
    )


def test_the_scene_is_immutable_and_a_reshaped_copy_shares_what_did_not_change(parametric_body):
    scene = scene_of("rig: {type: openfield}\n", parametric_body)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scene.rig = ()
    assert isinstance(scene.rig, tuple) and isinstance(scene.cameras, tuple) and isinstance(scene.lights, tuple)
    with pytest.raises(TypeError):
        scene.materials["ball"] = scene.materials["steel"]
    for array in (scene.body_root, scene.body_colours, scene.background, scene.body_fur, scene.body_extent):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[...] = 0
    wider = reshape_scene(scene, 1.0, 1.1)
    assert wider.body is not scene.body
    assert wider.rig is scene.rig and wider.materials is scene.materials and wider.body_root is scene.body_root
    assert not wider.body_colours.flags.writeable
