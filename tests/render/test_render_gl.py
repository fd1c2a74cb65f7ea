"""The moderngl renderer against independent references: OpenCV projection, analytic geometry, ray casting."""

from __future__ import annotations

import dataclasses
import textwrap

import cv2
import numpy as np
import pytest
import trimesh

from synthmouse.body import Pose
from synthmouse.body.groups import PARTS
from synthmouse.render import FrameState
from synthmouse.scene.build import build_scene
from synthmouse.scene.camera import Camera
from synthmouse.scene.draw import BodyDraw, CameraDraw, FrameDraw, LightDraw, frame_scene
from synthmouse.scene.materials import Material, parse_colour
from synthmouse.scene.rigs import rig_mesh
from synthmouse.scene.spec import parse_scene_spec

pytestmark = pytest.mark.gl


def make_scene(body, text: str):
    return build_scene(parse_scene_spec(textwrap.dedent(text)), body=body)


def view_of(renderer, scene, camera: Camera, pose: Pose | None = None):
    pose = scene.rest_pose() if pose is None else pose
    return renderer.render(dataclasses.replace(scene, cameras=(camera,)), FrameState(0, pose)).views[0]


EMPTY = """
body: {{position: [5.0, 5.0, 0.0]}}
rig: {{type: none, floor_material: null}}
lights: []
background: black
cameras:
  - {{name: c, width: {w}, height: {h}, fx: 500, look_at: {{eye: [0, 0, 1], target: [0, 0, 0]}}}}
"""


# --- the GL raster lands exactly on OpenCV pixels -----------------------------------------------------------
@pytest.mark.parametrize("dist", [np.zeros(5), np.array([-0.28, 0.09, 0.002, -0.0015, -0.01])])
def test_sphere_centroid_lands_on_projected_centre(renderer, sam_body, dist):
    w, h = 161, 120  # odd width: pins the half-pixel convention in both axes
    scene = make_scene(sam_body, EMPTY.format(w=w, h=h))
    ball_material = Material("ball", parse_colour("white"), emission=parse_colour("white"))
    scene = dataclasses.replace(scene, materials={**scene.materials, "ball": ball_material})
    K = np.array([[180.0, 0.0, 83.3], [0.0, 176.0, 57.8], [0.0, 0.0, 1.0]])
    camera = Camera("c", w, h, K, dist, np.diag([1.0, -1.0, -1.0]), np.array([0.0, 0.0, 0.6]))
    centres = np.array([[0.0, 0.0, 0.0], [0.2, 0.13, 0.0], [-0.21, -0.12, -0.02], [0.08, -0.15, 0.03]])
    for centre in centres:
        ball = trimesh.creation.icosphere(subdivisions=4, radius=0.02).apply_translation(centre)
        scene = dataclasses.replace(scene, rig=(rig_mesh("ball", ball, "ball"),))  # a new rig: uploaded again
        view = view_of(renderer, scene, camera)
        found = np.isfinite(view.depth)
        assert found.sum() > 50
        vs, us = np.nonzero(found)
        centroid = np.array([us.mean(), vs.mean()])
        expected = camera.project(centre)
        assert np.linalg.norm(centroid - expected) < 0.5, (centre, centroid, expected)
        # ray-traced reference silhouette through the same lens model (4 x 4 samples per pixel)
        sub = (np.arange(4) + 0.5) / 4 - 0.5
        v, u = np.mgrid[0:h, 0:w]
        su = np.broadcast_to(u[..., None, None] + sub[None, None, None, :], (h, w, 4, 4)).reshape(-1)
        sv = np.broadcast_to(v[..., None, None] + sub[None, None, :, None], (h, w, 4, 4)).reshape(-1)
        rays = camera.pixel_rays(np.stack([su, sv], -1))
        along = rays @ (centre - camera.position)
        hit = np.sum((centre - camera.position) ** 2) - along**2 < 0.02**2
        coverage = hit.reshape(h, w, 16).mean(axis=2)
        ref_centroid = np.array([(coverage * u).sum(), (coverage * v).sum()]) / coverage.sum()
        gray = view.rgb[..., 0].astype(float)
        rgb_centroid = np.array([(gray * u).sum(), (gray * v).sum()]) / gray.sum()
        assert np.linalg.norm(rgb_centroid - ref_centroid) < 0.2  # bilinear remap of the image: sub-pixel
        assert np.abs(found.sum() - coverage.sum()) < 0.1 * coverage.sum()
        # the undistorted render covers exactly the pixels whose centres' rays hit the ball
        pinhole = renderer._lens(camera).render_camera
        plain = view_of(renderer, scene, pinhole)
        pv, pu = np.mgrid[0 : pinhole.height, 0 : pinhole.width]
        prays = pinhole.pixel_rays(np.stack([pu, pv], -1).reshape(-1, 2).astype(float))
        palong = prays @ (centre - pinhole.position)
        exact = (np.sum((centre - pinhole.position) ** 2) - palong**2 < 0.02**2).reshape(pu.shape)
        assert (np.isfinite(plain.depth) != exact).sum() <= 2  # (the icosphere's facets)
        bright = view.rgb[..., 0] > 128
        assert (bright == found).mean() > 0.99  # image and depth agree (distorted identically)
        if np.any(dist) and np.linalg.norm(centre[:2]) > 0.05:  # off-axis: the lens moves it
            undistorted = dataclasses.replace(camera, dist=np.zeros(5)).project(centre)
            assert np.linalg.norm(undistorted - expected) > 1.0  # the distortion really moved it


