"""Render top, side and three-quarter views of the built-in bodies (parametric mouse, SAM) into docs/bodies/.

Uses the package's own moderngl renderer (:class:`synthmouse.render.gl.GLRenderer`) on a scene with no rig
(``rig: {type: none}``): a light grey floor, a key light with shadows, the rest pose, 640 x 480 cameras framed
so that the mouse fills most of the image, and the ``mouse22`` keypoints drawn small (filled green: visible,
red ring: occluded).
Run: ``python docs/bodies/render_views.py [--only parametric|sam] [--sam /path/to/sam_mouse] [--no-keypoints]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import textwrap
from pathlib import Path

import cv2
import numpy as np
import trimesh

from synthmouse.cli.scene import draw_keypoints
from synthmouse.fileio import atomic_path
from synthmouse.render import FrameState
from synthmouse.scene.build import Scene, build_scene
from synthmouse.scene.camera import Camera
from synthmouse.scene.spec import parse_scene_spec

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT = 640, 480
FILL = 0.9  # share of the image's limiting side that the mouse spans
SCENE = """
body: {{model: {model}, keypoints: mouse22, fur: {fur}}}
rig:
  type: none
  floor_material: null
  meshes:
    - {{name: room_floor, file: {floor}, material: {{colour: "#b4b4b1", roughness: 0.9, specular: 0.05}}}}
background: "#dbd8d1"
lights:
  - {{type: ambient, intensity: 0.45}}
  - {{type: directional, colour: "#fff6ea", intensity: 0.95, position: [0.25, 0.3, 0.9], target: [0, 0, 0],
      shadows: true}}
  - {{type: directional, colour: "#eaf0ff", intensity: 0.3, position: [-0.5, -0.4, 0.5], target: [0, 0, 0]}}
cameras:
  - {{name: placeholder, width: {w}, height: {h}, fx: 500, look_at: {{eye: [0, 0, 1], target: [0, 0, 0]}}}}
"""
# camera directions in the animal's frame (forward, left, up), from the mouse towards the camera
VIEWS = {
    "top": np.array([0.0, 0.0, 1.0]),
    "side": np.array([0.0, 1.0, 0.08]),
    "three_quarter": np.array([0.75, 0.75, 0.75]),
}


def make_scene(model: str, fur: str, folder: Path) -> Scene:
    """The no-rig documentation scene for ``model`` (``parametric`` or a SAM folder).

    The floor is a 4 m plane written to ``folder`` and named ``room_floor``: the renderer leaves backdrop
    parts out of its shadow map's extent, so the map covers only the mouse (crisp shadows) while the floor
    reaches the horizon in every view."""
    floor = Path(folder) / "floor.obj"
    trimesh.creation.box((4.0, 4.0, 0.01)).apply_translation((0.0, 0.0, -0.005)).export(floor)
    text = textwrap.dedent(SCENE.format(model=model, fur=fur, w=WIDTH, h=HEIGHT, floor=floor))
    return build_scene(parse_scene_spec(text))


def body_frame(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Placed rest vertices ``(V, 3)`` and the animal's axes ``(3, 3)`` rows forward, left, up (world)."""
    pose = scene.rest_pose()
    verts = scene.body.skin(pose)[0]
    names = list(scene.keypoint_names)
    kp = scene.body.keypoints(pose, scene.keypoint_set)[0]
    forward = kp[names.index("nose")] - kp[names.index("tail_root")]
    forward[2] = 0.0
    forward /= np.linalg.norm(forward)
    up = np.array([0.0, 0.0, 1.0])
    return verts, np.stack([forward, np.cross(up, forward), up])


def framed_camera(name: str, verts: np.ndarray, direction: np.ndarray, up_hint: np.ndarray) -> Camera:
    """A 640 x 480 camera looking along ``-direction`` (world) whose image the vertices ``(V, 3)`` fill to
    :data:`FILL`, centred (focal length and principal point fitted to the projected extent)."""
    centre = 0.5 * (verts.min(0) + verts.max(0))
    radius = np.linalg.norm(verts - centre, axis=1).max()
    direction = direction / np.linalg.norm(direction)
    eye = centre + 6.0 * radius * direction
    probe = Camera.look_at(name, eye, centre, up=up_hint, width=WIDTH, height=HEIGHT, fx=1.0, cx=0.0, cy=0.0)
    cam = probe.to_camera(verts)
    xy = cam[:, :2] / cam[:, 2:3]
    lo, hi = xy.min(0), xy.max(0)
    f = FILL * min(WIDTH / (hi[0] - lo[0]), HEIGHT / (hi[1] - lo[1]))
    mid = 0.5 * (lo + hi)
    cx, cy = (WIDTH - 1) / 2 - f * mid[0], (HEIGHT - 1) / 2 - f * mid[1]
    return Camera.look_at(name, eye, centre, up=up_hint, width=WIDTH, height=HEIGHT, fx=f, cx=cx, cy=cy)


def render_body(renderer, scene: Scene, prefix: str, keypoints: bool, folder: Path = HERE) -> list[Path]:
    """Write ``folder/{prefix}_{view}.png`` for every view in :data:`VIEWS`; returns the paths."""
    verts, axes = body_frame(scene)
    paths = []
    for view, local in VIEWS.items():
        # top view: image up = the animal's right, so the nose points left as in the side view
        up_hint = -axes[1] if view == "top" else np.array([0.0, 0.0, 1.0])
        camera = framed_camera(view, verts, local @ axes, up_hint)
        result = renderer.render(dataclasses.replace(scene, cameras=(camera,)), FrameState(0, scene.rest_pose()))
        out = result.views[0]
        image = draw_keypoints(out, len(scene.keypoint_set), None, radius=2) if keypoints else out.rgb
        path = Path(folder) / f"{prefix}_{view}.png"
        with atomic_path(path) as tmp:
            cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote {path} ({int(out.visible.sum())}/{len(out.visible)} keypoints visible)")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sam", default=str(HERE.parents[2] / "shared" / "assets" / "sam_mouse"))
    parser.add_argument("--only", choices=("parametric", "sam"), default=None)
    parser.add_argument("--fur", default="agouti", help="coat preset (black, white, agouti, brown, grey)")
    parser.add_argument("--no-keypoints", action="store_true", help="do not draw the mouse22 keypoints")
    args = parser.parse_args()
    from synthmouse.render.gl import GLRenderer

    with GLRenderer() as renderer, tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "parametric"):
            scene = make_scene("parametric", args.fur, Path(tmp))
            render_body(renderer, scene, "parametric", not args.no_keypoints)
        if args.only in (None, "sam"):
            if Path(args.sam).is_dir():
                scene = make_scene(str(Path(args.sam).resolve()), args.fur, Path(tmp))
                render_body(renderer, scene, "sam", not args.no_keypoints)
            else:
                print(f"skipping SAM: no model folder at {args.sam} (give --sam PATH)")


if __name__ == "__main__":
    main()
