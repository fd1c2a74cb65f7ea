"""fit-camera refuses degenerate fits: each plausibility criterion on synthetic cameras with known answers, the
advice it gives, the view check against the scene, and the README's commands on the real open field."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from synthmouse.scene.camera import Camera
from synthmouse.scene.camera_fit import CameraFitError
from synthmouse.scene.camera_fit.check import check_fit, rms_limit, scene_view_problems, visible_points
from synthmouse.scene.camera_fit.edges import edge_map
from synthmouse.scene.camera_fit.features import openfield_features
from synthmouse.scene.camera_fit.figures import project_segments
from synthmouse.scene.camera_fit.fit import FitOptions, _make_fit, fit_camera_points, fit_points_and_edges
from synthmouse.scene.camera_fit.points import Correspondences, load_correspondences

REPO = Path(__file__).resolve().parents[2]
POINTS = REPO / "docs" / "appearance" / "openfield_points.yaml"
FLOOR = ["floor_n", "floor_e", "floor_s", "floor_w"]
CORNERS = ["floor_nw", "floor_ne", "floor_se", "floor_sw"]
REAL = openfield_features((0.45, 0.30), 0.1)  # the arena as it is (low walls: their tops stay in view)
GUESS = openfield_features((0.45, 0.45), 0.1)  # the starter scene's square guess
# a wide-angle camera straight above the arena (the open field's kind of view)
TOP = Camera.look_at(
    "top", eye=(0.004, -0.018, 0.34), target=(0.0, 0.0, 0.0), up=(0, 1, 0), fx=500, dist=[-0.25, 0.1, 0, 0, 0]
)


def top_view_image() -> np.ndarray:
    """Bright floor, darker walls, the true floor outline; lightly blurred."""
    img = np.full((480, 640), 110, np.uint8)
    outline = np.concatenate(project_segments(TOP, REAL.segment_array(FLOOR)))
    cv2.fillPoly(img, [np.round(outline * 16).astype(np.int32)], 215, cv2.LINE_AA, 4)
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def corners_seen_by(camera: Camera, guess=GUESS) -> Correspondences:
    """The real corners' pixels, with the world positions the scene believes."""
    pixels = camera.project(np.array([REAL.points[n] for n in CORNERS]))
    return Correspondences(CORNERS, np.array([guess.points[n] for n in CORNERS]), pixels)


def test_the_rms_limit_scales_with_the_image():
    assert rms_limit(640, 480) == pytest.approx(4.0)
    assert rms_limit(100, 100) == 3.0
    assert rms_limit(3840, 2160) == pytest.approx(0.005 * np.hypot(3840, 2160))


def test_a_top_view_with_free_focal_and_a_wrong_aspect_is_refused_with_both_flags():
    corr = corners_seen_by(TOP)
    emap, segs = edge_map(top_view_image()), GUESS.segment_array(FLOOR)
    fit = fit_points_and_edges(corr, 640, 480, FitOptions(), emap, segs)
    check = check_fit(fit, corr, segs)
    assert not check.ok
    message = check.message("scene.yaml")
    assert "--free-scale y" in message and "--focal PX" in message and "--camera-height" in message
    assert "--force" in message and "scene.yaml" in message and "\n" not in message
    # with the flags a top view needs: accepted, and the corners reproduced
    options = FitOptions(free_scale=("y",), focal=500.0)
    good = fit_points_and_edges(corr, 640, 480, options, emap, segs)
    assert check_fit(good, corr, segs).ok
    assert good.errors_px.max() < 1.0  # the drawn outline is anti-aliased and blurred
    assert good.scale[1] == pytest.approx(2 / 3, abs=0.005)
    assert np.linalg.norm(good.camera.position - TOP.position) < 0.003


def test_four_points_without_edges_cannot_determine_focal_length_and_lens():
    corr = corners_seen_by(TOP)
    fit = fit_camera_points(corr, 640, 480, FitOptions(free_scale=("y",)))
    check = check_fit(fit, corr)
    assert [p.criterion for p in check.problems] == ["underdetermined"]
    assert "4 points (8 numbers) cannot determine 10 unknowns" in check.problems[0].text
    assert any("--focal PX" in a for a in check.advice)


def test_the_camera_height_settles_the_focal_length():
    corr = corners_seen_by(TOP)
    emap, segs = edge_map(top_view_image()), GUESS.segment_array(FLOOR)
    fit = fit_points_and_edges(corr, 640, 480, FitOptions(free_scale=("y",), camera_height=0.34), emap, segs)
    assert check_fit(fit, corr, segs).ok
    assert fit.camera.fx == pytest.approx(500, rel=0.02)
    assert fit.camera.position[2] == pytest.approx(0.34, abs=0.002)


def test_a_fixed_focal_with_the_wrong_aspect_asks_for_free_scale():
    corr = corners_seen_by(TOP)
    segs = GUESS.segment_array(FLOOR)
    fit = fit_points_and_edges(corr, 640, 480, FitOptions(focal=500.0), edge_map(top_view_image()), segs)
    check = check_fit(fit, corr, segs)
    assert "rms" in [p.criterion for p in check.problems]
    assert check.advice[0].startswith("--free-scale y (with it the points fit to 0.")


