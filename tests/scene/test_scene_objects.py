"""Rig objects (``rig.objects``): validation, their pose as a pure function of time, and their keypoints
labelled and exported like body keypoints (checked against OpenCV's projection of the scheduled pose)."""

from __future__ import annotations

import copy
import json
import math

import cv2
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from fakes.dataset import dlc_h5
from fakes.scene import SCENE, StillPoses
from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.dataset.meta import CameraInfo, DatasetMeta
from synthmouse.dataset.scene_source import SceneFrameSource, scene_hash
from synthmouse.errors import SceneError
from synthmouse.render import FrameState
from synthmouse.scene.build import build_scene
from synthmouse.scene.draw import place_objects
from synthmouse.scene.objects import motion_offset, object_keypoints, objects_at
from synthmouse.scene.spec import OscillateMotion, ScheduleMotion, parse_scene_spec

FPS = StillPoses.fps
PIVOT = (0.0, 0.0, -0.015)
JOYSTICK = {
    "name": "joystick",
    "shape": "box",
    "size": [0.006, 0.006, 0.03],
    "material": "steel",
    "position": [0.03, -0.035, 0.03],
    "motion": {
        "type": "schedule",
        "pivot": list(PIVOT),
        "keyframes": [
            {"time": 0.0},
            {"time": 3 / FPS, "rotation_deg": [0, 40, 0], "translation": [0.0, 0.0, 0.004]},
        ],
        "interpolation": "smooth",
    },
    "keypoints": {"stick_top": [0.0, 0.0, 0.015], "stick_base": [0.0, 0.0, -0.015]},
}


def scene_dict(objects=None) -> dict:
    data = copy.deepcopy(SCENE)
    data.pop("randomization")  # nominal cameras: the reference projection below needs no jitter
    if objects is not None:
        data["rig"]["objects"] = objects
    return data


def parse(objects) -> object:
    return parse_scene_spec(scene_dict(objects))


# --- the scene file ------------------------------------------------------------------------------------------
def test_objects_validate_and_a_scene_without_them_dumps_as_before():
    spec = parse([JOYSTICK, {"name": "spout", "shape": "sphere", "radius": 0.002, "motion": "static"}])
    stick, spout = spec.rig.objects
    assert isinstance(stick.motion, ScheduleMotion) and stick.motion.interpolation == "smooth"
    assert spout.motion.type == "static" and spout.keypoints == {}
    assert "objects" in spec.model_dump(mode="json")["rig"]
    plain = parse(None)
    assert "objects" not in plain.model_dump(mode="json")["rig"]  # the scene hash of existing scenes stays
    assert scene_hash(plain) == scene_hash(parse([]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"shape": None}, "give either shape"),
        ({"size": None}, "needs size"),
        ({"radius": 0.01}, "radius does not apply to box"),
        ({"name": "bad name"}, r"rig\.objects\[0\]\.name: String should match pattern .* \(got 'bad name'\)"),
        ({"motion": {"type": "schedule", "keyframes": [{"time": 1.0}, {"time": 0.5}]}}, "strictly increasing"),
        ({"motion": {"type": "oscillate", "period": 1.0}}, "at least one above 0"),
        ({"motion": {"type": "oscillate", "period": 1.0, "amplitude": 0.01, "axis": [0, 0, 0]}}, "zero length"),
        ({"motion": {"type": "spin"}}, "spin"),
        ({"colour": "red"}, "colour"),
        ({"material": "no_such_material"}, "unknown material 'no_such_material'"),
    ],
)
def test_bad_objects_are_refused_naming_field_value_and_what_is_allowed(change, message):
    obj = {**JOYSTICK, **change}
    obj = {k: v for k, v in obj.items() if v is not None}
    with pytest.raises(SceneError, match=message):
        parse([obj])


