"""Placing a mirror by naming the view it shows: the reflected animal lands on the pixel asked for (checked with
cv2), its virtual camera looks from the named side, and the mirror entry goes into the scene file."""

from __future__ import annotations

import textwrap

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from synthmouse.cli.main import app
from synthmouse.errors import SceneError
from synthmouse.io.labels import read_labels
from synthmouse.scene.build import build_scene
from synthmouse.scene.camera import Camera
from synthmouse.scene.mirror_place import (
    default_pixel,
    labelled_pixel,
    mirror_entry,
    place_mirror,
    scene_text_with_mirror,
    view_direction,
)
from synthmouse.scene.spec import load_scene_spec, parse_scene_spec

TARGET = np.array([0.0, 0.0, 0.02])
EXTENT = (0.1, 0.04, 0.05)


def side_camera(dist=(0.0, 0.0, 0.0, 0.0, 0.0)) -> Camera:
    return Camera.look_at(
        "side", eye=[0.0, -0.35, -0.03], target=[0.0, 0.0, -0.03], width=640, height=480, fx=700, dist=dist
    )


def cv2_pixel(camera: Camera, point: np.ndarray) -> np.ndarray:
    rvec, _ = cv2.Rodrigues(camera.R)
    pixel, _ = cv2.projectPoints(point.reshape(1, 1, 3), rvec, camera.t, camera.K, camera.dist)
    return pixel.reshape(2)


@pytest.mark.parametrize("dist", [(0.0, 0.0, 0.0, 0.0, 0.0), (-0.2, 0.05, 0.001, -0.001, 0.0)])
@pytest.mark.parametrize("view, pixel", [("below", (320.0, 420.0)), ("front", (560.0, 120.0)), ("below", None)])
def test_the_reflected_animal_projects_to_the_pixel_asked_for(dist, view, pixel):
    camera = side_camera(dist)
    placed = place_mirror(camera, TARGET, view, pixel, extent=EXTENT, name="m")
    mirror = placed.mirror
    wanted = default_pixel(camera, TARGET, view_direction(view)) if pixel is None else np.array(pixel)
    assert cv2_pixel(camera, mirror.reflect_points(TARGET)) == pytest.approx(wanted, abs=1e-6)
    assert mirror.mirrored_camera(camera).project(TARGET[None])[0] == pytest.approx(wanted, abs=1e-6)
    assert placed.view_error_deg < 20.0
    assert placed.achieved @ view_direction(view) > np.cos(np.radians(20.0))
    assert not placed.blocks_direct_view
    # the camera sees every corner of the animal's box in the mirror
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    assert mirror.mirror_visible(TARGET + 0.5 * signs * EXTENT, camera).all()
    assert mirror.signed_distance(camera.position) > 0 and mirror.signed_distance(TARGET) > 0


def test_a_view_from_below_in_a_side_camera_lands_in_the_lower_half_and_looks_up():
    camera = side_camera()
    placed = place_mirror(camera, TARGET, "below", extent=EXTENT)
    here = camera.project(TARGET[None])[0]
    assert placed.pixel[1] > here[1] and placed.pixel[1] > camera.height / 2
    assert placed.view_error_deg < 1.0  # below and the pixel ray lie in one vertical plane: met exactly
    assert placed.achieved[2] < -0.99
    above = place_mirror(camera, TARGET, "above", extent=EXTENT)
    assert above.pixel[1] < here[1] and above.achieved[2] > 0.99


def test_views_that_cannot_be_named_or_placed_are_refused():
    camera = side_camera()
    with pytest.raises(SceneError, match="allowed are below"):
        place_mirror(camera, TARGET, "underneath")
    with pytest.raises(SceneError, match="line of sight"):
        place_mirror(camera, TARGET, "left")  # towards the camera: no image side; give --at
    with pytest.raises(SceneError, match="non-zero direction"):
        view_direction([0, 0, 0])


