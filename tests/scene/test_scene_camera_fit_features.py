"""``fit-camera --propose``: the arena floor's corners found in a drawn arena with known corners (lens distortion,
vignetting, noise, a mark on the floor), named from the scene's camera, written as a commented points file
and drawn for checking; and on the real open field against the hand-checked corners."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from synthmouse.scene.camera import Camera
from synthmouse.scene.camera_fit import CameraFitError
from synthmouse.scene.camera_fit.features import FLOOR_CORNERS, name_corners, openfield_features, propose_floor_corners
from synthmouse.scene.camera_fit.figures import draw_proposal, project_segments
from synthmouse.scene.camera_fit.points import load_correspondences, write_points_file

REPO = Path(__file__).resolve().parents[2]
FEATURES = openfield_features((0.45, 0.30), 0.12)
FLOOR = ["floor_n", "floor_e", "floor_s", "floor_w"]
TOP = Camera.look_at(
    "top", eye=(0.01, -0.02, 0.34), target=(0.0, 0.0, 0.0), up=(0, 1, 0), fx=500, dist=[-0.25, 0.1, 0, 0, 0]
)


def coverage(polygon: np.ndarray, h: int, w: int, ss: int = 8) -> np.ndarray:
    """``(h, w) float32`` share of each pixel inside ``polygon`` (pixel centres at integers, 8 x 8 samples;
    OpenCV's anti-aliased fill is about half a pixel off)."""
    fine = np.zeros((h * ss, w * ss), np.uint8)
    cv2.fillPoly(fine, [np.round(((polygon + 0.5) * ss - 0.5) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return cv2.resize(fine.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)


def arena_image(camera: Camera = TOP, seed: int = 0) -> np.ndarray:
    """A median frame as a camera would see the box: dark surround, grey walls, a bright floor with vignetting,
    a faint line and a dark dropping on it, sensor noise."""
    h, w = camera.height, camera.width
    img = np.full((h, w), 60.0, np.float32)
    tops = np.concatenate(project_segments(camera, FEATURES.segment_array(["top_n", "top_e", "top_s", "top_w"])))
    floor = np.concatenate(project_segments(camera, FEATURES.segment_array(FLOOR)))
    img += coverage(tops, h, w) * (125 - 60)
    yy, xx = np.mgrid[0:h, 0:w]
    vignette = 1.0 - 0.35 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2
    img += coverage(floor, h, w) * (235 * vignette - 125)
    cv2.line(img, (80, 300), (560, 310), 200, 1, cv2.LINE_AA)  # a faint mark on the floor
    cv2.circle(img, (460, 170), 6, 40, -1, cv2.LINE_AA)  # a dropping
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    img += np.random.default_rng(seed).normal(0, 1.5, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def truth(camera: Camera = TOP) -> dict[str, np.ndarray]:
    return {n: camera.project(FEATURES.points[n]) for n in FLOOR_CORNERS}


def test_the_corners_of_a_drawn_arena_are_found_within_a_fifth_of_a_pixel():
    proposal = propose_floor_corners(arena_image())
    assert set(proposal.points) == set(FLOOR_CORNERS)
    assert proposal.naming.startswith("compass")
    for name, true in truth().items():
        assert np.hypot(*(np.array(proposal.points[name]) - true)) < 0.2, name
    assert max(proposal.side_rms_px) < 0.1 and min(proposal.side_points) > 150


def test_names_follow_the_scene_camera_when_north_is_not_up():
    # the camera turned a quarter: north (+y) is on the image's left
    turned = Camera.look_at(
        "top", eye=(0.01, -0.02, 0.5), target=(0, 0, 0), up=(-1, 0, 0), fx=500, dist=[-0.25, 0.1, 0, 0, 0]
    )
    image = arena_image(turned)
    guess = Camera.look_at("top", eye=(0, 0, 0.6), target=(0, 0, 0), up=(-1, 0, 0), fx=560, width=640, height=512)
    square = openfield_features((0.45, 0.45), 0.3)
    expected = {n: guess.project(square.points[n]) * [1.0, 480 / 512] for n in FLOOR_CORNERS}
    proposal = propose_floor_corners(image, expected)
    assert proposal.naming == "scene camera"
    for name, true in truth(turned).items():
        assert np.hypot(*(np.array(proposal.points[name]) - true)) < 0.5, name
    by_compass = propose_floor_corners(image)
    assert by_compass.points["floor_nw"] != proposal.points["floor_nw"]


def test_compass_names_and_their_failure():
    corners = np.array([[600.0, 60], [20, 60], [20, 450], [600, 450]])
    named, how = name_corners(corners)
    assert how.startswith("compass")
    np.testing.assert_array_equal(named["floor_nw"], [20, 60])
    np.testing.assert_array_equal(named["floor_se"], [600, 450])


def test_an_image_without_an_arena_is_refused_with_advice():
    flat = np.full((120, 160), 128, np.uint8)
    flat[::2, ::2] = 130  # texture but no outline
    with pytest.raises(CameraFitError, match="propose corners|edge"):
        propose_floor_corners(flat)


def test_the_points_file_is_commented_and_reads_back(tmp_path):
    proposal = propose_floor_corners(arena_image())
    path = write_points_file(
        tmp_path / "corners.yaml",
        proposal,
        (640, 480),
        "video.mp4 (median of 100 frames)",
        FEATURES.points,
        "corners.png",
    )
    text = path.read_text()
    assert text.startswith("# Rig points for `synthmouse fit-camera`")
    assert "corners.png" in text and "north-west inner floor corner, world (-0.225, +0.150, 0.000) m" in text
    assert yaml.safe_load(text)["image"] == "video.mp4 (median of 100 frames)"
    corr = load_correspondences(path, FEATURES.points)
    assert corr.image_size == (640, 480) and set(corr.names) == set(FLOOR_CORNERS)
    for name, pixel in zip(corr.names, corr.pixels, strict=True):
        assert np.abs(pixel - proposal.points[name]).max() <= 0.005 + 1e-9


def test_the_overlay_marks_every_point_and_magnifies_it():
    image = arena_image()
    proposal = propose_floor_corners(image)
    canvas = draw_proposal(image, proposal)
    assert canvas.shape[0] == 480 and canvas.shape[1] > 640 and canvas.dtype == np.uint8
    red = (canvas[..., 2] > 200) & (canvas[..., 1] < 60) & (canvas[..., 0] < 60)
    for u, v in proposal.points.values():
        assert red[round(v) - 3 : round(v) + 4, round(u) - 3 : round(u) + 4].any()
    assert red[:, 640:].sum() > 4 * 20  # a cross in each inset


def cli():
    from synthmouse.cli.main import app

    return app


def test_cli_propose_writes_the_points_and_the_picture_and_keeps_edits(tmp_path):
    frame = tmp_path / "frame.png"
    cv2.imwrite(str(frame), arena_image())
    points = tmp_path / "corners.yaml"
    args = ["fit-camera", str(points), "--propose", "--image", str(frame), "--rig-size", "0.45", "0.30"]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "corners.png").is_file() and "--free-scale y --focal PX" in result.output
    corr = load_correspondences(points, FEATURES.points)
    for name, pixel in zip(corr.names, corr.pixels, strict=True):
        assert np.hypot(*(pixel - truth()[name])) < 0.5
    result = CliRunner().invoke(cli(), args)  # the user may have edited it: not overwritten
    assert isinstance(result.exception, CameraFitError) and "--force" in str(result.exception)
    assert CliRunner().invoke(cli(), [*args, "--force"]).exit_code == 0


def test_cli_fit_without_a_points_file_says_how_to_get_one(tmp_path):
    frame = tmp_path / "frame.png"
    cv2.imwrite(str(frame), arena_image())
    result = CliRunner().invoke(cli(), ["fit-camera", str(tmp_path / "corners.yaml"), "--image", str(frame)])
    assert isinstance(result.exception, CameraFitError)
    assert "--propose" in str(result.exception) and "not found" in str(result.exception)


def test_real_openfield_corners_match_the_hand_checked_ones(openfield_dir):
    from synthmouse.appearance.estimate import read_frames

    frames = read_frames(openfield_dir / "videos" / "m3v1mp4.mp4", 100)
    median = np.median(frames, axis=0).astype(np.uint8)[..., 0]
    proposal = propose_floor_corners(median)
    reference = yaml.safe_load((REPO / "docs" / "appearance" / "openfield_points.yaml").read_text())["points"]
    for name, (u, v) in reference.items():
        assert np.hypot(proposal.points[name][0] - u, proposal.points[name][1] - v) < 2.0, name
