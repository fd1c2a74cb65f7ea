"""The user's scene file keeps every character it had except the values fit-camera and fit-appearance change
(comments, indentation, flow mappings, line breaks); fit-appearance --scene points the scene at the profile."""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from synthmouse.appearance.profile import AppearanceError
from synthmouse.errors import SceneError
from synthmouse.scene.camera import Camera
from synthmouse.scene.camera_fit.scene_edit import (
    edit_mapping,
    format_value,
    scene_text_with_camera,
    write_appearance_to_scene,
    write_camera_to_scene,
)
from synthmouse.scene.spec import load_scene_spec, parse_scene_spec

CAMERA = Camera.look_at(
    "top", eye=(0.004, -0.018, 0.34), target=(0, 0, 0), up=(0, 1, 0), fx=500, dist=[-0.25, 0.1, 0, 0, 0]
)


def template() -> str:
    return resources.files("synthmouse.scene").joinpath("templates", "openfield.yaml").read_text()


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


def test_format_value():
    assert format_value(1.0) == "1.0" and format_value(-0.0) == "0.0" and format_value(3) == "3"
    assert format_value(0.123456789012345) == "0.123456789"
    assert format_value([1.5, 2]) == "[1.5, 2]"
    assert format_value({"rvec": [0.1, 0.2]}) == "{rvec: [0.1, 0.2]}"
    assert format_value("appearance/profile.yaml") == "appearance/profile.yaml"
    assert format_value("yes: no") == '"yes: no"' and format_value("1.5") == '"1.5"'
    with pytest.raises(SceneError, match="non-finite"):
        format_value(float("nan"))


def test_the_starter_scene_keeps_every_other_line(tmp_path):
    scene = tmp_path / "my_rig.yaml"
    scene.write_text(template())
    before = scene.read_text()
    write_camera_to_scene(scene, CAMERA, rig_size=(0.45, 0.3))
    after = scene.read_text()
    removed, added = changed_lines(before, after)
    assert removed == [
        "  size: [0.45, 0.45]       # inner x, y size in metres",
        "    height: 512",
        "    fx: 560",
        "    distortion: [-0.12, 0.03, 0.0, 0.0, 0.0]",
        "    look_at: {eye: [0.0, 0.0, 0.62], target: [0.0, 0.0, 0.0]}   # image right = +x, image up = +y",
    ]
    assert added[0] == "  size: [0.45, 0.3]        # inner x, y size in metres"  # the comment keeps its column
    assert (
        "    # replaced by fit-camera: look_at: {eye: [0.0, 0.0, 0.62], target: [0.0, 0.0, 0.0]}   # image right"
        in (after)
    )
    assert {line.split(":")[0].strip() for line in added[1:]} >= {"fx", "fy", "cx", "cy", "rotation", "translation"}
    spec = load_scene_spec(scene)
    assert spec.cameras[1].name == "oblique" and spec.cameras[1].look_at is not None  # untouched


def test_a_flow_style_camera_is_rewritten_in_place(tmp_path):
    scene = tmp_path / "s.yaml"
    scene.write_text(
        "rig: {type: openfield, size: [0.45, 0.45]}   # my box\n"
        "cameras:\n"
        "  - {name: top, width: 640, height: 480, fov_deg: 60, look_at: {eye: [0, 0, 1], target: [0, 0, 0]},"
        " grayscale: true}\n"
        "lights: [{type: ambient}]\n"
    )
    write_camera_to_scene(scene, CAMERA, rig_size=(0.45, 0.3))
    text = scene.read_text()
    assert text.startswith("rig: {type: openfield, size: [0.45, 0.3]}   # my box\ncameras:\n  - {name: top, ")
    assert text.endswith("lights: [{type: ambient}]\n") and "grayscale: true" in text and "look_at" not in text
    spec = load_scene_spec(scene)
    assert spec.cameras[0].grayscale and spec.rig.size == (0.45, 0.3)


