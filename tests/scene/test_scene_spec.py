"""Scene files: validation, error messages (file, line, field, value, allowed), paths, cameras from specs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from synthmouse.errors import SceneError
from synthmouse.motion.mix import MotionMixSpec
from synthmouse.scene.camera import Camera
from synthmouse.scene.materials import parse_colour
from synthmouse.scene.spec import load_scene_spec, motion_mix, parse_scene_spec

CAMERA = """
cameras:
  - name: top
    width: 640
    height: 480
    fx: 800
    look_at: {eye: [0, 0, 0.6], target: [0, 0, 0]}
"""


def write(tmp_path: Path, text: str, name: str = "scene.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SceneError) as info:
        load_scene_spec(path)
    message = str(info.value)
    assert str(path) in message  # every message names the file
    return message


def test_minimal_scene_gets_defaults(tmp_path):
    spec = load_scene_spec(write(tmp_path, CAMERA))
    assert spec.body.model == "parametric" and spec.body.keypoints == "mouse22"
    assert spec.rig.type == "openfield" and spec.rig.size == (0.45, 0.45)
    assert spec.cameras[0].distortion == (0.0,) * 5
    assert spec.outputs.format == "png" and spec.lights is None
    assert spec.source == (tmp_path / "scene.yaml").resolve()


@pytest.mark.parametrize("rig", ["wheel", "openfield", "treadmill", "platform"])
def test_templates_validate(rig):
    from synthmouse.cli.scene import template_text

    spec = parse_scene_spec(template_text(rig), source=f"{rig}.yaml")
    assert spec.rig.type == rig
    assert len(spec.cameras) >= 1


# --- at least ten kinds of bad scene files ------------------------------------------------------------------
BAD_FILES = {
    "unknown key": (
        CAMERA + "outputs:\n  formatt: png\n",
        ["line 9", "outputs.formatt", "unknown key 'formatt'", "allowed keys: width, height, format"],
    ),
    "unknown top-level key": (
        CAMERA + "lightz: []\n",
        ["line 8", "unknown key 'lightz'", "cameras", "lights"],
    ),
    "wrong type": (
        CAMERA.replace("width: 640", "width: wide"),
        ["line 4", "cameras[0].width", "valid integer", "'wide'"],
    ),
    "width 0": (
        CAMERA.replace("width: 640", "width: 0"),
        ["line 4", "cameras[0].width", "greater than or equal to 16", "got 0"],
    ),
    "negative size": (
        CAMERA + "rig:\n  type: openfield\n  wall_height: -0.3\n",
        ["line 10", "rig.wall_height", "-0.3 m is outside the allowed range 0.0001..10 m"],
    ),
    "bad rig name": (
        CAMERA + "rig:\n  type: hamster_ball\n",
        ["rig", "unknown type 'hamster_ball'", "'openfield'", "'wheel'", "'treadmill'"],
    ),
    "bad camera pose (two sources)": (
        CAMERA + "    rotation: {rvec: [0, 0, 0]}\n    translation: [0, 0, 1]\n",
        ["cameras[0]", "exactly one of look_at", "got look_at, rotation"],
    ),
    "bad camera pose (eye = target)": (
        CAMERA.replace("target: [0, 0, 0]", "target: [0, 0, 0.6]"),
        ["cameras[0].look_at", "same point", "[0.0, 0.0, 0.6]"],
    ),
    "bad rotation matrix": (
        CAMERA.replace(
            "look_at: {eye: [0, 0, 0.6], target: [0, 0, 0]}",
            "rotation: {matrix: [[1, 0, 0], [0, 1, 0], [0, 0, 2]]}\n    translation: [0, 0, 1]",
        ),
        ["cameras[0].rotation", "not a rotation"],
    ),
    "distortion of wrong length": (
        CAMERA + "    distortion: [0.1, 0.01, 0.0]\n",
        ["line 8", "cameras[0].distortion", "5 numbers [k1, k2, p1, p2, k3]", "got 3"],
    ),
    "unknown keypoint set": (
        CAMERA + "body:\n  keypoints: mouse99\n",
        ["line 9", "body.keypoints", "'mouse99'", "mouse22", "dlc-topview"],
    ),
    "missing keypoint file": (
        CAMERA + "body:\n  keypoints: my_points.yaml\n",
        ["body.keypoints", "file not found", "my_points.yaml"],
    ),
    "missing mesh file": (
        CAMERA + "rig:\n  type: none\n  meshes:\n    - file: cad/holder.stl\n",
        ["line 11", "rig.meshes[0].file", "file not found", "holder.stl"],
    ),
    "bad colour": (
        CAMERA + "background: '#12345g'\n",
        ["line 8", "background", "bad colour '#12345g'", "'#rrggbb'"],
    ),
    "bad fur": (CAMERA + "body:\n  fur: tabby\n", ["body.fur", "'tabby'", "black, white, agouti"]),
    "unknown material": (
        CAMERA + "rig:\n  type: openfield\n  floor_material: marble\n",
        ["rig.floor_material", "unknown material 'marble'", "floor_white"],
    ),
    "no cameras": ("body:\n  fur: black\n", ["cameras", "required but missing"]),
    "duplicate camera names": (
        CAMERA + CAMERA.replace("cameras:\n", ""),
        ["two cameras are named 'top'"],
    ),
    "non-planar mirror": (
        CAMERA + "mirrors:\n  - name: m\n    corners: [[0, 0, 0], [1, 0, 0], [1, 1, 0.1], [0, 1, 0]]\n",
        ["mirrors[0]", "not in one plane", "mm"],
    ),
    "shadows on a point light": (
        CAMERA + "lights:\n  - {type: point, position: [0, 0, 1], shadows: true}\n",
        ["lights[0]", "shadows are available for directional and spot lights"],
    ),
    "bad range": (
        CAMERA + "randomization:\n  light.intensity_scale: [2.0, 1.0]\n",
        ["line 9", "randomization.light.intensity_scale", "low <= high"],
    ),
    "bad nested range": (
        CAMERA + "randomization:\n  light:\n    intensity_scale: [2.0, 1.0]\n",
        ["line 10", "randomization.light.intensity_scale", "low <= high"],
    ),
    "unknown randomization key": (
        CAMERA + "randomization:\n  image.nosie_scale: [0.5, 2]\n",
        ["line 9", "randomization.image.nosie_scale", "unknown key 'nosie_scale' in image", "noise_scale"],
    ),
    "unknown randomization section": (
        CAMERA + "randomization:\n  lights.azimuth_deg: [0, 360]\n",
        ["randomization.lights", "unknown key 'lights'", "light, camera, body, image"],
    ),
    "missing appearance profile": (
        CAMERA + "appearance: nowhere/profile.yaml\n",
        ["line 8", "appearance", "file not found", "nowhere/profile.yaml"],
    ),
    "contact-shadow randomization without a profile": (
        CAMERA + "randomization:\n  image.shadow_scale: [0.5, 2]\n",
        ["line 9", "randomization.image.shadow_scale", "appearance profile", "fit-appearance"],
    ),
    "body shape randomization of a non-parametric body": (
        CAMERA + "body: {model: sam}\nrandomization:\n  body:\n    length_scale: [0.9, 1.1]\n",
        ["line 11", "randomization.body.length_scale", "parametric mouse", "'sam'"],
    ),
    "parametric body too long": (
        CAMERA + "body:\n  length: 0.2\n",
        ["line 9", "body.length", "0.2 m", "parametric mouse", "0.05..0.15 m"],
    ),
    "parametric shape value out of range": (
        CAMERA + "body:\n  shape: {girth_scale: 1.5}\n",
        ["line 9", "body.shape", "girth_scale = 1.5", "0.88..1.12"],
    ),
    "unknown parametric shape option": (
        CAMERA + "body:\n  shape:\n    tail_lenght: 0.08\n",
        ["body.shape", "unknown parametric shape option 'tail_lenght'", "tail_length, girth_scale"],
    ),
    "parametric scale too large": (
        CAMERA + "body:\n  scale: 2\n",
        ["line 8", "body", "scale 2", "0.19 m", "0.05..0.15 m"],
    ),
    "parametric length given twice": (
        CAMERA + "body:\n  length: 0.09\n  shape: {body_length: 0.1}\n",
        ["body", "length and shape.body_length", "give one"],
    ),
    "length randomization beyond the parametric mouse": (
        CAMERA + "body:\n  length: 0.14\nrandomization:\n  body.length_scale: [0.9, 1.1]\n",
        ["line 11", "randomization.body.length_scale", "0.126..0.154 m", "0.05..0.15 m"],
    ),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_scene_files_give_precise_errors(tmp_path, kind):
    text, expected = BAD_FILES[kind]
    message = error_of(tmp_path, text)
    for fragment in expected:
        assert fragment in message, f"{kind}: {fragment!r} not in {message!r}"


def test_several_problems_are_reported_together(tmp_path):
    message = error_of(tmp_path, CAMERA.replace("width: 640", "width: -1") + "body:\n  fur: x\n  foo: 1\n")
    assert message.startswith("3 problems")
    assert "cameras[0].width" in message and "body.fur" in message and "unknown key 'foo'" in message


def test_yaml_syntax_error_names_line(tmp_path):
    message = error_of(tmp_path, CAMERA + "body: {model: sam\n")
    assert "line 9" in message and "not valid YAML" in message


def test_missing_scene_file(tmp_path):
    with pytest.raises(SceneError, match="scene file not found"):
        load_scene_spec(tmp_path / "nope.yaml")


def test_paths_resolve_relative_to_the_scene_file(tmp_path):
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "floor.png"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "sub" / "motion.yaml").write_text("{}\n")
    path = write(
        tmp_path / "sub",
        CAMERA + "rig:\n  type: openfield\n  floor_material: {texture: floor.png}\nmotion: motion.yaml\n",
    )
    spec = load_scene_spec(path)
    assert spec.rig.floor_material.texture == (tmp_path / "sub" / "floor.png").resolve()
    assert spec.motion == (tmp_path / "sub" / "motion.yaml").resolve()


@pytest.mark.parametrize("rig", ["openfield", "wheel", "treadmill", "platform"])
def test_template_appearance_and_randomization_examples_validate(tmp_path, rig):
    """The commented ``appearance:`` / ``randomization:`` examples of each template, uncommented."""
    from synthmouse.scene.build import build_scene

    template = Path(__file__).resolve().parents[2] / "src" / "synthmouse" / "scene" / "templates" / f"{rig}.yaml"
    lines = template.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# appearance:"))
    text = "\n".join(
        line[2:] if i >= start and line.startswith(("# appearance:", "# randomization:", "#   ")) else line
        for i, line in enumerate(lines)
    )
    _profile_folder(tmp_path / "appearance")
    spec = parse_scene_spec(text, source=tmp_path / "scene.yaml")
    assert spec.appearance and spec.randomization.light.azimuth_deg == (0.0, 360.0)
    assert spec.randomization.background.swaps and spec.randomization.distractors.count == (0.0, 5.0)
    assert build_scene(spec).appearance  # camera name -> profile file


def test_motion_is_a_typed_mix_and_randomization_passes_through(tmp_path):
    spec = load_scene_spec(
        write(
            tmp_path,
            CAMERA + "motion:\n  fps: 50\n  generators:\n    - {type: rest, duration: [1, 2]}\n"
            "randomization:\n  light.intensity_scale: [0.5, 1.5]\n  camera: {focal_scale: 1.02}\n",
        )
    )
    assert isinstance(spec.motion, MotionMixSpec) and spec.motion.fps == 50.0
    assert spec.motion.generators[0].type == "rest" and spec.motion.generators[0].duration == (1.0, 2.0)
    assert motion_mix(spec) is spec.motion  # inline: validated with the scene, nothing more to read
    # it dumps as written: the scene hash (which names a dataset) keys on what the user wrote
    assert spec.model_dump(mode="json")["motion"] == {"fps": 50, "generators": [{"type": "rest", "duration": [1, 2]}]}
    with pytest.raises(SceneError, match=r"line \d+: motion.mix: unknown key 'mix'; allowed keys: fps"):
        load_scene_spec(write(tmp_path, CAMERA + "motion:\n  mix: {walk: 0.5}\n", "old.yaml"))
    assert spec.randomization.light.intensity_scale == (0.5, 1.5)
    assert spec.randomization.camera.focal_scale == (1.02, 1.02)  # one number fixes the value
    assert spec.randomization.image.noise_scale is None and not spec.randomization.is_empty
    assert load_scene_spec(write(tmp_path, CAMERA, "plain.yaml")).randomization.is_empty


def test_flat_and_nested_randomization_are_the_same(tmp_path):
    flat = load_scene_spec(
        write(
            tmp_path,
            CAMERA + "randomization:\n  light.azimuth_deg: [0, 90]\n  body.fur_albedo_scale: [0.8, 1.2]\n",
            "flat.yaml",
        )
    )
    nested = load_scene_spec(
        write(
            tmp_path,
            CAMERA + "randomization:\n  light: {azimuth_deg: [0, 90]}\n  body: {fur_albedo_scale: [0.8, 1.2]}\n",
            "nested.yaml",
        )
    )
    assert flat.randomization == nested.randomization


def _profile_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profile.yaml").write_text("version: 1\n")  # the spec checks the path; the loader the content
    return folder


TWO_CAMERAS = (
    CAMERA
    + """  - name: side
    width: 320
    height: 240
    fx: 400
    look_at: {eye: [0, -0.5, 0.1], target: [0, 0, 0]}