def test_object_names_and_keypoints_must_be_unique_and_not_body_keypoints(parametric_body):
    with pytest.raises(SceneError, match="two rig objects are named 'joystick'"):
        parse([JOYSTICK, JOYSTICK])
    other = {**JOYSTICK, "name": "lever"}
    with pytest.raises(SceneError, match="rig-object keypoints are named 'stick_top'"):
        parse([JOYSTICK, other])
    clash = {**JOYSTICK, "keypoints": {"nose": [0, 0, 0]}}
    with pytest.raises(SceneError, match=r"rig\.objects.*nose is already a body keypoint"):
        build_scene(parse([clash]), body=parametric_body)


# --- the pose over time (pure functions) ---------------------------------------------------------------------
def test_schedule_interpolates_holds_and_repeats():
    motion = ScheduleMotion(
        type="schedule",
        keyframes=[{"time": 1.0}, {"time": 3.0, "translation": [0.02, 0, 0], "rotation_deg": [0, 0, 90]}],
        interpolation="linear",
    )
    np.testing.assert_allclose(motion_offset(motion, 0.0), np.eye(4))  # held before the first keyframe
    half = motion_offset(motion, 2.0)
    np.testing.assert_allclose(half[:3, 3], [0.01, 0, 0], atol=1e-12)
    np.testing.assert_allclose(half[:3, :3], Rotation.from_euler("z", 45, degrees=True).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(motion_offset(motion, 10.0), motion_offset(motion, 3.0))  # held after the last
    smooth = motion.model_copy(update={"interpolation": "smooth", "repeat": True})
    quarter = motion_offset(smooth, 1.5)  # u = 0.25 eased to 0.15625
    np.testing.assert_allclose(quarter[0, 3], 0.02 * 0.15625, atol=1e-12)
    np.testing.assert_allclose(motion_offset(smooth, 3.5), motion_offset(smooth, 1.5), atol=1e-12)  # repeats


def test_schedule_rotates_about_the_pivot_and_oscillation_follows_a_sine():
    pivot = np.array([0.0, 0.0, -0.015])
    motion = ScheduleMotion(type="schedule", keyframes=[{"time": 0.0, "rotation_deg": [0, 90, 0]}], pivot=tuple(pivot))
    offset = motion_offset(motion, 0.0)
    np.testing.assert_allclose(offset[:3, :3] @ pivot + offset[:3, 3], pivot, atol=1e-12)  # the pivot stays
    top = offset[:3, :3] @ [0, 0, 0.015] + offset[:3, 3]
    np.testing.assert_allclose(top, [0.03, 0, -0.015], atol=1e-12)  # the top swings down to +x
    wave = OscillateMotion(type="oscillate", axis=(0, 2, 0), period=2.0, amplitude=0.01, phase_deg=90)
    for t in (0.0, 0.5, 1.0, 1.7):
        expected = 0.01 * math.sin(math.pi * t + math.pi / 2)
        np.testing.assert_allclose(motion_offset(wave, t)[:3, 3], [0, expected, 0], atol=1e-12)


def test_place_objects_is_a_pure_function_of_time(parametric_body):
    scene = build_scene(parse([JOYSTICK]), body=parametric_body)
    assert scene.label_names[-2:] == ("stick_top", "stick_base")
    assert scene.rig_keypoint_names == ("stick_top", "stick_base")
    later = place_objects(scene, 2 / FPS)
    again = place_objects(scene, 2 / FPS)
    assert later.objects[0].mesh is scene.objects[0].mesh  # the geometry stays: a renderer keeps it uploaded
    np.testing.assert_array_equal(object_keypoints(later.objects), object_keypoints(again.objects))
    np.testing.assert_allclose(object_keypoints(place_objects(scene, 0.0).objects), object_keypoints(scene.objects))
    assert not np.allclose(object_keypoints(later.objects), object_keypoints(scene.objects))
    static = build_scene(parse(None), body=parametric_body)
    assert place_objects(static, 1.0) is static and objects_at((), 1.0) == ()


def test_rig_keypoints_are_metadata_only_when_there_are_objects():
    cams = (CameraInfo("c", 8, 8, ("nose", "stick_top")),)
    plain = DatasetMeta("s", "h", cams, ("nose", "stick_top"))
    assert "rig_keypoints" not in plain.to_json()  # datasets without objects keep their bytes
    meta = DatasetMeta("s", "h", cams, ("nose", "stick_top"), rig_keypoints=("stick_top",))
    assert meta.to_json()["rig_keypoints"] == ["stick_top"]
    assert DatasetMeta.from_json(json.loads(json.dumps(meta.to_json()))) == meta
    with pytest.raises(Exception, match="labelled by no camera"):
        DatasetMeta("s", "h", cams, ("nose",), rig_keypoints=("lever_tip",))


# --- rendered and labelled -----------------------------------------------------------------------------------
def scheduled_keypoints(frame: int, local=((0, 0, 0.015), (0, 0, -0.015))) -> np.ndarray:
    """The joystick's keypoints (or other ``local`` points of it) at ``frame``, computed here from the scene
    file's numbers (not the package)."""
    t = frame / FPS
    u = min(max(t / (3 / FPS), 0.0), 1.0)
    u = u * u * (3 - 2 * u)  # smooth
    rotation = Rotation.from_euler("xyz", [0, 40 * u, 0], degrees=True).as_matrix()
    pivot = np.array(PIVOT)
    local = np.asarray(local, float)
    moved = (local - pivot) @ rotation.T + pivot + [0, 0, 0.004 * u]
    return moved + JOYSTICK["position"]


@pytest.mark.gl
def test_moving_object_keypoints_project_exactly_and_the_object_is_seen_moving(tmp_path, renderer, parametric_body):
    scene = build_scene(parse([JOYSTICK]), body=parametric_body)
    source = SceneFrameSource(scene=scene, seed=2, motion=StillPoses(scene, 2), renderer=renderer, name="joy")
    assert source.meta.rig_keypoints == ("stick_top", "stick_base")
    report = generate(source, tmp_path / "ds", GenerateOptions(n_frames=4, formats=("dlc", "coco")))
    assert report.complete
    root = report.root
    kp3d = pd.read_csv(root / "keypoints3d.csv", index_col="frame")
    coco = json.loads((root / "coco" / "annotations.json").read_text())
    assert coco["categories"][0]["keypoints"][-2:] == ["stick_top", "stick_base"]
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["bodyparts"][-2:] == ["stick_top", "stick_base"]
    assert manifest["provenance"]["rig_keypoints"] == ["stick_top", "stick_base"]
    for camera in scene.cameras:
        labels = pd.read_hdf(dlc_h5(root, camera.name), "df_with_missing")
        bodyparts = labels.columns.get_level_values("bodyparts").unique().tolist()
        assert bodyparts[-2:] == ["stick_top", "stick_base"]
        rvec = cv2.Rodrigues(np.asarray(camera.R, float))[0]
        for i in range(4):
            truth = scheduled_keypoints(i)
            got3d = np.array([[kp3d.loc[i, f"{n}_{a}"] for a in "xyz"] for n in ("stick_top", "stick_base")])
            np.testing.assert_allclose(got3d, truth, atol=1e-6)
            ref, _ = cv2.projectPoints(truth, rvec, np.asarray(camera.t, float), camera.K, camera.dist)
            got = labels.iloc[i].to_numpy().reshape(-1, 2)[-2:]
            assert np.isfinite(got[0]).all(), f"{camera.name}: the stick's top is labelled visible"
            shown = np.isfinite(got[:, 0])
            np.testing.assert_allclose(got[shown], ref[:, 0][shown], atol=1e-3)
    side = scene.camera("side")
    first, last = (source.render(i).views[0] for i in (0, 3))
    assert first.camera == last.camera == "side"
    # the stick's centre (3 mm behind its front face) is where the depth map has the stick, and it has left
    # its old place
    centre0, centre3 = (side.project_with_depth(scheduled_keypoints(i, [(0, 0, 0)])) for i in (0, 3))
    (u0, v0), (u3, v3) = np.rint(centre0[0][0]).astype(int), np.rint(centre3[0][0]).astype(int)
    assert abs(u3 - u0) >= 4  # it tilted across the image
    assert 0.0 < centre0[1][0] - first.depth[v0, u0] < 0.006
    assert 0.0 < centre3[1][0] - last.depth[v3, u3] < 0.006
    assert last.depth[v0, u0] - first.depth[v0, u0] > 0.01
    assert not np.array_equal(first.depth, last.depth)


MIRROR_SCENE = {
    "body": {"position": [5.0, 5.0, 0.0]},  # the mouse far away: only the object is in view
    "rig": {
        "type": "none",
        "floor_material": None,
        "objects": [
            {
                "name": "bar",
                "shape": "box",
                "size": [0.008, 0.008, 0.008],
                "material": "steel",
                "motion": {"type": "oscillate", "axis": [0, 0, 1], "amplitude": 0.015, "period": 0.4},
                "keypoints": {"bar_centre": [0, 0, 0]},
            }
        ],
    },
    "mirrors": [
        {
            "name": "m",
            "suffix": "_mirror",
            "normal": [-1, 0, 0],
            "corners": [[0.04, -0.15, -0.05], [0.04, 0.05, -0.05], [0.04, 0.05, 0.05], [0.04, -0.15, 0.05]],
        }
    ],
    "background": "black",
    "cameras": [
        {
            "name": "c",
            "width": 160,
            "height": 120,
            "fov_deg": 40,
            "look_at": {"eye": [0, -0.25, 0], "target": [0.03, 0, 0]},
        }
    ],
}


@pytest.mark.gl
def test_a_moving_object_is_drawn_and_labelled_in_a_mirror(renderer, parametric_body):
    scene = build_scene(parse_scene_spec(copy.deepcopy(MIRROR_SCENE)), body=parametric_body)
    camera = scene.cameras[0]
    rvec = cv2.Rodrigues(np.asarray(camera.R, float))[0]
    depths = []
    for frame in (0, 3):  # 0.1 s apart: a quarter period, the bar from its rest height to 15 mm above it
        t = frame / FPS
        result = renderer.render(place_objects(scene, t), FrameState(frame, scene.rest_pose()))
        view = result.views[0]
        assert result.keypoint_names[-1] == "bar_centre" and view.names[-1] == "bar_centre_mirror"
        centre = np.array([[0.0, 0.0, 0.015 * math.sin(2 * math.pi * t / 0.4)]])
        np.testing.assert_allclose(result.keypoints3d[-1:], centre, atol=1e-9)
        reflected = centre * [-1, 1, 1] + [0.08, 0, 0]  # the plane x = 0.04
        ref, _ = cv2.projectPoints(reflected, rvec, np.asarray(camera.t, float), camera.K, camera.dist)
        np.testing.assert_allclose(view.keypoints[-1], ref[0, 0], atol=1e-3)
        assert view.visible[-1]
        (u, v), z = np.rint(ref[0, 0]).astype(int), (np.asarray(camera.R) @ reflected[0] + camera.t)[2]
        assert 0.0 < z - view.depth[v, u] < 0.006  # the reflection's apparent depth, its near face
        depths.append(view.depth)
    assert not np.array_equal(*depths)


@pytest.mark.gl
def test_a_moved_object_is_shaded_like_an_object_built_at_that_pose(renderer, parametric_body):
    """Positions, normals and lighting follow the move: the object turned by its schedule renders like a static
    object written at the turned pose, in every camera (before the shader moved normals, up to 106 DN apart)."""
    base = {**JOYSTICK, "material": "white_plastic"}
    turn = [60, 0, 45]
    moving = {
        **base,
        "motion": {"type": "schedule", "keyframes": [{"time": 0.0}, {"time": 1 / FPS, "rotation_deg": turn}]},
    }
    static = {**base, "rotation_deg": turn, "motion": {"type": "static"}}

    def views(spec, frame):
        scene = build_scene(parse([spec]), body=parametric_body)
        source = SceneFrameSource(scene=scene, seed=2, motion=StillPoses(scene, 2), renderer=renderer, name="joy")
        return [view.rgb.astype(int) for view in source.render(frame).views]

    moved, built, at_rest = views(moving, 2), views(static, 2), views(moving, 0)  # frame 2: the turn is held
    for m, b, r in zip(moved, built, at_rest, strict=True):
        assert np.abs(m - b).max() <= 2
        assert np.abs(r - b).max() > 20  # the turn is visible