SCENE = """\
body: {model: parametric, keypoints: mouse22}
rig: {type: wheel, tread: slats, sides: spokes, screens: 0, table: false}
cameras:
  - {name: side, width: 320, height: 240, fx: 300, look_at: {eye: [0.02, -0.42, -0.06], target: [0, 0, -0.06]}}
"""


def mirror_of(text: str, name: str):
    return next(m for m in parse_scene_spec(text).mirrors if m.name == name)


def test_scene_text_gets_the_mirror_added_or_replaced_keeping_the_rest():
    placed = place_mirror(side_camera(), TARGET, "below", extent=EXTENT, name="below").mirror
    entry = mirror_entry(placed, "_below")
    added = scene_text_with_mirror(SCENE + "# a comment\n", entry)
    assert added.startswith(SCENE + "# a comment\n")
    spec = mirror_of(added, "below")
    assert spec.unit_normal == pytest.approx(placed.normal, abs=1e-5) and spec.suffix == "_below"
    existing = SCENE + textwrap.dedent("""\
        mirrors:
          - name: back
            corners: [[-0.15, 0.1, 0.0], [0.15, 0.1, 0.0], [0.15, 0.1, 0.12]]
        outputs: {format: png}
        """)
    both = scene_text_with_mirror(existing, entry)
    assert [m.name for m in parse_scene_spec(both).mirrors] == ["back", "below"]
    assert both.endswith("outputs: {format: png}\n")
    moved = mirror_entry(place_mirror(side_camera(), TARGET, "front", extent=EXTENT, name="below").mirror)
    replaced = scene_text_with_mirror(both, moved)
    assert [m.name for m in parse_scene_spec(replaced).mirrors] == ["back", "below"]
    assert mirror_of(replaced, "below").unit_normal == pytest.approx(moved["normal"], abs=1e-5)


def test_place_mirror_command_writes_a_mirror_that_shows_the_mouse(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_text(SCENE)
    result = CliRunner().invoke(
        app, ["place-mirror", str(path), "--view", "below", "--at", "150,200", "--at", "170,220", "--name", "under"]
    )
    assert result.exit_code == 0, result.output
    assert "mirrors:" in result.output and path.read_text() == SCENE  # printed, not written
    result = CliRunner().invoke(app, ["place-mirror", str(path), "--at", "160,210", "--name", "under", "--write"])
    assert result.exit_code == 0, result.output
    scene = build_scene(load_scene_spec(path))
    (mirror,) = scene.mirrors
    camera = scene.camera("side")
    centre = np.asarray(scene.body_extent).mean(0)
    assert cv2_pixel(camera, mirror.mirror.reflect_points(centre)) == pytest.approx(
        [160.0, 210.0], abs=0.5
    )  # corners rounded to 0.1 mm


LABELS = """\
scorer,,,me,me,me,me,me,me
bodyparts,,,nose,nose,hand_under,hand_under,nose_under,nose_under
coords,,,x,y,x,y,x,y
labeled-data,s,img0.png,10,20,150,200,170,220
labeled-data,s,img1.png,11,21,,,170,220
"""


def test_labelled_points_of_the_mirrored_animal_give_the_pixel(tmp_path):
    labels = tmp_path / "CollectedData_me.csv"
    labels.write_text(LABELS)
    frames = read_labels(labels)
    assert labelled_pixel(frames, ["hand_under", "nose_under"]) == pytest.approx([490 / 3, 640 / 3])
    with pytest.raises(SceneError, match="paw_under"):
        labelled_pixel(frames, ["paw_under"])
    path = tmp_path / "scene.yaml"
    path.write_text(SCENE)
    result = CliRunner().invoke(app, ["place-mirror", str(path), "--labels", str(labels), "--name", "under", "--write"])
    assert result.exit_code == 0, result.output
    assert "pixel (163.3, 213.3)" in result.output  # the keypoints ending with the mirror's suffix "_under"
    result = CliRunner().invoke(app, ["place-mirror", str(path), "--labels", str(labels), "--at", "1,2"])
    assert isinstance(result.exception, SceneError) and "not both" in str(result.exception)