"""
)


def test_appearance_resolves_relative_to_the_scene_file(tmp_path):
    _profile_folder(tmp_path / "sub" / "look")
    spec = load_scene_spec(write(tmp_path / "sub", CAMERA + "appearance: look/profile.yaml\n"))
    assert spec.appearance == (tmp_path / "sub" / "look" / "profile.yaml").resolve()
    folder = load_scene_spec(write(tmp_path / "sub", CAMERA + "appearance: look\n", "folder.yaml"))
    assert folder.appearance == spec.appearance  # the folder means its profile.yaml
    mapping = load_scene_spec(write(tmp_path / "sub", TWO_CAMERAS + "appearance: {side: look}\n", "two.yaml"))
    assert mapping.appearance == {"side": spec.appearance}
    assert load_scene_spec(write(tmp_path, CAMERA + "appearance: null\n", "none.yaml")).appearance is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("appearance: look\n", ["appearance", "one profile", "2 cameras", "appearance: {top:"]),
        ("appearance: {front: look}\n", ["appearance", "unknown camera(s) ['front']", "top, side"]),
        ("appearance: empty\n", ["appearance", "without profile.yaml"]),
        ("appearance: look/plate.png\n", ["appearance", "not an appearance profile"]),
    ],
)
def test_bad_appearance_references(tmp_path, text, expected):
    _profile_folder(tmp_path / "look")
    (tmp_path / "look" / "plate.png").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    message = error_of(tmp_path, TWO_CAMERAS + text)
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_colour_forms():
    assert np.allclose(parse_colour("#ff8000"), [1.0, 128 / 255, 0.0])
    assert np.allclose(parse_colour("#f80"), [1.0, 136 / 255, 0.0])
    assert np.allclose(parse_colour("white"), [1, 1, 1])
    assert np.allclose(parse_colour([0.1, 0.2, 0.3]), [0.1, 0.2, 0.3])
    for bad in ("#ff80", [1, 2, 3], [0.5, 0.5], "reddish", [True, 0, 0]):
        with pytest.raises(ValueError, match="bad colour"):
            parse_colour(bad)


# --- cameras built from specs agree with OpenCV -------------------------------------------------------------
def test_rvec_camera_matches_opencv(tmp_path):
    from synthmouse.scene.build import camera_from_spec

    rvec, tvec = [0.3, -0.2, 0.1], [0.01, -0.02, 0.5]
    dist = [-0.2, 0.05, 0.001, -0.002, 0.01]
    text = f"""