def test_parameters_at_their_bounds_are_named():
    names = list(REAL.points)
    world = np.array([REAL.points[n] for n in names])
    corr = Correspondences(names, world, TOP.project(world))
    fit = fit_camera_points(corr, 640, 480, FitOptions(focal=500.0))
    assert check_fit(fit, corr).ok
    layout = fit.layout
    x = fit.x.copy()
    x[layout.parameter_names().index("k1")] = -1.499
    check = check_fit(_make_fit(layout, x, corr, "top"), corr, diagnose=False)
    assert any(p.criterion == "bound" and p.parameter == "k1" for p in check.problems)
    assert any(a.startswith("--distortion k1") for a in check.advice)


def test_an_implausible_focal_length_and_distance():
    far = Camera.look_at("tele", eye=(0.0, 0.0, 14.0), target=(0, 0, 0), up=(0, 1, 0), fx=8000)
    names = list(REAL.points)
    world = np.array([REAL.points[n] for n in names])
    corr = Correspondences(names, world, far.project(world))
    fit = fit_camera_points(corr, 640, 480, FitOptions(focal=8000.0, distortion="none"))
    kinds = {p.criterion for p in check_fit(fit, corr).problems}
    assert kinds == {"focal", "distance"}


def test_a_lens_that_folds_inside_the_image():
    names = list(REAL.points)
    world = np.array([REAL.points[n] for n in names])
    corr = Correspondences(names, world, TOP.project(world))
    fit = fit_camera_points(corr, 640, 480, FitOptions(focal=500.0, distortion="k1"))
    x = fit.x.copy()
    x[fit.layout.parameter_names().index("k1")] = -0.9  # r(1 - 0.9 r^2) turns back at 0.39 of the fx
    check = check_fit(_make_fit(fit.layout, x, corr, "top"), corr, diagnose=False)
    assert any(p.criterion == "lens" and "folds back" in p.text for p in check.problems)


def test_visible_points_sees_past_nothing_but_the_occluders():
    cam = Camera.look_at("c", eye=(0, 0, 1.0), target=(0, 0, 0), up=(0, 1, 0), fx=300, width=200, height=200)
    points = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [3.0, 0.0, 0.0]])
    np.testing.assert_array_equal(visible_points(cam, points), [True, True, False])
    # a horizontal plate at z = 0.5 over x in [0.05, 0.2] hides the second point only
    plate = np.array(
        [[[0.05, -0.1, 0.5], [0.2, -0.1, 0.5], [0.2, 0.1, 0.5]], [[0.05, -0.1, 0.5], [0.2, 0.1, 0.5], [0.05, 0.1, 0.5]]]
    )
    np.testing.assert_array_equal(visible_points(cam, points, [plate]), [True, False, False])


def test_the_view_check_sees_the_mouse_from_the_template_camera_and_not_from_behind_a_wall():
    from synthmouse.scene.build import build_scene
    from synthmouse.scene.spec import parse_scene_spec

    text = resources.files("synthmouse.scene").joinpath("templates", "openfield.yaml").read_text()
    scene = build_scene(parse_scene_spec(text))
    assert scene_view_problems(scene, scene.camera("top")) == []
    # low, outside the north wall, looking south at the arena centre: the wall hides the mouse
    low = Camera.look_at("top", eye=(0.0, 0.6, 0.1), target=(0, 0, 0.0), fx=500, width=640, height=480)
    problems = scene_view_problems(scene, low)
    assert problems and "keypoints" in problems[0].text and problems[0].criterion == "view"


# ---------------------------------------------------------------------- the README's commands, real data
def _template_scene(tmp_path: Path) -> Path:
    scene = tmp_path / "my_rig.yaml"
    text = resources.files("synthmouse.scene").joinpath("templates", "openfield.yaml").read_text()
    scene.write_text(text)
    return scene


def test_readme_fit_camera_refuses_the_bare_command_and_fits_with_the_documented_flags(openfield_dir, tmp_path):
    """README "Everyday use": without flags the open field's corners give a degenerate camera (fx at its 20 x
    width bound, k1 at -1.5, 9 m away, 15 px rms, the mouse behind a wall): refused, naming the flags; with
    ``--free-scale y --focal 500`` the corners reproject within 2 px and the scene keeps its comments."""
    from synthmouse.cli.main import app
    from synthmouse.scene.build import camera_from_spec
    from synthmouse.scene.spec import load_scene_spec

    video = openfield_dir / "videos" / "m3v1mp4.mp4"
    corners = tmp_path / "corners.yaml"
    shutil.copy(POINTS, corners)
    scene = _template_scene(tmp_path)
    before = scene.read_text()
    base = ["fit-camera", str(corners), "--video", str(video), "--scene", str(scene)]
    runner = CliRunner()
    result = runner.invoke(app, base)
    assert isinstance(result.exception, CameraFitError), result.output
    message = str(result.exception)
    for part in ("--focal PX", "--free-scale y", "--force", "fx", "k1", "rms", "keypoints"):
        assert part in message
    assert scene.read_text() == before  # nothing written
    result = runner.invoke(app, [*base, "--free-scale", "y", "--focal", "500"])
    assert result.exit_code == 0, result.output
    after = scene.read_text()
    changed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert all(any(k in line for k in ("size:", "height:", "fx:", "distortion:", "look_at:")) for line in changed)
    spec = load_scene_spec(scene)
    cam = camera_from_spec(next(c for c in spec.cameras if c.name == "top"))
    fitted = openfield_features(spec.rig.size, spec.rig.wall_height)
    corr = load_correspondences(POINTS, fitted.points)
    errors = np.linalg.norm(cam.project(corr.world) - corr.pixels, axis=1)
    assert errors.max() < 2.0
    assert spec.rig.size[1] == pytest.approx(0.30, abs=0.01)
