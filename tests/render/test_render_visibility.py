"""Backend-neutral label visibility and the renderer's pure projection maths, on synthetic depth maps (no GL)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from synthmouse.render.matrices import far_plane, gl_matrix, look_at_gl, mirror_clip_planes, perspective
from synthmouse.render.visibility import (
    DEFAULT_VISIBILITY_TOLERANCE_M,
    facing_mirrors,
    keypoint_visibility,
    label_keypoints,
    visibility_tolerance,
)
from synthmouse.scene.build import SceneMirror
from synthmouse.scene.camera import Camera
from synthmouse.scene.mirror import Mirror

W, H = 80, 60


def top_camera() -> Camera:
    return Camera.look_at("top", eye=(0, 0, 1.0), target=(0, 0, 0), width=W, height=H, fx=100)


def floor_depth(camera: Camera, z_floor: float = 0.0) -> np.ndarray:
    """The depth map of a floor at height ``z_floor`` under a camera looking straight down."""
    return np.full((camera.height, camera.width), camera.position[2] - z_floor, np.float32)


def test_points_on_the_surface_are_visible_and_points_under_it_are_not():
    camera = top_camera()
    depth = floor_depth(camera)
    points = np.array([[0.0, 0.0, 0.0], [0.05, 0.0, -0.004], [0.0, 0.05, -0.02], [5.0, 0.0, 0.0]])
    pixels, visible = keypoint_visibility(camera, points, depth, 0.005)
    np.testing.assert_allclose(pixels, camera.project(points))
    assert visible.tolist() == [True, True, False, False]  # on it, 4 mm under it, 2 cm under it, out of view
    _, strict = keypoint_visibility(camera, points, depth, 0.001)
    assert strict.tolist() == [True, False, False, False]


def test_an_occluder_in_front_hides_only_its_pixels():
    camera = top_camera()
    depth = floor_depth(camera)
    u, v = np.rint(camera.project(np.zeros((1, 3)))[0]).astype(int)
    depth[v - 1 : v + 2, u - 1 : u + 2] = 0.5  # a small box 0.5 m above the floor at the origin
    _, visible = keypoint_visibility(camera, np.array([[0.0, 0.0, 0.0], [0.1, 0.1, 0.0]]), depth, 0.005)
    assert visible.tolist() == [False, True]


def test_mirror_labels_follow_the_direct_ones_and_need_a_facing_mirror():
    camera = top_camera()
    corners = [[0.1, -0.2, -0.1], [0.1, 0.2, -0.1], [0.1, 0.2, 0.8], [0.1, -0.2, 0.8]]
    mirror = SceneMirror(Mirror.from_corners(corners, facing=[0.0, 0.0, 0.0], name="east"), "_east")
    scene = SimpleNamespace(keypoint_set=SimpleNamespace(names=("a", "b")), mirrors=(mirror,))
    depth = np.full((H, W), np.inf, np.float32)
    points = np.array([[0.0, 0.0, 0.0], [0.05, 0.0, 0.02]])
    pixels, visible, names = label_keypoints(scene, camera, points, depth, [], 0.005)
    assert names == ("a", "b", "a_east", "b_east")
    assert pixels.shape == (4, 2) and visible[:2].all() and not visible[2:].any()  # mirror not drawn
    _, drawn, _ = label_keypoints(scene, camera, points, depth, facing_mirrors(scene.mirrors, camera), 0.005)
    np.testing.assert_array_equal(drawn[2:], mirror.mirror.mirror_visible(points, camera))
    assert drawn[2:].any()  # the camera sees some reflections


def test_visibility_tolerance_order():
    scene = SimpleNamespace(spec=SimpleNamespace(outputs=SimpleNamespace(visibility_tolerance=0.002)))
    assert visibility_tolerance(scene) == 0.002 and visibility_tolerance(scene, 0.01) == 0.01
    bare = SimpleNamespace(spec=SimpleNamespace(outputs=SimpleNamespace()))
    assert visibility_tolerance(bare) == DEFAULT_VISIBILITY_TOLERANCE_M


def test_gl_matrices_agree_with_opencv_projection():
    camera = top_camera()
    point = np.array([0.1, -0.05, 0.02, 1.0])
    clip = camera.projection_matrix_gl(0.01, 10.0) @ camera.gl_view_matrix() @ point
    ndc = clip[:3] / clip[3]
    pixel = camera.project(point[None, :3])[0]
    np.testing.assert_allclose(((ndc[0] + 1) * W / 2 - 0.5, (1 - ndc[1]) * H / 2 - 0.5), pixel, atol=1e-6)
    view = look_at_gl(np.array([0.0, 0.0, 1.0]), np.zeros(3))
    np.testing.assert_allclose(view @ [0, 0, 0, 1.0], [0, 0, -1.0, 1.0], atol=1e-12)  # looks down -z
    np.testing.assert_array_equal(
        np.frombuffer(gl_matrix(np.arange(16.0).reshape(4, 4)), np.float32)[:4], [0, 4, 8, 12]
    )
    proj = perspective(np.radians(90.0), 0.1, 10.0)
    near = proj @ [0, 0, -0.1, 1.0]
    assert near[2] / near[3] == pytest.approx(-1.0)


def test_mirror_clip_planes_keep_the_reflected_pyramid():
    mirror = Mirror.from_corners([[1, -1, -1], [1, 1, -1], [1, 1, 1], [1, -1, 1]], facing=[0, 0, 0])
    eye = np.zeros(3)
    planes = mirror_clip_planes(mirror, eye, 8, 7).astype(float)
    inside, outside_side, in_front = np.array([2.0, 0.1, 0.1, 1]), np.array([2.0, 5.0, 0, 1]), np.array([0.5, 0, 0, 1])
    assert (planes @ inside >= 0).all()
    assert (planes @ outside_side < 0).any() and (planes @ in_front < 0).any()
    assert (planes[5:] == [0, 0, 0, 1]).all()  # unused planes keep everything
    assert far_plane(np.array([[-1.0, -1, -1], [1, 1, 1]]), eye, []) == pytest.approx(np.sqrt(3) * 1.05)