def test_depth_is_metric_camera_z(renderer, sam_body):
    scene = make_scene(
        sam_body,
        """
        body: {position: [5.0, 5.0, 0.0]}
        rig: {type: none, floor_size: [0.4, 0.4]}
        cameras:
          - name: c
            width: 200
            height: 160
            fx: 300
            look_at: {eye: [0.02, -0.01, 0.5], target: [0.02, -0.01, 0]}
    """,
    )
    camera = Camera.look_at("tilted", [0.1, -0.3, 0.45], [0.0, 0.05, 0.0], width=200, height=160, fx=220)
    view = view_of(renderer, scene, camera)
    # rays through pixel centres hit the floor plane z = 0: compare camera z analytically
    v, u = np.mgrid[40:120:7, 50:150:9]
    rays = camera.pixel_rays(np.stack([u, v], -1).reshape(-1, 2).astype(float))
    s = -camera.position[2] / rays[:, 2]
    floor_pts = camera.position + s[:, None] * rays
    inside = np.all(np.abs(floor_pts[:, :2]) < 0.19, axis=1)
    z_true = camera.to_camera(floor_pts)[:, 2]
    z_rendered = view.depth[v.reshape(-1), u.reshape(-1)]
    assert inside.sum() > 50
    assert np.abs(z_rendered[inside] - z_true[inside]).max() < 2e-4
    top = view_of(renderer, scene, scene.cameras[0])
    assert top.depth[80, 100] == pytest.approx(0.5, abs=1e-4)


# --- keypoints: projection and visibility -------------------------------------------------------------------
WHEEL = """
body: {keypoints: mouse22}
rig: {type: wheel, radius: 0.09, width: 0.07, screens: 0}
cameras:
  - name: side
    width: 640
    height: 480
    fx: 900
    distortion: [-0.15, 0.06, 0.001, -0.0008, 0.0]
    look_at: {eye: [0.02, 0.30, 0.03], target: [0.0, 0.0, 0.005]}
"""


@pytest.fixture(scope="module")
def wheel_scene(sam_body):
    return make_scene(sam_body, WHEEL)


