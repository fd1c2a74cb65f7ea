"""``synthmouse scene check``: the motion mix is validated and built with the scene (errors name the scene
file, line and field path)."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from synthmouse.cli.main import app
from synthmouse.errors import SceneError

HEAD = """\
rig: {type: openfield}
cameras:
  - {name: c, width: 64, height: 48, fx: 60, look_at: {eye: [0, 0, 1], target: [0, 0, 0]}}
"""


def check(tmp_path, text: str, *options: str):
    path = tmp_path / "scene.yaml"
    path.write_text(textwrap.dedent(text))
    return path, CliRunner().invoke(app, ["scene", "check", str(path), *options])


def error_of(tmp_path, text: str, *options: str) -> str:
    path, result = check(tmp_path, text, *options)
    assert result.exit_code != 0 and isinstance(result.exception, SceneError), result.output
    message = str(result.exception)
    assert str(path) in message
    return message


@pytest.mark.parametrize("options", [(), ("--no-build",)])
def test_a_typo_in_an_inline_motion_mix_is_reported_with_its_line_and_field_path(tmp_path, options):
    text = (
        HEAD
        + """\
motion:
  fps: 30
  generators:
    - {type: locomotion, gait: walk, duration: [2, 4]}
    - type: rear
      duration: [1, 2]
      pitchh: 40
"""
    )
    message = error_of(tmp_path, text, *options)
    assert "line 10: motion.generators[1].pitchh: unknown key 'pitchh'" in message
    assert "allowed keys: type, name, weight, duration, pitch, rise, scan" in message


def test_several_motion_problems_are_reported_together(tmp_path):
    text = (
        HEAD
        + """\
motion:
  generators:
    - {type: locomotoin}
    - {type: groom, stroke_frequency: 99}
  support: {type: floor, radiuss: 1}
"""
    )
    message = error_of(tmp_path, text)
    assert message.startswith("3 problems in motion")
    assert "line 6: motion.generators[0]: unknown type 'locomotoin'" in message and "'locomotion'" in message
    assert "line 7: motion.generators[1].stroke_frequency: Input should be less than or equal to 15 (got 99)" in message
    assert "line 8: motion.support.radiuss: unknown key 'radiuss'; allowed keys: type, height, radius" in message


def test_a_typo_in_a_motion_file_names_the_scene_line_and_the_file(tmp_path):
    (tmp_path / "mixes").mkdir()
    (tmp_path / "mixes" / "calm.yaml").write_text("generators:\n  - {type: rest, crouchh: 0.2}\n")
    message = error_of(tmp_path, HEAD + "motion: mixes/calm.yaml\n")
    assert "line 4: motion: mix file " in message and "calm.yaml" in message
    assert "crouchh" in message and "crouch" in message


def test_a_mix_the_rig_cannot_play_fails_the_check(tmp_path):
    # the default wheel mix runs on a wheel of the rig's radius: the motion mix allows 0.01..2 m
    text = HEAD.replace("{type: openfield}", "{type: wheel, radius: 0.008}")
    message = error_of(tmp_path, text)
    assert "motion: the default mix for the rig cannot be built" in message and "support.radius" in message


def test_a_valid_mix_is_built_and_summarized(tmp_path):
    text = (
        HEAD.replace("{type: openfield}", "{type: wheel}")
        + """\
motion:
  generators:
    - {type: locomotion, name: run, gait: trot, weight: 3}
    - {type: groom}
"""
    )
    _, result = check(tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "motion: inline, 30 fps, support wheel, head-fixed" in result.output  # filled in from the rig
    assert "2 generators: run (locomotion, 75%), groom (groom, 25%)" in result.output
    assert result.output.rstrip().endswith("scene.yaml: OK")


@pytest.mark.gl
def test_scene_render_shows_a_motion_frame_or_the_rest_pose(tmp_path):
    """``scene render`` draws the scene's motion (on a wheel: the head-fixed mouse under its head bar) by default,
    the model's rest pose with ``--pose rest``; other values are refused naming them."""
    import cv2
    import numpy as np

    path = tmp_path / "wheel.yaml"
    path.write_text(
        textwrap.dedent("""\
        rig: {type: wheel, radius: 0.09, screens: 0}
        cameras:
          - {name: side, width: 96, height: 72, fov_deg: 40, look_at: {eye: [0.02, -0.25, 0.03], target: [0, 0, 0.02]}}
        """)
    )
    runner = CliRunner()
    for pose in ("motion", "rest"):
        result = runner.invoke(
            app,
            [
                "scene",
                "render",
                str(path),
                "--out",
                str(tmp_path),
                "--prefix",
                f"{pose}_",
                "--pose",
                pose,
                "--no-overlay",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "head-fixed (default: the standing posture's head on the support): position [" in result.output
        assert "  nose: [" in result.output and "side (" in result.output  # where to compare with the video
    motion, rest = (cv2.imread(str(tmp_path / f"{p}_side.png")) for p in ("motion", "rest"))
    assert motion.shape == rest.shape == (72, 96, 3)
    assert np.abs(motion.astype(int) - rest.astype(int)).mean() > 1.0  # a different posture
    result = runner.invoke(app, ["scene", "render", str(path), "--out", str(tmp_path), "--pose", "standing"])
    assert result.exit_code != 0 and "standing" in str(result.exception)
