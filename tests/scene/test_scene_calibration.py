"""Calibration files: Anipose TOML and OpenCV FileStorage, read back by independent readers (tomllib,
cv2.FileStorage) and checked through cv2.projectPoints."""

from __future__ import annotations

import tomllib

import cv2
import numpy as np
import pytest

from synthmouse.errors import SynthmouseError
from synthmouse.scene.calibration import (
    CalibrationError,
    load_anipose_metadata,
    load_cameras,
    save_cameras,
)
from synthmouse.scene.camera import Camera
from synthmouse.scene.mirror import Mirror

# Same layout as aniposelib's CameraGroup.dump (python `toml` writer: "[ a, b,]" arrays with trailing commas),
# values from a 7-camera mouse rig calibrated in millimetres (two cameras kept).
ANIPOSE_TOML = """\
[cam_0]
name = "cam088"
size = [ 1440, 1080,]
matrix = [ [ 1852.4059883563652, 0.0, 719.5,], [ 0.0, 1852.4059883563652, 539.5,], [ 0.0, 0.0, 1.0,],]
distortions = [ -0.03617269969805811, 0.0, 0.0, 0.0, 0.0,]
rotation = [ -0.0017222068652836759, -0.0017660019086589327, -0.004590121306089567,]
translation = [ 2.5517119183276713, -2.7696043565510524, -18.17036813575914,]

[cam_1]
name = "cam091"
size = [ 1440, 1080,]
matrix = [ [ 1935.9928441823383, 0.0, 719.5,], [ 0.0, 1935.9928441823383, 539.5,], [ 0.0, 0.0, 1.0,],]
distortions = [ -0.31335387778001184, 0.0, 0.0, 0.0, 0.0,]
rotation = [ -0.22567280935134637, -2.982027267048808, 0.38741210057825076,]
translation = [ 117.3672986155046, 262.4968784063239, 1478.8177605708502,]

[metadata]
adjusted = true
error = 1.6680509250648916
"""


def rig(n: int = 3) -> list[Camera]:
    rng = np.random.default_rng(0)
    cameras = []
    for i in range(n):
        eye = np.array([np.cos(2 * np.pi * i / n), np.sin(2 * np.pi * i / n), 0.6]) * 0.5
        cameras.append(
            Camera.look_at(
                f'cam {i} "side"' if i == 1 else f"cam{i}",
                eye,
                (0, 0, 0.02),
                width=1280,
                height=1024,
                fx=1400 + 50 * i,
                fy=1402 + 50 * i,
                cx=640.3 - i,
                cy=511.2 + i,
                dist=rng.uniform([-0.3, -0.1, -0.003, -0.003, -0.02], [0.3, 0.1, 0.003, 0.003, 0.02]),
            )
        )
    return cameras


def assert_same_cameras(a: list[Camera], b: list[Camera], atol: float = 1e-12) -> None:
    assert [c.name for c in a] == [c.name for c in b]
    points = np.random.default_rng(1).normal(0, 0.1, (100, 3))
    for x, y in zip(a, b, strict=True):
        assert (x.width, x.height) == (y.width, y.height)
        np.testing.assert_allclose(x.K, y.K, atol=atol)
        np.testing.assert_allclose(x.dist, y.dist, atol=atol)
        np.testing.assert_allclose(x.R, y.R, atol=atol)
        np.testing.assert_allclose(x.t, y.t, atol=atol)
        np.testing.assert_allclose(x.project(points), y.project(points), atol=1e-6)