def test_keypoints_match_cv2_project_points(renderer, wheel_scene):
    result = renderer.render(wheel_scene, wheel_scene.rest_pose())
    camera = wheel_scene.cameras[0]
    view = result.views[0]
    k = len(result.keypoint_names)
    ref, _ = cv2.projectPoints(result.keypoints3d, camera.rvec, camera.t, camera.K, camera.dist)
    assert np.abs(view.keypoints[:k] - ref[:, 0]).max() < 0.01
    assert view.names == result.keypoint_names
    assert view.rgb.shape == (480, 640, 3) and view.rgb.dtype == np.uint8
    assert view.depth.dtype == np.float32 and view.parts.dtype == np.uint8
    assert np.array_equal(view.mask, view.parts > 0)
    assert set(np.unique(view.parts)) - {0} <= set(np.unique(wheel_scene.body.vertex_parts()))


def test_visible_skin_keypoints_lie_on_the_silhouette(renderer, wheel_scene, sam_body):
    view = renderer.render(wheel_scene, wheel_scene.rest_pose()).views[0]
    kset = wheel_scene.keypoint_set
    on_skin = np.array([kp.on_skin for kp in kset.keypoints])
    checked = 0
    for i in np.flatnonzero(on_skin & view.visible[: len(kset)]):
        u, v = np.rint(view.keypoints[i]).astype(int)
        assert view.mask[v, u], kset.names[i]
        checked += 1
    assert checked >= 3


def ray_cast_visibility(scene, camera: Camera, pose: Pose, tolerance: float) -> np.ndarray:
    """Independent reference: a keypoint is hidden when the mouse or an occluding rig part lies on the segment
    from the camera to it, more than ``tolerance`` (camera z) in front of it."""
    kp = scene.body.keypoints(pose, scene.keypoint_set)[0]
    meshes = [trimesh.Trimesh(scene.body.skin(pose)[0], scene.body.mesh.faces, process=False)]
    meshes += [
        trimesh.Trimesh(m.vertices, m.faces, process=False)
        for m in scene.rig
        if m.occluder and scene.materials[m.material].opacity == 1.0
    ]
    world = trimesh.util.concatenate(meshes)
    origin = camera.position
    dirs = kp - origin
    dist = np.linalg.norm(dirs, axis=1)
    locs, idx, _ = world.ray.intersects_location(np.tile(origin, (len(kp), 1)), dirs / dist[:, None])
    z_kp = camera.to_camera(kp)[:, 2]
    hidden = np.zeros(len(kp), bool)
    for loc, i in zip(locs, idx, strict=True):
        if camera.to_camera(loc)[2] < z_kp[i] - tolerance:
            hidden[i] = True
    pixels = camera.project(kp)
    return camera.in_image(pixels) & ~hidden


@pytest.mark.parametrize("eye", [[0.02, 0.30, 0.03], [0.25, -0.2, 0.15], [-0.2, 0.05, 0.25]])
def test_visibility_agrees_with_ray_casting(renderer, wheel_scene, eye):
    camera = Camera.look_at("c", eye, [0.0, 0.0, 0.005], width=480, height=360, fx=700)
    pose = wheel_scene.rest_pose()
    view = view_of(renderer, wheel_scene, camera, pose)
    k = len(wheel_scene.keypoint_set)
    reference = ray_cast_visibility(wheel_scene, camera, pose, 0.005)
    # rays grazing a surface can fall either way at the pixel level; allow one such keypoint per view
    assert (view.visible[:k] != reference).sum() <= 1, (
        wheel_scene.keypoint_set.names,
        view.visible,
        reference,
    )
    assert 3 <= reference.sum() < k  # a meaningful mix of visible and hidden keypoints


def test_paw_behind_the_wheel_is_hidden(renderer, sam_body):
    # a low camera behind the wheel looking up at the hind paws through the wheel
    camera = Camera.look_at("low", [-0.12, 0.0, -0.12], [-0.045, 0.0, -0.005], width=320, height=240, fx=350)
    names = ("left_foot", "right_foot")
    with_wheel = make_scene(sam_body, WHEEL)
    without = make_scene(
        sam_body,
        WHEEL.replace("type: wheel, radius: 0.09, width: 0.07, screens: 0", "type: none, floor_material: null"),
    )
    without = dataclasses.replace(without, body_root=with_wheel.body_root)  # the same placement, no wheel
    idx = [with_wheel.keypoint_set.names.index(n) for n in names]
    hidden = view_of(renderer, with_wheel, camera)
    seen = view_of(renderer, without, camera)
    assert camera.in_image(hidden.keypoints[idx]).all()
    assert not hidden.visible[idx].any()
    assert seen.visible[idx].all()
    assert not ray_cast_visibility(with_wheel, camera, with_wheel.rest_pose(), 0.005)[idx].any()
    assert ray_cast_visibility(without, camera, without.rest_pose(), 0.005)[idx].all()