cameras:
  - name: c
    width: 800
    height: 600
    fx: 900
    fy: 910
    cx: 401.5
    cy: 297.25
    distortion: {dist}
    rotation: {{rvec: {rvec}}}
    translation: {tvec}
"""
    spec = load_scene_spec(write(tmp_path, text))
    camera = camera_from_spec(spec.cameras[0])
    pts = np.random.default_rng(0).uniform([-0.1, -0.1, -0.05], [0.1, 0.1, 0.05], (50, 3))
    K = np.array([[900, 0, 401.5], [0, 910, 297.25], [0, 0, 1]], float)
    ref, _ = cv2.projectPoints(pts, np.array(rvec), np.array(tvec), K, np.array(dist))
    assert np.abs(camera.project(pts) - ref[:, 0]).max() < 1e-9


def test_look_at_and_fov_camera(tmp_path):
    from synthmouse.scene.build import camera_from_spec

    text = CAMERA.replace("fx: 800", "fov_deg: 60")
    camera = camera_from_spec(load_scene_spec(write(tmp_path, text)).cameras[0])
    expected = Camera.look_at("top", [0, 0, 0.6], [0, 0, 0], width=640, height=480, fov_deg=60)
    assert np.allclose(camera.K, expected.K) and np.allclose(camera.R, expected.R)
    assert np.allclose(camera.position, [0, 0, 0.6])


def test_calibration_file_camera(tmp_path):
    from synthmouse.scene.build import camera_from_spec
    from synthmouse.scene.calibration import save_cameras

    cam = Camera.look_at(
        "cam0", [0.3, -0.2, 0.4], [0, 0, 0], width=1024, height=768, fx=1100, dist=[-0.1, 0.02, 0, 0, 0]
    )
    save_cameras([cam], tmp_path / "calibration.toml")
    spec = load_scene_spec(
        write(
            tmp_path,
            """