# ---------------------------------------------------------------------- Anipose TOML
def test_reads_aniposelib_layout_and_projects_like_opencv(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text(ANIPOSE_TOML)
    cameras = load_cameras(path, unit="mm")
    assert [c.name for c in cameras] == ["cam088", "cam091"]
    assert all((c.width, c.height) == (1440, 1080) for c in cameras)
    raw = tomllib.loads(ANIPOSE_TOML)
    points_mm = np.random.default_rng(2).normal([0, 0, 900], 60, (50, 3))
    for camera, key in zip(cameras, ["cam_0", "cam_1"], strict=True):
        table = raw[key]
        expected, _ = cv2.projectPoints(
            points_mm,
            np.array(table["rotation"]),
            np.array(table["translation"]),
            np.array(table["matrix"]),
            np.array(table["distortions"]),
        )
        np.testing.assert_allclose(camera.project(points_mm / 1000.0), expected.reshape(-1, 2), atol=1e-6)
    np.testing.assert_allclose(cameras[1].t, np.array(raw["cam_1"]["translation"]) / 1000.0, atol=1e-15)
    assert load_anipose_metadata(path) == {"adjusted": True, "error": 1.6680509250648916}


def test_anipose_round_trip_is_exact_and_readable_by_tomllib(tmp_path):
    cameras = rig(3)
    path = tmp_path / "out" / "calibration.toml"
    save_cameras(
        cameras,
        path,
        metadata={"adjusted": False, "error": 0.25, "note": "synthetic \u00b5 rig", "board": [5, 7]},
    )
    raw = tomllib.loads(path.read_text())
    assert list(raw) == ["cam_0", "cam_1", "cam_2", "metadata"]
    assert raw["cam_1"]["name"] == 'cam 1 "side"'
    assert raw["cam_0"]["size"] == [1280, 1024]
    np.testing.assert_allclose(raw["cam_2"]["rotation"], cv2.Rodrigues(cameras[2].R)[0].ravel(), atol=1e-12)
    assert raw["metadata"] == {
        "adjusted": False,
        "error": 0.25,
        "note": "synthetic \u00b5 rig",
        "board": [5, 7],
    }
    back = load_cameras(path)
    assert_same_cameras(cameras, back)
    assert [p.name for p in path.parent.iterdir()] == ["calibration.toml"]  # no temporary file left


def test_anipose_units_convert_translations(tmp_path):
    cameras = rig(2)
    path = tmp_path / "calibration.toml"
    save_cameras(cameras, path, unit="mm")
    raw = tomllib.loads(path.read_text())
    np.testing.assert_allclose(raw["cam_0"]["translation"], cameras[0].t * 1000.0, atol=1e-9)
    assert_same_cameras(cameras, load_cameras(path, unit="mm"), atol=1e-12)
    metres = load_cameras(path)  # the wrong unit gives a camera 1000x further away
    assert np.linalg.norm(metres[0].position) == pytest.approx(1000 * np.linalg.norm(cameras[0].position))


def test_anipose_errors_name_file_camera_and_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(ANIPOSE_TOML.replace("matrix = [ [ 1935.9928441823383, 0.0, 719.5,], ", "matrix = [ "))
    with pytest.raises(CalibrationError, match=r"bad.toml: \[cam_1\]: field 'matrix' .* shape \(2, 3\)"):
        load_cameras(path)
    path.write_text(ANIPOSE_TOML.replace("distortions = [ -0.31335387778001184, 0.0, 0.0, 0.0, 0.0,]\n", ""))
    with pytest.raises(CalibrationError, match=r"\[cam_1\]: missing field 'distortions'"):
        load_cameras(path)
    path.write_text(ANIPOSE_TOML.replace('name = "cam091"', 'name = "cam091"\nfisheye = true'))
    with pytest.raises(CalibrationError, match=r"\[cam_1\]: fisheye"):
        load_cameras(path)
    path.write_text(ANIPOSE_TOML.replace("size = [ 1440, 1080,]", "size = [ 1440.5, 1080,]", 1))
    with pytest.raises(CalibrationError, match=r"\[cam_0\]: field 'size' \[1440.5, 1080\]"):
        load_cameras(path)
    path.write_text("[cam_0\nname = 1")
    with pytest.raises(SynthmouseError, match="bad.toml: not valid TOML"):
        load_cameras(path)
    with pytest.raises(CalibrationError, match=r"unit 'inch' is not one of m, cm, mm"):
        load_cameras(path, unit="inch")


def test_pose2sim_style_float_sizes_and_four_coefficients(tmp_path):
    path = tmp_path / "Calib.toml"
    path.write_text(
        '[int_cam1_img]\nname = "int_cam1_img"\nsize = [1088.0, 1920.0]\n'
        "matrix = [[1000.0, 0.0, 543.5], [0.0, 1000.0, 959.5], [0.0, 0.0, 1.0]]\n"
        "distortions = [0.01, -0.002, 0.0, 0.0]\nrotation = [0.1, 0.2, 0.3]\ntranslation = [0.5, 0.1, 2.0]\n"
        "fisheye = false\n"
    )
    (camera,) = load_cameras(path)
    assert (camera.width, camera.height, camera.name) == (1088, 1920, "int_cam1_img")
    assert camera.dist.tolist() == [0.01, -0.002, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(camera.rvec, [0.1, 0.2, 0.3], atol=1e-12)


# ---------------------------------------------------------------------- OpenCV FileStorage
@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json", ".xml"])
def test_filestorage_round_trip_single_and_multiple(tmp_path, suffix):
    cameras = rig(3)
    single = tmp_path / f"one{suffix}"
    save_cameras(cameras[:1], single)
    assert_same_cameras(cameras[:1], load_cameras(single))
    # independent reader: field names and values
    storage = cv2.FileStorage(str(single), cv2.FILE_STORAGE_READ)
    np.testing.assert_allclose(storage.getNode("camera_matrix").mat(), cameras[0].K, atol=1e-12)
    np.testing.assert_allclose(storage.getNode("distortion_coefficients").mat().ravel(), cameras[0].dist)
    np.testing.assert_allclose(storage.getNode("R").mat(), cameras[0].R, atol=1e-12)
    np.testing.assert_allclose(storage.getNode("T").mat().ravel(), cameras[0].t, atol=1e-12)
    assert storage.getNode("image_width").real() == 1280 and storage.getNode("image_height").real() == 1024
    storage.release()
    several = tmp_path / f"rig{suffix}"
    save_cameras(cameras, several, unit="cm")
    assert_same_cameras(cameras, load_cameras(several, unit="cm"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"one{suffix}", f"rig{suffix}"])


def test_reads_hand_written_opencv_yaml_with_rvec_and_plain_lists(tmp_path):
    path = tmp_path / "calib.yml"
    path.write_text(
        "%YAML:1.0\n---\n"
        "image_width: 640\nimage_height: 480\n"
        "camera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n"
        "   data: [ 812.5, 0., 318.2, 0., 810.1, 241.7, 0., 0., 1. ]\n"
        "distortion_coefficients: !!opencv-matrix\n   rows: 1\n   cols: 5\n   dt: d\n"
        "   data: [ -0.21, 0.08, 0.001, -0.0005, 0. ]\n"
        "rvec: [ 0.4, -0.2, 0.1 ]\n"
        "T: !!opencv-matrix\n   rows: 3\n   cols: 1\n   dt: d\n   data: [ 12.0, -30.0, 550.0 ]\n"
    )
    (camera,) = load_cameras(path, unit="mm")
    assert camera.name == "calib" and (camera.width, camera.height) == (640, 480)
    points_mm = np.random.default_rng(3).normal([0, 0, 0], 40, (30, 3))
    expected, _ = cv2.projectPoints(
        points_mm,
        np.array([0.4, -0.2, 0.1]),
        np.array([12.0, -30.0, 550.0]),
        np.array([[812.5, 0, 318.2], [0, 810.1, 241.7], [0, 0, 1]]),
        np.array([-0.21, 0.08, 0.001, -0.0005, 0.0]),
    )
    np.testing.assert_allclose(camera.project(points_mm / 1000), expected.reshape(-1, 2), atol=1e-6)


def test_filestorage_errors_name_file_and_field(tmp_path):
    path = tmp_path / "calib.yaml"
    path.write_text("%YAML:1.0\n---\ncamera_matrix: [1, 0, 3, 0, 1, 2, 0, 0, 1]\nimage_height: 480\n")
    with pytest.raises(CalibrationError, match=r"calib.yaml: missing or non-numeric field 'image_width'"):
        load_cameras(path)
    path.write_text("%YAML:1.0\n---\ncamera_matrix: [1, 0, 3, 0, 1]\nimage_width: 640\nimage_height: 480\n")
    with pytest.raises(CalibrationError, match=r"calib.yaml: field 'camera_matrix' has shape \(5,\)"):
        load_cameras(path)
    path.write_text("%YAML:1.0\n---\nfoo: 1\n")
    with pytest.raises(CalibrationError, match=r"no 'camera_matrix'.*foo"):
        load_cameras(path)
    with pytest.raises(CalibrationError, match=r"not found"):
        load_cameras(tmp_path / "missing.yaml")
    text_file = tmp_path / "calib.txt"
    text_file.write_text("x")
    with pytest.raises(CalibrationError, match=r"unknown calibration suffix '.txt'"):
        load_cameras(text_file)


def test_save_refuses_mirror_cameras_and_leaves_no_file(tmp_path):
    camera = rig(1)[0]
    virtual = Mirror((0.6, 0, 0), (-1, 0, 0)).mirrored_camera(camera)
    for name in ("calibration.toml", "calib.yaml"):
        with pytest.raises(CalibrationError, match="mirror camera"):
            save_cameras([camera, virtual], tmp_path / name)
    with pytest.raises(CalibrationError, match="no cameras"):
        save_cameras([], tmp_path / "calibration.toml")
    with pytest.raises(CalibrationError, match=r"field 'metadata.when'.*cannot be written"):
        save_cameras([camera], tmp_path / "calibration.toml", metadata={"when": object()})
    assert list(tmp_path.iterdir()) == []