def test_paw_under_the_body_hidden_from_above_and_outside_frame(renderer, sam_body):
    scene = make_scene(
        sam_body,
        """
        rig: {type: openfield, size: [0.4, 0.4]}
        cameras:
          - {name: top, width: 320, height: 240, fx: 500, look_at: {eye: [0.0, 0.0, 0.5], target: [0, 0, 0]}}
    """,
    )
    names = scene.keypoint_set.names
    view = view_of(renderer, scene, scene.cameras[0])
    vis = dict(zip(names, view.visible, strict=False))
    for paw in ("left_paw", "right_paw", "left_paw_end", "right_paw_end"):  # forepaws under the chest
        assert not vis[paw], paw
    assert vis["nose"] and vis["left_ear_tip"] and vis["left_foot"] and vis["right_foot"]
    reference = ray_cast_visibility(scene, scene.cameras[0], scene.rest_pose(), 0.005)
    assert np.array_equal(view.visible[: len(names)], reference)
    # a camera that sees only the front half: the tail keypoints project outside the image
    half = Camera.look_at("half", [0.09, 0.0, 0.3], [0.09, 0.0, 0.0], width=200, height=200, fx=500)
    view = view_of(renderer, scene, half)
    tail = names.index("tail_end")
    assert not half.in_image(view.keypoints[tail]) and not view.visible[tail]
    assert view.visible[names.index("nose")]


def test_grayscale_camera(renderer, wheel_scene):
    camera = dataclasses.replace(wheel_scene.cameras[0], grayscale=True)
    rgb = view_of(renderer, wheel_scene, camera).rgb
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    assert rgb.std() > 5


# --- mirrors ------------------------------------------------------------------------------------------------
MIRROR = """
rig: {type: openfield, size: [0.3, 0.3], wall_height: 0.03, table: false}
cameras:
  - {name: c, width: 400, height: 300, fx: 420, look_at: {eye: [0.25, -0.3, 0.25], target: [0.0, 0.04, 0.01]}}
mirrors:
  - name: back
    corners: [[-0.15, 0.12, -0.001], [0.15, 0.12, -0.001], [0.15, 0.12, 0.12], [-0.15, 0.12, 0.12]]
    reflectance: 1.0
"""


def test_mirror_view_equals_the_reflected_camera(renderer, sam_body):
    scene = make_scene(sam_body, MIRROR)
    camera = scene.cameras[0]
    sm = scene.mirrors[0]
    result = renderer.render(scene, scene.rest_pose())
    view = result.views[0]
    k = len(scene.keypoint_set)
    virtual = sm.mirror.mirrored_camera(camera)
    assert view.names[k:] == tuple(f"{n}_back" for n in scene.keypoint_set.names)
    assert np.abs(view.keypoints[k:] - virtual.project(result.keypoints3d)).max() < 1e-9
    assert np.abs(view.keypoints[k:] - camera.project(sm.mirror.reflect_points(result.keypoints3d))).max() < 1e-9
    assert view.visible[k:].sum() >= 5

    # the mouse seen in the mirror = the mouse rendered by the virtual camera, inside the mirror's polygon
    plain = make_scene(sam_body, MIRROR.split("mirrors:")[0])
    mirrored = view_of(renderer, plain, virtual)
    polygon = np.zeros(view.mask.shape, np.uint8)
    cv2.fillPoly(polygon, [np.rint(sm.mirror.image_polygon(camera)).astype(np.int32)], 1)
    direct = view_of(renderer, plain, camera)
    region = polygon.astype(bool) & ~direct.mask & np.isfinite(mirrored.depth)
    region &= ~(direct.depth < mirrored.depth)  # not hidden by something in front of the mirror
    a, b = view.mask & region, mirrored.mask & region
    assert b.sum() > 500
    assert (a & b).sum() / (a | b).sum() > 0.97
    # visible mirror keypoints land on the reflected silhouette
    for i in np.flatnonzero(view.visible[k:]):
        u, v = np.rint(view.keypoints[k + i]).astype(int)
        assert view.mask[max(v - 1, 0) : v + 2, max(u - 1, 0) : u + 2].any()


