"""fit-camera: synthetic ground truth first (points, then edges), files, the scene writer, real data, the
CLI."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from synthmouse.errors import SceneError
from synthmouse.scene.build import camera_from_spec
from synthmouse.scene.calibration import load_cameras
from synthmouse.scene.camera import Camera
from synthmouse.scene.camera_fit import CameraFitError
from synthmouse.scene.camera_fit.clicks import click_points
from synthmouse.scene.camera_fit.edges import edge_map
from synthmouse.scene.camera_fit.features import openfield_features
from synthmouse.scene.camera_fit.figures import draw_overlay, project_segments
from synthmouse.scene.camera_fit.fit import FitOptions, fit_camera_points, fit_points_and_edges
from synthmouse.scene.camera_fit.points import Correspondences, load_correspondences
from synthmouse.scene.camera_fit.scene_edit import write_camera_to_scene
from synthmouse.scene.spec import load_scene_spec

REPO = Path(__file__).resolve().parents[2]
POINTS = REPO / "docs" / "appearance" / "openfield_points.yaml"
FEATURES = openfield_features((0.45, 0.30), 0.25)
FLOOR = ["floor_n", "floor_e", "floor_s", "floor_w"]
TRUE = Camera.look_at(
    "top", eye=(0.015, -0.06, 0.40), target=(0, 0.01, 0), up=(0, 1, 0), fx=470, dist=[-0.28, 0.08, 0, 0, 0]
)


def rotation_error_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(np.clip((np.trace(a @ b.T) - 1) / 2, -1, 1)))


def test_fit_from_noisy_points_recovers_the_camera():
    names = list(FEATURES.points)
    world = np.array([FEATURES.points[n] for n in names])
    pixels = TRUE.project(world)
    noisy = pixels + np.random.default_rng(1).normal(0, 0.2, pixels.shape)
    fit = fit_camera_points(Correspondences(names, world, noisy), 640, 480, FitOptions(distortion="k1k2"))
    # independent reference: OpenCV's projection of the fitted camera onto the noise-free points
    cv_pixels, _ = cv2.projectPoints(world, fit.camera.rvec, fit.camera.t, fit.camera.K, fit.camera.dist)
    assert np.sqrt(np.mean(np.sum((cv_pixels[:, 0] - pixels) ** 2, axis=1))) < 0.5
    assert fit.rms_px < 0.5
    assert fit.camera.fx == pytest.approx(470, rel=0.02)
    assert fit.camera.dist[0] == pytest.approx(-0.28, abs=0.03)
    assert np.linalg.norm(fit.camera.position - TRUE.position) < 0.005
    assert rotation_error_deg(fit.camera.R, TRUE.R) < 0.3


def test_free_scale_recovers_the_arena_aspect():
    names = list(FEATURES.points)
    world = np.array([FEATURES.points[n] for n in names])
    pixels = TRUE.project(world)
    guessed = world * [1.0, 1.25, 1.0]  # the user's guess of the y size is 25 % too large
    fit = fit_camera_points(
        Correspondences(names, guessed, pixels), 640, 480, FitOptions(distortion="k1k2", free_scale=("y",))
    )
    assert fit.scale[1] == pytest.approx(0.8, abs=0.005)
    assert fit.rms_px < 0.05


def synthetic_edge_image() -> np.ndarray:
    """Bright floor, dark walls, the floor outline from the true camera; lightly blurred."""
    img = np.full((480, 640), 90, np.uint8)
    outline = np.concatenate(project_segments(TRUE, FEATURES.segment_array(FLOOR)))
    cv2.fillPoly(img, [np.round(outline * 16).astype(np.int32)], 210, cv2.LINE_AA, 4)
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def test_edge_refinement_aligns_the_floor_outline():
    names = ["floor_ne", "floor_nw", "floor_sw", "floor_se"]
    world = np.array([FEATURES.points[n] for n in names])
    pixels = TRUE.project(world) + np.random.default_rng(2).normal(0, 0.5, (4, 2))
    corr = Correspondences(names, world, pixels)
    options = FitOptions(distortion="k1k2", focal=470)  # a top view cannot tell f from height: fix it
    points_only = fit_points_and_edges(corr, 640, 480, options)
    refined = fit_points_and_edges(
        corr, 640, 480, options, edge_map(synthetic_edge_image()), FEATURES.segment_array(FLOOR)
    )
    truth = np.concatenate(project_segments(TRUE, FEATURES.segment_array(FLOOR)))
    before = np.abs(np.concatenate(project_segments(points_only.camera, FEATURES.segment_array(FLOOR))) - truth)
    after = np.abs(np.concatenate(project_segments(refined.camera, FEATURES.segment_array(FLOOR))) - truth)
    assert refined.edge_matches > 400
    assert refined.edge_rms_px < 0.6
    assert after.max() < 1.0 < before.max()
    assert refined.camera.dist[0] == pytest.approx(-0.28, abs=0.05)


def test_correspondence_files(tmp_path):
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text(
        "image_size: [640, 480]\npoints:\n  floor_nw: [10, 20]\n  mark: {world: [0.1, 0.2, 0.0], pixel: [30.5, 40]}\n"
    )
    corr = load_correspondences(yaml_file, FEATURES.points)
    assert corr.names == ["floor_nw", "mark"] and corr.image_size == (640, 480)
    np.testing.assert_allclose(corr.world, [FEATURES.points["floor_nw"], [0.1, 0.2, 0.0]])
    np.testing.assert_allclose(corr.pixels, [[10, 20], [30.5, 40]])
    csv_file = tmp_path / "p.csv"
    csv_file.write_text("name,u,v,x,y,z\nfloor_se,1,2,,,\nmark,3,4,0.5,0.5,0\n")
    corr = load_correspondences(csv_file, FEATURES.points)
    np.testing.assert_allclose(corr.world[0], FEATURES.points["floor_se"])
    yaml_file.write_text("points:\n  floor_middle: [1, 2]\n")
    with pytest.raises(CameraFitError, match="floor_middle.*not a rig point"):
        load_correspondences(yaml_file, FEATURES.points)
    with pytest.raises(CameraFitError, match="at least 4 points"):
        fit_camera_points(Correspondences(["a"], np.zeros((1, 3)), np.zeros((1, 2))), 640, 480)


SCENE = """\
# my arena
seed: 1
rig:
  type: openfield
  size: [0.45, 0.45]
