"""``fit-camera --scene`` on rigs other than the open field: a wheel rig's named points (checked against the
meshes the rig builds), its rim refined on the image edges, the fitted camera replacing the scene camera it was
started from (by name), world points on a rig without named points, and the error for an unknown name."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from synthmouse.cli.main import app
from synthmouse.scene.build import build_scene, head_fixed_anchors, load_scene_body, rig_stage
from synthmouse.scene.camera import Camera
from synthmouse.scene.camera_fit import (
    CameraFitError,
    CameraFitRequest,
    FitOptions,
    Notice,
    ReferenceFrame,
    fit_camera,
    rig_features,
)
from synthmouse.scene.camera_fit.run import fitted_camera_name
from synthmouse.scene.rigs import floor_region, wheel_rig_points, wheel_rim_circle
from synthmouse.scene.spec import load_scene_spec, parse_scene_spec

WIDTH, HEIGHT = 320, 240
TRUE = Camera.look_at(
    "side",
    eye=(0.03, 0.36, -0.03),
    target=(0.02, 0.0, -0.06),
    fx=330,
    width=WIDTH,
    height=HEIGHT,
    dist=[-0.06, 0, 0, 0, 0],
)
WHEEL_SCENE = """\
# head-fixed on a wheel
seed: 3
rig:
  type: wheel
  radius: 0.09
  width: 0.07
  screens: 0
cameras:
  - name: side   # a guess, off by a few centimetres and degrees
    width: 320
    height: 240
    fov_deg: 60
    look_at: {eye: [0.07, 0.30, 0.02], target: [0.0, 0.0, -0.04]}
  - name: below
    width: 320
    height: 240
    fov_deg: 50
    look_at: {eye: [0.2, -0.1, -0.1], target: [0.0, 0.0, 0.0]}