def test_renderer_switches_scenes_and_cameras(renderer, sam_body, wheel_scene):
    other = make_scene(sam_body, MIRROR)
    a = renderer.render(wheel_scene, wheel_scene.rest_pose())
    b = renderer.render(other, other.rest_pose())
    c = renderer.render(wheel_scene, FrameState(7, wheel_scene.rest_pose()))
    assert c.index == 7 and c.params == {}  # the frame source adds the frame's values
    assert np.array_equal(a.views[0].rgb, c.views[0].rgb)
    assert len(b.views[0].names) == 2 * len(other.keypoint_set)
    head = PARTS.index("head")
    assert (a.views[0].parts == head).any()


def test_gpu_copies_follow_the_scene_parts_not_the_scene_object(renderer, wheel_scene):
    """A frame's scene (frame_scene) shares the rig: lights, fur colours and cameras change without uploading
    the rig or the mouse mesh again, and the result equals a fresh renderer's."""
    from synthmouse.render import GLRenderer

    renderer.render(wheel_scene, wheel_scene.rest_pose())
    gpu, rig, mouse = renderer._gpu, list(renderer._gpu.rig), renderer._gpu.mouse
    draw = FrameDraw(
        light=LightDraw(intensity_scale=0.6, colour=(1.0, 0.9, 0.8)),
        camera=CameraDraw(dx_m=0.002, rz_deg=1.0),
        body=BodyDraw(fur_albedo_scale=1.3),
    )
    framed = frame_scene(wheel_scene, draw)
    view = renderer.render(framed, framed.rest_pose()).views[0]
    assert renderer._gpu is gpu and gpu.rig == rig and gpu.mouse is mouse and gpu.colours is framed.body_colours
    with GLRenderer() as fresh:
        reference = fresh.render(framed, framed.rest_pose()).views[0]
    np.testing.assert_array_equal(view.rgb, reference.rgb)
    np.testing.assert_array_equal(view.keypoints, reference.keypoints)
    back = renderer.render(wheel_scene, wheel_scene.rest_pose()).views[0]  # the scene's own values again
    assert renderer._gpu is gpu and not np.array_equal(back.rgb, view.rgb)
    rebuilt = dataclasses.replace(wheel_scene, rig=tuple(wheel_scene.rig[:-1]))  # another rig: a new upload
    renderer.render(rebuilt, rebuilt.rest_pose())
    assert renderer._gpu is not gpu


def test_textured_floor_and_spot_light(renderer, sam_body, tmp_path):
    tile = np.kron([[0, 255], [255, 0]], np.ones((32, 32))).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "checker.png"), np.dstack([tile] * 3))
    spec = parse_scene_spec(
        textwrap.dedent("""
        body: {position: [5.0, 5.0, 0.0]}
        rig:
          type: none
          floor_size: [0.4, 0.4]
          floor_material: {texture: checker.png, tile_size: 0.1, specular: 0}
        lights:
          - {type: spot, position: [0, 0, 0.5], target: [0, 0, 0], cone_deg: 20, softness: 0.1}
        background: black
        cameras:
          - {name: top, width: 200, height: 200, fx: 250, look_at: {eye: [0, 0, 0.5], target: [0, 0, 0]}}
    """),
        base_dir=tmp_path,
    )
    scene = build_scene(spec, body=sam_body)
    view = view_of(renderer, scene, scene.cameras[0])
    gray = view.rgb.mean(axis=2)
    centre = gray[70:130, 70:130]
    assert centre.max() - centre.min() > 100  # the checkerboard shows
    # 500 px per metre on the floor; squares are 0.05 m: their centres 25 px apart alternate dark and light
    assert abs(gray[112, 112] - gray[112, 137]) > 100 and abs(gray[112, 112] - gray[137, 112]) > 100
    assert gray[5, 5] < 5 < gray[100, 90] or gray[5, 5] < 5 < gray[100, 110]  # outside the cone: unlit


