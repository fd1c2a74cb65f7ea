"""Motion contact sheets rendered by the GL renderer (synthmouse.render.sheet): grid, cameras, placement."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from synthmouse.body import KeypointSet, Pose
from synthmouse.body.groups import PARTS
from synthmouse.motion.base import Support
from synthmouse.render.sheet import (
    TITLE_HEIGHT,
    motion_gif,
    motion_sheet,
    place_clip,
    render_panels,
    sheet_scene,
)

PANEL = (200, 150)
PAWS = ("forepaw_l", "forepaw_r", "hindpaw_l", "hindpaw_r")


@pytest.fixture(scope="module")
def floor_scene(parametric_body):
    return sheet_scene(parametric_body, "floor")


@pytest.fixture(scope="module")
def wheel_scene(parametric_body):
    return sheet_scene(parametric_body, "wheel", wheel_radius=0.09)


@pytest.fixture(scope="module")
def standing(parametric_body):
    """Three frames of the rest pose (standing on z = 0), walking along a turned heading."""
    rest = parametric_body.rest_pose(3)
    root = np.repeat(np.eye(4)[None], 3, axis=0)
    for i, heading in enumerate((0.0, 0.6, 2.0)):
        c, s = np.cos(heading), np.sin(heading)
        root[i, :2, :2] = [[c, -s], [s, c]]
        root[i, :3, 3] = [0.03 * i, -0.02 * i, 0.0]
    return Pose(root, rest.rotations)


def paw_mask(body) -> np.ndarray:
    return np.isin(body.vertex_parts(), [PARTS.index(p) for p in PAWS])


def project(camera, points: np.ndarray) -> np.ndarray:
    """Independent reference: OpenCV's projection with the camera's K, distortion and extrinsics."""
    rvec, _ = cv2.Rodrigues(camera.R)
    pixels, _ = cv2.projectPoints(np.asarray(points, np.float64), rvec, camera.t, camera.K, camera.dist)
    return pixels.reshape(-1, 2)


def landmarks(body, pose: Pose, names: tuple[str, ...]) -> np.ndarray:
    return body.keypoints(pose, KeypointSet("t", tuple(body.landmarks[n] for n in names)))


def test_sheet_grid_size_and_determinism(parametric_body, standing, floor_scene, renderer, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for path in (a, b):
        motion_sheet(
            parametric_body,
            standing,
            path,
            support=floor_scene,
            frames=3,
            fps=10.0,
            title="t",
            panel=PANEL,
            renderer=renderer,
        )
    image = np.asarray(Image.open(a).convert("RGB"))
    assert image.shape == (TITLE_HEIGHT + 2 * PANEL[1], 3 * PANEL[0], 3)
    assert a.read_bytes() == b.read_bytes()
    assert a.stat().st_size < 500_000


def test_panels_show_the_mouse_where_the_cameras_project_it(parametric_body, standing, floor_scene, renderer):
    panels = render_panels(parametric_body, standing, support=floor_scene, frames=3, panel=PANEL, renderer=renderer)
    assert panels.rgb.shape == (2, 3, PANEL[1], PANEL[0], 3)
    names = ("body_middle", "nose", "tail_root", "right_eye", "left_eye")
    kps = landmarks(parametric_body, panels.pose, names)
    for col in range(3):
        for row, view in enumerate(panels.views):
            camera = panels.cameras[col][row]
            inside = kps[col].copy()
            inside[0, 2] *= 0.6  # body_middle is on the skin of the back; 40 % lower is inside the trunk
            px = project(camera, inside)
            mask = panels.mask[row, col]
            assert mask.sum() > 500
            # a point inside the trunk is on mouse pixels; the nose (on the skin) within 2 px of them
            u, v = np.rint(px[0]).astype(int)
            assert mask[v, u], (view, col)
            near = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            un, vn = np.rint(px[1]).astype(int)
            assert near[vn, un], (view, col)
            # the mouse faces image-right in both views; the side camera looks at its right side
            assert px[1, 0] > px[2, 0] + 0.5 * PANEL[0] / 1.7 * 0.8
            if view == "side":
                depth = camera.to_camera(kps[col][3:5])[:, 2]
                assert depth[0] < depth[1]  # right eye nearer than the left eye
            else:
                assert px[3, 1] > px[4, 1]  # seen from above, facing right: the right eye is lower


def test_mouse_stands_on_the_rendered_floor(parametric_body, standing, floor_scene, renderer):
    # a clip whose floor is at z = 0.05 (its own Support) lands on the rig floor (z = 0)
    raised = Pose(standing.root.copy(), standing.rotations)
    raised.root[:, 2, 3] += 0.05
    placed = place_clip(floor_scene, raised, Support("floor", 0.05))
    verts = parametric_body.skin(placed)
    lowest = verts[:, paw_mask(parametric_body), 2].min(axis=1)
    assert np.all(np.abs(lowest) < 0.002), lowest
    floor_top = max(m.bounds[1, 2] for m in floor_scene.rig if m.name == "floor")
    assert abs(floor_top) < 1e-6
    panels = render_panels(
        parametric_body,
        raised,
        support=Support("floor", 0.05),
        frames=3,
        panel=PANEL,
        renderer=renderer,
        views=("side",),
    )
    verts = parametric_body.skin(panels.pose)
    for col in range(3):
        camera = panels.cameras[col][0]
        paws = verts[col, paw_mask(parametric_body)]
        low = paws[np.argmin(paws[:, 2])]
        u, v_floor = project(camera, np.array([[low[0], low[1], 0.0]]))[0]
        mask = panels.mask[0, col]
        cols = mask[:, max(int(u) - 4, 0) : int(u) + 5]
        lowest_row = np.nonzero(cols.any(axis=1))[0].max()
        assert abs(lowest_row - v_floor) < 4.0, (col, lowest_row, v_floor)  # ~2 px per mm here


def test_wheel_puts_the_mouse_on_the_rim(parametric_body, wheel_scene, renderer):
    R = 0.09
    rest = wheel_scene.rest_pose()  # the rig's own placement: paws on the rim
    # the same pose as a clip on a wheel whose top is 0.03 m higher (axis at z = -0.06)
    clip = Pose(rest.root.copy(), rest.rotations)
    clip.root[:, 2, 3] += 0.03
    placed = place_clip(wheel_scene, clip, Support("wheel", 0.03, R))
    paws = parametric_body.skin(placed)[0, paw_mask(parametric_body)]
    gap = np.hypot(paws[:, 0], paws[:, 2] + R) - R  # distance outside the rim (axis along y at z = -R)
    assert abs(gap.min()) < 0.001, gap.min()
    tread = np.concatenate([m.vertices for m in wheel_scene.rig if m.name in ("wheel", "wheel_ridges")])
    assert np.hypot(tread[:, 0], tread[:, 2] + R).max() == pytest.approx(R, abs=1e-4)
    # and it is rendered on the wheel: in the side view mouse pixels sit right above wheel pixels
    panels = render_panels(
        parametric_body,
        clip,
        support=Support("wheel", 0.03, R),
        frames=1,
        panel=PANEL,
        renderer=renderer,
        views=("side",),
        follow=False,
    )
    camera = panels.cameras[0][0]
    low = paws[np.argmin(gap)]
    u, v = np.rint(project(camera, low[None])[0]).astype(int)
    assert panels.mask[0, 0, v - 2 : v + 1, u - 3 : u + 4].any()
    below = panels.mask[0, 0, v + 3 : v + 8, u]
    background = np.asarray(panels.scene.background) * 255
    assert not below.all()  # not mouse right below the paw ...
    assert np.abs(panels.rgb[0, 0, v + 6, u].astype(float) - background).max() > 12  # ... and not the background


def test_gif_frames(parametric_body, standing, floor_scene, renderer, tmp_path):
    path = motion_gif(
        parametric_body,
        standing,
        tmp_path / "a.gif",
        support=floor_scene,
        fps=10.0,
        size=(120, 90),
        max_frames=2,
        renderer=renderer,
    )
    with Image.open(path) as gif:
        assert gif.size == (120, 90)
        assert gif.n_frames == 2