def test_a_block_style_pose_and_a_leading_removed_key(tmp_path):
    scene = tmp_path / "s.yaml"
    scene.write_text(
        "rig:\n  type: openfield\ncameras:\n"
        "- calibration: cal.toml\n  name: top\n"
        "- name: side\n  width: 64\n  height: 48\n  fx: 50\n  rotation:\n    rvec:\n    - 0.0\n    - 0.0\n    - 0.0\n"
        "  translation:\n  - 0\n  - 0\n  - 1   # one metre\n"
        "# the end\n"
    )
    side = Camera.look_at("side", eye=(0.5, 0, 0.1), target=(0, 0, 0.05), fx=300, width=64, height=48)
    text = scene_text_with_camera(scene, side)
    assert "  rotation: {rvec: [" in text and "  translation: [" in text and text.endswith("# the end\n")
    full = "- name: top\n  width: 64\n  height: 48\n  fov_deg: 50\n  look_at: {eye: [0, 0, 1], target: [0, 0, 0]}\n"
    assert parse_scene_spec(text.replace("- calibration: cal.toml\n  name: top\n", full)).cameras[1].rotation
    # the first key of an item cannot become a comment line: it is left out
    top = scene_text_with_camera(scene, CAMERA)
    assert "- name: top\n  width: 640" in top and "cal.toml" not in top


def test_top_level_keys_go_after_their_commented_example():
    text = "seed: 0\n\n# appearance: {top: a/profile.yaml}\n\n# more\noutputs:\n  format: png\n"
    out = edit_mapping(text, (), {"appearance": "b/profile.yaml"}, insert_after=r"^# *appearance:")
    assert out == text.replace("a/profile.yaml}\n", "a/profile.yaml}\nappearance: b/profile.yaml\n")
    out = edit_mapping("seed: 0\n", (), {"appearance": "b/profile.yaml"}, insert_after=r"^# *appearance:")
    assert out == "seed: 0\nappearance: b/profile.yaml\n"


def make_profile(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "profile.yaml").write_text("source: x\n")
    return folder / "profile.yaml"


def test_write_appearance_into_a_one_and_a_two_camera_scene(tmp_path):
    profile = make_profile(tmp_path / "appearance")
    one = tmp_path / "one.yaml"
    one.write_text(
        "rig: {type: openfield}\ncameras:\n  - {name: top, width: 640, height: 512, fx: 500, "
        "look_at: {eye: [0, 0, 1], target: [0, 0, 0]}}\n"
    )
    line, note = write_appearance_to_scene(one, profile, None, (640, 480))
    assert line == "appearance: appearance/profile.yaml"
    assert one.read_text().endswith("\nappearance: appearance/profile.yaml\n")
    assert "640x512" in note and "640x480" in note
    two = tmp_path / "two.yaml"
    two.write_text(template())
    line, note = write_appearance_to_scene(two, profile, "top", (640, 512))
    assert line == "appearance: {top: appearance/profile.yaml}" and note == ""
    text = two.read_text()
    assert "# appearance: {top: appearance/profile.yaml}\nappearance: {top: appearance/profile.yaml}\n" in text
    assert load_scene_spec(two).appearance == {"top": profile.resolve()}
    other = make_profile(tmp_path / "side_look")
    write_appearance_to_scene(two, other, "oblique")
    spec = load_scene_spec(two)
    assert set(spec.appearance) == {"top", "oblique"}
    assert two.read_text().count("\nappearance:") == 1


def test_cli_fit_appearance_writes_the_scene_entry(tmp_path):
    from synthmouse.cli.main import app

    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        f = np.full((48, 64), 200, np.uint8)
        cv2.circle(f, (10 + 4 * i, 24), 5, 40, -1)
        cv2.imwrite(str(frames / f"f{i:02d}.png"), np.clip(f + rng.normal(0, 2, f.shape), 0, 255).astype(np.uint8))
    scene = tmp_path / "my_rig.yaml"
    scene.write_text(template())
    out = tmp_path / "appearance"
    runner = CliRunner()
    result = runner.invoke(app, ["fit-appearance", str(frames), "--out", str(out), "--scene", str(scene)])
    assert isinstance(result.exception, AppearanceError) and "--camera" in str(result.exception)
    assert not out.exists()  # refused before the long part
    result = runner.invoke(
        app, ["fit-appearance", str(frames), "--out", str(out), "--scene", str(scene), "--camera", "top"]
    )
    assert result.exit_code == 0, result.output
    assert "appearance: {top: appearance/profile.yaml}" in scene.read_text()
    assert "640x512 but the video is 64x48" in result.output
    result = runner.invoke(app, ["fit-appearance", str(frames), "--out", str(out)])
    assert result.exit_code == 0 and "add this line to your scene file: appearance:" in result.output
