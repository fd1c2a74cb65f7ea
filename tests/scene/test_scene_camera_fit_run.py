"""The library entry point ``synthmouse.scene.camera_fit.fit_camera(request)``: the whole fit-camera job without
the CLI (fit, messages, calibration and scene written, refusal and --force, the quick checks before the frame
is read)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthmouse.scene.calibration import load_cameras
from synthmouse.scene.camera import Camera
from synthmouse.scene.camera_fit import (
    CameraFitError,
    CameraFitRequest,
    FitOptions,
    Notice,
    ReferenceFrame,
    fit_camera,
    openfield_features,
)
from synthmouse.scene.spec import load_scene_spec

TRUE = Camera.look_at(
    "top", eye=(0.015, -0.06, 0.40), target=(0, 0.01, 0), up=(0, 1, 0), fx=470, dist=[-0.28, 0.08, 0, 0, 0]
)
CORNERS = ["floor_ne", "floor_nw", "floor_sw", "floor_se"]
FRAME = ReferenceFrame(np.full((480, 640, 3), 128, np.uint8), "a grey test frame")
SCENE = """\
# my arena
seed: 1
rig:
  type: openfield
  size: [0.45, 0.30]
  wall_height: 0.25
cameras:
  - name: top   # the overhead camera
    width: 640
    height: 480
    fov_deg: 70
    look_at: {eye: [0, 0, 0.5], target: [0, 0, 0]}
"""


def write_points(path: Path, size: tuple[float, float] = (0.45, 0.30)) -> np.ndarray:
    """The true camera's image of the floor corners, as a points file; returns the pixels."""
    features = openfield_features(size, 0.25)
    pixels = TRUE.project(np.array([features.points[n] for n in CORNERS]))
    lines = [f"  {n}: [{u:.3f}, {v:.3f}]\n" for n, (u, v) in zip(CORNERS, pixels, strict=True)]
    path.write_text("points:\n" + "".join(lines))
    return pixels


def test_fit_camera_request_fits_writes_the_calibration_and_reports_in_order(tmp_path):
    points = tmp_path / "points.yaml"
    pixels = write_points(points)
    notices: list[Notice] = []
    request = CameraFitRequest(
        points=points,
        frame=FRAME,
        rig_size=(0.45, 0.30),
        wall_height=0.25,
        options=FitOptions(focal=470.0),
        edges=False,
        calibration=tmp_path / "cal.toml",
    )
    result = fit_camera(request, notify=notices.append)
    world = np.array([openfield_features((0.45, 0.30), 0.25).points[n] for n in CORNERS])
    assert result.camera is not None and result.camera.name == "top"
    assert np.abs(result.camera.project(world) - pixels).max() < 0.5
    assert result.check is not None and result.check.ok
    assert result.calibration == tmp_path / "cal.toml" and result.scene is None and result.proposal is None
    saved = load_cameras(tmp_path / "cal.toml")[0]
    np.testing.assert_allclose(saved.project(world), result.camera.project(world), atol=1e-3)
    texts = [n.text for n in notices]
    assert notices[0] == Notice("naming the fitted camera 'top' (name it with --camera NAME)", "note")
    assert texts[1].startswith("camera top: fx=470.00")
    assert any(t.startswith("    floor_ne: ") for t in texts)
    assert texts[-1] == f"wrote calibration {tmp_path / 'cal.toml'}"
    assert {n.level for n in notices[1:]} == {"info"}


def test_without_a_scene_the_camera_is_named_by_the_camera_option(tmp_path):
    points = tmp_path / "points.yaml"
    write_points(points)
    notices: list[Notice] = []
    request = CameraFitRequest(
        points=points,
        frame=FRAME,
        rig_size=(0.45, 0.30),
        wall_height=0.25,
        camera_name="overhead",
        options=FitOptions(focal=470.0),
        edges=False,
        calibration=tmp_path / "cal.toml",
    )
    result = fit_camera(request, notify=notices.append)
    assert result.camera is not None and result.camera.name == "overhead"
    assert load_cameras(tmp_path / "cal.toml")[0].name == "overhead"
    assert notices[0].text.startswith("camera overhead: ") and not any("naming the fitted" in n.text for n in notices)


def test_an_implausible_fit_is_refused_without_writing_and_written_with_force(tmp_path):
    points = tmp_path / "points.yaml"
    write_points(points)
    scene = tmp_path / "scene.yaml"
    scene.write_text(SCENE)
    # four corners of a flat arena cannot fix focal length, two lens terms and the pose (9 unknowns, 8 numbers)
    request = CameraFitRequest(points=points, frame=FRAME, scene=scene, options=FitOptions(), edges=False)
    notices: list[Notice] = []
    with pytest.raises(CameraFitError, match="degenerate.*--focal PX.*--force writes it anyway"):
        fit_camera(request, notify=notices.append)
    assert scene.read_text() == SCENE
    assert any(n.level == "warning" and n.text.startswith("  implausible: ") for n in notices)

    notices.clear()
    forced = CameraFitRequest(points=points, frame=FRAME, scene=scene, options=FitOptions(), edges=False, force=True)
    result = fit_camera(forced, notify=notices.append)
    assert result.scene == scene and result.check is not None and not result.check.ok
    assert any(n.level == "warning" and n.text.startswith("warning: --force: ") for n in notices)
    assert notices[-1].text == f"wrote camera 'top' into {scene} (the rest of the file unchanged)"
    camera = load_scene_spec(scene).cameras[0]
    assert camera.look_at is None and camera.fx == pytest.approx(result.camera.fx, abs=1e-3)
    assert "# my arena" in scene.read_text()


def unread_frame(progress) -> ReferenceFrame:
    raise AssertionError("the frame must not be read before the quick checks")


def test_the_quick_checks_come_before_the_frame_is_read(tmp_path):
    points = tmp_path / "points.yaml"
    with pytest.raises(CameraFitError, match="points file not found.*--propose"):
        fit_camera(CameraFitRequest(points=points, frame=unread_frame, rig_size=(0.45, 0.30)))
    points.write_text("points: {}\n")
    with pytest.raises(CameraFitError, match="already exists; --propose overwrites it only with --force"):
        fit_camera(CameraFitRequest(points=points, frame=unread_frame, propose=True, rig_size=(0.45, 0.30)))


def test_the_frame_reader_gets_the_progress_callback(tmp_path):
    points = tmp_path / "points.yaml"
    write_points(points)
    seen = []

    def reader(progress) -> ReferenceFrame:
        seen.append(progress)
        return FRAME

    def progress(step: str, done: int, total: int) -> None:
        return None

    request = CameraFitRequest(
        points=points, frame=reader, rig_size=(0.45, 0.30), options=FitOptions(focal=470.0), edges=False
    )
    result = fit_camera(request, progress=progress)
    assert seen == [progress] and result.frame is FRAME