cameras:
  - name: top   # the overhead camera
    width: 640
    height: 480
    fov_deg: 70
    look_at: {eye: [0, 0, 0.5], target: [0, 0, 0]}
"""


def test_write_camera_to_scene_keeps_comments_and_validates(tmp_path):
    scene = tmp_path / "scene.yaml"
    scene.write_text(SCENE)
    write_camera_to_scene(scene, TRUE, rig_size=(0.45, 0.30))
    text = scene.read_text()
    assert "# my arena" in text and "# the overhead camera" in text
    # the replaced pose lines stay as comments; every other line is as written
    assert "    # replaced by fit-camera: look_at: {eye: [0, 0, 0.5], target: [0, 0, 0]}\n" in text
    kept = [line for line in SCENE.splitlines() if not any(k in line for k in ("size", "fov_deg", "look_at"))]
    assert [line for line in text.splitlines() if line in kept] == kept
    spec = load_scene_spec(scene)
    assert spec.rig.size == (0.45, 0.30)
    assert spec.cameras[0].look_at is None and spec.cameras[0].fov_deg is None
    cam = camera_from_spec(spec.cameras[0])
    np.testing.assert_allclose(cam.K, TRUE.K)
    np.testing.assert_allclose(cam.dist, TRUE.dist)
    np.testing.assert_allclose(cam.R, TRUE.R, atol=1e-8)  # written to 1e-9 rad and 1e-9 m
    np.testing.assert_allclose(cam.t, TRUE.t, atol=1e-8)
    world = np.array(list(FEATURES.points.values()))
    assert np.abs(cam.project(world) - TRUE.project(world)).max() < 1e-4
    write_camera_to_scene(scene, TRUE, rig_size=(0.45, 0.30))  # a second fit changes nothing more
    assert scene.read_text() == text
    with pytest.raises(SceneError, match="no camera named 'side'"):
        write_camera_to_scene(scene, Camera.look_at("side", (0, 0, 1), (0, 0, 0)))


def test_click_points_without_display_fails_with_advice(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(CameraFitError, match="points file"):
        click_points(np.zeros((10, 10, 3), np.uint8), ["floor_nw"])


def test_overlay_draws_the_rig(tmp_path):
    names = list(FEATURES.points)
    world = np.array([FEATURES.points[n] for n in names])
    corr = Correspondences(names, world, TRUE.project(world))
    fit = fit_camera_points(corr, 640, 480)
    canvas = draw_overlay(np.full((480, 640), 128, np.uint8), fit, FEATURES.segment_array(FLOOR), corr)
    green = (canvas[..., 1] > 150) & (canvas[..., 0] < 100) & (canvas[..., 2] < 100)
    outline = np.round(np.concatenate(project_segments(TRUE, FEATURES.segment_array(FLOOR)))).astype(int)
    inside = (outline[:, 0] >= 0) & (outline[:, 0] < 640) & (outline[:, 1] >= 0) & (outline[:, 1] < 480)
    dilated = cv2.dilate(green.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert dilated[outline[inside, 1], outline[inside, 0]].mean() > 0.95


def real_median(openfield_dir: Path) -> np.ndarray:
    from synthmouse.appearance.estimate import read_frames

    frames = read_frames(openfield_dir / "videos" / "m3v1mp4.mp4", 60)
    return np.median(frames, axis=0).astype(np.uint8)[..., 0]


def test_real_openfield_corners_reproject_within_2px(openfield_dir):
    """DeepLabCut's open field: the arena corners (picked in the median frame, docs/appearance) and its
    edges."""
    median = real_median(openfield_dir)
    features = openfield_features((0.45, 0.45), 0.3)  # x size fixed (estimate); y fitted: aspect
    corr = load_correspondences(POINTS, features.points)
    fit = fit_points_and_edges(
        corr,
        640,
        480,
        FitOptions(distortion="k1k2", free_scale=("y",), focal=500.0),
        edge_map(median),
        features.segment_array(FLOOR),
    )
    assert fit.errors_px.max() < 2.0
    assert fit.edge_rms_px < 1.0 and fit.edge_matches > 500
    assert fit.camera.dist[0] < -0.1  # barrel distortion
    assert fit.scale[1] == pytest.approx(0.667, abs=0.02)  # a 3:2 arena


def cli_app() -> typer.Typer:
    from synthmouse.cli import appearance

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test app"""

    appearance.register(app)
    return app