cameras:
  - name: left
    calibration: calibration.toml
    calibration_name: cam0
    grayscale: true
""",
        )
    )
    loaded = camera_from_spec(spec.cameras[0])
    assert loaded.name == "left" and loaded.grayscale and loaded.size == (1024, 768)
    pts = np.random.default_rng(1).uniform(-0.05, 0.05, (20, 3))
    assert np.abs(loaded.project(pts) - cam.project(pts)).max() < 1e-6
    bad = load_scene_spec(write(tmp_path, "cameras:\n  - name: x\n    calibration: calibration.toml\n", "b.yaml"))
    with pytest.raises(SceneError, match="camera 'x' is not in"):
        camera_from_spec(bad.cameras[0])


def test_parametric_body_is_validated_against_the_models_own_ranges(tmp_path):
    """body.length and body.shape of the parametric mouse: the scene file accepts exactly what
    MouseShape accepts (values at the ends of each range pass, values just outside fail in both)."""
    from synthmouse.body.parametric import MouseShape
    from synthmouse.errors import ModelFormatError

    for key, (lo, hi) in MouseShape.allowed().items():
        for value in (lo, hi):
            spec = parse_scene_spec(CAMERA + f"body:\n  shape: {{{key}: {value}}}\n")
            assert MouseShape(**spec.body.shape).as_dict()[key] == value
        for value in (lo - 0.01 * (hi - lo), hi + 0.01 * (hi - lo)):
            with pytest.raises(ModelFormatError):
                MouseShape(**{key: value})
            with pytest.raises(SceneError, match=rf"body.shape: {key} = .* outside .* {lo:g}\.\.{hi:g}"):
                parse_scene_spec(CAMERA + f"body:\n  shape: {{{key}: {value}}}\n")
    lo, hi = MouseShape.allowed()["body_length"]
    assert parse_scene_spec(CAMERA + f"body:\n  length: {hi}\n").body.length == hi
    with pytest.raises(SceneError, match=r"body.length: length 0.16 m .* 0.05..0.15 m"):
        parse_scene_spec(CAMERA + "body:\n  length: 0.16\n")
    # other models keep the general range: their own loaders decide
    assert parse_scene_spec(CAMERA + "body:\n  model: sam\n  length: 0.3\n").body.length == 0.3
    ok = parse_scene_spec(
        CAMERA + "body:\n  scale: 1.2\n  shape: {tail_length: 0.09}\n"
        "randomization:\n  body: {length_scale: [0.9, 1.1], girth_scale: [0.95, 1.05]}\n"
    )
    assert ok.body.scale == 1.2
