"""Camera model, OpenGL bridge, distortion maps, mirrors and grayscale sensors, checked against OpenCV and
hand-computed geometry."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from synthmouse.errors import SceneError
from synthmouse.scene.camera import Camera, CameraError, to_sensor
from synthmouse.scene.mirror import Mirror, MirrorError, mirror_names

STRONG_BARREL = np.array([-0.3, 0.0, 0.0, 0.0, 0.0])


def random_camera(rng: np.random.Generator, dist=None, name: str = "cam") -> Camera:
    """A camera 0.3-1.5 m from the origin looking near it, random size, focal, principal point, distortion."""
    width, height = [(640, 480), (1280, 1024), (320, 240), (1440, 1080)][rng.integers(4)]
    direction = rng.normal(size=3)
    direction[2] = abs(direction[2]) + 0.2
    eye = direction / np.linalg.norm(direction) * rng.uniform(0.3, 1.5)
    fx = rng.uniform(0.8, 2.0) * width
    if dist is None:
        dist = [
            rng.uniform(-0.3, 0.3),
            rng.uniform(-0.1, 0.1),
            rng.uniform(-0.005, 0.005),
            rng.uniform(-0.005, 0.005),
            rng.uniform(-0.05, 0.05),
        ]
    return Camera.look_at(
        name,
        eye,
        rng.normal(0.0, 0.05, 3),
        width=width,
        height=height,
        fx=fx,
        fy=fx * rng.uniform(0.95, 1.05),
        cx=(width - 1) / 2 + rng.uniform(-20, 20),
        cy=(height - 1) / 2 + rng.uniform(-20, 20),
        dist=dist,
    )


def opencv_project(camera: Camera, points: np.ndarray) -> np.ndarray:
    rvec, _ = cv2.Rodrigues(camera.R)
    out, _ = cv2.projectPoints(points.reshape(-1, 1, 3), rvec, camera.t, camera.K, camera.dist)
    return out.reshape(points.shape[:-1] + (2,))


def points_in_view(camera: Camera, rng: np.random.Generator, n: int, fill: float = 0.9) -> np.ndarray:
    """``(n, 3)`` world points whose undistorted projections spread over ``fill`` of the image."""
    u = rng.uniform(-0.5, camera.width - 0.5, n) * fill + (1 - fill) * camera.cx
    v = rng.uniform(-0.5, camera.height - 0.5, n) * fill + (1 - fill) * camera.cy
    depth = rng.uniform(0.2, 2.0, n)
    x_cam = np.stack([(u - camera.cx) / camera.fx * depth, (v - camera.cy) / camera.fy * depth, depth], -1)
    return (x_cam - camera.t) @ camera.R  # R^T (x_cam - t)


# ---------------------------------------------------------------------- projection against OpenCV
def test_project_matches_cv2_project_points_random_cameras():
    rng = np.random.default_rng(1)
    worst = 0.0
    for _ in range(40):
        camera = random_camera(rng)
        points = points_in_view(camera, rng, 500, fill=1.3)
        worst = max(worst, np.abs(camera.project(points) - opencv_project(camera, points)).max())
    assert worst < 0.01
    assert worst < 1e-6  # in practice they agree to rounding


def test_project_matches_cv2_with_strong_barrel_distortion():
    rng = np.random.default_rng(2)
    for _ in range(10):
        camera = random_camera(rng, dist=STRONG_BARREL)
        points = points_in_view(camera, rng, 1000, fill=1.2)
        assert np.abs(camera.project(points) - opencv_project(camera, points)).max() < 0.01


def test_project_keeps_leading_shape_and_returns_depth():
    rng = np.random.default_rng(3)
    camera = random_camera(rng)
    points = rng.normal(0.0, 0.1, (4, 5, 3))
    pixels, depth = camera.project_with_depth(points)
    assert pixels.shape == (4, 5, 2) and depth.shape == (4, 5)
    expected_depth = np.einsum("ij,abj->abi", camera.R, points)[..., 2] + camera.t[2]
    np.testing.assert_allclose(depth, expected_depth, atol=1e-12)
    np.testing.assert_allclose(pixels, opencv_project(camera, points), atol=1e-6)


def test_undistort_points_matches_opencv():
    rng = np.random.default_rng(4)
    for dist in ([-0.1, 0.02, 0.001, -0.001, 0.0], STRONG_BARREL):
        camera = random_camera(rng, dist=dist)
        pixels = camera.project(points_in_view(camera, rng, 300))
        reference = cv2.undistortPoints(pixels.reshape(-1, 1, 2), camera.K, camera.dist).reshape(-1, 2)
        np.testing.assert_allclose(camera.undistort_points(pixels, exact=False), reference, atol=1e-9)
        converged = cv2.undistortPoints(
            pixels.reshape(-1, 1, 2),
            camera.K,
            camera.dist,
            criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 500, 1e-14),
        ).reshape(-1, 2)
        np.testing.assert_allclose(camera.undistort_points(pixels), converged, atol=1e-7)
        reference_px = cv2.undistortPoints(
            pixels.reshape(-1, 1, 2),
            camera.K,
            camera.dist,
            P=camera.K,
            criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 500, 1e-14),
        )
        np.testing.assert_allclose(camera.undistort_points(pixels, "pixels"), reference_px.reshape(-1, 2), atol=1e-4)


def test_exact_undistortion_round_trips_project():
    rng = np.random.default_rng(5)
    camera = random_camera(rng, dist=STRONG_BARREL)
    pixels = camera.project(points_in_view(camera, rng, 500, fill=1.0))
    xy = camera.undistort_points(pixels)
    rays_cam = np.concatenate([xy, np.ones((len(xy), 1))], -1)
    back = camera.project((rays_cam - camera.t) @ camera.R)
    assert np.abs(back - pixels).max() < 1e-8
    rays = camera.pixel_rays(pixels)
    np.testing.assert_allclose(camera.project(camera.position + 0.7 * rays), pixels, atol=1e-8)


def test_projectable_rejects_points_beyond_the_barrel_fold_and_behind():
    camera = Camera.look_at("c", (0, 0, 1), (0, 0, 0), fx=300, dist=STRONG_BARREL)
    r_fold = camera.max_undistorted_radius
    assert r_fold == pytest.approx(np.sqrt(1 / 0.9))  # d/dr r(1 - 0.3 r^2) = 0
    inside = camera.position + (camera.R.T @ [0.9 * r_fold, 0, 1.0])
    beyond = camera.position + (camera.R.T @ [1.3 * r_fold, 0, 1.0])
    behind = camera.position - (camera.R.T @ [0, 0, 1.0])
    assert camera.projectable(np.array([inside, beyond, behind])).tolist() == [True, False, False]
    # beyond the fold OpenCV's formula folds back towards the centre: the point would wrongly look inside
    assert abs(camera.project(beyond)[0] - camera.cx) < abs(camera.project(inside)[0] - camera.cx) + 40


def test_in_image_uses_pixel_edges():
    camera = Camera.look_at("c", (0, 0, 1), (0, 0, 0), width=10, height=8)
    pixels = np.array([[-0.5, -0.5], [-0.51, 0], [9.49, 7.49], [9.5, 0], [0, 7.5], [4, 4]])
    assert camera.in_image(pixels).tolist() == [True, False, True, False, False, True]


# ---------------------------------------------------------------------- construction
def test_look_at_points_the_optical_axis_at_the_target_with_world_up_up():
    camera = Camera.look_at("side", eye=(-1.0, 0.0, 0.1), target=(0.0, 0.0, 0.1), width=640, height=480, fov_deg=90)
    assert camera.fx == pytest.approx(320.0)  # (w / 2) / tan(45 deg)
    np.testing.assert_allclose(camera.position, [-1.0, 0.0, 0.1], atol=1e-12)
    np.testing.assert_allclose(camera.project([0.0, 0.0, 0.1]), [319.5, 239.5], atol=1e-9)
    above, right = camera.project([[0.0, 0.0, 0.2], [0.0, -0.1, 0.1]])  # looking along +x: right is -y
    assert above[1] < 239.5 and abs(above[0] - 319.5) < 1e-9
    assert right[0] > 319.5 and abs(right[1] - 239.5) < 1e-9
    np.testing.assert_allclose(cv2.Rodrigues(camera.rvec)[0], camera.R, atol=1e-12)
    assert np.linalg.det(camera.R) == pytest.approx(1.0)


def test_look_at_straight_down_uses_world_y_as_image_up():
    camera = Camera.look_at("top", eye=(0.0, 0.0, 1.0), target=(0.0, 0.0, 0.0))
    centre = np.array([camera.cx, camera.cy])
    x_dir = camera.project([0.1, 0.0, 0.0]) - centre
    y_dir = camera.project([0.0, 0.1, 0.0]) - centre
    assert x_dir[0] > 0 and abs(x_dir[1]) < 1e-9  # world +x is image right
    assert y_dir[1] < 0 and abs(y_dir[0]) < 1e-9  # world +y is image up


def test_from_rvec_tvec_matches_cv2_rodrigues():
    rvec, tvec = np.array([0.3, -1.2, 0.5]), np.array([0.1, 0.02, 0.9])
    K = np.array([[900.0, 0, 310], [0, 905.0, 250], [0, 0, 1]])
    camera = Camera.from_rvec_tvec("a", rvec, tvec, K, [0.1, -0.05, 0, 0, 0], 640, 480)
    np.testing.assert_allclose(camera.R, cv2.Rodrigues(rvec)[0], atol=1e-12)
    np.testing.assert_allclose(camera.rvec, rvec, atol=1e-12)
    np.testing.assert_allclose(camera.position, -cv2.Rodrigues(rvec)[0].T @ tvec, atol=1e-12)


def test_invalid_parameters_name_the_camera_and_field():
    good = Camera.look_at("bad_cam", (0, 0, 1), (0, 0, 0))
    with pytest.raises(CameraError, match=r"bad_cam.*K skew"):
        dataclasses.replace(good, K=np.array([[500.0, 3.0, 320], [0, 500, 240], [0, 0, 1]]))
    with pytest.raises(SceneError, match=r"bad_cam.*R .*orthonormal"):
        dataclasses.replace(good, R=good.R * 1.01)
    with pytest.raises(CameraError, match=r"bad_cam.*dist .*not supported"):
        dataclasses.replace(good, dist=[0.1, 0, 0, 0, 0, 0.2, 0, 0])
    with pytest.raises(CameraError, match=r"bad_cam.*width 0"):
        dataclasses.replace(good, width=0)
    assert dataclasses.replace(good, dist=[0.1, 0.01, 0, 0]).dist.tolist() == [0.1, 0.01, 0, 0, 0]
    with pytest.raises(ValueError):
        good.K[0, 0] = 1.0  # arrays are read-only


def test_scaled_camera_keeps_the_pixel_centre_convention():
    rng = np.random.default_rng(6)
    camera = random_camera(rng)
    points = points_in_view(camera, rng, 50)
    half = camera.scaled(0.5)
    assert (half.width, half.height) == (camera.width // 2, camera.height // 2)
    np.testing.assert_allclose(half.project(points), 0.5 * (camera.project(points) + 0.5) - 0.5, atol=1e-9)


def test_with_jitter_is_reproducible_and_has_the_requested_spread():
    camera = Camera.look_at("c", (0.5, 0.2, 0.8), (0, 0, 0), fx=800)
    same = camera.with_jitter(np.random.default_rng(0), 0.0, 0.0, 0.0)
    np.testing.assert_allclose(same.R, camera.R, atol=1e-15)
    np.testing.assert_allclose(same.t, camera.t, atol=1e-15)
    a = camera.with_jitter(np.random.default_rng(7), 0.01, 2.0, 0.05)
    b = camera.with_jitter(np.random.default_rng(7), 0.01, 2.0, 0.05)
    np.testing.assert_array_equal(a.R, b.R)
    np.testing.assert_array_equal(a.K, b.K)
    rng = np.random.default_rng(8)
    draws = [camera.with_jitter(rng, 0.01, 2.0, 0.05) for _ in range(600)]
    offsets = np.array([d.position - camera.position for d in draws])
    angles = np.array([Rotation.from_matrix(d.R @ camera.R.T).magnitude() for d in draws])
    focal = np.array([d.fx / camera.fx for d in draws])
    assert offsets.std(axis=0) == pytest.approx([0.01] * 3, rel=0.15)
    # |N(0, s^2 I_3)| has mean s * 2 sqrt(2 / pi)
    assert angles.mean() == pytest.approx(np.radians(2.0) * 2 * np.sqrt(2 / np.pi), rel=0.1)
    assert focal.std() == pytest.approx(0.05, rel=0.15)
    assert all(d.fy / d.fx == pytest.approx(1.0) for d in draws[:10])


# ---------------------------------------------------------------------- OpenGL projection
def gl_to_opencv_pixels(camera: Camera, points: np.ndarray, near: float = 0.01, far: float = 10.0):
    """Apply the GL matrices, divide by w, map NDC to window coordinates, then to OpenCV pixels."""
    clip = (
        np.concatenate([points, np.ones((len(points), 1))], -1)
        @ (camera.projection_matrix_gl(near, far) @ camera.gl_view_matrix()).T
    )
    ndc = clip[:, :3] / clip[:, 3:]
    x_window = (ndc[:, 0] + 1) / 2 * camera.width  # glViewport(0, 0, w, h)
    y_window = (ndc[:, 1] + 1) / 2 * camera.height  # rows from the bottom, pixel i has its centre at i + 0.5
    return np.stack([x_window - 0.5, camera.height - 0.5 - y_window], -1), ndc[:, 2]


def test_gl_projection_matrix_lands_on_opencv_pixels():
    rng = np.random.default_rng(9)
    for _ in range(20):
        camera = random_camera(rng, dist=np.zeros(5))
        points = points_in_view(camera, rng, 200)
        pixels, _ = gl_to_opencv_pixels(camera, points)
        assert np.abs(pixels - camera.project(points)).max() < 1e-6


def test_gl_projection_depth_maps_near_and_far_to_minus_one_and_one():
    camera = Camera.look_at("c", (0, 0, 1), (0, 0, 0))
    points = camera.position + np.outer([0.05, 3.0, 1.0], camera.R[2])  # on the optical axis
    _, ndc_z = gl_to_opencv_pixels(camera, points, near=0.05, far=3.0)
    np.testing.assert_allclose(ndc_z[:2], [-1.0, 1.0], atol=1e-12)
    assert -1 < ndc_z[2] < 1


def test_gl_view_matrix_of_mirror_camera_has_negative_determinant():
    camera = Camera.look_at("c", (0.4, 0.1, 0.3), (0, 0, 0))
    virtual = Mirror((0.6, 0, 0), (-1, 0, 0)).mirrored_camera(camera)
    assert np.linalg.det(camera.gl_view_matrix()) == pytest.approx(1.0)
    assert np.linalg.det(virtual.gl_view_matrix()) == pytest.approx(-1.0)
    points = np.random.default_rng(10).normal(0, 0.05, (50, 3))
    pixels, _ = gl_to_opencv_pixels(virtual, points)
    np.testing.assert_allclose(pixels, virtual.project(points), atol=1e-6)


def _egl_context():
    moderngl = pytest.importorskip("moderngl")
    try:
        from synthmouse.render.gl import load_llvm_users_before_mesa

        load_llvm_users_before_mesa()
        return moderngl.create_standalone_context(backend="egl")
    except Exception as exc:  # any EGL failure means "no headless GL here"
        pytest.skip(f"no headless OpenGL (EGL) context: {exc}")


@pytest.mark.gl
def test_opengl_rasterizer_agrees_with_project_to_a_hundredth_of_a_pixel():
    """Render a quad whose fragments output their world position; covered pixels must project onto themselves.

    A half-pixel offset or a missing row flip would show up as 0.5 px or as hundreds of pixels.
    """
    ctx = _egl_context()
    K = np.array([[180.0, 0, 75.3], [0, 190.0, 52.8], [0, 0, 1]])
    camera = Camera("gl", 160, 120, K, np.zeros(5), Camera.look_at("x", (0.25, -0.3, 0.35), (0, 0, 0)).R, np.zeros(3))
    camera = dataclasses.replace(camera, t=-camera.R @ np.array([0.25, -0.3, 0.35]))
    quad = np.array([[-0.15, -0.12, 0.0], [0.15, -0.12, 0.0], [0.15, 0.12, 0.02], [-0.15, 0.12, 0.02]], "f4")
    triangles = quad[[0, 1, 2, 0, 2, 3]]
    program = ctx.program(
        vertex_shader="""#version 330
            uniform mat4 mvp; in vec3 in_pos; out vec3 v_pos;
            void main() { v_pos = in_pos; gl_Position = mvp * vec4(in_pos, 1.0); }""",
        fragment_shader="""#version 330
            in vec3 v_pos; out vec4 colour;
            void main() { colour = vec4(v_pos, 1.0); }""",
    )
    mvp = camera.projection_matrix_gl(0.05, 5.0) @ camera.gl_view_matrix()
    program["mvp"].write(mvp.T.astype("f4").tobytes())  # GLSL matrices are column-major
    vao = ctx.vertex_array(program, [(ctx.buffer(triangles.tobytes()), "3f", "in_pos")])
    fbo = ctx.framebuffer([ctx.texture((160, 120), 4, dtype="f4")], ctx.depth_renderbuffer((160, 120)))
    fbo.use()
    fbo.clear(0.0, 0.0, 0.0, 0.0)
    vao.render()
    image = np.frombuffer(fbo.read(components=4, dtype="f4"), "f4").reshape(120, 160, 4)
    image = np.flipud(image)  # GL rows start at the bottom
    ctx.release()
    v, u = np.nonzero(image[..., 3] > 0.5)
    assert len(u) > 3000
    projected = camera.project(image[v, u, :3].astype(np.float64))
    error = np.abs(projected - np.stack([u, v], -1))
    assert error.max() < 0.01, error.max()


# ---------------------------------------------------------------------- distortion maps
def blob_image(shape: tuple[int, int], centres: np.ndarray, sigma: float) -> np.ndarray:
    v, u = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    image = np.zeros(shape)
    for cu, cv in centres:
        image += np.exp(-((u - cu) ** 2 + (v - cv) ** 2) / (2 * sigma**2))
    return image.astype(np.float32)


def centroid_near(image: np.ndarray, centre: np.ndarray, radius: int = 9) -> np.ndarray:
    u0, v0 = np.round(centre).astype(int)
    patch = image[v0 - radius : v0 + radius + 1, u0 - radius : u0 + radius + 1].astype(np.float64)
    v, u = np.mgrid[v0 - radius : v0 + radius + 1, u0 - radius : u0 + radius + 1]
    return np.array([(patch * u).sum(), (patch * v).sum()]) / patch.sum()


def test_distortion_maps_move_a_rendered_dot_onto_the_projected_keypoint():
    camera = Camera.look_at(
        "c",
        (0.3, -0.4, 0.5),
        (0, 0, 0),
        width=320,
        height=240,
        fx=260,
        cx=161.2,
        cy=118.7,
        dist=[-0.25, 0.05, 0.002, -0.001, 0.0],
    )
    maps = camera.distortion_maps()
    render = maps.render_camera
    assert not render.has_distortion and render.width > camera.width  # barrel: the render must reach further
    rng = np.random.default_rng(11)
    grid = np.stack(np.meshgrid(np.linspace(15, 305, 6), np.linspace(15, 225, 5)), -1).reshape(-1, 2)
    rays = camera.pixel_rays(grid + rng.uniform(-3, 3, grid.shape))
    points = camera.position + rays * rng.uniform(0.4, 0.9, (len(rays), 1))
    keypoints = camera.project(points)
    image = blob_image((render.height, render.width), render.project(points), sigma=1.5)
    distorted = cv2.remap(image, maps.map_x, maps.map_y, cv2.INTER_LINEAR, borderValue=0)
    errors = [np.linalg.norm(centroid_near(distorted, k) - k) for k in keypoints]
    assert max(errors) < 0.1, max(errors)


def test_distortion_maps_follow_project_at_every_pixel():
    """Each map entry is a render pixel; its 3D ray must project (distorted) back onto the output pixel."""
    rng = np.random.default_rng(12)
    camera = random_camera(rng, dist=[-0.2, 0.08, 0.001, 0.002, -0.01])
    camera = camera.scaled(0.25)
    maps = camera.distortion_maps(scale=1.5)
    render = maps.render_camera
    assert maps.valid.all()
    v, u = np.mgrid[0 : camera.height, 0 : camera.width]
    render_px = np.stack([maps.map_x, maps.map_y], -1).astype(np.float64)
    x_cam = np.concatenate([(render_px - [render.cx, render.cy]) / [render.fx, render.fy], np.ones(u.shape + (1,))], -1)
    world = (x_cam - render.t) @ render.R
    error = np.abs(camera.project(world) - np.stack([u, v], -1))
    assert error.max() < 2e-3  # float32 maps


def test_distortion_maps_cover_the_whole_image_with_strong_barrel_distortion():
    camera = Camera.look_at("c", (0, 0, 1), (0, 0, 0), width=640, height=480, fx=600, dist=STRONG_BARREL)
    maps = camera.distortion_maps()
    render = maps.render_camera
    assert maps.map_x.shape == (480, 640) and maps.map_x.dtype == np.float32
    assert maps.valid.all()
    assert maps.map_x.min() >= 0 and maps.map_x.max() <= render.width - 1
    assert maps.map_y.min() >= 0 and maps.map_y.max() <= render.height - 1
    # a white render stays white everywhere after distortion (no black corners)
    white = np.full((render.height, render.width), 255, np.uint8)
    assert cv2.remap(white, maps.map_x, maps.map_y, cv2.INTER_LINEAR, borderValue=0).min() == 255
    # the corners reach far out in the undistorted render
    assert render.width > 1.2 * camera.width
    assert maps.render_size == (render.width, render.height) and maps.render_K is render.K


def test_distortion_maps_mark_pixels_outside_the_lens_image_circle_invalid():
    camera = Camera.look_at("c", (0, 0, 1), (0, 0, 0), width=640, height=480, fx=380, dist=STRONG_BARREL)
    maps = camera.distortion_maps()
    assert maps.valid[240, 320] and not maps.valid[0, 0]  # corner radius 1.05 > 0.70, the fold's image
    assert maps.map_x[0, 0] < 0


def test_distortion_maps_without_distortion_copy_pixels_exactly():
    camera = Camera.look_at("c", (0, 0, 1), (0, 0, 0), width=64, height=48, cx=30.25, cy=20.0)
    maps = camera.distortion_maps()
    render = maps.render_camera
    image = np.random.default_rng(13).integers(0, 255, (render.height, render.width, 3), dtype=np.uint8)
    out = cv2.remap(image, maps.map_x, maps.map_y, cv2.INTER_LINEAR)
    dx, dy = int(maps.map_x[0, 0]), int(maps.map_y[0, 0])
    np.testing.assert_array_equal(out, image[dy : dy + 48, dx : dx + 64])
    bigger = camera.distortion_maps(oversize=1.5).render_camera
    assert bigger.width >= 96 and bigger.height >= 72


# ---------------------------------------------------------------------- mirrors
def test_reflection_matrix_matches_the_householder_formula():
    mirror = Mirror(point=(0.3, 0.1, 0.0), normal=(-2.0, 0.0, 0.0))
    np.testing.assert_allclose(mirror.normal, [-1, 0, 0])
    np.testing.assert_allclose(mirror.reflect_points([0.1, 0.2, 0.05]), [0.5, 0.2, 0.05], atol=1e-15)
    rng = np.random.default_rng(14)
    n = rng.normal(size=3)
    n /= np.linalg.norm(n)
    p = rng.normal(size=3)
    mirror = Mirror(p, n)
    M = mirror.reflection_matrix()
    expected = np.eye(4)
    expected[:3, :3] = np.eye(3) - 2 * np.outer(n, n)
    expected[:3, 3] = 2 * np.dot(n, p) * n
    np.testing.assert_allclose(M, expected, atol=1e-15)
    points = rng.normal(size=(20, 3))
    homogeneous = np.concatenate([points, np.ones((20, 1))], -1) @ M.T
    np.testing.assert_allclose(mirror.reflect_points(points), homogeneous[:, :3], atol=1e-12)
    np.testing.assert_allclose(mirror.reflect_points(mirror.reflect_points(points)), points, atol=1e-12)
    assert np.linalg.det(M) == pytest.approx(-1.0)


def test_mirrored_camera_sees_what_the_real_camera_sees_in_the_mirror():
    rng = np.random.default_rng(15)
    worst = 0.0
    for _ in range(20):
        camera = random_camera(rng)
        normal = rng.normal(size=3)
        mirror = Mirror(rng.normal(0, 0.3, 3), normal)
        virtual = mirror.mirrored_camera(camera)
        points = mirror.reflect_points(points_in_view(camera, rng, 200))  # their reflections are in view
        seen_in_mirror = camera.project(mirror.reflect_points(points))
        worst = max(worst, np.abs(virtual.project(points) - seen_in_mirror).max())
        assert virtual.is_reflected and not camera.is_reflected
        np.testing.assert_array_equal(virtual.K, camera.K)
        np.testing.assert_allclose(virtual.position, mirror.reflect_points(camera.position), atol=1e-12)
    assert worst < 1e-9


def test_mirror_view_is_not_a_proper_camera():
    camera = Camera.look_at("c", (0.4, 0.1, 0.3), (0, 0, 0))
    virtual = Mirror((0.6, 0, 0), (-1, 0, 0), name="right").mirrored_camera(camera)
    assert virtual.name == "c_right"
    with pytest.raises(CameraError, match="reflection"):
        _ = virtual.rvec
    jittered = virtual.with_jitter(np.random.default_rng(0), 0.01, 1.0, 0.01)
    assert jittered.is_reflected


def test_mirror_visible_agrees_with_the_mirror_outline_in_the_image():
    """Independent reference: the reflected point's pixel lies inside the mirror's projected outline."""
    corners = np.array([[0.3, -0.2, 0.0], [0.3, 0.2, 0.0], [0.3, 0.2, 0.25], [0.3, -0.2, 0.25]])
    mirror = Mirror.from_corners(corners, facing=(0, 0, 0), name="side")
    np.testing.assert_allclose(mirror.normal, [-1, 0, 0], atol=1e-12)
    camera = Camera.look_at("c", (-0.4, -0.1, 0.3), (0.3, 0.0, 0.1), fx=500)
    rng = np.random.default_rng(16)
    points = rng.uniform([-0.3, -0.4, 0.0], [0.45, 0.4, 0.2], (2000, 3))
    visible = mirror.mirror_visible(points, camera)
    outline = mirror.image_polygon(camera).astype(np.float32)
    pixels = camera.project(mirror.reflect_points(points))
    inside = np.array([cv2.pointPolygonTest(outline, (float(u), float(v)), True) for u, v in pixels])
    in_front = points[:, 0] < 0.3
    decided = np.abs(inside) > 1e-3
    expected = (inside > 0) & in_front
    assert visible[decided].tolist() == expected[decided].tolist()
    assert 100 < visible.sum() < 1900  # both outcomes occur
    assert not visible[~in_front].any()
    behind = Camera.look_at("b", (0.6, 0.0, 0.1), (0.0, 0.0, 0.1))
    assert not mirror.mirror_visible(points, behind).any()


def test_infinite_mirror_only_checks_the_sides():
    mirror = Mirror((0, 0, 0), (0, 0, 1))
    camera = Camera.look_at("c", (0.2, 0, 0.3), (0, 0, 0))
    assert mirror.mirror_visible([[0, 0, 0.1], [0, 0, -0.1]], camera).tolist() == [True, False]


def test_mirror_rejects_corners_off_its_plane():
    with pytest.raises(MirrorError, match=r"mirror 'm'.*off the mirror plane"):
        Mirror((0, 0, 0), (1, 0, 0), corners=[[0, 0, 0], [0, 1, 0], [0.01, 1, 1]], name="m")
    with pytest.raises(MirrorError, match="zero length"):
        Mirror((0, 0, 0), (0, 0, 0))


def test_mirror_names_get_the_suffix():
    assert mirror_names(["nose", "tail_root"]) == ("nose_mirror", "tail_root_mirror")
    assert mirror_names(("nose",), suffix="@m1") == ("nose@m1",)


# ---------------------------------------------------------------------- grayscale sensor
def test_to_sensor_uses_bt601_luma_like_opencv():
    rgb = np.random.default_rng(17).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    gray = to_sensor(rgb, channels=1)
    reference = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    assert gray.shape == (40, 50) and gray.dtype == np.uint8
    assert np.abs(gray.astype(int) - reference).max() <= 1
    three = to_sensor(rgb)
    assert three.shape == (40, 50, 3)
    assert (three == gray[..., None]).all()
    floats = rgb.astype(np.float32) / 255
    expected = 0.299 * floats[..., 0] + 0.587 * floats[..., 1] + 0.114 * floats[..., 2]
    np.testing.assert_allclose(to_sensor(floats, channels=1), expected, atol=1e-6)
    with pytest.raises(CameraError, match="channels"):
        to_sensor(rgb, channels=2)


def test_grayscale_camera_sensor_image():
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 255
    colour = Camera.look_at("c", (0, 0, 1), (0, 0, 0))
    mono = dataclasses.replace(colour, grayscale=True)
    assert colour.sensor_image(rgb) is rgb
    assert (mono.sensor_image(rgb) == 76).all()  # round(0.299 * 255)