"""
NAMED = [
    "rim_top_left",
    "rim_front_left",
    "rim_bottom_left",
    "rim_back_left",
    "axle_left",
    "headbar_left",
    "headbar_right",
    "spout_tip",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """The wheel scene file and its rig points (head bar and spout placed on the scene's mouse)."""
    scene = tmp_path_factory.mktemp("wheel") / "wheel.yaml"
    scene.write_text(WHEEL_SCENE)
    spec = load_scene_spec(scene)
    body = load_scene_body(spec)
    anchors = head_fixed_anchors(body, rig_stage(spec.rig, floor_region(spec.rig), body))
    return scene, wheel_rig_points(spec.rig, anchors)


def cv2_pixels(camera: Camera, world: np.ndarray) -> np.ndarray:
    """The OpenCV reference projection of ``world`` through ``camera``."""
    K = np.array([[camera.fx, 0, camera.cx], [0, camera.fy, camera.cy], [0, 0, 1.0]])
    pixels, _ = cv2.projectPoints(np.asarray(world, np.float64), camera.rvec, camera.t, K, np.asarray(camera.dist))
    return pixels.reshape(-1, 2)


def write_named_points(path: Path, points: dict[str, np.ndarray], noise_px: float = 0.0, camera: Camera = TRUE) -> None:
    """A points file with the rig points by name only (no world coordinates): where ``camera`` sees them."""
    pixels = cv2_pixels(camera, np.array([points[n] for n in NAMED]))
    pixels += np.random.default_rng(5).normal(0.0, noise_px, pixels.shape)
    lines = [f"  {n}: [{u:.3f}, {v:.3f}]\n" for n, (u, v) in zip(NAMED, pixels, strict=True)]
    path.write_text(f"image_size: [{WIDTH}, {HEIGHT}]\npoints:\n" + "".join(lines))


def wheel_frame(rig, camera: Camera) -> ReferenceFrame:
    """A frame of the wheel seen by ``camera``: its near (left) face, a bright disc on a dark background."""
    k = 8  # drawn k times larger (pixel centres at (u + 0.5) k - 0.5), then averaged down: no half-pixel bias
    large = np.full((HEIGHT * k, WIDTH * k), 25, np.uint8)
    rim = (cv2_pixels(camera, wheel_rim_circle(rig, "left", 720)) + 0.5) * k - 0.5
    cv2.fillPoly(large, [np.round(rim * 16).astype(np.int32)], 200, cv2.LINE_8, shift=4)
    image = cv2.resize(large, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    return ReferenceFrame(np.repeat(image[..., None], 3, axis=2), "a drawn wheel")


def rim_error_px(camera: Camera, rig) -> float:
    """Largest distance of the rim's outline as TRUE sees it from the outline as ``camera`` sees it."""
    truth = cv2_pixels(TRUE, wheel_rim_circle(rig, "left", 96))
    seen = camera.project(wheel_rim_circle(rig, "left", 2880))
    return float(np.linalg.norm(truth[:, None] - seen[None], axis=2).min(axis=1).max())


def test_wheel_rig_points_sit_on_the_parts_the_rig_builds(wheel):
    scene_path, points = wheel
    scene = build_scene(load_scene_spec(scene_path))
    parts = {m.name: m for m in scene.rig}
    bar = parts["headbar"].bounds
    np.testing.assert_allclose(points["headbar_left"][[0, 2]], bar.mean(0)[[0, 2]], atol=2e-4)
    assert points["headbar_left"][1] - points["headbar_right"][1] == pytest.approx(bar[1, 1] - bar[0, 1], abs=5e-4)
    ridges = parts["wheel_ridges"].bounds
    assert points["rim_top_left"] == pytest.approx([0.0, 0.035, ridges[1, 2]], abs=1e-6)
    assert points["rim_bottom_right"] == pytest.approx([0.0, -0.035, ridges[0, 2]], abs=1e-6)
    assert points["rim_front_left"][0] == pytest.approx(ridges[1, 0], abs=1e-6)
    spout = parts["lick_spout"].vertices
    assert np.linalg.norm(spout - points["spout_tip"], axis=1).min() < 1e-3  # the tube's end ring
    assert points["spout_tip"][0] == pytest.approx(spout[:, 0].min() + 0.0008, abs=5e-4)
    axle = parts["axle"].bounds
    assert points["axle_left"] == pytest.approx([0.0, axle[1, 1], -0.09], abs=1e-6)


def test_fit_camera_on_the_wheel_from_named_rig_points_replaces_the_named_camera(wheel, tmp_path):
    scene_path, points = wheel
    pts = tmp_path / "points.yaml"
    write_named_points(pts, points)
    out = tmp_path / "fitted.yaml"
    notices: list[Notice] = []
    request = CameraFitRequest(
        points=pts,
        frame=ReferenceFrame(np.zeros((HEIGHT, WIDTH, 3), np.uint8), "black"),
        scene=scene_path,
        camera_name="side",
        options=FitOptions(distortion="k1"),
        out_scene=out,
    )
    result = fit_camera(request, notify=notices.append)
    cam = result.camera
    assert cam is not None and cam.name == "side" and result.check is not None and result.check.ok
    assert np.linalg.norm(cam.position - TRUE.position) < 2e-3
    assert cam.fx == pytest.approx(TRUE.fx, rel=0.01)
    assert rim_error_px(cam, load_scene_spec(scene_path).rig) < 0.3
    assert result.fit is not None and result.fit.rms_px < 0.2
    fitted = load_scene_spec(out)
    assert [c.name for c in fitted.cameras] == ["side", "below"]
    assert fitted.cameras[0].look_at is None and fitted.cameras[0].fx == pytest.approx(cam.fx, abs=1e-3)
    assert fitted.cameras[1] == load_scene_spec(scene_path).cameras[1]
    assert notices[-1].text == f"wrote camera 'side' into {out} (the rest of the file unchanged)"
    # an all-black frame has no edges: the near rim is chosen, then the fit says it kept to the points
    assert (
        Notice(
            "  points only: refining on the rim_left edges failed (edge_map: no edges found in the image (too dark, "
            "flat or thresholds too high))",
            "note",
        )
        in notices
    )


def test_wheel_rim_edges_refine_a_fit_from_noisy_points(wheel, tmp_path):
    scene_path, points = wheel
    rig = load_scene_spec(scene_path).rig
    pts = tmp_path / "points.yaml"
    write_named_points(pts, points, noise_px=1.5)
    frame = wheel_frame(rig, TRUE)
    common = dict(points=pts, frame=frame, scene=scene_path, camera_name="side", options=FitOptions(distortion="k1"))
    common |= dict(out_scene=tmp_path / "out.yaml", force=True)
    plain = fit_camera(CameraFitRequest(**common, edges=False))
    notices: list[Notice] = []
    refined = fit_camera(CameraFitRequest(**common), notify=notices.append)
    assert Notice("  edges: the wheel's rim_left (the face nearer the camera)") in notices
    assert refined.fit is not None and refined.fit.edge_matches > 50 and refined.fit.edge_rms_px < 0.5
    before, after = rim_error_px(plain.camera, rig), rim_error_px(refined.camera, rig)
    assert after < 0.5 < 1.0 < before, (before, after)


def test_a_wheel_seen_edge_on_is_fitted_from_points_only_and_says_so(wheel, tmp_path):
    scene_path, points = wheel
    front = Camera.look_at("side", eye=(0.4, 0.02, -0.03), target=(0.0, 0.0, -0.06), fx=330, width=WIDTH, height=HEIGHT)
    pts = tmp_path / "points.yaml"
    write_named_points(pts, points, camera=front)
    notices: list[Notice] = []
    request = CameraFitRequest(
        points=pts,
        frame=ReferenceFrame(np.zeros((HEIGHT, WIDTH, 3), np.uint8), "black"),
        scene=scene_path,
        camera_name="side",
        options=FitOptions(distortion="none"),
        out_scene=tmp_path / "out.yaml",
        force=True,
    )
    result = fit_camera(request, notify=notices.append)
    assert result.camera is not None and result.camera.name == "side" and result.fit.edge_matches == 0
    assert np.linalg.norm(result.camera.position - front.position) < 1e-3
    assert any(
        n.level == "note" and n.text.startswith("  points only: the camera sees the wheel's faces edge-on")
        for n in notices
    )


def test_an_unknown_point_name_lists_the_wheel_rig_points(wheel, tmp_path):
    scene_path, _ = wheel
    pts = tmp_path / "points.yaml"
    pts.write_text("points:\n  rim_middle: [1, 2]\n")
    request = CameraFitRequest(points=pts, frame=ReferenceFrame(np.zeros((HEIGHT, WIDTH, 3), np.uint8), "black"))
    request = CameraFitRequest(**{**request.__dict__, "scene": scene_path, "camera_name": "side"})
    with pytest.raises(
        CameraFitError,
        match=r"rim_middle: no world coordinates and not a rig point \(the wheel rig's "
        r"points: wheel_centre, rim_top_left, .*headbar_left, headbar_right, spout_tip\)",
    ):
        fit_camera(request)


def test_the_scene_camera_must_be_named_when_there_are_several(wheel, tmp_path):
    scene_path, _ = wheel
    pts = tmp_path / "points.yaml"
    pts.write_text("points:\n  rim_top_left: [1, 2]\n")
    frame = ReferenceFrame(np.zeros((HEIGHT, WIDTH, 3), np.uint8), "black")
    with pytest.raises(CameraFitError, match=r"2 cameras \(side, below\): name the one to fit with --camera"):
        fit_camera(CameraFitRequest(points=pts, frame=frame, scene=scene_path))
    with pytest.raises(CameraFitError, match=r"no camera named 'top'; cameras: side, below"):
        fit_camera(CameraFitRequest(points=pts, frame=frame, scene=scene_path, camera_name="top"))
    assert fitted_camera_name(load_scene_spec(scene_path), scene_path, "below") == "below"
    two = parse_scene_spec(
        TREADMILL_SCENE + "  - {name: top, width: 64, height: 48, fov_deg: 50, look_at: "
        "{eye: [0, 0, 0.5], target: [0, 0, 0]}}\n"
    )
    assert fitted_camera_name(two, scene_path, None) == "top"  # of several, the one named top (the old default)
    assert fitted_camera_name(None, None, None) == "top" and fitted_camera_name(None, None, "side") == "side"


TREADMILL_SCENE = """\
rig:
  type: treadmill
cameras:
  - name: belt_cam
    width: 320
    height: 240
    fov_deg: 55
    look_at: {eye: [0.05, 0.3, 0.12], target: [0.0, 0.0, 0.0]}
"""


def test_a_rig_without_named_points_fits_from_world_points_and_keeps_its_only_camera(tmp_path):
    scene = tmp_path / "treadmill.yaml"
    scene.write_text(TREADMILL_SCENE)
    true = Camera.look_at("x", eye=(0.03, 0.32, 0.1), target=(0.0, 0.0, 0.01), fx=300, width=WIDTH, height=HEIGHT)
    world = np.array(
        [
            [-0.16, 0.035, 0],
            [0.16, 0.035, 0],
            [0.16, -0.035, 0],
            [-0.16, -0.035, 0],
            [-0.16, 0.035, 0.06],
            [0.16, 0.035, 0.06],
            [0.0, 0.035, 0.06],
            [0.0, -0.035, 0.0],
        ]
    )
    pixels = cv2_pixels(true, world)
    rows = [
        f"  p{i}: {{world: [{x}, {y}, {z}], pixel: [{u:.3f}, {v:.3f}]}}\n"
        for i, ((x, y, z), (u, v)) in enumerate(zip(world, pixels, strict=True))
    ]
    pts = tmp_path / "points.yaml"
    pts.write_text("points:\n" + "".join(rows))
    notices: list[Notice] = []
    frame = ReferenceFrame(np.zeros((HEIGHT, WIDTH, 3), np.uint8), "black")
    request = CameraFitRequest(points=pts, frame=frame, scene=scene, options=FitOptions(distortion="none"), force=True)
    result = fit_camera(request, notify=notices.append)
    assert result.camera is not None and result.camera.name == "belt_cam"
    assert np.linalg.norm(result.camera.position - true.position) < 1e-3
    assert (
        Notice("  points only: the treadmill rig has no built-in segments to align with the image edges", "note")
        in notices
    )
    assert load_scene_spec(scene).cameras[0].fx == pytest.approx(result.camera.fx, abs=1e-3)
    pts.write_text("points:\n  belt_corner: [1, 2]\n")
    with pytest.raises(CameraFitError, match="belt_corner: .*the treadmill rig defines no named points"):
        fit_camera(request)


ONE_CAMERA = (
    "cameras:\n  - {name: cam, width: 64, height: 48, fov_deg: 50, look_at: {eye: [0, 0.5, 0.1], target: [0, 0, 0]}}\n"
)


def test_rig_features_of_every_rig_type(tmp_path):
    for kind in ("treadmill", "platform", "none"):
        scene = tmp_path / f"{kind}.yaml"
        scene.write_text(f"rig:\n  type: {kind}\n{ONE_CAMERA}")
        features = rig_features(load_scene_spec(scene).rig)
        assert features.points == {} and features.segments == {} and features.rig == kind
    scene = tmp_path / "wheel.yaml"
    scene.write_text(f"rig:\n  type: wheel\n  radius: 0.1\n  width: 0.06\n  axle: false\n{ONE_CAMERA}")
    wheel = rig_features(load_scene_spec(scene).rig)  # no mouse placed: no head bar or spout points
    assert set(wheel.points) == {"wheel_centre"} | {
        f"rim_{w}_{f}" for w in ("top", "front", "bottom", "back") for f in ("left", "right")
    }
    rim = wheel.segment_array(["rim_right"])
    assert rim.shape == (48, 2, 3) and np.allclose(rim[..., 1], -0.03)
    assert np.allclose(np.linalg.norm(rim[:, 0, [0, 2]] - [0.0, -0.1], axis=1), 0.1)
    with pytest.raises(CameraFitError, match="unknown wheel rig segment.*'rim_near'.*allowed: rim_left, rim_right"):
        wheel.segment_array(["rim_near"])


def test_the_cli_fits_the_only_scene_camera_of_a_wheel_and_keeps_its_name(wheel, tmp_path):
    scene_path, points = wheel
    scene = tmp_path / "one.yaml"
    scene.write_text(WHEEL_SCENE.split("  - name: below")[0])
    rig = load_scene_spec(scene).rig
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), wheel_frame(rig, TRUE).image)
    pts = tmp_path / "points.yaml"
    write_named_points(pts, points)
    result = CliRunner().invoke(app, ["fit-camera", str(pts), "--image", str(image), "--scene", str(scene)])
    assert result.exit_code == 0, result.output
    assert "edges: the wheel's rim_left (the face nearer the camera)" in result.output
    assert f"wrote camera 'side' into {scene}" in result.output
    camera = load_scene_spec(scene).cameras[0]
    assert camera.name == "side" and camera.fx == pytest.approx(TRUE.fx, rel=0.01)