def test_textured_wheel_tread_shows_its_image_around_the_circumference(renderer, parametric_body, tmp_path):
    """``tread: texture``: eight cells (four quarters of the circumference x two halves of the width), each a
    different on/off pattern of the three colour channels, must appear where the UV mapping puts them, seen
    from above, in front and behind the wheel; the smooth tread shows none of them."""
    R, W = 0.09, 0.07
    cells = np.zeros((64, 256, 3), np.uint8)  # RGB; column quarter s, row half h (0 = top rows)
    pattern = {}
    for s in range(4):
        for h in range(2):
            on = np.array([s & 1, (s >> 1) & 1, h], bool)
            cells[h * 32 : (h + 1) * 32, s * 64 : (s + 1) * 64] = on * 255
            pattern[s, h] = on
    cv2.imwrite(str(tmp_path / "cells.png"), cells[..., ::-1])
    text = f"""
    body: {{position: [0.0, 0.0, 3.0]}}
    rig: {{type: wheel, radius: {R}, width: {W}, tread: TREAD, tread_texture: {tmp_path / "cells.png"},
          screens: 0, table: false}}
    lights: [{{type: ambient, intensity: 1.0}}]
    background: black
    cameras:
      - {{name: top, width: 160, height: 120, fov_deg: 70, look_at: {{eye: [0, 0, 0.2], target: [0, 0, -0.05]}}}}
      - {{name: front, width: 160, height: 120, fov_deg: 70, look_at: {{eye: [0.3, 0, -0.12], target: [0, 0, -0.09]}}}}
      - {{name: back, width: 160, height: 120, fov_deg: 70, look_at: {{eye: [-0.3, 0, -0.12], target: [0, 0, -0.09]}}}}
    """
    scene = make_scene(parametric_body, text.replace("TREAD", "texture"))
    smooth = make_scene(parametric_body, text.replace("TREAD", "smooth"))
    result = renderer.render(scene, FrameState(0, scene.rest_pose()))
    plain = renderer.render(smooth, FrameState(0, smooth.rest_pose()))
    checked = set()
    for cam, view, plain_view in zip(scene.cameras, result.views, plain.views, strict=True):
        for s in range(4):
            for h in range(2):
                theta = (s + 0.5) / 4 * 2 * np.pi - np.pi  # u = (theta + pi) / (2 pi): the middle of quarter s
                y = (0.25 if h == 0 else -0.25) * W  # image top rows (h = 0) lie at +y
                point = np.array([R * np.sin(theta), y, -R + R * np.cos(theta)])
                normal = np.array([np.sin(theta), 0.0, np.cos(theta)])
                if normal @ (cam.position - point) <= 0.01:
                    continue  # faces away from this camera
                col, row = np.rint(cam.project(point)).astype(int)
                z = cam.to_camera(point[None])[0, 2]
                if not (0 <= col < cam.width and 0 <= row < cam.height) or abs(view.depth[row, col] - z) > 2e-3:
                    continue  # outside the image or hidden (axle, supports)
                rgb = view.rgb[row, col].astype(int)
                assert np.all((rgb > 150) == pattern[s, h]) and np.all((rgb < 60) == ~pattern[s, h]), (
                    cam.name,
                    s,
                    h,
                    rgb,
                )
                grey = plain_view.rgb[row, col].astype(int)
                assert np.ptp(grey) < 30 and grey.min() > 100  # the foam tread, no colours
                checked.add((s, h))
    assert checked == set(pattern)  # every cell was seen by some camera
