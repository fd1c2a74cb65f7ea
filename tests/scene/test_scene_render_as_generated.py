"""``scene render --as-generated``: frame N exactly as ``generate`` makes it (motion, per-frame randomization and
the appearance profile), byte for byte the dataset's image for the same scene and seed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fakes.appearance import write_checker_profile
from fakes.dataset import image_path
from synthmouse.cli.main import app

pytestmark = pytest.mark.gl

W, H = 96, 72


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory, renderer):
    """A wheel scene with an appearance profile and randomized lights, camera, fur and image (``renderer``
    skips the module without OpenGL)."""
    folder = tmp_path_factory.mktemp("asgen")
    profile = write_checker_profile(folder / "profile", W, H)
    scene = {
        "seed": 7,
        "rig": {"type": "wheel"},
        "cameras": [
            {
                "name": "side",
                "width": W,
                "height": H,
                "fov_deg": 40,
                "grayscale": True,
                "look_at": {"eye": [0.03, -0.25, 0.03], "target": [0.03, 0.0, 0.015]},
            }
        ],
        "appearance": str(profile),
        "randomization": {
            "light.intensity_scale": [0.6, 1.4],
            "camera.position_m": [-0.003, 0.003],
            "body.fur_albedo_scale": [0.7, 1.3],
            "image.noise_scale": [0.5, 2.0],
        },
    }
    path = folder / "wheel.yaml"
    path.write_text(json.dumps(scene))  # JSON is YAML
    return path


@pytest.fixture(scope="module")
def dataset(scene_file):
    out = scene_file.parent / "ds"
    result = CliRunner().invoke(app, ["generate", str(scene_file), "--frames", "3", "--out", str(out), "-f", "dlc"])
    assert result.exit_code == 0, result.output
    return out


def render(scene_file, out, *options: str):
    result = CliRunner().invoke(
        app, ["scene", "render", str(scene_file), "--as-generated", "--out", str(out), *options]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_as_generated_frames_are_the_dataset_images_byte_for_byte(tmp_path, scene_file, dataset):
    for frame in (2, 0):
        out = tmp_path / f"f{frame}"
        printed = render(scene_file, out, "--frame", str(frame))
        assert (out / "side.png").read_bytes() == image_path(dataset, "side", frame).read_bytes()
        assert (out / "side.keypoints.png").is_file()  # the overlay beside the exact frame
        assert f"frame {frame} (seed 7): motion " in printed and "light.intensity_scale " in printed
        assert "head-fixed (default: the standing posture's head on the support)" in printed
    assert (tmp_path / "f2" / "side.png").read_bytes() != (tmp_path / "f0" / "side.png").read_bytes()


def test_another_seed_is_another_dataset(tmp_path, scene_file, dataset):
    render(scene_file, tmp_path, "--frame", "1", "--seed", "8", "--no-overlay")
    assert (tmp_path / "side.png").read_bytes() != image_path(dataset, "side", 1).read_bytes()
    assert not (tmp_path / "side.keypoints.png").exists()


def test_as_generated_refuses_the_rest_pose(tmp_path, scene_file):
    result = CliRunner().invoke(
        app, ["scene", "render", str(scene_file), "--as-generated", "--pose", "rest", "--out", str(tmp_path)]
    )
    assert result.exit_code != 0 and "--as-generated renders the scene's motion" in str(result.exception)