def test_cli_fit_camera_and_fit_appearance(tmp_path):
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), synthetic_edge_image())
    names = ["floor_ne", "floor_nw", "floor_sw", "floor_se"]
    pixels = TRUE.project(np.array([FEATURES.points[n] for n in names]))
    points = tmp_path / "points.yaml"
    points.write_text(
        "points:\n" + "".join(f"  {n}: [{u:.3f}, {v:.3f}]\n" for n, (u, v) in zip(names, pixels, strict=True))
    )
    runner = CliRunner()
    result = runner.invoke(
        cli_app(),
        [
            "fit-camera",
            str(points),
            "--image",
            str(image),
            "--rig-size",
            "0.45",
            "0.30",
            "--wall-height",
            "0.25",
            "--focal",
            "470",
            "--overlay",
            str(tmp_path / "overlay.png"),
            "--calibration",
            str(tmp_path / "cal.toml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "floor_ne" in result.output and (tmp_path / "overlay.png").is_file()
    cam = load_cameras(tmp_path / "cal.toml")[0]
    assert np.abs(cam.project(np.array([FEATURES.points[n] for n in names])) - pixels).max() < 0.5

    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        f = np.full((60, 80), 200, np.uint8)
        cv2.circle(f, (10 + 5 * i, 30), 6, 40, -1)
        cv2.imwrite(str(frames / f"f{i:02d}.png"), np.clip(f + rng.normal(0, 2, f.shape), 0, 255).astype(np.uint8))
    result = runner.invoke(
        cli_app(), ["fit-appearance", str(frames), "--out", str(tmp_path / "prof"), "--backgrounds", "2"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "prof" / "profile.yaml").is_file() and (tmp_path / "prof" / "background_001.png").is_file()
