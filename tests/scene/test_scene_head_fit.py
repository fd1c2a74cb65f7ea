"""synthmouse.scene.head_fit and ``scene fit-head``: the head placement reference of head-fixed scenes (printed
by ``scene check``), the truthful default pitch, and the fit of ``motion.head_fixed`` to labelled frames."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthmouse.body import Pose
from synthmouse.cli.main import app
from synthmouse.errors import SceneError
from synthmouse.motion.rig import motion_rig
from synthmouse.scene.build import build_scene
from synthmouse.scene.head_fit import (
    fit_head,
    head_fixed_transform,
    head_placement,
    landmark_positions,
    placement_lines,
    rest_stance,
    transform_pitch_deg,
)
from synthmouse.scene.spec import load_scene_spec, parse_scene_spec

RADIUS = 0.09
WHEEL = f"""\
rig: {{type: wheel, radius: {RADIUS}}}
cameras:
  - {{name: side, width: 320, height: 240, fov_deg: 40,
     look_at: {{eye: [0.03, -0.25, 0.03], target: [0.03, 0, 0.015]}}}}
  - {{name: front, width: 160, height: 120, fov_deg: 40,
     look_at: {{eye: [0.25, -0.05, 0.03], target: [0.03, 0, 0.015]}}}}
"""
HELD = {"position": [0.055, 0.002, 0.03], "pitch": 15.0}
PAWS = ("nose", "left_paw", "right_paw", "left_foot", "right_foot", "tail_root")


def scene_of(text: str):
    return build_scene(parse_scene_spec(textwrap.dedent(text)))


def with_head_fixed(position, pitch) -> str:
    gens = "[{type: rest, duration: [1, 2]}]"
    return WHEEL + f"motion: {{generators: {gens}, head_fixed: {{position: {list(position)}, pitch: {pitch}}}}}\n"


@pytest.fixture(scope="module")
def wheel():
    return scene_of(WHEEL)


def test_the_default_head_is_the_standing_head_pitched_nose_down_not_zero(wheel):
    placement = head_placement(wheel)
    rig = motion_rig(wheel.body)
    bar = wheel.stage.head_bar(rig)
    assert not placement.written
    np.testing.assert_allclose(placement.position, bar[:3, 3])
    assert placement.pitch_deg == pytest.approx(transform_pitch_deg(bar))
    assert 15.0 < placement.pitch_deg < 30.0  # the documented default: about 22 degrees, not 0
    head, nose = placement.points["head_centre"], placement.points["nose"]
    assert nose[0] > head[0] + 0.015 and nose[2] < head[2]  # the nose ahead of and below the head
    assert placement.points["head bar"][2] > head[2]  # the bar on the skull


def test_placement_pixels_are_the_camera_projections_of_the_rest_stance(wheel):
    placement = head_placement(wheel)
    pose = rest_stance(wheel, wheel.stage.head_bar(motion_rig(wheel.body)))
    world = landmark_positions(wheel, pose, ("head_centre", "nose"))
    for camera in wheel.cameras:
        for name, point in zip(("head_centre", "nose"), world, strict=True):
            np.testing.assert_allclose(placement.points[name], point)
            np.testing.assert_allclose(placement.pixels[camera.name][name], camera.project(point))
    lines = placement_lines(placement)
    assert lines[0].startswith("head-fixed (default: the standing posture's head on the support)")
    nose_mm = ", ".join(f"{1000 * v:.1f}" for v in world[1])
    assert any(line.startswith(f"  nose: [{nose_mm}] mm; side (") for line in lines)


def test_a_written_head_fixed_position_and_pitch_are_in_effect():
    scene = scene_of(with_head_fixed(HELD["position"], HELD["pitch"]))
    placement = head_placement(scene)
    assert placement.written
    np.testing.assert_allclose(placement.position, HELD["position"])
    assert placement.pitch_deg == pytest.approx(HELD["pitch"])
    pose = rest_stance(scene, head_fixed_transform(HELD["position"], HELD["pitch"]))
    np.testing.assert_allclose(placement.points["nose"], landmark_positions(scene, pose, ("nose",))[0])


def test_a_free_mouse_has_no_head_placement():
    scene = scene_of(WHEEL.replace("{type: wheel, radius: 0.09}", "{type: openfield}"))
    assert head_placement(scene) is None


def lowest_above_rim(scene, pose: Pose, part_names) -> float:
    """Smallest distance (m) of the named body parts' vertices above the wheel's running surface."""
    from synthmouse.body.groups import PARTS

    vertices = scene.body.skin(pose)[0].astype(np.float64)
    parts = np.isin(scene.body.vertex_parts(), [PARTS.index(p) for p in part_names])
    v = vertices[parts]
    return float((np.hypot(v[:, 0], v[:, 2] + RADIUS) - RADIUS).min())


def test_pitch_zero_at_the_default_head_puts_the_hind_paws_into_the_wheel(wheel):
    # the finding of issue #15 (measured, not changed: motion defaults fix dataset bytes)
    paws = ("hindpaw_l", "hindpaw_r")
    bar = wheel.stage.head_bar(motion_rig(wheel.body))
    standing = rest_stance(wheel, bar)
    assert lowest_above_rim(wheel, standing, paws) > -0.002  # the default stands on the rim
    level = rest_stance(wheel, head_fixed_transform(bar[:3, 3], 0.0))
    assert lowest_above_rim(wheel, level, paws) < -0.015  # pitch 0: the hind paws 15+ mm inside the wheel


def test_fit_head_recovers_a_known_position_and_pitch(wheel):
    camera = wheel.camera("side")
    truth = head_fixed_transform(HELD["position"], HELD["pitch"])
    pixels = camera.project(landmark_positions(wheel, rest_stance(wheel, truth), PAWS))
    fit = fit_head(wheel, camera, dict(zip(PAWS, pixels, strict=True)))
    np.testing.assert_allclose(fit.position, HELD["position"], atol=1e-3)
    assert fit.pitch_deg == pytest.approx(HELD["pitch"], abs=1.0)
    assert fit.rms_px < 0.1 and fit.names == PAWS


def test_fit_head_needs_two_keypoints(wheel):
    with pytest.raises(SceneError, match="at least 2 labelled keypoints"):
        fit_head(wheel, wheel.camera("side"), {"nose": (10.0, 10.0)})


def dlc_labels(path, names, xy: np.ndarray) -> None:
    """A DeepLabCut CollectedData CSV with ``xy (N, K, 2)``."""
    columns = pd.MultiIndex.from_product([["me"], list(names), ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    index = pd.MultiIndex.from_tuples([("labeled-data", "s", f"img{i}.png") for i in range(len(xy))])
    pd.DataFrame(xy.reshape(len(xy), -1), index=index, columns=columns).to_csv(path)


def test_fit_head_command_fits_medians_and_writes_the_scene(tmp_path, wheel):
    camera = wheel.camera("side")
    truth = head_fixed_transform(HELD["position"], HELD["pitch"])
    pixels = camera.project(landmark_positions(wheel, rest_stance(wheel, truth), PAWS))
    rng = np.random.default_rng(0)
    xy = pixels[None] + rng.normal(0, 1.5, size=(9, len(PAWS), 2))
    xy[0, 0] = [5000.0, -5000.0]  # one wild label: the median ignores it
    xy[3, 2] = np.nan
    real_names = ["snout", *PAWS[1:]]
    dlc_labels(tmp_path / "CollectedData_me.csv", real_names, xy)
    scene_file = tmp_path / "scene.yaml"
    scene_file.write_text("# my wheel\n" + WHEEL)
    args = ["scene", "fit-head", str(scene_file), "--real", str(tmp_path / "CollectedData_me.csv")]
    result = CliRunner().invoke(app, [*args, "--map", "snout=nose"])
    assert result.exit_code != 0 and "--camera" in str(result.exception)  # two cameras: which one?
    result = CliRunner().invoke(app, [*args, "--map", "snout=nose", "--camera", "side", "--write"])
    assert result.exit_code == 0, result.output
    assert "fitted on 6 keypoints (medians of 9 labelled frames) in camera side" in result.output
    spec = load_scene_spec(scene_file)
    held = spec.motion.head_fixed
    np.testing.assert_allclose(held.position, HELD["position"], atol=1e-3)
    assert held.pitch == pytest.approx(HELD["pitch"], abs=1.0)
    assert scene_file.read_text().startswith("# my wheel\n")  # the rest of the file as written
    assert [g.type for g in spec.motion.generators] == ["locomotion", "locomotion", "rest", "groom", "reach"]
    check = CliRunner().invoke(app, ["scene", "check", str(scene_file)])
    assert check.exit_code == 0, check.output
    assert "head-fixed (motion.head_fixed): position [" in check.output
    assert "motion:  # written by scene fit-head" in scene_file.read_text()


def test_scene_check_prints_the_head_placement_only_for_a_held_mouse(tmp_path):
    held, free = tmp_path / "held.yaml", tmp_path / "free.yaml"
    held.write_text(WHEEL)
    free.write_text(WHEEL.replace("{type: wheel, radius: 0.09}", "{type: openfield}"))
    out = CliRunner().invoke(app, ["scene", "check", str(held)]).output
    assert "head-fixed (default: the standing posture's head on the support): position [" in out
    assert "  nose: [" in out and "  head bar: [" in out and "front (" in out
    out = CliRunner().invoke(app, ["scene", "check", str(free)]).output
    assert "head-fixed" not in out and out.rstrip().endswith("OK")
